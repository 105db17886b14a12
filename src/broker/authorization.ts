/**
 * The backbone's ACLs (docs/SECURITY.md, "Least privilege on the backbone") refuse what a
 * principal may not do with an authorization error. librdkafka says only "Topic authorization
 * failed"; an operator needs to know it is an ACL, for which principal, and where the list of
 * what the agency needs comes from.
 */

const AUTHORIZATION_CODES = new Set([
  29, // TOPIC_AUTHORIZATION_FAILED
  30, // GROUP_AUTHORIZATION_FAILED
  31, // CLUSTER_AUTHORIZATION_FAILED
  53, // TRANSACTIONAL_ID_AUTHORIZATION_FAILED
]);

export function isAuthorizationError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'number' && AUTHORIZATION_CODES.has(e.code)) return true;
  return typeof e?.message === 'string' && /authorization failed|not authorized/i.test(e.message);
}

/** The error's message, and for an authorization error what it means and what to do. */
export function describeBackboneError(err: unknown, principal: string | undefined): string {
  const message = err instanceof Error ? err.message : String((err as { message?: unknown })?.message ?? err);
  if (!isAuthorizationError(err)) return message;
  const who = principal ? `principal User:${principal}` : 'this connector’s principal';
  return `${message} (not authorized: an ACL of the backbone refuses this to ${who}; the backbone operator grants an agency what \`vdxp backbone acl <OrganId>\` prints)`;
}
