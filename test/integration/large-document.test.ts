/**
 * DESIGN.md rule 6 end to end: a package of more than 200 MB crosses from H41's outbox to G22's
 * inbox through a real Kafka broker whose message limit stays at 1 MB — signed by H41's connector,
 * chunked on one partition, reassembled, verified by G22's connector, written into place — while
 * both connector processes stay under 300 MB of peak RSS. xmlsec1 verifies what arrives.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withDefaults } from '../../src/limits';
import { openAttachment } from '../../src/edxml/attachments';
import type { EdocPackage } from '../../src/edxml/model';
import { readParsedPackage } from '../../src/edxml/reader';
import { readSpooledPackage } from '../../src/edxml/spooled-package';
import { AgencyProcess, deliveredFiles, prepareAgency, uniqueOrganId, useAgencyProcesses, waitFor } from '../support/agency';
import { makeTestPki, type TestPki } from '../support/pki';
import { peakRss, writeLargeEdoc } from '../support/large-files';

/** Base64 characters of the attachment: the package is just over 200 MiB. */
const ATTACHMENT_BASE64_CHARS = 210_000_000;
const RSS_TARGET_BYTES = 300 * 1024 * 1024;

/** SHA-256 of the first attachment of a delivered package, decoded from the file as a stream. */
async function attachmentSha256(file: string): Promise<string> {
  const spooled = await readSpooledPackage(file, withDefaults());
  const attachment = (readParsedPackage(spooled.parsed, withDefaults()) as EdocPackage).attachments[0]!;
  const hash = createHash('sha256');
  for await (const chunk of openAttachment(attachment)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Files (any depth) under a folder. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('large documents (real Kafka, real connectors, a 200 MB package)', function () {
  this.timeout(600_000);
  let pki: TestPki;
  const agencies = useAgencyProcesses('vdxp-large');

  before(async () => {
    pki = await makeTestPki();
  });

  it('moves a signed package of over 200 MB end to end with each connector under 300 MB of peak RSS', async () => {
    const h41Id = uniqueOrganId('H41');
    const g22Id = uniqueOrganId('G22');
    const trust = (bindings: Record<string, string[]>) => ({ anchors: [pki.rootCaPath], crls: [pki.crlPath], organBindings: bindings });
    const h41 = prepareAgency(agencies.base(), h41Id, {
      signing: { keyFile: pki.h41.keyPath, certFile: pki.h41.certPath },
      trust: trust({ [h41Id]: [pki.h41.fingerprint], [g22Id]: [pki.g22.fingerprint] }),
    });
    const g22 = prepareAgency(agencies.base(), g22Id, {
      signing: { keyFile: pki.g22.keyPath, certFile: pki.g22.certPath },
      trust: { ...trust({ [h41Id]: [pki.h41.fingerprint], [g22Id]: [pki.g22.fingerprint] }), defaultPolicy: 'required' },
    });
    const receiver = await agencies.start(g22);
    const sender = await agencies.start(h41);

    const staged = path.join(agencies.base(), '.large.edxml.part');
    const sentAttachmentSha256 = writeLargeEdoc(staged, { from: h41Id, to: g22Id, number: 200, base64Chars: ATTACHMENT_BASE64_CHARS }).attachmentSha256;
    const packageBytes = fs.statSync(staged).size;
    assert.ok(packageBytes > 200 * 1024 * 1024, `package of ${packageBytes} bytes`);
    const startedAt = Date.now();
    fs.renameSync(staged, path.join(h41.outbox, 'large.edxml'));

    await waitFor(() => deliveredFiles(g22.inbox).length === 1, 480_000, () => `the large package in G22's inbox (sender log tail: ${sender.logText().slice(-600)} receiver log tail: ${receiver.logText().slice(-600)})`);
    const seconds = (Date.now() - startedAt) / 1000;
    const senderPeak = peakRss(sender.child.pid!);
    const receiverPeak = peakRss(receiver.child.pid!);
    await waitFor(() => deliveredFiles(h41.inbox).some((f) => f.includes('.status-01.')), 60_000, 'status 01 back to the sender');
    await waitFor(() => fs.existsSync(path.join(h41.outbox, 'sent', 'large.edxml')), 10_000, 'the original in sent/');

    const delivered = path.join(g22.inbox, deliveredFiles(g22.inbox)[0]!);
    assert.equal(await attachmentSha256(delivered), sentAttachmentSha256, 'the attachment arrived bit for bit');
    execFileSync('xmlsec1', ['--verify', '--trusted-pem', pki.rootCaPath, '--enabled-key-data', 'x509', delivered], { stdio: 'pipe', timeout: 120_000 });

    const mb = (n: number) => Math.round(n / 1024 / 1024);
    console.log(`      large document figures: ${JSON.stringify({ packageMB: mb(packageBytes), seconds, senderPeakRssMB: mb(senderPeak), receiverPeakRssMB: mb(receiverPeak) })}`);
    assert.ok(senderPeak <= RSS_TARGET_BYTES, `sender peak RSS ${mb(senderPeak)} MB`);
    assert.ok(receiverPeak <= RSS_TARGET_BYTES, `receiver peak RSS ${mb(receiverPeak)} MB`);
  });
  it('reassembles from the first chunk when the receiving connector is SIGKILLed in the middle of a large package', async () => {
    const h41 = prepareAgency(agencies.base(), uniqueOrganId('H41'));
    const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'));
    const scratch = path.join(agencies.base(), 'g22-scratch');
    fs.mkdirSync(scratch);
    const startReceiver = (): Promise<AgencyProcess> => AgencyProcess.start(g22, { TMPDIR: scratch });
    let receiver = await startReceiver();
    let restarted: AgencyProcess | undefined;
    try {
      await agencies.start(h41);
      const staged = path.join(agencies.base(), '.mid.edxml.part');
      const sentAttachmentSha256 = writeLargeEdoc(staged, { from: h41.organId, to: g22.organId, number: 200, base64Chars: 80_000_000 }).attachmentSha256;
      fs.renameSync(staged, path.join(h41.outbox, 'mid.edxml'));

      // Kill it once part of the package sits in its reassembly file, before the package is delivered.
      const partial = () => filesUnder(scratch).some((f) => f.includes('assembly') && fs.statSync(f).size > 5_000_000);
      await waitFor(partial, 120_000, () => `a partly reassembled package in ${scratch}`);
      assert.deepEqual(deliveredFiles(g22.inbox), [], 'killed before the package was delivered');
      const deadSpool = filesUnder(scratch).find((f) => f.includes('assembly'))!.split(path.sep).find((part) => part.startsWith('vdxp-spool-'))!;
      assert.equal(await receiver.kill('SIGKILL'), null);

      restarted = await startReceiver();
      await waitFor(() => deliveredFiles(g22.inbox).length === 1, 240_000, () => `the package after the restart (log tail: ${restarted!.logText().slice(-800)})`);
      assert.equal(await attachmentSha256(path.join(g22.inbox, deliveredFiles(g22.inbox)[0]!)), sentAttachmentSha256, 'whole and bit for bit');
      assert.ok(!fs.existsSync(path.join(scratch, deadSpool)), 'the dead process\'s scratch folder was removed at the restart');
      await waitFor(() => deliveredFiles(h41.inbox).some((f) => f.includes('.status-01.')), 60_000, 'status 01 back to the sender');
      await new Promise((r) => setTimeout(r, 2_000));
      assert.equal(deliveredFiles(g22.inbox).length, 1, 'delivered once');
    } finally {
      await receiver.stop();
      await restarted?.stop();
    }
  });
});
