/**
 * What the real VXP SDK sees when the connector refuses: FAIL with a typed ErrorCode and an
 * ErrorDesc naming what is wrong, never a crash, and nothing sent (B's mailbox receives only the
 * one good package sent last).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { makeEdoc } from '../support/packages';
import { uniqueOrganId, useAgencyProcesses, waitFor } from '../support/agency';
import { listenOnFreePort } from '../support/ports';
import { prepareVxpAgency, sdkFor, type VxpAgency } from '../support/vxp-agency';
import { SDK_VERSIONS, type VxpSdkClient } from '../support/vxp-sdk';

/** A man in the middle that flips one byte of every request body on its way to `target`. */
async function tamperingProxy(targetPort: number): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (body.length > 200) body[200] = body[200]! ^ 0x20;
      const headers = { ...req.headers, 'content-length': String(body.length) };
      delete headers.expect;
      const out = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  const port = await listenOnFreePort(server);
  return { endpoint: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

for (const version of SDK_VERSIONS) {
  describe(`VXP SDK ${version}: refusals`, function () {
    this.timeout(180_000);
    const agencies = useAgencyProcesses('vxp-refusals');
    const clients: VxpSdkClient[] = [];
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.close()));
    });

    it('wrong secret, stale timestamp, tampered body, not edXML, over the limit: FAIL with the reason, nothing sent', async () => {
      const a: VxpAgency = prepareVxpAgency(agencies.base(), uniqueOrganId('A02'), { vxp: { maxBodyBytes: 300_000 } });
      const b: VxpAgency = prepareVxpAgency(agencies.base(), uniqueOrganId('B02'));
      await Promise.all([agencies.start(a), agencies.start(b)]);
      const file = path.join(a.root, 'good.edxml');
      const good = makeEdoc({ from: a.organId, to: [b.organId], number: 201 });
      fs.writeFileSync(file, good);
      const sdk = (overrides = {}) => {
        const c = sdkFor(a, version, overrides);
        clients.push(c);
        return c;
      };

      const wrongSecret = await sdk({ secret: 'not-the-secret' }).sendEdoc(file, a.organId);
      assert.equal(wrongSecret.status, 'FAIL');
      assert.equal(wrongSecret.errorCode, 'bad-signature');
      assert.match(wrongSecret.errorDesc!, /wrong secret/);

      // A client machine on UTC: its unzoned local time is 7 hours behind the connector's zone.
      const stale = await sdk({ timeZone: 'UTC' }).sendEdoc(file, a.organId);
      assert.equal(stale.status, 'FAIL');
      assert.equal(stale.errorCode, 'timestamp-skew');
      assert.match(stale.errorDesc!, /Asia\/Ho_Chi_Minh.*outside the allowed skew of 300 s/);

      const proxy = await tamperingProxy(a.vxpPort);
      try {
        const tampered = await sdk({ endpoint: proxy.endpoint }).sendEdoc(file, a.organId);
        assert.equal(tampered.status, 'FAIL');
        assert.equal(tampered.errorCode, 'body-mismatch');
        assert.match(tampered.errorDesc!, /hash-file does not match the body/);
      } finally {
        await proxy.close();
      }

      const pdf = path.join(a.root, 'scan.pdf');
      fs.writeFileSync(pdf, Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(5000, 7)]));
      const notEdxml = await sdk().sendEdoc(pdf, a.organId);
      assert.equal(notEdxml.status, 'FAIL');
      assert.equal(notEdxml.errorCode, 'malformed-xml', JSON.stringify(notEdxml));
      assert.ok(notEdxml.errorDesc && notEdxml.errorDesc.length > 10);

      const big = path.join(a.root, 'big.edxml');
      fs.writeFileSync(big, makeEdoc({ from: a.organId, to: [b.organId], number: 202, attachmentBytes: 400_000 }));
      const overLimit = await sdk().sendEdoc(big, a.organId);
      assert.equal(overLimit.status, 'FAIL');
      assert.equal(overLimit.errorCode, 'limit-exceeded');
      assert.match(overLimit.errorDesc!, /300000/);

      const notMine = await sdk().sendEdoc(file, b.organId);
      assert.equal(notMine.status, 'FAIL');
      assert.equal(notMine.errorCode, 'sender-not-allowed');

      // The good one crosses; it is the only package B's legacy system ever sees.
      const ok = await sdk().sendEdoc(file, a.organId);
      assert.equal(ok.status, 'OK', JSON.stringify(ok));
      const sdkB = sdkFor(b, version);
      clients.push(sdkB);
      let listed = 0;
      await waitFor(async () => (listed = (await sdkB.getReceivedEdocList('edoc')).knobsticks?.length ?? 0) >= 1, 30_000, 'the good package at B');
      await new Promise((r) => setTimeout(r, 2_000));
      assert.equal((await sdkB.getReceivedEdocList('edoc')).knobsticks?.length, 1);
      void listed;

      // Refusals on the pull side: unknown DocId, a status that is neither done nor fail.
      const unknown = await sdkB.updateStatus('no-such-doc', 'done');
      assert.equal(unknown.status, 'FAIL');
      assert.equal(unknown.errorCode, 'not-found');
      const missing = await sdkB.getEdoc('no-such-doc', path.join(b.root, 'x'));
      assert.equal(missing.status, 'FAIL');
      assert.equal(missing.errorCode, 'not-found');
    });
  });
}
