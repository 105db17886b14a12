/**
 * The bridge between two connectors, on real Kafka: agency A is on two backbones. On the "axis"
 * (a second Kafka started by this test), A's account is connector B, which serves the VXP API
 * (src/connectors/vxp) with A's OrganId, and agency C sends to A there. On A's own backbone, A's
 * connector runs the bridge as a source against B: what B's VXP side holds for A is pulled into
 * A's backbone and reaches A's legacy system, and B never lists it again once confirmed.
 *
 * The other way, A's own documents through the bridge's outbound route to agencies that exist only
 * on the axis, and the statuses they send back: vxp-bridge-outbound.test.ts, and with signatures
 * checked, vxp-bridge-trust.test.ts (docs/OPERATIONS.md "The VXP bridge").
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AgencyProcess, deliveredFiles, dropPackage, prepareAgency, TEST_BROKERS, uniqueOrganId, waitFor } from '../support/agency';
import { freePort } from '../support/ports';
import { makeEdoc } from '../support/packages';
import { addBridgeSource, prepareAxisAccount, startAxisKafka, type AxisKafka } from '../support/vxp-axis';
import { VxpClient } from '../../src/connectors/vxp-bridge/client';

const SECRET = 'a-account-on-the-axis';

describe('vxp bridge between two connectors: a VXP endpoint served by connector B on a second backbone, pulled into A\'s backbone', function () {
  this.timeout(240_000);
  let base: string;
  let axis: AxisKafka | undefined;
  const running: AgencyProcess[] = [];

  before(async () => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-vxp-crossing-'));
    axis = await startAxisKafka(path.join(base, 'axis-kafka'));
  });

  after(async () => {
    await Promise.allSettled(running.map((a) => a.stop()));
    axis?.stop();
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('a document C sent to A on the axis reaches A\'s legacy system on A\'s backbone, byte for byte, and B lists it no more', async () => {
    const a = uniqueOrganId('A41');
    const c = uniqueOrganId('C22');
    const secretFile = path.join(base, 'a-bridge.secret');
    fs.writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
    const vxpPort = await freePort();

    // The axis: B serves the VXP API for A's account; C is an ordinary agency there.
    const axisRoot = path.join(base, 'axis');
    const bDirs = prepareAxisAccount(axisRoot, a, axis!, { port: vxpPort, secretFile });
    const cDirs = prepareAgency(axisRoot, c, { kafka: axis!.config, trail: { enabled: false } });
    // A's own backbone: file drop for A's legacy system, and the bridge's receive loop against B.
    const aDirs = prepareAgency(path.join(base, 'backbone'), a);
    addBridgeSource(aDirs, { port: vxpPort, secretFile });
    assert.notEqual(TEST_BROKERS, axis!.brokers);

    running.push(await AgencyProcess.start(bDirs));
    running.push(await AgencyProcess.start(cDirs));
    running.push(await AgencyProcess.start(aDirs));

    const pkg = makeEdoc({ from: c, to: [a], number: 601 });
    dropPackage(cDirs.outbox, 'cv-601.edxml', pkg);

    await waitFor(() => deliveredFiles(aDirs.inbox).length >= 1, 90_000, () => `A's legacy system to receive C's document through the bridge (B log: ${bDirs.logPath}, A log: ${aDirs.logPath})`);
    const delivered = fs.readFileSync(path.join(aDirs.inbox, deliveredFiles(aDirs.inbox)[0]!));
    assert.ok(delivered.equals(pkg), 'byte for byte');
    assert.equal(deliveredFiles(bDirs.inbox).length, 0);

    // Confirmed done at B: its mailbox lists it no more, to the bridge's account or anyone reading it.
    const probe = new VxpClient('probe', { endpoint: `http://127.0.0.1:${vxpPort}`, systemId: 'a-bridge', secretFile });
    await waitFor(async () => (await probe.getReceivedEdocList('edoc')).length === 0, 30_000, 'B to list nothing once the bridge confirmed');
    // C, on the axis, hears that A's side took it (01 from B's mailbox).
    await waitFor(() => deliveredFiles(cDirs.inbox).some((f) => fs.readFileSync(path.join(cDirs.inbox, f), 'utf8').includes('<edXML:StatusCode>01<')), 30_000, 'C to hear 01');
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(deliveredFiles(aDirs.inbox).length, 1, 'delivered once: a confirmed package is not pulled again');
  });
});
