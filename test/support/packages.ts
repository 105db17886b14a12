/** Builds fresh edXML packages for tests with the project's own writer. */
import { randomBytes } from 'node:crypto';
import { writeEdoc } from '../../src/edxml/writer';

export interface TestEdocSpec {
  from: string;
  to: string[];
  number: number;
  subject?: string;
  attachmentBytes?: number;
  /** DueDate, `YYYY-MM-DD`. */
  dueDate?: string;
}

export function makeEdoc(spec: TestEdocSpec): Buffer {
  const codeNumber = String(spec.number);
  return writeEdoc({
    header: {
      from: { organId: spec.from, organName: `Cơ quan ${spec.from}` },
      to: spec.to.map((organId) => ({ organId, organName: `Cơ quan ${organId}` })),
      code: { codeNumber, codeNotation: 'UBND-VP' },
      promulgationInfo: { place: 'Nghệ An', promulgationDate: '2026-11-23' },
      documentType: { type: 1, typeDetail: 0, typeName: 'Công văn' },
      subject: spec.subject ?? `Trục liên thông văn bản quốc gia: công văn số ${codeNumber}`,
      ...(spec.dueDate ? { dueDate: spec.dueDate } : {}),
      otherInfo: { priority: 0, appendixes: [] },
      responseFor: [],
      steeringType: 1,
      toPlaces: [],
    },
    attachments: [
      { attachmentName: `cong-van-${codeNumber}.pdf`, contentType: 'application/pdf', data: Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(spec.attachmentBytes ?? 2048)]) },
    ],
  });
}
