import * as fs from 'node:fs';
import type { Command } from 'commander';
import { isRejection } from '../../errors';
import { loadTrustStore, verifyPackageAsync, type SignaturePolicy, type TrustConfig, type TrustStore } from '../../signature';
import { REVOCATION_FAILURES, REVOCATION_MODES, type RevocationFailure, type RevocationMode } from '../../signature/revocation';
import { readTrustConfigFile, TrustConfigError } from '../../signature/trust-config-file';
import { anchorSources } from '../../signature/trust';
import { UsageError, type RegisterCommand } from '../usage';
import type { BoundBy } from '../../signature/signer-identity';

interface TrustOptions {
  trust?: string;
  crl?: string;
  trustConfig?: string;
  revocation?: string;
  revocationFailure?: string;
  ocsp?: boolean;
}

function revocationFailure(value: string | undefined): RevocationFailure | undefined {
  if (value === undefined) return undefined;
  if (!REVOCATION_FAILURES.includes(value as RevocationFailure)) throw new UsageError(`--revocation-failure must be ${REVOCATION_FAILURES.join(' or ')}, not ${value}`);
  return value as RevocationFailure;
}

function revocationMode(value: string | undefined): RevocationMode | undefined {
  if (value === undefined) return undefined;
  if (!REVOCATION_MODES.includes(value as RevocationMode)) throw new UsageError(`--revocation must be ${REVOCATION_MODES.join(' or ')}, not ${value}`);
  return value as RevocationMode;
}

function commaList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * --trust-config, extended by --trust and --crl; configuration problems are usage errors (exit
 * 2). `forSigning`: the store only decides whether an existing signature is valid, and revocation
 * is the receiver's business, so no CRL is needed.
 */
export async function trustFromOptions(opts: TrustOptions, required: boolean, forSigning = false): Promise<TrustStore | undefined> {
  let config: TrustConfig = { anchors: [] };
  try {
    if (opts.trustConfig) config = readTrustConfigFile(opts.trustConfig);
  } catch (err) {
    throw new UsageError(err instanceof TrustConfigError ? err.message : `--trust-config ${opts.trustConfig}: ${(err as Error).message}`);
  }
  const fromConfig = anchorSources(config.anchors);
  config.anchors = [...fromConfig.presets, ...fromConfig.files, ...commaList(opts.trust)];
  config.crls = [...(config.crls ?? []), ...commaList(opts.crl)];
  const revocation = revocationMode(opts.revocation);
  if (revocation) config.revocation = revocation;
  const failure = revocationFailure(opts.revocationFailure);
  if (failure) config.revocationFailure = failure;
  if (opts.ocsp) config.ocsp ??= {};
  if (forSigning) config.revocation ??= 'best-effort';
  if (config.anchors.length === 0) {
    if (required) throw new UsageError('give the trust anchors with --trust <ca.pem>[,…] or --trust-config <yaml>');
    return undefined;
  }
  if (config.crls.length === 0 && (config.revocation ?? 'required') === 'required' && !config.ocsp) {
    throw new UsageError(
      'no CRL given, so revocation cannot be checked: pass the CRLs of the CAs with --crl <crl>[,…] (the root\'s and each issuing CA\'s), ' +
        'or --ocsp to ask the responders the certificates name, or --revocation best-effort to verify without a revocation check',
    );
  }
  try {
    return await loadTrustStore(config);
  } catch (err) {
    throw new UsageError(`trust configuration: ${(err as Error).message}`);
  }
}

export function addTrustOptions(command: Command): Command {
  return command
    .option('--trust <pems>', 'trust anchors: PEM files, comma-separated; the word national (or national-public) selects the shipped national CA preset')
    .option('--crl <pems>', 'CRLs (PEM or DER), comma-separated: of the anchors and of the CAs under them')
    .option('--revocation <mode>', 'required (default: no current CRL or OCSP status refuses) | best-effort (accept, with a warning, when nothing covers a certificate)')
    .option('--ocsp', 'ask the OCSP responder each certificate names (authorityInfoAccess); --trust-config can set trust.ocsp in full')
    .option('--revocation-failure <policy>', 'hard-fail (default: an unreachable OCSP responder refuses) | soft-fail (accept, with a warning)')
    .option('--trust-config <yaml>', 'trust section (anchors, crls, ocsp, identityRules, organBindings, partner policies) as YAML');
}

export function readInput(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

function describeBoundBy(by: BoundBy): string {
  return by.kind === 'uid-is-organid' ? `the default rule ${by.match}` : `${by.rule}${by.name ? ` "${by.name}"` : ''} (${by.match})`;
}

/** `vdxp verify <file>`: DESIGN.md §5 on one package. Exit 0 accepted, 1 rejected (with its reason), 2 usage. */
export const registerVerify: RegisterCommand = (program, setExitCode) => {
  addTrustOptions(program.command('verify').description('verify the XML signature of an edXML package').argument('<file>', 'edXML package'))
    .option('--policy <policy>', 'required | accept-unsigned (overrides the partner policy)')
    .option('--allow-sha1', 'accept RSA-SHA1 / SHA-1 (overrides the partner policy)')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: TrustOptions & { policy?: string; allowSha1?: boolean; json?: boolean }) => {
      revocationMode(opts.revocation);
      if (opts.policy !== undefined && opts.policy !== 'required' && opts.policy !== 'accept-unsigned') {
        throw new UsageError(`--policy must be required or accept-unsigned, not ${opts.policy}`);
      }
      const trust = (await trustFromOptions(opts, true))!;
      const bytes = readInput(file);
      const print = (json: object, text: string) => process.stdout.write(opts.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
      try {
        const revocation = revocationMode(opts.revocation);
        const failure = revocationFailure(opts.revocationFailure);
        const outcome = await verifyPackageAsync(bytes, trust, {
          ...(opts.policy ? { policy: opts.policy as SignaturePolicy } : {}),
          ...(opts.allowSha1 ? { allowSha1: true } : {}),
          ...(revocation ? { revocation } : {}),
          ...(failure ? { revocationFailure: failure } : {}),
        });
        if (outcome.status === 'valid') {
          const { signer, revocationGaps } = outcome;
          for (const gap of revocationGaps) process.stderr.write(`vdxp verify: warning: revocation not checked (${gap.reason}), accepted under ${gap.acceptedBy}: ${gap.detail}\n`);
          print(
            { valid: true, signer: { ...signer, notAfter: signer.notAfter.toISOString() }, ...(revocationGaps.length > 0 ? { revocationUnchecked: revocationGaps } : {}) },
            `${file}: valid, signed for ${signer.organId} by ${signer.subject} (SHA-256 ${signer.fingerprint}), bound by ${describeBoundBy(signer.boundBy)}` +
              (revocationGaps.length > 0 ? `, revocation NOT checked for ${revocationGaps.length} certificate(s)` : ''),
          );
        } else {
          print({ valid: false, accepted: true, flagged: outcome.flagged }, `${file}: accepted without a valid signature (${outcome.flagged}) under the accept-unsigned policy`);
        }
        setExitCode(0);
      } catch (err) {
        if (!isRejection(err)) throw err;
        print({ valid: false, reason: err.reason, detail: err.detail }, `${file}: rejected: ${err.reason}: ${err.detail}`);
        setExitCode(1);
      }
    });
};
