/**
 * PKCS#11 return values (CKR_…) as typed token failures (./token-failure.ts).
 */
import * as pkcs11js from 'pkcs11js';
import { isTokenError, TokenError } from './token-failure';

/** Return values after which the token must be found again (it, its session or its objects are gone). */
const GONE = new Set<number>([
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_TOKEN_NOT_RECOGNIZED,
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_OBJECT_HANDLE_INVALID,
  pkcs11js.CKR_KEY_HANDLE_INVALID,
  pkcs11js.CKR_SLOT_ID_INVALID,
  pkcs11js.CKR_DEVICE_ERROR,
  // SoftHSM answers C_GetTokenInfo with this once the token's directory is deleted.
  pkcs11js.CKR_GENERAL_ERROR,
  pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED,
  pkcs11js.CKR_USER_NOT_LOGGED_IN,
]);
const WRONG_PIN = new Set<number>([pkcs11js.CKR_PIN_INCORRECT, pkcs11js.CKR_PIN_INVALID, pkcs11js.CKR_PIN_LEN_RANGE]);
const LOCKED_PIN = new Set<number>([pkcs11js.CKR_PIN_LOCKED, pkcs11js.CKR_PIN_EXPIRED]);

/** The CKR_… name and number of a pkcs11js error, if it is one. */
export function ckrOf(err: unknown): { name: string; code: number } | undefined {
  if (!(err instanceof Error)) return undefined;
  const match = /(CKR_[A-Z0-9_]+)/.exec(err.message);
  const code = (err as { code?: unknown }).code;
  if (!match || typeof code !== 'number') return undefined;
  return { name: match[1]!, code };
}

/** A module error during `doing` as a typed failure. */
export function tokenFailureOf(err: unknown, doing: string): TokenError {
  if (isTokenError(err)) return err;
  const ckr = ckrOf(err);
  if (!ckr) return new TokenError('token-error', `${doing} failed: ${(err as Error).message}`);
  if (WRONG_PIN.has(ckr.code)) return new TokenError('pin-incorrect', `${doing}: refused, the PIN is wrong (${ckr.name})`, ckr.name);
  if (LOCKED_PIN.has(ckr.code)) return new TokenError('pin-locked', `${doing}: the user PIN is ${ckr.code === pkcs11js.CKR_PIN_EXPIRED ? 'expired' : 'locked'} (${ckr.name}); the security officer of the token must reset it`, ckr.name);
  if (GONE.has(ckr.code)) return new TokenError('token-removed', `${doing} failed with ${ckr.name}: the token, its session or the key is gone`, ckr.name);
  return new TokenError('token-error', `${doing} failed with ${ckr.name}`, ckr.name);
}
