/**
 * `vdxp trail verify --config <agency.yaml> [--json]`: reads the agency's whole trail and checks
 * every chain (docs/TRAIL.md, what verify proves). Exit 0 intact, 1 a record was altered or
 * removed (each problem named with its chain, seq and offset).
 */
import { commonClientConfig } from '../../broker/client-config';
import { readTrail } from '../../trail/load';
import { verifyTrail } from '../../trail/verify';
import { trailTopic } from '../../broker/topics';
import { loadAgencyConfig } from './agency-config';
import type { RegisterCommand } from '../usage';
import { agencyGroupId } from '../../broker/topics';

export const registerTrail: RegisterCommand = (program, setExitCode) => {
  const trail = program.command('trail').description("the agency's tamper-evident trail");
  trail
    .command('verify')
    .description('check that no record of the trail was altered or removed')
    .requiredOption('-c, --config <file>', 'agency config (YAML)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { config: string; json?: boolean }) => {
      const config = loadAgencyConfig(opts.config);
      const { records, bounds } = await readTrail(commonClientConfig(config.kafka, `vdxp-trail-${config.organId}`), config.organId, undefined, agencyGroupId(config.organId, config.kafka.consumerGroup));
      const report = verifyTrail(config.organId, records, bounds.low, bounds.high);
      if (opts.json) process.stdout.write(JSON.stringify(report) + '\n');
      else {
        const topic = trailTopic(config.organId);
        process.stdout.write(`${topic}: ${report.records} records (offsets ${report.logStartOffset}–${report.endOffset - 1}), ${report.chains.length} chain(s), ${report.duplicates} duplicate(s)\n`);
        if (report.logStartOffset > 0) process.stdout.write(`records before offset ${report.logStartOffset} were removed by retention: chains are checked from there\n`);
        for (const c of report.chains) {
          const state = c.closed ? 'closed' : 'open (live, or its writer crashed)';
          process.stdout.write(`  chain ${c.chain}${c.writer ? ` [${c.writer.role}]` : ''}: seq ${c.firstSeq}–${c.lastSeq}, ${state}, head ${c.head.slice(0, 16)}…${c.cutByRetention ? ', start cut by retention' : ''}\n`);
        }
        for (const p of report.problems) process.stdout.write(`PROBLEM ${p.kind}: ${p.detail}\n`);
        process.stdout.write(report.ok ? 'trail intact: no record altered or removed\n' : `trail NOT intact: ${report.problems.length} problem(s)\n`);
      }
      setExitCode(report.ok ? 0 : 1);
    });
};
