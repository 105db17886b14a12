import * as fs from 'node:fs';
import * as YAML from 'yaml';
import type { RegisterCommand } from '../usage';
import { UsageError } from '../usage';
import { parseConfig, ConfigError, type ConfigProblem } from '../../config/load';
import { checkReferencedFiles } from '../../config/referenced-files';
import { configWarnings, type ConfigWarning } from '../../config/warnings';
import type { AgencyConfig } from '../../config/types';

interface CheckOptions {
  json?: boolean;
  /** false with --no-files: the files are not on this machine (a config rendered for a cluster). */
  files?: boolean;
  configmap?: boolean;
}

/**
 * `vdxp config check <file>`: validate an agency config; every problem names its path. Besides
 * the structure it checks that every file the config names (secrets, certificates, anchors, CRLs)
 * exists and can be read here, unless --no-files; warnings (an OrganId in no known form, a sender
 * with nowhere to put statuses) are printed but do not fail the check.
 */
export const registerConfigCheck: RegisterCommand = (program, setExitCode) => {
  const config = program.commands.find((c) => c.name() === 'config') ?? program.command('config').description('agency configuration');
  config
    .command('check')
    .description('validate an agency config file (environment overrides included) and the files it names')
    .argument('<file>', 'agency config (YAML); "-" reads standard input')
    .option('--json', 'machine-readable output')
    .option('--no-files', 'do not check the referenced files (they live on another machine, e.g. in the pod)')
    .option('--configmap', 'the input is a Kubernetes ConfigMap (e.g. from helm template): check its agency.yaml')
    .action((file: string, opts: CheckOptions) => {
      const source = file === '-' ? '(stdin)' : file;
      let problems: ConfigProblem[] = [];
      let warnings: ConfigWarning[] = [];
      let loaded: AgencyConfig | undefined;
      try {
        loaded = parseConfig(configText(file, opts.configmap === true), source, process.env);
        warnings = configWarnings(loaded);
        if (opts.files !== false) problems = checkReferencedFiles(loaded);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems = err.problems;
      }
      const valid = problems.length === 0;
      if (opts.json) {
        process.stdout.write(JSON.stringify({ valid, ...(loaded ? { organId: loaded.organId } : {}), problems, warnings }) + '\n');
      } else {
        const lines = valid
          ? [`${source}: ok (agency ${loaded!.organId}, ${loaded!.connectors.length} connectors${opts.files === false ? '; files not checked' : ''})`]
          : [new ConfigError(source, problems).message];
        for (const w of warnings) lines.push(`  warning  ${w.path}: ${w.message}`);
        process.stdout.write(lines.join('\n') + '\n');
      }
      setExitCode(valid ? 0 : 1);
    });
};

/** The config's text: the file (or stdin), or the agency.yaml of the ConfigMap in it. */
function configText(file: string, configMap: boolean): string {
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '(file)', expected: 'a readable YAML file', found: (err as Error).message }]);
  }
  if (!configMap) return text;
  const maps = YAML.parseAllDocuments(text)
    .map((d) => d.toJS() as { kind?: string; data?: Record<string, string> } | null)
    .filter((m) => m?.kind === 'ConfigMap' && m.data);
  const data = maps.find((m) => m!.data!['agency.yaml'] !== undefined)?.data;
  if (!data) throw new UsageError(`${file}: no ConfigMap with an agency.yaml key in it (helm template … --show-only templates/configmap.yaml)`);
  return data['agency.yaml']!;
}
