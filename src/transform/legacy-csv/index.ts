/**
 * `legacy-csv`: metadata of an old document system as CSV (header row + one row) or key=value
 * lines, with the PDFs as files beside it (listed in one column, `;`-separated), and Vietnamese
 * text in TCVN3 (ABC), VNI-Windows, TCVN 5712 or UTF-8.
 *
 * Options: `layout` (csv | keyvalue), `delimiter` (`,`), `encoding` (auto | tcvn3 | vni | tcvn5712
 * | utf-8; how input is read), `outputEncoding` (what is written; default the explicit `encoding`,
 * else UTF-8), `attachmentsColumn` (tep_dinh_kem). Text is Unicode NFC inside the connector.
 */
import type { VendorMessage } from '../../connectors/types';
import type { FormatProfile, ProfileContext } from '../profile';
import { Rejection } from '../../errors';
import { decodeWith, encodeText, isEncodingSetting, TEXT_ENCODINGS, UnencodableCharacter, type EncodingSetting, type TextEncoding } from '../encodings';
import {
  getPath,
  optionEnum,
  optionString,
  outputStem,
  readForVendor,
  scalarText,
  specFor,
  valuesToVendor,
  vendorToValues,
  writePackage,
  MappingError,
  type MappingDefaults,
  type VendorAttachment,
  type VendorRecord,
} from '../mapping';
import { parseCsvRecord, parseKeyValueRecord, printCsvRecord, printKeyValueRecord } from './text-record';
import { takeSideFile } from '../side-files';

export const LEGACY_CSV_DEFAULTS: MappingDefaults = {
  dateFormat: 'dd/MM/yyyy',
  timestampFormat: 'dd/MM/yyyy HH:mm:ss',
  fields: {
    documentId: 'ma_van_ban',
    'from.organId': 'don_vi_gui',
    'from.organName': 'ten_don_vi_gui',
    'from.organAdd': 'dia_chi_gui',
    'from.email': 'email_gui',
    'from.telephone': 'dien_thoai_gui',
    'from.fax': 'fax_gui',
    'from.website': 'website_gui',
    'from.organizationInCharge': 'co_quan_chu_quan',
    to: 'noi_nhan',
    'to.organName': 'ten_noi_nhan',
    'code.number': 'so',
    'code.notation': 'ky_hieu',
    'promulgation.place': 'noi_ban_hanh',
    'promulgation.date': 'ngay_ban_hanh',
    'documentType.type': 'loai_van_ban',
    'documentType.name': 'ten_loai_van_ban',
    subject: 'trich_yeu',
    content: 'noi_dung',
    'signer.fullName': 'nguoi_ky',
    'signer.position': 'chuc_vu',
    'signer.competence': 'tham_quyen',
    dueDate: 'han_xu_ly',
    priority: 'do_khan',
    steeringType: 'chi_dao',
    'documentType.typeDetail': 'loai_chi_tiet',
    sphereOfPromulgation: 'pham_vi_ban_hanh',
    typerNotation: 'ky_hieu_danh_may',
    promulgationAmount: 'so_ban',
    pageAmount: 'so_trang',
    toPlaces: 'noi_nhan_khac',
    appendixes: 'phu_luc',
    'business.docType': 'loai_nghiep_vu',
    'business.reason': 'ly_do',
    'status.code': 'trang_thai',
    'status.description': 'mo_ta',
    'status.timestamp': 'thoi_gian',
    'status.department': 'phong_ban',
    'status.staff': 'can_bo',
    'status.staffEmail': 'email_can_bo',
    'status.staffMobile': 'dien_thoai_can_bo',
    'responseFor.organId': 'don_vi_goc',
    'responseFor.documentId': 'ma_van_ban_goc',
    'responseFor.code': 'so_ky_hieu_goc',
    'responseFor.promulgationDate': 'ngay_ban_hanh_goc',
  },
};

const NAME = 'legacy-csv';
const OWN_KEYS = ['layout', 'delimiter', 'encoding', 'outputEncoding', 'attachmentsColumn'];

function settings(context: ProfileContext) {
  const options = context.options ?? {};
  const encoding = options.encoding ?? 'auto';
  if (!isEncodingSetting(encoding)) {
    throw new Rejection('mapping-failed', `profile ${NAME}: profileOptions.encoding: must be auto or one of ${TEXT_ENCODINGS.join(', ')}; input ${JSON.stringify(encoding)}`);
  }
  const fallbackOut: TextEncoding = encoding === 'auto' ? 'utf-8' : encoding;
  return {
    spec: specFor(NAME, context, LEGACY_CSV_DEFAULTS, OWN_KEYS),
    layout: optionEnum(NAME, options, 'layout', ['csv', 'keyvalue'] as const, 'csv'),
    delimiter: optionString(NAME, options, 'delimiter', ','),
    encoding: encoding as EncodingSetting,
    outputEncoding: optionEnum(NAME, options, 'outputEncoding', TEXT_ENCODINGS, fallbackOut),
    attachmentsColumn: optionString(NAME, options, 'attachmentsColumn', 'tep_dinh_kem'),
  };
}

type Settings = ReturnType<typeof settings>;

function parse(message: VendorMessage, s: Settings): VendorRecord {
  const { text } = decodeWith(message.body, s.encoding);
  try {
    return s.layout === 'csv' ? parseCsvRecord(text, s.delimiter) : parseKeyValueRecord(text);
  } catch (err) {
    throw new Rejection('mapping-failed', `profile ${NAME} (layout ${s.layout}): ${(err as Error).message}`);
  }
}

function attachmentsIn(record: VendorRecord, message: VendorMessage, s: Settings): VendorAttachment[] {
  const list = scalarText(getPath(record, s.attachmentsColumn));
  if (!list) return [];
  return list
    .split(s.spec.listSeparator)
    .map((n) => n.trim())
    .filter(Boolean)
    .map((name) => {
      const side = takeSideFile(message, name);
      if (!side) throw new MappingError('attachments', 'attachmentsColumn', name, 'the file is not in the attachments folder', s.attachmentsColumn);
      return { name, contentType: name.toLowerCase().endsWith('.pdf') ? 'application/pdf' : undefined, data: side.bytes };
    });
}

function encodeOrRefuse(text: string, s: Settings): Buffer {
  try {
    return encodeText(text, s.outputEncoding);
  } catch (err) {
    if (err instanceof UnencodableCharacter) {
      throw new MappingError('(text)', 'outputEncoding', err.character, `${s.outputEncoding} cannot write it (position ${err.index})`);
    }
    throw err;
  }
}

export const legacyCsvProfile: FormatProfile = {
  name: NAME,
  toEdxml(message, context) {
    const s = settings(context);
    const record = parse(message, s);
    const { kind, values } = vendorToValues(record, s.spec, context.ownOrganId);
    return writePackage(kind, values, kind === 'edoc' ? attachmentsIn(record, message, s) : []);
  },
  fromEdxml(edxml, context) {
    const s = settings(context);
    const read = readForVendor(edxml);
    const record = valuesToVendor(read.values, read.kind, s.spec, { lists: 'joined', scalars: 'text' });
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(record)) flat[k] = typeof v === 'string' ? v : JSON.stringify(v);
    if (read.attachments.length > 0) flat[s.attachmentsColumn] = read.attachments.map((a) => a.name).join(s.spec.listSeparator);
    const text = s.layout === 'csv' ? printCsvRecord(flat, s.delimiter) : printKeyValueRecord(flat);
    const stem = outputStem(context, read.pkg.documentId, read.kind, read.values['status.code'] as string | undefined);
    return {
      body: encodeOrRefuse(text, s),
      fileName: `${stem}.${s.layout === 'csv' ? 'csv' : 'txt'}`,
      contentType: s.layout === 'csv' ? 'text/csv' : 'text/plain',
      sideFiles: read.attachments.map((a) => ({ name: a.name, bytes: a.data })),
    };
  },
};

/** Throws Rejection('mapping-failed', …) naming the option path when profileOptions do not make sense. */
export function checkOptions(options: Record<string, unknown>): void {
  settings({ ownOrganId: '', options });
}
