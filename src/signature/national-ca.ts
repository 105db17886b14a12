/**
 * The public CA certificates of Vietnam's government PKI, shipped with the connector
 * (config/trust/national-ca/, in the image at /app/config/trust/national-ca/, and in the Helm chart)
 * and selected by one word in `trust.anchors` (issue 17 point 4; docs/OPERATIONS.md "The national
 * CA preset"):
 *
 * - `national`: the Government Cipher Committee's (Ban Cơ yếu Chính phủ) specialised PKI. Its roots
 *   RootCA G2 and RootCA G1 are the anchors; the issuing CAs under them (state agencies G2, Party
 *   agencies G2, Government G1) are intermediates the path may use when a document carries only
 *   its own certificate. They stay intermediates, not anchors, so that the root's CRL still
 *   decides whether they are revoked.
 * - `national-public`: the Vietnam National Root CA of the Ministry of Information and
 *   Communications, root of the commercial CAs (VNPT-CA, Viettel-CA, …). Not part of `national`:
 *   add it only where partners sign with commercial certificates.
 *
 * Every file's SHA-256 is pinned below: a file changed or replaced on disk stops the start.
 * The pins are those the files' README lists; check them against the publisher (ca.gov.vn,
 * rootca.gov.vn) before relying on them.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';

export const ANCHOR_PRESETS = ['national', 'national-public'] as const;
export type AnchorPreset = (typeof ANCHOR_PRESETS)[number];

export interface NationalCaFile {
  file: string;
  /** SHA-256 of the certificate's DER, lowercase hex. */
  sha256: string;
  role: 'anchor' | 'intermediate';
  preset: AnchorPreset;
}

export const NATIONAL_CA_FILES: readonly NationalCaFile[] = [
  { file: 'rootca-g2.pem', role: 'anchor', preset: 'national', sha256: 'f04ba4b459a7c9a1b971ad9b1cb833e695a80c79aea63b174b66a70edfe2fdb8' },
  { file: 'ca-nha-nuoc-g2.pem', role: 'intermediate', preset: 'national', sha256: 'd8cab7a4aef92e6bb2509d7c61cee7b44f3731b2d21074963530277b366fae4b' },
  { file: 'ca-dang-g2.pem', role: 'intermediate', preset: 'national', sha256: 'e4b402e3cb4cacc0a20d21fa49bce76beb4eb47ba7ffb7a8f71c554dbe561a81' },
  { file: 'rootca-g1.pem', role: 'anchor', preset: 'national', sha256: 'f7bc89054cec7f12730d7b8cd3eb7955b163835087e5eb873edfb584763b3f90' },
  { file: 'ca-chinh-phu-g1.pem', role: 'intermediate', preset: 'national', sha256: '75e969c07ba35c29c72bbc1bfb880f20f3891a619b00b77eb02ca6160736a1fe' },
  { file: 'vietnam-national-root-ca.pem', role: 'anchor', preset: 'national-public', sha256: 'bac8bf609ab420a8ee1780d74f4de5c7f7184959d2a7375b0a75e4c29f0908e7' },
];

/** Where the shipped copy lies: config/trust/national-ca/ of the installation (dist/src/signature/../../..). */
export const SHIPPED_NATIONAL_CA_DIR = path.resolve(__dirname, '..', '..', '..', 'config', 'trust', 'national-ca');

export class NationalCaError extends Error {}

export function isAnchorPreset(word: string): word is AnchorPreset {
  return (ANCHOR_PRESETS as readonly string[]).includes(word);
}

export interface PresetCertificates {
  anchors: Array<{ file: string; certificate: X509Certificate }>;
  intermediates: Array<{ file: string; certificate: X509Certificate }>;
}

/** The certificates of `presets` from `dir`, each checked against its pinned fingerprint. */
export async function loadPresetCertificates(presets: readonly AnchorPreset[], dir = SHIPPED_NATIONAL_CA_DIR): Promise<PresetCertificates> {
  const result: PresetCertificates = { anchors: [], intermediates: [] };
  for (const entry of NATIONAL_CA_FILES.filter((f) => presets.includes(f.preset))) {
    const file = path.join(dir, entry.file);
    let pem: string;
    try {
      pem = await readFile(file, 'utf8');
    } catch (err) {
      throw new NationalCaError(`trust.anchors ${entry.preset}: ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); it ships with the connector (config/trust/national-ca/) and the Helm chart`);
    }
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length !== 1) throw new NationalCaError(`trust.anchors ${entry.preset}: ${file} holds ${blocks.length} certificates, not the one pinned (SHA-256 ${entry.sha256})`);
    const certificate = new X509Certificate(blocks[0]!);
    const actual = certificate.fingerprint256.replace(/:/g, '').toLowerCase();
    if (actual !== entry.sha256) {
      throw new NationalCaError(
        `trust.anchors ${entry.preset}: ${file} is not the pinned certificate (SHA-256 ${actual}, pinned ${entry.sha256}): ` +
          'the file was changed or replaced; restore it from the release, never edit it',
      );
    }
    (entry.role === 'anchor' ? result.anchors : result.intermediates).push({ file, certificate });
  }
  return result;
}
