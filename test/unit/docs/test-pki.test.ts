/**
 * Issue 16 point 15: docs/VENDOR-GUIDE.md, "Test without a PKI", shows how to make a test
 * certificate bound to an OrganId. The script is taken from the page and run with the real
 * openssl; the connector must sign with what it makes, a partner trusting its CA must verify it,
 * and the same certificate must be refused (signer-not-sender) for another OrganId.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadTrustStore, signPackage, verifyPackage } from '../../../src/signature';
import { isRejection } from '../../../src/errors';
import { makeEdoc } from '../../support/packages';
import { REPO_ROOT } from '../../support/paths';
import { blocksUnder } from '../../support/markdown';

const run = promisify(execFile);
const ORGAN = '000.00.12.H53';

describe('the vendor guide: a test PKI and a certificate bound to an OrganId (issue 16 point 15)', function () {
  this.timeout(60_000);
  let dir: string;

  before(async () => {
    const guide = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'VENDOR-GUIDE.md'), 'utf8');
    const script = blocksUnder(guide, '## Test without a PKI', 'sh').find((b) => b.includes('make-test-pki.sh'));
    assert.ok(script, 'the guide has make-test-pki.sh');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-guide-pki-'));
    fs.writeFileSync(path.join(dir, 'make-test-pki.sh'), script);
    await run('sh', ['make-test-pki.sh'], { cwd: dir, env: { ...process.env, ORGAN } });
  });

  const file = (name: string) => fs.readFileSync(path.join(dir, name));
  const credentials = () => ({ keyPem: file('signing.key'), certPem: file('signing.crt') });
  const trust = () => loadTrustStore({ anchors: [path.join(dir, 'ca.pem')], crls: [path.join(dir, 'ca.crl')] });

  it('the certificate carries UID=<OrganId>, and a partner trusting the CA verifies what the connector signs with it', async () => {
    const { stdout } = await run('openssl', ['x509', '-in', path.join(dir, 'signing.crt'), '-noout', '-subject']);
    assert.match(stdout, new RegExp(`UID ?= ?${ORGAN.replace(/\./g, '\\.')}`));
    const signed = signPackage(makeEdoc({ from: ORGAN, to: ['000.00.00.G22'], number: 1 }), credentials());
    const outcome = verifyPackage(signed, await trust());
    assert.equal(outcome.status, 'valid');
  });

  it('the same certificate signing for another OrganId is refused: signer-not-sender', () => {
    // The connector refuses to sign it already: a partner would refuse it the same way.
    assert.throws(
      () => signPackage(makeEdoc({ from: '000.00.00.H41', to: ['000.00.00.G22'], number: 2 }), credentials()),
      (err: unknown) => isRejection(err) && err.reason === 'signer-not-sender',
    );
  });
});
