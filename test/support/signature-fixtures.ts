/**
 * Packages and signatures for the signature tests, built from the real field samples and the test
 * PKI. `signWithXmlCrypto` is an independent signer (xml-crypto's own `SignedXml`) used to craft
 * what `signPackage` refuses to make: Id references, SHA-1, foreign signers, KeyValue-only keys.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SignedXml } from 'xml-crypto';
import { loadTrustStore, type TrustConfig, type TrustStore } from '../../src/signature';
import type { PemCredentials } from '../../src/signature/sign';
import { SAMPLES_DIR } from './paths';
import type { TestCredential, TestPki } from './pki';

/** 13 KB edoc from the axis (From 000.00.00.G22, one attachment, the SDK placeholder signature). */
export const BASE_SAMPLE = path.join(SAMPLES_DIR, 'truclienthong-example__xml_received-via-lgsp_dc0bdef0.edxml');

export function credentials(c: TestCredential): PemCredentials {
  return {
    keyPem: fs.readFileSync(c.keyPath),
    certPem: fs.readFileSync(c.certPath),
    ...(c.chainPath ? { chainPem: fs.readFileSync(c.chainPath) } : {}),
  };
}

export function trustFor(pki: TestPki, extra: Partial<TrustConfig> = {}): Promise<TrustStore> {
  return loadTrustStore({ anchors: [pki.rootCaPath], crls: [pki.crlPath, pki.intermediateCrlPath], ...extra });
}

/** The sample as text with `From/OrganId` set to `organId` (From is the first OrganId of the header). */
export function packageFrom(organId: string, sample = BASE_SAMPLE): string {
  return fs.readFileSync(sample, 'utf8').replace(/(<edXML:OrganId>)[^<]*(<\/edXML:OrganId>)/, `$1${organId}$2`);
}

/** The SDK placeholder (`Signature` in the QCVN namespace) removed: an unsigned package. */
export function withoutPlaceholder(xml: string): string {
  return xml.replace(/\s*<Signature>[\s\S]*?<\/Signature>/, '');
}

/** Sets the attachment's base64 text to `bytes` pseudo-random bytes: packages of a chosen size. */
export function withAttachmentOf(xml: string, bytes: number): string {
  let seed = 7;
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) >>> 16;
  return xml.replace(/(<edXML:ContentTransferEncoded[^>]*>)[^<]*(<\/edXML:ContentTransferEncoded>)/, `$1${data.toString('base64')}$2`);
}

export interface CraftOptions {
  signatureAlgorithm?: string;
  digestAlgorithm?: string;
  c14n?: string;
  /** XPath of the element the single reference covers; the whole document (URI="") when absent. */
  referenceXpath?: string;
  /** What KeyInfo carries: the certificate (+chain, default), an RSAKeyValue of the key, or nothing. */
  keyInfo?: 'x509' | 'key-value' | 'none';
  /** Certificate put in KeyInfo instead of the signer's own (a key/certificate mismatch). */
  keyInfoCertPem?: string | Buffer;
}

const HEADER_XPATH = "/*/*[local-name()='edXMLEnvelope']/*[local-name()='edXMLHeader']";

/** Signs `xml` with xml-crypto's SignedXml, the signature appended to edXMLHeader. */
export function signWithXmlCrypto(xml: string, signer: PemCredentials, options: CraftOptions = {}): string {
  const c14n = options.c14n ?? 'http://www.w3.org/2001/10/xml-exc-c14n#';
  const certPem = (options.keyInfoCertPem ?? signer.certPem).toString() + (options.keyInfoCertPem ? '' : (signer.chainPem?.toString() ?? ''));
  const keyInfo = options.keyInfo ?? 'x509';
  const sig = new SignedXml({
    privateKey: signer.keyPem,
    publicCert: certPem,
    signatureAlgorithm: options.signatureAlgorithm ?? 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: c14n,
    ...(keyInfo === 'x509' ? {} : { getKeyInfoContent: () => (keyInfo === 'key-value' ? rsaKeyValue(signer.keyPem) : null) }),
  });
  sig.addReference({
    xpath: options.referenceXpath ?? '/*',
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', c14n],
    digestAlgorithm: options.digestAlgorithm ?? 'http://www.w3.org/2001/04/xmlenc#sha256',
    isEmptyUri: options.referenceXpath === undefined,
  });
  sig.computeSignature(xml, { location: { reference: HEADER_XPATH, action: 'append' } });
  return sig.getSignedXml();
}

function rsaKeyValue(keyPem: string | Buffer): string {
  const jwk = (require('node:crypto') as typeof import('node:crypto')).createPublicKey(keyPem).export({ format: 'jwk' });
  const b64 = (v: string | undefined) => Buffer.from(v ?? '', 'base64url').toString('base64');
  return `<KeyValue><RSAKeyValue><Modulus>${b64(jwk.n)}</Modulus><Exponent>${b64(jwk.e)}</Exponent></RSAKeyValue></KeyValue>`;
}

/** Replaces the first occurrence of `from`, failing loudly when it is absent (a test that changes nothing proves nothing). */
export function replaceOnce(xml: string, from: string | RegExp, to: string): string {
  const out = xml.replace(from, to);
  if (out === xml) throw new Error(`fixture: ${String(from)} not found`);
  return out;
}

export function signatureCount(xml: string): number {
  return (xml.match(/<(\w+:)?Signature[\s>]/g) ?? []).length;
}
