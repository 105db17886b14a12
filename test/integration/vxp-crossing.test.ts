/**
 * Two agencies whose legacy systems use the real VXP SDK (2.0.0 and 2.0.1), each pointed at its
 * own connector, on real Kafka: A sends with sendEdoc, B's receive loop fetches and confirms, B's
 * status 03 comes back through A's receive loop; recall, update and replace cross the same way.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildStatus } from '../../src/edxml/writer';
import { makeEdoc } from '../support/packages';
import { AgencyProcess, uniqueOrganId, useAgencyProcesses, waitFor } from '../support/agency';
import { prepareVxpAgency, sdkFor, type VxpAgency } from '../support/vxp-agency';
import { SDK_VERSIONS, type SdkReceiveLoop, type VxpSdkClient } from '../support/vxp-sdk';
import { SAMPLES_DIR } from '../support/paths';

async function waitForList(sdk: VxpSdkClient, kind: 'edoc' | 'status', n: number, timeoutMs = 30_000): Promise<void> {
  let seen = 0;
  await waitFor(
    async () => {
      seen = (await sdk.getReceivedEdocList(kind)).knobsticks?.length ?? 0;
      return seen >= n;
    },
    timeoutMs,
    () => `${n} ${kind} in the list (saw ${seen})`,
  );
}

function savedFiles(loop: SdkReceiveLoop): Buffer[] {
  return loop.items.map((i) => fs.readFileSync(i.getEdoc!.filePath!));
}

for (const version of SDK_VERSIONS) {
  describe(`VXP SDK ${version} through two connectors on Kafka`, function () {
    this.timeout(180_000);
    const agencies = useAgencyProcesses('vxp-crossing');
    const clients: VxpSdkClient[] = [];
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.close()));
    });

    async function pair(): Promise<{ a: VxpAgency; b: VxpAgency; sdkA: VxpSdkClient; sdkB: VxpSdkClient; procs: AgencyProcess[] }> {
      const a = prepareVxpAgency(agencies.base(), uniqueOrganId('A01'));
      const b = prepareVxpAgency(agencies.base(), uniqueOrganId('B01'), { vxp: { directory: { parentOrganId: a.organId, mail: 'vanthu@b.gov.vn' } } });
      const procs = await Promise.all([agencies.start(a), agencies.start(b)]);
      const sdkA = sdkFor(a, version);
      const sdkB = sdkFor(b, version);
      clients.push(sdkA, sdkB);
      return { a, b, sdkA, sdkB, procs };
    }

    it('A sends, B\'s receive loop fetches and confirms, B\'s 03 returns to A; byte-identical, statuses both ways', async () => {
      const { a, b, sdkA, sdkB } = await pair();
      const edoc = makeEdoc({ from: a.organId, to: [b.organId], number: 101, subject: 'Công văn qua SDK VXP' });
      const file = path.join(a.root, 'cong-van-101.edxml');
      fs.writeFileSync(file, edoc);
      const sent = await sdkA.sendEdoc(file, a.organId, 'edoc');
      assert.equal(sent.status, 'OK', JSON.stringify(sent));
      assert.equal(sent.errorCode, '0');
      assert.ok(sent.docID && sent.docID.length > 0);

      await waitForList(sdkB, 'edoc', 1);
      assert.equal((await sdkB.countReceiveEdoc().catch(() => ({ count: 1 }))).count, 1);
      const received = await sdkB.receiveLoop('edoc', path.join(b.root, 'received'), 'done');
      assert.equal(received.items.length, 1);
      const [item] = received.items;
      assert.equal(item!.getEdoc?.status, 'OK');
      assert.equal(item!.update?.status, 'OK', JSON.stringify(item!.update));
      assert.ok(savedFiles(received)[0]!.equals(edoc), 'B\'s legacy system holds the very bytes A sent');
      const listed = received.list!.knobsticks![0]!;
      assert.equal(listed.from, a.organId);
      assert.equal(listed.messageType, 'edoc');
      // Confirmed: never listed again.
      assert.equal((await sdkB.getReceivedEdocList('edoc')).knobsticks?.length ?? 0, 0);

      // B's legacy system accepts the document: status 03 through sendEdoc.
      const documentId = `${a.organId},2026/11/23,101/UBND-VP`;
      const status03 = buildStatus({ from: { organId: b.organId, organName: `Cơ quan ${b.organId}` }, responseFor: { organId: a.organId, code: '101/UBND-VP', promulgationDate: '2026-11-23' as never, documentId }, statusCode: '03', description: 'Đã tiếp nhận', timestamp: new Date() });
      const statusFile = path.join(b.root, 'status-03.edxml');
      fs.writeFileSync(statusFile, status03);
      await sdkB.renew(); // a fresh SDK object, as the legacy system's send cycle makes
      const statusSent = await sdkB.sendEdoc(statusFile, b.organId, 'status');
      assert.equal(statusSent.status, 'OK', JSON.stringify(statusSent));

      // A's receive loop for statuses: 01 from B's connector, then B's own 03, byte for byte.
      await waitForList(sdkA, 'status', 2);
      const statuses = await sdkA.receiveLoop('status', path.join(a.root, 'statuses'), 'done');
      const bodies = savedFiles(statuses).map((x) => x.toString('utf8'));
      assert.ok(bodies.some((s) => /<edXML:StatusCode>01<\/edXML:StatusCode>/.test(s)), 'status 01 from B\'s connector');
      assert.ok(savedFiles(statuses).some((x) => x.equals(status03)), 'B\'s 03 arrives byte-identical');
      for (const i of statuses.items) assert.equal(i.update?.status, 'OK');
      assert.equal((await sdkA.getReceivedEdocList('status')).knobsticks?.length ?? 0, 0);

      // getSentEdocList: what A sent and what came back.
      await waitFor(
        async () => ((await sdkA.getSentEdocList('edoc')).statusResult ?? []).some((r) => r.toCode === b.organId && r.receiveStatus === '03'),
        20_000,
        'A\'s sent list to show B\'s 03',
      );

      // The directory: both agencies, B under A.
      const agenciesList = await sdkA.getAgenciesList();
      const bEntry = agenciesList.agencies?.find((x) => x.code === b.organId);
      assert.equal(bEntry?.pid, a.organId);
      assert.equal(bEntry?.name, `Test agency ${b.organId}`);
      assert.ok(agenciesList.agencies?.some((x) => x.code === a.organId));
      const units = await sdkA.getSynchronizeUnit();
      assert.ok(units.unitSynchronize?.some((u) => u.code === b.organId));
    });

    it('a recall, an update and a replacement (BussinessDocType 1–3) cross the same way', async () => {
      const { a, b, sdkA, sdkB } = await pair();
      const samples = ['vxp-sdk-example__edoc_revocation.edxml', 'vxp-sdk-example__edoc_update.edxml', 'vxp-sdk-example__edoc_replacement.edxml'];
      const sent: Buffer[] = [];
      for (const [i, name] of samples.entries()) {
        // The field's sample, readdressed from A to B.
        const text = fs.readFileSync(path.join(SAMPLES_DIR, name), 'utf8');
        const bytes = Buffer.from(readdress(text, a.organId, b.organId, i));
        const file = path.join(a.root, name);
        fs.writeFileSync(file, bytes);
        await sdkA.renew();
        const r = await sdkA.sendEdoc(file, a.organId, 'edoc');
        assert.equal(r.status, 'OK', `${name}: ${JSON.stringify(r)}`);
        sent.push(bytes);
      }
      await waitForList(sdkB, 'edoc', 3);
      const loop = await sdkB.receiveLoop('edoc', path.join(b.root, 'received'), 'done');
      const got = savedFiles(loop);
      for (const [i, bytes] of sent.entries()) assert.ok(got.some((g) => g.equals(bytes)), `${samples[i]} arrives byte-identical`);
      for (const [i, bytes] of sent.entries()) assert.match(bytes.toString('utf8'), new RegExp(`<edXML:BussinessDocType>${i + 1}</edXML:BussinessDocType>`));
    });
  });
}

/** Puts A as the sender and B as the only recipient of a field sample; gives it its own DocumentId. */
function readdress(text: string, from: string, to: string, n: number): string {
  let out = text.replace(/(<edXML:From>[\s\S]*?<edXML:OrganId>)[^<]*(<\/edXML:OrganId>)/, `$1${from}$2`);
  out = out.replace(/<edXML:To>[\s\S]*<\/edXML:To>/, `<edXML:To><edXML:OrganId>${to}</edXML:OrganId><edXML:OrganName>B</edXML:OrganName></edXML:To>`);
  out = out.replace(/<edXML:DocumentId>[^<]*<\/edXML:DocumentId>/, `<edXML:DocumentId>${from},2026/11/23,${700 + n}/UBND-VP</edXML:DocumentId>`);
  return out;
}
