/**
 * The trust configuration (DESIGN.md §5, the `trust:` section of the agency config): anchors,
 * CRLs, OrganId→certificate bindings, the signer rules and the per-partner policy, loaded once
 * into a `TrustStore` that verification then uses synchronously.
 *
 * Revocation fails closed: a store with neither a CRL nor `ocsp:` is refused unless
 * `revocation: best-effort` says so explicitly. With `ocsp:`, the store holds one `OcspClient`
 * (its cache outlives the periodic reloads when the caller passes it back in). A CRL is checked against the key of the CA on the path that issued the
 * certificate in question (an anchor, or an intermediate a document carries); a CRL that names an
 * anchor as its issuer is checked against that anchor at load, so a broken one stops the start.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { factsOf, sameName, type CertificateFacts } from './certificate-facts';
import { readCrl, type Crl } from './crl';
import { CrlRevocationSource, type RevocationFailure, type RevocationMode, type RevocationSource } from './revocation';
import { OcspClient, OcspRevocationSource, type OcspSettings } from './ocsp-source';
import { DEFAULT_SIGNER_RULES, weakKeyOf, type SignerRules } from './signer-rules';
import { compileIdentityRules, IdentityRuleError, type IdentityRuleConfig, type IdentityRules } from './signer-identity';
import { isAnchorPreset, loadPresetCertificates, NationalCaError, type AnchorPreset } from './national-ca';

export type SignaturePolicy = 'required' | 'accept-unsigned';
export type { RevocationFailure, RevocationMode } from './revocation';
export type { OcspSettings } from './ocsp-source';

export interface PartnerTrust {
  policy?: SignaturePolicy;
  allowSha1?: boolean;
  /** `best-effort`: this partner's signatures are accepted when no current CRL covers its path (warned and counted). */
  revocation?: RevocationMode;
  /** `soft-fail`: this partner's signatures are accepted (warned and counted) when the OCSP responder cannot be reached. */
  revocationFailure?: RevocationFailure;
}

/** Exactly the `trust:` section of the agency YAML config (and of `--trust-config`). */
export interface TrustConfig {
  /**
   * PEM files holding the trust anchors (one or more certificates each), and/or the word of a
   * shipped preset (`national`, `national-public`: national-ca.ts); `anchors: national` alone is the list of that one word.
   */
  anchors: string[] | AnchorPreset;
  /** Where the preset certificates are read from (default: the copy shipped with the connector); their fingerprints are pinned either way. */
  nationalCaDir?: string;
  /** PEM files of CA certificates a path may use between a signer and an anchor (never anchors themselves). */
  intermediates?: string[];
  /** CRL files (PEM or DER) of the anchors and of the intermediate CAs under them. */
  crls?: string[];
  /** `required` (default): no current CRL or OCSP status for a certificate of the path refuses the signature. */
  revocation?: RevocationMode;
  /** Under `required`, what an unreachable OCSP responder does: `hard-fail` (default) refuses, `soft-fail` accepts. */
  revocationFailure?: RevocationFailure;
  /** OCSP where configured (ocsp-source.ts); absent: CRLs only. */
  ocsp?: OcspSettings;
  /** OrganId → SHA-256 fingerprints (hex) of the certificates that may sign for it. Replaces UID binding for that OrganId. */
  organBindings?: Record<string, string[]>;
  /** Rules that bind certificates to OrganIds (signer-identity.ts). */
  identityRules?: IdentityRuleConfig[];
  /** The default rule UID=<OrganId> (default: true, except with a national preset, whose certificates carry no OrganId). */
  uidIsOrganId?: boolean;
  /** ExtendedKeyUsage OIDs of which a signer certificate that has the extension must carry one (default: signer-rules.ts). */
  signingExtendedKeyUsages?: string[];
  defaultPolicy?: SignaturePolicy;
  partners?: Record<string, PartnerTrust>;
}

export interface TrustAnchor {
  certificate: X509Certificate;
  facts: CertificateFacts;
  /** SHA-256 of the DER, lowercase hex. */
  fingerprint: string;
}

export interface TrustStore {
  anchors: readonly TrustAnchor[];
  /** CA certificates a path may use below an anchor, besides those a document carries (the national preset's issuing CAs). */
  intermediates: readonly CertificateFacts[];
  /** The shipped presets among the anchors. */
  presets: readonly AnchorPreset[];
  crls: readonly Crl[];
  /** Where revocation answers come from, asked in order (the CRLs, or OCSP falling back to them). */
  revocationSources: readonly RevocationSource[];
  revocation: RevocationMode;
  revocationFailure: RevocationFailure;
  /** The OCSP client (and its cache) when `ocsp:` is configured. */
  ocsp?: OcspClient;
  signerRules: SignerRules;
  organBindings: ReadonlyMap<string, ReadonlySet<string>>;
  /** Which certificate may sign for which OrganId (signer-identity.ts). */
  identity: IdentityRules;
  defaultPolicy: SignaturePolicy;
  partners: Readonly<Record<string, PartnerTrust>>;
  /** The earliest nextUpdate of the CRLs: after it, revocation data is stale and must be refreshed. */
  crlsStaleAfter?: Date;
}

export interface EffectivePolicy {
  policy: SignaturePolicy;
  allowSha1: boolean;
  revocation: RevocationMode;
  revocationFailure: RevocationFailure;
}

export class TrustLoadError extends Error {}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export const NO_CRL_MESSAGE =
  'no CRL is configured, nor trust.ocsp, so no certificate could be checked for revocation: configure the CRLs of the trust anchors and of ' +
  'the CAs under them, or trust.ocsp, or set revocation: best-effort to accept signatures without a revocation check (warned and counted; not for production)';

export function fingerprintOf(cert: X509Certificate): string {
  return cert.fingerprint256.replace(/:/g, '').toLowerCase();
}

export function normalizeSerial(serial: string): string {
  return serial.replace(/[^0-9a-fA-F]/g, '').toUpperCase().replace(/^0+(?=.)/, '');
}

/** Accepts `AB:CD:…`, `abcd…` or with spaces; refuses anything that is not 32 bytes of hex. */
export function normalizeFingerprint(text: string): string {
  const hex = text.replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new TrustLoadError(`not a SHA-256 fingerprint: ${JSON.stringify(text)}`);
  return hex;
}

export function certificatesFromPem(pem: string, source: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new TrustLoadError(`${source}: no PEM certificate found`);
  return blocks.map((block) => new X509Certificate(block));
}

/** `anchors` split into the preset words and the files. */
export function anchorSources(anchors: TrustConfig['anchors'] | undefined): { presets: AnchorPreset[]; files: string[] } {
  const list = typeof anchors === 'string' ? [anchors] : (anchors ?? []);
  return { presets: [...new Set(list.filter(isAnchorPreset))], files: list.filter((a) => !isAnchorPreset(a)) };
}

/** The OCSP client of `settings`, its responder overrides checked: the one to pass to every `loadTrustStore` of that config. */
export function ocspClientFor(settings: OcspSettings): OcspClient {
  const responders: Record<string, string> = {};
  for (const [fingerprint, url] of Object.entries(settings.responders ?? {})) {
    if (!/^https?:\/\/[^\s]+$/i.test(url)) throw new TrustLoadError(`trust.ocsp.responders.${fingerprint}: not an http(s) URL: ${JSON.stringify(url)}`);
    responders[normalizeFingerprint(fingerprint)] = url;
  }
  return new OcspClient({ ...settings, responders });
}

export async function loadTrustStore(config: TrustConfig, options: { ocsp?: OcspClient } = {}): Promise<TrustStore> {
  const anchors: TrustAnchor[] = [];
  const addAnchor = (certificate: X509Certificate, file: string) => {
    const facts = factsOf(certificate);
    const weak = weakKeyOf(facts);
    if (weak) throw new TrustLoadError(`${file}: trust anchor ${facts.description} holds ${weak}`);
    if (!anchors.some((a) => a.fingerprint === facts.fingerprint)) anchors.push({ certificate, facts, fingerprint: facts.fingerprint });
  };
  const { presets, files } = anchorSources(config.anchors);
  const intermediates: CertificateFacts[] = [];
  if (presets.length > 0) {
    try {
      const preset = await loadPresetCertificates(presets, config.nationalCaDir);
      for (const { file, certificate } of preset.anchors) addAnchor(certificate, file);
      for (const { certificate } of preset.intermediates) intermediates.push(factsOf(certificate));
    } catch (err) {
      if (err instanceof NationalCaError) throw new TrustLoadError(err.message);
      throw err;
    }
  }
  for (const file of files) {
    for (const certificate of certificatesFromPem(await readFile(file, 'utf8'), file)) addAnchor(certificate, file);
  }
  for (const file of config.intermediates ?? []) {
    for (const certificate of certificatesFromPem(await readFile(file, 'utf8'), file)) {
      const facts = factsOf(certificate);
      if (!facts.basicConstraints?.cA) throw new TrustLoadError(`${file}: ${facts.description} is not a CA certificate (trust.intermediates holds issuing CAs only)`);
      if (!intermediates.some((c) => c.fingerprint === facts.fingerprint)) intermediates.push(facts);
    }
  }
  let identity: IdentityRules;
  try {
    identity = compileIdentityRules(config, presets.length === 0);
  } catch (err) {
    if (err instanceof IdentityRuleError) throw new TrustLoadError(err.message);
    throw err;
  }
  const revocation = config.revocation ?? 'required';
  const crlFiles = config.crls ?? [];
  if (crlFiles.length === 0 && revocation === 'required' && !config.ocsp) throw new TrustLoadError(NO_CRL_MESSAGE);
  const crls: Crl[] = [];
  let crlsStaleAfter: Date | undefined;
  for (const file of crlFiles) {
    const crl = readCrl(await readFile(file), file);
    const namedAnchors = anchors.filter((a) => sameName(a.facts.subject, crl.issuer));
    if (namedAnchors.length > 0 && !namedAnchors.some((a) => crl.signedWith(a.certificate.publicKey))) {
      throw new TrustLoadError(`${file}: CRL names ${crl.issuerDescription} as its issuer but is not signed by that trust anchor's key`);
    }
    if (crl.nextUpdate && (!crlsStaleAfter || crl.nextUpdate < crlsStaleAfter)) crlsStaleAfter = crl.nextUpdate;
    crls.push(crl);
  }
  const organBindings = new Map<string, Set<string>>();
  for (const [organId, fingerprints] of Object.entries(config.organBindings ?? {})) {
    organBindings.set(organId, new Set(fingerprints.map(normalizeFingerprint)));
  }
  const byCrl = new CrlRevocationSource(crls);
  const ocsp = config.ocsp ? (options.ocsp ?? ocspClientFor(config.ocsp)) : undefined;
  return {
    anchors,
    intermediates,
    presets,
    crls,
    revocationSources: [ocsp ? new OcspRevocationSource(ocsp, byCrl) : byCrl],
    revocation,
    revocationFailure: config.revocationFailure ?? 'hard-fail',
    ...(ocsp ? { ocsp } : {}),
    signerRules: config.signingExtendedKeyUsages ? { signingExtendedKeyUsages: [...config.signingExtendedKeyUsages] } : DEFAULT_SIGNER_RULES,
    organBindings,
    identity,
    defaultPolicy: config.defaultPolicy ?? 'required',
    partners: { ...(config.partners ?? {}) },
    crlsStaleAfter,
  };
}

/** The partner's policy, else the default; explicit overrides (CLI flags) win over both. */
export function effectivePolicy(
  trust: TrustStore,
  organId: string | undefined,
  overrides: { policy?: SignaturePolicy; allowSha1?: boolean; revocation?: RevocationMode; revocationFailure?: RevocationFailure } = {},
): EffectivePolicy {
  const partner = organId !== undefined && Object.hasOwn(trust.partners, organId) ? trust.partners[organId] : undefined;
  return {
    policy: overrides.policy ?? partner?.policy ?? trust.defaultPolicy,
    allowSha1: overrides.allowSha1 ?? partner?.allowSha1 ?? false,
    revocation: overrides.revocation ?? partner?.revocation ?? trust.revocation,
    revocationFailure: overrides.revocationFailure ?? partner?.revocationFailure ?? trust.revocationFailure,
  };
}
