/**
 * Outbound routes (issue 15): which recipient's copy goes to the backbone and which to the outbox
 * of a vxp-bridge route, and what the config loader refuses about `outbound`.
 */
import { strict as assert } from 'node:assert';
import { outboundRoutes, recipientMatches, routeRecipient, type OutboundRoute } from '../../../src/pipeline/outbound-routes';
import { ConfigError, parseConfig } from '../../../src/config/load';
import { agencyAcls } from '../../../src/broker/acls';

const US = '000.00.00.H41';
const AXIS = '000.00.00.G22';

describe('outbound routes: where a recipient\'s copy goes', () => {
  const listed: OutboundRoute = { connector: 'axis', recipients: [AXIS, 'H37.02.*'], notOnBackbone: false };
  const fallback: OutboundRoute = { connector: 'hub', recipients: [], notOnBackbone: true };

  it('an OrganId matches itself only; a prefix pattern covers whole segments under it, at any depth', () => {
    assert.ok(recipientMatches(AXIS, AXIS));
    assert.ok(!recipientMatches(AXIS, `${AXIS}.01`));
    assert.ok(recipientMatches('H37.02.*', 'H37.02.01'));
    assert.ok(recipientMatches('H37.02.*', 'H37.02.01.05'));
    assert.ok(!recipientMatches('H37.02.*', 'H37.02'), 'not the prefix itself');
    assert.ok(!recipientMatches('H37.02.*', 'H37.020.01'), 'not a longer segment');
  });

  it('a listed recipient goes through its route even when it has a backbone topic', () => {
    assert.deepEqual(routeRecipient([listed], US, AXIS, true), { via: 'route', route: listed });
    assert.deepEqual(routeRecipient([listed], US, 'H37.02.09', false), { via: 'route', route: listed });
  });

  it('an unlisted recipient stays on the backbone when it is there, else takes the notOnBackbone route, else has none', () => {
    assert.deepEqual(routeRecipient([listed, fallback], US, '000.00.00.X01', true), { via: 'backbone' });
    assert.deepEqual(routeRecipient([listed, fallback], US, '000.00.00.X01', false), { via: 'route', route: fallback });
    assert.deepEqual(routeRecipient([listed], US, '000.00.00.X01', false), { via: 'none' });
    assert.deepEqual(routeRecipient([], US, '000.00.00.X01', false), { via: 'none' });
  });

  it('this agency itself never leaves through a route', () => {
    assert.deepEqual(routeRecipient([{ connector: 'axis', recipients: ['000.00.00.*'], notOnBackbone: true }], US, US, false), { via: 'backbone' });
  });

  it('routes come from vxp-bridge sources with `outbound`, in config order', () => {
    const routes = outboundRoutes([
      { name: 'in', type: 'file-drop', direction: 'source', options: { outbound: { recipients: [AXIS] } } },
      { name: 'hub-out', type: 'vxp-bridge', direction: 'sink', options: {} },
      { name: 'axis', type: 'vxp-bridge', direction: 'source', options: { outbound: { recipients: [AXIS] } } },
      { name: 'hub', type: 'vxp-bridge', direction: 'source', options: { outbound: { notOnBackbone: true } } },
      { name: 'plain', type: 'vxp-bridge', direction: 'source', options: {} },
    ]);
    assert.deepEqual(routes, [
      { connector: 'axis', recipients: [AXIS], notOnBackbone: false },
      { connector: 'hub', recipients: [], notOnBackbone: true },
    ]);
  });
});

describe('outbound routes in the agency config', () => {
  const bridge = (name: string, outbound: unknown, direction = 'source') =>
    `  - { name: ${name}, type: vxp-bridge, direction: ${direction}, options: { endpoint: "https://axis.example/vxp", systemId: h41, secretFile: /run/s, outbound: ${JSON.stringify(outbound)} } }\n`;
  const config = (...bridges: string[]) => `
organId: "${US}"
kafka: { brokers: ["127.0.0.1:9092"] }
trust: { insecureSkipVerification: true }
connectors:
  - { name: outbox, type: file-drop, direction: source, options: { dir: /tmp/out } }
${bridges.join('')}`;
  const problems = (text: string) => {
    try {
      parseConfig(text);
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.problems.map((p) => `${p.path}: ${p.expected}`);
    }
    return [];
  };

  it('accepts OrganIds and prefixes, and notOnBackbone', () => {
    assert.deepEqual(problems(config(bridge('axis', { recipients: [AXIS, '000.00.01.*'] }), bridge('hub', { notOnBackbone: true }))), []);
  });

  it('refuses a route for no recipient, a pattern that is not an OrganId or prefix, and this agency itself', () => {
    assert.match(problems(config(bridge('axis', {})))[0]!, /^connectors\[1\]\.options\.outbound/);
    assert.deepEqual(problems(config(bridge('axis', { notOnBackbone: false }))), ['connectors[1].options.outbound: recipients (OrganIds or prefixes such as 000.00.00.*) or notOnBackbone: true']);
    for (const bad of ['*', '000.*.G22', 'a b']) assert.match(problems(config(bridge('axis', { recipients: [bad] })))[0]!, /^connectors\[1\]\.options\.outbound\.recipients\[0\]/, bad);
    assert.match(problems(config(bridge('axis', { recipients: ['000.00.*'] })))[0]!, /^connectors\[1\]\.options\.outbound\.recipients\[0\]: OrganIds of other agencies/);
  });

  it('refuses two routes for the same recipient or for the recipients without a backbone topic', () => {
    assert.match(problems(config(bridge('a', { recipients: [AXIS] }), bridge('b', { recipients: [AXIS] })))[0]!, /connectors\[2\]\.options\.outbound\.recipients\[0\]: a recipient no other route lists \(connector a/);
    assert.match(problems(config(bridge('a', { notOnBackbone: true }), bridge('b', { notOnBackbone: true })))[0]!, /connectors\[2\]\.options\.outbound\.notOnBackbone: true on one route only/);
  });

  it('refuses `outbound` on a vxp-bridge sink (the route belongs to the source whose receive loop brings the answers)', () => {
    assert.match(problems(config(bridge('hub-out', { recipients: [AXIS] }, 'sink')))[0]!, /^connectors\[1\]\.options/);
  });

  it('`vdxp backbone acl` grants the outbox topic and its group only to an agency with a route', () => {
    const names = (outbox: boolean) => agencyAcls(US, { username: 'u', outbox }).map((a) => `${a.operation} ${a.resourceType} ${a.patternType} ${a.name}`);
    for (const grant of ['Read Topic Literal vdxp.outbox.000.00.00.H41', 'Write Topic Literal vdxp.outbox.000.00.00.H41', 'Create Topic Literal vdxp.outbox.000.00.00.H41', 'Read Group Literal vdxp.000.00.00.H41.outbox']) {
      assert.ok(names(true).includes(grant), grant);
    }
    assert.ok(!names(false).some((n) => n.includes('outbox')));
  });
});
