import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openAttachment, readAll } from '../../../src/edxml/attachments';
import {
  BUSSINESS_DOC_TYPE_CODES,
  QCVN_NAMESPACE,
  STATUS_CODE_LIST,
  type EdocPackage,
  type StatusPackage,
} from '../../../src/edxml/model';
import { readPackage } from '../../../src/edxml/reader';
import { parseXmlDocument } from '../../../src/edxml/safe-xml';
import { validatePackage } from '../../../src/edxml/validate';
import { buildStatus, writeEdoc, writeStatus } from '../../../src/edxml/writer';
import { comparable, fullEdocModel, statusModel } from '../../support/edxml-fixtures';
import { REPO_ROOT, SAMPLES_DIR, sampleFiles } from '../../support/paths';
import { refusal } from '../../support/rejection';

const GOLDEN = path.join(REPO_ROOT, 'test', 'unit', 'edxml', 'golden');

/** Start and end tags with their prefixes, in order (the layout, without text). */
function tagSequence(xml: string): string[] {
  return [...xml.replace(/<Signature[\s>][\s\S]*<\/Signature>/, '').matchAll(/<\/?[A-Za-z:]+/g)].map((m) => m[0]);
}

describe('edxml writer', () => {
  describe('golden: the canonical layout', () => {
    it('writes the full edoc model exactly as the golden file', () => {
      const out = writeEdoc(fullEdocModel()).toString('utf8');
      assert.equal(out, fs.readFileSync(path.join(GOLDEN, 'edoc-full.edxml'), 'utf8'));
    });

    it('writes a status exactly as the golden file', () => {
      const out = writeStatus(statusModel('02')).toString('utf8');
      assert.equal(out, fs.readFileSync(path.join(GOLDEN, 'status-02.edxml'), 'utf8'));
    });

    it('uses the prefix layout of SPEC §2', () => {
      const out = writeEdoc(fullEdocModel()).toString('utf8');
      assert.ok(out.startsWith(`<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="${QCVN_NAMESPACE}">\n  <edXML:edXMLEnvelope xmlns:edXML="${QCVN_NAMESPACE}">`));
      assert.match(out, /\n  <AttachmentEncoded>\n    <Attachment>\n      <ContentId>/);
      assert.match(out, new RegExp(`<edXML:ContentTransferEncoded xmlns:edXML="${QCVN_NAMESPACE}">[A-Za-z0-9+/=]+</edXML:ContentTransferEncoded>`));
      // Every element of the envelope is prefixed; every element of AttachmentEncoded but the base64 is not.
      const envelope = out.slice(out.indexOf('<edXML:edXMLEnvelope'), out.indexOf('</edXML:edXMLEnvelope>'));
      assert.deepEqual(envelope.match(/<[A-Za-z]+[\s>]/g), null);
      const doc = parseXmlDocument(Buffer.from(out));
      const all = doc.getElementsByTagName('*');
      for (let k = 0; k < all.length; k++) assert.equal(all.item(k)!.namespaceURI, QCVN_NAMESPACE);
    });

    for (const name of ['vxp-sdk-example__edoc_new.edxml', 'vxp-sdk-example__edoc_update.edxml', 'vxp-sdk-example__edoc_replacement.edxml']) {
      it(`re-writes the SDK-built ${name} tag for tag (its placeholder signature aside)`, () => {
        const original = fs.readFileSync(path.join(SAMPLES_DIR, name));
        const out = writeEdoc(readPackage(original) as EdocPackage, { dropSignatures: true });
        assert.deepEqual(tagSequence(out.toString('utf8')), tagSequence(original.toString('utf8')));
      });
    }
  });

  describe('round trip: writer output re-reads to an equal model', () => {
    for (const file of sampleFiles()) {
      it(path.basename(file), async () => {
        const pkg = readPackage(fs.readFileSync(file));
        const out = pkg.kind === 'edoc' ? writeEdoc(pkg, { dropSignatures: true }) : writeStatus(pkg, { dropSignatures: true });
        const again = readPackage(out);
        assert.deepEqual(comparable(again), comparable(pkg));
        assert.deepEqual(again.signatures, [], 'the writer never emits a signature');
        if (pkg.kind === 'edoc' && again.kind === 'edoc') {
          for (const [k, a] of pkg.attachments.entries()) {
            assert.deepEqual(await readAll(openAttachment(again.attachments[k]!, { mode: 'raw' })), await readAll(openAttachment(a, { mode: 'raw' })));
          }
        }
      });
    }
  });

  it('round-trips every status code', () => {
    for (const code of STATUS_CODE_LIST) {
      const pkg = readPackage(writeStatus(statusModel(code))) as StatusPackage;
      assert.equal(pkg.statusCode, code);
      const { signatures: _s, ...model } = statusModel(code);
      void _s;
      assert.deepEqual(
        { from: pkg.from, responseFor: pkg.responseFor, staffInfo: pkg.staffInfo, statusCode: pkg.statusCode, description: pkg.description, timestamp: pkg.timestamp },
        model,
      );
      assert.equal(validatePackage(writeStatus(statusModel(code))).ok, true, code);
    }
    assert.equal(STATUS_CODE_LIST.length, 9);
  });

  it('round-trips every BussinessDocType', () => {
    for (const t of BUSSINESS_DOC_TYPE_CODES) {
      const m = fullEdocModel();
      m.trace!.bussiness!.bussinessDocType = t;
      if (t === 2) m.trace!.bussiness!.bussinessDocumentInfo = [{ documentInfo: 1, documentReceiver: 0, receivers: [{ organId: '000.00.00.H41', receiverType: 1 }] }];
      if (t === 3) m.trace!.bussiness!.replacementInfo = [{ documentId: 'OLD-1', organIds: ['000.00.00.H41', 'H37.02.02'] }];
      const pkg = readPackage(writeEdoc(m)) as EdocPackage;
      assert.deepEqual(pkg.trace.bussiness, m.trace!.bussiness);
      const v = validatePackage(writeEdoc(m));
      assert.equal(v.ok, true, JSON.stringify(v.problems));
      assert.deepEqual(v.warnings, []);
    }
  });

  it('writes base64 in one line, whatever the input looked like', () => {
    const m = fullEdocModel();
    m.attachments = [{ attachmentName: 'x.bin', data: Buffer.alloc(100_000, 7) }];
    const out = writeEdoc(m).toString('latin1');
    const b64 = /<edXML:ContentTransferEncoded[^>]*>([^<]*)</.exec(out)![1]!;
    assert.equal(b64, Buffer.alloc(100_000, 7).toString('base64'));
    // A read package whose base64 had line breaks is written without them.
    const wrapped = out.replace(b64, b64.replace(/(.{76})/g, '$1\r\n'));
    const again = writeEdoc(readPackage(Buffer.from(wrapped, 'latin1')) as EdocPackage).toString('latin1');
    assert.equal(/<edXML:ContentTransferEncoded[^>]*>([^<]*)</.exec(again)![1], b64);
  });

  it('fills DocumentId by the SPEC §15 rule when the model has none', () => {
    const m = fullEdocModel();
    delete m.header.documentId;
    const pkg = readPackage(writeEdoc(m)) as EdocPackage;
    assert.equal(pkg.header.documentId, '000.00.00.G22,2026/11/20,7816/VPCP-TTĐT');
    assert.equal(pkg.documentIdSource, 'header');
    delete m.header.code;
    const r = refusal(() => writeEdoc(m));
    assert.equal(r.reason, 'invalid-edxml');
    assert.match(r.detail, /DocumentId/);
  });

  it('never rewrites a signed package', () => {
    const signed = readPackage(fs.readFileSync(path.join(SAMPLES_DIR, 'vxp-sdk-example__edoc_new.edxml'))) as EdocPackage;
    assert.ok(signed.signatures.length > 0);
    const r = refusal(() => writeEdoc(signed));
    assert.match(r.detail, /signed/);
  });

  it('refuses what XML cannot carry, naming the path', () => {
    const m = fullEdocModel();
    m.header.subject = 'bad \u0001 char';
    assert.match(refusal(() => writeEdoc(m)).detail, /MessageHeader\/Subject/);
    const m2 = fullEdocModel();
    m2.header.dueDate = '31/12/2026';
    assert.match(refusal(() => writeEdoc(m2)).detail, /DueDate/);
    const m3 = fullEdocModel();
    m3.header.to = [];
    assert.match(refusal(() => writeEdoc(m3)).detail, /To/);
    assert.match(refusal(() => writeStatus({ ...statusModel('01'), statusCode: '07' as never })).detail, /StatusCode/);
  });

  it('buildStatus makes the pipeline replies 01 and 02', () => {
    const at = new Date('2026-11-20T02:03:04Z');
    for (const statusCode of ['01', '02'] as const) {
      const bytes = buildStatus({
        from: { organId: '000.00.00.H41', organName: 'UBND tỉnh Nghệ An' },
        responseFor: { organId: '000.00.00.G22', code: '7816/VPCP-TTĐT', promulgationDate: '2026-11-20', documentId: 'D-7816' },
        statusCode,
        description: statusCode === '02' ? 'signature: placeholder-signature' : 'Đã đến',
        timestamp: at,
      });
      const pkg = readPackage(bytes) as StatusPackage;
      assert.equal(pkg.statusCode, statusCode);
      assert.equal(pkg.documentId, 'D-7816');
      assert.equal(pkg.responseFor.organId, '000.00.00.G22');
      assert.equal(pkg.timestamp, '2026-11-20T09:03:04', 'Vietnam local time');
      assert.equal(validatePackage(bytes).ok, true);
    }
  });
});
