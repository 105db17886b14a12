/**
 * Issue 14, truthful health, against a real broker and real `vdxp run` processes: /readyz and the
 * metrics say so when consumption is stuck at its in-flight limit, or when a record keeps failing;
 * and a record that cannot even be dead-lettered is recorded and committed past (its budget is
 * spent), so nothing is retried forever.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as YAML from 'yaml';
import { AdminClient } from 'node-rdkafka';
import { deliveredFiles, prepareAgency, TEST_BROKERS, uniqueOrganId, useAgencyProcesses, waitFor, type AgencyDirs } from '../support/agency';
import { fullyCommitted, getText, HostilePartner, metricValue } from '../support/backbone-partner';
import { FaultLegacyServer } from '../support/fault-legacy-server';
import { makeEdoc } from '../support/packages';
import { deadLetterTopic, docsTopic, HEADERS } from '../../src/broker/topics';

describe('truthful health: a stuck consumer and a record that keeps failing (issue 14, real Kafka)', function () {
  this.timeout(180_000);
  const agencies = useAgencyProcesses('vdxp-health');
  let partner: HostilePartner;

  before(async () => {
    partner = new HostilePartner();
    await partner.connect();
  });
  after(async () => partner.disconnect());

  const opsPort = (dirs: AgencyDirs) => (YAML.parse(fs.readFileSync(dirs.configPath, 'utf8')) as { ops: { port: number } }).ops.port;

  /** Polls /readyz until `until` holds, keeping every failing body seen on the way. */
  async function watchReadiness(port: number, until: () => boolean | Promise<boolean>, timeoutMs: number): Promise<string[]> {
    const failing: string[] = [];
    await waitFor(
      async () => {
        const r = await getText(port, '/readyz');
        if (r.status !== 200) failing.push(r.body);
        return until();
      },
      timeoutMs,
      'the condition while watching /readyz',
    );
    return failing;
  }

  it('says not ready while in-flight work stays at its limit, no slot freed, longer than delivery.readiness.maxSaturatedMs, and ready again once it drains', async () => {
    const legacy = new FaultLegacyServer();
    await legacy.up();
    // A legacy system that takes 8 s per document (under the sink's 30 s timeout): both slots stay taken.
    legacy.delayMs = 8_000;
    try {
      const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'), {
        connectors: [{ name: 'legacy-http', type: 'http', direction: 'sink', profile: 'edxml', options: { url: legacy.url } }],
        delivery: { maxInFlight: 2, readiness: { maxSaturatedMs: 2_000 }, breaker: { timeoutMs: 30_000, volumeThreshold: 1000 } },
      });
      await agencies.start(g22);
      const sender = uniqueOrganId('H41');
      for (let i = 0; i < 4; i++) {
        await partner.producer.send({ topic: docsTopic(g22.organId), key: `doc-${i}`, value: makeEdoc({ from: sender, to: [g22.organId], number: i + 1 }), headers: { [HEADERS.kind]: 'edoc', [HEADERS.fromOrganId]: sender } });
      }
      let saturatedSeen = 0;
      const failing = await watchReadiness(
        opsPort(g22),
        async () => {
          saturatedSeen = Math.max(saturatedSeen, metricValue((await getText(opsPort(g22), '/metrics')).body, 'vdxp_consumer_saturated_seconds') ?? 0);
          return legacy.unique.size === 4;
        },
        120_000,
      );
      assert.ok(failing.some((b) => /"name":"consumer","ok":false,"detail":"in-flight work has been at its limit of 2 records/.test(b)), `a failing body naming the consumer: ${failing[0]}`);
      assert.ok(saturatedSeen > 2, `vdxp_consumer_saturated_seconds reached ${saturatedSeen}`);
      assert.ok(legacy.maxConcurrent <= 2);
      await waitFor(async () => (await getText(opsPort(g22), '/readyz')).status === 200, 30_000, 'ready again once the backlog is delivered');
    } finally {
      await legacy.down();
    }
  });

  it('says not ready while a record keeps failing, then, its budget spent and its dead letter impossible, logs it, counts it and commits past it', async () => {
    const organId = uniqueOrganId('G22');
    // A dead-letter topic that refuses every record (max.message.bytes 200): the dead letter cannot be written.
    await createTopic(deadLetterTopic(organId), { 'max.message.bytes': '200' });
    const g22 = prepareAgency(agencies.base(), organId, { limits: { maxRecordAttempts: 3 }, delivery: { readiness: { maxRecordFailures: 2 } } });
    const process = await agencies.start(g22);
    const sender = uniqueOrganId('H41');
    const topic = docsTopic(g22.organId);
    await partner.producer.send({ topic, key: 'same-partition', value: Buffer.from('<edXML><unclosed>'), headers: { [HEADERS.kind]: 'edoc', [HEADERS.fromOrganId]: sender } });
    await partner.producer.send({ topic, key: 'same-partition', value: makeEdoc({ from: sender, to: [g22.organId], number: 1 }), headers: { [HEADERS.kind]: 'edoc', [HEADERS.fromOrganId]: sender } });
    const failing = await watchReadiness(opsPort(g22), async () => metricValue((await getText(opsPort(g22), '/metrics')).body, 'vdxp_records_skipped_total{budget="attempts"}') === 1, 90_000);
    assert.ok(failing.some((b) => /"name":"consumer","ok":false,"detail":"record vdxp\.docs\.[^"]+@0 has failed [23] times/.test(b)), `a failing body naming the record: ${failing[0]}`);
    assert.equal(deliveredFiles(g22.inbox).length, 1, 'the document behind it was delivered meanwhile');
    await waitFor(() => fullyCommitted(g22.organId, topic), 30_000, 'committed past the record');
    const line = process
      .logText()
      .split('\n')
      .find((l) => l.includes('could not be dead-lettered'));
    assert.ok(line, 'a log line records it');
    const fields = JSON.parse(line) as Record<string, unknown>;
    assert.equal(fields.topic, topic);
    assert.equal(fields.offset, 0);
    assert.equal(typeof fields.partition, 'number');
    assert.equal(fields.fromOrganId, sender);
    assert.match(String(fields.reason), /kafka\.message\.max\.bytes|limit/);
    await waitFor(async () => (await getText(opsPort(g22), '/readyz')).status === 200, 30_000, 'ready again');
  });
});

function createTopic(topic: string, config: Record<string, string>): Promise<void> {
  const admin = AdminClient.create({ 'bootstrap.servers': TEST_BROKERS, 'client.id': 'vdxp-test-admin' });
  return new Promise<void>((resolve, reject) =>
    admin.createTopic({ topic, num_partitions: 1, replication_factor: 1, config }, 15_000, (err) => {
      admin.disconnect();
      if (err) reject(err);
      else resolve();
    }),
  );
}
