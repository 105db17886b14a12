/** HTTP ingest of bodies over LARGE_BODY_BYTES: streamed to a scratch file, signature checked over the streamed hash. */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HttpSource } from '../../../src/connectors/http';
import { sha256Hex } from '../../../src/connectors/http/signing';
import { signIngestRequest } from '../../../src/connectors/http/ingest-auth';
import { ScratchFolder } from '../../../src/scratch-folder';
import { LARGE_BODY_BYTES, type SourceHandler, type VendorMessage } from '../../../src/connectors/types';
import { Rejection } from '../../../src/errors';
import { waitFor } from '../../support/agency';
import { postFile, rssGrowthDuring, sha256OfFile, writeLargeFile } from '../../support/large-files';
import { freePort } from '../../support/ports';

const MB = 1024 * 1024;
const SIGNING = { systemId: 'vendor-1', secret: 'vendor-1-secret' };

describe('HTTP ingest (source) of large bodies', function () {
  this.timeout(60_000);
  let dir: string;
  let big: ReturnType<typeof writeLargeFile>;
  let mid: ReturnType<typeof writeLargeFile>;
  const sources: HttpSource[] = [];
  let handler: SourceHandler;
  const handled: VendorMessage[] = [];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-http-ingest-large-'));
    fs.writeFileSync(path.join(dir, 'secret'), `${SIGNING.secret}\n`);
    big = writeLargeFile(path.join(dir, 'scan.pdf'), 30 * MB);
    mid = writeLargeFile(path.join(dir, 'mid.pdf'), 3 * MB);
  });
  after(async () => {
    await Promise.all(sources.map((s) => s.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => (handled.length = 0));

  async function startSource(maxBodyBytes = 64 * MB): Promise<{ source: HttpSource; url: string }> {
    const source = new HttpSource('ingest', { port: await freePort(), maxBodyBytes, allowPlainHttp: true, auth: { hmac: { clients: [{ systemId: SIGNING.systemId, secretFile: path.join(dir, 'secret') }] } } });
    await source.start((m, s) => {
      handled.push(m);
      return handler(m, s);
    });
    sources.push(source);
    return { source, url: `http://127.0.0.1:${source.port}/documents` };
  }

  const signedFor = (sha256: string, secret = SIGNING.secret, contentType = 'application/pdf') =>
    signIngestRequest({ systemId: SIGNING.systemId, secret, bodySha256Hex: sha256, contentType, fileName: 'công văn.pdf' });
  const scratchFiles = (source: HttpSource) => fs.readdirSync(source.scratchDir!);

  it('hands a signed 30 MB body to the handler as bodyFile, byte for byte, and answers 202; the file is gone after the answer', async () => {
    const { source, url } = await startSource();
    let seen: { sha256: string; fileMode: number; dirMode: number } | undefined;
    handler = async (m, settle) => {
      const stat = fs.statSync(m.bodyFile!.path);
      seen = { sha256: await sha256OfFile(m.bodyFile!.path), fileMode: stat.mode & 0o777, dirMode: fs.statSync(path.dirname(m.bodyFile!.path)).mode & 0o777 };
      await settle.accepted();
    };
    const answer = await postFile(url, big.path, signedFor(big.sha256));
    assert.equal(answer.status, 202, JSON.stringify(answer.json));
    const m = handled[0]!;
    assert.equal(m.body.length, 0);
    assert.equal(m.bodyFile!.length, big.length);
    assert.equal(path.dirname(m.bodyFile!.path), source.scratchDir);
    assert.equal(seen!.sha256, big.sha256);
    assert.deepEqual([seen!.fileMode, seen!.dirMode], [0o600, 0o700]);
    assert.equal(m.contentType, 'application/pdf');
    assert.equal(m.fileName, 'công văn.pdf');
    assert.deepEqual(m.sideFiles, []);
    assert.deepEqual(scratchFiles(source), []);
  });

  it('receives a 30 MB body sent without Content-Length with memory growing far less than the body', async () => {
    const { source, url } = await startSource();
    let sha256: string | undefined;
    handler = async (m, settle) => {
      sha256 = await sha256OfFile(m.bodyFile!.path);
      await settle.accepted();
    };
    let status = 0;
    const growth = await rssGrowthDuring(async () => {
      status = (await postFile(url, big.path, signedFor(big.sha256), { chunked: true })).status;
    });
    assert.equal(status, 202);
    assert.equal(sha256, big.sha256);
    // Held in memory, the body costs twice its size (chunks, then one buffer); most of what is measured here is garbage not yet collected.
    assert.ok(growth < 15 * MB, `resident memory grew by ${(growth / MB).toFixed(1)} MB receiving 30 MB`);
    assert.deepEqual(scratchFiles(source), []);
  });

  it('keeps a body of LARGE_BODY_BYTES in memory, and a larger multipart body too', async () => {
    const { url } = await startSource();
    handler = (_m, settle) => settle.accepted();
    const edge = writeLargeFile(path.join(dir, 'edge'), LARGE_BODY_BYTES);
    assert.equal((await postFile(url, edge.path, signedFor(edge.sha256))).status, 202);
    assert.equal(handled[0]!.bodyFile, undefined);
    assert.equal(sha256Hex(handled[0]!.body), edge.sha256);
    const boundary = 'b0undary';
    const multipart = path.join(dir, 'multipart');
    fs.writeFileSync(multipart, Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="document"; filename="a.pdf"\r\n\r\n`), fs.readFileSync(mid.path), Buffer.from(`\r\n--${boundary}--\r\n`)]));
    const headers = signedFor(await sha256OfFile(multipart), SIGNING.secret, `multipart/form-data; boundary=${boundary}`);
    assert.equal((await postFile(url, multipart, headers)).status, 202);
    assert.equal(handled[1]!.bodyFile, undefined);
    assert.equal(sha256Hex(handled[1]!.body), mid.sha256);
  });

  it('refuses a large body with a wrong signature with 401 and keeps nothing', async () => {
    const { source, url } = await startSource();
    handler = (_m, settle) => settle.accepted();
    const answer = await postFile(url, big.path, signedFor(big.sha256, 'guessed-secret'));
    assert.equal(answer.status, 401);
    assert.match(String(answer.json.detail), /signature does not match/);
    assert.equal(handled.length, 0);
    assert.deepEqual(scratchFiles(source), []);
  });

  it('refuses a large body that is not the one signed with 401 once it has arrived, and removes it', async () => {
    const { source, url } = await startSource();
    handler = (_m, settle) => settle.accepted();
    const answer = await postFile(url, mid.path, signedFor(big.sha256));
    assert.equal(answer.status, 401);
    assert.match(String(answer.json.detail), /hash-file does not match the body/);
    assert.equal(handled.length, 0);
    assert.deepEqual(scratchFiles(source), []);
  });

  it('removes what arrived of a body whose client goes away mid-body', async () => {
    const { source, url } = await startSource();
    handler = (_m, settle) => settle.accepted();
    const abort = new AbortController();
    const posting = postFile(url, big.path, signedFor(big.sha256), { stallAfterBytes: 5 * MB, signal: abort.signal });
    const partial = () => scratchFiles(source).map((f) => fs.statSync(path.join(source.scratchDir!, f)).size);
    try {
      await waitFor(() => partial()[0] === 5 * MB, 10_000, () => `5 MB in the scratch folder, have ${JSON.stringify(partial())}`);
    } finally {
      abort.abort();
    }
    await assert.rejects(posting);
    await waitFor(() => scratchFiles(source).length === 0, 5_000, 'the partial body removed');
    assert.equal(handled.length, 0);
  });

  it('refuses a body over maxBodyBytes with 413, with or without Content-Length, and removes what arrived', async () => {
    const { source, url } = await startSource(4 * MB);
    handler = (_m, settle) => settle.accepted();
    for (const chunked of [false, true]) {
      const answer = await postFile(url, big.path, signedFor(big.sha256), { chunked });
      assert.equal(answer.status, 413, `chunked: ${chunked}`);
      assert.equal(answer.json.reason, 'limit-exceeded');
      assert.deepEqual(scratchFiles(source), []);
    }
    assert.equal(handled.length, 0);
  });

  it('keeps the file until the handler settles, then removes it, whether rejected, retried later or failed', async () => {
    const { source, url } = await startSource();
    const outcomes: Array<[number, SourceHandler]> = [
      [422, (_m, settle) => settle.rejected(new Rejection('mapping-failed', 'no subject'))],
      [503, (_m, settle) => settle.retryLater(new Error('Kafka unreachable'))],
      [
        500,
        async () => {
          throw new Error('profile crashed');
        },
      ],
    ];
    for (const [status, settle] of outcomes) {
      let present = false;
      handler = (m, s) => {
        present = fs.statSync(m.bodyFile!.path).size === mid.length;
        return settle(m, s);
      };
      assert.equal((await postFile(url, mid.path, signedFor(mid.sha256))).status, status);
      assert.ok(present, `the file was there while the handler ran (${status})`);
      assert.deepEqual(scratchFiles(source), [], `nothing left after ${status}`);
    }
  });

  it('removes its scratch folder at stop()', async () => {
    const { source } = await startSource();
    const scratch = source.scratchDir!;
    assert.ok(fs.existsSync(scratch));
    await source.stop();
    sources.splice(sources.indexOf(source), 1);
    assert.equal(fs.existsSync(scratch), false);
  });

  it('removes scratch folders that a dead process of this host left behind, and no one else’s', async () => {
    const base = fs.mkdtempSync(path.join(dir, 'tmp-'));
    const host = os.hostname().replace(/[^A-Za-z0-9.-]/g, '_');
    const deadPid = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']));
    const leftOver = path.join(base, `vdxp-ingest-${host}-${deadPid}-0123abcd`);
    const ofLiveProcess = path.join(base, `vdxp-ingest-${host}-${process.ppid}-0123abcd`);
    const unrelated = path.join(base, 'vdxp-ingest-notes');
    for (const d of [leftOver, ofLiveProcess, unrelated]) fs.mkdirSync(d);
    fs.writeFileSync(path.join(leftOver, 'body-1'), 'partial');
    const scratch = await ScratchFolder.open('vdxp-ingest-', base);
    try {
      assert.deepEqual(fs.readdirSync(base).sort(), [path.basename(scratch.dir), path.basename(ofLiveProcess), path.basename(unrelated)].sort());
    } finally {
      await scratch.close();
    }
  });
});
