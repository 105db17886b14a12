/**
 * Issue 2's promise, against the real Kafka broker: packages dropped into one agency's outbox
 * arrive in another agency's inbox, byte for byte, none lost and none duplicated, even when the
 * receiving connector is SIGKILLed halfway.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deliveredFiles, dropPackage, prepareAgency, uniqueOrganId, useAgencyProcesses, waitFor, type AgencyDirs } from '../support/agency';
import { makeEdoc } from '../support/packages';
import { sha256Hex } from '../../src/pipeline/identity';

describe('a document crosses from agency A to agency B over real Kafka', function () {
  this.timeout(180_000);
  const agencies = useAgencyProcesses('vdxp-crossing');
  const start = agencies.start;
  const drop = dropPackage;

  function inboxDigests(dirs: AgencyDirs): Map<string, number> {
    const counts = new Map<string, number>();
    for (const f of deliveredFiles(dirs.inbox)) {
      const digest = sha256Hex(fs.readFileSync(path.join(dirs.inbox, f)));
      counts.set(digest, (counts.get(digest) ?? 0) + 1);
    }
    return counts;
  }

  async function sendHundred(killReceiverHalfway: boolean) {
    const h41 = prepareAgency(agencies.base(), uniqueOrganId('H41'));
    const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'));
    let receiver = await start(g22);
    await start(h41);

    const sent = new Map<string, Buffer>();
    for (let i = 1; i <= 100; i++) {
      const bytes = makeEdoc({ from: h41.organId, to: [g22.organId], number: i });
      sent.set(sha256Hex(bytes), bytes);
      drop(h41.outbox, `cong-van-${i}.edxml`, bytes);
      if (killReceiverHalfway && i === 50) {
        await waitFor(() => deliveredFiles(g22.inbox).length >= 10, 30_000, 'the first deliveries');
        assert.equal(await receiver.kill('SIGKILL'), null, 'the receiver was killed, not stopped');
        agencies.forget(receiver);
        receiver = await start(g22);
      }
    }

    await waitFor(() => deliveredFiles(g22.inbox).length >= 100, 60_000, '100 packages in the inbox');
    await new Promise((r) => setTimeout(r, 1500)); // anything extra would show up now
    const received = inboxDigests(g22);
    assert.equal(deliveredFiles(g22.inbox).length, 100, 'exactly 100 files: none duplicated');
    assert.deepEqual([...received.keys()].sort(), [...sent.keys()].sort(), 'every package arrived with identical content');
    assert.deepEqual(deliveredFiles(h41.outbox), [], 'nothing left in the outbox');
    assert.equal(fs.readdirSync(path.join(h41.outbox, 'sent')).length, 100, 'all 100 moved to sent/');
    return { h41, g22 };
  }

  it('delivers 100 packages with identical content, none left behind, none duplicated', async () => {
    await sendHundred(false);
  });

  it('loses nothing when the receiving connector is SIGKILLed halfway and restarted', async () => {
    await sendHundred(true);
  });

  it('reaches both recipients of a package addressed to two agencies, and each sender hears status 01', async () => {
    const h41 = prepareAgency(agencies.base(), uniqueOrganId('H41'));
    const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'));
    const g01 = prepareAgency(agencies.base(), uniqueOrganId('G01'));
    await start(g22);
    await start(g01);
    await start(h41);
    const bytes = makeEdoc({ from: h41.organId, to: [g22.organId, g01.organId], number: 7 });
    drop(h41.outbox, 'two-recipients.edxml', bytes);

    for (const dirs of [g22, g01]) {
      await waitFor(() => deliveredFiles(dirs.inbox).length === 1, 20_000, `delivery to ${dirs.organId}`);
      const [file] = deliveredFiles(dirs.inbox);
      assert.ok(fs.readFileSync(path.join(dirs.inbox, file!)).equals(bytes));
    }
    // Both recipients report status 01 (arrived) back into the sender's inbox.
    await waitFor(() => deliveredFiles(h41.inbox).filter((f) => f.includes('.status-01.')).length === 2, 20_000, 'two status 01 in the sender inbox');
    const statuses = deliveredFiles(h41.inbox).map((f) => fs.readFileSync(path.join(h41.inbox, f), 'utf8'));
    for (const organId of [g22.organId, g01.organId]) {
      assert.ok(statuses.some((s) => s.includes(`<edXML:OrganId>${organId}</edXML:OrganId>`) && s.includes('<edXML:StatusCode>01</edXML:StatusCode>')), `status 01 from ${organId}`);
    }
  });

  it('moves a corrupt file to rejected/ with its reason, and the others still cross', async () => {
    const h41 = prepareAgency(agencies.base(), uniqueOrganId('H41'));
    const g22 = prepareAgency(agencies.base(), uniqueOrganId('G22'));
    await start(g22);
    await start(h41);
    drop(h41.outbox, 'a-good-1.edxml', makeEdoc({ from: h41.organId, to: [g22.organId], number: 1 }));
    drop(h41.outbox, 'b-corrupt.edxml', Buffer.from('<edXML><edXMLEnvelope><unclosed>'));
    drop(h41.outbox, 'c-good-2.edxml', makeEdoc({ from: h41.organId, to: [g22.organId], number: 2 }));
    drop(h41.outbox, 'd-unknown-recipient.edxml', makeEdoc({ from: h41.organId, to: ['999.99.99.Z99'], number: 3 }));

    await waitFor(() => deliveredFiles(g22.inbox).length === 2, 20_000, 'the two good packages');
    await waitFor(() => fs.existsSync(path.join(h41.outbox, 'rejected', 'd-unknown-recipient.edxml.reason.json')), 10_000, 'the unknown recipient rejection');
    const corrupt = JSON.parse(fs.readFileSync(path.join(h41.outbox, 'rejected', 'b-corrupt.edxml.reason.json'), 'utf8'));
    assert.equal(corrupt.reason, 'malformed-xml');
    assert.ok(fs.existsSync(path.join(h41.outbox, 'rejected', 'b-corrupt.edxml')), 'the corrupt file itself is kept in rejected/');
    const unknown = JSON.parse(fs.readFileSync(path.join(h41.outbox, 'rejected', 'd-unknown-recipient.edxml.reason.json'), 'utf8'));
    assert.equal(unknown.reason, 'unknown-recipient');
    assert.match(unknown.detail, /999\.99\.99\.Z99/);
    assert.deepEqual(fs.readdirSync(path.join(h41.outbox, 'sent')).sort(), ['a-good-1.edxml', 'c-good-2.edxml']);
  });
});
