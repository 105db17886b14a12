/**
 * The tolerant reader (SPEC §15 reader checklist). It accepts what the field sends — any child
 * order, prefixed or not, empty elements, three date forms, undeclared `xlink:`/`edXML:` prefixes,
 * `cid:` on either side of the manifest pairing — and records each tolerated deviation in
 * `pkg.notes`. It throws `Rejection` only when a package cannot be used at all: hostile or
 * malformed bytes, a limit exceeded, or no way to route it (no sender, no recipient, no
 * DocumentId, an unknown status code).
 */
import type { Document, Element } from '@xmldom/xmldom';
import { Rejection } from '../errors';
import { DEFAULT_LIMITS, type Limits } from '../limits';
import { AttachmentSource, FileStore, bindSource, hasZipMagic } from './attachments';
import { parseEdDateDetailed, parseEdTimestamp } from './dates';
import {
  QCVN_NAMESPACE,
  STATUS_CODES,
  isBussinessDocType,
  isStatusCode,
  type Bussiness,
  type BussinessDocumentInfo,
  type EdDate,
  type EdocPackage,
  type EdxmlPackage,
  type Manifest,
  type MessageHeader,
  type Organization,
  type OtherInfo,
  type Problem,
  type ReadAttachment,
  type ResponseFor,
  type SignatureInfo,
  type StaffInfo,
  type StatusPackage,
  type TraceHeaderList,
} from './model';
import { isSaneOrganId } from './organ-id';
import { parseXml, type ExternalText, type ParsedXml, type XmlScan } from './safe-xml';

const ELEMENT_NODE = 1;
const ROOT_PATH = '/edXML';

/** Reading context: paths, notes and the scan that located the attachment text. */
class Ctx {
  readonly notes: Problem[] = [];
  constructor(
    readonly scan: XmlScan,
    readonly limits: Limits,
    readonly cteIndex: Map<Element, number>,
    readonly externalText: ReadonlyMap<number, ExternalText> | undefined,
  ) {}

  note(path: string, rule: string, message: string): void {
    if (this.notes.length < 1000) this.notes.push({ path, rule, message });
  }
}

function isEdxmlElement(el: Element): boolean {
  const ns = el.namespaceURI;
  return ns === QCVN_NAMESPACE || ns === null || ns === '';
}

function elementChildren(el: Element): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === ELEMENT_NODE) out.push(n as Element);
  return out;
}

/** Children with this local name, in the QCVN namespace or none (prefix ignored). */
function kids(el: Element | undefined, name: string): Element[] {
  if (!el) return [];
  return elementChildren(el).filter((c) => c.localName === name && isEdxmlElement(c));
}

/** Element's text, trimmed; empty counts as absent (SPEC §4.3). */
function textOf(el: Element | undefined): string | undefined {
  if (!el) return undefined;
  const t = (el.textContent ?? '').trim();
  return t === '' ? undefined : t;
}

/**
 * Walks one element's children by local name. Single-valued lookups note duplicates;
 * `finish()` notes children nobody asked for (unknown elements are tolerated, not lost silently).
 */
class Node {
  private readonly used = new Set<string>();
  constructor(
    readonly ctx: Ctx,
    readonly el: Element | undefined,
    readonly path: string,
  ) {}

  one(name: string): Node {
    this.used.add(name);
    const found = kids(this.el, name);
    if (found.length > 1) this.ctx.note(`${this.path}/${name}`, 'duplicate-element', `${name} appears ${found.length} times; the first is used`);
    return new Node(this.ctx, found[0], `${this.path}/${name}`);
  }

  many(name: string): Node[] {
    this.used.add(name);
    const found = kids(this.el, name);
    return found.map((e, k) => new Node(this.ctx, e, found.length > 1 ? `${this.path}/${name}[${k + 1}]` : `${this.path}/${name}`));
  }

  get present(): boolean {
    return this.el !== undefined;
  }

  /** Present and with some content (an empty `<ResponseFor/>` is absent). */
  get nonEmpty(): boolean {
    return this.el !== undefined && (textOf(this.el) !== undefined || elementChildren(this.el).length > 0);
  }

  text(name?: string): string | undefined {
    return textOf(name === undefined ? this.el : this.one(name).el);
  }

  int(name: string): number | undefined {
    const n = this.one(name);
    const t = textOf(n.el);
    if (t === undefined) return undefined;
    if (!/^[+-]?\d{1,15}$/.test(t)) {
      this.ctx.note(n.path, 'not-an-integer', `${JSON.stringify(t.slice(0, 40))} is not an integer`);
      return undefined;
    }
    return Number(t);
  }

  bool(name: string): boolean | undefined {
    const n = this.one(name);
    const t = textOf(n.el)?.toLowerCase();
    if (t === undefined) return undefined;
    if (t === 'true' || t === '1') return true;
    if (t === 'false' || t === '0') return false;
    this.ctx.note(n.path, 'not-a-boolean', `${JSON.stringify(t.slice(0, 40))} is not true/false`);
    return undefined;
  }

  date(name: string): EdDate | undefined {
    const n = this.one(name);
    const t = textOf(n.el);
    if (t === undefined) return undefined;
    const p = parseEdDateDetailed(t);
    if (!p) {
      this.ctx.note(n.path, 'bad-date', `${JSON.stringify(t.slice(0, 40))} is not a date (yyyy/MM/dd, dd/MM/yyyy or yyyy-MM-dd)`);
      return undefined;
    }
    if (p.form !== 'yyyy/MM/dd') this.ctx.note(n.path, 'date-form', `date written as ${p.form}; the standard form is yyyy/MM/dd`);
    return p.date;
  }

  timestamp(name: string): string | undefined {
    const n = this.one(name);
    const t = textOf(n.el);
    if (t === undefined) return undefined;
    const ts = parseEdTimestamp(t);
    if (!ts) this.ctx.note(n.path, 'bad-timestamp', `${JSON.stringify(t.slice(0, 40))} is not a timestamp (yyyy/MM/dd HH:mm:ss)`);
    return ts;
  }

  attr(name: string, ns?: string): string | undefined {
    if (!this.el) return undefined;
    const v = ns ? this.el.getAttributeNS(ns, name) : this.el.getAttribute(name);
    return v === null || v.trim() === '' ? undefined : v.trim();
  }

  /** Notes unknown children once everything expected was asked for. */
  finish(ignore: string[] = []): void {
    if (!this.el) return;
    for (const c of elementChildren(this.el)) {
      const name = c.localName ?? c.nodeName;
      if (this.used.has(name) && isEdxmlElement(c)) continue;
      if (ignore.includes(name)) continue;
      this.ctx.note(`${this.path}/${name}`, 'unknown-element', `unexpected element ${c.nodeName} ignored`);
    }
  }
}

/** Drops undefined members so models compare equal however they were built. */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function readOrganization(n: Node): Organization | undefined {
  if (!n.present) return undefined;
  const org = compact({
    organId: n.text('OrganId') ?? '',
    organizationInCharge: n.text('OrganizationInCharge'),
    organName: n.text('OrganName'),
    organAdd: n.text('OrganAdd'),
    email: n.text('Email'),
    telephone: n.text('Telephone'),
    fax: n.text('Fax'),
    website: n.text('Website'),
  });
  n.finish();
  return org;
}

function readStaffInfo(n: Node): StaffInfo {
  const s = compact({
    department: n.text('Department'),
    departmentId: n.text('DepartmentId'),
    staff: n.text('Staff'),
    staffId: n.text('StaffId'),
    email: n.text('Email'),
    mobile: n.text('Mobile'),
  });
  n.finish();
  return s;
}

function readResponseFor(n: Node): ResponseFor {
  const r = compact({
    organId: n.text('OrganId'),
    code: n.text('Code'),
    promulgationDate: n.date('PromulgationDate'),
    documentId: n.text('DocumentId'),
  });
  n.finish();
  return r;
}

function readOtherInfo(n: Node): OtherInfo {
  const appendixes = n.one('Appendixes');
  const o = compact({
    priority: n.int('Priority'),
    sphereOfPromulgation: n.text('SphereOfPromulgation'),
    typerNotation: n.text('TyperNotation'),
    promulgationAmount: n.int('PromulgationAmount'),
    pageAmount: n.int('PageAmount'),
    replyFors: n.text('ReplyFors'),
    direction: n.bool('Direction'),
    referenceCodes: n.text('ReferenceCodes'),
    appendixes: appendixes.many('Appendix').map((a) => a.text()).filter((t): t is string => t !== undefined),
  });
  appendixes.finish();
  n.finish();
  return o;
}

function optionalBlock<T extends object>(n: Node, read: (n: Node) => T): T | undefined {
  if (!n.nonEmpty) return undefined;
  const v = read(n);
  return Object.keys(v).length === 0 ? undefined : v;
}

function readMessageHeader(n: Node): MessageHeader {
  const fromNode = n.one('From');
  const from = readOrganization(fromNode) ?? { organId: '' };
  const to = n
    .many('To')
    .map((t) => readOrganization(t))
    .filter((o): o is Organization => o !== undefined);
  const code = optionalBlock(n.one('Code'), (c) => {
    const v = compact({ codeNumber: c.text('CodeNumber'), codeNotation: c.text('CodeNotation') });
    c.finish();
    return v;
  });
  const promulgationInfo = optionalBlock(n.one('PromulgationInfo'), (p) => {
    const v = compact({ place: p.text('Place'), promulgationDate: p.date('PromulgationDate') });
    p.finish();
    return v;
  });
  const documentType = optionalBlock(n.one('DocumentType'), (d) => {
    const v = compact({ type: d.int('Type'), typeDetail: d.int('TypeDetail'), typeName: d.text('TypeName') });
    d.finish();
    return v;
  });
  const signerInfo = optionalBlock(n.one('SignerInfo'), (s) => {
    const v = compact({ competence: s.text('Competence'), position: s.text('Position'), fullName: s.text('FullName') });
    s.finish();
    return v;
  });
  const otherInfoNode = n.one('OtherInfo');
  const otherInfo = otherInfoNode.nonEmpty ? readOtherInfo(otherInfoNode) : undefined;
  const responseFor = n
    .many('ResponseFor')
    .filter((r) => r.nonEmpty)
    .map(readResponseFor)
    .filter((r) => Object.keys(r).length > 0);
  const rftNode = n.one('ResponseForTask');
  const responseForTask = rftNode.present
    ? rftNode.many('TaskCode').map((t) => t.text()).filter((t): t is string => t !== undefined)
    : undefined;
  rftNode.finish();
  const toPlacesNode = n.one('ToPlaces');
  const toPlaces = toPlacesNode.many('Place').map((p) => p.text()).filter((t): t is string => t !== undefined);
  toPlacesNode.finish();
  const header = compact({
    from,
    to,
    documentId: n.text('DocumentId'),
    code,
    promulgationInfo,
    documentType,
    subject: n.text('Subject'),
    content: n.text('Content'),
    signerInfo,
    dueDate: n.date('DueDate'),
    otherInfo,
    responseFor,
    steeringType: n.int('SteeringType'),
    responseForTask: responseForTask && responseForTask.length ? responseForTask : undefined,
    applicationType: n.text('ApplicationType'),
    toPlaces,
  }) as MessageHeader;
  n.finish();
  return header;
}

function readBussiness(n: Node): Bussiness {
  const docTypeNode = n.one('BussinessDocType');
  const rawType = docTypeNode.text();
  let bussinessDocType: Bussiness['bussinessDocType'];
  if (rawType !== undefined) {
    const v = /^\d+$/.test(rawType) ? Number(rawType) : NaN;
    if (isBussinessDocType(v)) bussinessDocType = v;
    else n.ctx.note(docTypeNode.path, 'bussiness-doc-type', `unknown BussinessDocType ${JSON.stringify(rawType.slice(0, 20))} (0 new, 1 recall, 2 update, 3 replace)`);
  }
  const infos: BussinessDocumentInfo[] = n.many('BussinessDocumentInfo').map((b) => {
    const list = b.one('ReceiverList');
    const receivers = list.many('Receiver').map((r) => {
      const v = compact({ organId: r.text('OrganId'), receiverType: r.int('ReceiverType') });
      r.finish();
      return v;
    });
    list.finish();
    const v = compact({ documentInfo: b.int('DocumentInfo'), documentReceiver: b.int('DocumentReceiver'), receivers });
    b.finish();
    return v;
  });
  const replacementInfo = n.many('ReplacementInfoList').flatMap((list) => {
    const items = list.many('ReplacementInfo').map((r) => {
      const ids = r.one('OrganIdList');
      const organIds = ids.many('OrganId').map((o) => o.text()).filter((t): t is string => t !== undefined);
      ids.finish();
      const v = compact({ documentId: r.text('DocumentId'), organIds });
      r.finish();
      return v;
    });
    list.finish();
    return items;
  });
  const b = compact({
    documentId: n.text('DocumentId'),
    bussinessDocType,
    bussinessDocReason: n.text('BussinessDocReason'),
    paper: n.int('Paper'),
    bussinessDocumentInfo: infos,
    replacementInfo,
    staffInfo: n.many('StaffInfo').filter((s) => s.nonEmpty).map(readStaffInfo),
  });
  n.finish();
  return b;
}

function readTrace(n: Node): TraceHeaderList {
  const bussinessNode = n.one('Bussiness');
  const t = compact({
    id: n.attr('id'),
    version: n.attr('version'),
    traceHeaders: n.many('TraceHeader').map((h) => {
      const v = compact({ organId: h.text('OrganId'), timestamp: h.timestamp('Timestamp') });
      h.finish();
      return v;
    }),
    bussiness: bussinessNode.present ? readBussiness(bussinessNode) : undefined,
  });
  n.finish();
  return t;
}

function readManifest(n: Node): Manifest {
  const m = compact({
    version: n.attr('version'),
    references: n.many('Reference').map((r) => {
      const v = compact({
        contentId: r.text('ContentId'),
        contentType: r.text('ContentType'),
        description: r.text('Description'),
        attachmentName: r.text('AttachmentName'),
        href: r.attr('href', 'http://www.w3.org/1999/xlink'),
      });
      r.finish();
      return v;
    }),
  });
  n.finish();
  return m;
}

/** `cid:` stripped, for pairing (SPEC §9.2). */
export function normalizeContentId(id: string | undefined): string | undefined {
  if (id === undefined) return undefined;
  const t = id.trim().replace(/^cid:/i, '').replace(/^<(.*)>$/, '$1');
  return t === '' ? undefined : t;
}

function readAttachments(n: Node, manifest: Manifest): ReadAttachment[] {
  const ctx = n.ctx;
  const atts: ReadAttachment[] = n.many('Attachment').map((a) => {
    const cteNode = a.one('ContentTransferEncoded');
    let src: AttachmentSource;
    const idx = cteNode.el ? ctx.cteIndex.get(cteNode.el) : undefined;
    const range = idx === undefined ? undefined : ctx.scan.attachmentTexts[idx];
    const external = idx === undefined ? undefined : ctx.externalText?.get(idx);
    if (external) {
      src = new AttachmentSource(new FileStore(external.path), external.start, external.end, external.compact, ctx.limits);
      if (external.misplacedPadding) ctx.note(cteNode.path, 'base64', 'padding (=) inside the base64 text');
    } else if (range && range.plain) {
      // Compact: nothing but data characters and trailing padding, so offsets map 1:1.
      const compactRange = range.compact && range.invalidChars === 0 && range.padChars <= 2 && trailingPads(ctx.scan.bytes, range.start, range.end) === range.padChars;
      src = new AttachmentSource(ctx.scan.bytes, range.start, range.end, compactRange, ctx.limits);
      if (range.invalidChars > 0) {
        ctx.note(cteNode.path, 'base64', `${range.invalidChars} characters that are not base64`);
      } else if (range.padChars !== trailingPads(ctx.scan.bytes, range.start, range.end) || range.padChars > 2) {
        ctx.note(cteNode.path, 'base64', 'padding (=) inside the base64 text');
      }
    } else {
      const text = cteNode.el?.textContent ?? '';
      if (/[^A-Za-z0-9+/=\s]/.test(text)) ctx.note(cteNode.path, 'base64', 'characters that are not base64');
      src = AttachmentSource.fromText(text, ctx.limits);
    }
    if (!cteNode.present) ctx.note(cteNode.path, 'missing-element', 'Attachment has no ContentTransferEncoded');
    else if (src.chars === 0) ctx.note(cteNode.path, 'empty-attachment', 'attachment content is empty');
    if (src.chars % 4 === 1) ctx.note(cteNode.path, 'base64', `base64 data of ${src.chars} characters is truncated`);
    const att = compact({
      contentId: a.text('ContentId'),
      attachmentName: a.text('AttachmentName'),
      description: a.text('Description'),
      fieldName: a.text('FieldName'),
      mimeType: a.text('MimeType'),
      contentType: a.text('ContentType'),
      size: src.size,
      zipped: hasZipMagic(src.decodeRange(0, 4)),
      referenceIndex: undefined as number | undefined,
    });
    a.finish();
    return bindSource(att, src);
  });
  pairWithManifest(ctx, atts, manifest);
  return atts;
}

/** Reference ↔ Attachment by ContentId with `cid:` stripped; if nothing pairs, by position (SPEC §15 reader 5). */
function pairWithManifest(ctx: Ctx, atts: ReadAttachment[], manifest: Manifest): void {
  const refs = manifest.references;
  const byId = new Map<string, number>();
  refs.forEach((r, k) => {
    const id = normalizeContentId(r.contentId);
    if (id !== undefined && !byId.has(id)) byId.set(id, k);
  });
  let matched = 0;
  for (const a of atts) {
    const id = normalizeContentId(a.contentId);
    const k = id === undefined ? undefined : byId.get(id);
    if (k !== undefined) {
      a.referenceIndex = k;
      matched++;
    }
  }
  if (matched === 0 && atts.length > 0 && refs.length > 0) {
    atts.forEach((a, k) => {
      if (k < refs.length) a.referenceIndex = k;
    });
    ctx.note(`${ROOT_PATH}/AttachmentEncoded`, 'content-id-pairing', 'no ContentId matches the manifest; paired by position');
  }
}

/** `=` characters at the end of [start, end), whitespace skipped. */
function trailingPads(bytes: Buffer, start: number, end: number): number {
  let n = 0;
  for (let k = end - 1; k >= start; k--) {
    const b = bytes[k]!;
    if (b === 0x3d) n++;
    else if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) break;
  }
  return n;
}

function findSignatures(doc: Document): SignatureInfo[] {
  const out: SignatureInfo[] = [];
  for (const name of ['Signature', 'DigitalSignature']) {
    const list = doc.getElementsByTagNameNS('*', name);
    for (let k = 0; k < list.length; k++) {
      const el = list.item(k)!;
      out.push({ localName: name, namespaceURI: el.namespaceURI ?? null, path: pathOf(el) });
    }
  }
  return out;
}

function pathOf(el: Element): string {
  const parts: string[] = [];
  for (let n: Element | null = el; n && n.nodeType === ELEMENT_NODE; n = n.parentNode as Element | null) {
    parts.unshift(n.localName ?? n.nodeName);
  }
  return `/${parts.join('/')}`;
}

/** SPEC §15 writer 2: `From/OrganId,yyyy/MM/dd,CodeNumber/CodeNotation`. */
export function deriveDocumentId(header: Pick<MessageHeader, 'from' | 'code' | 'promulgationInfo'>): string | undefined {
  const date = header.promulgationInfo?.promulgationDate;
  const num = header.code?.codeNumber;
  const notation = header.code?.codeNotation;
  if (!header.from.organId || !date || num === undefined || notation === undefined) return undefined;
  return `${header.from.organId},${date.replace(/-/g, '/')},${num}/${notation}`;
}

function invalid(path: string, message: string): Rejection {
  const p = path.length > 300 ? `…${path.slice(-300)}` : path;
  return new Rejection('invalid-edxml', `${p}: ${message.length > 300 ? `${message.slice(0, 300)}…` : message}`);
}

function requireSaneOrganId(id: string | undefined, path: string): string {
  if (!id) throw invalid(path, 'OrganId is missing');
  if (!isSaneOrganId(id)) throw invalid(path, `OrganId ${JSON.stringify(id.slice(0, 80))} has characters outside [A-Za-z0-9._-] (or is longer than 64)`);
  return id;
}

/**
 * Reads a package. Throws Rejection: `limit-exceeded` (with the config key), `dtd-forbidden`,
 * `malformed-xml`, or `invalid-edxml` when it is XML but not a usable edXML package.
 */
export function readPackage(bytes: Buffer, limits: Limits = DEFAULT_LIMITS): EdxmlPackage {
  return readParsedPackage(parseXml(bytes, limits, { omitAttachmentText: true }), limits);
}

/**
 * The same on the result of `parseXml(bytes, limits, { omitAttachmentText: true })`, so that a
 * caller that also verifies the signature parses the package once. The DOM is only read.
 */
export function readParsedPackage(parsed: ParsedXml, limits: Limits = DEFAULT_LIMITS): EdxmlPackage {
  const { document, scan, repairs, externalText } = parsed;
  try {
    return readDocument(document, scan, repairs, limits, externalText);
  } catch (err) {
    if (err instanceof Rejection) throw err;
    // A reader bug must not escape as an untyped error (DESIGN.md §4 rule 3).
    throw new Rejection('invalid-edxml', `unreadable package: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function readDocument(document: Document, scan: XmlScan, repairs: string[], limits: Limits, externalText?: ReadonlyMap<number, ExternalText>): EdxmlPackage {
  const root = document.documentElement;
  if (!root || root.localName !== 'edXML' || !isEdxmlElement(root)) {
    throw invalid('/', `root element is ${root?.nodeName ?? 'missing'}, expected edXML`);
  }
  const cteIndex = new Map<Element, number>();
  const ctes = document.getElementsByTagNameNS('*', 'ContentTransferEncoded');
  for (let k = 0; k < ctes.length; k++) cteIndex.set(ctes.item(k)!, k);
  const ctx = new Ctx(scan, limits, cteIndex, externalText);
  if (root.namespaceURI !== QCVN_NAMESPACE) ctx.note(ROOT_PATH, 'namespace', `edXML is not in the namespace ${QCVN_NAMESPACE}`);
  const rootNode = new Node(ctx, root, ROOT_PATH);
  const envelope = rootNode.one('edXMLEnvelope');
  if (!envelope.present) throw invalid(envelope.path, 'no edXMLEnvelope');
  const header = envelope.one('edXMLHeader');
  if (!header.present) throw invalid(header.path, 'no edXMLHeader');
  const mh = header.one('MessageHeader');
  if (!mh.present) throw invalid(mh.path, 'no MessageHeader');
  const signatures = findSignatures(document);

  // SPEC §15 reader 3: StatusCode under MessageHeader means a status.
  if (kids(mh.el, 'StatusCode').length > 0) {
    const pkg = readStatus(mh, ctx, signatures, repairs);
    header.finish(['Signature', 'DigitalSignature']);
    envelope.finish();
    rootNode.finish();
    return pkg;
  }

  const messageHeader = readMessageHeader(mh);
  const fromPath = `${mh.path}/From/OrganId`;
  if (!kids(mh.el, 'From').length) throw invalid(`${mh.path}/From`, 'no From');
  requireSaneOrganId(messageHeader.from.organId, fromPath);
  if (messageHeader.to.length === 0) throw invalid(`${mh.path}/To`, 'no To: the package has no recipient');
  messageHeader.to.forEach((t, k) => requireSaneOrganId(t.organId, `${mh.path}/To${messageHeader.to.length > 1 ? `[${k + 1}]` : ''}/OrganId`));
  const traceNode = header.one('TraceHeaderList');
  const trace = traceNode.present ? readTrace(traceNode) : { traceHeaders: [] };
  header.finish(['Signature', 'DigitalSignature']);
  const body = envelope.one('edXMLBody');
  const manifestNode = body.one('edXMLManifest');
  const manifest = manifestNode.present ? readManifest(manifestNode) : { references: [] };
  body.finish();
  envelope.finish();
  // AttachmentEncoded is a sibling of the envelope (SPEC §3); tolerate it inside the envelope too.
  let encoded = rootNode.one('AttachmentEncoded');
  if (!encoded.present) {
    const inside = envelope.one('AttachmentEncoded');
    if (inside.present) {
      ctx.note(inside.path, 'misplaced-element', 'AttachmentEncoded belongs after edXMLEnvelope, as a child of edXML');
      encoded = inside;
    }
  }
  const attachments = readAttachments(encoded, manifest);
  encoded.finish();
  rootNode.finish();

  let documentId = messageHeader.documentId;
  let documentIdSource: EdocPackage['documentIdSource'] = 'header';
  if (documentId === undefined) {
    documentId = deriveDocumentId(messageHeader);
    documentIdSource = 'derived';
    if (documentId === undefined) {
      throw invalid(`${mh.path}/DocumentId`, 'no DocumentId, and none can be derived (From/OrganId, PromulgationDate, CodeNumber, CodeNotation)');
    }
    ctx.note(`${mh.path}/DocumentId`, 'document-id-derived', `no DocumentId; derived ${documentId}`);
  }
  return {
    kind: 'edoc',
    documentId,
    documentIdSource,
    from: messageHeader.from,
    to: messageHeader.to,
    header: messageHeader,
    trace,
    manifest,
    attachments,
    signatures,
    repairs,
    notes: ctx.notes,
  };
}

function readStatus(mh: Node, ctx: Ctx, signatures: SignatureInfo[], repairs: string[]): StatusPackage {
  const fromNode = mh.one('From');
  if (!fromNode.present) throw invalid(fromNode.path, 'no From');
  const from = readOrganization(fromNode)!;
  requireSaneOrganId(from.organId, `${fromNode.path}/OrganId`);
  const rfNode = mh.one('ResponseFor');
  if (!rfNode.nonEmpty) throw invalid(rfNode.path, 'a status needs ResponseFor (the document it reports on)');
  const rf = readResponseFor(rfNode);
  const rfOrganId = requireSaneOrganId(rf.organId, `${rfNode.path}/OrganId`);
  if (!rf.documentId) throw invalid(`${rfNode.path}/DocumentId`, 'ResponseFor/DocumentId is missing');
  const codeNode = mh.one('StatusCode');
  const raw = codeNode.text();
  const code = raw !== undefined && /^\d{1,2}$/.test(raw) ? raw.padStart(2, '0') : raw;
  if (!isStatusCode(code)) {
    throw invalid(codeNode.path, `unknown StatusCode ${JSON.stringify((raw ?? '').slice(0, 20))} (01–06, 13, 15, 16)`);
  }
  if (code !== raw) ctx.note(codeNode.path, 'status-code-form', `StatusCode written as ${raw}; the standard form is ${code}`);
  const staffNode = mh.one('StaffInfo');
  const staffInfo = staffNode.nonEmpty ? readStaffInfo(staffNode) : undefined;
  const pkg: StatusPackage = compact({
    kind: 'status' as const,
    documentId: rf.documentId,
    from,
    responseFor: { ...rf, organId: rfOrganId, documentId: rf.documentId },
    staffInfo,
    statusCode: code,
    statusMeaning: STATUS_CODES[code].meaning,
    description: mh.text('Description'),
    timestamp: mh.timestamp('Timestamp'),
    signatures,
    repairs,
    notes: ctx.notes,
  });
  mh.finish();
  return pkg;
}
