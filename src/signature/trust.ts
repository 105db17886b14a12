/**
 * The trust configuration (DESIGN.md §5, the `trust:` section of the agency config): anchors,
 * CRLs, OrganId→certificate bindings and per-partner signature policy, loaded once into a
 * `TrustStore` that verification then uses synchronously.
 *
 * CRL signatures are checked here, at load time, against the anchors: a CRL no anchor signed is a
 * configuration error, so that nothing unverified ever decides a revocation.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as x509 from './x509';

export type SignaturePolicy = 'required' | 'accept-unsigned';

export interface PartnerTrust {
  policy?: SignaturePolicy;
  allowSha1?: boolean;
}

/** Exactly the `trust:` section of the agency YAML config (and of `--trust-config`). */
export interface TrustConfig {
  /** PEM files holding the trust anchors (one or more certificates each). */
  anchors: string[];
  /** CRL files (PEM or DER), each signed by one of the anchors. */
  crls?: string[];
  /** OrganId → SHA-256 fingerprints (hex) of the certificates that may sign for it. Replaces UID binding for that OrganId. */
  organBindings?: Record<string, string[]>;
  defaultPolicy?: SignaturePolicy;
  partners?: Record<string, PartnerTrust>;
}

export interface TrustAnchor {
  certificate: X509Certificate;
  /** SHA-256 of the DER, lowercase hex. */
  fingerprint: string;
}

export interface TrustStore {
  anchors: readonly TrustAnchor[];
  /** Anchor fingerprint → serial numbers (uppercase hex, no leading zeros) it has revoked. */
  revokedSerials: ReadonlyMap<string, ReadonlySet<string>>;
  organBindings: ReadonlyMap<string, ReadonlySet<string>>;
  defaultPolicy: SignaturePolicy;
  partners: Readonly<Record<string, PartnerTrust>>;
  /** The earliest nextUpdate of the CRLs: after it, revocation data is stale and must be refreshed. */
  crlsStaleAfter?: Date;
}

export interface EffectivePolicy {
  policy: SignaturePolicy;
  allowSha1: boolean;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function fingerprintOf(cert: X509Certificate): string {
  return cert.fingerprint256.replace(/:/g, '').toLowerCase();
}

export function normalizeSerial(serial: string): string {
  return serial.replace(/[^0-9a-fA-F]/g, '').toUpperCase().replace(/^0+(?=.)/, '');
}

/** Accepts `AB:CD:…`, `abcd…` or with spaces; refuses anything that is not 32 bytes of hex. */
export function normalizeFingerprint(text: string): string {
  const hex = text.replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`not a SHA-256 fingerprint: ${JSON.stringify(text)}`);
  return hex;
}

export function certificatesFromPem(pem: string, source: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new Error(`${source}: no PEM certificate found`);
  return blocks.map((block) => new X509Certificate(block));
}

export async function loadTrustStore(config: TrustConfig): Promise<TrustStore> {
  const anchors: TrustAnchor[] = [];
  for (const file of config.anchors ?? []) {
    for (const certificate of certificatesFromPem(await readFile(file, 'utf8'), file)) {
      anchors.push({ certificate, fingerprint: fingerprintOf(certificate) });
    }
  }
  const revokedSerials = new Map<string, Set<string>>();
  let crlsStaleAfter: Date | undefined;
  for (const file of config.crls ?? []) {
    const crl = new x509.X509Crl(await readFile(file));
    if (crl.nextUpdate && (!crlsStaleAfter || crl.nextUpdate < crlsStaleAfter)) crlsStaleAfter = crl.nextUpdate;
    const issuer = await findCrlSigner(crl, anchors);
    if (!issuer) throw new Error(`${file}: CRL is not signed by any configured trust anchor`);
    const serials = revokedSerials.get(issuer.fingerprint) ?? new Set<string>();
    for (const entry of crl.entries) serials.add(normalizeSerial(entry.serialNumber));
    revokedSerials.set(issuer.fingerprint, serials);
  }
  const organBindings = new Map<string, Set<string>>();
  for (const [organId, fingerprints] of Object.entries(config.organBindings ?? {})) {
    organBindings.set(organId, new Set(fingerprints.map(normalizeFingerprint)));
  }
  return {
    anchors,
    revokedSerials,
    organBindings,
    defaultPolicy: config.defaultPolicy ?? 'required',
    partners: { ...(config.partners ?? {}) },
    crlsStaleAfter,
  };
}

async function findCrlSigner(crl: x509.X509Crl, anchors: readonly TrustAnchor[]): Promise<TrustAnchor | undefined> {
  for (const anchor of anchors) {
    const peculiar = new x509.X509Certificate(anchor.certificate.raw);
    if (peculiar.subject !== crl.issuer) continue;
    if (await crl.verify({ publicKey: peculiar })) return anchor;
  }
  return undefined;
}

/** The partner's policy, else the default; explicit overrides (CLI flags) win over both. */
export function effectivePolicy(
  trust: TrustStore,
  organId: string | undefined,
  overrides: { policy?: SignaturePolicy; allowSha1?: boolean } = {},
): EffectivePolicy {
  const partner = organId !== undefined && Object.hasOwn(trust.partners, organId) ? trust.partners[organId] : undefined;
  return {
    policy: overrides.policy ?? partner?.policy ?? trust.defaultPolicy,
    allowSha1: overrides.allowSha1 ?? partner?.allowSha1 ?? false,
  };
}
