import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RegisterCommand } from '../usage';
import { isRejection } from '../../errors';
import { readPackage } from '../../edxml/reader';
import { idempotencyKey, sha256Hex } from '../../pipeline/identity';
import { readOrUsage, singleProfile } from './convert';

/**
 * `vdxp export --profile <name|file> <package> -o <path>`: an edXML package → the vendor's
 * format, offline, as a sink would deliver it. `-o` is a folder (the file is named as the sink
 * names it) or a file name; attachments are written beside it. Exit 0, 1 refused, 2 usage.
 */
export const registerExport: RegisterCommand = (program, setExitCode) => {
  program
    .command('export')
    .description('convert an edXML package to a vendor format with a format profile (offline)')
    .requiredOption('--profile <name|file>', 'a shipped profile name or a profile file (YAML)')
    .argument('<package>', 'the edXML package')
    .requiredOption('-o, --output <path>', 'a folder, or the vendor file to write (attachments go beside it)')
    .option('--organ-id <id>', "this agency's OrganId (the receiver)")
    .action((file: string, opts: { profile: string; output: string; organId?: string }) => {
      const setting = singleProfile(opts.profile);
      const edxml = readOrUsage(file);
      let message;
      try {
        const pkg = readPackage(edxml);
        const delivery = {
          documentId: pkg.documentId,
          idempotencyKey: idempotencyKey(pkg.documentId, sha256Hex(edxml)),
          kind: pkg.kind,
          statusCode: pkg.kind === 'status' ? pkg.statusCode : undefined,
          fromOrganId: pkg.from.organId,
        };
        message = setting.profile.fromEdxml(edxml, { ownOrganId: opts.organId ?? setting.organId ?? '', options: setting.options, delivery });
      } catch (err) {
        if (!isRejection(err)) throw err;
        process.stderr.write(`${file}: NOT EXPORTED — ${err.reason}: ${err.detail}\n`);
        setExitCode(1);
        return;
      }
      const isDir = opts.output.endsWith('/') || (fs.existsSync(opts.output) && fs.statSync(opts.output).isDirectory());
      const dir = isDir ? opts.output : path.dirname(opts.output);
      fs.mkdirSync(dir, { recursive: true });
      const target = isDir ? path.join(dir, message.fileName) : opts.output;
      // As the file-drop sink lays it out: attachments in a folder named after the main file's stem.
      const sideDir = path.join(path.dirname(target), path.basename(target, path.extname(target)));
      if (message.sideFiles.length > 0) fs.mkdirSync(sideDir, { recursive: true });
      for (const side of message.sideFiles) fs.writeFileSync(path.join(sideDir, path.basename(side.name)), side.bytes);
      fs.writeFileSync(target, message.body);
      process.stderr.write(`${file}: exported with ${setting.label} to ${target}${message.sideFiles.length ? ` (+ ${message.sideFiles.map((s) => s.name).join(', ')})` : ''}\n`);
      setExitCode(0);
    });
};
