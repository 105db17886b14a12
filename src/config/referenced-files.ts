/**
 * Every file an agency config refers to (secrets, certificates, trust anchors, CRLs…), checked
 * before the connector opens anything: a missing or unreadable file is reported against the key
 * that names it (`connectors[0].options.auth.hmac.clients[0].secretFile`), instead of failing
 * later, after the connector joined its consumer group, with an error that names no key.
 */
import * as fs from 'node:fs';
import type { ConfigProblem } from './load';
import { ANCHOR_PRESETS } from '../signature/national-ca';

export interface FileReference {
  /** The config path of the key, e.g. `kafka.sasl.passwordFile` or `trust.anchors[1]`. */
  path: string;
  file: string;
  /** The file holds a secret read as text (trimmed): an empty one is refused too. */
  secret: boolean;
}

/** Keys whose values are lists of files. */
const FILE_LIST_KEYS = new Set(['anchors', 'crls', 'intermediates']);
/** Words in `trust.anchors` that name a shipped preset, not a file. */
const NOT_FILES = new Set<string>(ANCHOR_PRESETS);
/** Keys whose files hold a secret read as text. */
const SECRET_KEYS = new Set(['secretFile', 'passwordFile', 'bearerTokenFile', 'pinFile']);
/** Files named by a key that does not end in `File`: the PKCS#11 module (a shared library). */
const OTHER_FILE_PATHS = new Set(['signing.pkcs11.module']);

/**
 * By naming rule: a string under a key ending in `File`, each string of a list under a key ending
 * in `Files`, and the trust section's `anchors` and `crls`. A new file key that follows the rule
 * is checked without a change here.
 */
export function fileReferences(config: unknown): FileReference[] {
  const found: FileReference[] = [];
  const walk = (node: unknown, path: string) => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, `${path}[${i}]`));
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node)) {
      const at = path ? `${path}.${key}` : key;
      if ((key.endsWith('File') || OTHER_FILE_PATHS.has(at)) && typeof value === 'string') {
        found.push({ path: at, file: value, secret: SECRET_KEYS.has(key) });
      } else if ((key.endsWith('Files') || FILE_LIST_KEYS.has(key)) && Array.isArray(value)) {
        value.forEach((item, i) => {
          if (typeof item === 'string' && !(key === 'anchors' && NOT_FILES.has(item))) found.push({ path: `${at}[${i}]`, file: item, secret: false });
        });
      } else {
        walk(value, at);
      }
    }
  };
  walk(config, '');
  return found;
}

/** One problem per referenced file that does not exist, is not a regular file, or cannot be read. */
export function checkReferencedFiles(config: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const ref of fileReferences(config)) {
    const found = fileProblem(ref);
    if (found) problems.push({ path: ref.path, expected: ref.secret ? 'a readable, non-empty file' : 'a readable file', found });
  }
  return problems;
}

function fileProblem(ref: FileReference): string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(ref.file);
  } catch (err) {
    return describeError(ref.file, err as NodeJS.ErrnoException);
  }
  if (stat.isDirectory()) return `${ref.file}, which is a directory`;
  if (!stat.isFile()) return `${ref.file}, which is not a regular file`;
  try {
    const fd = fs.openSync(ref.file, 'r');
    try {
      if (ref.secret && fs.readFileSync(fd, 'utf8').trim() === '') return `${ref.file}, which is empty`;
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    return describeError(ref.file, err as NodeJS.ErrnoException);
  }
  return undefined;
}

function describeError(file: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return `${file}, which does not exist`;
    case 'ENOTDIR':
      return `${file}, whose folder is not a directory`;
    case 'EACCES':
    case 'EPERM': {
      const who = typeof process.getuid === 'function' ? ` (user ${process.getuid()}, group ${process.getgid?.()})` : '';
      return `${file}, which this process cannot read${who}`;
    }
    default:
      return `${file}: ${err.message}`;
  }
}
