/**
 * `vdxp trail verify`: checks the agency's trail as read from Kafka. Pure, over the records and
 * the topic's log start offset. What it proves and what it cannot is in docs/TRAIL.md.
 */
import { decodeEntry, hashOf, UnreadableEntry, type ChainHead, type TrailEntry } from './record';

export interface RawTrailRecord {
  offset: number;
  value: Buffer;
}

export type ProblemKind =
  /** Bytes that are not a trail record: altered or foreign. */
  | 'unreadable'
  /** A record of another agency in this agency's trail. */
  | 'foreign'
  /** A record's bytes do not hash to what its successor, or another chain, committed to. */
  | 'altered'
  /** Two different records claim the same place in a chain. */
  | 'fork'
  /** Records missing inside a chain (seq numbers skip). */
  | 'gap'
  /** A chain ends before a point another chain vouched for (records removed from its end). */
  | 'truncated'
  /** Records after a chain's clean close. */
  | 'after-close';

export interface TrailProblem {
  kind: ProblemKind;
  chain?: string;
  seq?: number;
  offset?: number;
  detail: string;
}

export interface ChainSummary {
  chain: string;
  /** Distinct records of this chain present in the topic. */
  records: number;
  firstSeq: number;
  lastSeq: number;
  head: string;
  /** It ended with chain-closed (a clean stop). Open: a live writer, or one that crashed. */
  closed: boolean;
  /** Its first records lie before the topic's log start offset (retention removed them). */
  cutByRetention: boolean;
  writer?: { host: string; pid: number; role: string };
  firstAt: string;
  lastAt: string;
}

export interface TrailVerification {
  ok: boolean;
  organId: string;
  /** Records read, duplicates included. */
  records: number;
  /** Identical records written twice (a retried write): harmless, counted. */
  duplicates: number;
  /** The topic's first offset: above 0, retention (or deleteRecords) removed what came before. */
  logStartOffset: number;
  endOffset: number;
  chains: ChainSummary[];
  problems: TrailProblem[];
}

interface Parsed {
  entry: TrailEntry;
  hash: string;
  offset: number;
}

export function verifyTrail(organId: string, records: RawTrailRecord[], logStartOffset: number, endOffset?: number): TrailVerification {
  const problems: TrailProblem[] = [];
  const byChain = new Map<string, Map<number, Parsed>>();
  let duplicates = 0;
  for (const record of records) {
    let entry: TrailEntry;
    try {
      entry = decodeEntry(record.value);
    } catch (err) {
      if (!(err instanceof UnreadableEntry)) throw err;
      problems.push({ kind: 'unreadable', offset: record.offset, detail: `offset ${record.offset}: ${err.message}` });
      continue;
    }
    if (entry.organId !== organId) {
      problems.push({ kind: 'foreign', chain: entry.chain, seq: entry.seq, offset: record.offset, detail: `offset ${record.offset}: a record of ${entry.organId} in the trail of ${organId}` });
      continue;
    }
    const parsed = { entry, hash: hashOf(record.value), offset: record.offset };
    let chain = byChain.get(entry.chain);
    if (!chain) byChain.set(entry.chain, (chain = new Map()));
    const same = chain.get(entry.seq);
    if (!same) chain.set(entry.seq, parsed);
    else if (same.hash === parsed.hash) duplicates += 1;
    else {
      problems.push({
        kind: 'fork',
        chain: entry.chain,
        seq: entry.seq,
        offset: record.offset,
        detail: `chain ${entry.chain} has two different records at seq ${entry.seq} (offsets ${same.offset} and ${record.offset}): one of them was altered`,
      });
    }
  }

  const retentionCut = logStartOffset > 0;
  const chains: ChainSummary[] = [];
  const ordered = new Map<string, Parsed[]>();
  for (const [chainId, bySeq] of byChain) {
    const list = [...bySeq.values()].sort((a, b) => a.entry.seq - b.entry.seq);
    ordered.set(chainId, list);
    chains.push(checkChain(chainId, list, retentionCut, problems));
  }
  checkVouchedHeads(ordered, chains, retentionCut, problems);
  chains.sort((a, b) => a.firstAt.localeCompare(b.firstAt));
  return { ok: problems.length === 0, organId, records: records.length, duplicates, logStartOffset, endOffset: endOffset ?? (records.at(-1)?.offset ?? logStartOffset - 1) + 1, chains, problems };
}

function checkChain(chainId: string, list: Parsed[], retentionCut: boolean, problems: TrailProblem[]): ChainSummary {
  const first = list[0]!;
  const last = list[list.length - 1]!;
  let cutByRetention = false;
  if (first.entry.seq > 0) {
    if (retentionCut) cutByRetention = true;
    else problems.push({ kind: 'gap', chain: chainId, seq: 0, offset: first.offset, detail: `chain ${chainId}: records 0–${first.entry.seq - 1} are missing, and the topic starts at offset 0` });
  } else if (first.entry.prev !== '' || first.entry.step !== 'chain-opened') {
    problems.push({ kind: 'altered', chain: chainId, seq: 0, offset: first.offset, detail: `chain ${chainId}: its first record is not a chain opening` });
  }
  let closedAt: number | undefined;
  for (let i = 0; i < list.length; i++) {
    const current = list[i]!;
    if (closedAt !== undefined) {
      problems.push({ kind: 'after-close', chain: chainId, seq: current.entry.seq, offset: current.offset, detail: `chain ${chainId}: seq ${current.entry.seq} follows its close at seq ${closedAt}` });
    }
    if (current.entry.step === 'chain-closed') closedAt ??= current.entry.seq;
    const before = list[i - 1];
    if (!before) continue;
    if (current.entry.seq !== before.entry.seq + 1) {
      const missing = current.entry.seq - before.entry.seq - 1;
      problems.push({
        kind: 'gap',
        chain: chainId,
        seq: before.entry.seq + 1,
        offset: current.offset,
        detail: `chain ${chainId}: ${missing} record(s) removed between seq ${before.entry.seq} (offset ${before.offset}) and seq ${current.entry.seq} (offset ${current.offset})`,
      });
    } else if (current.entry.prev !== before.hash) {
      problems.push({
        kind: 'altered',
        chain: chainId,
        seq: before.entry.seq,
        offset: before.offset,
        detail: `chain ${chainId}: seq ${before.entry.seq} (offset ${before.offset}) does not hash to what seq ${current.entry.seq} (offset ${current.offset}) committed to: one of the two was altered`,
      });
    }
  }
  const opened = first.entry.step === 'chain-opened' ? first.entry.writer : undefined;
  return {
    chain: chainId,
    records: list.length,
    firstSeq: first.entry.seq,
    lastSeq: last.entry.seq,
    head: last.hash,
    closed: closedAt !== undefined,
    cutByRetention,
    writer: opened ? { host: opened.host, pid: opened.pid, role: opened.role } : undefined,
    firstAt: first.entry.at,
    lastAt: last.entry.at,
  };
}

/** A chain-opened or checkpoint names other chains' heads: each must still be there, unchanged. */
function checkVouchedHeads(ordered: Map<string, Parsed[]>, chains: ChainSummary[], retentionCut: boolean, problems: TrailProblem[]): void {
  const summary = new Map(chains.map((c) => [c.chain, c]));
  for (const [chainId, list] of ordered) {
    for (const { entry, offset } of list) {
      if (entry.step !== 'chain-opened' && entry.step !== 'checkpoint') continue;
      for (const head of entry.heads as ChainHead[]) {
        const where = `${entry.step} at seq ${entry.seq} of chain ${chainId} (offset ${offset})`;
        const target = summary.get(head.chain);
        if (!target) {
          // After retention removed the topic's start, a whole chain may lie before it.
          if (!retentionCut) problems.push({ kind: 'truncated', chain: head.chain, seq: head.seq, offset, detail: `chain ${head.chain} is gone, though ${where} vouched for it up to seq ${head.seq}` });
          continue;
        }
        if (target.cutByRetention && head.seq < target.firstSeq) continue;
        if (head.seq > target.lastSeq) {
          problems.push({
            kind: 'truncated',
            chain: head.chain,
            seq: target.lastSeq + 1,
            offset,
            detail: `chain ${head.chain} ends at seq ${target.lastSeq}, but ${where} vouched for it up to seq ${head.seq}: records were removed from its end`,
          });
          continue;
        }
        const vouched = ordered.get(head.chain)!.find((p) => p.entry.seq === head.seq);
        if (vouched && vouched.hash !== head.hash) {
          problems.push({ kind: 'altered', chain: head.chain, seq: head.seq, offset: vouched.offset, detail: `chain ${head.chain} seq ${head.seq} (offset ${vouched.offset}) is not the record ${where} vouched for` });
        }
      }
    }
  }
}
