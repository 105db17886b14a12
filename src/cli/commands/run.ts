import type { RegisterCommand } from '../usage';
import { loadConfigFile, ConfigError } from '../../config/load';
import { checkReferencedFiles } from '../../config/referenced-files';
import { startAgency, type RunningAgency } from '../../pipeline/agency';
import { createLogger, type Logger } from '../../observability/log';
import type { AgencyConfig } from '../../config/types';

/**
 * `vdxp run --config <file>`: run one agency's connector until SIGTERM/SIGINT, then drain and
 * exit. A config that cannot work (a wrong key, a secret file that is missing or unreadable) is
 * refused before anything connects, naming each key by its path, with exit code 1 and no stack
 * trace; so is any other failure to start.
 */
export const registerRun: RegisterCommand = (program, setExitCode) => {
  program
    .command('run')
    .description("run one agency's connector")
    .requiredOption('-c, --config <file>', 'agency config (YAML)')
    .action(async (opts: { config: string }) => {
      let config: AgencyConfig;
      try {
        config = loadConfigFile(opts.config);
        const missing = checkReferencedFiles(config);
        if (missing.length > 0) throw new ConfigError(opts.config, missing);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(err.message + '\n');
        setExitCode(1);
        return;
      }
      const log = createLogger({ organId: config.organId });
      let agency: RunningAgency;
      try {
        agency = await startAgency(config, { logger: log });
      } catch (err) {
        // Handles opened before the failure (ops port, Kafka clients) would keep the process alive.
        exitNow(log, 'startup', 1, `cannot start: ${err instanceof Error ? err.message : String(err)}`);
      }
      await new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals) => {
          log.info({ step: 'shutdown', signal }, 'signal received');
          const deadline = setTimeout(() => {
            exitNow(log, 'shutdown', 1, `drain did not finish within ${config.delivery.drainTimeoutMs} ms; exiting (uncommitted work is redelivered)`);
          }, config.delivery.drainTimeoutMs);
          deadline.unref();
          agency.stop().then(resolve, resolve);
        };
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
      });
      // The drain is done and everything is committed. Whatever is still open (an abandoned
      // request to a stuck legacy system, a breaker's timer) holds nothing we need.
      process.exit(0);
    });
};

function exitNow(log: Logger, step: 'startup' | 'shutdown', code: number, message: string): never {
  log.error({ step }, message);
  process.exit(code);
}
