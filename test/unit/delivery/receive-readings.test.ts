/**
 * Issue 13 hole 1 in the receive pipeline: what is verified is exactly what is delivered. Before,
 * a package G22 signed, wrapped so that its UTF-7 reading verified, was delivered as its raw bytes
 * (status 01 to G22), and a legacy system reading them as UTF-8 got the attacker's document.
 */
import { strict as assert } from 'node:assert';
import type { DeliveryContext, Sink, VendorMessage } from '../../../src/connectors/types';
import { makeReceiveHandler } from '../../../src/pipeline/receive';
import { createSinkBreaker } from '../../../src/pipeline/delivery/breakers';
import { deadLetterTopic, statusTopic, HEADERS } from '../../../src/broker/topics';
import { profileByName } from '../../../src/transform';
import { withDefaults } from '../../../src/limits';
import { createMetrics } from '../../../src/observability/metrics';
import { signPackage, verifyPackage, type TrustStore } from '../../../src/signature';
import type { IncomingRecord } from '../../../src/broker/consumer';
import { asUtf16, utf7Wrapped } from '../../support/hostile-packages';
import { makeTestPki, ORGAN_G22, ORGAN_H41, type TestPki } from '../../support/pki';
import { credentials, packageFrom, trustFor, withoutPlaceholder } from '../../support/signature-fixtures';
import { MemoryBackbone, silentLog } from './fakes';

const US = ORGAN_H41;

class RecordingSink implements Sink {
  readonly bodies: Buffer[] = [];
  constructor(readonly name: string) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async deliver(message: VendorMessage, _context: DeliveryContext): Promise<void> {
    this.bodies.push(message.body);
  }
}

/** The sample addressed to this agency (H41) as its To, from `from`. */
function addressedToUs(from: string): string {
  return packageFrom(from).replace(/(<edXML:To>\s*<edXML:OrganId>)[^<]*/, `$1${US}`);
}

describe('receive: the package that is verified is the package that is delivered (issue 13 hole 1)', function () {
  this.timeout(30_000);
  let pki: TestPki;
  let trust: TrustStore;
  before(async () => {
    pki = await makeTestPki();
    trust = await trustFor(pki);
  });

  function setup() {
    const sink = new RecordingSink('legacy');
    const backbone = new MemoryBackbone(new Set([statusTopic(ORGAN_G22), deadLetterTopic(US)]));
    const metrics = createMetrics({ defaultMetrics: false });
    const breaker = createSinkBreaker(sink, { timeoutMs: 1_000, errorThresholdPercentage: 100, resetTimeoutMs: 100, volumeThreshold: 1_000 }, silentLog, metrics);
    const verified: Buffer[] = [];
    const handler = makeReceiveHandler({
      self: { organId: US },
      limits: withDefaults(),
      sinks: [{ breaker, profile: profileByName('edxml'), profileOptions: {} }],
      retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 10 },
      producer: backbone,
      verify: (edxml) => {
        verified.push(edxml);
        verifyPackage(edxml, trust);
      },
      log: silentLog,
      metrics,
    });
    const record = (value: Buffer): IncomingRecord => ({ topic: `vdxp.docs.${US}`, partition: 0, offset: 3, key: 'k', value, headers: { [HEADERS.kind]: 'edoc' }, timestamp: Date.now() });
    return { sink, backbone, breaker, verified, handle: (value: Buffer) => handler(record(value), new AbortController().signal) };
  }

  it('the UTF-7 wrapping of a package G22 signed: dead-lettered as unsupported-encoding, nothing delivered, no status 01', async () => {
    const g22Signed = signPackage(Buffer.from(addressedToUs(ORGAN_G22)), credentials(pki.g22)).toString('utf8');
    const attacker = withoutPlaceholder(addressedToUs(ORGAN_G22)).replace(/<edXML:Subject>[^<]*/, '<edXML:Subject>Lệnh chuyển tiền khẩn');
    const wrapped = utf7Wrapped(g22Signed, attacker);
    const { sink, backbone, breaker, handle } = setup();
    await handle(wrapped);
    breaker.shutdown();
    assert.deepEqual(sink.bodies, [], 'nothing reaches the legacy system');
    const [dead] = backbone.on(deadLetterTopic(US));
    assert.equal(dead?.headers[HEADERS.reason], 'unsupported-encoding');
    assert.ok(dead!.value.equals(wrapped), 'the dead letter keeps the original bytes');
    assert.deepEqual(backbone.on(statusTopic(ORGAN_G22)), [], 'G22 is not told its package arrived');
  });

  it('a UTF-16 package G22 signed: verified and delivered as the same UTF-8 bytes', async () => {
    const g22Signed = signPackage(Buffer.from(addressedToUs(ORGAN_G22)), credentials(pki.g22)).toString('utf8');
    const utf16 = asUtf16(g22Signed, 'LE');
    const { sink, backbone, breaker, verified, handle } = setup();
    await handle(utf16);
    breaker.shutdown();
    assert.equal(sink.bodies.length, 1);
    const [delivered] = sink.bodies;
    assert.ok(verified[0]!.equals(delivered!), 'the bytes verified are the bytes delivered');
    assert.ok(delivered!.equals(Buffer.from(g22Signed.replace('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0"?>'), 'utf8')), 'UTF-8, without a declaration that says otherwise');
    assert.equal(verifyPackage(delivered!, trust).status, 'valid', 'and they still verify');
    assert.equal(backbone.on(statusTopic(ORGAN_G22)).length, 1, 'status 01');
  });
});
