import type { RegisterCommand } from '../usage';
import { loadConfigFile, ConfigError } from '../../config/load';
import { startAgency } from '../../pipeline/agency';
import { createLogger } from '../../observability/log';

/** `vdxp run --config <file>`: run one agency's connector until SIGTERM/SIGINT, then drain and exit. */
export const registerRun: RegisterCommand = (program, setExitCode) => {
  program
    .command('run')
    .description("run one agency's connector")
    .requiredOption('-c, --config <file>', 'agency config (YAML)')
    .action(async (opts: { config: string }) => {
      let config;
      try {
        config = loadConfigFile(opts.config);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(err.message + '\n');
        setExitCode(1);
        return;
      }
      const log = createLogger({ organId: config.organId });
      const agency = await startAgency(config, { logger: log });
      await new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals) => {
          log.info({ step: 'shutdown', signal }, 'signal received');
          const deadline = setTimeout(() => {
            log.error({ step: 'shutdown' }, `drain did not finish within ${config.delivery.drainTimeoutMs} ms; exiting (uncommitted work is redelivered)`);
            process.exit(1);
          }, config.delivery.drainTimeoutMs);
          deadline.unref();
          agency.stop().then(resolve, resolve);
        };
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
      });
    });
};
