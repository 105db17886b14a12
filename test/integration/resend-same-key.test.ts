/**
 * Issue 16 point 1 (DESIGN.md §4 rule 2): a vendor that sends the same document again — after a
 * 503, a lost answer, a file put back into the outbox — must not create a second document. Every
 * shipped profile (edxml, flat-xml, json, legacy-csv) over every transport (file drop, HTTP, AMQP)
 * turns the same input into the same package, byte for byte, so the receiving legacy system gets
 * the same Idempotency-Key both times. The same holds for a status. Real Kafka, real RabbitMQ, real
 * connector processes; the sender signs (RSA-SHA256 is deterministic) and the receiver verifies.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as amqp from 'amqplib';
import { dropPackage, prepareAgency, uniqueOrganId, useAgencyProcesses, waitFor, type AgencyDirs } from '../support/agency';
import { VendorHttpServer, freePort, postToIngest, type ReceivedRequest } from '../support/vendor-systems';
import { amqpConnectionOptions, openVendorChannel } from '../support/vendor-amqp';
import { makeTestPki, type TestPki } from '../support/pki';
import { writeEdoc } from '../../src/edxml/writer';
import { encodeTcvn3 } from '../../src/transform/encodings';

const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(4096, 0x2a)]);
const SUBJECT = 'Về việc gửi lại văn bản: cùng một văn bản, cùng một khoá';

describe('a resent input gives the same idempotency key downstream, for every profile and transport', function () {
  this.timeout(180_000);
  const agencies = useAgencyProcesses('vdxp-resend');
  let pki: TestPki;
  let vendor: { connection: amqp.ChannelModel; channel: amqp.ConfirmChannel };
  const queue = `vdxp-resend-${process.pid}-${Date.now()}`;
  const receiverSystem = new VendorHttpServer();
  const senderSystem = new VendorHttpServer();

  before(async () => {
    pki = await makeTestPki();
    vendor = await openVendorChannel();
    await vendor.channel.assertQueue(queue, { durable: false });
  });
  after(async () => {
    await vendor.channel.deleteQueue(queue).catch(() => undefined);
    await vendor.connection.close().catch(() => undefined);
    await receiverSystem.stop();
    await senderSystem.stop();
  });

  it('sends each input twice and sees two deliveries under one key, per profile and transport', async () => {
    const base = agencies.base();
    const sender = uniqueOrganId('H41');
    const receiver = uniqueOrganId('G22');
    const receiverUrl = await receiverSystem.start();
    const senderUrl = await senderSystem.start();
    const [senderIngest, receiverIngest] = [await freePort(), await freePort()];
    const secretFile = path.join(base, 'ingest.secret');
    fs.writeFileSync(secretFile, 'resend-test-secret\n', { mode: 0o600 });
    const client = { systemId: 'qlvb', secret: 'resend-test-secret' };
    const hmacIngest = (port: number) => ({ host: '127.0.0.1', port, allowPlainHttp: true, auth: { hmac: { clients: [{ systemId: client.systemId, secretFile }] } } });
    const folder = (organId: string, name: string) => path.join(base, organId, name);
    const trust = {
      anchors: [pki.rootCaPath],
      crls: [pki.crlPath],
      organBindings: { [sender]: [pki.h41.fingerprint], [receiver]: [pki.g22.fingerprint] },
    };

    const senderDirs = prepareAgency(base, sender, {
      signing: { keyFile: pki.h41.keyPath, certFile: pki.h41.certPath },
      trust,
      connectors: [
        { name: 'drop-edxml', type: 'file-drop', direction: 'source', profile: 'edxml', options: { dir: folder(sender, 'drop-edxml'), pollIntervalMs: 100 } },
        { name: 'drop-flat-xml', type: 'file-drop', direction: 'source', profile: 'flat-xml', options: { dir: folder(sender, 'drop-flat-xml'), pollIntervalMs: 100 } },
        { name: 'drop-csv', type: 'file-drop', direction: 'source', profile: 'legacy-csv', profileOptions: { encoding: 'tcvn3' }, options: { dir: folder(sender, 'drop-csv'), pollIntervalMs: 100 } },
        { name: 'ingest-json', type: 'http', direction: 'source', profile: 'json', options: hmacIngest(senderIngest) },
        { name: 'queue-json', type: 'amqp', direction: 'source', profile: 'json', options: { ...amqpConnectionOptions(base), queue, retryDelayMs: 500 } },
        { name: 'vendor-rest', type: 'http', direction: 'sink', profile: 'json', options: { url: `${senderUrl}/docs`, statusUrl: `${senderUrl}/statuses` } },
      ],
    });
    const receiverDirs = prepareAgency(base, receiver, {
      signing: { keyFile: pki.g22.keyPath, certFile: pki.g22.certPath },
      trust,
      connectors: [
        { name: 'ingest-json', type: 'http', direction: 'source', profile: 'json', options: hmacIngest(receiverIngest) },
        { name: 'vendor-rest', type: 'http', direction: 'sink', profile: 'edxml', options: { url: `${receiverUrl}/docs`, statusUrl: `${receiverUrl}/statuses` } },
      ],
    });
    await agencies.start(receiverDirs);
    await agencies.start(senderDirs);

    const inputs = documentInputs(sender, receiver);
    const deliveriesOf = (documentId: string) => receiverSystem.received.filter((r) => r.path === '/docs' && documentIdOf(r) === documentId);
    for (let round = 1; round <= 2; round++) {
      for (const input of inputs) await input.send(senderDirs, { url: `http://127.0.0.1:${senderIngest}/documents`, client }, vendor.channel, queue);
      for (const input of inputs) {
        await waitFor(() => deliveriesOf(input.documentId).length >= round, 60_000, () => `${input.label}: delivery ${round} (log: ${senderDirs.logPath})`);
      }
    }

    for (const input of inputs) {
      const [first, second] = deliveriesOf(input.documentId);
      assert.ok(first && second, `${input.label}: delivered twice`);
      assert.equal(second.headers['idempotency-key'], first.headers['idempotency-key'], `${input.label}: the same key both times`);
      assert.ok(first.body.equals(second.body), `${input.label}: the same package, byte for byte`);
      assert.match(first.body.toString('utf8'), /<Signature xmlns="http:\/\/www\.w3\.org\/2000\/09\/xmldsig#"/, `${input.label}: signed by the sender`);
    }
    const keys = new Set(inputs.map((i) => deliveriesOf(i.documentId)[0]!.headers['idempotency-key']));
    assert.equal(keys.size, inputs.length, 'different documents, different keys');

    // A status from the receiver's vendor, posted twice: the sender's system gets it twice under one key.
    const documentId = inputs[0]!.documentId;
    const status = Buffer.from(JSON.stringify({ status: '03', description: 'Đã tiếp nhận', timestamp: '2026-11-23T10:15:00', responseFor: { organId: sender, documentId } }));
    const accepted03 = () => senderSystem.received.filter((r) => r.path === '/statuses' && r.headers['x-vdxp-status-code'] === '03');
    for (let round = 1; round <= 2; round++) {
      const answer = await postToIngest(`http://127.0.0.1:${receiverIngest}/documents`, status, 'application/json', client);
      assert.equal(answer.status, 202, JSON.stringify(answer.json));
      await waitFor(() => accepted03().length >= round, 60_000, `status 03 delivery ${round}`);
    }
    const [s1, s2] = accepted03();
    assert.equal(s2!.headers['idempotency-key'], s1!.headers['idempotency-key']);
  });
});

function documentIdOf(r: ReceivedRequest): string {
  return decodeURIComponent(String(r.headers['x-vdxp-document-id'] ?? ''));
}

interface Input {
  label: string;
  documentId: string;
  send(dirs: AgencyDirs, ingest: { url: string; client: { systemId: string; secret: string } }, channel: amqp.ConfirmChannel, queue: string): Promise<void>;
}

/** One input per profile and transport, each a complete document with a PDF attached. */
function documentInputs(sender: string, receiver: string): Input[] {
  const idOf = (number: string, notation: string) => `${sender},2026/11/23,${number}/${notation}`;
  const dirOf = (dirs: AgencyDirs, name: string) => path.join(dirs.root, name);
  const withPdf = (dir: string, stem: string) => {
    fs.mkdirSync(path.join(dir, stem), { recursive: true });
    fs.writeFileSync(path.join(dir, stem, 'cong-van.pdf'), PDF);
  };
  const json = (number: string) => ({
    from: { organId: sender },
    to: [receiver],
    number,
    notation: 'UBND-VP',
    promulgationDate: '2026-11-23',
    documentType: 1,
    documentTypeName: 'Công văn',
    subject: SUBJECT,
    priority: 0,
    steeringType: 0,
    attachments: [{ name: 'cong-van.pdf', contentType: 'application/pdf', base64: PDF.toString('base64') }],
  });
  const edxml = writeEdoc({
    header: {
      from: { organId: sender },
      to: [{ organId: receiver }],
      code: { codeNumber: '1', codeNotation: 'UBND-VP' },
      promulgationInfo: { promulgationDate: '2026-11-23' },
      documentType: { type: 1, typeName: 'Công văn' },
      subject: SUBJECT,
      otherInfo: { priority: 0, appendixes: [] },
      responseFor: [],
      steeringType: 0,
      toPlaces: [],
    },
    attachments: [{ attachmentName: 'cong-van.pdf', contentType: 'application/pdf', data: PDF }],
  });
  return [
    {
      label: 'edxml over file drop',
      documentId: idOf('1', 'UBND-VP'),
      send: async (dirs) => dropPackage(dirOf(dirs, 'drop-edxml'), 'cv1.edxml', edxml),
    },
    {
      label: 'flat-xml over file drop',
      documentId: idOf('2', 'UBND-VP'),
      send: async (dirs) => {
        const dir = dirOf(dirs, 'drop-flat-xml');
        withPdf(dir, 'cv2');
        const xml =
          '<?xml version="1.0" encoding="UTF-8"?>\n<VanBan><SoVanBan>2</SoVanBan><KyHieu>UBND-VP</KyHieu><NgayBanHanh>23/11/2026</NgayBanHanh>' +
          `<DonViGui><Ma>${sender}</Ma></DonViGui><NoiNhan><DonVi><Ma>${receiver}</Ma></DonVi></NoiNhan><LoaiVanBan>1</LoaiVanBan>` +
          `<TenLoaiVanBan>Công văn</TenLoaiVanBan><TrichYeu>${SUBJECT}</TrichYeu><DoKhan>0</DoKhan><ChiDao>0</ChiDao>` +
          '<TepDinhKem><Tep><TenTep>cong-van.pdf</TenTep><KieuTep>application/pdf</KieuTep></Tep></TepDinhKem></VanBan>\n';
        dropPackage(dir, 'cv2.xml', Buffer.from(xml));
      },
    },
    {
      label: 'legacy-csv (TCVN3) over file drop',
      documentId: idOf('3', 'UBND-VP'),
      send: async (dirs) => {
        const dir = dirOf(dirs, 'drop-csv');
        withPdf(dir, 'cv3');
        const csv =
          'so,ky_hieu,ngay_ban_hanh,noi_nhan,loai_van_ban,ten_loai_van_ban,do_khan,chi_dao,trich_yeu,tep_dinh_kem\r\n' +
          `3,UBND-VP,23/11/2026,${receiver},1,Công văn,0,0,"${SUBJECT}",cong-van.pdf\r\n`;
        dropPackage(dir, 'cv3.csv', encodeTcvn3(csv));
      },
    },
    {
      label: 'json over HTTP',
      documentId: idOf('4', 'UBND-VP'),
      send: async (_dirs, ingest) => {
        const answer = await postToIngest(ingest.url, Buffer.from(JSON.stringify(json('4'))), 'application/json', ingest.client);
        assert.equal(answer.status, 202, JSON.stringify(answer.json));
      },
    },
    {
      label: 'json over AMQP',
      documentId: idOf('5', 'UBND-VP'),
      send: (_dirs, _ingest, channel, queue) =>
        new Promise<void>((resolve, reject) =>
          channel.sendToQueue(queue, Buffer.from(JSON.stringify(json('5'))), { persistent: true, contentType: 'application/json' }, (err: unknown) => (err ? reject(err as Error) : resolve())),
        ),
    },
  ];
}
