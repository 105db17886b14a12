import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { openAttachment, readAll } from '../../../src/edxml/attachments';
import { formatEdDate, parseEdDate, parseEdTimestamp, formatEdTimestamp } from '../../../src/edxml/dates';
import type { EdocModel, EdocPackage, MessageHeader, StatusPackage } from '../../../src/edxml/model';
import { deriveDocumentId, readPackage } from '../../../src/edxml/reader';
import { writeEdoc, writeStatus } from '../../../src/edxml/writer';
import { dateArb, edocModelArb, statusModelArb, timestampArb } from '../../support/edxml-fixtures';

/** What the reader gives back for a header the writer was handed. */
function expectedHeader(h: MessageHeader): MessageHeader {
  const e: MessageHeader = { ...h, documentId: h.documentId ?? deriveDocumentId(h) };
  if (e.otherInfo && Object.entries(e.otherInfo).every(([, v]) => (Array.isArray(v) ? v.length === 0 : v === undefined))) delete e.otherInfo;
  return JSON.parse(JSON.stringify(e)) as MessageHeader;
}

function expectedTrace(m: EdocModel): unknown {
  return JSON.parse(JSON.stringify({ traceHeaders: m.trace?.traceHeaders ?? [], ...(m.trace?.bussiness ? { bussiness: m.trace.bussiness } : {}) }));
}

describe('edxml property-based round trips', () => {
  it('any edoc model: write → read gives the same model and the same attachment bytes', async () => {
    await fc.assert(
      fc.asyncProperty(edocModelArb, async (model) => {
        const pkg = readPackage(writeEdoc(model)) as EdocPackage;
        assert.equal(pkg.kind, 'edoc');
        assert.deepEqual(JSON.parse(JSON.stringify(pkg.header)), expectedHeader(model.header));
        assert.deepEqual(JSON.parse(JSON.stringify(pkg.trace)), expectedTrace(model));
        assert.equal(pkg.documentId, model.header.documentId ?? deriveDocumentId(model.header));
        const atts = model.attachments ?? [];
        assert.equal(pkg.attachments.length, atts.length);
        for (const [k, a] of atts.entries()) {
          const read = pkg.attachments[k]!;
          assert.equal(read.referenceIndex, k);
          assert.equal(read.attachmentName, a.attachmentName);
          assert.equal(read.description, a.description);
          assert.equal(read.contentType, a.contentType);
          assert.deepEqual(await readAll(openAttachment(read, { mode: 'raw' })), (a as { data: Buffer }).data);
        }
        // Writing what was read is a fixed point.
        assert.deepEqual(writeEdoc(pkg), writeEdoc(readPackage(writeEdoc(pkg)) as EdocPackage));
      }),
      { numRuns: 150 },
    );
  });

  it('any status model: write → read gives the same model', () => {
    fc.assert(
      fc.property(statusModelArb, (model) => {
        const pkg = readPackage(writeStatus(model)) as StatusPackage;
        assert.equal(pkg.kind, 'status');
        const back = JSON.parse(JSON.stringify({ from: pkg.from, responseFor: pkg.responseFor, staffInfo: pkg.staffInfo, statusCode: pkg.statusCode, description: pkg.description, timestamp: pkg.timestamp }));
        assert.deepEqual(back, JSON.parse(JSON.stringify(model)));
        assert.equal(pkg.documentId, model.responseFor.documentId);
      }),
      { numRuns: 200 },
    );
  });

  it('dates and timestamps survive formatting, in every accepted input form', () => {
    fc.assert(
      fc.property(dateArb, timestampArb, (d, ts) => {
        assert.equal(parseEdDate(formatEdDate(d)), d);
        const [y, m, day] = d.split('-');
        assert.equal(parseEdDate(`${day}/${m}/${y}`), d);
        assert.equal(parseEdDate(d), d);
        assert.equal(parseEdTimestamp(formatEdTimestamp(ts)), ts);
      }),
      { numRuns: 300 },
    );
  });
});
