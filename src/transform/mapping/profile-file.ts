/**
 * Where the offline tools get a profile from: a shipped name (`json`), a profile file
 *
 *   profile: legacy-csv          # the shipped profile it configures
 *   organId: 000.00.00.H41       # optional: the agency, the default sender on the way in
 *   profileOptions: { … }        # exactly what goes under a connector's profileOptions
 *
 * or an agency config (every connector's profile and profileOptions).
 */
import * as fs from 'node:fs';
import * as YAML from 'yaml';
import { profileByName, PROFILE_NAMES } from '../index';
import type { FormatProfile } from '../profile';

export interface ProfileSetting {
  label: string;
  profile: FormatProfile;
  options: Record<string, unknown>;
  organId?: string;
}

export class ProfileFileError extends Error {}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function named(name: unknown, where: string): FormatProfile {
  if (typeof name !== 'string' || !PROFILE_NAMES.includes(name)) {
    throw new ProfileFileError(`${where}: profile must be one of ${PROFILE_NAMES.join(', ')}; found ${JSON.stringify(name)}`);
  }
  return profileByName(name);
}

export function loadProfileSettings(nameOrFile: string): ProfileSetting[] {
  if (PROFILE_NAMES.includes(nameOrFile) && !fs.existsSync(nameOrFile)) {
    return [{ label: nameOrFile, profile: profileByName(nameOrFile), options: {} }];
  }
  let raw: unknown;
  try {
    raw = YAML.parse(fs.readFileSync(nameOrFile, 'utf8'));
  } catch (err) {
    throw new ProfileFileError(`${nameOrFile}: ${(err as Error).message.split('\n')[0]} (not a shipped profile name either: ${PROFILE_NAMES.join(', ')})`);
  }
  if (!isObject(raw)) throw new ProfileFileError(`${nameOrFile}: expected a YAML mapping`);
  if (Array.isArray(raw.connectors)) {
    const organId = typeof raw.organId === 'string' ? raw.organId : undefined;
    return raw.connectors.map((c, i) => {
      const where = `${nameOrFile}: connectors[${i}]`;
      if (!isObject(c)) throw new ProfileFileError(`${where}: expected a mapping`);
      const options = c.profileOptions ?? {};
      if (!isObject(options)) throw new ProfileFileError(`${where}.profileOptions: expected a mapping`);
      return { label: `connector ${String(c.name ?? i)} (${String(c.profile ?? 'edxml')})`, profile: named(c.profile ?? 'edxml', `${where}.profile`), options, organId };
    });
  }
  const options = raw.profileOptions ?? {};
  if (!isObject(options)) throw new ProfileFileError(`${nameOrFile}: profileOptions: expected a mapping`);
  if (raw.organId !== undefined && typeof raw.organId !== 'string') throw new ProfileFileError(`${nameOrFile}: organId: expected text`);
  return [{ label: `${nameOrFile} (${String(raw.profile)})`, profile: named(raw.profile, `${nameOrFile}: profile`), options, organId: raw.organId as string | undefined }];
}
