import type { RegisterCommand } from '../usage';
import { loadConfigFile, ConfigError } from '../../config/load';

/** `vdxp config check <file>`: validate an agency config; every problem names its path. */
export const registerConfigCheck: RegisterCommand = (program, setExitCode) => {
  const config = program.commands.find((c) => c.name() === 'config') ?? program.command('config').description('agency configuration');
  config
    .command('check')
    .description('validate an agency config file (environment overrides included)')
    .argument('<file>', 'agency config (YAML)')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { json?: boolean }) => {
      try {
        const loaded = loadConfigFile(file);
        process.stdout.write(opts.json ? JSON.stringify({ valid: true, organId: loaded.organId }) + '\n' : `${file}: ok (agency ${loaded.organId}, ${loaded.connectors.length} connectors)\n`);
        setExitCode(0);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stdout.write(opts.json ? JSON.stringify({ valid: false, problems: err.problems }) + '\n' : err.message + '\n');
        setExitCode(1);
      }
    });
};
