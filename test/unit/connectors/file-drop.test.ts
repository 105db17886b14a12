import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileDropSink, FileDropSource, type FileDropOptions } from '../../../src/connectors/file-drop';
import type { SourceHandler } from '../../../src/connectors/types';
import { Rejection } from '../../../src/errors';
import { waitFor } from '../../support/agency';

const context = { documentId: 'd', idempotencyKey: 'k', kind: 'edoc' as const, fromOrganId: 'x' };

describe('file-drop transport', () => {
  let dir: string;
  const sources: FileDropSource[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-filedrop-'));
  });
  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.stop()));
  });

  async function startSource(handler: SourceHandler, options: Partial<FileDropOptions> = {}): Promise<FileDropSource> {
    const source = new FileDropSource('outbox', { dir, pollIntervalMs: 20, ...options });
    sources.push(source);
    await source.start(handler);
    return source;
  }
  const put = (name: string, text = name) => fs.writeFileSync(path.join(dir, name), text);
  const listing = (sub = '') => fs.readdirSync(path.join(dir, sub)).filter((f) => !f.startsWith('.') && fs.statSync(path.join(dir, sub, f)).isFile()).sort();

  it('moves a file to sent/ only when accepted, and never offers temporary names', async () => {
    put('.writing.part');
    put('also.tmp');
    put('doc.edxml', 'body');
    const seen: string[] = [];
    await startSource(async (message, settle) => {
      seen.push(message.fileName);
      assert.equal(message.body.toString(), 'body');
      await settle.accepted();
    });
    await waitFor(() => listing('sent').length === 1, 5_000, 'the accepted file');
    assert.deepEqual(seen, ['doc.edxml']);
    assert.deepEqual(listing(), ['also.tmp']);
  });

  it('hands over the side files in the folder named after the stem, and moves them along', async () => {
    fs.mkdirSync(path.join(dir, 'cv42'));
    fs.writeFileSync(path.join(dir, 'cv42', 'cong-van.pdf'), '%PDF-1.4');
    fs.writeFileSync(path.join(dir, 'cv42', 'phu-luc.pdf'), '%PDF-1.5');
    put('cv42.csv', 'metadata');
    let sideFiles: Array<{ name: string; bytes: string }> = [];
    await startSource(async (m, settle) => {
      sideFiles = m.sideFiles.map((f) => ({ name: f.name, bytes: f.bytes.toString() }));
      await settle.accepted();
    });
    await waitFor(() => listing('sent').length === 1, 5_000, 'the accepted export');
    assert.deepEqual(sideFiles, [
      { name: 'cong-van.pdf', bytes: '%PDF-1.4' },
      { name: 'phu-luc.pdf', bytes: '%PDF-1.5' },
    ]);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'sent', 'cv42')).sort(), ['cong-van.pdf', 'phu-luc.pdf']);
    assert.ok(!fs.existsSync(path.join(dir, 'cv42')), 'the side folder left the outbox with its file');
  });

  it('moves a refused file to rejected/ with the reason beside it', async () => {
    put('bad.edxml');
    await startSource((_m, settle) => settle.rejected(new Rejection('malformed-xml', 'unclosed tag at line 1')));
    await waitFor(() => listing('rejected').length === 2, 5_000, 'the rejection');
    const reason = JSON.parse(fs.readFileSync(path.join(dir, 'rejected', 'bad.edxml.reason.json'), 'utf8'));
    assert.equal(reason.reason, 'malformed-xml');
    assert.equal(reason.detail, 'unclosed tag at line 1');
  });

  it('offers a file again after a transient failure, and keeps it meanwhile', async () => {
    put('doc.edxml');
    let attempts = 0;
    await startSource(
      async (_m, settle) => {
        attempts += 1;
        if (attempts < 3) return settle.retryLater(new Error('Kafka unavailable'));
        await settle.accepted();
      },
      { retryDelayMs: 30 },
    );
    await waitFor(() => listing('sent').length === 1, 5_000, 'the eventual acceptance');
    assert.equal(attempts, 3);
  });

  it('in marker mode takes a file only once its .done marker exists, and removes the marker', async () => {
    put('doc.edxml');
    const seen: string[] = [];
    await startSource(async (m, settle) => (seen.push(m.fileName), settle.accepted()), { completion: 'marker' });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(seen, [], 'not complete without the marker');
    put('doc.edxml.done', '');
    await waitFor(() => listing('sent').length === 1, 5_000, 'the marked file');
    assert.deepEqual(listing(), []);
  });

  it('lets two replicas share one folder: every file is handed to exactly one of them', async () => {
    for (let i = 0; i < 60; i++) put(`doc-${String(i).padStart(2, '0')}.edxml`);
    const handled: string[] = [];
    const handler: SourceHandler = async (m, settle) => {
      handled.push(m.fileName);
      await new Promise((r) => setTimeout(r, 2));
      await settle.accepted();
    };
    await Promise.all([startSource(handler, { claimantId: 'pod-a' }), startSource(handler, { claimantId: 'pod-b' })]);
    await waitFor(() => listing('sent').length === 60, 10_000, 'all 60 files sent');
    assert.equal(handled.length, 60, 'no file handed twice');
    assert.equal(new Set(handled).size, 60);
  });

  it("returns its own claims at restart and a dead replica's claims once stale", async () => {
    fs.mkdirSync(path.join(dir, '.claimed', 'pod-a'), { recursive: true });
    fs.mkdirSync(path.join(dir, '.claimed', 'pod-gone'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.claimed', 'pod-a', 'mine.edxml'), 'x');
    fs.writeFileSync(path.join(dir, '.claimed', 'pod-gone', 'orphan.edxml'), 'y');
    const seen: string[] = [];
    await startSource(async (m, settle) => (seen.push(m.fileName), settle.accepted()), { claimantId: 'pod-a', staleClaimMs: 1_000 });
    await waitFor(() => seen.includes('mine.edxml'), 5_000, 'its own claim, at once');
    assert.ok(!seen.includes('orphan.edxml'), 'a fresh claim of another replica is left alone');
    await waitFor(() => seen.includes('orphan.edxml'), 15_000, 'the stale claim');
  });

  it('sink writes atomically under the given name, so a redelivery overwrites instead of duplicating', async () => {
    const sink = new FileDropSink('inbox', { dir });
    await sink.start();
    const message = { body: Buffer.from('v1'), fileName: 'doc.k.edxml', contentType: 'application/xml', sideFiles: [{ name: 'doc.k.pdf', bytes: Buffer.from('%PDF') }] };
    await sink.deliver(message, context);
    await sink.deliver({ ...message, body: Buffer.from('v1') }, context);
    assert.deepEqual(listing(), ['doc.k.edxml']);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'doc.k')), ['doc.k.pdf'], 'side files in a folder named after the stem');
    assert.deepEqual(fs.readdirSync(path.join(dir, '.tmp')), [], 'no temporary file left behind');
  });

  it('sink still delivers after an operator removed its staging folder, or the whole inbox', async () => {
    const sink = new FileDropSink('inbox', { dir });
    await sink.start();
    fs.rmSync(path.join(dir, '.tmp'), { recursive: true });
    await sink.deliver({ body: Buffer.from('a'), fileName: 'a.edxml', contentType: 'x', sideFiles: [] }, context);
    fs.rmSync(dir, { recursive: true });
    await sink.deliver({ body: Buffer.from('b'), fileName: 'b.edxml', contentType: 'x', sideFiles: [] }, context);
    assert.deepEqual(listing(), ['b.edxml']);
    assert.equal(fs.readFileSync(path.join(dir, 'b.edxml'), 'utf8'), 'b');
  });

  it('sink refuses a name that would escape its folder, as a permanent failure', async () => {
    const sink = new FileDropSink('inbox', { dir });
    await sink.start();
    await assert.rejects(
      sink.deliver({ body: Buffer.from('x'), fileName: '../escape.edxml', contentType: 'x', sideFiles: [] }, context),
      (err: Error & { transient?: boolean }) => err.transient === false,
    );
  });
});
