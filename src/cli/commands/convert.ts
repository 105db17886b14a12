import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RegisterCommand } from '../usage';
import { UsageError } from '../usage';
import { isRejection } from '../../errors';
import { readPackage } from '../../edxml/reader';
import type { SideFile } from '../../connectors/types';
import { loadProfileSettings, ProfileFileError, type ProfileSetting } from '../../transform/mapping/profile-file';

/**
 * `vdxp convert --profile <name|file> <input> [-o out.edxml]`: a vendor file → edXML, offline,
 * exactly as the connector would convert it. Files beside the input (attachments) are offered to
 * the profile, from `--side-files <dir>` or the input's folder. Exit 0 converted; 1 refused, with
 * the field, rule and input value that did not fit; 2 usage.
 */
export const registerConvert: RegisterCommand = (program, setExitCode) => {
  program
    .command('convert')
    .description('convert a vendor file to edXML with a format profile (offline)')
    .requiredOption('--profile <name|file>', 'a shipped profile name or a profile file (YAML)')
    .argument('<input>', 'the vendor file (CSV, key=value, flat XML, JSON, edXML)')
    .option('-o, --output <file>', 'write the package here instead of standard output')
    .option('--organ-id <id>', "this agency's OrganId (the sender when the input does not name one)")
    .option('--side-files <dir>', "folder of the input's attachments (default: the folder named after the input's stem beside it, as in a file drop, else the input's folder)")
    .action((input: string, opts: { profile: string; output?: string; organId?: string; sideFiles?: string }) => {
      const setting = singleProfile(opts.profile);
      const body = readOrUsage(input);
      const message = {
        body,
        fileName: path.basename(input),
        contentType: 'application/octet-stream',
        sideFiles: sideFilesOf(opts.sideFiles ?? defaultSideFolder(input), input),
      };
      let edxml: Buffer;
      try {
        edxml = setting.profile.toEdxml(message, { ownOrganId: opts.organId ?? setting.organId ?? '', options: setting.options });
        const pkg = readPackage(edxml);
        process.stderr.write(`${input}: converted with ${setting.label}: ${pkg.kind}${pkg.kind === 'status' ? ` ${pkg.statusCode}` : ''}, DocumentId ${pkg.documentId}\n`);
      } catch (err) {
        if (!isRejection(err)) throw err;
        process.stderr.write(`${input}: NOT CONVERTED — ${err.reason}: ${err.detail}\n`);
        setExitCode(1);
        return;
      }
      if (opts.output) fs.writeFileSync(opts.output, edxml);
      else process.stdout.write(edxml);
      setExitCode(0);
    });
};

export function singleProfile(nameOrFile: string): ProfileSetting {
  let settings: ProfileSetting[];
  try {
    settings = loadProfileSettings(nameOrFile);
  } catch (err) {
    if (err instanceof ProfileFileError) throw new UsageError(`--profile ${err.message}`);
    throw err;
  }
  if (settings.length !== 1) throw new UsageError(`--profile ${nameOrFile}: an agency config has several connectors; give a profile file or a profile name`);
  return settings[0]!;
}

export function readOrUsage(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** The file-drop convention first: `cv42/` beside `cv42.csv`. */
function defaultSideFolder(input: string): string {
  const stemFolder = path.join(path.dirname(input), path.basename(input, path.extname(input)));
  return fs.existsSync(stemFolder) && fs.statSync(stemFolder).isDirectory() ? stemFolder : path.dirname(input);
}

function sideFilesOf(dir: string, input: string): SideFile[] {
  const own = path.resolve(input);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    throw new UsageError(`--side-files ${dir}: ${(err as Error).message}`);
  }
  return names
    .map((name) => path.join(dir, name))
    .filter((full) => path.resolve(full) !== own && fs.statSync(full).isFile())
    .map((full) => ({ name: path.basename(full), bytes: fs.readFileSync(full) }));
}
