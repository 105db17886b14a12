/**
 * Is this package acceptable? `validatePackage` reads it with the tolerant reader, then checks it
 * against the rules the field agrees on (SPEC §4–§11), listing every problem with its element path
 * and the rule broken. Tolerated deviations (a dd/MM/yyyy date, a repaired xlink prefix, an
 * unknown element…) are listed as warnings and do not make a package unacceptable.
 *
 * `validatePackage` is synchronous and touches attachments only through their base64 length and
 * zip central directory; `validatePackageDeep` also streams every attachment through decoding and
 * inflating, so actual (not declared) zip sizes and CRCs are checked.
 */
import { Rejection } from '../errors';
import { DEFAULT_LIMITS, type Limits } from '../limits';
import { attachmentSource, drain, openZipEntry, readZipDirectory } from './attachments';
import {
  type EdocPackage,
  type EdxmlPackage,
  type Problem,
  type SignatureInfo,
  type StatusCode,
  type StatusPackage,
} from './model';
import { isSaneOrganId, organIdForm, type OrganIdReport } from './organ-id';
import { readPackage } from './reader';

export interface ValidationResult {
  ok: boolean;
  kind?: 'edoc' | 'status';
  documentId?: string;
  statusCode?: StatusCode;
  /** Everything that makes the package unacceptable. */
  problems: Problem[];
  /** Deviations the reader tolerated; they do not make the package unacceptable. */
  warnings: Problem[];
  /** Every OrganId in the package, with the form it has (SPEC §11). */
  organIds?: OrganIdReport[];
  /** Signature elements found (judged by src/signature, not here). */
  signatures?: SignatureInfo[];
  /** When the package could not be read at all: the typed reason. */
  rejection?: { reason: string; detail: string; limit?: string };
}

const MH = '/edXML/edXMLEnvelope/edXMLHeader/MessageHeader';
const TRACE = '/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList';
const MANIFEST = '/edXML/edXMLEnvelope/edXMLBody/edXMLManifest';
const ATTACHMENTS = '/edXML/AttachmentEncoded';

/** Reader notes that make a package unacceptable; every other note is a warning. */
const NOTE_IS_PROBLEM = new Set([
  'bad-date',
  'bad-timestamp',
  'not-an-integer',
  'not-a-boolean',
  'bussiness-doc-type',
  'base64',
  'missing-element',
  'duplicate-element',
  'empty-attachment',
]);

function indexed(path: string, name: string, k: number, n: number): string {
  return n > 1 ? `${path}/${name}[${k + 1}]` : `${path}/${name}`;
}

/** A Rejection as one problem: the path is the detail's prefix when it has one. */
export function rejectionProblem(err: Rejection): Problem {
  const m = /^(\/[^:\s]*): (.*)$/s.exec(err.detail);
  return {
    path: m ? m[1]! : '/',
    rule: err.limit ?? err.reason,
    message: m ? m[2]! : err.detail,
  };
}

function collectOrganIds(pkg: EdxmlPackage): OrganIdReport[] {
  const out: OrganIdReport[] = [];
  const add = (path: string, value: string | undefined): void => {
    if (value === undefined) return;
    out.push({ path, value, form: organIdForm(value), sane: isSaneOrganId(value) });
  };
  add(`${MH}/From/OrganId`, pkg.from.organId);
  if (pkg.kind === 'status') {
    add(`${MH}/ResponseFor/OrganId`, pkg.responseFor.organId);
    return out;
  }
  pkg.to.forEach((t, k) => add(`${indexed(MH, 'To', k, pkg.to.length)}/OrganId`, t.organId));
  pkg.header.responseFor.forEach((r, k) => add(`${indexed(MH, 'ResponseFor', k, pkg.header.responseFor.length)}/OrganId`, r.organId));
  const th = pkg.trace.traceHeaders;
  th.forEach((t, k) => add(`${indexed(TRACE, 'TraceHeader', k, th.length)}/OrganId`, t.organId));
  const b = pkg.trace.bussiness;
  if (b) {
    b.bussinessDocumentInfo.forEach((info, i) =>
      info.receivers.forEach((r, k) =>
        add(`${TRACE}/Bussiness/BussinessDocumentInfo[${i + 1}]/ReceiverList/Receiver[${k + 1}]/OrganId`, r.organId),
      ),
    );
    b.replacementInfo.forEach((r, i) =>
      r.organIds.forEach((id, k) => add(`${TRACE}/Bussiness/ReplacementInfoList/ReplacementInfo[${i + 1}]/OrganIdList/OrganId[${k + 1}]`, id)),
    );
  }
  return out;
}

class Checker {
  readonly problems: Problem[] = [];
  readonly warnings: Problem[] = [];

  problem(path: string, rule: string, message: string): void {
    this.problems.push({ path, rule, message });
  }

  warn(path: string, rule: string, message: string): void {
    this.warnings.push({ path, rule, message });
  }

  required(value: unknown, path: string, what = path.split('/').pop()!): void {
    if (value === undefined || value === null || value === '') this.problem(path, 'required', `${what} is required`);
  }
}

function checkEdoc(pkg: EdocPackage, c: Checker): void {
  const h = pkg.header;
  c.required(h.code?.codeNumber, `${MH}/Code/CodeNumber`);
  c.required(h.code?.codeNotation, `${MH}/Code/CodeNotation`);
  c.required(h.promulgationInfo?.promulgationDate, `${MH}/PromulgationInfo/PromulgationDate`);
  c.required(h.documentType?.type, `${MH}/DocumentType/Type`);
  c.required(h.documentType?.typeName, `${MH}/DocumentType/TypeName`);
  c.required(h.subject, `${MH}/Subject`);
  c.required(h.otherInfo?.priority, `${MH}/OtherInfo/Priority`);
  c.required(h.steeringType, `${MH}/SteeringType`);
  const priority = h.otherInfo?.priority;
  if (priority !== undefined && (priority < 0 || priority > 4)) {
    c.problem(`${MH}/OtherInfo/Priority`, 'priority-range', `Priority ${priority} is not in 0..4`);
  }
  for (const [name, v] of [
    ['PromulgationAmount', h.otherInfo?.promulgationAmount],
    ['PageAmount', h.otherInfo?.pageAmount],
  ] as const) {
    if (v !== undefined && v < 0) c.problem(`${MH}/OtherInfo/${name}`, 'non-negative', `${name} ${v} is negative`);
  }
  if (pkg.documentIdSource === 'derived') {
    c.warn(`${MH}/DocumentId`, 'document-id-derived', `no DocumentId; the SPEC §15 rule gives ${pkg.documentId}`);
  }
  const seen = new Set<string>();
  pkg.to.forEach((t, k) => {
    if (seen.has(t.organId)) c.warn(`${indexed(MH, 'To', k, pkg.to.length)}/OrganId`, 'duplicate-recipient', `${t.organId} is listed twice`);
    seen.add(t.organId);
  });

  const b = pkg.trace.bussiness;
  if (b) {
    const bp = `${TRACE}/Bussiness`;
    if (b.bussinessDocType === undefined && !pkg.notes.some((n) => n.rule === 'bussiness-doc-type')) {
      c.problem(`${bp}/BussinessDocType`, 'required', 'BussinessDocType is required in Bussiness (0 new, 1 recall, 2 update, 3 replace)');
    }
    if (b.bussinessDocType === 2 && b.bussinessDocumentInfo.length === 0) {
      c.warn(`${bp}/BussinessDocumentInfo`, 'update-without-info', 'an update (BussinessDocType 2) usually says what changed in BussinessDocumentInfo');
    }
    if (b.bussinessDocType === 3 && b.replacementInfo.length === 0) {
      c.warn(`${bp}/ReplacementInfoList`, 'replace-without-info', 'a replacement (BussinessDocType 3) usually names the replaced document in ReplacementInfo');
    }
  } else {
    c.warn(`${TRACE}/Bussiness`, 'no-bussiness', 'no Bussiness block: read as a new document (BussinessDocType 0)');
  }
  pkg.trace.traceHeaders.forEach((t, k) => {
    if (t.organId !== undefined && !isSaneOrganId(t.organId)) {
      c.warn(`${indexed(TRACE, 'TraceHeader', k, pkg.trace.traceHeaders.length)}/OrganId`, 'organid-charset', `trace OrganId ${JSON.stringify(t.organId)} has unusual characters`);
    }
  });

  // Manifest ↔ attachments (SPEC §9): one Reference per Attachment, paired by ContentId.
  const refs = pkg.manifest.references;
  const paired = new Set<number>();
  pkg.attachments.forEach((a, k) => {
    const ap = indexed(ATTACHMENTS, 'Attachment', k, pkg.attachments.length);
    if (a.referenceIndex === undefined) c.problem(ap, 'manifest-pairing', `attachment ${a.contentId ?? k + 1} has no Reference in the manifest`);
    else paired.add(a.referenceIndex);
    if (!a.attachmentName) c.problem(`${ap}/AttachmentName`, 'required', 'AttachmentName is required');
    if (a.zipped) {
      try {
        readZipDirectory(attachmentSource(a), `attachment ${a.attachmentName ?? k + 1}`);
      } catch (err) {
        if (!(err instanceof Rejection)) throw err;
        c.problem(`${ap}/ContentTransferEncoded`, err.limit ?? 'zip', err.detail);
      }
    }
  });
  refs.forEach((r, k) => {
    if (!paired.has(k)) c.problem(indexed(MANIFEST, 'Reference', k, refs.length), 'manifest-pairing', `Reference ${r.contentId ?? k + 1} has no Attachment`);
  });
}

function checkStatus(pkg: StatusPackage, c: Checker): void {
  const rf = `${MH}/ResponseFor`;
  if (!pkg.responseFor.code) c.warn(`${rf}/Code`, 'recommended', 'ResponseFor/Code (number/notation of the document) is missing');
  if (!pkg.responseFor.promulgationDate) c.warn(`${rf}/PromulgationDate`, 'recommended', 'ResponseFor/PromulgationDate is missing');
  if (!pkg.timestamp && !pkg.notes.some((n) => n.rule === 'bad-timestamp')) c.problem(`${MH}/Timestamp`, 'required', 'Timestamp is required');
  if (pkg.statusCode === '02' && !pkg.description) {
    c.warn(`${MH}/Description`, 'rejection-reason', 'a rejection (02) should give its reason in Description');
  }
}

/** Every problem of a package, synchronously. Never throws for bad input. */
export function validatePackage(bytes: Buffer, limits: Limits = DEFAULT_LIMITS): ValidationResult {
  let pkg: EdxmlPackage;
  try {
    pkg = readPackage(bytes, limits);
  } catch (err) {
    const rej = err instanceof Rejection ? err : new Rejection('invalid-edxml', err instanceof Error ? err.message : String(err));
    return {
      ok: false,
      problems: [rejectionProblem(rej)],
      warnings: [],
      rejection: { reason: rej.reason, detail: rej.detail, ...(rej.limit ? { limit: rej.limit } : {}) },
    };
  }
  return validateRead(pkg);
}

/** The model checks on a package already read (the pipeline reads once and validates this way). */
export function validateRead(pkg: EdxmlPackage): ValidationResult {
  const c = new Checker();
  for (const n of pkg.notes) (NOTE_IS_PROBLEM.has(n.rule) ? c.problems : c.warnings).push(n);
  for (const r of pkg.repairs) c.warn('/edXML', 'repaired', `tolerated and repaired: ${r}`);
  if (pkg.kind === 'edoc') checkEdoc(pkg, c);
  else checkStatus(pkg, c);
  return {
    ok: c.problems.length === 0,
    kind: pkg.kind,
    documentId: pkg.documentId,
    ...(pkg.kind === 'status' ? { statusCode: pkg.statusCode } : {}),
    problems: c.problems,
    warnings: c.warnings,
    organIds: collectOrganIds(pkg),
    signatures: pkg.signatures,
  };
}

/**
 * validatePackage plus a full pass over every attachment: base64 decoded and zips inflated as
 * streams (memory stays bounded), with actual sizes, ratios and CRCs checked against the limits.
 */
export async function validatePackageDeep(bytes: Buffer, limits: Limits = DEFAULT_LIMITS): Promise<ValidationResult> {
  let pkg: EdxmlPackage;
  try {
    pkg = readPackage(bytes, limits);
  } catch {
    return validatePackage(bytes, limits);
  }
  return validateReadDeep(pkg);
}

/**
 * validateRead plus the full pass over zipped attachments, on a package already read (in memory
 * or spooled). This is the one rule set: `vdxp validate` reports it and the send pipeline refuses
 * what it finds, so a package the tool calls acceptable is one the connector sends.
 */
export async function validateReadDeep(pkg: EdxmlPackage): Promise<ValidationResult> {
  const result = validateRead(pkg);
  if (pkg.kind !== 'edoc') return result;
  const zipProblemPaths = new Set(result.problems.map((p) => p.path));
  for (const [k, a] of pkg.attachments.entries()) {
    const ap = `${indexed(ATTACHMENTS, 'Attachment', k, pkg.attachments.length)}/ContentTransferEncoded`;
    if (!a.zipped || zipProblemPaths.has(ap)) continue;
    try {
      const src = attachmentSource(a);
      const dir = readZipDirectory(src, `attachment ${a.attachmentName ?? k + 1}`);
      for (const entry of dir.files) await drain(openZipEntry(src, entry, `attachment ${a.attachmentName ?? k + 1}`));
    } catch (err) {
      const rej = err instanceof Rejection ? err : new Rejection('invalid-edxml', err instanceof Error ? err.message : String(err));
      result.problems.push({ path: ap, rule: rej.limit ?? 'zip', message: rej.detail });
    }
  }
  result.ok = result.problems.length === 0;
  return result;
}

/** The Rejection the send pipeline answers with when validateReadDeep found problems. */
export function unacceptable(result: ValidationResult): Rejection {
  const listed = result.problems.map((p) => `${p.path} [${p.rule}] ${p.message}`).join('; ');
  const n = result.problems.length;
  return new Rejection('invalid-edxml', `${n} problem${n === 1 ? '' : 's'} (the rules of vdxp validate): ${listed}`);
}
