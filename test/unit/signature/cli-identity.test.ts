/** Issue 17 points 3 and 4 on the command line: `vdxp verify --json` names the rule that bound the signer. */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../../support/paths';
import { issueCertificate, makeTestPki, ORGAN_G22, ORGAN_H41, type TestPki } from '../../support/pki';
import { packageFrom } from '../../support/signature-fixtures';

const MAIN = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const TAX_CODE = 'MST:0301519977-029';

function vdxp(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('signature: vdxp verify and the identity rules (issue 17)', function () {
  this.timeout(120_000);
  let pki: TestPki;
  let dir: string;
  let signed: string;
  const file = (name: string, content: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };
  const trustYaml = (name: string, rules: string[]) =>
    file(name, [`anchors: [${pki.rootCaPath}]`, `crls: [${pki.crlPath}]`, 'identityRules:', ...rules.map((r) => `  - ${r}`)].join('\n'));

  before(async () => {
    pki = await makeTestPki();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-cli-identity-'));
    const branch = await issueCertificate(pki, 'cli-mst-branch', `/C=VN/O=Sở Tài chính/CN=Sở Tài chính/UID=${TAX_CODE}`);
    const rules = trustYaml('sign-rules.yaml', [`{ organId: "${ORGAN_H41}", subject: "UID=${TAX_CODE}" }`]);
    signed = path.join(dir, 'signed.edxml');
    // vdxp sign needs the rule too: the certificate carries no UID=<OrganId>.
    const noRule = vdxp('sign', file('in.edxml', packageFrom(ORGAN_H41)), '--key', branch.keyPath, '--cert', branch.certPath, '-o', signed);
    assert.equal(noRule.code, 1, noRule.stdout + noRule.stderr);
    const sign = vdxp('sign', path.join(dir, 'in.edxml'), '--key', branch.keyPath, '--cert', branch.certPath, '--trust-config', rules, '-o', signed);
    assert.equal(sign.code, 0, sign.stdout + sign.stderr);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reports the subject rule that bound the signer, in JSON and in text', () => {
    const rules = trustYaml('rules.yaml', [`{ name: "HCMC finance", organId: "${ORGAN_H41}", subject: "UID=${TAX_CODE}", issuer: "C=VN, O=VDXP Test Root CA, CN=VDXP Test Root CA" }`]);
    const json = vdxp('verify', signed, '--trust-config', rules, '--json');
    assert.equal(json.code, 0, json.stdout + json.stderr);
    const out = JSON.parse(json.stdout);
    assert.equal(out.signer.organId, ORGAN_H41);
    assert.deepEqual(out.signer.boundBy, { rule: 'trust.identityRules[0]', name: 'HCMC finance', kind: 'subject-attribute', match: `UID=${TAX_CODE} issued by C=VN, O=VDXP Test Root CA, CN=VDXP Test Root CA` });
    assert.equal(out.signer.issuer, 'C=VN, O=VDXP Test Root CA, CN=VDXP Test Root CA');
    const text = vdxp('verify', signed, '--trust-config', rules);
    assert.match(text.stdout, /bound by trust\.identityRules\[0\] "HCMC finance" \(UID=MST:0301519977-029 issued by/);
  });

  it('reports the default rule for a test PKI certificate, and refuses a signer no rule binds (exit 1, signer-not-sender)', () => {
    const byH41 = path.join(dir, 'h41.edxml');
    assert.equal(vdxp('sign', file('h41-in.edxml', packageFrom(ORGAN_H41)), '--key', pki.h41.keyPath, '--cert', pki.h41.certPath, '-o', byH41).code, 0);
    const out = vdxp('verify', byH41, '--trust', pki.rootCaPath, '--crl', pki.crlPath, '--json');
    assert.deepEqual(JSON.parse(out.stdout).signer.boundBy, { rule: 'default', kind: 'uid-is-organid', match: `UID=${ORGAN_H41}` });
    const refused = vdxp('verify', signed, '--trust', pki.rootCaPath, '--crl', pki.crlPath, '--json');
    assert.equal(refused.code, 1);
    const json = JSON.parse(refused.stdout);
    assert.equal(json.reason, 'signer-not-sender');
    assert.match(json.detail, /no trust\.identityRules entry binds the certificate, and its subject carries no UID=000\.00\.00\.H41/);
  });

  it('refuses conflicting rules as a configuration error (exit 2) that names both', () => {
    const rules = trustYaml('conflict.yaml', [`{ organId: "${ORGAN_H41}", subject: "UID=${TAX_CODE}" }`, `{ organId: "${ORGAN_G22}", subject: "UID=${TAX_CODE}" }`]);
    const r = vdxp('verify', signed, '--trust-config', rules, '--json');
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /trust\.identityRules\[1\].*trust\.identityRules\[0\] \(UID=MST:0301519977-029 → 000\.00\.00\.H41\).*000\.00\.00\.G22/);
  });

  it('--trust national loads the pinned government CAs (and a package from the test PKI does not chain to them)', () => {
    const r = vdxp('verify', signed, '--trust', 'national', '--revocation', 'best-effort', '--json');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(JSON.parse(r.stdout).reason, 'untrusted-chain');
    const both = vdxp('verify', signed, '--trust', `national,${pki.rootCaPath}`, '--crl', pki.crlPath, '--trust-config', trustYaml('r2.yaml', [`{ organId: "${ORGAN_H41}", subject: "UID=${TAX_CODE}" }`]), '--json');
    assert.equal(both.code, 0, both.stdout + both.stderr);
  });
});
