/**
 * `vdxp backbone acl <OrganId>`: the Kafka ACLs one agency's principal needs (src/broker/acls.ts),
 * printed for the backbone operator, or applied through Kafka's Java AdminClient
 * (scripts/kafka/BackboneAcls.java: node-rdkafka has no ACL calls), so nobody writes them by hand.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { outboundRoutes } from '../../pipeline/outbound-routes';
import { agencyAcls, kafkaAclsCommands, type AclBinding, type AgencyAclOptions } from '../../broker/acls';
import { loadConfigFile, ConfigError } from '../../config/load';
import { isSaneOrganId } from '../../edxml/organ-id';
import { UsageError, type RegisterCommand } from '../usage';

interface AclCommandOptions {
  username?: string;
  config?: string;
  partners?: string;
  group?: string;
  createTopics: boolean;
  requestLedger?: boolean;
  trail: boolean;
  format: string;
  apply?: boolean;
  bootstrapServer?: string;
  commandConfig?: string;
  kafkaLibs?: string;
  prune?: boolean;
}

const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const APPLIER = path.join(PACKAGE_ROOT, 'scripts', 'kafka', 'BackboneAcls.java');

function aclOptions(organId: string, opts: AclCommandOptions): AgencyAclOptions {
  let fromConfig: Partial<AgencyAclOptions> = {};
  if (opts.config) {
    let config;
    try {
      config = loadConfigFile(opts.config);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    if (config.organId !== organId) throw new UsageError(`${opts.config} is the config of ${config.organId}, not of ${organId}`);
    fromConfig = {
      username: config.kafka.sasl?.username,
      consumerGroup: config.kafka.consumerGroup,
      trail: config.trail.enabled,
      requestLedger: config.connectors.some((c) => (c.type === 'http' && c.direction === 'source' && (c.options as { auth?: { hmac?: unknown } }).auth?.hmac !== undefined) || c.type === 'vxp'),
      vxp: config.connectors.some((c) => c.type === 'vxp'),
      outbox: outboundRoutes(config.connectors).length > 0,
    };
  }
  const username = opts.username ?? fromConfig.username;
  if (!username) throw new UsageError('name the agency’s SCRAM user: --username vdxp-h41 (or --config <agency.yaml> with kafka.sasl.username)');
  const partners = opts.partners?.split(',').map((p) => p.trim()).filter(Boolean);
  for (const id of [organId, ...(partners ?? [])]) if (!isSaneOrganId(id)) throw new UsageError(`${JSON.stringify(id)} is not an OrganId (letters, digits, . _ -)`);
  return {
    username,
    partners,
    consumerGroup: opts.group ?? fromConfig.consumerGroup,
    createTopics: opts.createTopics,
    requestLedger: opts.requestLedger ?? fromConfig.requestLedger ?? false,
    vxp: fromConfig.vxp ?? false,
    outbox: fromConfig.outbox ?? false,
    trail: opts.trail === false ? false : (fromConfig.trail ?? true),
  };
}

function table(acls: AclBinding[]): string {
  return acls.map((a) => `ALLOW\t${a.principal}\t${a.operation}\t${a.resourceType}\t${a.patternType.toLowerCase()}\t${a.name}\t# ${a.why}`).join('\n') + '\n';
}

function kafkaLibs(opts: AclCommandOptions): string {
  const candidates = [opts.kafkaLibs, process.env.KAFKA_LIBS];
  const tools = path.join(PACKAGE_ROOT, '.tools');
  if (fs.existsSync(tools)) for (const d of fs.readdirSync(tools).filter((n) => n.startsWith('kafka-')).sort().reverse()) candidates.push(path.join(tools, d, 'libs'));
  const found = candidates.find((d) => d && fs.existsSync(path.join(d)) && fs.readdirSync(d).some((f) => /^kafka-clients-.*\.jar$/.test(f)));
  if (!found) throw new UsageError('--apply needs the Kafka client jars: --kafka-libs <dir with kafka-clients-*.jar> (or KAFKA_LIBS; a Kafka distribution’s libs/ will do)');
  return found;
}

/** Runs the Java applier with the ACLs on its stdin; resolves to its exit code, its output passed through. */
function apply(acls: AclBinding[], opts: AclCommandOptions): Promise<number> {
  if (!opts.bootstrapServer) throw new UsageError('--apply needs --bootstrap-server host:port (and --command-config <admin.properties> for a secured listener)');
  if (!fs.existsSync(APPLIER)) throw new UsageError(`--apply needs ${APPLIER} (from the source checkout) and Java 17; or print with --format kafka-acls and run Kafka's kafka-acls.sh`);
  const args = ['-cp', `${kafkaLibs(opts)}/*`, APPLIER, '--bootstrap-server', opts.bootstrapServer];
  if (opts.commandConfig) args.push('--command-config', opts.commandConfig);
  if (opts.prune) args.push('--prune');
  return new Promise((resolve, reject) => {
    const child = spawn('java', args, { stdio: ['pipe', 'inherit', 'inherit'] });
    child.once('error', (err) => reject(new UsageError(`cannot run java: ${err.message}`)));
    child.once('exit', (code) => resolve(code ?? 1));
    child.stdin.end(JSON.stringify(acls.map(({ principal, resourceType, patternType, name, operation }) => ({ principal, resourceType, patternType, name, operation }))));
  });
}

export const registerBackbone: RegisterCommand = (program, setExitCode) => {
  const backbone = program.command('backbone').description('what the Kafka backbone must grant an agency');
  backbone
    .command('acl')
    .description('the Kafka ACLs an agency’s principal needs, and nothing more: print them, or apply them through the admin API')
    .argument('<OrganId>', 'the agency')
    .option('-u, --username <name>', 'the agency’s SCRAM user (kafka.sasl.username)')
    .option('-c, --config <file>', 'the agency config: username, consumer group and HTTP ingest taken from it')
    .option('--partners <ids>', 'comma-separated OrganIds it sends to and receives from (default: every agency, as topic prefixes)')
    .option('--group <id>', 'its consumer group (default vdxp.<OrganId>)')
    .option('--no-create-topics', 'the backbone operator creates the agency’s topics beforehand: no Create')
    .option('--request-ledger', 'it runs an HTTP ingest with HMAC signing (vdxp.requests.<OrganId>)')
    .option('--no-trail', 'it runs with trail.enabled: false (no vdxp.trail.<OrganId>)')
    .option('--format <format>', 'table | kafka-acls | json', 'table')
    .option('--apply', 'apply through Kafka’s Java AdminClient (java 17 and the Kafka client jars)')
    .option('--bootstrap-server <host:port>', 'with --apply: the backbone')
    .option('--command-config <file>', 'with --apply: the admin’s client properties (security.protocol, sasl.*, ssl.*)')
    .option('--kafka-libs <dir>', 'with --apply: the Kafka client jars (default KAFKA_LIBS)')
    .option('--prune', 'with --apply: also delete the principal’s ACLs that are not listed')
    .action(async (organId: string, opts: AclCommandOptions) => {
      const acls = agencyAcls(organId, aclOptions(organId, opts));
      if (opts.apply) return setExitCode(await apply(acls, opts));
      if (opts.format === 'json') process.stdout.write(JSON.stringify(acls, null, 2) + '\n');
      else if (opts.format === 'kafka-acls') process.stdout.write(kafkaAclsCommands(acls).join('\n') + '\n');
      else if (opts.format === 'table') process.stdout.write(table(acls));
      else throw new UsageError(`--format ${opts.format}: expected table, kafka-acls or json`);
      setExitCode(0);
    });
};
