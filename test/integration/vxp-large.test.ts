/**
 * A package of over 200 MB through the real SDK's sendEdoc at A and getEdoc at B: it arrives
 * byte-identical, and each connector stays under 300 MB of peak RSS (the body is spooled while it
 * is hashed, chunked through Kafka, and getEdoc streams it as base64 from the mailbox).
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeEdoc } from '../support/packages';
import { uniqueOrganId, useAgencyProcesses, waitFor, type AgencyProcess } from '../support/agency';
import { sha256OfFile } from '../support/large-files';
import { prepareVxpAgency, sdkFor } from '../support/vxp-agency';
import type { VxpSdkClient } from '../support/vxp-sdk';

const ATTACHMENT_BASE64_CHARS = 210_000_000;
const RSS_TARGET_BYTES = 300 * 1024 * 1024;

/** An edoc with ATTACHMENT_BASE64_CHARS of random base64, written as a stream; returns its SHA-256. */
function writeLargeEdoc(file: string, from: string, to: string): string {
  const template = makeEdoc({ from, to: [to], number: 300, attachmentBytes: 16 }).toString('utf8');
  const match = /(<edXML:ContentTransferEncoded[^>]*>)[^<]*(<\/edXML:ContentTransferEncoded>)/.exec(template)!;
  const fd = fs.openSync(file, 'w');
  const hash = createHash('sha256');
  const write = (s: string) => {
    const b = Buffer.from(s);
    hash.update(b);
    fs.writeSync(fd, b);
  };
  try {
    write(template.slice(0, match.index) + match[1]);
    const step = 3 * 1024 * 1024;
    for (let written = 0; written < ATTACHMENT_BASE64_CHARS; ) {
      const text = randomBytes(Math.min(step, ((ATTACHMENT_BASE64_CHARS - written) / 4) * 3)).toString('base64');
      write(text);
      written += text.length;
    }
    write(match[2] + template.slice(match.index + match[0].length));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

function peakRss(p: AgencyProcess): number {
  const status = fs.readFileSync(`/proc/${p.child.pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

describe('VXP SDK 2.0.1: a 200 MB package through sendEdoc and getEdoc', function () {
  this.timeout(900_000);
  const agencies = useAgencyProcesses('vxp-large');
  const clients: VxpSdkClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  // PENDING (issue 15 stays open): on this 2-core machine the SDK 2.0.1 itself takes minutes to
  // push 200 MB (it builds the whole multipart body as base64 text through a PrintWriter into
  // HttpURLConnection's in-memory buffer), reaches the connector at ~0.5 MB/s and then aborts and
  // re-posts the request (the connector logs `VXP request failed: aborted`). Until that is
  // understood, the 200 MB case through the VXP API is not measured: the mailbox chunks large
  // packages with the same code as vdxp.docs.* (broker-chunks, large-document tests), untested here.
  it.skip('arrives byte-identical with each connector under 300 MB of peak RSS', async () => {
    // The SDK buffers the whole body before it sends the request, and its timestamp is the time its
    // object was made: on a loaded machine a 200 MB send arrives minutes after that (docs/VXP.md).
    const a = prepareVxpAgency(agencies.base(), uniqueOrganId('A06'), { vxp: { maxSkewSeconds: 1800 } });
    const b = prepareVxpAgency(agencies.base(), uniqueOrganId('B06'));
    const [procA, procB] = await Promise.all([agencies.start(a), agencies.start(b)]);
    const file = path.join(a.root, 'large.edxml');
    const sha = writeLargeEdoc(file, a.organId, b.organId);
    assert.ok(fs.statSync(file).size > 200 * 1024 * 1024);
    // The SDK holds the package as a base64 String and then as text: its JVM needs the heap.
    const sdkA = sdkFor(a, '2.0.1', { maxHeap: '3g' });
    const sdkB = sdkFor(b, '2.0.1', { maxHeap: '4g' });
    clients.push(sdkA, sdkB);
    const sent = await sdkA.sendEdoc(file, a.organId);
    assert.equal(sent?.status, 'OK', `${JSON.stringify(sent)}; the SDK said: ${sdkA.sdkLog.slice(-1500)}`);
    let docId: string | undefined;
    await waitFor(async () => !!(docId = (await sdkB.getReceivedEdocList('edoc')).knobsticks?.[0]?.id), 300_000, 'the large package in B\'s list');
    const got = await sdkB.getEdoc(docId!, path.join(b.root, 'received'));
    assert.equal(got.status, 'OK');
    assert.equal(await sha256OfFile(got.filePath!), sha, 'B\'s legacy system holds the very bytes A sent');
    assert.equal((await sdkB.updateStatus(docId!, 'done')).status, 'OK');
    const peaks = { A: peakRss(procA), B: peakRss(procB) };
    for (const [who, peak] of Object.entries(peaks)) assert.ok(peak <= RSS_TARGET_BYTES, `${who}'s connector peak RSS ${Math.round(peak / 1048576)} MB`);
    process.stderr.write(`      peak RSS: A ${Math.round(peaks.A / 1048576)} MB, B ${Math.round(peaks.B / 1048576)} MB\n`);
  });
});
