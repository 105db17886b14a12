import { strict as assert } from 'node:assert';
import { createMetrics } from '../../../src/observability/metrics';

describe('vdxp_documents_overdue', () => {
  it('is read from the trail at scrape time, per direction, counterpart and stage, with bounded labels', async () => {
    const metrics = createMetrics({ defaultMetrics: false, maxCounterparts: 2 });
    let counts = [
      { direction: 'outbound' as const, counterpart: '000.00.00.G22', stage: 'acceptance' as const, count: 3 },
      { direction: 'inbound' as const, counterpart: '000.00.00.G01', stage: 'arrival' as const, count: 1 },
    ];
    metrics.setOverdueSource(() => counts);
    const text = await metrics.exposition();
    assert.match(text, /vdxp_documents_overdue\{direction="outbound",counterpart="000\.00\.00\.G22",stage="acceptance"\} 3/);
    assert.match(text, /vdxp_documents_overdue\{direction="inbound",counterpart="000\.00\.00\.G01",stage="arrival"\} 1/);
    counts = [{ direction: 'outbound', counterpart: '000.00.00.G22', stage: 'acceptance', count: 1 }];
    const later = await metrics.exposition();
    assert.ok(!later.includes('000.00.00.G01"'), 'a counterpart with nothing overdue any more disappears');
    assert.match(later, /counterpart="000\.00\.00\.G22",stage="acceptance"\} 1/);
  });
});
