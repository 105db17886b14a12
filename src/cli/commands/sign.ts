import * as fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { isRejection } from '../../errors';
import { signPackage, type SignerCredentials } from '../../signature';
import { isTokenError } from '../../signature/pkcs11/token-failure';
import { TokenKey, type Pkcs11Settings } from '../../signature/pkcs11/token-key';
import { UsageError, type RegisterCommand } from '../usage';
import { addTrustOptions, readInput, trustFromOptions } from './verify';

interface SignOpts {
  key?: string;
  cert?: string;
  chain?: string;
  output?: string;
  trust?: string;
  crl?: string;
  trustConfig?: string;
  revocation?: string;
  pkcs11Module?: string;
  tokenLabel?: string;
  tokenSerial?: string;
  keyLabel?: string;
  keyId?: string;
  pinFile?: string;
}

/**
 * `vdxp sign <file> --key <key.pem> --cert <cert.pem> [-o <out>]`, or with the key in a PKCS#11
 * token, as `signing.pkcs11` names it in the agency config: `--pkcs11-module <lib.so>
 * --token-label <label> | --token-serial <serial>  --key-label <label> | --key-id <hex>
 * --pin-file <file> [--cert <cert.pem>]` (without --cert, the certificate is read from the token).
 * Signs per DESIGN.md §5, replacing the SDK placeholder. Exit 1 (with the reason) when the
 * package is refused, e.g. it already carries a valid signature of another agency; trust options
 * decide what "valid" means. Exit 2 for a key that cannot be used (a wrong PIN: one login attempt).
 */
export const registerSign: RegisterCommand = (program, setExitCode) => {
  addTrustOptions(program.command('sign').description('sign an edXML package with the agency key').argument('<file>', 'edXML package'))
    .option('--key <pem>', 'the agency private key (PEM)')
    .option('--cert <pem>', 'its certificate (PEM); with a token, read from the token when left out')
    .option('--chain <pem>', 'intermediate CA certificates to put in KeyInfo (PEM)')
    .option('--pkcs11-module <lib>', 'sign with a key in a PKCS#11 token: the module (shared library)')
    .option('--token-label <label>', 'the token by its label')
    .option('--token-serial <serial>', 'the token by its serial number')
    .option('--key-label <label>', 'the private key in the token by its label')
    .option('--key-id <hex>', 'the private key in the token by its CKA_ID (hex)')
    .option('--pin-file <file>', 'file holding the token user PIN')
    .option('-o, --output <file>', 'where to write the signed package (default: standard output)')
    .action(async (file: string, opts: SignOpts) => {
      const trust = await trustFromOptions(opts, false, true);
      const token = opts.pkcs11Module ? openToken(opts) : undefined;
      try {
        const signer = token ? tokenCredentials(token, opts) : pemCredentials(opts);
        let signed: Buffer;
        try {
          signed = signPackage(readInput(file), signer, trust ? { trust } : {});
        } catch (err) {
          if (isRejection(err)) {
            process.stderr.write(`vdxp sign: ${file}: refused: ${err.reason}: ${err.detail}\n`);
            setExitCode(1);
            return;
          }
          if (isTokenError(err)) throw new UsageError(`PKCS#11 signing key: ${err.message}`);
          if (err instanceof Error && /key|certificate|PEM|DECODER/i.test(err.message)) throw new UsageError(err.message);
          throw err;
        }
        if (opts.output) fs.writeFileSync(opts.output, signed);
        else process.stdout.write(signed);
        setExitCode(0);
      } finally {
        token?.close();
      }
    });
};

function pemCredentials(opts: SignOpts): SignerCredentials {
  const tokenOnly = (['tokenLabel', 'tokenSerial', 'keyLabel', 'keyId', 'pinFile'] as const).filter((k) => opts[k] !== undefined);
  if (tokenOnly.length > 0) throw new UsageError(`--${kebab(tokenOnly[0]!)} needs --pkcs11-module`);
  if (!opts.key || !opts.cert) throw new UsageError('give the key: --key <pem> with --cert <pem>, or a token with --pkcs11-module');
  return { keyPem: readInput(opts.key), certPem: readInput(opts.cert), ...(opts.chain ? { chainPem: readInput(opts.chain) } : {}) };
}

function openToken(opts: SignOpts): TokenKey {
  if (opts.key) throw new UsageError('--key and --pkcs11-module exclude each other: the key is a PEM file or in a token');
  const one = (a: 'tokenLabel' | 'keyLabel', b: 'tokenSerial' | 'keyId') => {
    if ((opts[a] === undefined) === (opts[b] === undefined)) throw new UsageError(`with --pkcs11-module, give exactly one of --${kebab(a)} and --${kebab(b)}`);
  };
  one('tokenLabel', 'tokenSerial');
  one('keyLabel', 'keyId');
  if (!opts.pinFile) throw new UsageError('with --pkcs11-module, give --pin-file <file> (the PIN is never an argument)');
  if (opts.keyId !== undefined && !/^[0-9a-fA-F]{2}(:?[0-9a-fA-F]{2})*$/.test(opts.keyId)) throw new UsageError(`--key-id must be hex (e.g. 01 or 0a:1b), not ${opts.keyId}`);
  const settings: Pkcs11Settings = {
    module: opts.pkcs11Module!,
    token: opts.tokenSerial !== undefined ? { serial: opts.tokenSerial } : { label: opts.tokenLabel },
    key: opts.keyId !== undefined ? { id: opts.keyId } : { label: opts.keyLabel },
    pinFile: opts.pinFile,
  };
  return new TokenKey(settings, { certificateFromToken: opts.cert === undefined });
}

function tokenCredentials(token: TokenKey, opts: SignOpts): SignerCredentials {
  try {
    const certPem = opts.cert ? readInput(opts.cert) : new X509Certificate(token.certificateDer()!).toString();
    return { key: token, certPem, ...(opts.chain ? { chainPem: readInput(opts.chain) } : {}) };
  } catch (err) {
    if (isTokenError(err)) throw new UsageError(`PKCS#11 signing key: ${err.message}`);
    throw err;
  }
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
