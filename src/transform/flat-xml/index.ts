/**
 * `flat-xml`: a vendor's flat XML export — its own element names, `dd/MM/yyyy` dates, and the
 * attachments as files beside the XML, listed by name in the export:
 *
 *   <VanBan>
 *     <SoVanBan>12</SoVanBan><KyHieu>UBND-VP</KyHieu><NgayBanHanh>23/11/2026</NgayBanHanh>
 *     <NoiNhan><DonVi><Ma>000.00.00.G22</Ma></DonVi></NoiNhan>
 *     <TrichYeu>…</TrichYeu>
 *     <TepDinhKem><Tep><TenTep>cong-van.pdf</TenTep><KieuTep>application/pdf</KieuTep></Tep></TepDinhKem>
 *   </VanBan>
 *
 * Statuses use the root `TrangThaiVanBan` (option `statusRoot`) and are recognised by a value at
 * the status code's path.
 */
import type { VendorMessage } from '../../connectors/types';
import type { FormatProfile, ProfileContext } from '../profile';
import {
  getPath,
  isRecord,
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
import { Rejection } from '../../errors';
import { parseXmlRecord, printXmlRecord } from './xml-record';
import { takeSideFile } from '../side-files';

export const FLAT_XML_DEFAULTS: MappingDefaults = {
  dateFormat: 'dd/MM/yyyy',
  timestampFormat: 'dd/MM/yyyy HH:mm:ss',
  fields: {
    documentId: 'MaVanBan',
    'from.organId': 'DonViGui.Ma',
    'from.organName': 'DonViGui.Ten',
    'from.organAdd': 'DonViGui.DiaChi',
    'from.email': 'DonViGui.Email',
    'from.telephone': 'DonViGui.DienThoai',
    'from.fax': 'DonViGui.Fax',
    'from.website': 'DonViGui.Website',
    'from.organizationInCharge': 'DonViGui.CoQuanChuQuan',
    to: { path: 'NoiNhan.DonVi', item: { id: 'Ma', name: 'Ten' } },
    'code.number': 'SoVanBan',
    'code.notation': 'KyHieu',
    'promulgation.place': 'NoiBanHanh',
    'promulgation.date': 'NgayBanHanh',
    'documentType.type': 'LoaiVanBan',
    'documentType.name': 'TenLoaiVanBan',
    subject: 'TrichYeu',
    content: 'NoiDung',
    'signer.fullName': 'NguoiKy.HoTen',
    'signer.position': 'NguoiKy.ChucVu',
    'signer.competence': 'NguoiKy.ThamQuyen',
    dueDate: 'HanXuLy',
    priority: 'DoKhan',
    steeringType: 'ChiDao',
    'documentType.typeDetail': 'LoaiVanBanChiTiet',
    sphereOfPromulgation: 'PhamViBanHanh',
    typerNotation: 'KyHieuNguoiDanhMay',
    promulgationAmount: 'SoBan',
    pageAmount: 'SoTrang',
    toPlaces: 'NoiNhanKhac.NoiNhan',
    appendixes: 'PhuLuc.TenPhuLuc',
    'business.docType': 'NghiepVu.Loai',
    'business.reason': 'NghiepVu.LyDo',
    'status.code': 'MaTrangThai',
    'status.description': 'MoTa',
    'status.timestamp': 'ThoiGian',
    'status.department': 'CanBo.PhongBan',
    'status.staff': 'CanBo.HoTen',
    'status.staffEmail': 'CanBo.Email',
    'status.staffMobile': 'CanBo.DienThoai',
    'responseFor.organId': 'VanBanGoc.DonViGui',
    'responseFor.documentId': 'VanBanGoc.MaVanBan',
    'responseFor.code': 'VanBanGoc.SoKyHieu',
    'responseFor.promulgationDate': 'VanBanGoc.NgayBanHanh',
  },
};

const NAME = 'flat-xml';
const OWN_KEYS = ['documentRoot', 'statusRoot', 'attachmentsPath'];

function settings(context: ProfileContext) {
  const options = context.options ?? {};
  return {
    spec: specFor(NAME, context, FLAT_XML_DEFAULTS, OWN_KEYS),
    documentRoot: optionString(NAME, options, 'documentRoot', 'VanBan'),
    statusRoot: optionString(NAME, options, 'statusRoot', 'TrangThaiVanBan'),
    /** Each item: TenTep (file name beside the XML), KieuTep (content type), MoTa (description). */
    attachmentsPath: optionString(NAME, options, 'attachmentsPath', 'TepDinhKem.Tep'),
  };
}

function attachmentsIn(record: VendorRecord, message: VendorMessage, path: string): VendorAttachment[] {
  const raw = getPath(record, path);
  if (raw === undefined || raw === '' || raw === null) return [];
  const items = Array.isArray(raw) ? raw : [raw];
  return items.map((item) => {
    const name = isRecord(item) ? scalarText(item.TenTep) : scalarText(item);
    if (!name) throw new MappingError('attachments', 'attachmentsPath', item, 'each attachment names its file in TenTep', path);
    const side = takeSideFile(message, name);
    if (!side) throw new MappingError('attachments', 'attachmentsPath', name, 'the file is not beside the export', path);
    return {
      name,
      contentType: isRecord(item) ? scalarText(item.KieuTep) : undefined,
      description: isRecord(item) ? scalarText(item.MoTa) : undefined,
      data: side.bytes,
    };
  });
}

export const flatXmlProfile: FormatProfile = {
  name: NAME,
  toEdxml(message, context) {
    const { spec, attachmentsPath } = settings(context);
    const { record } = parseXmlRecord(message.body);
    const { kind, values } = vendorToValues(record, spec, context.ownOrganId);
    return writePackage(kind, values, kind === 'edoc' ? attachmentsIn(record, message, attachmentsPath) : []);
  },
  fromEdxml(edxml, context) {
    const { spec, documentRoot, statusRoot, attachmentsPath } = settings(context);
    const read = readForVendor(edxml);
    const record = valuesToVendor(read.values, read.kind, spec, { lists: 'array', scalars: 'text' });
    if (read.attachments.length > 0) {
      const items = read.attachments.map((a) => {
        const item: VendorRecord = { TenTep: a.name };
        if (a.contentType) item.KieuTep = a.contentType;
        if (a.description) item.MoTa = a.description;
        return item;
      });
      setPath(record, attachmentsPath, items);
    }
    let body: Buffer;
    try {
      body = printXmlRecord(read.kind === 'status' ? statusRoot : documentRoot, record);
    } catch (err) {
      throw new Rejection('mapping-failed', `profile flat-xml: ${(err as Error).message}`);
    }
    const stem = outputStem(context, read.pkg.documentId, read.kind, read.values['status.code'] as string | undefined);
    return {
      body,
      fileName: `${stem}.xml`,
      contentType: 'application/xml',
      sideFiles: read.attachments.map((a) => ({ name: a.name, bytes: a.data })),
    };
  },
};

/** Throws Rejection('mapping-failed', …) naming the option path when profileOptions do not make sense. */
export function checkOptions(options: Record<string, unknown>): void {
  settings({ ownOrganId: '', options });
}
