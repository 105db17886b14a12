/**
 * Signatures in the running pipeline (DESIGN.md §5): the sending connector signs for a legacy
 * system that cannot; the receiving connector verifies per partner policy before delivery, and a
 * refusal goes to the dead-letter topic with its reason while the sender hears status 02.
 * Real Kafka, real connector processes, xmlsec1 as the independent verifier.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TEST_BROKERS, deliveredFiles, dropPackage, prepareAgency, uniqueOrganId, useAgencyProcesses, waitFor, type AgencyDirs } from '../support/agency';
import { makeEdoc } from '../support/packages';
import { ORGAN_H41, makeTestPki, type TestCredential, type TestPki } from '../support/pki';
import { signPackage } from '../../src/signature';
import { deadLetterTopic } from '../../src/broker/topics';

interface DeadLetter {
  key: string;
  headers: Record<string, string>;
}

/** Reads a dead-letter topic with kcat, an independent Kafka client. */
function readDeadLetters(organId: string): DeadLetter[] {
  const out = execFileSync('kcat', ['-b', TEST_BROKERS, '-t', deadLetterTopic(organId), '-C', '-e', '-q', '-J'], { encoding: 'utf8', timeout: 20_000 });
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = JSON.parse(line) as { key: string; headers?: string[] };
      const headers: Record<string, string> = {};
      for (let i = 0; i + 1 < (m.headers ?? []).length; i += 2) headers[m.headers![i]!] = m.headers![i + 1]!;
      return { key: m.key, headers };
    });
}

describe('signatures in the pipeline (real Kafka, real connectors)', function () {
  this.timeout(120_000);
  let pki: TestPki;
  const agencies = useAgencyProcesses('vdxp-sigpipe');
  const start = agencies.start;
  const drop = (dirs: AgencyDirs, name: string, bytes: Buffer) => dropPackage(dirs.outbox, name, bytes);

  before(async () => {
    pki = await makeTestPki();
  });

  /**
   * A sender; with a credential, its connector signs, and its trust config binds its OrganId to
   * that certificate (and the partner's OrganId to G22's, to verify the statuses coming back).
   */
  function sender(credential: TestCredential | undefined, partner?: { organId: string; credential: TestCredential }): AgencyDirs {
    const organId = uniqueOrganId('H41');
    if (!credential) return prepareAgency(agencies.base(), organId);
    const bindings: Record<string, string[]> = { [organId]: [credential.fingerprint] };
    if (partner) bindings[partner.organId] = [partner.credential.fingerprint];
    return prepareAgency(agencies.base(), organId, {
      signing: { keyFile: credential.keyPath, certFile: credential.certPath },
      trust: { anchors: [pki.rootCaPath], crls: [pki.crlPath], organBindings: bindings },
    });
  }

  /**
   * The receiver trusts the test root and binds each sender's OrganId to the H41 certificate.
   * With a credential it also signs the statuses it sends back.
   */
  function receiver(senders: string[], partners: Record<string, { policy: string }> = {}, credential?: TestCredential, organId = uniqueOrganId('G22')): AgencyDirs {
    return prepareAgency(agencies.base(), organId, {
      ...(credential ? { signing: { keyFile: credential.keyPath, certFile: credential.certPath } } : {}),
      trust: {
        anchors: [pki.rootCaPath],
        crls: [pki.crlPath],
        organBindings: {
          ...Object.fromEntries(senders.map((s) => [s, [pki.h41.fingerprint]])),
          ...(credential ? { [organId]: [credential.fingerprint] } : {}),
        },
        defaultPolicy: 'required',
        partners,
      },
    });
  }

  it('signs for a legacy system that cannot; the receiver verifies, delivers, and xmlsec1 agrees', async () => {
    const g22OrganId = uniqueOrganId('G22');
    const h41 = sender(pki.h41, { organId: g22OrganId, credential: pki.g22 });
    const g22 = receiver([h41.organId], {}, pki.g22, g22OrganId);
    await start(g22);
    await start(h41);
    drop(h41, 'unsigned-by-legacy.edxml', makeEdoc({ from: h41.organId, to: [g22.organId], number: 1 }));

    await waitFor(() => deliveredFiles(g22.inbox).length === 1, 30_000, 'the signed document');
    const delivered = path.join(g22.inbox, deliveredFiles(g22.inbox)[0]!);
    assert.match(fs.readFileSync(delivered, 'utf8'), /<(\w+:)?Signature xmlns(:\w+)?="http:\/\/www\.w3\.org\/2000\/09\/xmldsig#"/);
    // The independent implementation accepts the connector's signature, chained to the same root.
    execFileSync('xmlsec1', ['--verify', '--trusted-pem', pki.rootCaPath, '--enabled-key-data', 'x509', delivered], { stdio: 'pipe' });
    // G22's connector signs its status 01 too, and H41's verifies it before delivering it.
    await waitFor(() => deliveredFiles(h41.inbox).some((f) => f.includes('.status-01.')), 20_000, 'status 01 back to the sender');
  });

  it('dead-letters an unsigned package under the required policy and tells the sender with status 02', async () => {
    const h41 = sender(undefined);
    const g22 = receiver([h41.organId]);
    await start(g22);
    await start(h41);
    drop(h41, 'unsigned.edxml', makeEdoc({ from: h41.organId, to: [g22.organId], number: 2 }));

    await waitFor(() => deliveredFiles(h41.inbox).some((f) => f.includes('.status-02.')), 30_000, 'status 02 to the sender');
    const status = fs.readFileSync(path.join(h41.inbox, deliveredFiles(h41.inbox).find((f) => f.includes('.status-02.'))!), 'utf8');
    assert.match(status, /<edXML:StatusCode>02<\/edXML:StatusCode>/);
    assert.match(status, /unsigned/);
    assert.deepEqual(deliveredFiles(g22.inbox), [], 'nothing reached the legacy system');
    const dead = readDeadLetters(g22.organId);
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.headers['vdxp-reject-reason'], 'unsigned');
    assert.equal(dead[0]!.headers['vdxp-source-topic'], `vdxp.docs.${g22.organId}`);
  });

  it('accepts an unsigned package from a partner whose policy is accept-unsigned', async () => {
    const h41 = sender(undefined);
    const g22 = receiver([h41.organId], { [h41.organId]: { policy: 'accept-unsigned' } });
    await start(g22);
    await start(h41);
    drop(h41, 'migrating-partner.edxml', makeEdoc({ from: h41.organId, to: [g22.organId], number: 3 }));
    await waitFor(() => deliveredFiles(g22.inbox).length === 1, 30_000, 'delivery under accept-unsigned');
  });

  it("dead-letters a package signed with an attacker's self-signed certificate carrying the sender's subject", async () => {
    const g22 = receiver([]);
    await start(g22);
    // The forger writes straight to the backbone with an independent client.
    const forged = signPackage(makeEdoc({ from: ORGAN_H41, to: [g22.organId], number: 4 }), {
      keyPem: fs.readFileSync(pki.attacker.keyPath),
      certPem: fs.readFileSync(pki.attacker.certPath),
    });
    const file = path.join(agencies.base(), 'forged.edxml');
    fs.writeFileSync(file, forged);
    execFileSync('kcat', ['-b', TEST_BROKERS, '-t', `vdxp.docs.${g22.organId}`, '-P', '-k', 'forged', file], { timeout: 20_000 });

    await waitFor(() => readDeadLetters(g22.organId).length === 1, 30_000, 'the dead letter');
    assert.equal(readDeadLetters(g22.organId)[0]!.headers['vdxp-reject-reason'], 'untrusted-chain');
    assert.deepEqual(deliveredFiles(g22.inbox), []);
  });
});
