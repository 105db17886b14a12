/**
 * Issue 17 point 3 in the running pipeline: the receiving connector binds the sender's certificate
 * to From/OrganId by a trust.identityRules subject rule (UID=MST:<tax code>, issued by a named CA),
 * as the national PKI issues agency certificates, with no OrganId in the certificate. Another
 * agency's valid certificate claiming that sender is dead-lettered as signer-not-sender.
 * Real Kafka, real connector processes; the certificates are made at test time.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TEST_BROKERS, deadLetterReasons, deliveredFiles, dropPackage, prepareAgency, uniqueOrganId, useAgencyProcesses, waitFor } from '../support/agency';
import { makeEdoc } from '../support/packages';
import { issueCertificate, makeTestPki, type TestPki } from '../support/pki';
import { loadTrustStore, signPackage } from '../../src/signature';

const ROOT_DN = 'C=VN, O=VDXP Test Root CA, CN=VDXP Test Root CA';

describe('signer identity rules in the pipeline (real Kafka, real connectors; issue 17 point 3)', function () {
  this.timeout(120_000);
  let pki: TestPki;
  const agencies = useAgencyProcesses('vdxp-identity');

  before(async () => {
    pki = await makeTestPki();
  });

  it('delivers a package whose signer is bound by UID=MST:… issued by the named CA, and dead-letters another agency\'s certificate claiming that sender', async () => {
    const branch = await issueCertificate(pki, 'pipe-mst-029', '/C=VN/O=Sở Tài chính TP Hồ Chí Minh/CN=Sở Tài chính TP Hồ Chí Minh/UID=MST:0301519977-029');
    const neighbour = await issueCertificate(pki, 'pipe-mst-030', '/C=VN/O=Sở Nội vụ/CN=Sở Nội vụ/UID=MST:0301519977-030');
    const senderId = uniqueOrganId('H41');
    const receiverId = uniqueOrganId('G22');
    const rule = { name: 'HCMC finance', organId: senderId, subject: 'UID=MST:0301519977-029', issuer: ROOT_DN };
    const trust = { anchors: [pki.rootCaPath], crls: [pki.crlPath], identityRules: [rule] };
    const sender = prepareAgency(agencies.base(), senderId, { signing: { keyFile: branch.keyPath, certFile: branch.certPath }, trust: { ...trust, defaultPolicy: 'accept-unsigned' } });
    const receiver = prepareAgency(agencies.base(), receiverId, { trust: { ...trust, defaultPolicy: 'required' } });
    await agencies.start(receiver);
    await agencies.start(sender);

    dropPackage(sender.outbox, 'signed-by-connector.edxml', makeEdoc({ from: senderId, to: [receiverId], number: 1 }));
    await waitFor(() => deliveredFiles(receiver.inbox).length === 1, 40_000, 'the document signed under UID=MST:0301519977-029');

    // The neighbour's certificate is valid under the same root, but no rule binds it to the sender.
    const claims = await loadTrustStore({ anchors: [pki.rootCaPath], crls: [pki.crlPath], identityRules: [{ organId: senderId, fingerprint: neighbour.fingerprint }] });
    const forged = signPackage(makeEdoc({ from: senderId, to: [receiverId], number: 2 }), { keyPem: fs.readFileSync(neighbour.keyPath), certPem: fs.readFileSync(neighbour.certPath) }, { trust: claims });
    const file = path.join(agencies.base(), 'neighbour.edxml');
    fs.writeFileSync(file, forged);
    execFileSync('kcat', ['-b', TEST_BROKERS, '-t', `vdxp.docs.${receiverId}`, '-P', '-k', 'neighbour', file], { timeout: 20_000 });
    await waitFor(() => deadLetterReasons(receiverId).length === 1, 40_000, 'the dead letter');
    assert.deepEqual(deadLetterReasons(receiverId), ['signer-not-sender']);
    assert.equal(deliveredFiles(receiver.inbox).length, 1, 'only the genuine document reached the legacy system');
    const log = fs.readFileSync(receiver.logPath, 'utf8');
    assert.match(log, /is bound by trust\.identityRules\[0\], and the certificate matches none of them/);
  });

  it('refuses to start a connector whose identity rules conflict, naming both rules', async () => {
    const organId = uniqueOrganId('G22');
    const dirs = prepareAgency(agencies.base(), organId, {
      trust: {
        anchors: [pki.rootCaPath],
        crls: [pki.crlPath],
        identityRules: [
          { organId: uniqueOrganId('H41'), subject: 'UID=MST:0301519977-029' },
          { organId: uniqueOrganId('H42'), subject: 'UID=MST:0301519977-029' },
        ],
      },
    });
    const result = (() => {
      try {
        execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'src', 'cli', 'main.js'), 'run', '--config', dirs.configPath], { encoding: 'utf8', timeout: 30_000, stdio: 'pipe' });
        return { code: 0, stderr: '' };
      } catch (err) {
        const e = err as { status: number; stderr: string; stdout: string };
        return { code: e.status, stderr: `${e.stderr}${e.stdout}` };
      }
    })();
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /trust\.identityRules\[1\].*trust\.identityRules\[0\] \(UID=MST:0301519977-029 → /);
  });
});
