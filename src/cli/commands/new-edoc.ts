import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RegisterCommand } from '../usage';
import { UsageError } from '../usage';
import { writeEdoc } from '../../edxml/writer';
import { dateFromDate } from '../../edxml/dates';

/**
 * `vdxp new-edoc --from <OrganId> --to <OrganId>[,…] [--subject …] [--attach file]… -o <out>`:
 * writes a fresh, unsigned edXML document in the canonical layout, for trying a connection
 * end to end before the legacy system is wired.
 */
export const registerNewEdoc: RegisterCommand = (program, setExitCode) => {
  program
    .command('new-edoc')
    .description('write a new edXML document (unsigned) for testing a connection')
    .requiredOption('--from <organId>', 'sender OrganId')
    .requiredOption('--to <organIds>', 'recipient OrganIds, comma-separated')
    .requiredOption('-o, --output <file>', 'where to write the package')
    .option('--number <n>', 'CodeNumber (số văn bản)', '1')
    .option('--notation <text>', 'CodeNotation (ký hiệu)', 'VDXP-TEST')
    .option('--subject <text>', 'Subject (trích yếu)', 'Văn bản thử nghiệm kết nối trục liên thông')
    .option('--attach <file>', 'attach a file (repeatable)', (file: string, all: string[]) => [...all, file], [] as string[])
    .action((opts: { from: string; to: string; output: string; number: string; notation: string; subject: string; attach: string[] }) => {
      const to = opts.to.split(',').map((s) => s.trim()).filter(Boolean);
      if (to.length === 0) throw new UsageError('--to names no recipient');
      const attachments = opts.attach.map((file) => {
        if (!fs.existsSync(file)) throw new UsageError(`--attach ${file}: no such file`);
        return { attachmentName: path.basename(file), contentType: contentTypeOf(file), data: fs.readFileSync(file) };
      });
      const bytes = writeEdoc({
        header: {
          from: { organId: opts.from },
          to: to.map((organId) => ({ organId })),
          code: { codeNumber: opts.number, codeNotation: opts.notation },
          promulgationInfo: { promulgationDate: dateFromDate(new Date()) },
          documentType: { type: 1, typeDetail: 0, typeName: 'Công văn' },
          subject: opts.subject,
          content: opts.subject,
          otherInfo: { priority: 0, appendixes: [] },
          responseFor: [],
          steeringType: 1,
          toPlaces: [],
        },
        attachments,
      });
      fs.writeFileSync(opts.output, bytes);
      setExitCode(0);
    });
};

function contentTypeOf(file: string): string {
  const ext = path.extname(file).toLowerCase();
  return ext === '.pdf' ? 'application/pdf' : ext === '.zip' ? 'application/zip' : 'application/octet-stream';
}
