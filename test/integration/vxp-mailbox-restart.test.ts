/**
 * The VXP mailbox lives in Kafka: a receiving connector SIGKILLed between getEdoc and
 * updateStatus, or with 500 packages waiting, loses none and never lists again one that was
 * confirmed; DocIds stay the same; two replicas behind one port answer as one.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { makeEdoc } from '../support/packages';
import { uniqueOrganId, useAgencyProcesses, waitFor } from '../support/agency';
import { listenOnFreePort, pickPort } from '../support/ports';
import { prepareVxpAgency, sdkFor, type VxpAgency } from '../support/vxp-agency';
import { VxpSdkClient } from '../support/vxp-sdk';
import { VxpClient } from '../../src/connectors/vxp-bridge/client';

const VERSION = '2.0.1';

async function listIds(sdk: VxpSdkClient): Promise<string[]> {
  return ((await sdk.getReceivedEdocList('edoc')).knobsticks ?? []).map((k) => k.id!).sort();
}

/** A second replica of the same agency: same config, its own VXP and ops ports. */
function replicaOf(agency: VxpAgency, n: number): VxpAgency {
  const config = YAML.parse(fs.readFileSync(agency.configPath, 'utf8')) as { connectors: Array<{ options: { port: number } }>; ops: { port: number } };
  const vxpPort = pickPort();
  config.connectors[0]!.options.port = vxpPort;
  config.ops.port = pickPort();
  const configPath = path.join(agency.root, `replica-${n}.yaml`);
  fs.writeFileSync(configPath, YAML.stringify(config));
  return { ...agency, configPath, logPath: path.join(agency.root, `replica-${n}.log`), vxpPort, endpoint: `http://127.0.0.1:${vxpPort}` };
}

/** The same replica started again, logging to a fresh file (so "connector running" is the new process's). */
function restarted(agency: VxpAgency, n: number): VxpAgency {
  return { ...agency, logPath: path.join(agency.root, `restart-${n}.log`) };
}

/** One port in front of several replicas: each request goes to the next one in turn (a Service's balancing, at its most adversarial). */
async function roundRobin(ports: number[]): Promise<{ endpoint: string; close(): Promise<void>; served: number[] }> {
  let next = 0;
  const served = ports.map(() => 0);
  const server = http.createServer((req, res) => {
    const i = next++ % ports.length;
    served[i]!++;
    const out = http.request({ host: '127.0.0.1', port: ports[i], method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  const port = await listenOnFreePort(server);
  return { endpoint: `http://127.0.0.1:${port}`, served, close: () => new Promise((r) => server.close(() => r())) };
}

describe(`VXP mailbox in Kafka (SDK ${VERSION})`, function () {
  this.timeout(600_000);
  const agencies = useAgencyProcesses('vxp-mailbox');
  const clients: VxpSdkClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  const sdk = (agency: VxpAgency, overrides = {}) => {
    const c = sdkFor(agency, VERSION, overrides);
    clients.push(c);
    return c;
  };

  async function sendMany(a: VxpAgency, b: VxpAgency, n: number, first = 1): Promise<void> {
    const sdkA = sdk(a);
    for (let i = first; i < first + n; i++) {
      if ((i - first) % 100 === 99) await sdkA.renew();
      const file = path.join(a.root, `doc-${i}.edxml`);
      fs.writeFileSync(file, makeEdoc({ from: a.organId, to: [b.organId], number: i, attachmentBytes: 256 }));
      const r = await sdkA.sendEdoc(file, a.organId);
      assert.equal(r.status, 'OK', JSON.stringify(r));
      fs.rmSync(file);
    }
  }

  /**
   * `n` packages into B's mailbox through A's sendEdoc, 10 at a time, with the connector's own VXP
   * client (the bridge's, which sends what the SDK sends): this case is about B's side, and the
   * SDK's one-request-per-call JVM round trips took 8 minutes of CI for 500.
   */
  async function fillThroughSendEdoc(a: VxpAgency, b: VxpAgency, n: number): Promise<void> {
    const client = new VxpClient('fill', { endpoint: a.endpoint, systemId: a.organId, secretFile: path.join(a.root, 'vxp-secret') });
    let next = 1;
    const worker = async () => {
      for (let i = next++; i <= n; i = next++) {
        await client.sendEdoc(a.organId, 'edoc', makeEdoc({ from: a.organId, to: [b.organId], number: i, attachmentBytes: 256 }));
      }
    };
    await Promise.all(Array.from({ length: 10 }, worker));
  }

  it('SIGKILL between getEdoc and updateStatus, and after updateStatus: nothing lost, nothing confirmed comes back, same DocId', async () => {
    const a = prepareVxpAgency(agencies.base(), uniqueOrganId('A03'));
    const b = prepareVxpAgency(agencies.base(), uniqueOrganId('B03'));
    const [, bProc] = await Promise.all([agencies.start(a), agencies.start(b)]);
    await sendMany(a, b, 1);
    const sdkB = sdk(b);
    await waitFor(async () => (await listIds(sdkB)).length === 1, 30_000, 'the package at B');
    const [docId] = await listIds(sdkB);
    const got = await sdkB.getEdoc(docId!, path.join(b.root, 'got'));
    assert.equal(got.status, 'OK');

    await bProc!.kill('SIGKILL');
    agencies.forget(bProc!);
    const b2 = await agencies.start(restarted(b, 1));
    const sdkB2 = sdk(b);
    assert.deepEqual(await listIds(sdkB2), [docId], 'still waiting, under the same DocId');
    const again = await sdkB2.getEdoc(docId!, path.join(b.root, 'again'));
    assert.ok(fs.readFileSync(again.filePath!).equals(fs.readFileSync(got.filePath!)));
    assert.equal((await sdkB2.updateStatus(docId!, 'done')).status, 'OK');

    await b2.kill('SIGKILL');
    agencies.forget(b2);
    await agencies.start(restarted(b, 2));
    const sdkB3 = sdk(b);
    assert.deepEqual(await listIds(sdkB3), [], 'a confirmed package is never listed again');
    assert.equal((await sdkB3.getEdoc(docId!, path.join(b.root, 'x'))).errorCode, 'already-confirmed');
  });

  it('SIGKILL with 500 waiting and 250 confirmed: the other 250 are listed, with their DocIds, and none of the confirmed', async () => {
    const a = prepareVxpAgency(agencies.base(), uniqueOrganId('A04'));
    const b = prepareVxpAgency(agencies.base(), uniqueOrganId('B04'));
    const [, bProc] = await Promise.all([agencies.start(a), agencies.start(b)]);
    await fillThroughSendEdoc(a, b, 500);
    const sdkB = sdk(b);
    await waitFor(async () => (await listIds(sdkB)).length === 500, 120_000, '500 packages at B');
    const all = await listIds(sdkB);
    const confirmed: string[] = [];
    for (let round = 0; round < 5; round++) {
      // A fresh SDK object per round, as a legacy system's receive cycle makes (its timestamp is the object's).
      await sdkB.renew();
      const loop = await sdkB.receiveLoop('edoc', path.join(b.root, 'got'), 'done', 50);
      for (const i of loop.items) assert.equal(i.update?.status, 'OK', JSON.stringify(i));
      confirmed.push(...loop.items.map((i) => i.id));
    }
    confirmed.sort();
    assert.equal(confirmed.length, 250);

    await bProc!.kill('SIGKILL');
    agencies.forget(bProc!);
    await agencies.start(restarted(b, 1));
    const after = await listIds(sdk(b));
    assert.equal(after.length, 250);
    assert.deepEqual(after, all.filter((id) => !confirmed.includes(id)));
  });

  it('two replicas behind one port: listed by one, fetched and confirmed through the other', async () => {
    const a = prepareVxpAgency(agencies.base(), uniqueOrganId('A05'));
    const b = prepareVxpAgency(agencies.base(), uniqueOrganId('B05'));
    const b2 = replicaOf(b, 2);
    // One after the other: three connectors starting at once on a loaded machine outlast the start timeout.
    for (const agency of [a, b, b2]) await agencies.start(agency);
    const front = await roundRobin([b.vxpPort, b2.vxpPort]);
    try {
      await sendMany(a, b, 4);
      const through = sdk(b, { endpoint: front.endpoint });
      await waitFor(async () => (await listIds(through)).length === 4, 60_000, '4 packages listed through the front');
      const listedByOne = await listIds(through);
      const listedByOther = await listIds(through);
      assert.deepEqual(listedByOne, listedByOther);
      for (const [i, id] of listedByOne.entries()) {
        // getEdoc goes to one replica and its updateStatus to the other.
        const got = await through.getEdoc(id, path.join(b.root, `r${i}`));
        assert.equal(got.status, 'OK', JSON.stringify(got));
        assert.equal((await through.updateStatus(id, 'done')).status, 'OK');
        // One more request every other package, so that the confirmations, too, alternate between the replicas.
        if (i % 2 === 0) await listIds(through);
      }
      assert.deepEqual(await listIds(through), []);
      assert.deepEqual(await listIds(through), []);
      assert.ok(front.served.every((n) => n >= 5), `both replicas served requests: ${front.served.join(', ')}`);
      for (const replica of [b, b2]) assert.match(fs.readFileSync(replica.logPath, 'utf8'), /confirmed done/, `${replica.logPath} confirmed some of them`);
    } finally {
      await front.close();
    }
  });
});

