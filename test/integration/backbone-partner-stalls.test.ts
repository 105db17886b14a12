/**
 * Issue 14 against a real broker and real `vdxp run` processes: a partner agency with write access
 * to G22's topics writes what the review wrote (docs/SECURITY.md "A partner on the backbone"), and
 * G22 keeps delivering everybody else's documents. Each test stalled the connector before the
 * budgets of issue 14 (checked on the code before them: see the report of that change).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deliveredFiles, dropPackage, prepareAgency, uniqueOrganId, useAgencyProcesses, waitFor, type AgencyDirs } from '../support/agency';
import * as YAML from 'yaml';
import { deadLetters, fullyCommitted, getText, HostilePartner, metricValue, sha256 } from '../support/backbone-partner';
import { makeEdoc } from '../support/packages';
import { docsTopic, ownTopics, HEADERS } from '../../src/broker/topics';
import { ensureTopics } from '../../src/broker/admin';
import { commonClientConfig } from '../../src/broker/client-config';
import { TEST_BROKERS } from '../support/agency';
import { FaultLegacyServer } from '../support/fault-legacy-server';
import { idempotencyKey } from '../../src/pipeline/identity';
import { readPackageFacts } from '../../src/pipeline/package-facts';
import { withDefaults } from '../../src/limits';

/** Fast budgets where a test needs to see them run out; everything else keeps its default. */
const FAST = { maxPackageAgeMs: 5_000 };

describe('a partner on the backbone cannot stall another agency (issue 14, real Kafka)', function () {
  this.timeout(240_000);
  const agencies = useAgencyProcesses('vdxp-partner');
  let partner: HostilePartner;

  before(async () => {
    partner = new HostilePartner();
    await partner.connect();
  });
  after(async () => partner.disconnect());

  const inboxDigests = (dirs: AgencyDirs) => new Set(deliveredFiles(dirs.inbox).map((f) => sha256(fs.readFileSync(path.join(dirs.inbox, f)))));
  const opsPort = (dirs: AgencyDirs) => (YAML.parse(fs.readFileSync(dirs.configPath, 'utf8')) as { ops: { port: number } }).ops.port;

  /** Good documents written as the sending connector writes them, each with its own key. */
  async function sendGood(g22: string, h41: string, n: number, key = (i: number) => `good-${i}`, first = 1): Promise<Buffer[]> {
    const docs = Array.from({ length: n }, (_, i) => makeEdoc({ from: h41, to: [g22], number: first + i }));
    await Promise.all(docs.map((value, i) => partner.producer.send({ topic: docsTopic(g22), key: key(i), value, headers: { [HEADERS.kind]: 'edoc', [HEADERS.fromOrganId]: h41 } })));
    return docs;
  }

  async function allArrive(dirs: AgencyDirs, docs: Buffer[], timeoutMs: number, what: string): Promise<void> {
    const wanted = docs.map((d) => sha256(d));
    await waitFor(() => wanted.every((w) => inboxDigests(dirs).has(w)), timeoutMs, () => `${what}: ${wanted.filter((w) => inboxDigests(dirs).has(w)).length} of ${wanted.length} arrived`);
  }

  it('stall 1a: a record whose headers are too large for its own dead letter is refused once, and the partition moves on', async () => {
    const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'));
    const h41 = uniqueOrganId('H41');
    await agencies.start(g22);
    // 360 KB of header bytes that are not UTF-8 (U+FFFD, 3 bytes each, once decoded), a key and a
    // good document behind it on the same partition (the same key).
    const junk = Buffer.alloc(120_000, 0xff);
    partner.rawRecords([
      { topic: docsTopic(g22.organId), key: Buffer.from('shared-key'), value: Buffer.from('<edXML/>'), headers: [['a', junk], ['b', junk], ['c', junk], [HEADERS.fromOrganId, Buffer.from('000.00.00.X99')]] },
    ]);
    const docs = await sendGood(g22.organId, h41, 1, () => 'shared-key');
    await allArrive(g22, docs, 60_000, 'the document behind the oversized record');
    const letters = await deadLetters(g22.organId);
    assert.equal(letters.length, 1, 'one dead letter, not one per retry');
    assert.equal(letters[0]!.headers[HEADERS.reason], 'limit-exceeded');
    assert.equal(letters[0]!.headers[HEADERS.limit], 'limits.maxRecordMetadataBytes');
    assert.equal(letters[0]!.headers[HEADERS.metadataOmitted], String(10 + 360_000 + 3 + HEADERS.fromOrganId.length + 13));
    await waitFor(() => fullyCommitted(g22.organId, docsTopic(g22.organId)), 30_000, 'every offset committed: nothing pins the partition');
    const { body } = await getText(opsPort(g22), '/metrics');
    assert.equal(metricValue(body, 'vdxp_record_attempt_failures_total{kind="record"}') ?? 0, 0, 'nothing was retried');
  });

  it('stall 1b: six documents with &#x1; in their DocumentId are settled once each, refused or delivered, never retried', async () => {
    const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'));
    const h41 = uniqueOrganId('H41');
    // The sender exists on the backbone: its status topic is there to be told.
    await ensureTopics(commonClientConfig({ brokers: [TEST_BROKERS] }, 'vdxp-test-admin'), ownTopics(h41), { partitions: 3, replicationFactor: 1 });
    await agencies.start(g22);
    await partner.forbiddenCharacterDocuments(docsTopic(g22.organId), 6, h41, g22.organId, () => 'shared-key');
    const docs = await sendGood(g22.organId, h41, 3, () => 'shared-key');
    await allArrive(g22, docs, 60_000, 'the documents behind the six');
    // A reader that refuses the character (xmlsig's part) dead-letters them; one that accepts it
    // delivers them, and the status 01 it cannot write is counted, not retried.
    await new Promise((r) => setTimeout(r, 3_000));
    const letters = await deadLetters(g22.organId);
    const delivered = deliveredFiles(g22.inbox).length - docs.length;
    assert.equal(letters.length + delivered, 6, `each settled once: ${letters.length} dead letters, ${delivered} deliveries`);
    await waitFor(() => fullyCommitted(g22.organId, docsTopic(g22.organId)), 30_000, 'every offset committed: nothing pins the partition');
    const { body } = await getText(opsPort(g22), '/metrics');
    assert.equal(metricValue(body, 'vdxp_record_attempt_failures_total{kind="record"}') ?? 0, 0, 'no retries');
    if (delivered > 0) assert.equal(metricValue(body, 'vdxp_statuses_not_sent_total{code="01",cause="unwritable"}'), delivered);
  });

  it('stall 2: 64 chunk 0s that never complete hold no in-flight slot; 20 good documents arrive meanwhile', async () => {
    const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'));
    const h41 = uniqueOrganId('H41');
    await agencies.start(g22);
    for (let s = 0; s < 8; s++) await partner.danglingChunkZeros(docsTopic(g22.organId), 8, `000.00.0${s}.X99`, (i) => `dangling-${s}-${i}`);
    const docs = await sendGood(g22.organId, h41, 20);
    await allArrive(g22, docs, 60_000, 'the 20 good documents');
    await waitFor(async () => (await deadLetters(g22.organId)).length === 48, 30_000, 'the chunk 0s beyond the open-package bounds refused');
    const letters = await deadLetters(g22.organId);
    const limits = letters.map((l) => l.headers[HEADERS.limit]);
    assert.ok(limits.every((l) => l === 'limits.maxOpenPackages' || l === 'limits.maxOpenPackagesPerSender'), JSON.stringify([...new Set(limits)]));
    const { body } = await getText(opsPort(g22), '/metrics');
    assert.equal(metricValue(body, 'vdxp_open_packages'), 16, 'limits.maxOpenPackages stay open, no more');
    assert.equal((await getText(opsPort(g22), '/readyz')).status, 200);
  });

  it('stall 4: a package kept alive by a chunk every second is refused at its total age, and the commit moves past it', async () => {
    const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'), { limits: FAST });
    const h41 = uniqueOrganId('H41');
    let receiver = await agencies.start(g22);
    const topic = docsTopic(g22.organId);
    const sha = sha256('a package that never ends');
    const chunk = (index: number) =>
      partner.producer.send({
        topic,
        key: 'kept-alive',
        value: Buffer.alloc(100, index % 256),
        headers: { [HEADERS.kind]: 'edoc', [HEADERS.fromOrganId]: '000.00.00.X99', [HEADERS.documentId]: 'X99-keepalive', [HEADERS.chunk]: `${index}/1000`, [HEADERS.packageBytes]: '100000', [HEADERS.contentSha256]: sha },
      });
    await chunk(0);
    const started = Date.now();
    let index = 1;
    const keepAlive = setInterval(() => void chunk(index++).catch(() => undefined), 1_000);
    try {
      await waitFor(async () => (await deadLetters(g22.organId)).length === 1, 60_000, 'the kept-alive package refused');
      assert.ok(index < 60, 'refused while the keep-alive chunks still came');
      const [letter] = await deadLetters(g22.organId);
      assert.equal(letter!.headers[HEADERS.reason], 'incomplete-package');
      assert.equal(letter!.headers[HEADERS.limit], 'limits.maxPackageAgeMs');
      assert.ok(Date.now() - started >= FAST.maxPackageAgeMs);
      // A document behind it on the same partition arrives, and after a restart the package is
      // not read again: its chunk 0 was committed past.
      const [doc] = await sendGood(g22.organId, h41, 1, () => 'kept-alive');
      await allArrive(g22, [doc!], 30_000, 'the document behind the kept-alive package');
      await receiver.stop();
      agencies.forget(receiver);
      receiver = await agencies.start(g22);
      const [after] = await sendGood(g22.organId, h41, 1, () => 'kept-alive', 50);
      await allArrive(g22, [after!], 30_000, 'a document after the restart');
      assert.equal((await deadLetters(g22.organId)).length, 1, 'not refused a second time: chunk 0 is behind the committed offset');
    } finally {
      clearInterval(keepAlive);
    }
  });

  it('the review’s attack (64 dangling chunk 0s, 6 unwritable statuses, one over-long header) does not delay 20 documents from a real sender much', async () => {
    async function run(attack: boolean): Promise<{ ms: number; g22: AgencyDirs }> {
      const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'));
      const h41 = prepareAgency(agencies.base(), uniqueOrganId('H41'));
      await agencies.start(g22);
      await agencies.start(h41);
      if (attack) {
        const topic = docsTopic(g22.organId);
        await partner.danglingChunkZeros(topic, 64, '000.00.00.X99');
        await partner.forbiddenCharacterDocuments(topic, 6, h41.organId, g22.organId);
        partner.rawRecords([{ topic, key: Buffer.from('long'), value: Buffer.from('<edXML/>'), headers: [['long', Buffer.alloc(360_000, 0xfe)]] }]);
      }
      const docs = Array.from({ length: 20 }, (_, i) => makeEdoc({ from: h41.organId, to: [g22.organId], number: i + 1 }));
      const started = Date.now();
      docs.forEach((d, i) => dropPackage(h41.outbox, `good-${i}.edxml`, d));
      await allArrive(g22, docs, 90_000, `20 documents${attack ? ' after the attack' : ''}`);
      return { ms: Date.now() - started, g22 };
    }
    const quiet = await run(false);
    const attacked = await run(true);
    console.log(`      20 documents from a real sender: ${quiet.ms} ms without the attack, ${attacked.ms} ms after it`);
    assert.ok(attacked.ms < quiet.ms * 5 + 20_000, `${attacked.ms} ms after the attack against ${quiet.ms} ms without`);
    const { body } = await getText(opsPort(attacked.g22), '/metrics');
    assert.equal(metricValue(body, 'vdxp_record_attempt_failures_total{kind="record"}') ?? 0, 0, 'no record was tried more than once');
    assert.equal((await getText(opsPort(attacked.g22), '/readyz')).status, 200);
    const letters = await deadLetters(attacked.g22.organId);
    const long = letters.find((l) => l.headers[HEADERS.limit] === 'limits.maxRecordMetadataBytes');
    assert.ok(long, 'the over-long header refused');
    assert.equal(letters.filter((l) => l.headers[HEADERS.limit] === 'limits.maxOpenPackagesPerSender').length, 60, '4 of the 64 chunk 0s open, 60 refused');
  });

  it('fairness: a document from H41 written after a flood of 60 from another sender is delivered among the first, not after the flood', async () => {
    const legacy = new FaultLegacyServer();
    await legacy.up();
    legacy.delayMs = 150;
    try {
      const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'), {
        connectors: [{ name: 'legacy-http', type: 'http', direction: 'sink', profile: 'edxml', options: { url: legacy.url } }],
        delivery: { maxInFlight: 2, maxWaitingRecords: 100, breaker: { volumeThreshold: 1000 } },
      });
      await agencies.start(g22);
      const flooder = uniqueOrganId('X99');
      const h41 = uniqueOrganId('H41');
      const topic = docsTopic(g22.organId);
      const flood = Array.from({ length: 60 }, (_, i) => makeEdoc({ from: flooder, to: [g22.organId], number: i + 1 }));
      await Promise.all(flood.map((value, i) => partner.producer.send({ topic, key: `flood-${i}`, value, headers: { [HEADERS.kind]: 'edoc', [HEADERS.fromOrganId]: flooder } })));
      const good = makeEdoc({ from: h41, to: [g22.organId], number: 1 });
      await partner.producer.send({ topic, key: 'good', value: good, headers: { [HEADERS.kind]: 'edoc', [HEADERS.fromOrganId]: h41 } });
      const goodKey = idempotencyKey(readPackageFacts(good, withDefaults()).documentId, sha256(good));
      await waitFor(() => legacy.unique.size === 61, 120_000, () => `all 61 delivered (${legacy.unique.size})`);
      const position = legacy.deliveries.indexOf(goodKey);
      console.log(`      H41's document was delivered ${position + 1}. of 61 (written 61.)`);
      assert.ok(position >= 0 && position < 10, `delivered ${position + 1}. of 61`);
    } finally {
      await legacy.down();
    }
  });

  it('a dead letter keeps a record’s key and headers byte for byte: bytes that are not UTF-8, duplicate names, a header named __proto__', async () => {
    const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'));
    await agencies.start(g22);
    const key = Buffer.from([0xff, 0x00, 0xfe, 0x41]);
    const headers: Array<[string, Buffer]> = [
      [HEADERS.fromOrganId, Buffer.from('000.00.00.X99')],
      ['dup', Buffer.from('first')],
      ['dup', Buffer.from('second')],
      ['binary', Buffer.from([0x80, 0x81, 0x00, 0xc3, 0x28])],
      ['__proto__', Buffer.from('{"polluted":true}')],
      ['empty', Buffer.alloc(0)],
    ];
    partner.rawRecords([{ topic: docsTopic(g22.organId), key, value: Buffer.from('<edXML><unclosed>'), headers }]);
    await waitFor(async () => (await deadLetters(g22.organId)).length === 1, 30_000, 'the dead letter');
    const [letter] = await deadLetters(g22.organId);
    assert.equal(letter!.headers[HEADERS.reason], 'malformed-xml');
    assert.ok(Buffer.from(letter!.headers[HEADERS.originalKey]!, 'base64').equals(key), 'the key, byte for byte');
    // The documented encoding, read here without the connector's own decoder.
    const decoded = JSON.parse(letter!.headers[HEADERS.originalHeaders] ?? '[]') as Array<[string, string]>;
    assert.deepEqual(
      decoded.map(([name, value]) => [name, Buffer.from(value, 'base64').toString('hex')]),
      headers.map(([name, value]) => [name, value.toString('hex')]),
      'every header, in order, byte for byte',
    );
  });
});
