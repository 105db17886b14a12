/**
 * XMLDSig algorithm identifiers and the allowlists DESIGN.md §5 pins. Anything not listed here is
 * refused before any cryptography runs: no HMAC (key confusion), no XPath/XSLT transforms, no
 * `#WithComments` canonicalization (comments would become signed content one side ignores).
 */
export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';

export const C14N_INCLUSIVE = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
export const C14N_EXCLUSIVE = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const TRANSFORM_ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

export const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const RSA_SHA512 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512';

export const DIGEST_SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1';
export const DIGEST_SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
export const DIGEST_SHA512 = 'http://www.w3.org/2001/04/xmlenc#sha512';

export const CANONICALIZATIONS: ReadonlySet<string> = new Set([C14N_INCLUSIVE, C14N_EXCLUSIVE]);

/** Node crypto hash name for each allowed signature method. */
const SIGNATURE_HASHES: Readonly<Record<string, string>> = {
  [RSA_SHA256]: 'sha256',
  [RSA_SHA512]: 'sha512',
};
const DIGEST_HASHES: Readonly<Record<string, string>> = {
  [DIGEST_SHA256]: 'sha256',
  [DIGEST_SHA512]: 'sha512',
};

/** The Node hash behind an allowed SignatureMethod, or undefined when the method is not allowed. */
export function signatureHash(uri: string, allowSha1: boolean): string | undefined {
  if (allowSha1 && uri === RSA_SHA1) return 'sha1';
  return Object.hasOwn(SIGNATURE_HASHES, uri) ? SIGNATURE_HASHES[uri] : undefined;
}

/** The Node hash behind an allowed DigestMethod, or undefined when the method is not allowed. */
export function digestHash(uri: string, allowSha1: boolean): string | undefined {
  if (allowSha1 && uri === DIGEST_SHA1) return 'sha1';
  return Object.hasOwn(DIGEST_HASHES, uri) ? DIGEST_HASHES[uri] : undefined;
}
