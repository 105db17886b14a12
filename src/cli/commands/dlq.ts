/**
 * `vdxp dlq list|show|replay --config <agency.yaml>`: an operator's view into the agency's
 * dead-letter topic, and the way back out of it. Replay runs every check again before anything
 * is re-sent (docs/DELIVERY.md).
 */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { loadConfigFile, ConfigError } from '../../config/load';
import type { AgencyConfig } from '../../config/types';
import { commonClientConfig } from '../../broker/client-config';
import { TopicReader } from '../../broker/topic-reader';
import { BackboneProducer } from '../../broker/producer';
import { agencyGroupId, deadLetterTopic } from '../../broker/topics';
import type { IncomingRecord } from '../../broker/consumer';
import { createLogger } from '../../observability/log';
import { createMetrics } from '../../observability/metrics';
import { loadSignatureSupport } from '../../pipeline/signature-support';
import { parseAddress, prepareReplay, summarize } from '../../pipeline/delivery/replay';
import { outboundRoutes as routesOf } from '../../pipeline/outbound-routes';
import { TrailWriter } from '../../trail/writer';
import { ensureTrailTopic } from '../../trail';
import { CommandFailed, UsageError, type RegisterCommand } from '../usage';
import { describeBackboneError } from '../../broker/authorization';

interface CommonOptions {
  config: string;
  json?: boolean;
}

function loadConfig(file: string): AgencyConfig {
  try {
    return loadConfigFile(file);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

async function withReader<T>(config: AgencyConfig, use: (reader: TopicReader, topic: string) => Promise<T>): Promise<T> {
  // The agency's own group id: the only one its principal may use on the backbone (docs/SECURITY.md).
  const reader = new TopicReader(commonClientConfig(config.kafka, `vdxp-dlq-${config.organId}`), agencyGroupId(config.organId, config.kafka.consumerGroup));
  const principal = config.kafka.sasl?.username;
  try {
    await reader.connect();
  } catch (err) {
    throw new CommandFailed(`cannot connect to Kafka: ${describeBackboneError(err, principal)}`);
  }
  try {
    return await use(reader, deadLetterTopic(config.organId));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const why = describeBackboneError(err, principal);
    throw new CommandFailed(principal ? why.replace('this principal', `principal User:${principal}`) : why);
  } finally {
    await reader.disconnect();
  }
}

function addresses(list: string[]): Array<{ partition: number; offset: number }> {
  return list.map((text) => {
    const address = parseAddress(text);
    if (!address) throw new UsageError(`${text}: give a dead letter as <partition>:<offset>, as \`vdxp dlq list\` shows it`);
    return address;
  });
}

const withConfig = (command: Command) => command.requiredOption('-c, --config <file>', 'agency config (YAML)').option('--json', 'machine-readable output');

export const registerDlq: RegisterCommand = (program, setExitCode) => {
  const dlq = program.command('dlq').description("inspect and replay the agency's dead-letter topic");

  withConfig(dlq.command('list').description('list dead letters: address, reason, attempts, last failure, DocumentId'))
    .option('--reason <code>', 'only this reason')
    .action(async (opts: CommonOptions & { reason?: string }) => {
      const config = loadConfig(opts.config);
      const records = await withReader(config, (reader, topic) => reader.readAll(topic));
      const rows = records.map(summarize).filter((s) => !opts.reason || s.reason === opts.reason);
      if (opts.json) process.stdout.write(JSON.stringify(rows) + '\n');
      else {
        for (const r of rows) process.stdout.write(`${r.address}\t${r.reason}\tattempts=${r.attempts}\t${r.lastFailure ?? '-'}\t${r.documentId ?? '-'}\t${r.bytes} bytes\n`);
        process.stdout.write(`${rows.length} dead letter(s) in ${deadLetterTopic(config.organId)}\n`);
      }
      setExitCode(0);
    });

  withConfig(dlq.command('show').description('show one dead letter with all its headers').argument('<address>', '<partition>:<offset>'))
    .option('-o, --out <file>', 'also write the original package bytes to this file')
    .action(async (text: string, opts: CommonOptions & { out?: string }) => {
      const [address] = addresses([text]);
      const config = loadConfig(opts.config);
      const record = await withReader(config, (reader, topic) => reader.readOne(topic, address!));
      if (!record) {
        process.stderr.write(`no dead letter at ${text} in ${deadLetterTopic(config.organId)}\n`);
        return setExitCode(1);
      }
      if (opts.out) fs.writeFileSync(opts.out, record.value);
      const shown = { ...summarize(record), headers: record.headers };
      process.stdout.write(opts.json ? JSON.stringify(shown) + '\n' : `${Object.entries(shown.headers).map(([k, v]) => `${k}: ${v}`).join('\n')}\n(${record.value.length} bytes${opts.out ? `, written to ${opts.out}` : ''})\n`);
      setExitCode(0);
    });

  withConfig(dlq.command('replay').description('check dead letters again (signature, revocation, limits) and put those that pass back on the inbound topic (or on the outbox, for what an endpoint refused)'))
    .argument('[addresses...]', '<partition>:<offset> of each dead letter')
    .option('--all', 'every dead letter')
    .option('--reason <code>', 'every dead letter with this reason')
    .option('--dry-run', 'run the checks, send nothing')
    .action(async (list: string[], opts: CommonOptions & { all?: boolean; reason?: string; dryRun?: boolean }) => {
      if (list.length === 0 && !opts.all && !opts.reason) throw new UsageError('name dead letters as <partition>:<offset>, or use --all or --reason <code>');
      const wanted = addresses(list);
      const config = loadConfig(opts.config);
      const selected = await withReader(config, async (reader, topic) => {
        if (wanted.length > 0) {
          const found: IncomingRecord[] = [];
          for (const a of wanted) {
            const r = await reader.readOne(topic, a);
            if (!r) throw new UsageError(`no dead letter at ${a.partition}:${a.offset}`);
            found.push(r);
          }
          return found;
        }
        return (await reader.readAll(topic)).filter((r) => !opts.reason || summarize(r).reason === opts.reason);
      });
      const log = createLogger({ organId: config.organId, level: process.env.VDXP_LOG_LEVEL ?? 'warn' });
      const signatures = await loadSignatureSupport(config, log, createMetrics({ defaultMetrics: false }));
      const producer = new BackboneProducer(commonClientConfig(config.kafka, `vdxp-dlq-${config.organId}`));
      const outboundRoutes = routesOf(config.connectors).map((r) => r.connector);
      const results: Array<{ address: string; replayed: boolean; reason?: string; detail?: string }> = [];
      // Each replay is a step of its document's life: this run writes a short chain of its own.
      let trail: TrailWriter | undefined;
      try {
        if (!opts.dryRun) await producer.connect();
        if (!opts.dryRun && config.trail.enabled) {
          await ensureTrailTopic(commonClientConfig(config.kafka, `vdxp-dlq-${config.organId}`), config);
          trail = new TrailWriter({ organId: config.organId, producer, role: 'dlq-replay', log });
          await trail.open();
        }
        for (const record of selected) {
          const address = `${record.partition}:${record.offset}`;
          const verdict = await prepareReplay(record, { organId: config.organId, limits: config.limits, verify: signatures.verify, outboundRoutes });
          if (!verdict.ok) {
            results.push({ address, replayed: false, reason: verdict.rejection.reason, detail: verdict.rejection.detail });
            continue;
          }
          if (!opts.dryRun) {
            await producer.send(verdict.record);
            await trail?.record({ step: 'replayed', documentId: verdict.record.key, deadLetter: address, topic: verdict.record.topic });
          }
          results.push({ address, replayed: !opts.dryRun });
        }
        await trail?.close();
        if (!opts.dryRun) await producer.flush();
      } finally {
        signatures.close();
        await producer.disconnect();
      }
      if (opts.json) process.stdout.write(JSON.stringify(results) + '\n');
      else {
        for (const r of results) {
          process.stdout.write(r.reason ? `${r.address}\trefused\t${r.reason}: ${r.detail}\n` : `${r.address}\t${r.replayed ? 'replayed' : 'would replay'}\n`);
        }
        const refused = results.filter((r) => r.reason).length;
        process.stdout.write(`${results.length - refused} ${opts.dryRun ? 'pass the checks' : 'replayed'}, ${refused} refused by the checks\n`);
      }
      setExitCode(results.some((r) => r.reason) ? 1 : 0);
    });
};
