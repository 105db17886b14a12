/**
 * What the HTTP ingest requires of a signed request beyond the axis scheme (./signing.ts): the
 * signature must cover everything that decides which document a request becomes, not only the
 * body. The body's bytes are bound by `hash-file`; how they are read is decided by two headers,
 * so both are bound too:
 *
 *   content-type   always signed; equal to the request's Content-Type (for multipart/form-data
 *                  the boundary decides where the document ends and each file begins)
 *   file-name      signed whenever X-File-Name is sent, equal to it as sent (URL-encoded); a
 *                  signed file-name without X-File-Name is refused as well
 *
 * The path is fixed per source and the method is POST, so nothing else in a request changes
 * what it becomes. A signature also yields its replay key (the same signed request, however its
 * headers are spelled) and the end of the skew window after which it is refused anyway.
 */
import { createHash } from 'node:crypto';
import {
  HASH_HEADER,
  PREFIX,
  parseAxisTimestamp,
  sha256Hex,
  signRequestWithBodyHash,
  type AuthFailureCode,
  type HeaderLookup,
} from './signing';

export const SIGNED_CONTENT_TYPE = 'content-type';
export const SIGNED_FILE_NAME = 'file-name';

export interface IngestFailure {
  ok: false;
  code: AuthFailureCode;
  reason: string;
}

/** Undefined when Content-Type and X-File-Name are what was signed; else why not. */
export function checkBoundHeaders(header: HeaderLookup, signed: Record<string, string>): IngestFailure | undefined {
  const contentType = header('content-type') ?? '';
  if (signed[SIGNED_CONTENT_TYPE] === undefined) return fail('unsigned-header', `${SIGNED_CONTENT_TYPE} is not among the signed headers (the ingest requires Content-Type to be signed: it decides how the body is read)`);
  if (signed[SIGNED_CONTENT_TYPE] !== contentType) return fail('header-mismatch', `Content-Type ${JSON.stringify(contentType)} is not the signed ${PREFIX}${SIGNED_CONTENT_TYPE}`);
  const fileName = header('x-file-name');
  const signedName = signed[SIGNED_FILE_NAME];
  if (fileName !== undefined && signedName === undefined) return fail('unsigned-header', `X-File-Name is sent but ${SIGNED_FILE_NAME} is not among the signed headers`);
  if (signedName !== undefined && signedName !== fileName) return fail('header-mismatch', `X-File-Name ${fileName === undefined ? 'is missing' : JSON.stringify(fileName)} but ${PREFIX}${SIGNED_FILE_NAME} is signed as ${JSON.stringify(signedName)}`);
  return undefined;
}

/**
 * Identifies one signed request for replay refusal: the HMAC (case and spaces as the verifier
 * reads it) of the system that made it. Every header that could differ between two copies is
 * either inside the HMAC or ignored by the ingest.
 */
export function replayKey(systemId: string, header: HeaderLookup): string {
  return createHash('sha256').update(`${systemId}\n${(header(HASH_HEADER) ?? '').trim().toLowerCase()}`).digest('hex');
}

/** After this instant the signature's timestamp is outside the skew window, so the request is refused without the replay guard. */
export function replayWindowEnd(signed: Record<string, string>, maxSkewMs: number): number {
  const at = parseAxisTimestamp(signed.timestamp ?? '');
  return (at?.getTime() ?? Date.now()) + maxSkewMs;
}

export interface IngestSignInput {
  systemId: string;
  secret: string;
  contentType: string;
  /** Sent as X-File-Name (URL-encoded) and signed as file-name. */
  fileName?: string;
  /** The body, or the hex SHA-256 of a body too large to hold. */
  body?: Buffer;
  bodySha256Hex?: string;
  /** Further signed parameters, as in signRequest. */
  params?: Record<string, string>;
  now?: Date;
}

/**
 * Every header a request to the ingest needs: Content-Type, X-File-Name when a name is given,
 * and the XroadVnpt-* signature over timestamp, systemid, hash-file, content-type and file-name.
 */
export function signIngestRequest(input: IngestSignInput): Record<string, string> {
  const bodySha256Hex = input.bodySha256Hex ?? sha256Hex(input.body ?? Buffer.alloc(0));
  const encodedName = input.fileName === undefined ? undefined : encodeURIComponent(input.fileName);
  const params: Record<string, string> = { ...input.params, [SIGNED_CONTENT_TYPE]: input.contentType };
  if (encodedName !== undefined) params[SIGNED_FILE_NAME] = encodedName;
  const signed = signRequestWithBodyHash({ systemId: input.systemId, secret: input.secret, bodySha256Hex, params, now: input.now });
  return { 'Content-Type': input.contentType, ...(encodedName !== undefined ? { 'X-File-Name': encodedName } : {}), ...signed };
}

function fail(code: AuthFailureCode, reason: string): IngestFailure {
  return { ok: false, code, reason };
}
