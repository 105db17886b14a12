/**
 * Statuses the connector itself reports to a sender: 01 (arrived) and 02 (rejected, with the
 * reason). Writing one never fails for a package the reader accepted (a property test holds the
 * pair to that: test/unit/pipeline/status-reply.test.ts), so no package is retried forever for it.
 */
import { toXmlText, writeStatus } from '../edxml/writer';
import { timestampFromDate } from '../edxml/dates';
import type { PackageFacts } from './package-facts';

export interface Self {
  organId: string;
  organName?: string;
  /** Signs what this connector emits when the agency signs for its legacy system (DESIGN.md §5). */
  sign?: (edxml: Buffer) => Buffer;
}

export function statusReply(facts: PackageFacts, self: Self, statusCode: '01' | '02', description: string, now: Date): Buffer {
  const pkg = facts.package;
  const header = pkg.kind === 'edoc' ? pkg.header : undefined;
  const codeNumber = header?.code?.codeNumber;
  const codeNotation = header?.code?.codeNotation;
  const status = writeStatus({
    from: { organId: self.organId, organName: self.organName },
    responseFor: {
      organId: facts.fromOrganId,
      code: codeNumber || codeNotation ? `${codeNumber ?? ''}/${codeNotation ?? ''}` : undefined,
      promulgationDate: header?.promulgationInfo?.promulgationDate,
      documentId: facts.documentId,
    },
    staffInfo: { department: 'VDXP connector', staff: 'VDXP connector' },
    statusCode,
    // The description quotes rejection details and sink errors: never a reason for the status to fail.
    description: toXmlText(description),
    timestamp: timestampFromDate(now),
  });
  return self.sign ? self.sign(status) : status;
}
