/**
 * The row for legacy systems on the VXP SDK (issue 15 point 5): the real SDK 2.0.1's send loop at
 * A and receive loop at B (getReceivedEdocList → getEdoc → updateStatus(done)) through two `vxp`
 * connectors, on the same broker and with the same signing and verification as the file-drop rows
 * of this run, next to which it is reported.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { AgencyProcess, type AgencySetup } from './agencies';
import { PackageFactory } from './packages';
import type { Pair } from './pipeline-rows';
import type { Row } from './report';
import { fmt, sleep } from './stats';
import { freePort } from '../test/support/ports';
import { VxpSdkClient } from '../test/support/vxp-sdk';

const DOCUMENT_BYTES = 100 * 1024;

/** The agency's config with its connectors replaced by one vxp connector (plain HTTP on loopback). */
async function asVxpAgency(setup: AgencySetup, secret: string): Promise<AgencySetup & { endpoint: string }> {
  const config = YAML.parse(fs.readFileSync(setup.configPath, 'utf8')) as Record<string, unknown> & { ops: { port: number } };
  const secretFile = path.join(setup.root, 'vxp-secret');
  fs.writeFileSync(secretFile, secret, { mode: 0o600 });
  const port = await freePort();
  config.connectors = [{ name: 'vxp', type: 'vxp', direction: 'source', profile: 'edxml', options: { port, allowPlainHttp: true, clients: [{ systemId: setup.organId, secretFile, organIds: [setup.organId] }] } }];
  config.ops.port = await freePort();
  const configPath = path.join(setup.root, 'vxp-agency.yaml');
  fs.writeFileSync(configPath, YAML.stringify(config));
  return { ...setup, configPath, logPath: path.join(setup.root, 'vxp-connector.log'), opsPort: config.ops.port, endpoint: `http://127.0.0.1:${port}` };
}

export async function vxpSdkRow(pair: Pair, documents: number, fileDropReference: string): Promise<Row> {
  const a = await asVxpAgency(pair.a, 'bench-secret-a');
  const b = await asVxpAgency(pair.b, 'bench-secret-b');
  const [procA, procB] = await Promise.all([AgencyProcess.start(a), AgencyProcess.start(b)]);
  const sdkA = new VxpSdkClient({ version: '2.0.1', endpoint: a.endpoint, systemId: a.organId, secret: 'bench-secret-a' });
  const sdkB = new VxpSdkClient({ version: '2.0.1', endpoint: b.endpoint, systemId: b.organId, secret: 'bench-secret-b' });
  const packages = new PackageFactory(a.organId, b.organId, DOCUMENT_BYTES, `vxp${Date.now().toString(36)}`);
  const files: string[] = [];
  for (let i = 0; i < documents; i++) {
    const file = path.join(a.root, `vxp-${i}.edxml`);
    fs.writeFileSync(file, packages.next().bytes);
    files.push(file);
  }
  try {
    // Warm: one document through both loops before anything is timed.
    const warm = path.join(a.root, 'vxp-warm.edxml');
    fs.writeFileSync(warm, packages.next().bytes);
    if ((await sdkA.sendEdoc(warm, a.organId)).status !== 'OK') throw new Error(`vxp bench: warm-up send refused; ${procA.lastLogLines(5)}`);
    for (let got = 0; got < 1; ) got += (await sdkB.receiveLoop('edoc', path.join(b.root, 'vxp-received'), 'done')).items.length;

    const started = performance.now();
    let sendMs = 0;
    const sending = (async () => {
      for (const [i, file] of files.entries()) {
        if (i % 200 === 199) await sdkA.renew(); // the SDK stamps its time when its objects are made
        const r = await sdkA.sendEdoc(file, a.organId);
        if (r.status !== 'OK') throw new Error(`vxp bench: send ${i} refused: ${r.errorCode} ${r.errorDesc}`);
      }
      sendMs = performance.now() - started;
    })();
    let confirmed = 0;
    const deadline = started + 600_000;
    let sendFailure: unknown;
    sending.catch((err) => (sendFailure = err));
    while (confirmed < documents && performance.now() < deadline && !sendFailure) {
      const loop = await sdkB.receiveLoop('edoc', path.join(b.root, 'vxp-received'), 'done');
      confirmed += loop.items.filter((i) => i.update?.status === 'OK').length;
      if (loop.items.length === 0) await sleep(50);
      if (performance.now() - started > 180_000 && confirmed % 200 === 0) await sdkB.renew();
    }
    if (sendFailure) throw sendFailure;
    await sending;
    const totalMs = performance.now() - started;
    const rate = (documents * 1000) / totalMs;
    return {
      name: `VXP SDK 2.0.1 send + receive loops (vxp), ${DOCUMENT_BYTES / 1024} KB signed, ${documents} docs`,
      measured: `${fmt(rate)} docs/s (send loop alone ${fmt((documents * 1000) / sendMs)} docs/s; ${confirmed}/${documents} confirmed)`,
      reference: `file drop end to end ${fileDropReference}`,
      ratio: '',
      note: 'one SDK client per side, calls in sequence as the SDK example makes them',
    };
  } finally {
    await Promise.allSettled([sdkA.close(), sdkB.close()]);
    await Promise.allSettled([procA.stop(), procB.stop()]);
    for (const f of files) fs.rmSync(f, { force: true });
  }
}
