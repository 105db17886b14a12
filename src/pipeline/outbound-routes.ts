/**
 * Outbound routes (issue 15): which of this agency's own outgoing packages leave through a VXP
 * endpoint instead of the backbone. A route is the `outbound` option of a `vxp-bridge` source (the
 * agency's account on the endpoint, whose receive loop brings the answers back):
 *
 *   outbound:
 *     recipients: [000.00.00.G22, 000.00.01.*]   # always through this endpoint
 *     notOnBackbone: true                          # and any recipient without a backbone topic
 *
 * The decision for one recipient, in this order: this agency itself stays on the backbone; a
 * recipient listed in a route's `recipients` goes through that route (the first that lists it);
 * one with a backbone topic goes to it; one without goes through the route with `notOnBackbone`;
 * else it is refused as `unknown-recipient`, as without routes. Pure functions: the send pipeline
 * asks them, the config loader checks routes with them, tests pin them down.
 */
import type { ConfigProblem } from '../config/load';

export interface OutboundRoute {
  /** The vxp-bridge connector whose endpoint carries it. */
  connector: string;
  /** OrganIds, or `<prefix>.*` for every OrganId under that prefix (any depth). */
  recipients: string[];
  /** Also every recipient that has no topic on the backbone. */
  notOnBackbone: boolean;
}

export type RecipientRoute = { via: 'backbone' } | { via: 'route'; route: OutboundRoute } | { via: 'none' };

/** An exact OrganId, or a prefix of whole segments followed by `.*`. */
export const RECIPIENT_PATTERN = '^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,63}|(?:[A-Za-z0-9][A-Za-z0-9_-]*\\.)+\\*)$';

export function recipientMatches(pattern: string, organId: string): boolean {
  if (!pattern.endsWith('.*')) return pattern === organId;
  const prefix = pattern.slice(0, -1); // keeps the dot: `000.00.*` covers `000.00.x`, never `000.001`
  return organId.startsWith(prefix) && organId.length > prefix.length;
}

/** Where one recipient's copy goes. `onBackbone`: the recipient's topic exists. */
export function routeRecipient(routes: readonly OutboundRoute[], self: string, recipient: string, onBackbone: boolean): RecipientRoute {
  if (recipient === self) return { via: 'backbone' };
  const listed = routes.find((r) => r.recipients.some((p) => recipientMatches(p, recipient)));
  if (listed) return { via: 'route', route: listed };
  if (onBackbone) return { via: 'backbone' };
  const fallback = routes.find((r) => r.notOnBackbone);
  return fallback ? { via: 'route', route: fallback } : { via: 'none' };
}

interface ConnectorLike {
  name: string;
  type: string;
  direction: string;
  options?: unknown;
}

/** The routes of a config's connectors, in config order. */
export function outboundRoutes(connectors: readonly ConnectorLike[]): OutboundRoute[] {
  const routes: OutboundRoute[] = [];
  for (const c of connectors) {
    const outbound = c.type === 'vxp-bridge' && c.direction === 'source' ? (c.options as { outbound?: { recipients?: string[]; notOnBackbone?: boolean } } | undefined)?.outbound : undefined;
    if (outbound) routes.push({ connector: c.name, recipients: outbound.recipients ?? [], notOnBackbone: outbound.notOnBackbone === true });
  }
  return routes;
}

/**
 * What the schema cannot say: a route routes something, not this agency itself, and two routes
 * never claim the same recipient list entry or both the recipients without a backbone topic.
 */
export function outboundRouteProblems(organId: unknown, connectors: readonly ConnectorLike[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const claimed = new Map<string, string>();
  let fallback: string | undefined;
  connectors.forEach((c, i) => {
    const route = outboundRoutes([c])[0];
    if (!route) return;
    const at = `connectors[${i}].options.outbound`;
    if (route.recipients.length === 0 && !route.notOnBackbone) {
      problems.push({ path: at, expected: 'recipients (OrganIds or prefixes such as 000.00.00.*) or notOnBackbone: true', found: 'a route for no recipient' });
    }
    route.recipients.forEach((p, j) => {
      if (typeof organId === 'string' && recipientMatches(p, organId)) {
        problems.push({ path: `${at}.recipients[${j}]`, expected: `OrganIds of other agencies (this agency's own ${organId} always stays on the backbone)`, found: JSON.stringify(p) });
      }
      const other = claimed.get(p);
      if (other !== undefined) problems.push({ path: `${at}.recipients[${j}]`, expected: `a recipient no other route lists (connector ${other} lists it)`, found: JSON.stringify(p) });
      claimed.set(p, c.name);
    });
    if (route.notOnBackbone) {
      if (fallback !== undefined) problems.push({ path: `${at}.notOnBackbone`, expected: `true on one route only (connector ${fallback} has it)`, found: 'true' });
      fallback ??= c.name;
    }
  });
  return problems;
}
