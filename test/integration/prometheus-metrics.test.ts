import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createMetrics } from '../../src/observability/metrics';

/** The exposition of a registry with every vdxp_* metric populated, as /metrics serves it. */
async function populatedExposition(): Promise<string> {
  const metrics = createMetrics({ version: '0.1.0', organId: '000.00.00.H41' });
  metrics.documentProcessed('inbound', '000.00.00.G22', 'delivered');
  metrics.documentProcessed('outbound', '000.00.00.G22', 'rejected');
  metrics.rejected('inbound', 'bad-signature');
  metrics.signatureResult('valid');
  metrics.signatureResult('rejected');
  metrics.deadLettered('retries-exhausted');
  metrics.retried('vendor-api');
  metrics.observeDeliveryLatency('source_to_kafka', 0.04);
  metrics.observeDeliveryLatency('kafka_to_sink', 1.5);
  metrics.setBreakerState('vendor-api', 'open');
  metrics.setConsumerLag('vdxp.docs.000.00.00.H41', 0, 7);
  metrics.pendingStarted('000.00.00.G22,2026/01/01,1/VPCP', '000.00.00.G22', new Date(Date.now() - 5000));
  metrics.setCertificateExpiry('signing', new Date('2027-01-01T00:00:00Z'));
  metrics.setReadiness(true, { kafka: true, trust: true, config: true });
  return metrics.exposition();
}

describe('prometheus: promtool check metrics', () => {
  it('accepts the exposition of a populated registry without a single lint problem', async () => {
    const exposition = await populatedExposition();
    const names = new Set([...exposition.matchAll(/^# TYPE (vdxp_\S+)/gm)].map((m) => m[1]));
    assert.ok(names.size >= 13, `expected every vdxp_* metric, got ${[...names].join(', ')}`);

    const result = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
    assert.ifError(result.error); // promtool comes from the Debian package prometheus (scripts/setup.sh)
    assert.equal(result.stdout + result.stderr, '', 'promtool reported lint problems');
    assert.equal(result.status, 0);
  });

  it('really rejects a badly named counter (the check is not vacuous)', () => {
    const bad = '# HELP vdxp_documents Documents.\n# TYPE vdxp_documents counter\nvdxp_documents 1\n';
    const result = spawnSync('promtool', ['check', 'metrics'], { input: bad, encoding: 'utf8' });
    assert.notEqual(result.status, 0);
    assert.match(result.stdout + result.stderr, /counter metrics should have "_total" suffix/);
  });
});
