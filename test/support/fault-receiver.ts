/**
 * Entry point of a receiving connector for the fault suite: `vdxp run` with one difference, a
 * connector of type `http` is served by FaultHttpSink. Run as
 * `node dist/test/support/fault-receiver.js <agency.yaml>`; SIGTERM drains like `vdxp run`.
 */
import { loadConfigFile } from '../../src/config/load';
import { createSink } from '../../src/connectors';
import { startAgency } from '../../src/pipeline/agency';
import { createLogger } from '../../src/observability/log';
import { FaultHttpSink } from './fault-http-sink';

async function main(configPath: string): Promise<void> {
  const config = loadConfigFile(configPath);
  const log = createLogger({ organId: config.organId });
  const agency = await startAgency(config, {
    logger: log,
    createSink: (c) => (c.type === 'http' ? new FaultHttpSink(c.name, String(c.options.url)) : createSink(c)),
  });
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ step: 'shutdown', signal }, 'signal received');
    agency.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

if (require.main === module) {
  main(process.argv[2]!).catch((err) => {
    process.stderr.write(`fault receiver: ${(err as Error).stack}\n`);
    process.exit(1);
  });
}
