/**
 * The agency's own signing certificate, checked at start and at every reload (issue 16 point 2):
 * a connector whose certificate cannot sign for its own OrganId would send every document to
 * `rejected/` with signer-not-sender, or have every partner refuse it. Such a connector is not
 * ready, and /readyz says why.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { isRejection } from '../errors';
import { BINDING_HINT, describeSigner, signerBinding, trustedSignerOf } from '../signature/chain';
import { factsOf } from '../signature/certificate-facts';
import { assertSuitableSigner, DEFAULT_SIGNER_RULES } from '../signature/signer-rules';
import { certificatesFromPem, type TrustStore } from '../signature/trust';
import type { SignerCredentials } from '../signature/sign';
import { isTokenError } from '../signature/pkcs11/token-failure';

const NO_BINDINGS = { organBindings: new Map<string, ReadonlySet<string>>() };

export const KEY_NOT_OF_CERTIFICATE = 'signing.keyFile does not belong to signing.certFile';
export const TOKEN_KEY_NOT_OF_CERTIFICATE = 'the key in the token (signing.pkcs11.key) does not belong to the signing certificate';

/** true, or why this key and certificate cannot sign for `organId` at `now`. */
export function ownCertificateProblem(credentials: SignerCredentials, organId: string, trust: TrustStore | undefined, now = new Date()): true | string {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(credentials.certPem);
    const publicKey = 'keyPem' in credentials ? createPublicKey(createPrivateKey(credentials.keyPem)) : credentials.key.publicKey();
    const fromKey = publicKey.export({ format: 'der', type: 'spki' });
    if (!fromKey.equals(certificate.publicKey.export({ format: 'der', type: 'spki' }))) return 'keyPem' in credentials ? KEY_NOT_OF_CERTIFICATE : TOKEN_KEY_NOT_OF_CERTIFICATE;
  } catch (err) {
    if (isTokenError(err)) return `PKCS#11 signing key: ${err.message}`;
    return `signing key or certificate unreadable: ${(err as Error).message}`;
  }
  const facts = factsOf(certificate);
  const signer = describeSigner(certificate);
  if (now < facts.notBefore) return `the signing certificate ${signer.subject} is not valid before ${facts.notBefore.toISOString()}`;
  if (now > facts.notAfter) return `the signing certificate ${signer.subject} expired on ${facts.notAfter.toISOString()}`;
  try {
    assertSuitableSigner(facts, trust?.signerRules ?? DEFAULT_SIGNER_RULES);
  } catch (err) {
    if (!isRejection(err)) throw err;
    return `the signing certificate cannot sign documents: ${err.detail}`;
  }
  const binding = signerBinding(signer, organId, trust ?? NO_BINDINGS);
  if (!binding.bound) {
    return `the signing certificate ${signer.subject} is not bound to this agency's OrganId ${organId}: ${binding.why} (${BINDING_HINT}); every outgoing document would be refused with signer-not-sender`;
  }
  if (trust) {
    const chain = credentials.chainPem ? certificatesFromPem(credentials.chainPem.toString(), 'signing.chainFile') : [];
    try {
      // Our partners decide on SHA-1 and on revocation gaps; a revoked or broken path is ours to fix.
      trustedSignerOf([certificate.raw, ...chain.map((c) => c.raw)], trust, now, { allowSha1: true, revocation: 'best-effort' });
    } catch (err) {
      if (!isRejection(err)) throw err;
      return `partners would refuse our signatures: ${err.reason}: ${err.detail}`;
    }
  }
  return true;
}
