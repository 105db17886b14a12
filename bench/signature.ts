/**
 * Per-document cost of verifying and signing a package at 10 KB, 100 KB and 1 MB, next to xmlsec1
 * on the same files in the same run (issue 4, target from issue 7: verify ≤ 2× xmlsec1 at 100 KB).
 *
 * Signing through a PKCS#11 token (issue 17 point 1): the same signPackage with the key in a
 * SoftHSM2 token made for the run (the token computes RSA-SHA256 over the SignedInfo), next to
 * the PEM key in the same rounds; skipped, with a note, when softhsm2 or opensc is missing.
 *
 * Ours: in-process, after warm-up, mean over a timed loop. xmlsec1: the marginal cost of one more
 * document, (time for N files − time for 1 file) / (N − 1), so that process start and key loading
 * are excluded. Both are measured in interleaved rounds and reported as medians.
 *
 *   node dist/bench/signature.js [--json]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { signPackage, verifyPackage } from '../src/signature';
import { timeInProcess } from './stats';
import { makeTestPki, ORGAN_H41 } from '../test/support/pki';
import { credentials, packageFrom, trustFor, withAttachmentOf, withoutPlaceholder } from '../test/support/signature-fixtures';
import { makeToken, SOFTHSM_MODULE } from '../test/support/softhsm';
import { TokenKey } from '../src/signature/pkcs11/token-key';
import type { SignerCredentials } from '../src/signature/sign';
import type { TestPki } from '../test/support/pki';

const SIZES = [
  { label: '10 KB', bytes: 10 * 1024, xmlsecFiles: 200 },
  { label: '100 KB', bytes: 100 * 1024, xmlsecFiles: 100 },
  { label: '1 MB', bytes: 1024 * 1024, xmlsecFiles: 20 },
];

const TEMPLATE =
  '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>' +
  '<CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>' +
  '<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>' +
  '<Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>' +
  '<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms>' +
  '<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo>' +
  '<SignatureValue/><KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo></Signature>';

/** An unsigned package of about `bytes` bytes (the attachment grows to fit). */
function packageOfSize(bytes: number): string {
  const base = withoutPlaceholder(packageFrom(ORGAN_H41));
  const overhead = Buffer.byteLength(withAttachmentOf(base, 0));
  return withAttachmentOf(base, Math.max(0, Math.floor(((bytes - overhead) * 3) / 4)));
}

const ROUNDS = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** xmlsec1's marginal milliseconds per document: files beyond the first, start-up excluded. */
function xmlsecMarginal(args: string[], file: string, n: number, expectOk: boolean): number {
  const run = (count: number) => {
    const start = performance.now();
    const r = spawnSync('xmlsec1', [...args, ...Array<string>(count).fill(file)], { stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = performance.now() - start;
    if (expectOk && r.status !== 0) throw new Error(`xmlsec1 ${args[0]} failed: ${r.stderr.toString().slice(0, 500)}`);
    return ms;
  };
  run(1);
  const one = median([run(1), run(1), run(1)]);
  const many = median([run(n), run(n), run(n)]);
  return (many - one) / (n - 1);
}

/** A SoftHSM2 token with an H41 key made inside it, or undefined when softhsm2/opensc are not installed. */
async function tokenSigner(pki: TestPki, dir: string): Promise<(SignerCredentials & { key: TokenKey }) | undefined> {
  if (!fs.existsSync(SOFTHSM_MODULE) || spawnSync('pkcs11-tool', ['--help']).error) return undefined;
  const token = await makeToken({ dir: path.join(dir, 'softhsm'), label: 'bench-h41', subject: `/C=VN/O=So Noi vu/CN=So Noi vu ${ORGAN_H41}/UID=${ORGAN_H41}`, pki });
  process.env.SOFTHSM2_CONF = token.conf;
  const key = new TokenKey({ module: SOFTHSM_MODULE, token: { label: token.label }, key: { label: token.keyLabel }, pinFile: token.pinFile }, { certificateFromToken: false });
  return { key, certPem: fs.readFileSync(token.certPath) };
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const pki = await makeTestPki();
  const trust = await trustFor(pki);
  const signer = credentials(pki.h41);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-bench-sig-'));
  const rows: Array<Record<string, string | number | null>> = [];
  const viaToken = await tokenSigner(pki, dir);
  try {
    for (const size of SIZES) {
      const unsigned = Buffer.from(packageOfSize(size.bytes));
      const signed = signPackage(unsigned, signer);
      if (verifyPackage(signed, trust).status !== 'valid') throw new Error('benchmark package does not verify');
      const signedFile = path.join(dir, `signed-${size.bytes}.xml`);
      fs.writeFileSync(signedFile, signed);
      const templateFile = path.join(dir, `template-${size.bytes}.xml`);
      fs.writeFileSync(templateFile, unsigned.toString().replace('</edXML:edXMLHeader>', `${TEMPLATE}</edXML:edXMLHeader>`));

      // Interleaved rounds, medians: the machine's load drifts, and both sides should see the same drift.
      const samples: Record<'oursVerify' | 'oursSign' | 'tokenSign' | 'xmlsecVerify' | 'xmlsecSign', number[]> = { oursVerify: [], oursSign: [], tokenSign: [], xmlsecVerify: [], xmlsecSign: [] };
      if (viaToken && verifyPackage(signPackage(unsigned, viaToken), trust).status !== 'valid') throw new Error('the package signed through the token does not verify');
      for (let round = 0; round < ROUNDS; round++) {
        samples.oursVerify.push(timeInProcess(() => verifyPackage(signed, trust), 400));
        samples.xmlsecVerify.push(xmlsecMarginal(['--verify', '--trusted-pem', pki.rootCaPath, '--enabled-key-data', 'x509'], signedFile, size.xmlsecFiles, true));
        samples.oursSign.push(timeInProcess(() => signPackage(unsigned, signer), 400));
        if (viaToken) samples.tokenSign.push(timeInProcess(() => signPackage(unsigned, viaToken), 400));
        samples.xmlsecSign.push(xmlsecMarginal(['--sign', '--privkey-pem', `${pki.h41.keyPath},${pki.h41.certPath}`], templateFile, size.xmlsecFiles, true));
      }
      const oursVerify = median(samples.oursVerify);
      const oursSign = median(samples.oursSign);
      const xmlsecVerify = median(samples.xmlsecVerify);
      const xmlsecSign = median(samples.xmlsecSign);
      const tokenSign = viaToken ? median(samples.tokenSign) : null;
      rows.push({
        size: size.label,
        bytes: signed.length,
        oursVerifyMs: round(oursVerify),
        xmlsecVerifyMs: round(xmlsecVerify),
        verifyRatio: round(oursVerify / xmlsecVerify),
        oursSignMs: round(oursSign),
        xmlsecSignMs: round(xmlsecSign),
        signRatio: round(oursSign / xmlsecSign),
        tokenSignMs: tokenSign === null ? null : round(tokenSign),
        tokenSignRatio: tokenSign === null ? null : round(tokenSign / oursSign),
      });
    }
  } finally {
    viaToken?.key.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  process.stdout.write('size     bytes      verify ms (ours / xmlsec1 = ratio)    sign ms (ours / xmlsec1 = ratio)   sign ms (token / PEM = ratio)\n');
  for (const r of rows) {
    process.stdout.write(
      `${String(r.size).padEnd(8)} ${String(r.bytes).padStart(8)}   ${r.oursVerifyMs} / ${r.xmlsecVerifyMs} = ${r.verifyRatio}×`.padEnd(58) +
        `${r.oursSignMs} / ${r.xmlsecSignMs} = ${r.signRatio}×`.padEnd(35) +
        (r.tokenSignMs === null ? 'no token (softhsm2/opensc missing)' : `${r.tokenSignMs} / ${r.oursSignMs} = ${r.tokenSignRatio}×`) +
        '\n',
    );
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
