/** The shipped format profiles, by the name an agency config uses in `connectors[].profile`. */
import { Rejection } from '../errors';
import type { FormatProfile } from './profile';
import { edxmlProfile } from './edxml';
import { checkOptions as checkFlatXmlOptions, flatXmlProfile } from './flat-xml';
import { checkOptions as checkJsonOptions, jsonProfile } from './json';
import { checkOptions as checkLegacyCsvOptions, legacyCsvProfile } from './legacy-csv';

const PROFILES: Record<string, FormatProfile> = {
  [edxmlProfile.name]: edxmlProfile,
  [flatXmlProfile.name]: flatXmlProfile,
  [jsonProfile.name]: jsonProfile,
  [legacyCsvProfile.name]: legacyCsvProfile,
};

export const PROFILE_NAMES = Object.keys(PROFILES);

export function profileByName(name: string): FormatProfile {
  const profile = PROFILES[name];
  if (!profile) throw new Rejection('mapping-failed', `unknown format profile ${JSON.stringify(name)}; shipped: ${PROFILE_NAMES.join(', ')}`);
  return profile;
}

const OPTION_CHECKS: Record<string, (options: Record<string, unknown>) => void> = {
  [edxmlProfile.name]: (options) => {
    const keys = Object.keys(options);
    if (keys.length > 0) throw new Rejection('mapping-failed', `profile edxml: profileOptions.${keys[0]}: the edxml profile takes no options`);
  },
  [flatXmlProfile.name]: checkFlatXmlOptions,
  [jsonProfile.name]: checkJsonOptions,
  [legacyCsvProfile.name]: checkLegacyCsvOptions,
};

/**
 * Checks a connector's profile and profileOptions before anything runs (config check, startup):
 * throws Rejection('mapping-failed', …) naming the option path, e.g.
 * `profile json: profileOptions.codeTables.status.X: must be a string or a number`.
 */
export function checkProfileOptions(name: string, options: Record<string, unknown>): void {
  profileByName(name);
  OPTION_CHECKS[name]!(options);
}
