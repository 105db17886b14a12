/**
 * `vdxp track <DocumentId> --config <agency.yaml> [--json]`: one document's timeline with its
 * evidence, read from the agency's trail. `vdxp track --overdue [--counterpart X]`: what is late
 * under the overdue rules. Times in Asia/Ho_Chi_Minh. Exit 0 found, 1 not found / nothing late
 * is still 0 (an empty list is an answer).
 */
import { commonClientConfig } from '../../broker/client-config';
import { modelOf, readTrail } from '../../trail/load';
import { formatVietnamTime } from '../../trail/calendar/working-time';
import { STATUS_CODES } from '../../edxml/model';
import type { DocumentState, TimelineStep } from '../../trail/read-model';
import { loadAgencyConfig } from './agency-config';
import { UsageError, type RegisterCommand } from '../usage';
import { agencyGroupId } from '../../broker/topics';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function evidenceLine(step: TimelineStep): string {
  return Object.entries(step.evidence)
    .filter(([k]) => k !== 'kind' && k !== 'meta' && k !== 'counterparts' && k !== 'counterpart' && k !== 'statusCode')
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
}

function statusText(code: string | undefined): string {
  if (!code) return '';
  const known = (STATUS_CODES as Record<string, { meaning: string }>)[code];
  return ` ${code}${known ? ` (${known.meaning})` : ''}`;
}

function timelineText(doc: DocumentState, overdue: Array<{ counterpart: string; stage: string; dueAt: number }>): string {
  const lines = [`${doc.documentId}  ${doc.direction}  ${doc.meta.code ?? ''}  ${doc.meta.subject ?? ''}`.trimEnd()];
  if (doc.meta.dueDate) lines.push(`  due date ${doc.meta.dueDate}`);
  for (const p of doc.parties.values()) lines.push(`  ${p.organId}${p.name ? ` (${p.name})` : ''}: ${p.stage}${p.latestStatus ? `, latest status${statusText(p.latestStatus.code)}` : ''}`);
  for (const m of overdue) lines.push(`  OVERDUE ${m.stage} for ${m.counterpart}: due ${formatVietnamTime(m.dueAt)}`);
  lines.push('  timeline (Asia/Ho_Chi_Minh):');
  for (const s of doc.steps) {
    lines.push(`    ${formatVietnamTime(s.at)}  ${s.step}${statusText(s.statusCode)}${s.counterpart ? `  ${s.counterpart}` : ''}  [trail offset ${s.offset}]`);
    const evidence = evidenceLine(s);
    if (evidence) lines.push(`      ${evidence}`);
  }
  return lines.join('\n') + '\n';
}

export const registerTrack: RegisterCommand = (program, setExitCode) => {
  program
    .command('track')
    .description("a document's timeline with its evidence, or (--overdue) the documents that are late")
    .argument('[documentId]', 'the DocumentId')
    .requiredOption('-c, --config <file>', 'agency config (YAML)')
    .option('--overdue', 'list the documents past a deadline of the overdue rules')
    .option('--counterpart <organId>', 'with --overdue: only this counterpart')
    .option('--json', 'machine-readable output')
    .action(async (documentId: string | undefined, opts: { config: string; overdue?: boolean; counterpart?: string; json?: boolean }) => {
      if (!documentId && !opts.overdue) throw new UsageError('give a DocumentId, or --overdue');
      if (documentId && opts.overdue) throw new UsageError('give a DocumentId or --overdue, not both');
      if (opts.counterpart && !opts.overdue) throw new UsageError('--counterpart goes with --overdue');
      const config = loadAgencyConfig(opts.config);
      const { records } = await readTrail(commonClientConfig(config.kafka, `vdxp-track-${config.organId}`), config.organId, undefined, agencyGroupId(config.organId, config.kafka.consumerGroup));
      const model = modelOf(config, records);
      const now = Date.now();
      if (opts.overdue) {
        const late = model.overdue(now, opts.counterpart);
        if (opts.json) {
          process.stdout.write(JSON.stringify(late.map((d) => ({ documentId: d.documentId, direction: d.direction, code: d.code, subject: d.subject, counterpart: d.mark.counterpart, stage: d.mark.stage, dueAt: iso(d.mark.dueAt), dueAtLocal: formatVietnamTime(d.mark.dueAt) }))) + '\n');
        } else {
          for (const d of late) process.stdout.write(`${d.mark.stage}\t${d.mark.counterpart}\tdue ${formatVietnamTime(d.mark.dueAt)}\t${d.direction}\t${d.documentId}\t${d.subject ?? ''}\n`);
          process.stdout.write(`${late.length} overdue (of ${model.size} documents in the trail)\n`);
        }
        return setExitCode(0);
      }
      const doc = model.document(documentId!);
      if (!doc) {
        process.stderr.write(`no document ${documentId} in the trail of ${config.organId} (${model.size} documents)\n`);
        return setExitCode(1);
      }
      const overdue = model.overdueOf(doc, now);
      if (opts.json) {
        process.stdout.write(
          JSON.stringify({
            ...model.summary(doc, now),
            meta: doc.meta,
            parties: [...doc.parties.values()],
            steps: doc.steps.map((s) => ({ ...s, at: iso(s.at), atLocal: formatVietnamTime(s.at) })),
          }) + '\n',
        );
      } else process.stdout.write(timelineText(doc, overdue));
      setExitCode(0);
    });
};
