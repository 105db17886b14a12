/**
 * Reference packages for the conformance kit: one document that fills every element a vendor
 * mapping can carry (Vietnamese text, dates, type, priority, signer, due date, two recipients,
 * an attachment), and one status per status code, answering it.
 */
import { writeEdoc, writeStatus } from '../../edxml/writer';
import { STATUS_CODE_LIST, STATUS_CODES } from '../../edxml/model';

export const REFERENCE_SENDER = '000.00.00.H41';
export const REFERENCE_RECIPIENTS = ['000.00.00.G22', '000.00.00.G09'];

export function referencePackages(): Array<{ name: string; bytes: Buffer }> {
  const edoc = writeEdoc({
    header: {
      from: { organId: REFERENCE_SENDER, organName: 'UBND tỉnh Nghệ An', organAdd: 'Số 3 Trường Thi, TP Vinh', email: 'vanthu@nghean.gov.vn', telephone: '0238 3844 511' },
      to: REFERENCE_RECIPIENTS.map((organId) => ({ organId })),
      code: { codeNumber: '118', codeNotation: 'UBND-VP' },
      promulgationInfo: { place: 'Nghệ An', promulgationDate: '2026-11-20' },
      documentType: { type: 1, typeName: 'Công văn' },
      subject: 'Trục liên thông văn bản quốc gia chính thức kết nối 95/95 bộ, ngành, địa phương',
      content: 'Đề nghị các cơ quan, đơn vị phối hợp thực hiện.',
      signerInfo: { competence: 'TM. Ủy ban nhân dân', position: 'Chủ tịch', fullName: 'Nguyễn Đức Trung' },
      dueDate: '2026-12-31',
      otherInfo: { priority: 1, appendixes: [] },
      responseFor: [],
      steeringType: 1,
      toPlaces: [],
    },
    attachments: [{ attachmentName: 'cong-van-118.pdf', contentType: 'application/pdf', description: 'Văn bản chính', data: Buffer.from('%PDF-1.4\n% tệp mẫu\n%%EOF\n') }],
  });
  const documentId = `${REFERENCE_SENDER},2026/11/20,118/UBND-VP`;
  const statuses = STATUS_CODE_LIST.map((code) => ({
    name: `reference status ${code} (${STATUS_CODES[code].name})`,
    bytes: writeStatus({
      from: { organId: REFERENCE_RECIPIENTS[0]!, organName: 'Văn phòng Chính phủ' },
      responseFor: { organId: REFERENCE_SENDER, code: '118/UBND-VP', promulgationDate: '2026-11-20', documentId },
      staffInfo: { department: 'Phòng Hành chính', staff: 'Trần Thị Bình' },
      statusCode: code,
      description: STATUS_CODES[code].meaning,
      timestamp: '2026-11-21T08:30:00',
    }),
  }));
  return [{ name: 'reference document (every mapped element)', bytes: edoc }, ...statuses];
}
