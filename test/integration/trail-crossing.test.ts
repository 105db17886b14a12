/**
 * The trail against the real Kafka with real connector processes: every delivery has its records
 * even when both connectors are SIGKILLed mid-stream; replicas of one agency write their own
 * chains into one trail and show the same view; `vdxp trail verify` finds a forged record and
 * `vdxp track` answers for one document and for what is late.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AgencyProcess, deliveredFiles, dropPackage, prepareAgency, uniqueOrganId, useAgencyProcesses, waitFor, TEST_BROKERS } from '../support/agency';
import { makeEdoc } from '../support/packages';
import { freePort } from '../support/ports';
import { REPO_ROOT } from '../support/paths';
import { loadConfigFile } from '../../src/config/load';
import { commonClientConfig } from '../../src/broker/client-config';
import { BackboneProducer } from '../../src/broker/producer';
import { trailTopic } from '../../src/broker/topics';
import { modelOf, readTrail } from '../../src/trail/load';
import type { TrailReadModel } from '../../src/trail/read-model';
import { makeTestPki } from '../support/pki';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

function vdxp(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function modelFor(configPath: string): Promise<TrailReadModel> {
  const config = loadConfigFile(configPath);
  const { records } = await readTrail(commonClientConfig(config.kafka, 'vdxp-test-trail'), config.organId);
  return modelOf(config, records);
}

const docId = (from: string, n: number) => `${from},2026/11/23,${n}/UBND-VP`;
const stepsOf = (model: TrailReadModel, id: string) => model.document(id)?.steps.map((s) => s.step + (s.statusCode ? `:${s.statusCode}` : '')) ?? [];

describe('the trail on real Kafka', function () {
  this.timeout(300_000);
  const agencies = useAgencyProcesses('vdxp-trail');

  it('every delivery has its records although sender and receiver were SIGKILLed mid-stream; verify finds the trail intact', async () => {
    const h41 = prepareAgency(agencies.base(), uniqueOrganId('H41'));
    const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'));
    let receiver = await agencies.start(g22);
    let sender = await agencies.start(h41);
    const N = 60;
    for (let i = 1; i <= N; i++) {
      dropPackage(h41.outbox, `cv-${i}.edxml`, makeEdoc({ from: h41.organId, to: [g22.organId], number: i }));
      if (i === 20) {
        await waitFor(() => deliveredFiles(g22.inbox).length >= 5, 30_000, 'the first deliveries');
        assert.equal(await receiver.kill('SIGKILL'), null);
        agencies.forget(receiver);
        receiver = await agencies.start(g22);
      }
      if (i === 40) {
        await waitFor(() => fs.readdirSync(path.join(h41.outbox, 'sent')).length >= 25, 30_000, 'sending under way');
        assert.equal(await sender.kill('SIGKILL'), null);
        agencies.forget(sender);
        sender = await agencies.start(h41);
      }
    }
    await waitFor(() => deliveredFiles(g22.inbox).length >= N, 90_000, `${N} deliveries`);
    await waitFor(() => new Set(deliveredFiles(h41.inbox).filter((f) => f.includes('.status-01.'))).size >= N, 90_000, `${N} statuses 01 back`);
    await new Promise((r) => setTimeout(r, 1_000));

    const receiving = await modelFor(g22.configPath);
    const sending = await modelFor(h41.configPath);
    const missing: string[] = [];
    for (let i = 1; i <= N; i++) {
      const id = docId(h41.organId, i);
      const r = stepsOf(receiving, id);
      for (const s of ['received', 'verified', 'delivered', 'status-sent:01']) if (!r.includes(s)) missing.push(`${g22.organId} ${id} ${s}`);
      const s = stepsOf(sending, id);
      for (const step of ['taken', 'written', 'received:01', 'delivered:01']) if (!s.includes(step)) missing.push(`${h41.organId} ${id} ${step}`);
      if (receiving.document(id)?.parties.get(h41.organId)?.stage !== 'arrived') missing.push(`${id} not arrived at G22`);
      if (sending.document(id)?.parties.get(g22.organId)?.stage !== 'arrived') missing.push(`${id} not arrived for H41`);
    }
    assert.deepEqual(missing, []);

    for (const dirs of [g22, h41]) {
      const out = vdxp(['trail', 'verify', '--config', dirs.configPath, '--json']);
      assert.equal(out.status, 0, out.stdout + out.stderr);
      const report = JSON.parse(out.stdout);
      assert.equal(report.ok, true);
      // The killed process's chain stays open; the restarted one is a chain of its own that vouched for it.
      assert.ok(report.chains.length >= 2, JSON.stringify(report.chains));
      assert.ok(report.chains.some((c: { closed: boolean }) => !c.closed));
    }
  });

  it('keeps the evidence of signatures: the signing certificate on the sending side, signer, serial, fingerprint and policy on the receiving side', async () => {
    const pki = await makeTestPki();
    const h41Id = uniqueOrganId('H41');
    const h41 = prepareAgency(agencies.base(), h41Id, {
      signing: { keyFile: pki.h41.keyPath, certFile: pki.h41.certPath },
      // The certificate's UID is 000.00.00.H41: the test's OrganId is bound to it by fingerprint.
      trust: { anchors: [pki.rootCaPath], crls: [pki.crlPath], organBindings: { [h41Id]: [pki.h41.fingerprint] }, defaultPolicy: 'accept-unsigned' },
    });
    const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'), {
      trust: { anchors: [pki.rootCaPath], crls: [pki.crlPath], organBindings: { [h41Id]: [pki.h41.fingerprint] }, defaultPolicy: 'required' },
    });
    await agencies.start(g22);
    await agencies.start(h41);
    dropPackage(h41.outbox, 'signed.edxml', makeEdoc({ from: h41Id, to: [g22.organId], number: 5 }));
    await waitFor(() => deliveredFiles(g22.inbox).length === 1, 30_000, 'the signed document delivered');
    await new Promise((r) => setTimeout(r, 1_000));
    const id = docId(h41Id, 5);
    const sent = (await modelFor(h41.configPath)).document(id)!;
    const signed = sent.steps.find((s) => s.step === 'signed')!.evidence.certificate as { fingerprint: string; serialNumber: string };
    assert.equal(signed.fingerprint, pki.h41.fingerprint);
    assert.match(signed.serialNumber, /^[0-9A-F]+$/);
    const received = (await modelFor(g22.configPath)).document(id)!;
    const verified = received.steps.find((s) => s.step === 'verified')!.evidence as { result: string; policy: string; signer: { fingerprint: string; serialNumber: string; organId: string; subject: string } };
    assert.equal(verified.result, 'valid');
    assert.equal(verified.policy, 'required');
    assert.equal(verified.signer.fingerprint, pki.h41.fingerprint);
    assert.equal(verified.signer.serialNumber, signed.serialNumber);
    assert.equal(verified.signer.organId, h41Id);
  });

  it('two replicas of one agency write two chains into one trail and show the same view', async () => {
    const h41 = prepareAgency(agencies.base(), uniqueOrganId('H41'));
    const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'), {
      trail: { checkpointIntervalMs: 1_000, web: { enabled: true, host: '127.0.0.1', port: 1, tokenFile: path.join(agencies.base(), 'token') } },
    });
    fs.writeFileSync(path.join(agencies.base(), 'token'), 'replica-token-'.padEnd(40, 'z'));
    const ports = [await freePort(), await freePort()];
    const replicas = [];
    for (const port of ports) replicas.push(await AgencyProcess.start(g22, { VDXP__TRAIL__WEB__PORT: String(port), VDXP__OPS__PORT: String(await freePort()) }));
    const sender = await agencies.start(h41);
    try {
      for (let i = 1; i <= 30; i++) dropPackage(h41.outbox, `r-${i}.edxml`, makeEdoc({ from: h41.organId, to: [g22.organId], number: i }));
      await waitFor(() => deliveredFiles(g22.inbox).length >= 30, 60_000, '30 deliveries');
      const view = async (port: number) => {
        const res = await fetch(`http://127.0.0.1:${port}/api/documents?limit=100`, { headers: { Authorization: `Bearer ${'replica-token-'.padEnd(40, 'z')}` } });
        const page = (await res.json()) as { total: number; items: Array<{ documentId: string; parties: Array<{ stage: string }> }> };
        return page.items.map((d) => `${d.documentId}=${d.parties.map((p) => p.stage).join(',')}`).sort();
      };
      await waitFor(async () => (await view(ports[0]!)).filter((v) => v.endsWith('=arrived')).length === 30, 30_000, 'replica 1 sees 30 arrivals');
      await waitFor(async () => JSON.stringify(await view(ports[0]!)) === JSON.stringify(await view(ports[1]!)), 30_000, 'both replicas show the same view');
      await new Promise((r) => setTimeout(r, 2_500)); // a checkpoint round
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
      void sender;
    }
    const out = vdxp(['trail', 'verify', '--config', g22.configPath, '--json']);
    assert.equal(out.status, 0, out.stdout + out.stderr);
    const report = JSON.parse(out.stdout);
    const connectors = report.chains.filter((c: { writer?: { role: string } }) => c.writer?.role === 'connector');
    assert.equal(connectors.length, 2, 'one chain per replica');
    assert.ok(connectors.every((c: { closed: boolean }) => c.closed), 'both closed cleanly at SIGTERM');
  });

  it('verify names a forged record written into the trail; track shows a timeline and what is late', async () => {
    const h41 = prepareAgency(agencies.base(), uniqueOrganId('H41'), { trail: { overdue: { counterparts: {} } } });
    const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'));
    const yesterday = new Date(Date.now() + 7 * 3_600_000 - 86_400_000).toISOString().slice(0, 10);
    await agencies.start(g22);
    const sender = await agencies.start(h41);
    dropPackage(h41.outbox, 'due.edxml', makeEdoc({ from: h41.organId, to: [g22.organId], number: 7, dueDate: yesterday }));
    await waitFor(() => deliveredFiles(h41.inbox).some((f) => f.includes('.status-01.')), 30_000, 'status 01 back');
    await sender.stop();

    const id = docId(h41.organId, 7);
    const track = vdxp(['track', id, '--config', h41.configPath]);
    assert.equal(track.status, 0, track.stderr);
    assert.match(track.stdout, /taken[\s\S]*written[\s\S]*received 01 \(Đã đến\)/);
    assert.match(track.stdout, /OVERDUE completion/);
    const json = JSON.parse(vdxp(['track', id, '--config', h41.configPath, '--json']).stdout);
    assert.equal(json.steps.find((s: { step: string }) => s.step === 'written').evidence.placement.topic, `vdxp.docs.${g22.organId}`);
    const overdue = JSON.parse(vdxp(['track', '--overdue', '--counterpart', g22.organId, '--config', h41.configPath, '--json']).stdout);
    assert.deepEqual(overdue.map((o: { documentId: string; stage: string }) => [o.documentId, o.stage]), [[id, 'completion']]);
    assert.equal(JSON.parse(vdxp(['track', '--overdue', '--counterpart', '999.99.99.Z99', '--config', h41.configPath, '--json']).stdout).length, 0);
    assert.equal(vdxp(['track', 'no-such-document', '--config', h41.configPath]).status, 1);
    assert.equal(vdxp(['trail', 'verify', '--config', h41.configPath]).status, 0);

    // Someone with write access to the topic appends an edited copy of the `written` record (status 02 instead of a placement).
    const config = loadConfigFile(h41.configPath);
    const { records } = await readTrail(commonClientConfig(config.kafka, 'vdxp-test-forger'), config.organId);
    const original = records.find((r) => JSON.parse(r.value.toString()).step === 'written')!;
    const forged = JSON.parse(original.value.toString());
    forged.placement.offset = 999;
    const producer = new BackboneProducer(commonClientConfig({ brokers: [TEST_BROKERS] }, 'vdxp-test-forger'));
    await producer.connect();
    await producer.send({ topic: trailTopic(config.organId), key: id, value: Buffer.from(JSON.stringify(forged)), headers: {} });
    await producer.disconnect();
    const verify = vdxp(['trail', 'verify', '--config', h41.configPath]);
    assert.equal(verify.status, 1, verify.stdout);
    assert.match(verify.stdout, new RegExp(`PROBLEM fork: chain \\S+ has two different records at seq ${forged.seq} \\(offsets ${original.offset} and \\d+\\)`));
    assert.match(verify.stdout, /trail NOT intact/);
  });
});
