/**
 * The typed edXML model (QCVN 102:2016 as the field emits it; SPEC §3–§10).
 *
 * Conventions:
 * - Optional text is `undefined` when the element is absent or empty (SPEC §4.3: empty = absent).
 * - Dates are calendar dates `YYYY-MM-DD`; timestamps are Vietnam local time `YYYY-MM-DDTHH:mm:ss`
 *   without a zone (SPEC §14). See ./dates.ts for conversions.
 * - Repeatable elements are arrays, empty when absent.
 */
import type { AttachmentSource } from './attachments';

export const QCVN_NAMESPACE = 'http://www.mic.gov.vn/TBT/QCVN_102_2016';
export const XMLDSIG_NAMESPACE = 'http://www.w3.org/2000/09/xmldsig#';

/** Calendar date, `YYYY-MM-DD`. */
export type EdDate = string;
/** Local (Vietnam, UTC+7) date-time, `YYYY-MM-DDTHH:mm:ss`. */
export type EdTimestamp = string;

/** SPEC §5: From, To, status From. */
export interface Organization {
  organId: string;
  organizationInCharge?: string;
  organName?: string;
  organAdd?: string;
  email?: string;
  telephone?: string;
  fax?: string;
  website?: string;
}

export interface DocumentCode {
  codeNumber?: string;
  codeNotation?: string;
}

export interface PromulgationInfo {
  place?: string;
  promulgationDate?: EdDate;
}

export interface DocumentType {
  type?: number;
  typeDetail?: number;
  typeName?: string;
}

export interface SignerInfo {
  competence?: string;
  position?: string;
  fullName?: string;
}

export interface OtherInfo {
  /** 0..4; likely 0 Thường, 1 Khẩn, 2 Thượng khẩn, 3 Hỏa tốc, 4 Hỏa tốc hẹn giờ (SPEC §13). */
  priority?: number;
  sphereOfPromulgation?: string;
  typerNotation?: string;
  promulgationAmount?: number;
  pageAmount?: number;
  replyFors?: string;
  direction?: boolean;
  referenceCodes?: string;
  appendixes: string[];
}

/** MessageHeader/ResponseFor (edoc, 0..n) and status ResponseFor (1). */
export interface ResponseFor {
  organId?: string;
  /** `<number>/<notation>`. */
  code?: string;
  promulgationDate?: EdDate;
  documentId?: string;
}

/** SPEC §4: MessageHeader of an edoc, every element of §4.1/§4.2. */
export interface MessageHeader {
  from: Organization;
  to: Organization[];
  documentId?: string;
  code?: DocumentCode;
  promulgationInfo?: PromulgationInfo;
  documentType?: DocumentType;
  subject?: string;
  content?: string;
  signerInfo?: SignerInfo;
  dueDate?: EdDate;
  otherInfo?: OtherInfo;
  responseFor: ResponseFor[];
  /** 0 no directive, 1 directive, 2 directive requiring a report (SPEC §13). */
  steeringType?: number;
  /** VNPT extension: ResponseForTask/TaskCode*. */
  responseForTask?: string[];
  /** VNPT extension. */
  applicationType?: string;
  toPlaces: string[];
}

export interface TraceHeader {
  organId?: string;
  timestamp?: EdTimestamp;
}

export interface StaffInfo {
  department?: string;
  departmentId?: string;
  staff?: string;
  staffId?: string;
  email?: string;
  mobile?: string;
}

export interface Receiver {
  organId?: string;
  receiverType?: number;
}

/** Update only (BussinessDocType 2). */
export interface BussinessDocumentInfo {
  documentInfo?: number;
  documentReceiver?: number;
  receivers: Receiver[];
}

/** Replace only (BussinessDocType 3). */
export interface ReplacementInfo {
  documentId?: string;
  organIds: string[];
}

export const BUSSINESS_DOC_TYPES = {
  0: { name: 'new', meaning: 'Văn bản điện tử mới' },
  1: { name: 'recall', meaning: 'Thu hồi văn bản điện tử' },
  2: { name: 'update', meaning: 'Cập nhật văn bản điện tử' },
  3: { name: 'replace', meaning: 'Văn bản thay thế' },
} as const;
export type BussinessDocType = keyof typeof BUSSINESS_DOC_TYPES;
export const BUSSINESS_DOC_TYPE_CODES: readonly BussinessDocType[] = [0, 1, 2, 3];

export function isBussinessDocType(n: unknown): n is BussinessDocType {
  return n === 0 || n === 1 || n === 2 || n === 3;
}

/** TraceHeaderList/Bussiness (note the field's spelling). SPEC §6. */
export interface Bussiness {
  documentId?: string;
  /** Absent only when the package did not say (or said something unknown: see notes). */
  bussinessDocType?: BussinessDocType;
  bussinessDocReason?: string;
  paper?: number;
  bussinessDocumentInfo: BussinessDocumentInfo[];
  /** All ReplacementInfo of all ReplacementInfoList elements, in order. */
  replacementInfo: ReplacementInfo[];
  staffInfo: StaffInfo[];
}

export interface TraceHeaderList {
  id?: string;
  version?: string;
  traceHeaders: TraceHeader[];
  bussiness?: Bussiness;
}

export interface ManifestReference {
  /** As written, e.g. `cid:209`. */
  contentId?: string;
  contentType?: string;
  description?: string;
  attachmentName?: string;
  /** `xlink:href`, if any (hand-written and .NET-style inputs). */
  href?: string;
}

export interface Manifest {
  version?: string;
  references: ManifestReference[];
}

/** One AttachmentEncoded/Attachment, metadata only; bytes through openAttachment(). */
export interface Attachment {
  contentId?: string;
  attachmentName?: string;
  description?: string;
  fieldName?: string;
  mimeType?: string;
  contentType?: string;
  /** Decoded size in bytes (before any unzipping), from the base64 length. */
  size: number;
  /** The decoded bytes start with `PK\x03\x04` (SPEC §9.3: the receiver unzips by magic bytes). */
  zipped: boolean;
  /** Index in manifest.references of the Reference paired with it (ContentId, `cid:` stripped; else position). */
  referenceIndex?: number;
}

/** A read attachment: the metadata plus a hidden (non-enumerable) handle on its bytes. */
export type ReadAttachment = Attachment & { readonly source?: AttachmentSource };

/** An attachment to write: metadata plus the raw file bytes. */
export interface NewAttachment {
  contentId?: string;
  attachmentName: string;
  description?: string;
  fieldName?: string;
  mimeType?: string;
  contentType?: string;
  data: Buffer;
}

/** A Signature (or DigitalSignature) element found in the package. Reported, never judged here. */
export interface SignatureInfo {
  localName: string;
  /** `http://www.w3.org/2000/09/xmldsig#` for a real XMLDSig; the QCVN namespace for the SDK placeholder. */
  namespaceURI: string | null;
  path: string;
}

/** A problem found in a package: element path, rule broken, human message. */
export interface Problem {
  path: string;
  rule: string;
  message: string;
}

interface PackageCommon {
  /** The correlation key (SPEC §4.4). */
  documentId: string;
  from: Organization;
  signatures: SignatureInfo[];
  /** Tolerated deviations repaired before parsing (SPEC §15), e.g. `xlink-namespace-declared`. */
  repairs: string[];
  /** Deviations the tolerant reader accepted; validatePackage reports the serious ones as problems. */
  notes: Problem[];
}

export interface EdocPackage extends PackageCommon {
  kind: 'edoc';
  header: MessageHeader;
  /** Same objects as header.to. */
  to: Organization[];
  /** `header`: MessageHeader/DocumentId; `derived`: the SPEC §15 rule (From, date, number/notation). */
  documentIdSource: 'header' | 'derived';
  trace: TraceHeaderList;
  manifest: Manifest;
  attachments: ReadAttachment[];
}

export const STATUS_CODES = {
  '01': { name: 'inbox', meaning: 'Đã đến' },
  '02': { name: 'rejection', meaning: 'Từ chối tiếp nhận' },
  '03': { name: 'acceptance', meaning: 'Đã tiếp nhận' },
  '04': { name: 'assignment', meaning: 'Phân công' },
  '05': { name: 'processing', meaning: 'Đang xử lý' },
  '06': { name: 'finish', meaning: 'Hoàn thành' },
  '13': { name: 'cancellation', meaning: 'Lấy lại' },
  '15': { name: 'change-acceptance', meaning: 'Đồng ý' },
  '16': { name: 'change-rejection', meaning: 'Từ chối' },
} as const;
export type StatusCode = keyof typeof STATUS_CODES;
export const STATUS_CODE_LIST = Object.keys(STATUS_CODES) as StatusCode[];

export function isStatusCode(s: unknown): s is StatusCode {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(STATUS_CODES, s);
}

export interface StatusPackage extends PackageCommon {
  kind: 'status';
  responseFor: ResponseFor & { organId: string; documentId: string };
  staffInfo?: StaffInfo;
  statusCode: StatusCode;
  /** Vietnamese meaning of the code, e.g. `Đã đến`. */
  statusMeaning: string;
  description?: string;
  timestamp?: EdTimestamp;
}

export type EdxmlPackage = EdocPackage | StatusPackage;

/** What writeEdoc takes: a read EdocPackage fits, and so does a model built from scratch. */
export interface EdocModel {
  header: MessageHeader;
  trace?: Partial<TraceHeaderList>;
  /** When given with as many references as attachments, written as is; else derived from the attachments. */
  manifest?: Manifest;
  attachments?: Array<ReadAttachment | NewAttachment>;
  /** A model read from a signed package carries its signatures: writeEdoc refuses it (see writer.ts). */
  signatures?: SignatureInfo[];
}

/** What writeStatus takes: a read StatusPackage fits. */
export interface StatusModel {
  from: Organization;
  responseFor: ResponseFor;
  staffInfo?: StaffInfo;
  statusCode: StatusCode;
  description?: string;
  timestamp?: EdTimestamp;
  signatures?: SignatureInfo[];
}
