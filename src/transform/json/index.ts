/**
 * `json`: a vendor's JSON over HTTP (or AMQP). Documents and statuses are JSON objects mapped by
 * field paths; attachments travel either inside as base64 (`attachments: base64`, the default) or
 * beside as multipart parts (`attachments: multipart`: each entry names its part in `file`).
 *
 *   { "documentId": "…", "from": { "organId": "000.00.00.H41" }, "to": ["000.00.00.G22"],
 *     "number": "12", "notation": "UBND-VP", "promulgationDate": "2026-11-23", "subject": "…",
 *     "attachments": [{ "name": "a.pdf", "contentType": "application/pdf", "base64": "JVBERi0…" }] }
 *   { "status": "03", "description": "…", "timestamp": "2026-11-23T09:30:00",
 *     "responseFor": { "organId": "000.00.00.H41", "documentId": "…" } }
 */
import { Rejection } from '../../errors';
import type { VendorMessage } from '../../connectors/types';
import type { FormatProfile, ProfileContext } from '../profile';
import {
  getPath,
  isRecord,
  optionEnum,
  optionString,
  outputStem,
  readForVendor,
  scalarText,
  setPath,
  specFor,
  valuesToVendor,
  vendorToValues,
  writePackage,
  MappingError,
  type MappingDefaults,
  type VendorAttachment,
  type VendorRecord,
} from '../mapping';
import { takeSideFile } from '../side-files';

export const JSON_DEFAULTS: MappingDefaults = {
  dateFormat: 'yyyy-MM-dd',
  timestampFormat: "yyyy-MM-dd'T'HH:mm:ss".replace(/'/g, ''),
  fields: {
    documentId: 'documentId',
    'from.organId': 'from.organId',
    'from.organName': 'from.organName',
    'from.organAdd': 'from.address',
    'from.email': 'from.email',
    'from.telephone': 'from.telephone',
    'from.fax': 'from.fax',
    'from.website': 'from.website',
    'from.organizationInCharge': 'from.inCharge',
    to: 'to',
    'to.organName': 'toNames',
    'code.number': 'number',
    'code.notation': 'notation',
    'promulgation.place': 'place',
    'promulgation.date': 'promulgationDate',
    'documentType.type': 'documentType',
    'documentType.name': 'documentTypeName',
    subject: 'subject',
    content: 'content',
    'signer.fullName': 'signer.fullName',
    'signer.position': 'signer.position',
    'signer.competence': 'signer.competence',
    dueDate: 'dueDate',
    priority: 'priority',
    steeringType: 'steeringType',
    'documentType.typeDetail': 'documentTypeDetail',
    sphereOfPromulgation: 'sphereOfPromulgation',
    typerNotation: 'typerNotation',
    promulgationAmount: 'copies',
    pageAmount: 'pages',
    toPlaces: 'otherRecipients',
    appendixes: 'appendixes',
    'business.docType': 'business.type',
    'business.reason': 'business.reason',
    'status.code': 'status',
    'status.description': 'description',
    'status.timestamp': 'timestamp',
    'status.department': 'staff.department',
    'status.staff': 'staff.name',
    'status.staffEmail': 'staff.email',
    'status.staffMobile': 'staff.mobile',
    'responseFor.organId': 'responseFor.organId',
    'responseFor.documentId': 'responseFor.documentId',
    'responseFor.code': 'responseFor.code',
    'responseFor.promulgationDate': 'responseFor.promulgationDate',
  },
};

const OWN_KEYS = ['attachments', 'attachmentsPath'];
const NAME = 'json';

function settings(context: ProfileContext) {
  const options = context.options ?? {};
  return {
    spec: specFor(NAME, context, JSON_DEFAULTS, OWN_KEYS),
    mode: optionEnum(NAME, options, 'attachments', ['base64', 'multipart'] as const, 'base64'),
    attachmentsPath: optionString(NAME, options, 'attachmentsPath', 'attachments'),
  };
}

function parseBody(message: VendorMessage): VendorRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.body.toString('utf8'));
  } catch (err) {
    throw new Rejection('mapping-failed', `profile json: the body is not JSON: ${(err as Error).message}`);
  }
  if (!isRecord(parsed)) throw new Rejection('mapping-failed', 'profile json: the body must be a JSON object');
  return parsed as VendorRecord;
}

function attachmentsIn(record: VendorRecord, message: VendorMessage, path: string): VendorAttachment[] {
  const raw = getPath(record, path);
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new MappingError('attachments', 'attachmentsPath', raw, 'expected a list of attachments', path);
  return raw.map((item, i) => {
    const at = `${path}[${i}]`;
    if (!isRecord(item)) throw new MappingError('attachments', 'attachmentsPath', item, 'expected an object { name, base64 | file }', at);
    const name = scalarText(item.name) ?? scalarText(item.file);
    if (!name) throw new MappingError('attachments', 'attachments.name', item.name, 'every attachment needs a name', `${at}.name`);
    let data: Buffer;
    const base64 = scalarText(item.base64);
    if (base64 !== undefined) {
      if (!/^[A-Za-z0-9+/=\s]*$/.test(base64)) throw new MappingError('attachments', 'attachments.base64', base64.slice(0, 40), 'is not base64', `${at}.base64`);
      data = Buffer.from(base64, 'base64');
    } else {
      const file = scalarText(item.file) ?? name;
      const side = takeSideFile(message, file);
      if (!side) throw new MappingError('attachments', 'attachments.file', file, 'no such part or side file came with the message', `${at}.file`);
      data = side.bytes;
    }
    return { name, contentType: scalarText(item.contentType), description: scalarText(item.description), data };
  });
}

export const jsonProfile: FormatProfile = {
  name: NAME,
  toEdxml(message, context) {
    const { spec, attachmentsPath } = settings(context);
    const record = parseBody(message);
    const { kind, values } = vendorToValues(record, spec, context.ownOrganId);
    return writePackage(kind, values, kind === 'edoc' ? attachmentsIn(record, message, attachmentsPath) : []);
  },
  fromEdxml(edxml, context) {
    const { spec, mode, attachmentsPath } = settings(context);
    const read = readForVendor(edxml);
    const record = valuesToVendor(read.values, read.kind, spec, { lists: 'array', scalars: 'typed' });
    const sideFiles = mode === 'multipart' ? read.attachments.map((a) => ({ name: a.name, bytes: a.data })) : [];
    if (read.attachments.length > 0) {
      setPath(
        record,
        attachmentsPath,
        read.attachments.map((a) => {
          const entry: VendorRecord = { name: a.name };
          if (a.contentType) entry.contentType = a.contentType;
          if (a.description) entry.description = a.description;
          if (mode === 'base64') entry.base64 = a.data.toString('base64');
          else entry.file = a.name;
          return entry;
        }),
      );
    }
    const stem = outputStem(context, read.pkg.documentId, read.kind, read.kind === 'status' ? (read.values['status.code'] as string) : undefined);
    return { body: Buffer.from(JSON.stringify(record, null, 2) + '\n', 'utf8'), fileName: `${stem}.json`, contentType: 'application/json; charset=utf-8', sideFiles };
  },
};

/** Throws Rejection('mapping-failed', …) naming the option path when profileOptions do not make sense. */
export function checkOptions(options: Record<string, unknown>): void {
  settings({ ownOrganId: '', options });
}
