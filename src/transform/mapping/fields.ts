/**
 * The logical edXML fields a vendor mapping can name, and how they are read from a package and
 * written into one. Values are canonical text: dates `YYYY-MM-DD`, timestamps
 * `YYYY-MM-DDTHH:mm:ss`, integers in decimal, status codes two digits, organ lists as arrays.
 */
import { isBussinessDocType, type EdocModel, type EdxmlPackage, type NewAttachment, type Organization, type StatusCode, type StatusModel } from '../../edxml/model';

export type FieldKind = 'text' | 'textList' | 'date' | 'timestamp' | 'integer' | 'organId' | 'organList' | 'statusCode';

export interface FieldDef {
  kind: FieldKind;
  applies: 'edoc' | 'status' | 'both';
  /** The code table consulted by default, when the config has one of that name. */
  table?: string;
}

export const FIELDS = {
  documentId: { kind: 'text', applies: 'edoc' },
  'from.organId': { kind: 'organId', applies: 'both' },
  'from.organName': { kind: 'text', applies: 'both' },
  'from.organAdd': { kind: 'text', applies: 'both' },
  'from.email': { kind: 'text', applies: 'both' },
  'from.telephone': { kind: 'text', applies: 'both' },
  'from.fax': { kind: 'text', applies: 'both' },
  'from.website': { kind: 'text', applies: 'both' },
  'from.organizationInCharge': { kind: 'text', applies: 'both' },
  to: { kind: 'organList', applies: 'edoc' },
  /** Names of the recipients, aligned with `to`; filled from and into `to`'s `item.name` key. */
  'to.organName': { kind: 'textList', applies: 'edoc' },
  'code.number': { kind: 'text', applies: 'edoc' },
  'code.notation': { kind: 'text', applies: 'edoc' },
  'promulgation.place': { kind: 'text', applies: 'edoc' },
  'promulgation.date': { kind: 'date', applies: 'edoc' },
  'documentType.type': { kind: 'integer', applies: 'edoc', table: 'documentType' },
  'documentType.name': { kind: 'text', applies: 'edoc' },
  'documentType.typeDetail': { kind: 'integer', applies: 'edoc' },
  subject: { kind: 'text', applies: 'edoc' },
  content: { kind: 'text', applies: 'edoc' },
  'signer.competence': { kind: 'text', applies: 'edoc' },
  'signer.position': { kind: 'text', applies: 'edoc' },
  'signer.fullName': { kind: 'text', applies: 'edoc' },
  dueDate: { kind: 'date', applies: 'edoc' },
  priority: { kind: 'integer', applies: 'edoc', table: 'priority' },
  steeringType: { kind: 'integer', applies: 'edoc' },
  sphereOfPromulgation: { kind: 'text', applies: 'edoc' },
  typerNotation: { kind: 'text', applies: 'edoc' },
  promulgationAmount: { kind: 'integer', applies: 'edoc' },
  pageAmount: { kind: 'integer', applies: 'edoc' },
  toPlaces: { kind: 'textList', applies: 'edoc' },
  appendixes: { kind: 'textList', applies: 'edoc' },
  /** 0 new, 1 recall, 2 update, 3 replace (TraceHeaderList/Bussiness). */
  'business.docType': { kind: 'integer', applies: 'edoc', table: 'businessDocType' },
  'business.reason': { kind: 'text', applies: 'edoc' },
  'status.code': { kind: 'statusCode', applies: 'status', table: 'status' },
  'status.description': { kind: 'text', applies: 'status' },
  'status.timestamp': { kind: 'timestamp', applies: 'status' },
  'status.department': { kind: 'text', applies: 'status' },
  'status.staff': { kind: 'text', applies: 'status' },
  'status.staffEmail': { kind: 'text', applies: 'status' },
  'status.staffMobile': { kind: 'text', applies: 'status' },
  'responseFor.organId': { kind: 'organId', applies: 'status' },
  'responseFor.documentId': { kind: 'text', applies: 'status' },
  'responseFor.code': { kind: 'text', applies: 'status' },
  'responseFor.promulgationDate': { kind: 'date', applies: 'status' },
} as const satisfies Record<string, FieldDef>;

export type FieldName = keyof typeof FIELDS;
export const FIELD_NAMES = Object.keys(FIELDS) as FieldName[];

export function isFieldName(s: string): s is FieldName {
  return Object.prototype.hasOwnProperty.call(FIELDS, s);
}

export type LogicalValue = string | string[];
export type LogicalValues = Partial<Record<FieldName, LogicalValue>>;

function num(n: number | undefined): string | undefined {
  return n === undefined ? undefined : String(n);
}

/** Every mapped field of a package, in canonical text. */
export function valuesFromPackage(pkg: EdxmlPackage): LogicalValues {
  const from = pkg.from;
  const common: LogicalValues = {
    documentId: pkg.documentId,
    'from.organId': from.organId,
    'from.organName': from.organName,
    'from.organAdd': from.organAdd,
    'from.email': from.email,
    'from.telephone': from.telephone,
    'from.fax': from.fax,
    'from.website': from.website,
    'from.organizationInCharge': from.organizationInCharge,
  };
  if (pkg.kind === 'status') {
    return prune({
      ...common,
      'status.code': pkg.statusCode,
      'status.description': pkg.description,
      'status.timestamp': pkg.timestamp,
      'status.department': pkg.staffInfo?.department,
      'status.staff': pkg.staffInfo?.staff,
      'status.staffEmail': pkg.staffInfo?.email,
      'status.staffMobile': pkg.staffInfo?.mobile,
      'responseFor.organId': pkg.responseFor.organId,
      'responseFor.documentId': pkg.responseFor.documentId,
      'responseFor.code': pkg.responseFor.code,
      'responseFor.promulgationDate': pkg.responseFor.promulgationDate,
    });
  }
  const h = pkg.header;
  return prune({
    ...common,
    to: h.to.map((t) => t.organId),
    'to.organName': h.to.some((t) => t.organName) ? h.to.map((t) => t.organName ?? '') : undefined,
    'code.number': h.code?.codeNumber,
    'code.notation': h.code?.codeNotation,
    'promulgation.place': h.promulgationInfo?.place,
    'promulgation.date': h.promulgationInfo?.promulgationDate,
    'documentType.type': num(h.documentType?.type),
    'documentType.name': h.documentType?.typeName,
    'documentType.typeDetail': num(h.documentType?.typeDetail),
    subject: h.subject,
    content: h.content,
    'signer.competence': h.signerInfo?.competence,
    'signer.position': h.signerInfo?.position,
    'signer.fullName': h.signerInfo?.fullName,
    dueDate: h.dueDate,
    priority: num(h.otherInfo?.priority),
    steeringType: num(h.steeringType),
    sphereOfPromulgation: h.otherInfo?.sphereOfPromulgation,
    typerNotation: h.otherInfo?.typerNotation,
    promulgationAmount: num(h.otherInfo?.promulgationAmount),
    pageAmount: num(h.otherInfo?.pageAmount),
    toPlaces: h.toPlaces,
    appendixes: h.otherInfo?.appendixes,
    'business.docType': num(pkg.trace.bussiness?.bussinessDocType),
    'business.reason': pkg.trace.bussiness?.bussinessDocReason,
  });
}

function prune(values: LogicalValues): LogicalValues {
  const out: LogicalValues = {};
  for (const [k, v] of Object.entries(values) as Array<[FieldName, LogicalValue | undefined]>) {
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return out;
}

function text(values: LogicalValues, name: FieldName): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function int(values: LogicalValues, name: FieldName): number | undefined {
  const v = text(values, name);
  return v === undefined ? undefined : Number(v);
}

function list(values: LogicalValues, name: FieldName): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

export function edocModelFromValues(values: LogicalValues, attachments: NewAttachment[]): EdocModel {
  const number = text(values, 'code.number');
  const notation = text(values, 'code.notation');
  return {
    header: {
      from: organizationFromValues(values),
      to: list(values, 'to').map((organId, i) => ({ organId, organName: list(values, 'to.organName')[i] || undefined })),
      documentId: text(values, 'documentId'),
      code: number || notation ? { codeNumber: number, codeNotation: notation } : undefined,
      promulgationInfo: { place: text(values, 'promulgation.place'), promulgationDate: text(values, 'promulgation.date') },
      documentType: { type: int(values, 'documentType.type'), typeDetail: int(values, 'documentType.typeDetail'), typeName: text(values, 'documentType.name') },
      subject: text(values, 'subject'),
      content: text(values, 'content'),
      signerInfo: {
        competence: text(values, 'signer.competence'),
        position: text(values, 'signer.position'),
        fullName: text(values, 'signer.fullName'),
      },
      dueDate: text(values, 'dueDate'),
      otherInfo: {
        priority: int(values, 'priority'),
        sphereOfPromulgation: text(values, 'sphereOfPromulgation'),
        typerNotation: text(values, 'typerNotation'),
        promulgationAmount: int(values, 'promulgationAmount'),
        pageAmount: int(values, 'pageAmount'),
        appendixes: list(values, 'appendixes'),
      },
      responseFor: [],
      steeringType: int(values, 'steeringType'),
      toPlaces: list(values, 'toPlaces'),
    },
    trace: businessOf(values),
    attachments,
  };
}

function organizationFromValues(values: LogicalValues): Organization {
  return {
    organId: text(values, 'from.organId') ?? '',
    organName: text(values, 'from.organName'),
    organAdd: text(values, 'from.organAdd'),
    email: text(values, 'from.email'),
    telephone: text(values, 'from.telephone'),
    fax: text(values, 'from.fax'),
    website: text(values, 'from.website'),
    organizationInCharge: text(values, 'from.organizationInCharge'),
  };
}

export function statusModelFromValues(values: LogicalValues): StatusModel {
  const staffInfo = {
    department: text(values, 'status.department'),
    staff: text(values, 'status.staff'),
    email: text(values, 'status.staffEmail'),
    mobile: text(values, 'status.staffMobile'),
  };
  return {
    from: organizationFromValues(values),
    responseFor: {
      organId: text(values, 'responseFor.organId'),
      documentId: text(values, 'responseFor.documentId'),
      code: text(values, 'responseFor.code'),
      promulgationDate: text(values, 'responseFor.promulgationDate'),
    },
    staffInfo: Object.values(staffInfo).some((v) => v !== undefined) ? staffInfo : undefined,
    statusCode: text(values, 'status.code') as StatusCode,
    description: text(values, 'status.description'),
    timestamp: text(values, 'status.timestamp'),
  };
}

function businessOf(values: LogicalValues): EdocModel['trace'] {
  const docType = int(values, 'business.docType');
  const reason = text(values, 'business.reason');
  if (docType === undefined && reason === undefined) return undefined;
  if (docType !== undefined && !isBussinessDocType(docType)) return undefined;
  return { bussiness: { bussinessDocType: docType, bussinessDocReason: reason, bussinessDocumentInfo: [], replacementInfo: [], staffInfo: [] } };
}
