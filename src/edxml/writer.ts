/**
 * The strict writer: exactly the canonical layout of the official SDK samples (SPEC §2), element
 * orders of §4.1, §5, §6, §9 and §10.1, DocumentId by the rule of §15 when the model has none,
 * base64 in one line.
 *
 * The writer never rewrites a signed package: a model read from a package that carries a
 * Signature is refused (forward the original bytes instead; hop traces travel as Kafka headers,
 * not as edits to the document). Pass `dropSignatures: true` only when the output will be signed
 * afresh.
 *
 * Values are written trimmed; empty optional values are left out (SPEC §4.3). Everything the model
 * cannot express in XML (control characters, a bad date, a non-integer) is refused with
 * `Rejection('invalid-edxml', '<path>: …')`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Rejection } from '../errors';
import { AttachmentSource, attachmentSource } from './attachments';
import { dateFromDate, formatEdDate, formatEdTimestamp, isEdDate, isEdTimestamp, timestampFromDate } from './dates';
import {
  QCVN_NAMESPACE,
  isBussinessDocType,
  isStatusCode,
  type EdDate,
  type EdocModel,
  type ManifestReference,
  type NewAttachment,
  type Organization,
  type ReadAttachment,
  type ResponseFor,
  type StaffInfo,
  type StatusCode,
  type StatusModel,
} from './model';
import { deriveDocumentId } from './reader';

export interface WriteOptions {
  /** Write a model that came from a signed package, without its signature. */
  dropSignatures?: boolean;
}

const INDENT = '  ';
const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
/** Raw bytes per base64 encoding step (a multiple of 3). */
const ENCODE_CHUNK = 192 * 1024;

function invalid(path: string, message: string): Rejection {
  return new Rejection('invalid-edxml', `${path}: ${message}`);
}

// Characters XML 1.0 cannot carry: C0 controls but TAB/LF/CR, lone surrogates, U+FFFE/U+FFFF.
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text made writable: each character XML cannot carry becomes U+FFFD. For text the connector
 * composes itself from what it cannot vouch for (a rejection's detail, a sink's error message);
 * what the reader read needs none of it, since the reader refuses such characters.
 */
export function toXmlText(s: string): string {
  return s.replace(new RegExp(NOT_XML_CHAR.source, 'g'), '\uFFFD');
}

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

/** Accumulates the output as byte pieces; attachment base64 goes in without becoming a string. */
class Out {
  readonly pieces: Buffer[] = [];
  private text = '';

  raw(s: string): void {
    this.text += s;
    if (this.text.length > 64 * 1024) this.flush();
  }

  bytes(b: Buffer): void {
    this.flush();
    if (b.length) this.pieces.push(b);
  }

  flush(): void {
    if (this.text) this.pieces.push(Buffer.from(this.text, 'utf8'));
    this.text = '';
  }

  toBuffer(): Buffer {
    this.flush();
    return Buffer.concat(this.pieces);
  }
}

/** Element writer: `prefix` is `edXML:` inside the envelope, '' for AttachmentEncoded. */
class W {
  constructor(
    readonly out: Out,
    readonly prefix: string,
  ) {}

  open(depth: number, name: string, attrs = ''): void {
    this.out.raw(`${INDENT.repeat(depth)}<${this.prefix}${name}${attrs}>\n`);
  }

  close(depth: number, name: string): void {
    this.out.raw(`${INDENT.repeat(depth)}</${this.prefix}${name}>\n`);
  }

  /** A text element, left out when the value is absent or blank. */
  text(depth: number, name: string, value: string | undefined, path: string): void {
    if (value === undefined || value === null) return;
    if (typeof value !== 'string') throw invalid(`${path}/${name}`, `expected text, got ${typeof value}`);
    const v = value.trim();
    if (v === '') return;
    if (NOT_XML_CHAR.test(v)) throw invalid(`${path}/${name}`, 'contains a character XML cannot carry');
    this.out.raw(`${INDENT.repeat(depth)}<${this.prefix}${name}>${escapeText(v)}</${this.prefix}${name}>\n`);
  }

  /** A text element that must be there. */
  required(depth: number, name: string, value: string | undefined, path: string): void {
    if (value === undefined || value === null || String(value).trim() === '') throw invalid(`${path}/${name}`, 'is required');
    this.text(depth, name, value, path);
  }

  int(depth: number, name: string, value: number | undefined, path: string): void {
    if (value === undefined || value === null) return;
    if (!Number.isSafeInteger(value)) throw invalid(`${path}/${name}`, `${String(value)} is not an integer`);
    this.text(depth, name, String(value), path);
  }

  bool(depth: number, name: string, value: boolean | undefined, path: string): void {
    if (value === undefined || value === null) return;
    if (typeof value !== 'boolean') throw invalid(`${path}/${name}`, `${String(value)} is not a boolean`);
    this.text(depth, name, value ? 'true' : 'false', path);
  }

  date(depth: number, name: string, value: EdDate | undefined, path: string): void {
    if (value === undefined || value === null) return;
    if (!isEdDate(value)) throw invalid(`${path}/${name}`, `${JSON.stringify(value)} is not a YYYY-MM-DD date`);
    this.text(depth, name, formatEdDate(value), path);
  }

  timestamp(depth: number, name: string, value: string | undefined, path: string): void {
    if (value === undefined || value === null) return;
    if (!isEdTimestamp(value)) throw invalid(`${path}/${name}`, `${JSON.stringify(value)} is not a YYYY-MM-DDTHH:mm:ss timestamp`);
    this.text(depth, name, formatEdTimestamp(value), path);
  }
}

function hasAny(o: object | undefined): boolean {
  if (!o) return false;
  return Object.values(o).some((v) => (Array.isArray(v) ? v.length > 0 : v !== undefined && v !== null && v !== ''));
}

function writeOrganization(w: W, depth: number, name: string, org: Organization, path: string): void {
  if (!org || typeof org !== 'object') throw invalid(`${path}/${name}`, 'is required');
  const p = `${path}/${name}`;
  w.open(depth, name);
  w.required(depth + 1, 'OrganId', org.organId, p);
  w.text(depth + 1, 'OrganizationInCharge', org.organizationInCharge, p);
  w.text(depth + 1, 'OrganName', org.organName, p);
  w.text(depth + 1, 'OrganAdd', org.organAdd, p);
  w.text(depth + 1, 'Email', org.email, p);
  w.text(depth + 1, 'Telephone', org.telephone, p);
  w.text(depth + 1, 'Fax', org.fax, p);
  w.text(depth + 1, 'Website', org.website, p);
  w.close(depth, name);
}

function writeResponseFor(w: W, depth: number, rf: ResponseFor, path: string): void {
  const p = `${path}/ResponseFor`;
  w.open(depth, 'ResponseFor');
  w.text(depth + 1, 'OrganId', rf.organId, p);
  w.text(depth + 1, 'Code', rf.code, p);
  w.date(depth + 1, 'PromulgationDate', rf.promulgationDate, p);
  w.text(depth + 1, 'DocumentId', rf.documentId, p);
  w.close(depth, 'ResponseFor');
}

function writeStaffInfo(w: W, depth: number, s: StaffInfo, path: string): void {
  const p = `${path}/StaffInfo`;
  w.open(depth, 'StaffInfo');
  w.text(depth + 1, 'Department', s.department, p);
  w.text(depth + 1, 'DepartmentId', s.departmentId, p);
  w.text(depth + 1, 'Staff', s.staff, p);
  w.text(depth + 1, 'StaffId', s.staffId, p);
  w.text(depth + 1, 'Email', s.email, p);
  w.text(depth + 1, 'Mobile', s.mobile, p);
  w.close(depth, 'StaffInfo');
}

function refuseSigned(signatures: unknown[] | undefined, options: WriteOptions): void {
  if (signatures && signatures.length > 0 && !options.dropSignatures) {
    throw new Rejection(
      'invalid-edxml',
      'the model comes from a signed package: the writer never rewrites a signed package (forward its original bytes)',
    );
  }
}

function openShell(out: Out): void {
  out.raw(XML_DECL);
  out.raw(`<edXML xmlns="${QCVN_NAMESPACE}">\n`);
  out.raw(`${INDENT}<edXML:edXMLEnvelope xmlns:edXML="${QCVN_NAMESPACE}">\n`);
  out.raw(`${INDENT.repeat(2)}<edXML:edXMLHeader>\n`);
}

const ENVELOPE = '/edXML/edXMLEnvelope';
const HEADER = `${ENVELOPE}/edXMLHeader`;
const MH = `${HEADER}/MessageHeader`;

interface PreparedAttachment {
  contentId: string;
  meta: ReadAttachment | NewAttachment;
  source?: AttachmentSource;
  data?: Buffer;
}

function withCid(id: string): string {
  const t = id.trim();
  return /^cid:/i.test(t) ? t : `cid:${t}`;
}

function derivedContentId(index: number, name: string | undefined, data: Buffer): string {
  return createHash('sha256').update(`${index}\0${name ?? ''}\0`).update(data).digest('hex').slice(0, 32);
}

function prepareAttachments(model: EdocModel): PreparedAttachment[] {
  return (model.attachments ?? []).map((a, k) => {
    const path = `/edXML/AttachmentEncoded/Attachment[${k + 1}]`;
    // Without a ContentId, one derived from the attachment, so that writing the same model twice
    // gives the same bytes (a random one only for an attachment read from elsewhere without one).
    const given = a.contentId && a.contentId.trim() ? a.contentId : undefined;
    const contentId = withCid(given ?? ('data' in a && Buffer.isBuffer(a.data) ? derivedContentId(k, a.attachmentName, a.data) : randomUUID()));
    if ('data' in a && a.data !== undefined) {
      if (!Buffer.isBuffer(a.data)) throw invalid(path, 'data must be a Buffer');
      return { contentId, meta: a, data: a.data };
    }
    let source: AttachmentSource;
    try {
      source = attachmentSource(a as ReadAttachment);
    } catch {
      throw invalid(path, 'attachment has neither data nor a source');
    }
    return { contentId, meta: a, source };
  });
}

/** Base64 of the attachment in one line, as byte pieces. */
function writeBase64(out: Out, att: PreparedAttachment): void {
  if (att.data) {
    for (let k = 0; k < att.data.length; k += ENCODE_CHUNK) {
      out.bytes(Buffer.from(att.data.subarray(k, k + ENCODE_CHUNK).toString('base64'), 'latin1'));
    }
    return;
  }
  const src = att.source!;
  if (src.canonical) {
    // Already one clean line of base64: copy it as is.
    out.bytes(src.raw());
    return;
  }
  for (let k = 0; k < src.size; k += ENCODE_CHUNK) {
    out.bytes(Buffer.from(src.decodeRange(k, Math.min(src.size, k + ENCODE_CHUNK)).toString('base64'), 'latin1'));
  }
}

/** An edoc package, canonical layout. Throws Rejection('invalid-edxml') for models it cannot write. */
export function writeEdoc(model: EdocModel, options: WriteOptions = {}): Buffer {
  refuseSigned(model.signatures, options);
  const h = model.header;
  if (!h || typeof h !== 'object') throw invalid(MH, 'is required');
  if (!h.from) throw invalid(`${MH}/From`, 'is required');
  if (!Array.isArray(h.to) || h.to.length === 0) throw invalid(`${MH}/To`, 'at least one recipient is required');
  const documentId = h.documentId?.trim() || deriveDocumentId(h);
  if (!documentId) {
    throw invalid(`${MH}/DocumentId`, 'absent and not derivable (From/OrganId, PromulgationDate, CodeNumber, CodeNotation)');
  }
  const attachments = prepareAttachments(model);
  const out = new Out();
  const w = new W(out, 'edXML:');
  openShell(out);

  // MessageHeader, SPEC §4.1 order.
  w.open(3, 'MessageHeader');
  writeOrganization(w, 4, 'From', h.from, MH);
  for (const t of h.to) writeOrganization(w, 4, 'To', t, MH);
  w.text(4, 'DocumentId', documentId, MH);
  if (hasAny(h.code)) {
    w.open(4, 'Code');
    w.text(5, 'CodeNumber', h.code!.codeNumber, `${MH}/Code`);
    w.text(5, 'CodeNotation', h.code!.codeNotation, `${MH}/Code`);
    w.close(4, 'Code');
  }
  if (hasAny(h.promulgationInfo)) {
    w.open(4, 'PromulgationInfo');
    w.text(5, 'Place', h.promulgationInfo!.place, `${MH}/PromulgationInfo`);
    w.date(5, 'PromulgationDate', h.promulgationInfo!.promulgationDate, `${MH}/PromulgationInfo`);
    w.close(4, 'PromulgationInfo');
  }
  if (hasAny(h.documentType)) {
    const p = `${MH}/DocumentType`;
    w.open(4, 'DocumentType');
    w.int(5, 'Type', h.documentType!.type, p);
    w.int(5, 'TypeDetail', h.documentType!.typeDetail, p);
    w.text(5, 'TypeName', h.documentType!.typeName, p);
    w.close(4, 'DocumentType');
  }
  w.text(4, 'Subject', h.subject, MH);
  w.text(4, 'Content', h.content, MH);
  if (hasAny(h.signerInfo)) {
    const p = `${MH}/SignerInfo`;
    w.open(4, 'SignerInfo');
    w.text(5, 'Competence', h.signerInfo!.competence, p);
    w.text(5, 'Position', h.signerInfo!.position, p);
    w.text(5, 'FullName', h.signerInfo!.fullName, p);
    w.close(4, 'SignerInfo');
  }
  w.date(4, 'DueDate', h.dueDate, MH);
  if (hasAny(h.otherInfo)) {
    const o = h.otherInfo!;
    const p = `${MH}/OtherInfo`;
    w.open(4, 'OtherInfo');
    w.int(5, 'Priority', o.priority, p);
    w.text(5, 'SphereOfPromulgation', o.sphereOfPromulgation, p);
    w.text(5, 'TyperNotation', o.typerNotation, p);
    w.int(5, 'PromulgationAmount', o.promulgationAmount, p);
    w.int(5, 'PageAmount', o.pageAmount, p);
    w.text(5, 'ReplyFors', o.replyFors, p);
    w.bool(5, 'Direction', o.direction, p);
    w.text(5, 'ReferenceCodes', o.referenceCodes, p);
    const appendixes = (o.appendixes ?? []).filter((a) => a && a.trim());
    if (appendixes.length) {
      w.open(5, 'Appendixes');
      for (const a of appendixes) w.text(6, 'Appendix', a, `${p}/Appendixes`);
      w.close(5, 'Appendixes');
    }
    w.close(4, 'OtherInfo');
  }
  for (const rf of h.responseFor ?? []) if (hasAny(rf)) writeResponseFor(w, 4, rf, MH);
  w.int(4, 'SteeringType', h.steeringType, MH);
  const tasks = (h.responseForTask ?? []).filter((t) => t && t.trim());
  if (tasks.length) {
    w.open(4, 'ResponseForTask');
    for (const t of tasks) w.text(5, 'TaskCode', t, `${MH}/ResponseForTask`);
    w.close(4, 'ResponseForTask');
  }
  w.text(4, 'ApplicationType', h.applicationType, MH);
  const places = (h.toPlaces ?? []).filter((t) => t && t.trim());
  if (places.length) {
    w.open(4, 'ToPlaces');
    for (const t of places) w.text(5, 'Place', t, `${MH}/ToPlaces`);
    w.close(4, 'ToPlaces');
  }
  w.close(3, 'MessageHeader');

  // TraceHeaderList, SPEC §6 order: TraceHeader*, then Bussiness.
  const trace = model.trace ?? {};
  const traceHeaders = trace.traceHeaders ?? [];
  const b = trace.bussiness;
  if (traceHeaders.length || b || trace.id || trace.version) {
    const p = `${HEADER}/TraceHeaderList`;
    let attrs = '';
    if (trace.id?.trim()) attrs += ` id="${escapeAttr(trace.id.trim())}"`;
    if (trace.version?.trim()) attrs += ` version="${escapeAttr(trace.version.trim())}"`;
    if (NOT_XML_CHAR.test(attrs)) throw invalid(p, 'attribute contains a character XML cannot carry');
    w.open(3, 'TraceHeaderList', attrs);
    for (const th of traceHeaders) {
      w.open(4, 'TraceHeader');
      w.text(5, 'OrganId', th.organId, `${p}/TraceHeader`);
      w.timestamp(5, 'Timestamp', th.timestamp, `${p}/TraceHeader`);
      w.close(4, 'TraceHeader');
    }
    if (b) {
      const bp = `${p}/Bussiness`;
      if (b.bussinessDocType !== undefined && !isBussinessDocType(b.bussinessDocType)) {
        throw invalid(`${bp}/BussinessDocType`, `${String(b.bussinessDocType)} is not 0, 1, 2 or 3`);
      }
      w.open(4, 'Bussiness');
      w.text(5, 'DocumentId', b.documentId, bp);
      w.int(5, 'BussinessDocType', b.bussinessDocType, bp);
      w.text(5, 'BussinessDocReason', b.bussinessDocReason, bp);
      w.int(5, 'Paper', b.paper, bp);
      for (const info of b.bussinessDocumentInfo ?? []) {
        const ip = `${bp}/BussinessDocumentInfo`;
        w.open(5, 'BussinessDocumentInfo');
        w.int(6, 'DocumentInfo', info.documentInfo, ip);
        w.int(6, 'DocumentReceiver', info.documentReceiver, ip);
        if ((info.receivers ?? []).length) {
          w.open(6, 'ReceiverList');
          for (const r of info.receivers) {
            w.open(7, 'Receiver');
            w.text(8, 'OrganId', r.organId, `${ip}/ReceiverList/Receiver`);
            w.int(8, 'ReceiverType', r.receiverType, `${ip}/ReceiverList/Receiver`);
            w.close(7, 'Receiver');
          }
          w.close(6, 'ReceiverList');
        }
        w.close(5, 'BussinessDocumentInfo');
      }
      if ((b.replacementInfo ?? []).length) {
        const rp = `${bp}/ReplacementInfoList/ReplacementInfo`;
        w.open(5, 'ReplacementInfoList');
        for (const r of b.replacementInfo) {
          w.open(6, 'ReplacementInfo');
          w.text(7, 'DocumentId', r.documentId, rp);
          const ids = (r.organIds ?? []).filter((x) => x && x.trim());
          if (ids.length) {
            w.open(7, 'OrganIdList');
            for (const id of ids) w.text(8, 'OrganId', id, `${rp}/OrganIdList`);
            w.close(7, 'OrganIdList');
          }
          w.close(6, 'ReplacementInfo');
        }
        w.close(5, 'ReplacementInfoList');
      }
      for (const s of b.staffInfo ?? []) if (hasAny(s)) writeStaffInfo(w, 5, s, bp);
      w.close(4, 'Bussiness');
    }
    w.close(3, 'TraceHeaderList');
  }
  w.close(2, 'edXMLHeader');

  // Body: the manifest, one Reference per attachment (SPEC §9.1 order).
  const refs: ManifestReference[] =
    model.manifest && model.manifest.references.length === attachments.length && attachments.length > 0
      ? model.manifest.references.map((r, k) => ({ ...r, contentId: r.contentId ? withCid(r.contentId) : attachments[k]!.contentId }))
      : attachments.map((a) => ({
          contentId: a.contentId,
          contentType: a.meta.contentType,
          description: a.meta.description,
          attachmentName: a.meta.attachmentName,
        }));
  w.open(2, 'edXMLBody');
  w.open(3, 'edXMLManifest', ` version="${escapeAttr(model.manifest?.version?.trim() || '1.0')}"`);
  refs.forEach((r, k) => {
    const p = `${ENVELOPE}/edXMLBody/edXMLManifest/Reference[${k + 1}]`;
    const href = r.href?.trim() ? ` xlink:href="${escapeAttr(r.href.trim())}" xmlns:xlink="http://www.w3.org/1999/xlink"` : '';
    if (NOT_XML_CHAR.test(href)) throw invalid(p, 'xlink:href contains a character XML cannot carry');
    w.open(4, 'Reference', href);
    w.text(5, 'ContentId', r.contentId, p);
    w.text(5, 'ContentType', r.contentType, p);
    w.text(5, 'Description', r.description, p);
    w.text(5, 'AttachmentName', r.attachmentName, p);
    w.close(4, 'Reference');
  });
  w.close(3, 'edXMLManifest');
  w.close(2, 'edXMLBody');
  out.raw(`${INDENT}</edXML:edXMLEnvelope>\n`);

  // AttachmentEncoded: sibling of the envelope, unprefixed (SPEC §2, §9.2).
  if (attachments.length) {
    const a0 = new W(out, '');
    a0.open(1, 'AttachmentEncoded');
    attachments.forEach((a, k) => {
      const p = `/edXML/AttachmentEncoded/Attachment[${k + 1}]`;
      a0.open(2, 'Attachment');
      a0.text(3, 'ContentId', a.contentId, p);
      a0.text(3, 'AttachmentName', a.meta.attachmentName, p);
      a0.text(3, 'Description', a.meta.description, p);
      a0.text(3, 'FieldName', a.meta.fieldName, p);
      a0.text(3, 'MimeType', a.meta.mimeType, p);
      a0.text(3, 'ContentType', a.meta.contentType, p);
      out.raw(`${INDENT.repeat(3)}<edXML:ContentTransferEncoded xmlns:edXML="${QCVN_NAMESPACE}">`);
      writeBase64(out, a);
      out.raw('</edXML:ContentTransferEncoded>\n');
      a0.close(2, 'Attachment');
    });
    a0.close(1, 'AttachmentEncoded');
  }
  out.raw('</edXML>\n');
  return out.toBuffer();
}

/** A status package, canonical layout (SPEC §10.1). Timestamp defaults to now. */
export function writeStatus(model: StatusModel, options: WriteOptions = {}): Buffer {
  refuseSigned(model.signatures, options);
  if (!model.from) throw invalid(`${MH}/From`, 'is required');
  if (!isStatusCode(model.statusCode)) {
    throw invalid(`${MH}/StatusCode`, `${JSON.stringify(model.statusCode)} is not one of 01–06, 13, 15, 16`);
  }
  const rf = model.responseFor;
  if (!rf || !rf.organId?.trim()) throw invalid(`${MH}/ResponseFor/OrganId`, 'is required');
  if (!rf.documentId?.trim()) throw invalid(`${MH}/ResponseFor/DocumentId`, 'is required');
  const out = new Out();
  const w = new W(out, 'edXML:');
  openShell(out);
  w.open(3, 'MessageHeader');
  writeOrganization(w, 4, 'From', model.from, MH);
  writeResponseFor(w, 4, rf, MH);
  if (model.staffInfo && hasAny(model.staffInfo)) writeStaffInfo(w, 4, model.staffInfo, MH);
  w.text(4, 'StatusCode', model.statusCode, MH);
  w.text(4, 'Description', model.description, MH);
  w.timestamp(4, 'Timestamp', model.timestamp ?? timestampFromDate(new Date()), MH);
  w.close(3, 'MessageHeader');
  w.close(2, 'edXMLHeader');
  out.raw(`${INDENT}</edXML:edXMLEnvelope>\n</edXML>\n`);
  return out.toBuffer();
}

export interface BuildStatusInput {
  from: Organization;
  responseFor: { organId: string; code?: string; promulgationDate?: EdDate | Date; documentId: string };
  statusCode: StatusCode;
  description?: string;
  timestamp: Date;
  staff?: StaffInfo;
}

/** The pipeline's status reply (01 arrived, 02 rejected with the reason in Description, …). */
export function buildStatus(input: BuildStatusInput): Buffer {
  const pd = input.responseFor.promulgationDate;
  return writeStatus({
    from: input.from,
    responseFor: {
      organId: input.responseFor.organId,
      code: input.responseFor.code,
      promulgationDate: pd instanceof Date ? dateFromDate(pd) : pd,
      documentId: input.responseFor.documentId,
    },
    staffInfo: input.staff,
    statusCode: input.statusCode,
    description: input.description,
    timestamp: timestampFromDate(input.timestamp),
  });
}
