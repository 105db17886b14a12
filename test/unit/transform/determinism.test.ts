/**
 * Issue 16 point 1: a conversion is a pure function of its input. The same vendor message gives
 * the same package byte for byte (ContentIds derived from the attachments, no clock), so a resent
 * document carries the same content hash and idempotency key. The end-to-end proof, through every
 * transport and real Kafka, is test/integration/resend-same-key.test.ts.
 */
import { strict as assert } from 'node:assert';
import { profileByName } from '../../../src/transform';
import { readPackage } from '../../../src/edxml/reader';
import { writeEdoc } from '../../../src/edxml/writer';
import type { EdocPackage } from '../../../src/edxml/model';
import { isRejection } from '../../../src/errors';
import { makeEdoc } from '../../support/packages';
import { parseCsvRecord, printCsvRecord } from '../../../src/transform/legacy-csv/text-record';

const CTX = { ownOrganId: '000.00.00.H41', options: {} };

describe('conversion is deterministic (issue 16 point 1)', () => {
  for (const name of ['flat-xml', 'json', 'legacy-csv']) {
    it(`${name}: the same vendor message twice gives the same package, byte for byte`, () => {
      const profile = profileByName(name);
      const edoc = makeEdoc({ from: '000.00.00.H41', to: ['000.00.00.G22'], number: 7 });
      const vendor = profile.fromEdxml(edoc, CTX);
      // Two attachments with the same bytes still get distinct ContentIds.
      vendor.sideFiles.push({ name: 'phu-luc.pdf', bytes: vendor.sideFiles[0]?.bytes ?? Buffer.from('%PDF-1.4') });
      const message = name === 'json' ? withSecondAttachment(vendor) : withSideFileListed(name, vendor);
      const first = profile.toEdxml(message, CTX);
      const copy = { ...message, body: Buffer.from(message.body), sideFiles: message.sideFiles.map((f) => ({ ...f, bytes: Buffer.from(f.bytes) })) };
      const second = profile.toEdxml(copy, CTX);
      assert.ok(first.equals(second), 'identical bytes');
      const ids = (readPackage(first) as EdocPackage).attachments.map((a) => a.contentId);
      assert.equal(ids.length, 2);
      assert.equal(new Set(ids).size, 2, `distinct ContentIds: ${ids.join(', ')}`);
    });
  }

  it('the writer derives a missing ContentId from the attachment, not from chance', () => {
    const model = readPackage(makeEdoc({ from: '000.00.00.H41', to: ['000.00.00.G22'], number: 8 })) as EdocPackage;
    const data = Buffer.from('%PDF-1.4 same bytes');
    const write = () => writeEdoc({ header: model.header, attachments: [{ attachmentName: 'a.pdf', data }] });
    assert.ok(write().equals(write()));
  });

  it('a status without a time is refused: the connector does not stamp it with its clock', () => {
    const body = Buffer.from(JSON.stringify({ status: '03', description: 'Đã tiếp nhận', responseFor: { organId: '000.00.00.G22', documentId: 'x' } }));
    assert.throws(
      () => profileByName('json').toEdxml({ body, fileName: 's.json', contentType: 'application/json', sideFiles: [] }, CTX),
      (err: unknown) => isRejection(err) && err.reason === 'mapping-failed' && /field status\.timestamp \(vendor path timestamp\), rule required/.test(err.detail),
    );
  });
});

function withSecondAttachment(message: ReturnType<ReturnType<typeof profileByName>['fromEdxml']>) {
  const record = JSON.parse(message.body.toString('utf8')) as { attachments: Array<Record<string, unknown>> };
  record.attachments.push({ ...record.attachments[0]!, name: 'phu-luc.pdf' });
  return { ...message, body: Buffer.from(JSON.stringify(record)) };
}

function withSideFileListed(profile: string, message: ReturnType<ReturnType<typeof profileByName>['fromEdxml']>) {
  const text = message.body.toString('latin1');
  if (profile === 'flat-xml') {
    return { ...message, body: Buffer.from(text.replace('</TepDinhKem>', '<Tep><TenTep>phu-luc.pdf</TenTep></Tep></TepDinhKem>'), 'latin1') };
  }
  const record = parseCsvRecord(text, ',') as Record<string, string>;
  record.tep_dinh_kem = `${record.tep_dinh_kem};phu-luc.pdf`;
  return { ...message, body: Buffer.from(printCsvRecord(record, ','), 'latin1') };
}
