import { strict as assert } from 'node:assert';
import { HashChain } from '../../../src/trail/chain';
import { verifyTrail, type RawTrailRecord } from '../../../src/trail/verify';
import type { ChainHead, TrailStep } from '../../../src/trail/record';

const ORGAN = '000.00.00.H41';
const opened = (heads: ChainHead[] = []): TrailStep => ({ step: 'chain-opened', writer: { host: 'h', pid: 1, version: 't', role: 'connector' }, heads });
const step = (n: number): TrailStep => ({ step: 'status-sent', documentId: `doc-${n}`, counterpart: '000.00.00.G22', statusCode: '01', description: 'Đã đến' });

/** A topic as the writers would leave it: records appended in this order get offsets 0, 1, … */
class Topic {
  readonly records: RawTrailRecord[] = [];
  append(chain: HashChain, s: TrailStep): ChainHead {
    const r = chain.append(s, new Date(Date.UTC(2026, 10, 30, 2, 0, this.records.length)));
    this.records.push({ offset: this.records.length, value: r.bytes });
    return { chain: chain.chainId, seq: r.entry.seq, hash: r.hash };
  }
}

function twoReplicas(): { topic: Topic; a: HashChain; b: HashChain; vouched: ChainHead } {
  const topic = new Topic();
  const a = new HashChain('replica-a', ORGAN);
  const b = new HashChain('replica-b', ORGAN);
  topic.append(a, opened());
  for (let i = 0; i < 5; i++) topic.append(a, step(i));
  const aHead = { chain: 'replica-a', seq: a.last!.seq, hash: a.last!.hash };
  topic.append(b, opened([aHead]));
  for (let i = 5; i < 8; i++) topic.append(i % 2 ? a : b, step(i));
  const vouched = { chain: 'replica-a', seq: a.last!.seq, hash: a.last!.hash };
  topic.append(b, { step: 'checkpoint', heads: [vouched] });
  topic.append(b, step(9));
  return { topic, a, b, vouched };
}

const kinds = (report: ReturnType<typeof verifyTrail>) => report.problems.map((p) => p.kind);

describe('trail verify: the hash chains show a change or a gap', () => {
  it('an untouched trail of two replicas is intact', () => {
    const { topic } = twoReplicas();
    const report = verifyTrail(ORGAN, topic.records, 0);
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
    assert.equal(report.chains.length, 2);
  });

  it('one changed byte in any record is found (altered)', () => {
    const { topic } = twoReplicas();
    for (const offset of [1, 3, 8]) {
      const records = topic.records.map((r) => ({ ...r }));
      records[offset] = { offset, value: Buffer.from(records[offset]!.value.toString().replace('Đã đến', 'Đã đén')) };
      const report = verifyTrail(ORGAN, records, 0);
      assert.equal(report.ok, false, `offset ${offset}`);
      assert.ok(kinds(report).includes('altered'), JSON.stringify(report.problems));
    }
  });

  it('a record removed from the middle of a chain is found (gap)', () => {
    const { topic } = twoReplicas();
    const report = verifyTrail(ORGAN, topic.records.filter((r) => r.offset !== 3), 0);
    assert.deepEqual(kinds(report), ['gap']);
    assert.match(report.problems[0]!.detail, /1 record\(s\) removed between seq 2/);
  });

  it('records removed from the end of a chain another replica vouched for are found (truncated)', () => {
    const { topic, vouched } = twoReplicas();
    const lastOfA = topic.records.filter((r) => JSON.parse(r.value.toString()).chain === 'replica-a').at(-1)!;
    const report = verifyTrail(ORGAN, topic.records.filter((r) => r.offset !== lastOfA.offset), 0);
    assert.deepEqual(kinds(report), ['truncated']);
    assert.match(report.problems[0]!.detail, new RegExp(`up to seq ${vouched.seq}`));
  });

  it('a record replaced by a re-hashed forgery breaks the next link, or the vouching chain', () => {
    const { topic } = twoReplicas();
    // Rewrite replica-a's seq 2 and re-hash it: seq 3's prev no longer matches.
    const records = topic.records.map((r) => ({ ...r }));
    const forged = JSON.parse(records[2]!.value.toString());
    forged.statusCode = '02';
    records[2] = { offset: 2, value: Buffer.from(JSON.stringify(forged)) };
    assert.ok(kinds(verifyTrail(ORGAN, records, 0)).includes('altered'));
  });

  it('two different records at one seq are a fork; an identical one written twice is a harmless duplicate', () => {
    const { topic } = twoReplicas();
    const again = [...topic.records, { offset: topic.records.length, value: topic.records[2]!.value }];
    const dup = verifyTrail(ORGAN, again, 0);
    assert.equal(dup.ok, true);
    assert.equal(dup.duplicates, 1);
    const other = JSON.parse(topic.records[2]!.value.toString());
    other.documentId = 'doc-forged';
    const fork = verifyTrail(ORGAN, [...topic.records, { offset: topic.records.length, value: Buffer.from(JSON.stringify(other)) }], 0);
    assert.ok(kinds(fork).includes('fork'));
  });

  it('bytes that are not a record, a foreign agency’s record, and records after a clean close are found', () => {
    const topic = new Topic();
    const a = new HashChain('replica-a', ORGAN);
    topic.append(a, opened());
    topic.append(a, { step: 'chain-closed' });
    topic.append(a, step(1));
    topic.records.push({ offset: topic.records.length, value: Buffer.from('{not json') });
    const foreign = new HashChain('other', '000.00.00.G22');
    topic.append(foreign, opened());
    assert.deepEqual(kinds(verifyTrail(ORGAN, topic.records, 0)).sort(), ['after-close', 'foreign', 'unreadable']);
  });

  it('the start of the topic removed by retention is not a gap, but the same start missing from offset 0 is', () => {
    const { topic } = twoReplicas();
    const kept = topic.records.slice(3);
    const cut = verifyTrail(ORGAN, kept, 3);
    assert.equal(cut.ok, true, JSON.stringify(cut.problems));
    assert.ok(cut.chains.find((c) => c.chain === 'replica-a')!.cutByRetention);
    const hidden = verifyTrail(ORGAN, kept, 0);
    assert.deepEqual(kinds(hidden), ['gap']);
  });
});
