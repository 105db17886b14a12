/**
 * Why a PKCS#11 signing key cannot sign (docs/OPERATIONS.md, "Keys in a token (PKCS#11)"). Each
 * failure has a stable kebab-case code: it is the `reason` label of
 * vdxp_signing_token_failures_total, the `tokenFailure` field of the log line and the first word
 * of the `signing` readiness check's detail.
 *
 * No native code here: the metrics name these codes whether or not a token is configured.
 */
export const TOKEN_FAILURES = [
  /** The module (shared library) cannot be loaded or initialised. */
  'module-unavailable',
  /** No token with the configured label or serial is present. */
  'token-not-found',
  /** More than one present token matches the configured label. */
  'token-ambiguous',
  /** The PIN file cannot be read, or is empty. */
  'pin-unreadable',
  /** The token refused the PIN (CKR_PIN_INCORRECT, CKR_PIN_INVALID, CKR_PIN_LEN_RANGE): not tried again until the PIN file changes. */
  'pin-incorrect',
  /** The token's user PIN is locked or expired: only its security officer can unlock it. */
  'pin-locked',
  /** No private key with the configured label or id. */
  'key-not-found',
  /** More than one private key matches. */
  'key-ambiguous',
  /** The key can be read or wrapped out of the token (CKA_SENSITIVE false or CKA_EXTRACTABLE true): refused. */
  'key-exportable',
  /** The key is not an RSA signing key. */
  'key-unsuitable',
  /** No certificate file is configured and the token holds no certificate for the key. */
  'certificate-not-found',
  /** The certificate's public key is not the token key's. */
  'key-certificate-mismatch',
  /** The token went away while in use (removed, its store deleted or replaced, its session or key gone). */
  'token-removed',
  /** Any other error the module returned. */
  'token-error',
] as const;
export type TokenFailure = (typeof TOKEN_FAILURES)[number];

export class TokenError extends Error {
  constructor(
    readonly failure: TokenFailure,
    readonly detail: string,
    /** The PKCS#11 return value (CKR_…) when the module gave one. */
    readonly ckr?: string,
  ) {
    super(`${failure}: ${detail}`);
    this.name = 'TokenError';
  }
}

export function isTokenError(err: unknown): err is TokenError {
  return err instanceof TokenError;
}
