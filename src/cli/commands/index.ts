import type { RegisterCommand } from '../usage';
import { registerRun } from './run';
import { registerConfigCheck } from './config-check';
import { registerVerify } from './verify';
import { registerSign } from './sign';
import { registerNewEdoc } from './new-edoc';
import { registerValidate } from './validate';
import { registerConvert } from './convert';
import { registerExport } from './export';
import { registerConformance } from './conformance';
import { registerDlq } from './dlq';
import { registerTrack } from './track';
import { registerTrail } from './trail';
import { registerBackbone } from './backbone';

/** Every `vdxp` subcommand, one file each. Add a line here when you add a command. */
export const COMMANDS: RegisterCommand[] = [
  registerRun,
  registerConfigCheck,
  registerVerify,
  registerSign,
  registerNewEdoc,
  registerValidate,
  registerConvert,
  registerExport,
  registerConformance,
  registerDlq,
  registerTrack,
  registerTrail,
  registerBackbone,
];
