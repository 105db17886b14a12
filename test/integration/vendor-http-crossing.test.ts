/**
 * Issue 5's crossing: a document travels H41 (file drop, legacy CSV in TCVN3) → Kafka → G22
 * (HTTP JSON, delivered to a real node:http server standing in for G22's vendor system). G22's
 * vendor system then reports acceptance (03) through G22's HTTP ingest, signed per SPEC §12, and
 * that status arrives in H41's folder as TCVN3 CSV. Real connector processes, real Kafka.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AgencyProcess, prepareAgency, uniqueOrganId, waitFor } from '../support/agency';
import { VendorHttpServer, freePort, postToIngest } from '../support/vendor-systems';
import { decodeTcvn3, encodeTcvn3 } from '../../src/transform/encodings';
import { parseCsvRecord } from '../../src/transform/legacy-csv/text-record';

const HEADLINE = 'Trục liên thông văn bản quốc gia chính thức kết nối 95/95 bộ, ngành, địa phương';

describe('vendor crossing: H41 legacy CSV (TCVN3, file drop) → G22 JSON over HTTP, and the 03 status back', function () {
  this.timeout(60_000);
  let base: string;
  const running: AgencyProcess[] = [];
  const vendor = new VendorHttpServer();

  before(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-vendor-http-'));
  });

  after(async () => {
    await Promise.allSettled(running.map((a) => a.stop()));
    await vendor.stop();
  });

  it('delivers the document to G22 as JSON and brings G22 acceptance back to H41 as TCVN3 CSV', async () => {
    const h41 = uniqueOrganId('H41');
    const g22 = uniqueOrganId('G22');
    const vendorUrl = await vendor.start();
    const ingestPort = await freePort();
    const secretFile = path.join(base, 'g22-vendor.secret');
    fs.writeFileSync(secretFile, 'g22-vendor-shared-secret\n', { mode: 0o600 });
    const signing = { systemId: 'g22-vendor-system', secret: 'g22-vendor-shared-secret' };

    const g22Dirs = prepareAgency(base, g22, {
      connectors: [
        { name: 'vendor-ingest', type: 'http', direction: 'source', profile: 'json', options: { host: '127.0.0.1', port: ingestPort, allowPlainHttp: true, auth: { hmac: { clients: [{ systemId: signing.systemId, secretFile }] } } } },
        { name: 'vendor-rest', type: 'http', direction: 'sink', profile: 'json', options: { url: `${vendorUrl}/api/van-ban`, statusUrl: `${vendorUrl}/api/trang-thai`, timeoutMs: 5_000 } },
      ],
    });
    const csvOptions = { encoding: 'tcvn3', codeTables: { documentType: { CV: 1 }, priority: { THUONG: 0, KHAN: 1 } } };
    const h41Folder = (name: string) => path.join(base, h41, name);
    const h41Dirs = prepareAgency(base, h41, {
      connectors: [
        { name: 'outbox', type: 'file-drop', direction: 'source', profile: 'legacy-csv', profileOptions: csvOptions, options: { dir: h41Folder('outbox'), pollIntervalMs: 100 } },
        { name: 'inbox', type: 'file-drop', direction: 'sink', profile: 'legacy-csv', profileOptions: csvOptions, options: { dir: h41Folder('inbox') } },
      ],
    });
    running.push(await AgencyProcess.start(g22Dirs));
    running.push(await AgencyProcess.start(h41Dirs));

    // H41's legacy system puts the PDF in a folder named after the metadata file, then writes the
    // metadata in TCVN3 under a temporary name and renames it.
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(3000, 7)]);
    fs.mkdirSync(path.join(h41Dirs.outbox, 'cv42'));
    fs.writeFileSync(path.join(h41Dirs.outbox, 'cv42', 'cong-van-42.pdf'), pdf);
    const csv =
      'so,ky_hieu,ngay_ban_hanh,noi_nhan,loai_van_ban,ten_loai_van_ban,do_khan,chi_dao,trich_yeu,nguoi_ky,noi_ban_hanh,tep_dinh_kem\r\n' +
      `42,UBND-VP,23/11/2026,${g22},CV,Công văn,KHAN,0,"${HEADLINE}",Nguyễn Văn An,Nghệ An,cong-van-42.pdf\r\n`;
    fs.writeFileSync(path.join(h41Dirs.outbox, '.cv42.tmp'), encodeTcvn3(csv));
    fs.renameSync(path.join(h41Dirs.outbox, '.cv42.tmp'), path.join(h41Dirs.outbox, 'cv42.csv'));

    await waitFor(() => vendor.received.some((r) => r.path === '/api/van-ban'), 30_000, 'G22 vendor to receive the document');
    const delivery = vendor.received.find((r) => r.path === '/api/van-ban')!;
    const doc = JSON.parse(delivery.body.toString('utf8')) as Record<string, unknown>;
    assert.equal(doc.subject, HEADLINE, 'TCVN3 text arrives as Unicode NFC');
    assert.equal((doc.from as Record<string, unknown>).organId, h41);
    assert.deepEqual(doc.to, [g22]);
    assert.equal(doc.number, '42');
    assert.equal(doc.notation, 'UBND-VP');
    assert.equal(doc.promulgationDate, '2026-11-23');
    assert.equal(doc.priority, 1);
    assert.equal((doc.signer as Record<string, unknown>).fullName, 'Nguyễn Văn An');
    assert.match(String(delivery.headers['idempotency-key']), /^[0-9a-f]{24}-[0-9a-f]{40}$/);
    const attachments = doc.attachments as Array<{ name: string; base64: string }>;
    assert.deepEqual(attachments.map((a) => a.name), ['cong-van-42.pdf'], 'the PDF from the folder travels with the metadata');
    assert.ok(Buffer.from(attachments[0]!.base64, 'base64').equals(pdf), 'byte for byte');
    await waitFor(() => fs.existsSync(path.join(h41Dirs.outbox, 'sent', 'cv42.csv')), 10_000, 'the CSV to move to sent/');
    assert.deepEqual(fs.readdirSync(path.join(h41Dirs.outbox, 'sent', 'cv42')), ['cong-van-42.pdf'], 'its folder moved along');

    // An unsigned or wrongly signed report is refused with 401 and goes nowhere.
    const status = Buffer.from(
      JSON.stringify({ status: '03', description: 'Đã tiếp nhận, vào sổ văn bản đến', timestamp: '2026-11-23T10:15:00', staff: { department: 'Văn thư', name: 'Trần Thị Bình' }, responseFor: { organId: h41, documentId: doc.documentId } }),
    );
    const ingest = `http://127.0.0.1:${ingestPort}/documents`;
    assert.equal((await postToIngest(ingest, status, 'application/json')).status, 401);
    assert.equal((await postToIngest(ingest, status, 'application/json', { ...signing, secret: 'wrong' })).status, 401);

    const answer = await postToIngest(ingest, status, 'application/json', signing);
    assert.equal(answer.status, 202, JSON.stringify(answer.json));

    const statusFile = () => fs.readdirSync(h41Dirs.inbox).find((f) => f.includes('.status-03.') && f.endsWith('.csv'));
    await waitFor(() => statusFile() !== undefined, 30_000, 'the 03 status in H41 inbox');
    const bytes = fs.readFileSync(path.join(h41Dirs.inbox, statusFile()!));
    assert.ok(!bytes.toString('latin1').includes('Đ'), 'written in TCVN3, not UTF-8');
    const row = parseCsvRecord(decodeTcvn3(bytes), ',');
    assert.equal(row.trang_thai, '03');
    assert.equal(row.mo_ta, 'Đã tiếp nhận, vào sổ văn bản đến');
    assert.equal(row.thoi_gian, '23/11/2026 10:15:00');
    assert.equal(row.don_vi_goc, h41);
    assert.equal(row.ma_van_ban_goc, doc.documentId);
    assert.equal(row.don_vi_gui, g22);
    // G22's connector itself reported 01 (arrived) once the vendor held the document.
    // It travels on its own (its 03 may come first), so wait for it rather than expect it already.
    await waitFor(() => fs.readdirSync(h41Dirs.inbox).some((f) => f.includes('.status-01.')), 30_000, 'the 01 status in H41 inbox');
  });
});
