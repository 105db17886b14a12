import * as fs from 'node:fs';
import type { RegisterCommand } from '../usage';
import { UsageError } from '../usage';
import { DEFAULT_LIMITS, type Limits } from '../../limits';
import { loadConfigFile } from '../../config/load';
import { validatePackageDeep, type ValidationResult } from '../../edxml/validate';

/**
 * `vdxp validate <file> [--json]`: is this package acceptable? Exit 0 when it is; 1 when it is
 * not (every problem listed with its element path and rule) or when the file is unreadable or
 * hostile (with its typed reason); 2 for usage errors.
 */
export const registerValidate: RegisterCommand = (program, setExitCode) => {
  program
    .command('validate')
    .description('check an edXML package (edoc or status): structure, limits, attachments')
    .argument('<file>', 'the package (.edxml)')
    .option('--json', 'machine-readable output')
    .option('--config <file>', 'take the limits from this agency config instead of the defaults')
    .action(async (file: string, opts: { json?: boolean; config?: string }) => {
      const limits = opts.config ? await limitsFromConfig(opts.config) : DEFAULT_LIMITS;
      let result: ValidationResult;
      const bytes = readInput(file, limits);
      if (Buffer.isBuffer(bytes)) result = await validatePackageDeep(bytes, limits);
      else result = bytes;
      process.stdout.write(opts.json ? `${JSON.stringify({ file, ...result })}\n` : render(file, result));
      setExitCode(result.ok ? 0 : 1);
    });
};

async function limitsFromConfig(path: string): Promise<Limits> {
  try {
    return loadConfigFile(path).limits;
  } catch (err) {
    throw new UsageError(`--config ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The file's bytes, or a refusal when it cannot or must not be read whole. */
function readInput(file: string, limits: Limits): Buffer | ValidationResult {
  let size: number;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return unreadable(`${file} is not a regular file`);
    size = st.size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`no such file: ${file}`);
    return unreadable(`${file}: ${(err as Error).message}`);
  }
  if (size > limits.maxPackageBytes) {
    const detail = `package is ${size} bytes, limit ${limits.maxPackageBytes}`;
    return {
      ok: false,
      problems: [{ path: '/', rule: 'limits.maxPackageBytes', message: detail }],
      warnings: [],
      rejection: { reason: 'limit-exceeded', detail, limit: 'limits.maxPackageBytes' },
    };
  }
  try {
    return fs.readFileSync(file);
  } catch (err) {
    return unreadable(`${file}: ${(err as Error).message}`);
  }
}

function unreadable(detail: string): ValidationResult {
  return { ok: false, problems: [{ path: '/', rule: 'unreadable-file', message: detail }], warnings: [], rejection: { reason: 'unreadable-file', detail } };
}

function render(file: string, r: ValidationResult): string {
  const lines: string[] = [];
  const what = r.kind ? `${r.kind}${r.statusCode ? ` ${r.statusCode}` : ''}, DocumentId ${r.documentId}` : 'unreadable';
  if (r.rejection) {
    lines.push(`${file}: NOT ACCEPTABLE — ${r.rejection.reason}${r.rejection.limit ? ` (${r.rejection.limit})` : ''}: ${r.rejection.detail}`);
  } else {
    lines.push(`${file}: ${r.ok ? 'acceptable' : 'NOT ACCEPTABLE'} (${what})`);
    for (const p of r.problems) lines.push(`  problem  ${p.path}  [${p.rule}]  ${p.message}`);
    for (const w of r.warnings) lines.push(`  warning  ${w.path}  [${w.rule}]  ${w.message}`);
    if (r.organIds?.length) {
      lines.push('  OrganIds:');
      for (const o of r.organIds) lines.push(`    ${o.value}  ${o.form}${o.sane ? '' : ' (unusual characters)'}  ${o.path}`);
    }
    if (r.signatures?.length) {
      for (const s of r.signatures) lines.push(`  signature element ${s.localName} in namespace ${s.namespaceURI ?? '(none)'} at ${s.path} (not verified here)`);
    } else if (r.kind === 'edoc') {
      lines.push('  no signature element');
    }
  }
  return `${lines.join('\n')}\n`;
}
