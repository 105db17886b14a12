/**
 * The trail's read model (issue 18 §2): rebuild time and memory for 100,000 and 1,000,000 trail
 * records, read from a real topic. References from the same run: reading the same topic without
 * building anything (the floor any rebuild pays), and the records' own bytes.
 */
import { HashChain } from '../src/trail/chain';
import type { TrailStep } from '../src/trail/record';
import { BackboneProducer } from '../src/broker/producer';
import { commonClientConfig } from '../src/broker/client-config';
import { ensureTopics } from '../src/broker/admin';
import { trailTopic } from '../src/broker/topics';
import { TopicFollower } from '../src/broker/topic-follower';
import { TrailFollower } from '../src/trail/follower';
import { TrailReadModel } from '../src/trail/read-model';
import { OverdueRules, DEFAULT_STAGE_LIMITS } from '../src/trail/overdue';
import { DEFAULT_CALENDAR } from '../src/trail/calendar/working-time';
import type { Row } from './report';
import { fmt, ratio } from './stats';

const MIB = 1024 * 1024;

/** The records of one document crossing with a recipient that accepts it: 8 steps. */
function documentSteps(organId: string, n: number, counterpart: string): TrailStep[] {
  const documentId = `${organId},2026/11/23,${n}/UBND-VP`;
  const placement = (topic: string) => ({ topic, partition: n % 3, offset: n });
  return [
    { step: 'taken', documentId, kind: 'edoc', counterparts: [counterpart], source: 'outbox', item: `cong-van-${n}.edxml`, contentSha256: n.toString(16).padStart(64, '0'), meta: { subject: `Về việc triển khai kế hoạch chuyển đổi số năm 2026, văn bản số ${n}`, code: `${n}/UBND-VP`, dueDate: '2026-12-31', names: { [counterpart]: 'Văn phòng Chính phủ' } } },
    { step: 'signed', documentId, kind: 'edoc', certificate: { subject: 'CN=UBND Tỉnh Nghệ An, O=UBND Tỉnh Nghệ An, C=VN', serialNumber: '5A3F0C21', fingerprint: 'ab'.repeat(32) } },
    { step: 'written', documentId, kind: 'edoc', counterpart, placement: placement(`vdxp.docs.${counterpart}`), chunked: false },
    { step: 'received', documentId, kind: 'status', statusCode: '01', counterpart, placement: placement(`vdxp.status.${organId}`), contentSha256: 'cd'.repeat(32), description: 'Đã đến - văn bản đã được chuyển vào hệ thống quản lý văn bản' },
    { step: 'verified', documentId, kind: 'status', counterpart, result: 'valid', policy: 'required', signer: { subject: 'CN=Văn phòng Chính phủ', serialNumber: '1B2C', fingerprint: 'ef'.repeat(32), organId: counterpart } },
    { step: 'delivered', documentId, kind: 'status', statusCode: '01', counterpart, sinks: ['inbox'] },
    { step: 'received', documentId, kind: 'status', statusCode: '03', counterpart, placement: placement(`vdxp.status.${organId}`), contentSha256: 'ce'.repeat(32), description: 'Đã tiếp nhận' },
    { step: 'delivered', documentId, kind: 'status', statusCode: '03', counterpart, sinks: ['inbox'] },
  ];
}

async function fill(brokers: string, organId: string, records: number): Promise<number> {
  const config = commonClientConfig({ brokers: [brokers] }, 'vdxp-bench-trail');
  await ensureTopics(config, [trailTopic(organId)], { partitions: 1, replicationFactor: 1, config: { 'retention.ms': '-1' } });
  const producer = new BackboneProducer({ ...config, 'queue.buffering.max.messages': 200_000 });
  await producer.connect();
  const chain = new HashChain(`bench/${organId}`, organId);
  let bytes = 0;
  let pending: Promise<unknown>[] = [];
  const start = new Date('2026-11-02T02:00:00Z').getTime();
  let written = 0;
  for (let n = 0; written < records; n++) {
    for (const step of documentSteps(organId, n, `000.00.${String(n % 40).padStart(2, '0')}.G22`)) {
      if (written >= records) break;
      const r = chain.append(step, new Date(start + written * 1_000));
      bytes += r.bytes.length;
      pending.push(producer.send({ topic: trailTopic(organId), key: step.step, value: r.bytes, headers: {} }));
      written += 1;
      if (pending.length >= 20_000) {
        await Promise.all(pending);
        pending = [];
      }
    }
  }
  await Promise.all(pending);
  await producer.disconnect();
  return bytes;
}

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

async function rawRead(brokers: string, organId: string): Promise<number> {
  let count = 0;
  const follower = new TopicFollower(commonClientConfig({ brokers: [brokers] }, 'vdxp-bench-raw'), { topic: trailTopic(organId), onRecords: (r) => (count += r.length) });
  const started = process.hrtime.bigint();
  await follower.start();
  await follower.caughtUp(600_000);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await follower.stop();
  return ms;
}

async function rebuild(brokers: string, organId: string): Promise<{ ms: number; heapBytes: number; documents: number; queryMs: number }> {
  const before = heapUsed();
  const model = new TrailReadModel(new OverdueRules({ ...DEFAULT_STAGE_LIMITS, counterparts: {}, calendar: DEFAULT_CALENDAR }));
  const follower = new TrailFollower(commonClientConfig({ brokers: [brokers] }, 'vdxp-bench-rebuild'), organId, model);
  const started = process.hrtime.bigint();
  if (!(await follower.start(600_000))) throw new Error('rebuild did not finish');
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await follower.stop();
  const heapBytes = heapUsed() - before;
  // What the web page asks for on every refresh: a filtered page, and the overdue counts the gauge reads.
  const q = process.hrtime.bigint();
  model.query({ counterpart: '000.00.07.G22', text: 'chuyen doi so', limit: 50 });
  model.overdueCounts(Date.parse('2026-12-01T03:00:00Z'));
  const queryMs = Number(process.hrtime.bigint() - q) / 1e6;
  return { ms, heapBytes, documents: model.size, queryMs };
}

export async function trailRows(brokers: string, sizes: number[], notes: string[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const size of sizes) {
    const organId = `000.${String(Date.now() % 100).padStart(2, '0')}.${String(size % 97).padStart(2, '0')}.T${Math.floor(Math.random() * 90 + 10)}`;
    const bytes = await fill(brokers, organId, size);
    const rawMs = await rawRead(brokers, organId);
    const r = await rebuild(brokers, organId);
    const label = size.toLocaleString('en-US');
    rows.push({ name: `Trail rebuild, ${label} records`, measured: `${fmt(r.ms / 1000)} s`, reference: `read only ${fmt(rawMs / 1000)} s`, ratio: ratio(r.ms, rawMs) });
    rows.push({ name: `Trail read model heap, ${label} records`, measured: `${fmt(r.heapBytes / MIB)} MiB`, reference: `record bytes ${fmt(bytes / MIB)} MiB`, ratio: ratio(r.heapBytes, bytes) });
    notes.push(`trail ${label} records = ${r.documents.toLocaleString('en-US')} documents; one filtered page plus the overdue counts took ${fmt(r.queryMs)} ms`);
  }
  return rows;
}
