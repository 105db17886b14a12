/**
 * What the mapped profiles (flat-xml, json, legacy-csv) share: the parsed spec per options
 * object, and the delivered file name derived from DocumentId, kind and content hash.
 */
import type { ProfileContext } from '../profile';
import { fileStem } from '../../pipeline/identity';
import { Rejection } from '../../errors';
import { MappingConfigError } from './errors';
import { parseMappingSpec, type MappingDefaults, type MappingSpec } from './spec';

const SPECS = new WeakMap<object, Map<string, MappingSpec>>();

/** Parses (once per options object) the mapping spec; a bad option is a `mapping-failed` Rejection naming its path. */
export function specFor(profile: string, context: ProfileContext, defaults: MappingDefaults, ownKeys: string[]): MappingSpec {
  const options = context.options ?? {};
  let byProfile = SPECS.get(options);
  if (!byProfile) SPECS.set(options, (byProfile = new Map()));
  let spec = byProfile.get(profile);
  if (!spec) {
    try {
      spec = parseMappingSpec(options, defaults, ownKeys);
    } catch (err) {
      if (err instanceof MappingConfigError) throw new Rejection('mapping-failed', `profile ${profile}: ${err.message}`);
      throw err;
    }
    byProfile.set(profile, spec);
  }
  return spec;
}

/** `<stem>[.status-03][.<hash>]` — stable per package, so a redelivery overwrites the same file. */
export function outputStem(context: ProfileContext, documentId: string, kind: 'edoc' | 'status', statusCode?: string): string {
  const delivery = context.delivery;
  const status = kind === 'status' ? `.status-${statusCode ?? delivery?.statusCode ?? 'xx'}` : '';
  const hash = delivery ? `.${delivery.idempotencyKey.slice(-12)}` : '';
  return `${fileStem(delivery?.documentId ?? documentId)}${status}${hash}`;
}

export function optionEnum<T extends string>(profile: string, options: Record<string, unknown>, key: string, allowed: readonly T[], fallback: T): T {
  const v = options[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    throw new Rejection('mapping-failed', `profile ${profile}: profileOptions.${key}: must be one of ${allowed.join(', ')}; input ${JSON.stringify(v)}`);
  }
  return v as T;
}

export function optionString(profile: string, options: Record<string, unknown>, key: string, fallback: string): string {
  const v = options[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || v === '') throw new Rejection('mapping-failed', `profile ${profile}: profileOptions.${key}: must be a non-empty string; input ${JSON.stringify(v)}`);
  return v;
}
