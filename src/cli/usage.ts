import type { Command } from 'commander';

/** Raised by a command for wrong arguments; main() turns it into exit code 2. */
export class UsageError extends Error {}

/** Raised by a command that ran and was refused (e.g. by the backbone); main() prints the message, no stack, and exits 1. */
export class CommandFailed extends Error {}

/**
 * A subcommand registers itself on the program. It reports its outcome through setExitCode
 * (0 accepted, 1 refused) rather than calling process.exit, so tests can run main() in-process.
 */
export type RegisterCommand = (program: Command, setExitCode: (code: number) => void) => void;
