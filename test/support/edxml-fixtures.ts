/** Shared helpers for the edXML tests: comparable models, a zip builder, fast-check arbitraries. */
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import type { Rejection } from '../../src/errors';
import {
  BUSSINESS_DOC_TYPE_CODES,
  STATUS_CODE_LIST,
  type EdocModel,
  type EdxmlPackage,
  type NewAttachment,
  type Organization,
  type StatusModel,
} from '../../src/edxml/model';

/** A package minus what depends on how it was written (notes, repairs, signatures). */
export function comparable(pkg: EdxmlPackage): Record<string, unknown> {
  const { notes: _n, repairs: _r, signatures: _s, ...rest } = pkg;
  void _n;
  void _r;
  void _s;
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}

/** A small, complete edoc model with every MessageHeader element filled. */
export function fullEdocModel(): EdocModel {
  return {
    header: {
      from: {
        organId: '000.00.00.G22',
        organizationInCharge: 'Chính phủ',
        organName: 'Văn phòng Chính phủ',
        organAdd: 'Số 1 Hoàng Hoa Thám, Ba Đình, Hà Nội',
        email: 'vpcp@gov.vn',
        telephone: '080 43100',
        fax: '080 44130',
        website: 'vpcp.vn',
      },
      to: [
        { organId: '000.00.00.H41', organName: 'UBND tỉnh Nghệ An' },
        { organId: 'H37.02.02', organName: 'Sở Tài chính Lạng Sơn' },
      ],
      documentId: '000.00.00.G22,2026/11/20,7816/VPCP-TTĐT',
      code: { codeNumber: '7816', codeNotation: 'VPCP-TTĐT' },
      promulgationInfo: { place: 'Hà Nội', promulgationDate: '2026-11-20' },
      documentType: { type: 1, typeDetail: 0, typeName: 'Công văn' },
      subject: 'V/v kết nối, liên thông phần mềm quản lý văn bản & <thử>',
      content: 'Nội dung "trích yếu"',
      signerInfo: { competence: 'KT. BỘ TRƯỞNG', position: 'Thứ trưởng', fullName: 'Nguyễn Văn A' },
      dueDate: '2026-12-01',
      otherInfo: {
        priority: 1,
        sphereOfPromulgation: 'Liên thông văn bản quốc gia',
        typerNotation: 'TVC',
        promulgationAmount: 2,
        pageAmount: 3,
        replyFors: 'R1',
        direction: false,
        referenceCodes: 'RC-1',
        appendixes: ['Phụ lục I', 'Phụ lục II'],
      },
      responseFor: [{ organId: '000.00.00.H41', code: '12/UBND-VP', promulgationDate: '2026-11-01', documentId: '000.00.00.H41,2026/11/01,12/UBND-VP' }],
      steeringType: 1,
      responseForTask: ['T-1'],
      applicationType: 'QLVB',
      toPlaces: ['Các bộ, cơ quan ngang bộ', 'UBND các tỉnh'],
    },
    trace: {
      traceHeaders: [{ organId: '000.00.00.G22', timestamp: '2026-11-20T08:30:00' }],
      bussiness: {
        documentId: '000.00.00.G22,2026/11/20,7816/VPCP-TTĐT',
        bussinessDocType: 0,
        bussinessDocReason: 'Văn bản điện tử mới',
        paper: 0,
        bussinessDocumentInfo: [],
        replacementInfo: [],
        staffInfo: [{ department: 'Văn thư', staff: 'Nguyễn Thị B', email: 'vanthu@gov.vn', mobile: '0912000001' }],
      },
    },
    attachments: [
      { contentId: 'cid:6f1c0a1e-0000-4000-8000-000000000001', attachmentName: 'cong-van.pdf', description: 'Công văn', contentType: 'application/pdf', data: Buffer.from('%PDF-1.4\nhello\n') },
    ],
  };
}

export function statusModel(code: StatusModel['statusCode']): StatusModel {
  return {
    from: { organId: '000.00.00.H41', organName: 'UBND tỉnh Nghệ An' },
    responseFor: { organId: '000.00.00.G22', code: '7816/VPCP-TTĐT', promulgationDate: '2026-11-20', documentId: '000.00.00.G22,2026/11/20,7816/VPCP-TTĐT' },
    staffInfo: { department: 'Văn thư', staff: 'Trần Văn C', email: 'vt@nghean.gov.vn', mobile: '0912000002' },
    statusCode: code,
    description: `Trạng thái ${code}`,
    timestamp: '2026-11-20T09:00:00',
  };
}

// ---------------------------------------------------------------------------------------------
// A minimal zip writer (stored or deflated entries, optional lies in the directory) for tests.

export interface ZipSpec {
  name: string;
  data: Buffer;
  method?: 0 | 8;
  /** Override the sizes written in the headers (to forge a bomb that lies). */
  declaredSize?: number;
  /** Set general-purpose bit 3 and write sizes only in the central directory, like the Java SDK. */
  dataDescriptor?: boolean;
}

export function makeZip(entries: ZipSpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const method = e.method ?? 8;
    const body = method === 8 ? zlib.deflateRawSync(e.data) : e.data;
    const crc = zlib.crc32(e.data);
    const size = e.declaredSize ?? e.data.length;
    const name = Buffer.from(e.name, 'utf8');
    const flags = e.dataDescriptor ? 0x0808 : 0x0800;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(flags, 6);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt32LE(e.dataDescriptor ? 0 : crc, 14);
    lh.writeUInt32LE(e.dataDescriptor ? 0 : body.length, 18);
    lh.writeUInt32LE(e.dataDescriptor ? 0 : size, 22);
    lh.writeUInt16LE(name.length, 26);
    const dd = Buffer.alloc(e.dataDescriptor ? 16 : 0);
    if (e.dataDescriptor) {
      dd.writeUInt32LE(0x08074b50, 0);
      dd.writeUInt32LE(crc, 4);
      dd.writeUInt32LE(body.length, 8);
      dd.writeUInt32LE(size, 12);
    }
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(flags, 8);
    ch.writeUInt16LE(method, 10);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(body.length, 20);
    ch.writeUInt32LE(size, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, body, dd);
    centrals.push(ch, name);
    offset += lh.length + name.length + body.length + dd.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** A bare edoc around given attachments (for attachment and limit tests). */
export function edocWith(attachments: NewAttachment[], overrides: Partial<EdocModel['header']> = {}): EdocModel {
  const m = fullEdocModel();
  m.header = { ...m.header, ...overrides };
  m.attachments = attachments;
  return m;
}

export function isTypedRejection(err: unknown): err is Rejection {
  return (
    err instanceof Error &&
    err.name === 'Rejection' &&
    typeof (err as Rejection).reason === 'string' &&
    typeof (err as Rejection).detail === 'string'
  );
}

// ---------------------------------------------------------------------------------------------
// fast-check arbitraries: models whose every value survives the trip (trimmed, non-empty text).

const VIET = 'aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂBCDĐEÊGHIKLMNOÔƠPQRSTUƯVXYàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ';
const TEXT_CHARS = `${VIET}0123456789 .,;:/-()&<>"'!?%#@`;

/** Trimmed, non-empty text with Vietnamese letters and XML-special characters. */
export const textArb = fc
  .array(fc.constantFrom(...TEXT_CHARS.split('')), { minLength: 1, maxLength: 40 })
  .map((cs) => cs.join('').trim())
  .filter((s) => s.length > 0);

const optText = fc.option(textArb, { nil: undefined });
const optInt = (min: number, max: number): fc.Arbitrary<number | undefined> => fc.option(fc.integer({ min, max }), { nil: undefined });

export const organIdArb = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.constantFrom('G', 'H', 'A'), fc.integer({ min: 1, max: 99 })).map(
    ([a, b, c, l, d]) => `${String(a).padStart(3, '0')}.${String(b).padStart(2, '0')}.${String(c).padStart(2, '0')}.${l}${String(d).padStart(2, '0')}`,
  ),
  fc.tuple(fc.constantFrom('G', 'H'), fc.integer({ min: 1, max: 99 }), fc.integer({ min: 1, max: 999 })).map(([l, a, b]) => `${l}${String(a).padStart(2, '0')}.${b}`),
  fc.constantFrom('vxp.saas.02', 'vxp.saas.03'),
);

export const dateArb = fc
  .tuple(fc.integer({ min: 1990, max: 2099 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }))
  .map(([y, m, d]) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);

export const timestampArb = fc
  .tuple(dateArb, fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }))
  .map(([d, h, m, s]) => `${d}T${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`);

function clean<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

export const organizationArb: fc.Arbitrary<Organization> = fc
  .record({ organId: organIdArb, organizationInCharge: optText, organName: optText, organAdd: optText, email: optText, telephone: optText, fax: optText, website: optText })
  .map(clean);

const staffArb = fc
  .record({ department: optText, departmentId: optText, staff: optText, staffId: optText, email: optText, mobile: optText })
  .map(clean)
  .filter((s) => Object.keys(s).length > 0);

const responseForArb = fc
  .record({ organId: fc.option(organIdArb, { nil: undefined }), code: optText, promulgationDate: fc.option(dateArb, { nil: undefined }), documentId: optText })
  .map(clean)
  .filter((r) => Object.keys(r).length > 0);

function someOf<T extends object>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(arb.map(clean).filter((o) => Object.keys(o).length > 0), { nil: undefined });
}

export const edocModelArb: fc.Arbitrary<EdocModel> = fc
  .record({
    from: organizationArb,
    to: fc.array(organizationArb, { minLength: 1, maxLength: 3 }),
    documentId: optText,
    code: fc.record({ codeNumber: textArb, codeNotation: textArb }),
    promulgationInfo: fc.record({ place: optText, promulgationDate: dateArb }).map(clean),
    documentType: someOf(fc.record({ type: optInt(0, 99), typeDetail: optInt(0, 9), typeName: optText })),
    subject: optText,
    content: optText,
    signerInfo: someOf(fc.record({ competence: optText, position: optText, fullName: optText })),
    dueDate: fc.option(dateArb, { nil: undefined }),
    otherInfo: fc.option(
      fc
        .record({
          priority: optInt(0, 4),
          sphereOfPromulgation: optText,
          typerNotation: optText,
          promulgationAmount: optInt(0, 1000),
          pageAmount: optInt(0, 1000),
          replyFors: optText,
          direction: fc.option(fc.boolean(), { nil: undefined }),
          referenceCodes: optText,
          appendixes: fc.array(textArb, { maxLength: 3 }),
        })
        .map(clean),
      { nil: undefined },
    ),
    responseFor: fc.array(responseForArb, { maxLength: 2 }),
    steeringType: optInt(0, 2),
    responseForTask: fc.option(fc.array(textArb, { minLength: 1, maxLength: 2 }), { nil: undefined }),
    applicationType: optText,
    toPlaces: fc.array(textArb, { maxLength: 3 }),
    traceHeaders: fc.array(fc.record({ organId: fc.option(organIdArb, { nil: undefined }), timestamp: fc.option(timestampArb, { nil: undefined }) }).map(clean), { maxLength: 3 }),
    bussiness: fc.option(
      fc
        .record({
          documentId: optText,
          bussinessDocType: fc.constantFrom(...BUSSINESS_DOC_TYPE_CODES),
          bussinessDocReason: optText,
          paper: optInt(0, 1),
          bussinessDocumentInfo: fc.array(
            fc
              .record({
                documentInfo: optInt(0, 1),
                documentReceiver: optInt(0, 1),
                receivers: fc.array(fc.record({ organId: organIdArb, receiverType: optInt(0, 1) }).map(clean), { maxLength: 2 }),
              })
              .map(clean),
            { maxLength: 2 },
          ),
          replacementInfo: fc.array(fc.record({ documentId: textArb, organIds: fc.array(organIdArb, { maxLength: 2 }) }), { maxLength: 2 }),
          staffInfo: fc.array(staffArb, { maxLength: 2 }),
        })
        .map(clean),
      { nil: undefined },
    ),
    attachments: fc.array(
      fc.record({
        attachmentName: textArb,
        description: optText,
        contentType: fc.option(fc.constantFrom('application/pdf', 'application/zip', 'text/plain'), { nil: undefined }),
        data: fc.uint8Array({ minLength: 0, maxLength: 64 }).map((u) => Buffer.from(u)),
      }),
      { maxLength: 3 },
    ),
  })
  .map((r) => {
    const header = clean({
      from: r.from,
      to: r.to,
      documentId: r.documentId,
      code: r.code,
      promulgationInfo: r.promulgationInfo,
      documentType: r.documentType,
      subject: r.subject,
      content: r.content,
      signerInfo: r.signerInfo,
      dueDate: r.dueDate,
      otherInfo: r.otherInfo,
      responseFor: r.responseFor,
      steeringType: r.steeringType,
      responseForTask: r.responseForTask,
      applicationType: r.applicationType,
      toPlaces: r.toPlaces,
    });
    return {
      header,
      trace: clean({ traceHeaders: r.traceHeaders, bussiness: r.bussiness }),
      attachments: r.attachments.map((a, k) => clean({ ...a, contentId: `cid:att-${k}` })),
    } as EdocModel;
  });

export const statusModelArb: fc.Arbitrary<StatusModel> = fc
  .record({
    from: organizationArb,
    responseFor: fc
      .record({ organId: organIdArb, code: optText, promulgationDate: fc.option(dateArb, { nil: undefined }), documentId: textArb })
      .map(clean),
    staffInfo: fc.option(staffArb, { nil: undefined }),
    statusCode: fc.constantFrom(...STATUS_CODE_LIST),
    description: optText,
    timestamp: timestampArb,
  })
  .map(clean);
