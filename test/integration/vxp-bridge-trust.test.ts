/**
 * The bridge both ways with signatures checked (issue 15): agency A verifies everything under
 * `defaultPolicy: required` with a test PKI made at test time, and signs what it sends. C and D
 * exist only on the "axis" (a second Kafka), where connector B serves A's account over the VXP
 * API. C's connector signs with a certificate A binds to C; D sends unsigned.
 *
 * - C's signed document reaches A's legacy system through B's mailbox and A's bridge source,
 *   though C is not on A's backbone; A's 01 (signed by A) goes back to C through the outbound route.
 * - D's unsigned document is refused by A, and D hears status 02 from A through the route
 *   (`notOnBackbone: true`).
 * - A's document to C crosses; C's 03, signed by C, comes back and passes A's check.
 * - A's package that B refuses for good gives A's legacy system a status 02 that A signed and A's
 *   own receive pipeline verified (the one own status that passes).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AgencyProcess, deadLetterReasons, dropPackage, prepareAgency, uniqueOrganId, waitFor, type AgencyDirs } from '../support/agency';
import { freePort } from '../support/ports';
import { makeEdoc } from '../support/packages';
import { makeTestPki, type TestPki } from '../support/pki';
import { addBridgeSource, deliveredTexts as texts, documentIdOf, prepareAxisAccount, startAxisKafka, statusAbout, statusesAbout as about, type AxisKafka } from '../support/vxp-axis';

const B_MAX_BODY = 200_000;
const SIGNED = 'xmlns="http://www.w3.org/2000/09/xmldsig#"';
/** A document (not a status) with this DocumentId among the files. */
const hasDocument = (dir: string, documentId: string) => texts(dir).some((t) => t.includes(`<edXML:DocumentId>${documentId}</edXML:DocumentId>`) && t.includes('<edXML:Subject>'));

describe('vxp bridge with signatures checked: senders that exist only on the axis, both ways', function () {
  this.timeout(300_000);
  let base: string;
  let axis: AxisKafka | undefined;
  let pki: TestPki;
  let a: AgencyDirs;
  let b: AgencyDirs;
  let c: AgencyDirs;
  let d: AgencyDirs;
  const running: AgencyProcess[] = [];
  const logs = () => `A log: ${a.logPath}, B log: ${b.logPath}`;

  before(async () => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-vxp-trust-'));
    pki = await makeTestPki(path.join(base, 'pki'));
    axis = await startAxisKafka(path.join(base, 'axis-kafka'));
    const [aId, cId, dId] = [uniqueOrganId('A41'), uniqueOrganId('C22'), uniqueOrganId('D33')];
    const secretFile = path.join(base, 'a-bridge.secret');
    fs.writeFileSync(secretFile, 'a-account-on-the-axis\n', { mode: 0o600 });
    const vxpPort = await freePort();
    const axisRoot = path.join(base, 'axis');
    b = prepareAxisAccount(axisRoot, aId, axis, { port: vxpPort, secretFile, maxBodyBytes: B_MAX_BODY });
    // C signs with a certificate bound to its OrganId, and takes what B's mailbox sends it unsigned.
    c = prepareAgency(axisRoot, cId, {
      kafka: axis.config,
      trail: { enabled: false },
      signing: { keyFile: pki.g22.keyPath, certFile: pki.g22.certPath },
      trust: { anchors: [pki.rootCaPath], crls: [pki.crlPath], organBindings: { [cId]: [pki.g22.fingerprint], [aId]: [pki.h41.fingerprint] }, defaultPolicy: 'accept-unsigned' },
    });
    d = prepareAgency(axisRoot, dId, { kafka: axis.config, trail: { enabled: false } });
    a = prepareAgency(path.join(base, 'backbone'), aId, {
      signing: { keyFile: pki.h41.keyPath, certFile: pki.h41.certPath },
      trust: { anchors: [pki.rootCaPath], crls: [pki.crlPath], organBindings: { [aId]: [pki.h41.fingerprint], [cId]: [pki.g22.fingerprint] }, defaultPolicy: 'required' },
    });
    addBridgeSource(a, { port: vxpPort, secretFile, outbound: { recipients: [cId], notOnBackbone: true } });
    for (const dirs of [b, c, d, a]) running.push(await AgencyProcess.start(dirs));
  });

  after(async () => {
    await Promise.allSettled(running.map((p) => p.stop()));
    axis?.stop();
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('C\'s signed document reaches A\'s legacy system and A\'s signed 01 reaches C; D\'s unsigned one is refused and D hears 02 from A', async () => {
    const fromC = makeEdoc({ from: c.organId, to: [a.organId], number: 801 });
    const fromD = makeEdoc({ from: d.organId, to: [a.organId], number: 802 });
    dropPackage(c.outbox, 'cv-801.edxml', fromC);
    dropPackage(d.outbox, 'cv-802.edxml', fromD);
    const [docC, docD] = [documentIdOf(fromC), documentIdOf(fromD)];

    await waitFor(() => hasDocument(a.inbox, docC), 90_000, () => `A's legacy system to receive C's signed document (${logs()})`);
    await waitFor(() => about(c.inbox, '01', docC).some((t) => t.includes(SIGNED)), 60_000, () => `C to hear A's own 01, signed by A, through the outbound route (${logs()})`);

    await waitFor(() => about(d.inbox, '02', docD).length > 0, 90_000, () => `D to hear 02 from A through the route (${logs()})`);
    assert.ok(about(d.inbox, '02', docD)[0]!.includes(SIGNED), 'A signs the 02');
    assert.ok(!hasDocument(a.inbox, docD), 'D\'s document never reached A\'s legacy system');
    assert.ok(deadLetterReasons(a.organId).length >= 1, 'A dead-lettered it');
  });

  it('A\'s document reaches C; C\'s 03, signed by C, passes A\'s check and reaches A\'s legacy system', async () => {
    const pkg = makeEdoc({ from: a.organId, to: [c.organId], number: 803 });
    const documentId = documentIdOf(pkg);
    dropPackage(a.outbox, 'cv-803.edxml', pkg);
    await waitFor(() => texts(c.inbox).some((t) => t.includes(`<edXML:DocumentId>${documentId}</edXML:DocumentId>`) && t.includes(SIGNED)), 90_000, () => `C to receive A's signed document (${logs()})`);
    const status03 = statusAbout(c.organId, a.organId, documentId, 803);
    dropPackage(c.outbox, 'status-803.edxml', status03);
    await waitFor(() => about(a.inbox, '03', documentId).length === 1, 90_000, () => `A's legacy system to receive C's signed 03 (${logs()})`);
  });

  it('a package B refuses for good: A\'s legacy system gets the 02 that A signed and its own receive pipeline verified', async () => {
    const pkg = makeEdoc({ from: a.organId, to: [c.organId], number: 804, attachmentBytes: B_MAX_BODY });
    const documentId = documentIdOf(pkg);
    dropPackage(a.outbox, 'cv-804.edxml', pkg);
    await waitFor(() => about(a.inbox, '02', documentId).length === 1, 90_000, () => `A's legacy system to hear 02 (${logs()})`);
    const refusal = about(a.inbox, '02', documentId)[0]!;
    assert.ok(refusal.includes(SIGNED));
    assert.match(refusal, /delivery-rejected/);
  });
});
