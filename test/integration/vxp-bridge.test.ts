/**
 * The VXP bridge on real Kafka, against a VXP endpoint that checks the SDK's signature and answers
 * in the SDK's shapes (test/support/vxp-endpoint.ts). Agency A is an ordinary backbone connector
 * (file drop); agency X's connector has the bridge as its sink and its source: what the backbone
 * brings for X goes to the endpoint with sendEdoc, and what the endpoint holds for X's systemId
 * (sent there by X's document system) comes into the backbone.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AgencyProcess, deliveredFiles, dropPackage, prepareAgency, TEST_BROKERS, uniqueOrganId, useAgencyProcesses, waitFor } from '../support/agency';
import { makeEdoc } from '../support/packages';
import { freePort } from '../support/ports';
import { fail, VxpEndpoint } from '../support/vxp-endpoint';
import { TopicReader } from '../../src/broker/topic-reader';
import { commonClientConfig } from '../../src/broker/client-config';
import { deadLetterTopic, docsTopic, HEADERS } from '../../src/broker/topics';
import { readPackageFacts } from '../../src/pipeline/package-facts';
import { withDefaults } from '../../src/limits';

const SYSTEM_ID = 'x-bridge';
const SECRET = 'x-bridge-shared-secret';

async function readAll(topic: string) {
  const reader = new TopicReader(commonClientConfig({ brokers: [TEST_BROKERS] }, 'vdxp-test-bridge-reader'));
  await reader.connect();
  try {
    return await reader.readAll(topic);
  } finally {
    await reader.disconnect();
  }
}

const documentIdOf = (bytes: Buffer) => readPackageFacts(bytes, withDefaults({})).documentId;
const statusFiles = (dir: string) => deliveredFiles(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).filter((t) => t.includes('<edXML:StatusCode>'));

describe('vxp bridge: the connector as a client of an existing VXP endpoint, on real Kafka', function () {
  this.timeout(120_000);
  const agencies = useAgencyProcesses('vdxp-vxp-bridge');
  let endpoint: VxpEndpoint;

  beforeEach(() => {
    endpoint = new VxpEndpoint({ [SYSTEM_ID]: SECRET });
  });
  afterEach(() => endpoint.stop());

  async function bridgeAgency(organId: string, sides: Array<'source' | 'sink'>, delivery: Record<string, unknown> = {}, others: Array<Record<string, unknown>> = []) {
    const secretFile = path.join(agencies.base(), `${organId}.secret`);
    fs.mkdirSync(agencies.base(), { recursive: true });
    fs.writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
    const options = { endpoint: endpoint.url, systemId: SYSTEM_ID, secretFile, timeoutMs: 3_000 };
    return prepareAgency(agencies.base(), organId, {
      // An ops port checked free (prepareAgency's is only picked at random).
      ops: { port: await freePort(), host: '127.0.0.1' },
      connectors: [
        ...sides.map((direction) => ({ name: `hub-${direction}`, type: 'vxp-bridge', direction, profile: 'edxml', options: direction === 'source' ? { ...options, pollIntervalMs: 200 } : options })),
        ...others,
      ],
      delivery: { retry: { maxAttempts: 3, initialDelayMs: 200, maxDelayMs: 400 }, breaker: { volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeoutMs: 1_000 }, ...delivery },
    });
  }

  it('sink: with the endpoint down, the breaker opens and nothing is lost; once it is back every document arrives, byte for byte, and A hears 01', async () => {
    await endpoint.start();
    await endpoint.stop(); // down from the start: connections are refused
    const a = uniqueOrganId('A41');
    const x = uniqueOrganId('X22');
    const aDirs = prepareAgency(agencies.base(), a);
    const xAgency = await agencies.start(await bridgeAgency(x, ['sink']));
    await agencies.start(aDirs);
    const packages = [1, 2, 3].map((n) => makeEdoc({ from: a, to: [x], number: 100 + n }));
    packages.forEach((p, i) => dropPackage(aDirs.outbox, `cv-${i}.edxml`, p));

    await waitFor(() => /circuit breaker of sink hub-sink opened/.test(xAgency.logText()), 30_000, 'the bridge sink breaker to open');
    await new Promise((r) => setTimeout(r, 3_000)); // several probes fail meanwhile
    assert.equal(endpoint.sent.length, 0);
    assert.doesNotMatch(xAgency.logText(), /dead-lettered/, 'an endpoint that is down dead-letters nothing');

    await endpoint.start();
    await waitFor(() => endpoint.sent.length >= 3, 30_000, 'the three documents to reach the endpoint');
    const sentIds = endpoint.sent.map((s) => documentIdOf(s.bytes)).sort();
    assert.deepEqual(sentIds, packages.map(documentIdOf).sort());
    for (const sent of endpoint.sent) {
      const original = packages.find((p) => documentIdOf(p) === documentIdOf(sent.bytes))!;
      assert.ok(sent.bytes.equals(original), 'the endpoint holds the package byte for byte');
      assert.equal(sent.from, a, 'sendEdoc names the sender as `from`');
      assert.equal(sent.messageType, 'edoc');
    }
    for (const r of endpoint.of('sendEdoc')) assert.ok(r.verdict.ok, `every sendEdoc is signed as the SDK signs: ${JSON.stringify(r.verdict)}`);
    await waitFor(() => statusFiles(aDirs.inbox).filter((t) => t.includes('<edXML:StatusCode>01<')).length >= 3, 30_000, 'A to hear 01 for each');
    assert.deepEqual(await readAll(deadLetterTopic(x)), []);
  });

  it('sink: the endpoint answers FAIL with a permanent error: dead letter with the reason, status 02 to the sender, not sent again', async () => {
    await endpoint.start();
    endpoint.override = (r) => (r.operation === 'sendEdoc' ? { json: fail('invalid-edxml', 'Gói tin không đúng cấu trúc edXML') } : undefined);
    const a = uniqueOrganId('A41');
    const x = uniqueOrganId('X22');
    const aDirs = prepareAgency(agencies.base(), a);
    await agencies.start(await bridgeAgency(x, ['sink']));
    await agencies.start(aDirs);
    const pkg = makeEdoc({ from: a, to: [x], number: 201 });
    dropPackage(aDirs.outbox, 'cv-201.edxml', pkg);

    await waitFor(() => statusFiles(aDirs.inbox).some((t) => t.includes('<edXML:StatusCode>02<')), 30_000, 'A to hear 02');
    const refusal = statusFiles(aDirs.inbox).find((t) => t.includes('<edXML:StatusCode>02<'))!;
    assert.match(refusal, /delivery-rejected[\s\S]*invalid-edxml/, 'the 02 says what the endpoint answered');
    const letters = await readAll(deadLetterTopic(x));
    assert.equal(letters.length, 1);
    assert.equal(letters[0]!.headers[HEADERS.reason], 'delivery-rejected');
    assert.match(letters[0]!.headers[HEADERS.detail] ?? '', /FAIL, ErrorCode "invalid-edxml"/);
    assert.ok(letters[0]!.value.equals(pkg), 'the dead letter holds the package');
    assert.equal(endpoint.of('sendEdoc').length, 1, 'a permanent refusal is not retried');
  });

  it('sink: a FAIL the endpoint gives for the signature (wrong secret) is retried, not dead-lettered', async () => {
    await endpoint.start();
    let refuse = true;
    endpoint.override = (r) => (r.operation === 'sendEdoc' && refuse ? { json: fail('bad-signature', 'XroadVnpt-hash-header does not match') } : undefined);
    const a = uniqueOrganId('A41');
    const x = uniqueOrganId('X22');
    const aDirs = prepareAgency(agencies.base(), a);
    const xAgency = await agencies.start(await bridgeAgency(x, ['sink']));
    await agencies.start(aDirs);
    dropPackage(aDirs.outbox, 'cv-301.edxml', makeEdoc({ from: a, to: [x], number: 301 }));
    await waitFor(() => endpoint.of('sendEdoc').length >= 3, 30_000, 'several refused attempts');
    assert.doesNotMatch(xAgency.logText(), /dead-lettered/);
    refuse = false;
    await waitFor(() => endpoint.sent.length === 1, 30_000, 'the document to go through once the endpoint accepts the signature');
    assert.deepEqual(await readAll(deadLetterTopic(x)), []);
  });

  it('source: the receive loop confirms done only once Kafka holds the package, fail for a refused one, and repeats a confirmation the endpoint did not take', async () => {
    await endpoint.start();
    const a = uniqueOrganId('A41');
    const x = uniqueOrganId('X22');
    const aDirs = prepareAgency(agencies.base(), a);
    await agencies.start(aDirs);
    // X's document system sent one to A through the hub; another agency on the hub sent one to X;
    // and one the hub should never have given X: neither from X nor for it.
    const good = makeEdoc({ from: x, to: [a], number: 401 });
    const notOurs = makeEdoc({ from: '000.00.00.G99', to: [a], number: 402 });
    const forX = makeEdoc({ from: '000.00.00.G99', to: [x], number: 403 });
    endpoint.hold({ docId: 'hub-401', messageType: 'edoc', bytes: good, from: x });
    endpoint.hold({ docId: 'hub-402', messageType: 'edoc', bytes: notOurs, from: '000.00.00.G99' });
    endpoint.hold({ docId: 'hub-403', messageType: 'edoc', bytes: forX, from: '000.00.00.G99' });
    // When done arrives, Kafka must already hold the package; the first done is not taken (HTTP 503).
    const heldAtDone: boolean[] = [];
    let refusedOnce = false;
    endpoint.override = async (r) => {
      if (r.operation !== 'updateStatus' || !r.verdict.ok || r.verdict.params.status !== 'done') return undefined;
      const docId = r.verdict.params.docid;
      const expected = docId === 'hub-403' ? { topic: docsTopic(x), pkg: forX } : { topic: docsTopic(a), pkg: good };
      const records = await readAll(expected.topic);
      heldAtDone.push(records.some((rec) => rec.headers[HEADERS.documentId] === documentIdOf(expected.pkg)));
      if (docId === 'hub-401' && !refusedOnce) {
        refusedOnce = true;
        return { httpStatus: 503, text: 'busy' };
      }
      return undefined;
    };
    const xInbox = path.join(agencies.base(), x, 'inbox');
    await agencies.start(await bridgeAgency(x, ['source'], {}, [{ name: 'inbox', type: 'file-drop', direction: 'sink', profile: 'edxml', options: { dir: xInbox } }]));

    await waitFor(() => endpoint.held.size === 0, 30_000, () => `every package confirmed (held: ${[...endpoint.held.keys()]})`);
    assert.deepEqual(
      endpoint.confirmations.sort((p, q) => p.docId.localeCompare(q.docId)),
      [
        { docId: 'hub-401', status: 'done' },
        { docId: 'hub-402', status: 'fail' },
        { docId: 'hub-403', status: 'done' },
      ],
    );
    assert.deepEqual(heldAtDone, [true, true, true], 'each done (hub-401\'s twice) came after Kafka held the package');
    // The package for X went to X's own topic and on to X's legacy system, as it came.
    await waitFor(() => fs.existsSync(xInbox) && deliveredFiles(xInbox).length >= 1, 30_000, 'X to receive the package for it');
    assert.ok(fs.readFileSync(path.join(xInbox, deliveredFiles(xInbox)[0]!)).equals(forX));
    assert.equal(endpoint.of('getEdoc').filter((r) => r.verdict.ok && r.verdict.params.docid === 'hub-401').length, 1, 'a confirmation not taken is repeated without fetching the package again');
    const records = (await readAll(docsTopic(a))).filter((rec) => rec.headers[HEADERS.documentId] === documentIdOf(good));
    assert.equal(records.length, 1, 'Kafka holds the package once');
    await waitFor(() => deliveredFiles(aDirs.inbox).length >= 1, 30_000, 'A to receive the document');
    const delivered = deliveredFiles(aDirs.inbox).map((f) => fs.readFileSync(path.join(aDirs.inbox, f)));
    assert.ok(delivered.some((d) => d.equals(good)), 'A receives the package byte for byte');
    assert.ok(!delivered.some((d) => documentIdOf(d) === documentIdOf(notOurs)), 'the refused package went nowhere');
    for (const r of endpoint.requests) assert.ok(r.verdict.ok, `every request is signed as the SDK signs: ${r.operation} ${JSON.stringify(r.verdict)}`);
  });

  it('source: a package for a recipient not on the backbone is refused and confirmed fail, never done', async () => {
    await endpoint.start();
    const x = uniqueOrganId('X22');
    endpoint.hold({ docId: 'hub-501', messageType: 'edoc', bytes: makeEdoc({ from: x, to: ['000.00.00.Z00'], number: 501 }), from: x });
    const xAgency: AgencyProcess = await agencies.start(await bridgeAgency(x, ['source']));
    await waitFor(() => endpoint.confirmations.length === 1, 30_000, 'the package to be confirmed');
    assert.deepEqual(endpoint.confirmations, [{ docId: 'hub-501', status: 'fail' }]);
    assert.match(xAgency.logText(), /unknown-recipient/);
  });
});
