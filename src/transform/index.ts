/** The shipped format profiles, by the name an agency config uses in `connectors[].profile`. */
import { Rejection } from '../errors';
import type { FormatProfile } from './profile';
import { edxmlProfile } from './edxml';
import { flatXmlProfile } from './flat-xml';
import { jsonProfile } from './json';
import { legacyCsvProfile } from './legacy-csv';

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
