/**
 * The conformance kit: round-trips packages through a vendor's profile (edXML → vendor → edXML)
 * and reports every element that was lost, altered or added on the way, by its model path
 * (`header.subject`, `header.to[0].organName`, `attachments[0].sha256`…). Pure.
 */
import { createHash } from 'node:crypto';
import { readPackage } from '../../edxml/reader';
import { attachmentSource } from '../../edxml/attachments';
import type { EdxmlPackage } from '../../edxml/model';
import { isRejection } from '../../errors';
import type { FormatProfile } from '../profile';
import { idempotencyKey, sha256Hex } from '../../pipeline/identity';

export type Difference =
  | { change: 'lost'; path: string; before: unknown }
  | { change: 'altered'; path: string; before: unknown; after: unknown }
  | { change: 'added'; path: string; after: unknown };

export interface ConformanceResult {
  name: string;
  kind?: 'edoc' | 'status';
  /** The profile failed outright (either direction); the reason names field, rule and input. */
  failure?: string;
  differences: Difference[];
}

/** What of a package a legacy system can be expected to keep: the business content. */
export function comparableView(pkg: EdxmlPackage): Record<string, unknown> {
  if (pkg.kind === 'status') {
    return {
      from: pkg.from,
      responseFor: pkg.responseFor,
      staffInfo: pkg.staffInfo,
      statusCode: pkg.statusCode,
      description: pkg.description,
      timestamp: pkg.timestamp,
    };
  }
  return {
    documentId: pkg.documentId,
    header: pkg.header,
    bussiness: pkg.trace.bussiness,
    attachments: pkg.attachments.map((a) => {
      const src = attachmentSource(a);
      return {
        attachmentName: a.attachmentName,
        contentType: a.contentType ?? a.mimeType,
        description: a.description,
        size: a.size,
        sha256: createHash('sha256').update(src.decodeRange(0, src.size)).digest('hex'),
      };
    }),
  };
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(isEmpty));
}

export function diff(before: unknown, after: unknown, path = ''): Difference[] {
  if (isEmpty(before) && isEmpty(after)) return [];
  if (isEmpty(after)) return [{ change: 'lost', path, before }];
  if (isEmpty(before)) return [{ change: 'added', path, after }];
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: Difference[] = [];
    for (let i = 0; i < Math.max(before.length, after.length); i++) out.push(...diff(before[i], after[i], `${path}[${i}]`));
    return out;
  }
  if (typeof before === 'object' && typeof after === 'object' && !Array.isArray(before) && !Array.isArray(after)) {
    const b = before as Record<string, unknown>;
    const a = after as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])];
    return keys.flatMap((k) => diff(b[k], a[k], path ? `${path}.${k}` : k));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ change: 'altered', path, before, after }];
}

/**
 * edXML → vendor (as if delivered to this agency) → edXML (as if the vendor sent it back as the
 * original sender), then the two compared.
 */
export function roundTrip(name: string, edxml: Buffer, profile: FormatProfile, options: Record<string, unknown>, ownOrganId: string): ConformanceResult {
  let original: EdxmlPackage;
  try {
    original = readPackage(edxml);
  } catch (err) {
    return { name, failure: `not a readable package: ${(err as Error).message}`, differences: [] };
  }
  const step = (what: string, fn: () => Buffer) => {
    try {
      return fn();
    } catch (err) {
      throw new Error(`${what}: ${isRejection(err) ? `${err.reason}: ${err.detail}` : (err as Error).message}`);
    }
  };
  try {
    const delivery = {
      documentId: original.documentId,
      idempotencyKey: idempotencyKey(original.documentId, sha256Hex(edxml)),
      kind: original.kind,
      statusCode: original.kind === 'status' ? original.statusCode : undefined,
      fromOrganId: original.from.organId,
    };
    let vendor: ReturnType<FormatProfile['fromEdxml']> | undefined;
    step('edXML → vendor', () => {
      vendor = profile.fromEdxml(edxml, { ownOrganId, options, delivery });
      return vendor.body;
    });
    const back = step('vendor → edXML', () => profile.toEdxml(vendor!, { ownOrganId: original.from.organId, options }));
    const again = step('reading the result', () => {
      readPackage(back);
      return back;
    });
    return { name, kind: original.kind, differences: diff(comparableView(original), comparableView(readPackage(again))) };
  } catch (err) {
    return { name, kind: original.kind, failure: (err as Error).message, differences: [] };
  }
}
