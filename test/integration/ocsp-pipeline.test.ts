/**
 * Issue 17 point 2 end to end: a receiving connector (a real process on real Kafka) with
 * trust.ocsp asks a real responder (`openssl ocsp`) about the sender's certificate. Revoked
 * between two packages, the second is refused: status 02 to the sender, a dead letter with
 * vdxp-reject-reason cert-revoked, nothing delivered.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deadLetterReasons, deliveredFiles, dropPackage, prepareAgency, uniqueOrganId, useAgencyProcesses, waitFor } from '../support/agency';
import { OcspResponder } from '../support/ocsp-responder';
import { makeEdoc } from '../support/packages';
import { indexWithRevoked, makeOcspPki, type OcspTestPki } from '../support/pki';
import { freePort } from '../support/ports';

describe('OCSP in the running pipeline (real Kafka, real connectors, openssl ocsp)', function () {
  this.timeout(120_000);
  let pki: OcspTestPki;
  let responder: OcspResponder | undefined;
  const agencies = useAgencyProcesses('vdxp-ocsp-pipe');

  before(async function () {
    this.timeout(120_000);
    pki = await makeOcspPki(fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-ocsp-pipe-pki-')), await freePort());
  });
  after(async () => {
    await responder?.stop();
    fs.rmSync(pki.dir, { recursive: true, force: true });
  });

  it('delivers while the responder says good; after the revocation the next package is dead-lettered cert-revoked and the sender hears 02', async () => {
    responder = await OcspResponder.start({ port: pki.port, indexPath: pki.indexPath, caPath: pki.issuingCaPath, signerCertPath: pki.responder.certPath, signerKeyPath: pki.responder.keyPath });
    const h41Id = uniqueOrganId('H41');
    const h41 = prepareAgency(agencies.base(), h41Id, {
      signing: { keyFile: pki.h41.keyPath, certFile: pki.h41.certPath, chainFile: pki.h41.chainPath },
      // The sender binds its own OrganId to its certificate, and takes the receiver's unsigned statuses.
      trust: { anchors: [pki.rootCaPath], revocation: 'best-effort', organBindings: { [h41Id]: [pki.h41.fingerprint] }, defaultPolicy: 'accept-unsigned' },
    });
    const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'), {
      trust: {
        anchors: [pki.rootCaPath],
        crls: [pki.rootCrlPath],
        ocsp: { cacheSeconds: 0, retryAfterFailureSeconds: 0 },
        organBindings: { [h41.organId]: [pki.h41.fingerprint] },
        defaultPolicy: 'required',
      },
    });
    await agencies.start(g22);
    await agencies.start(h41);

    dropPackage(h41.outbox, 'before.edxml', makeEdoc({ from: h41.organId, to: [g22.organId], number: 1 }));
    await waitFor(() => deliveredFiles(g22.inbox).length === 1, 30_000, 'the package signed while the certificate is good');

    await responder.restart({ indexPath: indexWithRevoked(pki, [pki.h41.serial]) });
    dropPackage(h41.outbox, 'after.edxml', makeEdoc({ from: h41.organId, to: [g22.organId], number: 2 }));
    await waitFor(() => deliveredFiles(h41.inbox).some((f) => f.includes('.status-02.')), 30_000, 'status 02 to the sender');
    const status = fs.readFileSync(path.join(h41.inbox, deliveredFiles(h41.inbox).find((f) => f.includes('.status-02.'))!), 'utf8');
    assert.match(status, /cert-revoked/);
    assert.equal(deliveredFiles(g22.inbox).length, 1, 'the second package never reached the legacy system');
    await waitFor(() => deadLetterReasons(g22.organId).length === 1, 20_000, 'the dead letter');
    assert.deepEqual(deadLetterReasons(g22.organId), ['cert-revoked']);
    const log = fs.readFileSync(g22.logPath, 'utf8');
    assert.match(log, /revoked according to the OCSP responder/);
  });
});
