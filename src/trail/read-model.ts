/**
 * The read model (issue 18 §2): where every document stands, rebuilt in memory from the trail
 * topic at start and kept current by following it (./follower.ts). No local database: every
 * replica reads the same topic and so shows the same view. It serves `vdxp track`, the web page,
 * the overdue gauge, and other connectors in the same process (the VXP connector's
 * getSentEdocList: `sentDocuments`).
 */
import { OVERDUE_STAGES, type OverdueRules, type OverdueStage } from './overdue';
import type { ChainHead, DocumentMeta, StepName, StoredEntry, TrailEntry } from './record';

export type Direction = 'outbound' | 'inbound';

/** Where a document stands with one counterpart, least to most advanced; then the ends that are not done. */
export const STAGES = ['sent', 'on-backbone', 'arrived', 'accepted', 'assigned', 'processing', 'done', 'rejected', 'refused', 'cancelled'] as const;
export type Stage = (typeof STAGES)[number];
const TERMINAL: ReadonlySet<Stage> = new Set(['done', 'rejected', 'refused', 'cancelled']);

/** Status codes that mean at least accepted, and the stage each one reaches. */
const STATUS_STAGE: Record<string, Stage | undefined> = { '01': 'arrived', '03': 'accepted', '04': 'assigned', '05': 'processing', '06': 'done', '02': 'rejected', '13': 'cancelled' };
const RANK = new Map<Stage, number>(STAGES.map((s, i) => [s, i]));

export interface TimelineStep {
  at: number;
  step: StepName;
  /** Offset of the record in the trail topic. */
  offset: number;
  counterpart?: string;
  statusCode?: string;
  /** The rest of the record: placement, certificate, sinks, reason… */
  evidence: Record<string, unknown>;
}

export interface PartyState {
  organId: string;
  name?: string;
  /** The clock of the overdue rules starts here: written to the backbone (outbound) or received (inbound). */
  startedAt?: number;
  arrivedAt?: number;
  acceptedAt?: number;
  doneAt?: number;
  rejectedAt?: number;
  rejectReason?: string;
  cancelledAt?: number;
  latestStatus?: { code: string; at: number };
  deadlines?: { arrival: number; acceptance: number };
  stage: Stage;
}

export interface DocumentState {
  documentId: string;
  direction: Direction;
  meta: DocumentMeta;
  firstAt: number;
  lastAt: number;
  parties: Map<string, PartyState>;
  steps: TimelineStep[];
  completionDeadline?: number;
  /** DocumentId, code and subject folded for search; built at the first search. */
  search?: string;
}

export interface OverdueMark {
  counterpart: string;
  stage: OverdueStage;
  /** When it was due. */
  dueAt: number;
}

export interface DocumentSummary {
  documentId: string;
  direction: Direction;
  subject?: string;
  code?: string;
  dueDate?: string;
  firstAt: number;
  lastAt: number;
  parties: Array<{ organId: string; name?: string; stage: Stage; latestStatus?: { code: string; at: number } }>;
  overdue: OverdueMark[];
}

export interface DocumentQuery {
  direction?: Direction;
  counterpart?: string;
  stage?: Stage;
  overdueOnly?: boolean;
  /** firstAt within [from, to) (ms since the epoch). */
  from?: number;
  to?: number;
  /** Part of the DocumentId, code or subject; case and diacritics do not matter. */
  text?: string;
  offset?: number;
  limit?: number;
}

export interface DocumentPage {
  total: number;
  offset: number;
  limit: number;
  items: DocumentSummary[];
}

/** One document this agency sent, with the latest status of each recipient (VXP getSentEdocList). */
export interface SentDocument {
  documentId: string;
  sentAt: number;
  subject?: string;
  code?: string;
  recipients: Array<{ organId: string; stage: Stage; writtenAt?: number; latestStatus?: { code: string; at: number } }>;
}

/**
 * The query API another connector in the same process may use (issue 18 §7: one read model).
 * RunningAgency.trail is one; connectors get it through ConnectorServices (src/connectors/index.ts).
 */
export interface SentDocumentsQuery {
  /** Documents sent by this agency with firstAt in [from, to), oldest first, at most `limit` (default 1000). */
  sentDocuments(range: { from?: Date; to?: Date; limit?: number }): SentDocument[];
}

const MAX_PAGE = 500;

export class TrailReadModel implements SentDocumentsQuery {
  private readonly documents = new Map<string, DocumentState>();
  private readonly chainHeads = new Map<string, ChainHead & { at: number }>();
  private readonly strings = new Map<string, string>();
  private recordCount = 0;

  constructor(private readonly rules: OverdueRules) {}

  get records(): number {
    return this.recordCount;
  }

  get size(): number {
    return this.documents.size;
  }

  /** Latest record of every chain seen: what a writer vouches for in its checkpoints. */
  heads(): Array<ChainHead & { at: number }> {
    return [...this.chainHeads.values()];
  }

  document(documentId: string): DocumentState | undefined {
    return this.documents.get(documentId);
  }

  apply({ entry, hash, offset }: StoredEntry): void {
    this.recordCount += 1;
    const at = Date.parse(entry.at);
    const head = this.chainHeads.get(entry.chain);
    // An empty hash: the follower hashes only the last record of a chain in each batch.
    if (hash && (!head || head.seq < entry.seq)) this.chainHeads.set(entry.chain, { chain: this.intern(entry.chain), seq: entry.seq, hash, at });
    if (!('documentId' in entry) || !entry.documentId) return;
    const direction = directionOf(entry);
    if (!direction) return;
    const doc = this.documentFor(entry.documentId, direction, at);
    if (isDuplicate(doc, entry)) return;
    doc.lastAt = Math.max(doc.lastAt, at);
    doc.firstAt = Math.min(doc.firstAt, at);
    const { v: _v, chain: _c, seq: _s, prev: _p, at: _a, organId: _o, step, documentId: _d, ...rest } = entry as TrailEntry & { documentId: string };
    const counterpart = 'counterpart' in entry ? entry.counterpart : 'counterparts' in entry ? entry.counterparts?.join(',') : undefined;
    const statusCode = 'statusCode' in entry ? entry.statusCode : undefined;
    doc.steps.push({ at, step, offset, counterpart: counterpart && this.intern(counterpart), statusCode, evidence: this.internAll(rest) });
    this.update(doc, entry, at);
  }

  private documentFor(documentId: string, direction: Direction, at: number): DocumentState {
    let doc = this.documents.get(documentId);
    if (!doc) this.documents.set(documentId, (doc = { documentId, direction, meta: {}, firstAt: at, lastAt: at, parties: new Map(), steps: [] }));
    return doc;
  }

  private party(doc: DocumentState, organId: string): PartyState {
    let p = doc.parties.get(organId);
    if (!p) doc.parties.set(organId, (p = { organId: this.intern(organId), name: doc.meta.names?.[organId], stage: 'sent' }));
    return p;
  }

  private update(doc: DocumentState, entry: TrailEntry, at: number): void {
    switch (entry.step) {
      case 'taken':
        if (entry.kind === 'edoc') {
          this.setMeta(doc, entry.meta);
          for (const c of entry.counterparts) this.party(doc, c);
        }
        break;
      case 'refused':
        for (const c of entry.counterparts ?? []) {
          const p = this.party(doc, c);
          p.rejectReason = entry.reason;
          p.stage = 'refused';
        }
        break;
      case 'written': {
        const p = this.party(doc, entry.counterpart);
        if (entry.kind === 'edoc') this.start(p, at);
        else this.status(p, entry.statusCode, at); // our legacy system's status for a document we received
        break;
      }
      case 'received': {
        const p = this.party(doc, entry.counterpart);
        if (entry.kind === 'edoc') {
          this.setMeta(doc, entry.meta);
          this.start(p, at);
        } else this.status(p, entry.statusCode, at); // a recipient's status for a document we sent
        break;
      }
      case 'delivered':
        if (entry.kind === 'edoc') this.reach(this.party(doc, entry.counterpart), 'arrived', at);
        break;
      case 'status-sent':
        this.status(this.party(doc, entry.counterpart), entry.statusCode, at);
        break;
      case 'dead-lettered':
        if (entry.counterpart && entry.kind !== 'status') {
          const p = this.party(doc, entry.counterpart);
          p.rejectReason = entry.reason;
          p.rejectedAt ??= at;
          p.stage = 'rejected';
        }
        break;
      case 'replayed':
        for (const p of doc.parties.values()) if (p.stage === 'rejected' && p.arrivedAt === undefined) ((p.rejectedAt = undefined), (p.stage = p.startedAt ? 'on-backbone' : 'sent'));
        break;
      default:
        break;
    }
    if (doc.completionDeadline === undefined && doc.meta.dueDate) doc.completionDeadline = this.rules.completionDeadline(doc.meta.dueDate);
  }

  private setMeta(doc: DocumentState, meta: DocumentMeta | undefined): void {
    if (!meta) return;
    const names = meta.names ? Object.fromEntries(Object.entries(meta.names).map(([k, v]) => [this.intern(k), this.intern(v)])) : doc.meta.names;
    doc.meta = { ...doc.meta, ...meta, names };
    doc.search = undefined;
    if (names) for (const p of doc.parties.values()) p.name ??= names[p.organId];
  }

  private start(p: PartyState, at: number): void {
    if (p.startedAt !== undefined && p.startedAt <= at) return;
    p.startedAt = at;
    p.deadlines = this.rules.deadlines(p.organId, at);
    if (RANK.get(p.stage)! < RANK.get('on-backbone')!) p.stage = 'on-backbone';
  }

  private status(p: PartyState, code: string | undefined, at: number): void {
    if (!code) return;
    if (!p.latestStatus || p.latestStatus.at <= at) p.latestStatus = { code, at };
    const stage = STATUS_STAGE[code];
    if (stage) this.reach(p, stage, at);
  }

  private reach(p: PartyState, stage: Stage, at: number): void {
    if (stage === 'rejected') p.rejectedAt ??= at;
    else if (stage === 'cancelled') p.cancelledAt ??= at;
    else {
      const rank = RANK.get(stage)!;
      if (rank >= RANK.get('arrived')!) p.arrivedAt = Math.min(p.arrivedAt ?? at, at);
      if (rank >= RANK.get('accepted')!) p.acceptedAt = Math.min(p.acceptedAt ?? at, at);
      if (stage === 'done') p.doneAt = Math.min(p.doneAt ?? at, at);
    }
    if (TERMINAL.has(p.stage) && p.stage !== 'rejected') return;
    if (p.stage === 'rejected' && stage !== 'cancelled' && stage !== 'done') return;
    if (TERMINAL.has(stage) || RANK.get(stage)! > RANK.get(p.stage)!) p.stage = stage;
  }

  /** The first stage of each counterpart that is past due at `now`, if any. */
  overdueOf(doc: DocumentState, now: number): OverdueMark[] {
    const marks: OverdueMark[] = [];
    for (const p of doc.parties.values()) {
      if (TERMINAL.has(p.stage) || !p.deadlines) continue;
      if (p.arrivedAt === undefined && now > p.deadlines.arrival) marks.push({ counterpart: p.organId, stage: 'arrival', dueAt: p.deadlines.arrival });
      else if (p.acceptedAt === undefined && now > p.deadlines.acceptance) marks.push({ counterpart: p.organId, stage: 'acceptance', dueAt: p.deadlines.acceptance });
      else if (p.doneAt === undefined && doc.completionDeadline !== undefined && now > doc.completionDeadline) marks.push({ counterpart: p.organId, stage: 'completion', dueAt: doc.completionDeadline });
    }
    return marks;
  }

  summary(doc: DocumentState, now: number): DocumentSummary {
    return {
      documentId: doc.documentId,
      direction: doc.direction,
      subject: doc.meta.subject,
      code: doc.meta.code,
      dueDate: doc.meta.dueDate,
      firstAt: doc.firstAt,
      lastAt: doc.lastAt,
      parties: [...doc.parties.values()].map((p) => ({ organId: p.organId, name: p.name, stage: p.stage, latestStatus: p.latestStatus })),
      overdue: this.overdueOf(doc, now),
    };
  }

  /** Server-side filtering and pagination, newest first. */
  query(q: DocumentQuery, now = Date.now()): DocumentPage {
    const offset = Math.max(0, Math.floor(q.offset ?? 0));
    const limit = Math.min(MAX_PAGE, Math.max(1, Math.floor(q.limit ?? 50)));
    const text = q.text ? fold(q.text) : undefined;
    const items: DocumentSummary[] = [];
    let total = 0;
    const all = [...this.documents.values()];
    for (let i = all.length - 1; i >= 0; i--) {
      const doc = all[i]!;
      if (q.direction && doc.direction !== q.direction) continue;
      if (q.from !== undefined && doc.firstAt < q.from) continue;
      if (q.to !== undefined && doc.firstAt >= q.to) continue;
      if (q.counterpart && !doc.parties.has(q.counterpart)) continue;
      if (q.stage && ![...doc.parties.values()].some((p) => p.stage === q.stage)) continue;
      if (text && !(doc.search ??= fold(`${doc.documentId} ${doc.meta.code ?? ''} ${doc.meta.subject ?? ''}`)).includes(text)) continue;
      let marks: OverdueMark[] | undefined;
      if (q.overdueOnly) {
        marks = this.overdueOf(doc, now).filter((m) => !q.counterpart || m.counterpart === q.counterpart);
        if (marks.length === 0) continue;
      }
      total += 1;
      if (total > offset && items.length < limit) items.push(this.summary(doc, now));
    }
    return { total, offset, limit, items };
  }

  /** Every overdue (document, counterpart), oldest due first. */
  overdue(now = Date.now(), counterpart?: string): Array<DocumentSummary & { mark: OverdueMark }> {
    const out: Array<DocumentSummary & { mark: OverdueMark }> = [];
    for (const doc of this.documents.values()) {
      for (const mark of this.overdueOf(doc, now)) {
        if (counterpart && mark.counterpart !== counterpart) continue;
        out.push({ ...this.summary(doc, now), mark });
      }
    }
    return out.sort((a, b) => a.mark.dueAt - b.mark.dueAt);
  }

  /** Counts for vdxp_documents_overdue: direction, counterpart and stage. */
  overdueCounts(now = Date.now()): Array<{ direction: Direction; counterpart: string; stage: OverdueStage; count: number }> {
    const counts = new Map<string, { direction: Direction; counterpart: string; stage: OverdueStage; count: number }>();
    for (const doc of this.documents.values()) {
      for (const mark of this.overdueOf(doc, now)) {
        const key = `${doc.direction}\u0000${mark.counterpart}\u0000${mark.stage}`;
        const c = counts.get(key);
        if (c) c.count += 1;
        else counts.set(key, { direction: doc.direction, counterpart: mark.counterpart, stage: mark.stage, count: 1 });
      }
    }
    return [...counts.values()];
  }

  sentDocuments(range: { from?: Date; to?: Date; limit?: number }): SentDocument[] {
    const from = range.from?.getTime() ?? Number.NEGATIVE_INFINITY;
    const to = range.to?.getTime() ?? Number.POSITIVE_INFINITY;
    const limit = range.limit ?? 1000;
    const out: SentDocument[] = [];
    for (const doc of this.documents.values()) {
      if (doc.direction !== 'outbound' || doc.firstAt < from || doc.firstAt >= to) continue;
      out.push({
        documentId: doc.documentId,
        sentAt: doc.firstAt,
        subject: doc.meta.subject,
        code: doc.meta.code,
        recipients: [...doc.parties.values()].map((p) => ({ organId: p.organId, stage: p.stage, writtenAt: p.startedAt, latestStatus: p.latestStatus })),
      });
    }
    return out.sort((a, b) => a.sentAt - b.sentAt).slice(0, limit);
  }

  /** Counterparts seen, for the page's filter. */
  counterparts(): string[] {
    const seen = new Set<string>();
    for (const doc of this.documents.values()) for (const p of doc.parties.keys()) seen.add(p);
    return [...seen].sort();
  }

  private intern(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    if (this.strings.size < 100_000) this.strings.set(s, s);
    return s;
  }

  /** Repeated strings in evidence (OrganIds, topics, sinks, certificate subjects) are kept once. */
  private internAll(value: Record<string, unknown>): Record<string, unknown> {
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'string' && v.length <= 256) value[k] = this.intern(v);
      else if (v && typeof v === 'object' && !Array.isArray(v)) this.internAll(v as Record<string, unknown>);
      else if (Array.isArray(v)) value[k] = v.map((x) => (typeof x === 'string' ? this.intern(x) : x));
    }
    return value;
  }
}

/** Which side of the exchange a record puts its document on. */
function directionOf(entry: TrailEntry): Direction | undefined {
  switch (entry.step) {
    case 'taken':
    case 'written':
    case 'refused':
      return entry.kind === 'status' ? 'inbound' : 'outbound';
    case 'signed':
      return entry.kind === 'status' ? 'inbound' : 'outbound';
    case 'received':
    case 'verified':
    case 'delivered':
      return entry.kind === 'status' ? 'outbound' : 'inbound';
    case 'dead-lettered':
      return entry.kind === 'status' ? 'outbound' : 'inbound';
    case 'status-sent':
    case 'replayed':
      return 'inbound';
    default:
      return undefined;
  }
}

/** The same step seen again (a redelivery after a crash re-derives its records): kept once. */
function isDuplicate(doc: DocumentState, entry: TrailEntry): boolean {
  const counterpart = 'counterpart' in entry ? entry.counterpart : undefined;
  const statusCode = 'statusCode' in entry ? entry.statusCode : undefined;
  for (let i = doc.steps.length - 1; i >= 0; i--) {
    const s = doc.steps[i]!;
    if (s.step !== entry.step || s.counterpart !== counterpart || s.statusCode !== statusCode) continue;
    if (entry.step === 'received' || entry.step === 'written') {
      const placement = s.evidence.placement as { topic: string; partition: number; offset: number } | undefined;
      if (placement && placement.topic === entry.placement.topic && placement.partition === entry.placement.partition && placement.offset === entry.placement.offset) return true;
      continue;
    }
    if (entry.step === 'taken' || entry.step === 'signed' || entry.step === 'verified' || entry.step === 'delivered' || entry.step === 'status-sent') return true;
  }
  return false;
}

/** Lower case without diacritics, so `cong van` finds `Công văn`. */
export function fold(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/gi, 'd').toLowerCase();
}

export { OVERDUE_STAGES };
