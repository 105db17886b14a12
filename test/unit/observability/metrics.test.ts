import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createMetrics } from '../../../src/observability/metrics';
import { REPO_ROOT } from '../../support/paths';

/** The value of one sample line of the exposition, or undefined if the series is absent. */
function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('observability/metrics', () => {
  it('counts documents by direction, counterpart and outcome', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.documentProcessed('inbound', '000.00.00.G22', 'delivered');
    metrics.documentProcessed('inbound', '000.00.00.G22', 'delivered');
    metrics.documentProcessed('outbound', '000.00.00.H41', 'rejected');
    const text = await metrics.exposition();
    assert.equal(sample(text, 'vdxp_documents_total{direction="inbound",counterpart="000.00.00.G22",outcome="delivered"}'), 2);
    assert.equal(sample(text, 'vdxp_documents_total{direction="outbound",counterpart="000.00.00.H41",outcome="rejected"}'), 1);
  });

  it('keeps counterpart cardinality bounded: malformed values and newcomers past the cap share a label', async () => {
    const metrics = createMetrics({ defaultMetrics: false, maxCounterparts: 2 });
    metrics.documentProcessed('inbound', 'A.01', 'delivered');
    metrics.documentProcessed('inbound', 'B.02', 'delivered');
    metrics.documentProcessed('inbound', 'C.03', 'delivered');
    metrics.documentProcessed('inbound', 'D.04', 'delivered');
    metrics.documentProcessed('inbound', '<script>', 'delivered');
    metrics.documentProcessed('inbound', 'A.01', 'delivered');
    const text = await metrics.exposition();
    assert.equal(sample(text, 'vdxp_documents_total{direction="inbound",counterpart="A.01",outcome="delivered"}'), 2);
    assert.equal(sample(text, 'vdxp_documents_total{direction="inbound",counterpart="other",outcome="delivered"}'), 2);
    assert.equal(sample(text, 'vdxp_documents_total{direction="inbound",counterpart="invalid",outcome="delivered"}'), 1);
    assert.ok(!text.includes('C.03') && !text.includes('D.04'));
  });

  it('maps values outside the closed label sets to "other" rather than creating new series', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.rejected('inbound', 'digest-mismatch');
    metrics.rejected('inbound', 'made-up-reason' as never);
    metrics.deadLettered('retries-exhausted');
    metrics.signatureResult('valid');
    const text = await metrics.exposition();
    assert.equal(sample(text, 'vdxp_rejections_total{direction="inbound",reason="digest-mismatch"}'), 1);
    assert.equal(sample(text, 'vdxp_rejections_total{direction="inbound",reason="other"}'), 1);
    assert.equal(sample(text, 'vdxp_dead_letters_total{reason="retries-exhausted"}'), 1);
    assert.equal(sample(text, 'vdxp_signature_verifications_total{result="valid"}'), 1);
  });

  it('computes the age of the oldest undelivered document per counterpart at scrape time', async () => {
    let nowMs = Date.parse('2026-01-01T00:00:00Z');
    const metrics = createMetrics({ defaultMetrics: false, now: () => nowMs });
    metrics.pendingStarted('000.00.00.G22,2026/01/01,1/VPCP', '000.00.00.G22', new Date(nowMs - 30_000));
    metrics.pendingStarted('000.00.00.G22,2026/01/01,2/VPCP', '000.00.00.G22');
    metrics.pendingStarted('000.00.00.H41,2026/01/01,9/UBND', '000.00.00.H41');

    nowMs += 60_000;
    let text = await metrics.exposition();
    assert.equal(sample(text, 'vdxp_oldest_undelivered_document_age_seconds{counterpart="000.00.00.G22"}'), 90);
    assert.equal(sample(text, 'vdxp_oldest_undelivered_document_age_seconds{counterpart="000.00.00.H41"}'), 60);
    assert.equal(sample(text, 'vdxp_undelivered_documents{counterpart="000.00.00.G22"}'), 2);
    assert.ok(!text.includes('2026/01/01'), 'a DocumentId must never appear in the exposition');

    metrics.pendingSettled('000.00.00.G22,2026/01/01,1/VPCP');
    metrics.pendingSettled('000.00.00.H41,2026/01/01,9/UBND');
    nowMs += 10_000;
    text = await metrics.exposition();
    assert.equal(sample(text, 'vdxp_oldest_undelivered_document_age_seconds{counterpart="000.00.00.G22"}'), 70);
    assert.equal(sample(text, 'vdxp_oldest_undelivered_document_age_seconds{counterpart="000.00.00.H41"}'), undefined);
  });

  it('shows exactly one current breaker state per sink', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.setBreakerState('vendor-api', 'open');
    metrics.setBreakerState('vendor-api', 'half_open');
    const text = await metrics.exposition();
    assert.equal(sample(text, 'vdxp_breaker_state{sink="vendor-api",state="half_open"}'), 1);
    assert.equal(sample(text, 'vdxp_breaker_state{sink="vendor-api",state="open"}'), 0);
    assert.equal(sample(text, 'vdxp_breaker_state{sink="vendor-api",state="closed"}'), 0);
  });

  it('sets and removes consumer lag per topic partition', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.setConsumerLag('vdxp.docs.000.00.00.H41', 0, 12);
    metrics.setConsumerLag('vdxp.docs.000.00.00.H41', 1, 3);
    metrics.removeConsumerLag('vdxp.docs.000.00.00.H41', 1);
    const text = await metrics.exposition();
    assert.equal(sample(text, 'vdxp_kafka_consumer_lag_messages{topic="vdxp.docs.000.00.00.H41",partition="0"}'), 12);
    assert.equal(sample(text, 'vdxp_kafka_consumer_lag_messages{topic="vdxp.docs.000.00.00.H41",partition="1"}'), undefined);
  });

  it('records latency in the histogram of its stage and ignores impossible values', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeDeliveryLatency('kafka_to_sink', 0.2);
    metrics.observeDeliveryLatency('kafka_to_sink', 42);
    metrics.observeDeliveryLatency('kafka_to_sink', -1);
    metrics.observeDeliveryLatency('kafka_to_sink', Number.NaN);
    const text = await metrics.exposition();
    assert.equal(sample(text, 'vdxp_delivery_latency_seconds_count{stage="kafka_to_sink"}'), 2);
    assert.equal(sample(text, 'vdxp_delivery_latency_seconds_bucket{le="0.25",stage="kafka_to_sink"}'), 1);
    assert.equal(sample(text, 'vdxp_delivery_latency_seconds_bucket{le="60",stage="kafka_to_sink"}'), 2);
  });

  it('gives every metric, including Node defaults, HELP text', async () => {
    const metrics = createMetrics();
    const text = await metrics.exposition();
    const typed = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
    const helped = new Set([...text.matchAll(/^# HELP (\S+) \S/gm)].map((m) => m[1]));
    assert.ok(typed.includes('process_cpu_seconds_total'), 'Node default metrics are exposed');
    assert.ok(typed.filter((n) => n.startsWith('vdxp_')).length >= 12);
    assert.deepEqual(typed.filter((n) => !helped.has(n)), []);
  });

  it('identifies the agency and the connector version on vdxp_build_info', async () => {
    const metrics = createMetrics({ defaultMetrics: false, organId: '000.00.00.H41' });
    const { version } = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(sample(await metrics.exposition(), `vdxp_build_info{version="${version}",organ_id="000.00.00.H41"}`), 1);
  });

  it('keeps separate instances independent', async () => {
    const first = createMetrics({ defaultMetrics: false });
    const second = createMetrics({ defaultMetrics: false });
    first.retried('inbox');
    assert.equal(sample(await first.exposition(), 'vdxp_delivery_retries_total{sink="inbox"}'), 1);
    assert.equal(sample(await second.exposition(), 'vdxp_delivery_retries_total{sink="inbox"}'), undefined);
  });
});
