import { strict as assert } from 'node:assert';
import { HashChain } from '../../../src/trail/chain';
import { OverdueRules, DEFAULT_STAGE_LIMITS } from '../../../src/trail/overdue';
import { DEFAULT_CALENDAR } from '../../../src/trail/calendar/working-time';
import { TrailReadModel } from '../../../src/trail/read-model';
import type { TrailStep } from '../../../src/trail/record';

const H41 = '000.00.00.H41';
const G22 = '000.00.00.G22';
const G01 = '000.00.00.G01';
const vn = (local: string) => new Date(`${local}+07:00`);
const placement = (topic: string, offset: number) => ({ topic, partition: 0, offset });

function model(counterparts: Record<string, { arrivalWorkingMinutes?: number; acceptanceWorkingMinutes?: number }> = {}) {
  const rules = new OverdueRules({ ...DEFAULT_STAGE_LIMITS, counterparts, calendar: DEFAULT_CALENDAR });
  const m = new TrailReadModel(rules);
  const chain = new HashChain('c', H41);
  let offset = 0;
  const add = (step: TrailStep, at: Date) => {
    const r = chain.append(step, at);
    m.apply({ entry: r.entry, hash: r.hash, offset: offset++ });
  };
  return { m, add };
}

/** H41 sends `id` to G22 (and G01) at `at`. */
function sent(add: (s: TrailStep, at: Date) => void, id: string, at: Date, to = [G22], dueDate?: string) {
  add({ step: 'taken', documentId: id, kind: 'edoc', counterparts: to, source: 'outbox', item: `${id}.edxml`, contentSha256: 'ab'.repeat(32), meta: { subject: `Công văn ${id} về việc triển khai`, code: `${id}/UBND-VP`, dueDate, names: { [G22]: 'Văn phòng Chính phủ' } } }, at);
  to.forEach((t, i) => add({ step: 'written', documentId: id, kind: 'edoc', counterpart: t, placement: placement(`vdxp.docs.${t}`, i), chunked: false }, at));
}

const status = (id: string, from: string, code: string, offset: number): TrailStep => ({ step: 'received', documentId: id, kind: 'status', statusCode: code, counterpart: from, placement: placement(`vdxp.status.${H41}`, offset), contentSha256: 'cd'.repeat(32) });

describe('trail read model: where every document stands', () => {
  it('follows a sent document through arrival and acceptance to done, per recipient', () => {
    const { m, add } = model();
    sent(add, 'A', vn('2026-11-30T09:00:00'), [G22, G01]);
    add(status('A', G22, '01', 0), vn('2026-11-30T09:01:00'));
    add(status('A', G22, '03', 1), vn('2026-11-30T10:00:00'));
    add(status('A', G01, '01', 2), vn('2026-11-30T09:02:00'));
    add(status('A', G22, '06', 3), vn('2026-12-01T10:00:00'));
    const doc = m.document('A')!;
    assert.equal(doc.direction, 'outbound');
    assert.equal(doc.parties.get(G22)!.stage, 'done');
    assert.equal(doc.parties.get(G22)!.name, 'Văn phòng Chính phủ');
    assert.equal(doc.parties.get(G01)!.stage, 'arrived');
    assert.deepEqual(m.sentDocuments({}).map((d) => d.recipients.map((r) => [r.organId, r.stage, r.latestStatus?.code])), [[[G22, 'done', '06'], [G01, 'arrived', '01']]]);
  });

  it('marks arrival, acceptance and completion overdue in working time, per counterpart limits', () => {
    const { m, add } = model({ [G01]: { arrivalWorkingMinutes: 10 } });
    sent(add, 'late-arrival', vn('2026-11-30T09:00:00'));
    sent(add, 'late-acceptance', vn('2026-11-27T16:00:00'));
    add(status('late-acceptance', G22, '01', 0), vn('2026-11-27T16:01:00'));
    sent(add, 'late-completion', vn('2026-11-20T09:00:00'), [G22], '2026-11-27');
    add(status('late-completion', G22, '03', 1), vn('2026-11-20T10:00:00'));
    sent(add, 'strict-partner', vn('2026-11-30T09:00:00'), [G01]);
    const at = (local: string) => vn(local).getTime();
    const stages = (now: number) => Object.fromEntries(m.overdue(now).map((d) => [d.documentId, d.mark.stage]));
    // Monday 09:30: only G01's 10 working minutes have passed.
    assert.deepEqual(stages(at('2026-11-30T09:30:00')), { 'strict-partner': 'arrival', 'late-completion': 'completion' });
    // Monday 10:01: an hour of working time for G22's arrival.
    assert.equal(stages(at('2026-11-30T10:01:00'))['late-arrival'], 'arrival');
    // Sent Friday 16:00, arrived, never accepted: due Monday 16:00.
    assert.equal(stages(at('2026-11-30T15:59:00'))['late-acceptance'], undefined);
    assert.equal(stages(at('2026-11-30T16:01:00'))['late-acceptance'], 'acceptance');
    const counts = m.overdueCounts(at('2026-11-30T16:01:00'));
    assert.deepEqual(
      counts.map((c) => `${c.direction}/${c.counterpart}/${c.stage}=${c.count}`).sort(),
      [`outbound/${G01}/arrival=1`, `outbound/${G22}/acceptance=1`, `outbound/${G22}/arrival=1`, `outbound/${G22}/completion=1`],
    );
  });

  it('a received document stands at arrived once delivered, and accepted when our legacy system sent 03', () => {
    const { m, add } = model();
    add({ step: 'received', documentId: 'B', kind: 'edoc', counterpart: G22, placement: placement(`vdxp.docs.${H41}`, 0), contentSha256: 'ab'.repeat(32), meta: { subject: 'Văn bản đến' } }, vn('2026-11-30T09:00:00'));
    add({ step: 'delivered', documentId: 'B', kind: 'edoc', counterpart: G22, sinks: ['inbox'] }, vn('2026-11-30T09:00:01'));
    add({ step: 'status-sent', documentId: 'B', counterpart: G22, statusCode: '01', description: 'Đã đến' }, vn('2026-11-30T09:00:01'));
    assert.equal(m.document('B')!.parties.get(G22)!.stage, 'arrived');
    assert.deepEqual(m.overdue(vn('2026-11-30T17:30:00').getTime()), [], 'Monday 09:00 plus 8 working hours is Tuesday 09:00');
    assert.equal(m.overdue(vn('2026-12-01T09:30:00').getTime())[0]?.mark.stage, 'acceptance', 'we have not accepted it within a working day');
    add({ step: 'written', documentId: 'B', kind: 'status', statusCode: '03', counterpart: G22, placement: placement(`vdxp.status.${G22}`, 4), chunked: false }, vn('2026-11-30T11:00:00'));
    assert.equal(m.document('B')!.direction, 'inbound');
    assert.equal(m.document('B')!.parties.get(G22)!.stage, 'accepted');
    assert.deepEqual(m.overdue(vn('2026-12-01T09:30:00').getTime()), []);
  });

  it('a dead-lettered document is rejected with its reason and never overdue', () => {
    const { m, add } = model();
    add({ step: 'received', documentId: 'C', kind: 'edoc', counterpart: G22, placement: placement(`vdxp.docs.${H41}`, 0), contentSha256: 'ab'.repeat(32) }, vn('2026-11-30T09:00:00'));
    add({ step: 'dead-lettered', documentId: 'C', kind: 'edoc', counterpart: G22, reason: 'bad-signature', detail: 'x', source: placement(`vdxp.docs.${H41}`, 0), attempts: 1 }, vn('2026-11-30T09:00:01'));
    const p = m.document('C')!.parties.get(G22)!;
    assert.equal(p.stage, 'rejected');
    assert.equal(p.rejectReason, 'bad-signature');
    assert.deepEqual(m.overdue(vn('2026-12-30T09:00:00').getTime()), []);
  });

  it('the same step written again after a crash shows once in the timeline', () => {
    const { m, add } = model();
    for (let i = 0; i < 2; i++) {
      add({ step: 'received', documentId: 'D', kind: 'edoc', counterpart: G22, placement: placement(`vdxp.docs.${H41}`, 7), contentSha256: 'ab'.repeat(32) }, vn('2026-11-30T09:00:00'));
      add({ step: 'delivered', documentId: 'D', kind: 'edoc', counterpart: G22, sinks: ['inbox'] }, vn('2026-11-30T09:00:01'));
    }
    assert.deepEqual(m.document('D')!.steps.map((s) => s.step), ['received', 'delivered']);
  });

  it('filters on the server side and pages, newest first; text search ignores case and diacritics', () => {
    const { m, add } = model();
    for (let i = 0; i < 120; i++) sent(add, `N${i}`, new Date(vn('2026-11-30T09:00:00').getTime() + i * 1000), [i % 3 === 0 ? G01 : G22]);
    const page = m.query({ counterpart: G01, offset: 10, limit: 20 });
    assert.equal(page.total, 40);
    assert.equal(page.items.length, 20);
    assert.equal(page.items[0]!.documentId, 'N87', 'newest first: N117, N114, … the 11th is N87');
    assert.equal(m.query({ text: 'CONG VAN n5 ve viec' }).total, 1);
    assert.equal(m.query({ from: vn('2026-11-30T09:01:00').getTime() }).total, 60);
    assert.equal(m.query({ stage: 'done' }).total, 0);
    assert.equal(m.query({ limit: 100000 }).limit, 500, 'a page is never larger than 500');
  });
});
