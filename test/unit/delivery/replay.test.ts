import { strict as assert } from 'node:assert';
import { prepareReplay, parseAddress, summarize } from '../../../src/pipeline/delivery/replay';
import { deadLetterHeaders } from '../../../src/pipeline/delivery/dead-letter';
import { docsTopic, outboxTopic, HEADERS } from '../../../src/broker/topics';
import { readPackageFacts } from '../../../src/pipeline/package-facts';
import { signPackage, verifyPackage, type TrustStore } from '../../../src/signature';
import { withDefaults } from '../../../src/limits';
import type { IncomingRecord } from '../../../src/broker/consumer';
import { makeTestPki, ORGAN_G22, type TestPki } from '../../support/pki';
import { credentials, packageFrom, trustFor } from '../../support/signature-fixtures';

const limits = withDefaults();

function deadLetterOf(value: Buffer, sourceTopic: string, extraHeaders: Record<string, string> = {}): IncomingRecord {
  const source: IncomingRecord = { topic: sourceTopic, partition: 1, offset: 40, key: 'k', value, headers: { [HEADERS.kind]: 'edoc', [HEADERS.documentId]: 'D1', ...extraHeaders }, timestamp: 0 };
  const at = new Date('2026-11-23T01:00:00Z');
  const headers = deadLetterHeaders(source, { reason: 'retries-exhausted', detail: 'sink down', history: { attempts: 8, firstFailure: at, lastFailure: new Date(at.getTime() + 60_000) } }, at);
  return { topic: 'vdxp.dlq.X', partition: 0, offset: 3, key: 'D1', value, headers, timestamp: 0 };
}

describe('dead-letter replay re-runs every check', function () {
  this.timeout(60_000);
  let pki: TestPki;
  let withCrl: TrustStore;
  let withoutCrl: TrustStore;
  let signedByRevoked: Buffer;
  let recipient: string;

  before(async () => {
    pki = await makeTestPki();
    withCrl = await trustFor(pki);
    withoutCrl = await trustFor(pki, { crls: [], revocation: 'best-effort' });
    signedByRevoked = signPackage(Buffer.from(packageFrom(ORGAN_G22)), credentials(pki.revoked));
    recipient = readPackageFacts(signedByRevoked, limits).recipients[0]!;
  });

  const verifyWith = (trust: TrustStore) => (edxml: Buffer) => void verifyPackage(edxml, trust, { limits });

  it('refuses a package whose signer was revoked since it was dead-lettered', async () => {
    const dead = deadLetterOf(signedByRevoked, docsTopic(recipient));
    const before = await prepareReplay(dead, { organId: recipient, limits, verify: verifyWith(withoutCrl) });
    assert.equal(before.ok, true, 'before the CRL named the certificate, it passed');
    const after = await prepareReplay(dead, { organId: recipient, limits, verify: verifyWith(withCrl) });
    assert.equal(after.ok, false);
    assert.equal(!after.ok && after.rejection.reason, 'cert-revoked');
  });

  it('re-checks limits and the addressee', async () => {
    const dead = deadLetterOf(signedByRevoked, docsTopic(recipient));
    const tooBig = await prepareReplay(dead, { organId: recipient, limits: withDefaults({ maxPackageBytes: 1000 }) });
    assert.equal(!tooBig.ok && tooBig.rejection.reason, 'limit-exceeded');
    const notOurs = await prepareReplay(dead, { organId: '999.99.99.Z99', limits });
    assert.equal(!notOurs.ok && notOurs.rejection.reason, 'not-addressed-to-us');
  });

  it('puts a passing package back on the agency’s own topic, without the dead-letter headers', async () => {
    const dead = deadLetterOf(signedByRevoked, 'vdxp.docs.SOMEONE-ELSE');
    const verdict = await prepareReplay(dead, { organId: recipient, limits, verify: verifyWith(withoutCrl) });
    assert.ok(verdict.ok);
    assert.equal(verdict.record.topic, docsTopic(recipient), 'a forged source header cannot redirect the replay');
    assert.ok(verdict.record.value.equals(signedByRevoked), 'the original bytes, untouched');
    assert.equal(verdict.record.headers[HEADERS.replayedFrom], '0:3');
    assert.equal(verdict.record.headers[HEADERS.kind], 'edoc');
    for (const h of [HEADERS.reason, HEADERS.detail, HEADERS.attempts, HEADERS.firstFailure, HEADERS.lastFailure, HEADERS.sourceTopic]) {
      assert.equal(verdict.record.headers[h], undefined, h);
    }
  });

  describe('a dead letter of the outbox (an endpoint refused this agency’s own package)', () => {
    const routed = { [HEADERS.outboundRoute]: 'axis', [HEADERS.outboundRecipients]: '000.00.12.C22' };

    it('goes back to the outbox with its route, after the same checks', async () => {
      const dead = deadLetterOf(signedByRevoked, outboxTopic(ORGAN_G22), routed);
      const verdict = await prepareReplay(dead, { organId: ORGAN_G22, limits, verify: verifyWith(withoutCrl), outboundRoutes: ['axis'] });
      assert.ok(verdict.ok, !verdict.ok ? verdict.rejection.detail : '');
      assert.equal(verdict.record.topic, outboxTopic(ORGAN_G22));
      assert.equal(verdict.record.headers[HEADERS.outboundRoute], 'axis');
      assert.equal(verdict.record.headers[HEADERS.outboundRecipients], '000.00.12.C22');
      assert.ok(verdict.record.value.equals(signedByRevoked));
      const revoked = await prepareReplay(dead, { organId: ORGAN_G22, limits, verify: verifyWith(withCrl), outboundRoutes: ['axis'] });
      assert.equal(!revoked.ok && revoked.rejection.reason, 'cert-revoked');
    });

    it('is refused when its route is no longer configured, or it is not this agency’s own package', async () => {
      const gone = await prepareReplay(deadLetterOf(signedByRevoked, outboxTopic(ORGAN_G22), routed), { organId: ORGAN_G22, limits, outboundRoutes: ['hub'] });
      assert.equal(!gone.ok && gone.rejection.reason, 'unknown-recipient');
      assert.match(!gone.ok ? gone.rejection.detail : '', /outbound route "axis" is not configured/);
      const noRoute = await prepareReplay(deadLetterOf(signedByRevoked, outboxTopic(ORGAN_G22)), { organId: ORGAN_G22, limits, outboundRoutes: ['axis'] });
      assert.equal(!noRoute.ok && noRoute.rejection.reason, 'unknown-recipient');
      // The recipient's own outbox topic name on a letter in its dead letters: not its package, refused.
      const notOwn = await prepareReplay(deadLetterOf(signedByRevoked, outboxTopic(recipient), routed), { organId: recipient, limits, outboundRoutes: ['axis'] });
      assert.equal(!notOwn.ok && notOwn.rejection.reason, 'invalid-edxml');
      assert.match(!notOwn.ok ? notOwn.rejection.detail : '', /holds its own packages only/);
    });
  });

  it('refuses a dead letter of a large package, which carries no bytes, and says where the original is', async () => {
    const dead = deadLetterOf(Buffer.alloc(0), docsTopic(recipient));
    dead.headers[HEADERS.bodyOmitted] = '209715300';
    const verdict = await prepareReplay(dead, { organId: recipient, limits, verify: verifyWith(withCrl) });
    assert.equal(verdict.ok, false);
    assert.equal(!verdict.ok && verdict.rejection.reason, 'limit-exceeded');
    assert.match(!verdict.ok ? verdict.rejection.detail : '', new RegExp(`209715300 bytes.*${docsTopic(recipient).replace(/\./g, '\\.')}:1:40`));
    assert.equal(summarize(dead).bytes, 209715300);
  });

  it('summarizes a dead letter for the operator', () => {
    const s = summarize(deadLetterOf(Buffer.from('x'), 'vdxp.docs.G'));
    assert.equal(s.address, '0:3');
    assert.equal(s.reason, 'retries-exhausted');
    assert.equal(s.attempts, 8);
    assert.equal(s.source, 'vdxp.docs.G:1:40');
    assert.equal(s.firstFailure, '2026-11-23T01:00:00.000Z');
    assert.equal(s.lastFailure, '2026-11-23T01:01:00.000Z');
    assert.deepEqual(parseAddress('2:17'), { partition: 2, offset: 17 });
    assert.equal(parseAddress('2-17'), undefined);
  });
});
