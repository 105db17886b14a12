#!/usr/bin/env node
/**
 * The `vdxp` command. Each subcommand lives in its own file under ./commands and is listed in
 * ./commands/index.ts. Exit codes: 0 success, 1 the input was checked and refused, 2 usage error.
 */
// First: the thread pool is sized when it is first used (src/broker/threadpool.ts says why).
import '../broker/threadpool';
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands';
import { CommandFailed, UsageError } from './usage';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('vdxp')
    .description('VDXP connector: legacy document systems ⇄ edXML ⇄ Kafka backbone')
    .exitOverride()
    .showHelpAfterError(false);
  let exitCode = 0;
  for (const register of COMMANDS) register(program, (code) => (exitCode = code));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version are not errors.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`vdxp: ${err.message}\n`);
      return 2;
    }
    if (err instanceof CommandFailed) {
      process.stderr.write(`vdxp: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`vdxp: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`vdxp: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
