import { ConfigError, loadConfigFile } from '../../config/load';
import type { AgencyConfig } from '../../config/types';
import { UsageError } from '../usage';

/** The agency config for a command that talks to the backbone; a broken file is a usage error. */
export function loadAgencyConfig(file: string): AgencyConfig {
  try {
    return loadConfigFile(file);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}
