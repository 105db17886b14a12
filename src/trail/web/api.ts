/**
 * The JSON the web page reads. Filtering and pagination happen here, on the server, so a page of
 * 50 rows costs the same with 100,000 documents in the read model.
 */
import { STAGES, type DocumentQuery, type Direction, type Stage, type TrailReadModel } from '../read-model';
import type { OverdueRules } from '../overdue';

export class BadQuery extends Error {}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const VIETNAM_OFFSET_MS = 7 * 3_600_000;

/** `YYYY-MM-DD` as local (Vietnam) midnight. */
function vietnamMidnight(date: string, field: string): number {
  if (!DATE.test(date)) throw new BadQuery(`${field}: expected YYYY-MM-DD, found ${JSON.stringify(date.slice(0, 40))}`);
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d) - VIETNAM_OFFSET_MS;
}

function integer(text: string | null, field: string, fallback: number, max: number): number {
  if (text === null || text === '') return fallback;
  if (!/^\d{1,9}$/.test(text)) throw new BadQuery(`${field}: expected a whole number, found ${JSON.stringify(text.slice(0, 40))}`);
  return Math.min(max, Number(text));
}

export function parseDocumentQuery(params: URLSearchParams): DocumentQuery {
  const direction = params.get('direction') || undefined;
  if (direction && direction !== 'outbound' && direction !== 'inbound') throw new BadQuery(`direction: expected outbound or inbound, found ${JSON.stringify(direction.slice(0, 40))}`);
  const stage = params.get('stage') || undefined;
  if (stage && !(STAGES as readonly string[]).includes(stage)) throw new BadQuery(`stage: expected one of ${STAGES.join(', ')}`);
  const from = params.get('from') || undefined;
  const to = params.get('to') || undefined;
  return {
    direction: direction as Direction | undefined,
    stage: stage as Stage | undefined,
    counterpart: params.get('counterpart')?.slice(0, 64) || undefined,
    overdueOnly: params.get('overdue') === '1',
    from: from ? vietnamMidnight(from, 'from') : undefined,
    // `to` is inclusive for a reader: documents of that whole day.
    to: to ? vietnamMidnight(to, 'to') + 86_400_000 : undefined,
    text: params.get('q')?.slice(0, 200) || undefined,
    offset: integer(params.get('offset'), 'offset', 0, 10_000_000),
    limit: integer(params.get('limit'), 'limit', 50, 500),
  };
}

export function documentDetail(model: TrailReadModel, rules: OverdueRules, documentId: string, now = Date.now()): unknown {
  const doc = model.document(documentId);
  if (!doc) return undefined;
  return {
    ...model.summary(doc, now),
    meta: doc.meta,
    completionDeadline: doc.completionDeadline,
    parties: [...doc.parties.values()].map((p) => ({ ...p, limits: rules.limitsFor(p.organId) })),
    steps: doc.steps,
  };
}
