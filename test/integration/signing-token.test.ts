/**
 * Issue 17 point 1 in the running connector: agency A signs every outgoing package with a key in
 * a SoftHSM2 token (through OpenSC's pkcs11-spy, which logs every call the connector makes), and
 * agency B verifies it before delivery (policy required). A wrong PIN and a token taken away
 * while A runs make A not ready, with the reason on /readyz, and lose nothing: the package waits
 * in the outbox and leaves once the PIN file is right or the token is back. Real Kafka, real
 * connector processes, xmlsec1 as the independent verifier.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { AgencyProcess, deliveredFiles, dropPackage, prepareAgency, uniqueOrganId, waitFor, type AgencyDirs } from '../support/agency';
import { makeEdoc } from '../support/packages';
import { makeTestPki, type TestPki } from '../support/pki';
import { makeToken, SOFTHSM_MODULE, SPY_MODULE, spyLogins, storeOf, type TestToken } from '../support/softhsm';

interface Readiness {
  status: number;
  signing?: { ok: boolean; detail?: string };
}

async function readiness(dirs: AgencyDirs): Promise<Readiness> {
  const port = (YAML.parse(fs.readFileSync(dirs.configPath, 'utf8')) as { ops: { port: number } }).ops.port;
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  const body = (await res.json()) as { checks: Array<{ name: string; ok: boolean; detail?: string }> };
  return { status: res.status, signing: body.checks.find((c) => c.name === 'signing') };
}

async function scrape(dirs: AgencyDirs): Promise<string> {
  const port = (YAML.parse(fs.readFileSync(dirs.configPath, 'utf8')) as { ops: { port: number } }).ops.port;
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** The certificate in the delivered package's KeyInfo. */
function signerOf(file: string): X509Certificate {
  const base64 = /<X509Certificate>([^<]+)<\/X509Certificate>/.exec(fs.readFileSync(file, 'utf8'))![1]!;
  return new X509Certificate(Buffer.from(base64, 'base64'));
}

describe('signing through a PKCS#11 token in the running connector (SoftHSM2, real Kafka)', function () {
  this.timeout(180_000);
  let pki: TestPki;
  let base: string;
  let running: AgencyProcess[] = [];

  before(async () => {
    pki = await makeTestPki();
  });
  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-token-'));
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop()));
    fs.rmSync(base, { recursive: true, force: true });
  });

  /** A (signing through `token`, the PIN from `pinFile`) and B, which verifies A's signatures. */
  async function pair(token: TestToken, pinFile = token.pinFile): Promise<{ a: AgencyDirs; b: AgencyDirs; spyLog: string; aProcess: AgencyProcess }> {
    const aId = uniqueOrganId('H41');
    const bId = uniqueOrganId('G22');
    const a = prepareAgency(base, aId, {
      signing: { pkcs11: { module: SPY_MODULE, token: { label: token.label }, key: { label: token.keyLabel }, pinFile, retryIntervalSeconds: 1 } },
      trust: { anchors: [pki.rootCaPath], crls: [pki.crlPath], organBindings: { [aId]: [token.fingerprint] }, partners: { [bId]: { policy: 'accept-unsigned' } } },
    });
    const b = prepareAgency(base, bId, {
      trust: { anchors: [pki.rootCaPath], crls: [pki.crlPath], organBindings: { [aId]: [token.fingerprint] }, defaultPolicy: 'required' },
    });
    const spyLog = path.join(base, `spy-${aId}.log`);
    const bProcess = await AgencyProcess.start(b);
    running.push(bProcess);
    const aProcess = await AgencyProcess.start(a, { SOFTHSM2_CONF: token.conf, PKCS11SPY: SOFTHSM_MODULE, PKCS11SPY_OUTPUT: spyLog });
    running.push(aProcess);
    return { a, b, spyLog, aProcess };
  }

  const tokenFor = (label: string) =>
    makeToken({ dir: path.join(base, 'softhsm'), label, subject: '/C=VN/O=So Noi vu/CN=So Noi vu (token)/UID=000.00.00.H41', pki, certificateOnToken: true });

  it('signs outgoing packages with the key in the token; the receiving connector verifies them and xmlsec1 agrees', async () => {
    const token = await tokenFor('agency-a');
    const { a, b, spyLog } = await pair(token);
    await waitFor(async () => (await readiness(a)).status === 200, 30_000, 'A ready');
    dropPackage(a.outbox, 'from-legacy.edxml', makeEdoc({ from: a.organId, to: [b.organId], number: 1 }));
    await waitFor(() => deliveredFiles(b.inbox).length === 1, 30_000, 'the signed package at B');
    const delivered = path.join(b.inbox, deliveredFiles(b.inbox)[0]!);
    execFileSync('xmlsec1', ['--verify', '--trusted-pem', pki.rootCaPath, '--enabled-key-data', 'x509', delivered], { stdio: 'pipe' });
    assert.equal(signerOf(delivered).fingerprint256.replace(/:/g, '').toLowerCase(), token.fingerprint, 'signed with the token certificate');
    assert.deepEqual(spyLogins(spyLog), ['CKR_OK']);
    assert.match(fs.readFileSync(spyLog, 'latin1'), /C_Sign\b/);
    assert.match(await scrape(a), /^vdxp_signing_token_logins_total\{outcome="ok"\} 1$/m);
  });

  it('a wrong PIN: A is not ready and says why, calls C_Login once however long it runs; the package waits and leaves once the PIN file is right', async () => {
    const token = await tokenFor('agency-a-pin');
    const pinFile = path.join(base, 'wrong.pin');
    fs.writeFileSync(pinFile, '000000\n');
    const { a, b, spyLog, aProcess } = await pair(token, pinFile);
    const first = await readiness(a);
    assert.equal(first.status, 503);
    assert.match(first.signing?.detail ?? '', /^PKCS#11 signing key: pin-incorrect: logging in to the token labelled "agency-a-pin".*CKR_PIN_INCORRECT.*not tried again until the PIN file changes/);
    dropPackage(a.outbox, 'waits.edxml', makeEdoc({ from: a.organId, to: [b.organId], number: 2 }));
    // Well past several retry intervals (1 s), with probes and a package asking to be signed.
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await readiness(a)).status, 503);
    }
    assert.deepEqual(spyLogins(spyLog), ['CKR_PIN_INCORRECT'], 'one login attempt');
    assert.ok(fs.existsSync(path.join(a.outbox, 'waits.edxml')), 'the package is still in the outbox');
    assert.deepEqual(deliveredFiles(b.inbox), []);
    assert.match(aProcess.logText(), /"tokenFailure":"pin-incorrect"/);
    assert.ok(!aProcess.logText().includes('000000'), 'the PIN is not logged');

    fs.writeFileSync(pinFile, `${token.pin}\n`);
    await waitFor(() => deliveredFiles(b.inbox).length === 1, 30_000, 'the package at B after the PIN was corrected');
    assert.equal((await readiness(a)).status, 200);
    assert.deepEqual(spyLogins(spyLog), ['CKR_PIN_INCORRECT', 'CKR_OK']);
  });

  it('the token taken away while A runs: not ready (token-removed), the package waits; back, it is signed and sent', async () => {
    const token = await tokenFor('agency-a-removable');
    const { a, b } = await pair(token);
    await waitFor(async () => (await readiness(a)).status === 200, 30_000, 'A ready');
    const store = storeOf(token);
    const away = path.join(base, 'unplugged');
    fs.renameSync(store, away);
    const gone = await readiness(a);
    assert.equal(gone.status, 503);
    assert.match(gone.signing?.detail ?? '', /^PKCS#11 signing key: (token-removed|token-not-found): /);
    assert.match(await scrape(a), /^vdxp_signing_token_failures_total\{reason="token-removed"\} 1$/m);
    dropPackage(a.outbox, 'while-away.edxml', makeEdoc({ from: a.organId, to: [b.organId], number: 3 }));
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(fs.existsSync(path.join(a.outbox, 'while-away.edxml')), 'the package is still in the outbox');
    fs.renameSync(away, store);
    await waitFor(() => deliveredFiles(b.inbox).length === 1, 30_000, 'the package at B once the token is back');
    execFileSync('xmlsec1', ['--verify', '--trusted-pem', pki.rootCaPath, '--enabled-key-data', 'x509', path.join(b.inbox, deliveredFiles(b.inbox)[0]!)], { stdio: 'pipe' });
    assert.equal((await readiness(a)).status, 200);
  });
});
