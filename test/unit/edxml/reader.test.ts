import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openAttachment, readAll } from '../../../src/edxml/attachments';
import {
  QCVN_NAMESPACE,
  STATUS_CODES,
  XMLDSIG_NAMESPACE,
  type EdocPackage,
  type EdxmlPackage,
  type StatusPackage,
} from '../../../src/edxml/model';
import { readPackage } from '../../../src/edxml/reader';
import { organIdForm } from '../../../src/edxml/organ-id';
import { parseEdDate, parseEdTimestamp } from '../../../src/edxml/dates';
import { SAMPLES_DIR, sampleFiles } from '../../support/paths';
import { refusal } from '../../support/rejection';

function sample(name: string): Buffer {
  return fs.readFileSync(path.join(SAMPLES_DIR, name));
}

function edoc(name: string): EdocPackage {
  const pkg = readPackage(sample(name));
  assert.equal(pkg.kind, 'edoc', name);
  return pkg as EdocPackage;
}

const MINIMAL_STATUS = (code: string, extra = ''): string => `<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="${QCVN_NAMESPACE}"><edXMLEnvelope><edXMLHeader><MessageHeader>
<From><OrganId>000.00.00.H41</OrganId></From>
<ResponseFor><OrganId>000.00.00.G22</OrganId><DocumentId>D-1</DocumentId></ResponseFor>
<StatusCode>${code}</StatusCode>${extra}<Timestamp>2026/11/20 10:00:00</Timestamp>
</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>`;

describe('edxml reader', () => {
  describe('the 23 field samples', () => {
    const files = sampleFiles();

    it('there are 23 samples', () => {
      assert.equal(files.length, 23);
    });

    for (const file of files) {
      it(`reads ${path.basename(file)}`, async () => {
        const pkg: EdxmlPackage = readPackage(fs.readFileSync(file));
        assert.ok(pkg.documentId.length > 0);
        assert.ok(pkg.from.organId.length > 0);
        if (pkg.kind === 'edoc') {
          assert.ok(pkg.to.length > 0);
          assert.equal(pkg.to, pkg.header.to);
          for (const a of pkg.attachments) {
            // Every attachment decodes as a stream (and unzips when zipped).
            const bytes = await readAll(openAttachment(a, { mode: 'raw' }));
            assert.equal(bytes.length, a.size);
          }
        } else {
          assert.equal(pkg.statusMeaning, STATUS_CODES[pkg.statusCode].meaning);
          assert.equal(pkg.documentId, pkg.responseFor.documentId);
        }
      });
    }
  });

  it('exposes the routing fields without digging', () => {
    const pkg = edoc('vxp-sdk-example__edoc_update.edxml');
    assert.equal(pkg.from.organId, '000.00.00.G22');
    assert.deepEqual(
      pkg.to.map((t) => t.organId),
      ['000.00.00.H41', '000.00.00.H14', '000.00.00.G17'],
    );
    assert.equal(pkg.documentId, '000.00.00.G22,2015/09/30,7816/VPCP-TTĐT');
    assert.equal(pkg.documentIdSource, 'header');
    const status = readPackage(sample('vxp-sdk-example__status_cancellation_13.edxml')) as StatusPackage;
    assert.equal(status.kind, 'status');
    assert.equal(status.statusCode, '13');
    assert.equal(status.statusMeaning, 'Lấy lại');
    assert.equal(status.from.organId, '000.00.00.G22');
    assert.equal(status.responseFor.organId, '000.00.00.H41');
    assert.equal(status.documentId, '000.00.00.G22,2015/09/30,7816/VPCP-TTĐT');
  });

  it('reads every status code of the samples with its Vietnamese meaning', () => {
    const expected: Record<string, string> = {
      'vxp-sdk-example__status_inbox_01.edxml': '01',
      'vxp-sdk-example__status_rejection_02.edxml': '02',
      'vxp-sdk-example__status_acceptance_03.edxml': '03',
      'vxp-sdk-example__status_assignment_04.edxml': '04',
      'vxp-sdk-example__status_processing_05.edxml': '05',
      'vxp-sdk-example__status_finish_06.edxml': '06',
      'vxp-sdk-example__status_cancellation_13.edxml': '13',
      'vxp-sdk-example__status_change-acceptance_15.edxml': '15',
      'vxp-sdk-example__status_change-rejection_16.edxml': '16',
    };
    for (const [file, code] of Object.entries(expected)) {
      const pkg = readPackage(sample(file)) as StatusPackage;
      assert.equal(pkg.statusCode, code, file);
      assert.ok(pkg.staffInfo?.staff, file);
      assert.ok(pkg.timestamp?.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/), file);
    }
    assert.equal(STATUS_CODES['02'].meaning, 'Từ chối tiếp nhận');
    assert.equal(STATUS_CODES['15'].meaning, 'Đồng ý');
  });

  it('reads the Bussiness block of new, recall, update and replace', () => {
    assert.equal(edoc('vxp-sdk-example__edoc_new.edxml').trace.bussiness?.bussinessDocType, 0);
    const recall = edoc('vxp-sdk-example__edoc_revocation.edxml');
    assert.equal(recall.trace.bussiness?.bussinessDocType, 1);
    assert.ok(recall.header.responseFor.length > 0, 'the recall names its target in ResponseFor');
    const update = edoc('vxp-sdk-example__edoc_update.edxml');
    assert.equal(update.trace.bussiness?.bussinessDocType, 2);
    assert.deepEqual(update.trace.bussiness?.bussinessDocumentInfo[0]?.receivers, [
      { organId: '000.00.00.H41', receiverType: 0 },
      { organId: '000.00.00.H14', receiverType: 1 },
    ]);
    const replace = edoc('vxp-sdk-example__edoc_replacement.edxml');
    assert.equal(replace.trace.bussiness?.bussinessDocType, 3);
    assert.ok(replace.trace.bussiness!.replacementInfo.length > 0);
    assert.ok(replace.trace.bussiness!.replacementInfo[0]!.organIds.length > 0);
  });

  it('accepts Bussiness before TraceHeader and keeps appended trace hops verbatim', () => {
    const lgsp = edoc('truclienthong-example__xml_received-via-lgsp_dc0bdef0.edxml');
    assert.equal(lgsp.trace.bussiness?.bussinessDocType, 0);
    assert.ok(lgsp.trace.traceHeaders.length >= 1);
    const axis2019 = edoc('vxp-sdk-example__xml_2019_received_852e179c.edxml');
    assert.deepEqual(axis2019.trace.traceHeaders, [
      { organId: '01.02.G22', timestamp: '2018-06-20T16:35:56' },
      { organId: '001.00.20.TT2', timestamp: '2019-05-17T18:16:33' },
    ]);
    const saas = edoc('vxp-sdk-example__xml_2025_874e0f18.edxml');
    assert.deepEqual(saas.trace.traceHeaders[1], { timestamp: '2025-10-23T16:28:43' }, 'a hop without OrganId is tolerated');
  });

  it('accepts the three date forms and notes the non-standard one', () => {
    const pkg = edoc('edoc-integrator__edoc_new__newdoc_with_zip_attachment.edxml');
    assert.equal(pkg.header.promulgationInfo?.promulgationDate, '2020-10-30');
    assert.ok(pkg.notes.some((n) => n.rule === 'date-form' && n.path.endsWith('PromulgationDate')));
    assert.equal(parseEdDate('2019/01/16'), '2019-01-16');
    assert.equal(parseEdDate('30/10/2020'), '2020-10-30');
    assert.equal(parseEdDate('2020-10-30'), '2020-10-30');
    assert.equal(parseEdDate('2014/02/30'), undefined);
    assert.equal(parseEdTimestamp('2018/09/28 17:25:11'), '2018-09-28T17:25:11');
  });

  it('treats empty elements as absent', () => {
    const hand = edoc('vxp-sdk-example__edoc.edxml');
    // <ResponseFor> with four empty children is absent.
    assert.deepEqual(hand.header.responseFor, []);
    const axis = edoc('vxp-sdk-example__xml_2019_received_852e179c.edxml');
    assert.deepEqual(axis.header.responseFor, [], '<edXML:ResponseFor /> is absent');
    const pkg = edoc('vxp-sdk-example__edoc_new.edxml');
    assert.equal(pkg.header.signerInfo?.competence, 'TL. BO TRUONG');
    const withEmpty = sample('vxp-sdk-example__edoc_new.edxml')
      .toString('utf8')
      .replace('<edXML:DueDate>2018/09/28</edXML:DueDate>', '<edXML:DueDate></edXML:DueDate>')
      .replace(/<edXML:OrganAdd>[^<]*<\/edXML:OrganAdd>/, '<edXML:OrganAdd/>');
    const read = readPackage(Buffer.from(withEmpty)) as EdocPackage;
    assert.equal(read.header.dueDate, undefined);
    assert.equal('dueDate' in read.header, false);
    assert.equal(read.from.organAdd, undefined);
  });

  it('repairs the undeclared xlink: and edXML: prefixes of the hand-written inputs', async () => {
    for (const name of ['vxp-sdk-example__edoc.edxml', 'vxp-sdk-example__edoc_new__inner-attachment_handwritten-input-with-xmldsig-ns.edxml']) {
      const pkg = edoc(name);
      assert.ok(pkg.repairs.includes('xlink-namespace-declared'), name);
      assert.equal(pkg.manifest.references[0]!.href, undefined, 'the empty href counts as absent');
    }
    const inner = edoc('vxp-sdk-example__edoc_new__inner-attachment_handwritten-input-with-xmldsig-ns.edxml');
    const pdf = await readAll(openAttachment(inner.attachments[0]!));
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  });

  it('pairs manifest and attachments with cid: stripped on either side', () => {
    const xml = sample('vxp-sdk-example__uploads_1da394ba.edxml')
      .toString('utf8')
      .replace('<ContentId>cid:68b50244-4b2b-4bd1-b186-e6b14315c7e2</ContentId>', '<ContentId>68b50244-4b2b-4bd1-b186-e6b14315c7e2</ContentId>');
    const pkg = readPackage(Buffer.from(xml)) as EdocPackage;
    assert.deepEqual(
      pkg.attachments.map((a) => a.referenceIndex),
      [0, 1, 2],
    );
    assert.equal(pkg.attachments[1]!.contentId, '68b50244-4b2b-4bd1-b186-e6b14315c7e2');
  });

  it('detects zip by magic bytes, whatever the ContentType says, and unzips by default', async () => {
    const saas = edoc('vxp-sdk-example__xml_2025_874e0f18.edxml');
    const a = saas.attachments[0]!;
    assert.equal(a.contentType, 'application/pdf');
    assert.equal(a.zipped, true);
    const content = await readAll(openAttachment(a));
    assert.equal(content.subarray(0, 5).toString('latin1'), '%PDF-');
    const raw = await readAll(openAttachment(a, { mode: 'raw' }));
    assert.equal(raw.subarray(0, 4).toString('latin1'), 'PK\x03\x04');
    const gw = edoc('vxp-sdk-example__xml_2025_9e272474.edxml');
    assert.equal(gw.attachments[0]!.zipped, false);
    // The official sample: a zip holding a hand-written edXML.
    const sdk = edoc('vxp-sdk-example__edoc_new.edxml');
    const inner = await readAll(openAttachment(sdk.attachments[0]!));
    assert.deepEqual(inner, sample('vxp-sdk-example__edoc_new__inner-attachment_handwritten-input-with-xmldsig-ns.edxml'));
  });

  it('reports Signature elements and their namespace without judging them', () => {
    const placeholder = edoc('vxp-sdk-example__edoc_new.edxml');
    assert.deepEqual(placeholder.signatures, [
      { localName: 'Signature', namespaceURI: QCVN_NAMESPACE, path: '/edXML/edXMLEnvelope/edXMLHeader/Signature' },
    ]);
    const dsig = edoc('vxp-sdk-example__edoc.edxml');
    assert.equal(dsig.signatures[0]!.namespaceURI, XMLDSIG_NAMESPACE);
    assert.deepEqual(edoc('vxp-sdk-example__xml_2025_874e0f18.edxml').signatures, []);
  });

  it('accepts any child order and unprefixed or prefixed elements', () => {
    const xml = sample('vxp-sdk-example__edoc_new.edxml').toString('utf8');
    const original = readPackage(Buffer.from(xml)) as EdocPackage;
    // Reverse the children of From and swap Code and PromulgationInfo; drop every edXML: prefix in MessageHeader.
    const fromBlock = /<edXML:From>([\s\S]*?)<\/edXML:From>/.exec(xml)![1]!;
    const lines = fromBlock.trim().split(/\n\s*/).reverse().join('\n');
    let shuffled = xml.replace(fromBlock, `\n${lines}\n`);
    const code = /<edXML:Code>[\s\S]*?<\/edXML:Code>/.exec(shuffled)![0];
    const prom = /<edXML:PromulgationInfo>[\s\S]*?<\/edXML:PromulgationInfo>/.exec(shuffled)![0];
    shuffled = shuffled.replace(code, '@@CODE@@').replace(prom, code).replace('@@CODE@@', prom);
    shuffled = shuffled.replace(/<edXML:MessageHeader>[\s\S]*<\/edXML:MessageHeader>/, (m) => m.replace(/<(\/?)edXML:/g, '<$1'));
    const read = readPackage(Buffer.from(shuffled)) as EdocPackage;
    assert.deepEqual(read.header, original.header);
  });

  it('derives DocumentId by the SPEC §15 rule when it is absent', () => {
    const xml = sample('vxp-sdk-example__edoc_new.edxml')
      .toString('utf8')
      .replace(/<edXML:DocumentId>000\.00\.00\.G22,2015\/09\/30,7816\/VPCP-TTĐT<\/edXML:DocumentId>/, '');
    const pkg = readPackage(Buffer.from(xml)) as EdocPackage;
    assert.equal(pkg.documentIdSource, 'derived');
    assert.equal(pkg.documentId, '000.00.00.A80,2019/01/16,74fass22/VPCP-TTĐT');
  });

  it('normalises a one-digit status code and refuses unknown ones', () => {
    const one = readPackage(Buffer.from(MINIMAL_STATUS('1'))) as StatusPackage;
    assert.equal(one.statusCode, '01');
    assert.ok(one.notes.some((n) => n.rule === 'status-code-form'));
    const r = refusal(() => readPackage(Buffer.from(MINIMAL_STATUS('07'))));
    assert.equal(r.reason, 'invalid-edxml');
    assert.match(r.detail, /StatusCode/);
  });

  it('refuses packages it cannot route, with invalid-edxml and the path', () => {
    const noTo = sample('vxp-sdk-example__test_user_edxml.xml').toString('utf8').replace(/<edXML:To>[\s\S]*?<\/edXML:To>/, '');
    let r = refusal(() => readPackage(Buffer.from(noTo)));
    assert.equal(r.reason, 'invalid-edxml');
    assert.match(r.detail, /MessageHeader\/To/);
    const badId = sample('vxp-sdk-example__test_user_edxml.xml').toString('utf8').replace('<edXML:OrganId>vxp.saas.03</edXML:OrganId>', '<edXML:OrganId>../../etc</edXML:OrganId>');
    r = refusal(() => readPackage(Buffer.from(badId)));
    assert.match(r.detail, /From\/OrganId/);
    r = refusal(() => readPackage(Buffer.from('<other/>')));
    assert.equal(r.reason, 'invalid-edxml');
    r = refusal(() => readPackage(Buffer.from(`<edXML xmlns="${QCVN_NAMESPACE}"/>`)));
    assert.match(r.detail, /edXMLEnvelope/);
  });

  it('recognises both OrganId forms and reports others', () => {
    assert.equal(organIdForm('000.00.00.G22'), 'qcvn102');
    assert.equal(organIdForm('001.01.07.H53'), 'qcvn102');
    assert.equal(organIdForm('G09.20'), 'qd20');
    assert.equal(organIdForm('H37.02.02'), 'qd20');
    assert.equal(organIdForm('H01.151.01'), 'qd20');
    assert.equal(organIdForm('vxp.saas.03'), 'other');
    assert.equal(organIdForm('28.22.H17'), 'other');
  });
});
