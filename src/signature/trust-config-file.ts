/**
 * Reads the `--trust-config <yaml>` file: the `trust:` section of the agency config on its own
 * (a whole agency config is accepted too, its `trust:` section is used). Relative file paths are
 * taken from the YAML file's directory, so the file can travel with its PEMs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { REVOCATION_FAILURES, REVOCATION_MODES, type RevocationFailure, type RevocationMode } from './revocation';
import { NONCE_MODES, type NonceMode } from './ocsp';
import type { OcspSettings } from './ocsp-source';
import type { SignaturePolicy, TrustConfig } from './trust';
import { isAnchorPreset } from './national-ca';
import type { IdentityRuleConfig } from './signer-identity';

const POLICIES: readonly SignaturePolicy[] = ['required', 'accept-unsigned'];

export class TrustConfigError extends Error {}

function stringList(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new TrustConfigError(`${where}: expected a list of strings`);
  return value;
}

function policy(value: unknown, where: string): SignaturePolicy | undefined {
  if (value === undefined) return undefined;
  if (!POLICIES.includes(value as SignaturePolicy)) throw new TrustConfigError(`${where}: expected one of ${POLICIES.join(', ')}`);
  return value as SignaturePolicy;
}

function revocation(value: unknown, where: string): RevocationMode | undefined {
  if (value === undefined) return undefined;
  if (!REVOCATION_MODES.includes(value as RevocationMode)) throw new TrustConfigError(`${where}: expected one of ${REVOCATION_MODES.join(', ')}`);
  return value as RevocationMode;
}

function revocationFailure(value: unknown, where: string): RevocationFailure | undefined {
  if (value === undefined) return undefined;
  if (!REVOCATION_FAILURES.includes(value as RevocationFailure)) throw new TrustConfigError(`${where}: expected one of ${REVOCATION_FAILURES.join(', ')}`);
  return value as RevocationFailure;
}

function ocspSection(value: unknown, where: (key: string) => string): OcspSettings | undefined {
  if (value === undefined) return undefined;
  const section = record(value, where('ocsp'));
  const settings: OcspSettings = {};
  for (const [key, v] of Object.entries(section)) {
    switch (key) {
      case 'responders':
        settings.responders = Object.fromEntries(
          Object.entries(record(v, where('ocsp.responders'))).map(([fp, url]) => {
            if (typeof url !== 'string') throw new TrustConfigError(`${where(`ocsp.responders.${fp}`)}: expected a URL`);
            return [fp, url];
          }),
        );
        break;
      case 'fallbackToCrl':
        if (typeof v !== 'boolean') throw new TrustConfigError(`${where('ocsp.fallbackToCrl')}: expected true or false`);
        settings.fallbackToCrl = v;
        break;
      case 'nonce':
        if (!NONCE_MODES.includes(v as NonceMode)) throw new TrustConfigError(`${where('ocsp.nonce')}: expected one of ${NONCE_MODES.join(', ')}`);
        settings.nonce = v as NonceMode;
        break;
      case 'timeoutMs':
      case 'maxAgeSeconds':
      case 'clockSkewSeconds':
      case 'cacheSeconds':
      case 'cacheEntries':
      case 'retryAfterFailureSeconds':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new TrustConfigError(`${where(`ocsp.${key}`)}: expected a whole number ≥ 0`);
        settings[key] = v;
        break;
      default:
        throw new TrustConfigError(`${where(`ocsp.${key}`)}: not a setting of trust.ocsp`);
    }
  }
  return settings;
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TrustConfigError(`${where}: expected a mapping`);
  return value as Record<string, unknown>;
}

export function readTrustConfigFile(file: string): TrustConfig {
  const base = path.dirname(path.resolve(file));
  const doc = record(parse(fs.readFileSync(file, 'utf8')), file);
  const section = 'trust' in doc ? record(doc.trust, `${file}: trust`) : doc;
  const at = (key: string) => `${file}: ${'trust' in doc ? 'trust.' : ''}${key}`;
  const resolve = (p: string) => path.resolve(base, p);
  const anchorList = typeof section.anchors === 'string' ? [section.anchors] : stringList(section.anchors, at('anchors'));
  const config: TrustConfig = {
    // A preset word (national, national-public) stays a word; a file is taken from the YAML's directory.
    anchors: anchorList.map((a) => (isAnchorPreset(a) ? a : resolve(a))),
    crls: stringList(section.crls, at('crls')).map(resolve),
  };
  if (section.intermediates !== undefined) config.intermediates = stringList(section.intermediates, at('intermediates')).map(resolve);
  if (section.nationalCaDir !== undefined) {
    if (typeof section.nationalCaDir !== 'string') throw new TrustConfigError(`${at('nationalCaDir')}: expected a directory path`);
    config.nationalCaDir = resolve(section.nationalCaDir);
  }
  if (section.uidIsOrganId !== undefined) {
    if (typeof section.uidIsOrganId !== 'boolean') throw new TrustConfigError(`${at('uidIsOrganId')}: expected true or false`);
    config.uidIsOrganId = section.uidIsOrganId;
  }
  if (section.identityRules !== undefined) {
    if (!Array.isArray(section.identityRules)) throw new TrustConfigError(`${at('identityRules')}: expected a list of rules`);
    config.identityRules = section.identityRules.map((rule, i) => record(rule, at(`identityRules[${i}]`)) as unknown as IdentityRuleConfig);
  }
  const mode = revocation(section.revocation, at('revocation'));
  if (mode) config.revocation = mode;
  const failure = revocationFailure(section.revocationFailure, at('revocationFailure'));
  if (failure) config.revocationFailure = failure;
  const ocsp = ocspSection(section.ocsp, at);
  if (ocsp) config.ocsp = ocsp;
  if (section.signingExtendedKeyUsages !== undefined) config.signingExtendedKeyUsages = stringList(section.signingExtendedKeyUsages, at('signingExtendedKeyUsages'));
  const bindings = record(section.organBindings, at('organBindings'));
  config.organBindings = Object.fromEntries(Object.entries(bindings).map(([organ, fps]) => [organ, stringList(fps, at(`organBindings.${organ}`))]));
  const defaultPolicy = policy(section.defaultPolicy, at('defaultPolicy'));
  if (defaultPolicy) config.defaultPolicy = defaultPolicy;
  const partners = record(section.partners, at('partners'));
  config.partners = {};
  for (const [organ, value] of Object.entries(partners)) {
    const entry = record(value, at(`partners.${organ}`));
    const partnerPolicy = policy(entry.policy, at(`partners.${organ}.policy`));
    const partnerRevocation = revocation(entry.revocation, at(`partners.${organ}.revocation`));
    const partnerFailure = revocationFailure(entry.revocationFailure, at(`partners.${organ}.revocationFailure`));
    if (entry.allowSha1 !== undefined && typeof entry.allowSha1 !== 'boolean') throw new TrustConfigError(at(`partners.${organ}.allowSha1: expected true or false`));
    config.partners[organ] = {
      ...(partnerPolicy ? { policy: partnerPolicy } : {}),
      ...(typeof entry.allowSha1 === 'boolean' ? { allowSha1: entry.allowSha1 } : {}),
      ...(partnerRevocation ? { revocation: partnerRevocation } : {}),
      ...(partnerFailure ? { revocationFailure: partnerFailure } : {}),
    };
  }
  return config;
}
