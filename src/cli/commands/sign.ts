import * as fs from 'node:fs';
import { isRejection } from '../../errors';
import { signPackage, type SignerCredentials } from '../../signature';
import { UsageError, type RegisterCommand } from '../usage';
import { addTrustOptions, readInput, trustFromOptions } from './verify';

/**
 * `vdxp sign <file> --key <key.pem> --cert <cert.pem> [-o <out>]`: signs per DESIGN.md §5,
 * replacing the SDK placeholder. Exit 1 (with the reason) when the package is refused, e.g. it
 * already carries a valid signature of another agency; trust options decide what "valid" means.
 */
export const registerSign: RegisterCommand = (program, setExitCode) => {
  addTrustOptions(program.command('sign').description('sign an edXML package with the agency key').argument('<file>', 'edXML package'))
    .requiredOption('--key <pem>', 'the agency private key (PEM)')
    .requiredOption('--cert <pem>', 'its certificate (PEM)')
    .option('--chain <pem>', 'intermediate CA certificates to put in KeyInfo (PEM)')
    .option('-o, --output <file>', 'where to write the signed package (default: standard output)')
    .action(async (file: string, opts: { key: string; cert: string; chain?: string; output?: string; trust?: string; crl?: string; trustConfig?: string; revocation?: string }) => {
      const trust = await trustFromOptions(opts, false, true);
      const signer: SignerCredentials = { keyPem: readInput(opts.key), certPem: readInput(opts.cert), ...(opts.chain ? { chainPem: readInput(opts.chain) } : {}) };
      let signed: Buffer;
      try {
        signed = signPackage(readInput(file), signer, trust ? { trust } : {});
      } catch (err) {
        if (isRejection(err)) {
          process.stderr.write(`vdxp sign: ${file}: refused: ${err.reason}: ${err.detail}\n`);
          setExitCode(1);
          return;
        }
        if (err instanceof Error && /key|certificate|PEM|DECODER/i.test(err.message)) throw new UsageError(err.message);
        throw err;
      }
      if (opts.output) fs.writeFileSync(opts.output, signed);
      else process.stdout.write(signed);
      setExitCode(0);
    });
};
