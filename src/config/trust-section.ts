/**
 * The rules of the `trust:` section that a JSON Schema says badly (DESIGN.md §5; issue 13 hole 4):
 * a connector verifies what it receives, so a config without trust material does not start.
 * The one way to run without it is the explicit `trust: { insecureSkipVerification: true }`,
 * for test setups, which nothing else may accompany; the connector then says so in its log, on
 * /readyz and in vdxp_signature_verification_disabled.
 */
import type { ConfigProblem } from './load';
import { compileIdentityRules, IdentityRuleError, type IdentityConfig } from '../signature/signer-identity';

/** Unusable, conflicting or ambiguous identity rules stop the start (the message names both rules of a conflict). */
function identityRuleProblem(trust: Record<string, unknown>): ConfigProblem | undefined {
  try {
    compileIdentityRules(trust as IdentityConfig);
    return undefined;
  } catch (err) {
    if (!(err instanceof IdentityRuleError)) return undefined; // a shape the schema reports
    return { path: err.path, expected: err.expected, found: err.found };
  }
}

export function trustSectionProblems(raw: unknown): ConfigProblem[] {
  const trust = (raw as { trust?: Record<string, unknown> } | undefined)?.trust;
  if (trust === undefined) {
    return [{
      path: 'trust',
      expected: 'the trust material (trust.anchors and trust.crls or trust.ocsp), or trust.insecureSkipVerification: true for a test setup that verifies nothing it receives',
      found: 'nothing',
    }];
  }
  if (typeof trust !== 'object' || trust === null) return [];
  if (trust.insecureSkipVerification === true) {
    const others = Object.keys(trust).filter((k) => k !== 'insecureSkipVerification');
    return others.length === 0
      ? []
      : [{ path: `trust.${others[0]}`, expected: 'no other trust key beside insecureSkipVerification: true (verification is off; remove one or the other)', found: 'a value' }];
  }
  if (trust.anchors === undefined) {
    return [{ path: 'trust.anchors', expected: 'a value (required unless trust.insecureSkipVerification is true)', found: 'nothing' }];
  }
  const identity = identityRuleProblem(trust);
  if (identity) return [identity];
  if ((trust.crls === undefined || (Array.isArray(trust.crls) && trust.crls.length === 0)) && trust.revocation !== 'best-effort' && trust.ocsp === undefined) {
    return [{
      path: 'trust.crls',
      expected: 'the CRLs of the anchors and of the CAs under them, or trust.ocsp (no CRL and no OCSP means no revocation check: say so with trust.revocation: best-effort)',
      found: trust.crls === undefined ? 'nothing' : 'an empty list',
    }];
  }
  return [];
}
