/**
 * The receive path parses a package once: the signature is checked on the DOM the facts were read
 * from. These tests pin that the shortcut never checks other bytes than the ones delivered.
 */
import { strict as assert } from 'node:assert';
import type { AgencyConfig } from '../../../src/config/types';
import { isRejection } from '../../../src/errors';
import { DEFAULT_LIMITS, withDefaults } from '../../../src/limits';
import { createLogger } from '../../../src/observability/log';
import { createMetrics } from '../../../src/observability/metrics';
import { readPackageFacts, reusableParse } from '../../../src/pipeline/package-facts';
import { loadSignatureSupport, type SignatureSupport } from '../../../src/pipeline/signature-support';
import { makeTestPki, ORGAN_H41, type TestPki } from '../../support/pki';
import { packageFrom, withAttachmentOf, withoutPlaceholder } from '../../support/signature-fixtures';

function configFor(pki: TestPki): AgencyConfig {
  return {
    organId: '000.00.00.G22',
    kafka: { brokers: ['127.0.0.1:1'], topics: { partitions: 1, replicationFactor: 1 } },
    signing: { keyFile: pki.h41.keyPath, certFile: pki.h41.certPath },
    trust: { anchors: [pki.rootCaPath], crls: [pki.crlPath], defaultPolicy: 'required' },
    connectors: [],
    limits: withDefaults(),
    ops: { port: 0, host: '127.0.0.1' },
  } as unknown as AgencyConfig;
}

async function rejectionOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    if (isRejection(err)) return err.reason;
    throw err;
  }
  return 'accepted';
}

describe('pipeline: one parse per received package', () => {
  let pki: TestPki;
  let support: SignatureSupport;
  let config: AgencyConfig;
  let signed: Buffer;

  before(async function () {
    this.timeout(120_000); // the test PKI is made with openssl at run time
    pki = await makeTestPki();
    config = configFor(pki);
    support = await loadSignatureSupport(config, createLogger({ level: 'silent' }), createMetrics({ organId: config.organId }));
    signed = support.sign!(Buffer.from(withAttachmentOf(withoutPlaceholder(packageFrom(ORGAN_H41)), 30_000)));
  });
  after(() => support.close());

  it('accepts a genuine package verified on the parse its facts came from', async () => {
    const facts = readPackageFacts(signed, config.limits);
    assert.ok(reusableParse(facts, signed, config.limits), 'the parse is reused');
    assert.equal(await rejectionOf(() => support.verify!(signed, facts)), 'accepted');
  });

  it('rejects a package whose attachment changed after signing, through the reused parse', async () => {
    const text = signed.toString('utf8');
    const at = text.indexOf('</edXML:ContentTransferEncoded>') - 8;
    const tampered = Buffer.from(text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1));
    const facts = readPackageFacts(tampered, config.limits);
    assert.ok(reusableParse(facts, tampered, config.limits));
    assert.equal(await rejectionOf(() => support.verify!(tampered, facts)), 'digest-mismatch');
  });

  it('never checks the facts’ parse when other bytes are delivered: those bytes are verified', async () => {
    const genuineFacts = readPackageFacts(signed, config.limits);
    const tampered = Buffer.from(signed.toString('utf8').replace('<edXML:OrganName>', '<edXML:OrganName>X'));
    assert.equal(reusableParse(genuineFacts, tampered, config.limits), undefined);
    assert.equal(await rejectionOf(() => support.verify!(tampered, genuineFacts)), 'digest-mismatch');
  });

  it('does not reuse a parse made under other limits', () => {
    const loose = { ...DEFAULT_LIMITS, maxXmlDepth: 1000 };
    const facts = readPackageFacts(signed, loose);
    assert.equal(reusableParse(facts, signed, config.limits), undefined);
    assert.ok(reusableParse(facts, signed, { ...loose }), 'equal limits in another object are the same limits');
  });

  it('reads the same facts as before from the kept parse', () => {
    const facts = readPackageFacts(signed, config.limits);
    assert.equal(facts.fromOrganId, ORGAN_H41);
    assert.equal(facts.kind, 'edoc');
    assert.ok(facts.recipients.length > 0);
  });
});
