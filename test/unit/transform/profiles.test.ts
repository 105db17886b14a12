import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { checkProfileOptions, profileByName, PROFILE_NAMES } from '../../../src/transform';
import { referencePackages, roundTrip } from '../../../src/transform/mapping';
import { readPackage } from '../../../src/edxml/reader';
import type { EdocPackage, StatusPackage } from '../../../src/edxml/model';
import { attachmentSource } from '../../../src/edxml/attachments';
import { encodeText, decodeText } from '../../../src/transform/encodings';
import { sampleFiles } from '../../support/paths';
import { makeEdoc } from '../../support/packages';

const CTX = { ownOrganId: '000.00.00.G22', options: {} };
const MAPPED = ['flat-xml', 'json', 'legacy-csv'];
/** A CSV row lists attachments by file name only: their description and content type have no column. */
const INHERENT: Record<string, RegExp> = { 'legacy-csv': /^attachments\[\d+\]\.(description|contentType)$/ };
const inherent = (name: string, path: string) => INHERENT[name]?.test(path) ?? false;

function attachmentBytes(pkg: EdocPackage, i: number): Buffer {
  const src = attachmentSource(pkg.attachments[i]!);
  return src.decodeRange(0, src.size);
}

describe('format profiles', () => {
  it('ships edxml, flat-xml, json and legacy-csv by name', () => {
    assert.deepEqual([...PROFILE_NAMES].sort(), ['edxml', 'flat-xml', 'json', 'legacy-csv']);
  });

  for (const name of MAPPED) {
    it(`${name}: the reference document and every status code survive edXML → vendor → edXML intact`, () => {
      for (const p of referencePackages()) {
        const result = roundTrip(p.name, p.bytes, profileByName(name), {}, CTX.ownOrganId);
        assert.equal(result.failure, undefined, `${p.name}: ${result.failure}`);
        assert.deepEqual(result.differences.filter((d) => !inherent(name, d.path)), [], p.name);
      }
    });

    it(`${name}: every field sample converts both ways without failing`, () => {
      for (const file of sampleFiles()) {
        const result = roundTrip(file, fs.readFileSync(file), profileByName(name), {}, CTX.ownOrganId);
        assert.equal(result.failure, undefined, `${file}: ${result.failure}`);
        // Content the profile carries never changes (only elements it has no place for may be lost).
        for (const d of result.differences) {
          if (d.change === 'altered' && !inherent(name, d.path)) assert.equal(String(d.before).normalize('NFC'), String(d.after).normalize('NFC'), `${file} ${d.path}`);
        }
      }
    });
  }

  it('edxml passes packages through byte for byte', () => {
    const edoc = makeEdoc({ from: '000.00.00.H41', to: ['000.00.00.G22'], number: 5 });
    const profile = profileByName('edxml');
    const out = profile.fromEdxml(edoc, CTX);
    assert.equal(out.body, edoc);
    assert.equal(profile.toEdxml(out, CTX), edoc);
  });

  it('flat-xml: dd/MM/yyyy dates, its own element names, attachments as files beside the export', () => {
    const edoc = makeEdoc({ from: '000.00.00.H41', to: ['000.00.00.G22'], number: 12 });
    const out = profileByName('flat-xml').fromEdxml(edoc, CTX);
    const xml = out.body.toString('utf8');
    assert.match(xml, /<NgayBanHanh>23\/11\/2026<\/NgayBanHanh>/);
    assert.match(xml, /<TepDinhKem>\s*<Tep>\s*<TenTep>cong-van-12\.pdf<\/TenTep>/);
    assert.deepEqual(out.sideFiles.map((f) => f.name), ['cong-van-12.pdf']);
    assert.deepEqual(out.sideFiles[0]!.bytes, attachmentBytes(readPackage(edoc) as EdocPackage, 0));
    // Without the file beside it, the export cannot be taken in.
    assert.throws(() => profileByName('flat-xml').toEdxml({ ...out, sideFiles: [] }, { ownOrganId: '000.00.00.H41', options: {} }), /attachmentsPath.*cong-van-12\.pdf/);
  });

  it('flat-xml: a vendor export with renamed elements maps through profileOptions.fields', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<HoSo><So>7</So><KH>UBND-VP</KH><Ngay>2026-11-20</Ngay><Gui>VP</Gui><Den><DV><MaDV>000.00.00.G22</MaDV></DV></Den><TY>Về việc kiểm tra</TY></HoSo>`;
    const options = {
      fields: { 'code.number': 'So', 'code.notation': 'KH', 'promulgation.date': { path: 'Ngay', format: 'yyyy-MM-dd' }, 'from.organId': 'Gui', to: { path: 'Den.DV', item: { id: 'MaDV' } }, subject: 'TY' },
      organIds: { VP: '000.00.00.H41' },
    };
    const pkg = readPackage(profileByName('flat-xml').toEdxml({ body: Buffer.from(xml), fileName: 'a.xml', contentType: 'application/xml', sideFiles: [] }, { ownOrganId: '000.00.00.H41', options })) as EdocPackage;
    assert.equal(pkg.from.organId, '000.00.00.H41');
    assert.deepEqual(pkg.to.map((t) => t.organId), ['000.00.00.G22']);
    assert.equal(pkg.header.subject, 'Về việc kiểm tra');
    assert.equal(pkg.header.promulgationInfo?.promulgationDate, '2026-11-20');
    assert.equal(pkg.documentId, '000.00.00.H41,2026/11/20,7/UBND-VP');
  });

  it('json: attachments as base64 inside, or as multipart parts beside', () => {
    const edoc = makeEdoc({ from: '000.00.00.H41', to: ['000.00.00.G22'], number: 3 });
    const inline = profileByName('json').fromEdxml(edoc, CTX);
    const doc = JSON.parse(inline.body.toString('utf8'));
    assert.equal(inline.sideFiles.length, 0);
    assert.deepEqual(Buffer.from(doc.attachments[0].base64, 'base64'), attachmentBytes(readPackage(edoc) as EdocPackage, 0));

    const multipart = profileByName('json').fromEdxml(edoc, { ...CTX, options: { attachments: 'multipart' } });
    const mdoc = JSON.parse(multipart.body.toString('utf8'));
    assert.equal(mdoc.attachments[0].base64, undefined);
    assert.equal(mdoc.attachments[0].file, 'cong-van-3.pdf');
    const back = readPackage(profileByName('json').toEdxml(multipart, { ownOrganId: '000.00.00.H41', options: { attachments: 'multipart' } })) as EdocPackage;
    assert.deepEqual(attachmentBytes(back, 0), multipart.sideFiles[0]!.bytes);
  });

  it('json: a status from the vendor becomes an edXML status answering the original document', () => {
    const body = Buffer.from(JSON.stringify({ status: '04', description: 'Đã phân công', timestamp: '2026-11-23T09:00:00', staff: { name: 'Lê Văn Cường' }, responseFor: { organId: '000.00.00.H41', documentId: '000.00.00.H41,2026/11/23,5/UBND-VP' } }));
    const pkg = readPackage(profileByName('json').toEdxml({ body, fileName: 's.json', contentType: 'application/json', sideFiles: [] }, CTX)) as StatusPackage;
    assert.equal(pkg.kind, 'status');
    assert.equal(pkg.statusCode, '04');
    assert.equal(pkg.from.organId, '000.00.00.G22');
    assert.equal(pkg.responseFor.organId, '000.00.00.H41');
    assert.equal(pkg.timestamp, '2026-11-23T09:00:00');
  });

  it('legacy-csv: key=value metadata in VNI with its PDF, in and out', () => {
    const kv = ['so=9', 'ky_hieu=SNV-TCBC', 'ngay_ban_hanh=20/11/2026', 'noi_nhan=000.00.00.G22', 'trich_yeu=Cộng hòa xã hội chủ nghĩa Việt Nam', 'tep_dinh_kem=vb9.pdf'].join('\r\n');
    const pdf = Buffer.from('%PDF-1.4\n...');
    const options = { layout: 'keyvalue', encoding: 'auto', outputEncoding: 'vni' };
    const edxml = profileByName('legacy-csv').toEdxml({ body: encodeText(kv, 'vni'), fileName: 'vb9.txt', contentType: 'text/plain', sideFiles: [{ name: 'vb9.pdf', bytes: pdf }] }, { ownOrganId: '000.00.00.H41', options });
    const pkg = readPackage(edxml) as EdocPackage;
    assert.equal(pkg.header.subject, 'Cộng hòa xã hội chủ nghĩa Việt Nam');
    assert.deepEqual(attachmentBytes(pkg, 0), pdf);
    const out = profileByName('legacy-csv').fromEdxml(edxml, { ownOrganId: '000.00.00.G22', options });
    assert.ok(out.body.includes(Buffer.from('Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam', 'latin1')), 'written in VNI');
    assert.match(decodeText(out.body, 'vni'), /trich_yeu=Cộng hòa xã hội chủ nghĩa Việt Nam/);
    assert.deepEqual(out.sideFiles, [{ name: 'vb9.pdf', bytes: pdf }]);
  });

  it('legacy-csv: a mapping error names the field, rule and input', () => {
    const csv = 'so,ngay_ban_hanh,noi_nhan\r\n1,2026-11-20,000.00.00.G22\r\n';
    assert.throws(
      () => profileByName('legacy-csv').toEdxml({ body: Buffer.from(csv), fileName: 'a.csv', contentType: 'text/csv', sideFiles: [] }, { ownOrganId: '000.00.00.H41', options: {} }),
      /field promulgation\.date \(vendor path ngay_ban_hanh\), rule dateFormat: is not a date of the form dd\/MM\/yyyy; input "2026-11-20"/,
    );
  });
});

describe('checkProfileOptions', () => {
  it('accepts the example profile files and names the path of a wrong option', () => {
    checkProfileOptions('legacy-csv', { encoding: 'tcvn3', codeTables: { priority: { KHAN: 1 } } });
    checkProfileOptions('edxml', {});
    const refused = (name: string, options: Record<string, unknown>, message: RegExp) => assert.throws(() => checkProfileOptions(name, options), message);
    refused('legacy-csv', { encoding: 'abc' }, /profile legacy-csv: profileOptions\.encoding: must be auto or one of utf-8, tcvn3, vni, tcvn5712; input "abc"/);
    refused('json', { attachments: 'inline' }, /profile json: profileOptions\.attachments: must be one of base64, multipart/);
    refused('flat-xml', { fields: { to: { path: 'NoiNhan', item: {} } } }, /profile flat-xml: profileOptions\.fields\.to\.item\.id: must be a non-empty string/);
    refused('edxml', { encoding: 'vni' }, /profile edxml: profileOptions\.encoding: the edxml profile takes no options/);
    refused('csv', {}, /unknown format profile "csv"/);
  });
});
