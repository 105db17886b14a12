/** `vdxp sign` with the key in a PKCS#11 token (issue 17 point 1): the options of `signing.pkcs11`. */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../../support/paths';
import { makeTestPki, ORGAN_H41, type TestPki } from '../../support/pki';
import { makeToken, SOFTHSM_MODULE, SPY_MODULE, spyLogins, type TestToken } from '../../support/softhsm';
import { packageFrom } from '../../support/signature-fixtures';

const MAIN = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

describe('signature: vdxp sign with a PKCS#11 token', function () {
  this.timeout(120_000);
  let pki: TestPki;
  let dir: string;
  let token: TestToken;
  let spyLog: string;
  let input: string;

  const vdxp = (...args: string[]) => {
    const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, SOFTHSM2_CONF: token.conf, PKCS11SPY: SOFTHSM_MODULE, PKCS11SPY_OUTPUT: spyLog } });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const tokenArgs = (pinFile = token.pinFile) => ['--pkcs11-module', SPY_MODULE, '--token-label', token.label, '--key-label', token.keyLabel, '--pin-file', pinFile];

  before(async () => {
    pki = await makeTestPki();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-cli-token-'));
    spyLog = path.join(dir, 'spy.log');
    token = await makeToken({ dir, label: 'cli-h41', subject: `/C=VN/O=So Noi vu/CN=So Noi vu ${ORGAN_H41}/UID=${ORGAN_H41}`, pki, certificateOnToken: true });
    input = path.join(dir, 'in.edxml');
    fs.writeFileSync(input, packageFrom(ORGAN_H41));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('signs with the token key and the certificate read from the token; vdxp verify accepts it', () => {
    const out = path.join(dir, 'signed.edxml');
    const signed = vdxp('sign', input, ...tokenArgs(), '-o', out);
    assert.equal(signed.code, 0, signed.stderr);
    const verified = vdxp('verify', out, '--trust', pki.rootCaPath, '--crl', pki.crlPath, '--json');
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.equal(JSON.parse(verified.stdout).signer.fingerprint, token.fingerprint);
  });

  it('takes the token by serial, the key by id and the certificate from --cert', () => {
    const out = path.join(dir, 'signed-by-id.edxml');
    const r = vdxp('sign', input, '--pkcs11-module', SPY_MODULE, '--token-serial', token.serial, '--key-id', token.keyId, '--pin-file', token.pinFile, '--cert', token.certPath, '-o', out);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(vdxp('verify', out, '--trust', pki.rootCaPath, '--crl', pki.crlPath).code, 0);
  });

  it('a wrong PIN: exit 2 naming the failure, after one C_Login', () => {
    const wrong = path.join(dir, 'wrong.pin');
    fs.writeFileSync(wrong, '1111');
    const before = spyLogins(spyLog).length;
    const r = vdxp('sign', input, ...tokenArgs(wrong), '-o', path.join(dir, 'never.edxml'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /PKCS#11 signing key: pin-incorrect: .*CKR_PIN_INCORRECT/);
    assert.ok(!r.stderr.includes('1111'));
    assert.deepEqual(spyLogins(spyLog).slice(before), ['CKR_PIN_INCORRECT']);
    assert.ok(!fs.existsSync(path.join(dir, 'never.edxml')));
  });

  it('refuses options that do not go together, as usage errors', () => {
    for (const [args, message] of [
      [['--key', pki.h41.keyPath, '--cert', pki.h41.certPath, ...tokenArgs()], /--key and --pkcs11-module exclude each other/],
      [[...tokenArgs(), '--token-serial', token.serial], /exactly one of --token-label and --token-serial/],
      [['--pkcs11-module', SPY_MODULE, '--token-label', token.label, '--key-label', token.keyLabel], /--pin-file/],
      [['--token-label', token.label], /--token-label needs --pkcs11-module/],
      [['--cert', pki.h41.certPath], /give the key/],
    ] as Array<[string[], RegExp]>) {
      const r = vdxp('sign', input, ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});
