/**
 * What monitoring sees of a running connector: after a document crosses, /metrics on both sides
 * counts it, passes promtool, and /readyz is ready; on SIGTERM the connector drains and exits 0.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deliveredFiles, dropPackage, prepareAgency, uniqueOrganId, useAgencyProcesses, waitFor, type AgencyProcess } from '../support/agency';
import { makeEdoc } from '../support/packages';

function opsPortOf(agency: AgencyProcess): number {
  const match = /"opsPort":(\d+)/.exec(agency.logText());
  assert.ok(match, 'the connector logs its ops port');
  return Number(match[1]);
}

async function get(port: number, route: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${route}`);
  return { status: response.status, body: await response.text() };
}

function sample(exposition: string, name: string, labels: Record<string, string>): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('ops endpoints of running connectors (real Kafka)', function () {
  this.timeout(120_000);
  const agencies = useAgencyProcesses('vdxp-ops');

  it('counts a crossing document on both sides, passes promtool, reports ready, and drains on SIGTERM', async () => {
    const h41 = prepareAgency(agencies.base(), uniqueOrganId('H41'));
    const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'));
    const receiver = await agencies.start(g22);
    const sender = await agencies.start(h41);
    dropPackage(h41.outbox, 'one.edxml', makeEdoc({ from: h41.organId, to: [g22.organId], number: 1 }));
    dropPackage(h41.outbox, 'broken.edxml', Buffer.from('<edXML>'));
    await waitFor(() => deliveredFiles(g22.inbox).length === 1, 30_000, 'the delivery');

    const [senderPort, receiverPort] = [opsPortOf(sender), opsPortOf(receiver)];
    await waitFor(async () => sample((await get(receiverPort, '/metrics')).body, 'vdxp_documents_total', { direction: 'inbound' }) === 1, 10_000, 'the inbound count');
    const inbound = (await get(receiverPort, '/metrics')).body;
    assert.equal(sample(inbound, 'vdxp_documents_total', { direction: 'inbound', counterpart: h41.organId, outcome: 'delivered' }), 1);
    assert.ok((sample(inbound, 'vdxp_delivery_latency_seconds_count', { stage: 'kafka_to_sink' }) ?? 0) >= 1);

    const outbound = (await get(senderPort, '/metrics')).body;
    assert.equal(sample(outbound, 'vdxp_documents_total', { direction: 'outbound', counterpart: g22.organId, outcome: 'delivered' }), 1);
    assert.equal(sample(outbound, 'vdxp_rejections_total', { direction: 'outbound', reason: 'malformed-xml' }), 1);

    // The live exposition passes Prometheus's own linter.
    const file = path.join(agencies.base(), 'metrics.txt');
    fs.writeFileSync(file, inbound);
    assert.equal(execFileSync('sh', ['-c', `promtool check metrics < ${file} 2>&1`], { encoding: 'utf8' }).trim(), '');

    for (const port of [senderPort, receiverPort]) {
      assert.equal((await get(port, '/healthz')).status, 200);
      const ready = await get(port, '/readyz');
      assert.equal(ready.status, 200, ready.body);
      assert.equal(JSON.parse(ready.body).ready, true);
    }

    agencies.forget(receiver);
    assert.equal(await receiver.kill('SIGTERM'), 0, 'SIGTERM drains, commits and exits cleanly');
    assert.match(receiver.logText(), /"stopped"/);
  });
});
