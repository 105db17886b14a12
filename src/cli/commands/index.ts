import type { RegisterCommand } from '../usage';

/** Every `vdxp` subcommand, one file each. Add a line here when you add a command. */
export const COMMANDS: RegisterCommand[] = [];
