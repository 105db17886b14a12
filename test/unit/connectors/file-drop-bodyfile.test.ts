/** File drop with bodies over LARGE_BODY_BYTES: handed over and delivered as files, never read whole. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileDropSink, FileDropSource } from '../../../src/connectors/file-drop';
import { LARGE_BODY_BYTES, type SourceHandler, type VendorMessage } from '../../../src/connectors/types';
import { Rejection } from '../../../src/errors';
import { waitFor } from '../../support/agency';
import { rssGrowthDuring, sha256OfFile, writeLargeFile } from '../../support/large-files';

const MB = 1024 * 1024;
const context = { documentId: 'd', idempotencyKey: 'k', kind: 'edoc' as const, fromOrganId: 'x' };

describe('file-drop transport with large bodies', function () {
  this.timeout(60_000);
  let dir: string;
  let source: FileDropSource | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-filedrop-large-'));
  });
  afterEach(async () => {
    await source?.stop();
    source = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const listing = (sub: string) => fs.readdirSync(path.join(dir, sub)).filter((f) => !f.startsWith('.'));

  async function startSource(handler: SourceHandler): Promise<void> {
    source = new FileDropSource('outbox', { dir, pollIntervalMs: 20 });
    await source.start(handler);
  }

  it('source: hands a large file over as bodyFile at its claimed place, then moves it to sent/', async () => {
    const big = writeLargeFile(path.join(dir, '.scan.part'), 20 * MB);
    fs.renameSync(big.path, path.join(dir, 'scan.pdf'));
    fs.writeFileSync(path.join(dir, 'small.json'), '{"a":1}');
    const seen = new Map<string, { message: VendorMessage; sha256?: string }>();
    await startSource(async (message, settle) => {
      const sha256 = message.bodyFile && (await sha256OfFile(message.bodyFile.path));
      seen.set(message.fileName, { message, sha256 });
      await settle.accepted();
    });
    await waitFor(() => listing('sent').length === 2, 10_000, 'both files in sent/');
    const large = seen.get('scan.pdf')!;
    assert.equal(large.message.body.length, 0);
    assert.equal(large.message.bodyFile?.length, 20 * MB);
    assert.equal(large.sha256, big.sha256, 'the handler read the same bytes from bodyFile.path');
    assert.notEqual(path.dirname(large.message.bodyFile!.path), dir, 'the file was claimed out of the folder');
    assert.equal(await sha256OfFile(path.join(dir, 'sent', 'scan.pdf')), big.sha256);
    const small = seen.get('small.json')!.message;
    assert.equal(small.bodyFile, undefined);
    assert.equal(small.body.toString(), '{"a":1}');
  });

  it('source: a rejected large file goes to rejected/ with its reason', async () => {
    const big = writeLargeFile(path.join(dir, '.big.part'), LARGE_BODY_BYTES + 1);
    fs.renameSync(big.path, path.join(dir, 'big.xml'));
    await startSource((m, settle) => {
      assert.ok(m.bodyFile);
      return settle.rejected(new Rejection('limit-exceeded', 'package over the limit', 'limits.maxPackageBytes'));
    });
    await waitFor(() => listing('rejected').length === 2, 10_000, 'the rejection');
    assert.equal(await sha256OfFile(path.join(dir, 'rejected', 'big.xml')), big.sha256);
    const reason = JSON.parse(fs.readFileSync(path.join(dir, 'rejected', 'big.xml.reason.json'), 'utf8'));
    assert.equal(reason.reason, 'limit-exceeded');
    assert.equal(reason.detail, 'package over the limit');
  });

  it('sink: copies a bodyFile into place byte for byte with bounded memory; a redelivery overwrites it', async () => {
    const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-spool-'));
    try {
      const big = writeLargeFile(path.join(spool, 'body'), 50 * MB);
      const mtimeBefore = fs.statSync(big.path).mtimeMs;
      const inbox = path.join(dir, 'inbox');
      const sink = new FileDropSink('inbox', { dir: inbox });
      await sink.start();
      const message: VendorMessage = { body: Buffer.alloc(0), bodyFile: { path: big.path, length: big.length }, fileName: 'doc.k.pdf', contentType: 'application/pdf', sideFiles: [] };
      const growth = await rssGrowthDuring(() => sink.deliver(message, context));
      assert.ok(growth < 25 * MB, `resident memory grew by ${(growth / MB).toFixed(1)} MB copying 50 MB`);
      await sink.deliver(message, context);
      assert.deepEqual(fs.readdirSync(inbox).sort(), ['.tmp', 'doc.k.pdf']);
      assert.deepEqual(fs.readdirSync(path.join(inbox, '.tmp')), [], 'no temporary file left behind');
      assert.equal(await sha256OfFile(path.join(inbox, 'doc.k.pdf')), big.sha256);
      assert.equal(fs.statSync(big.path).mtimeMs, mtimeBefore, 'the source file is untouched');
      assert.equal(await sha256OfFile(big.path), big.sha256);
    } finally {
      fs.rmSync(spool, { recursive: true, force: true });
    }
  });

  it('sink: a bodyFile that does not hold its stated length is not put in place', async () => {
    const file = writeLargeFile(path.join(dir, 'body'), 2 * MB);
    const sink = new FileDropSink('inbox', { dir: path.join(dir, 'inbox') });
    await sink.start();
    const message: VendorMessage = { body: Buffer.alloc(0), bodyFile: { path: file.path, length: 3 * MB }, fileName: 'doc.pdf', contentType: 'application/pdf', sideFiles: [] };
    await assert.rejects(sink.deliver(message, context), /2097152 bytes/);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'inbox')), ['.tmp']);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'inbox', '.tmp')), []);
  });
});
