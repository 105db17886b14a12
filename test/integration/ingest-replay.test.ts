/**
 * Replays of a signed request across the replicas of one agency (docs/SECURITY.md, "The HTTP
 * ingest"): the replay guard is the Kafka ledger `vdxp.requests.<OrganId>` that every replica
 * reads, so a copy sent to another replica within the skew window sends nothing. Real Kafka, real
 * connector processes: two replicas of H41, each with its own ingest port, and G22 delivering to
 * a vendor's HTTP endpoint, which counts what reaches it.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AgencyProcess, TEST_BROKERS, prepareAgency, uniqueOrganId, waitFor, type AgencyDirs } from '../support/agency';
import { VendorHttpServer, freePort, sendRaw, type IngestAnswer } from '../support/vendor-systems';
import { makeEdoc } from '../support/packages';
import { signIngestRequest } from '../../src/connectors/http/ingest-auth';
import { BackboneProducer } from '../../src/broker/producer';
import { RequestLedger, ensureLedgerTopic } from '../../src/broker/request-ledger';
import { TopicReader } from '../../src/broker/topic-reader';
import { docsTopic, requestLedgerTopic } from '../../src/broker/topics';

const CLIENT = { systemId: 'qlvb-h41', secret: 'qlvb-h41-shared-secret' };
const KAFKA = { 'metadata.broker.list': TEST_BROKERS };

async function recordsIn(topic: string): Promise<number> {
  const reader = new TopicReader({ ...KAFKA, 'client.id': 'ingest-replay-test' });
  await reader.connect();
  try {
    return (await reader.readAll(topic)).length;
  } finally {
    await reader.disconnect();
  }
}

describe('replays of a signed request across replicas, against the real broker', function () {
  this.timeout(120_000);
  let base: string;
  const running: AgencyProcess[] = [];
  const vendor = new VendorHttpServer();
  let h41: string;
  let g22: string;
  const ingestPorts: number[] = [];
  let failed = false;

  before(async function () {
    this.timeout(120_000);
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-ingest-replay-'));
    h41 = uniqueOrganId('H41');
    g22 = uniqueOrganId('G22');
    const vendorUrl = await vendor.start();
    const secretFile = path.join(base, 'qlvb.secret');
    fs.writeFileSync(secretFile, `${CLIENT.secret}\n`, { mode: 0o600 });
    const g22Dirs = prepareAgency(base, g22, { connectors: [{ name: 'vendor-rest', type: 'http', direction: 'sink', profile: 'edxml', options: { url: `${vendorUrl}/api/van-ban`, timeoutMs: 5_000 } }] });
    running.push(await AgencyProcess.start(g22Dirs));
    // Two replicas of H41: same OrganId, same consumer group, one ingest port each.
    const replicas: AgencyDirs[] = [];
    for (const name of ['a', 'b']) {
      const port = await freePort();
      ingestPorts.push(port);
      replicas.push(
        prepareAgency(path.join(base, name), h41, {
          connectors: [{ name: 'vendor-ingest', type: 'http', direction: 'source', profile: 'edxml', options: { host: '127.0.0.1', port, allowPlainHttp: true, auth: { hmac: { clients: [{ systemId: CLIENT.systemId, secretFile }] } } } }],
        }),
      );
    }
    for (const dirs of replicas) running.push(await AgencyProcess.start(dirs));
  });

  afterEach(function () {
    failed ||= this.currentTest?.state === 'failed';
  });

  after(async function () {
    this.timeout(60_000);
    await Promise.allSettled(running.map((a) => a.stop()));
    await vendor.stop();
    if (failed) console.log(`      connector logs kept in ${base}`);
    else fs.rmSync(base, { recursive: true, force: true });
  });

  const ingest = (replica: number) => `http://127.0.0.1:${ingestPorts[replica]}/documents`;
  const signed = (body: Buffer) => ({ ...signIngestRequest({ ...CLIENT, body, contentType: 'application/xml', fileName: 'cong-van.edxml' }), 'Content-Length': String(body.length) });
  const deliveries = () => vendor.received.filter((r) => r.path === '/api/van-ban').length;

  it('a copy sent to the other replica is answered from the ledger; the vendor receives the document once', async () => {
    const doc = makeEdoc({ from: h41, to: [g22], number: 1 });
    const headers = signed(doc);
    const first = await sendRaw(ingest(0), doc, headers);
    assert.equal(first.status, 202, JSON.stringify(first.json));
    const copy = await sendRaw(ingest(1), doc, headers);
    assert.equal(copy.status, 202, JSON.stringify(copy.json));
    assert.equal(copy.json.replay, true, 'replica b knows replica a accepted it');
    await waitFor(() => deliveries() >= 1, 30_000, 'the delivery to G22’s vendor');
    // Time for a second delivery, if there were one to come.
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal(deliveries(), 1);
    assert.equal(await recordsIn(docsTopic(g22)), 1, 'one record on the backbone');
  });

  it('the same request sent to both replicas at once is sent once', async () => {
    const doc = makeEdoc({ from: h41, to: [g22], number: 2 });
    const headers = signed(doc);
    const before = await recordsIn(docsTopic(g22));
    const answers: IngestAnswer[] = await Promise.all([sendRaw(ingest(0), doc, headers), sendRaw(ingest(1), doc, headers)]);
    const handled = answers.filter((a) => a.status === 202 && a.json.replay === undefined);
    assert.equal(handled.length, 1, JSON.stringify(answers.map((a) => [a.status, a.json])));
    const other = answers.find((a) => a !== handled[0])!;
    assert.ok((other.status === 202 || other.status === 503) && other.json.replay === true, JSON.stringify(other.json));
    await waitFor(async () => (await recordsIn(docsTopic(g22))) > before, 20_000, 'the record');
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(await recordsIn(docsTopic(g22)), before + 1);
  });

  it('two ledgers on one topic agree: of many simultaneous claims of one key exactly one is first', async () => {
    const topic = requestLedgerTopic(uniqueOrganId('LDG'));
    await ensureLedgerTopic(KAFKA, topic, 1);
    const producers = [new BackboneProducer(KAFKA), new BackboneProducer(KAFKA)];
    await Promise.all(producers.map((p) => p.connect()));
    const ledgers = producers.map((p) => new RequestLedger(KAFKA, p, { topic, groupId: 'ingest-replay-test', lookBackMs: 600_000 }));
    try {
      await Promise.all(ledgers.map((l) => l.start()));
      const expires = Date.now() + 300_000;
      const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => ledgers[i % 2]!.claim('key-1', expires)));
      const firsts = claims.filter((c) => c.verdict === 'first');
      assert.equal(firsts.length, 1, JSON.stringify(claims.map((c) => c.verdict)));
      assert.ok(claims.every((c) => c.verdict === 'first' || c.verdict === 'in-flight'));
      const winner = firsts[0]!;
      if (winner.verdict === 'first') await winner.settle('accepted');
      const later = await Promise.all(ledgers.map((l) => l.claim('key-1', expires)));
      assert.deepEqual(later.map((c) => c.verdict), ['accepted', 'accepted']);
      // A released claim frees the key: the same request may be handled again.
      const again = await ledgers[0]!.claim('key-2', expires);
      assert.equal(again.verdict, 'first');
      if (again.verdict === 'first') await again.settle('released');
      assert.equal((await ledgers[1]!.claim('key-2', expires)).verdict, 'first');
      // A replica started later reads the window back and knows what was accepted.
      const late = new RequestLedger(KAFKA, producers[0]!, { topic, groupId: 'ingest-replay-test', lookBackMs: 600_000 });
      await late.start();
      try {
        assert.equal((await late.claim('key-1', expires)).verdict, 'accepted');
      } finally {
        await late.stop();
      }
    } finally {
      await Promise.all(ledgers.map((l) => l.stop().catch(() => undefined)));
      await Promise.all(producers.map((p) => p.disconnect()));
    }
  });
});
