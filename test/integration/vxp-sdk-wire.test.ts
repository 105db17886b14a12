/**
 * What the real VXP SDK (2.0.0 and 2.0.1) puts on the wire, against a capture server, and that
 * src/connectors/vxp/xroad-hmac.ts computes and checks exactly that (docs/VXP.md, "What the SDK
 * really sends").
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSdkHeaders, matchHashFile, digestBody, parseSdkTimestamp, sdkHashFile, verifyXroadHeaders, XROAD_PREFIX } from '../../src/connectors/vxp/xroad-hmac';
import { SAMPLES_DIR } from '../support/paths';
import { SdkCaptureServer, type CapturedRequest } from '../support/vxp-sdk/capture-server';
import { SDK_VERSIONS, VxpSdkClient } from '../support/vxp-sdk';

const SYSTEM = '000.00.00.G22';
const SECRET = 'a-vendor-secret';
const SAMPLE = path.join(SAMPLES_DIR, 'vxp-sdk-example__edoc_new.edxml');

/** The request's own signed parameters, in the order it signed them (minus those buildSdkHeaders adds). */
function paramsOf(req: CapturedRequest): Array<[string, string]> {
  return req.header('XroadVnpt-sign-header-key')!.split(';').filter((n) => !['systemid', 'timestamp', 'Content-Type'].includes(n)).map((n) => [n, req.header(XROAD_PREFIX + n)!]);
}

for (const version of SDK_VERSIONS) {
  describe(`VXP SDK ${version} on the wire`, function () {
    this.timeout(120_000);
    const capture = new SdkCaptureServer();
    let sdk: VxpSdkClient;
    let dir: string;

    before(async () => {
      await capture.start();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vxp-wire-'));
      // A client machine on UTC: the SDK writes its local time without a zone.
      sdk = new VxpSdkClient({ version, endpoint: capture.endpoint, systemId: SYSTEM, secret: SECRET, timeZone: 'UTC' });
      const sent = await sdk.sendEdoc(SAMPLE, SYSTEM);
      assert.equal(sent.docID, 'captured-1');
      await sdk.getReceivedEdocList('edoc');
      const got = await sdk.getEdoc('doc-1', dir);
      assert.ok(got.filePath?.endsWith('/doc-1.edxml'), got.filePath);
      await sdk.updateStatus('doc-1', 'done');
      await sdk.getAgenciesList();
      await sdk.renew();
      await sdk.getReceivedEdocList('status');
    });
    after(async () => {
      await sdk?.close();
      await capture.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('sends the file and a CRLF as the body, with hash-file over the file in the SDK\'s short hex', () => {
      const send = capture.requests.find((r) => r.path === '/sendEdoc')!;
      const file = fs.readFileSync(SAMPLE);
      assert.equal(send.method, 'POST');
      assert.equal(send.body.length, file.length + 2);
      assert.ok(send.body.subarray(0, file.length).equals(file));
      assert.equal(send.body.subarray(file.length).toString('latin1'), '\r\n');
      assert.equal(send.header('Content-Type'), 'application/octet-stream');
      assert.equal(send.header('XroadVnpt-hash-file'), sdkHashFile(file));
      assert.notEqual(send.header('XroadVnpt-hash-file')!.length, 64);
      assert.equal(matchHashFile(send.header('XroadVnpt-hash-file')!, digestBody(send.body)), 'file-and-crlf');
    });

    it('signs exactly what buildSdkHeaders computes, for every call', () => {
      for (const req of capture.requests) {
        const built = buildSdkHeaders({ systemId: SYSTEM, secret: SECRET, timestamp: req.header('XroadVnpt-timestamp')!, contentType: req.header('XroadVnpt-Content-Type')!, params: paramsOf(req) });
        for (const name of ['XroadVnpt-sign-header-key', 'XroadVnpt-sign-header', 'XroadVnpt-hash-header', 'User-Agent', 'XroadVnpt-version']) {
          assert.equal(req.header(name), built[name], `${req.path} ${name}`);
        }
      }
    });

    it('writes local time with no zone, taken when the service object is made, and keeps earlier calls\' parameters', () => {
      const [send, list, getEdoc, update, agencies, renewed] = capture.requests;
      const stamp = send!.header('XroadVnpt-timestamp')!;
      const at = parseSdkTimestamp(stamp, 'UTC')!;
      assert.ok(Math.abs(Date.now() - at.getTime()) < 120_000, `${stamp} read as UTC is now`);
      assert.ok(parseSdkTimestamp(stamp, 'Asia/Ho_Chi_Minh')!.getTime() < Date.now() - 6 * 3600_000, 'read as Vietnam time it is 7 hours old');
      for (const r of [list, getEdoc, update]) assert.equal(r!.header('XroadVnpt-timestamp'), stamp, `${r!.path} carries the same timestamp`);
      // Parameters stay in the SDK's header map: hash-file and from of the send are signed again later.
      assert.equal(list!.header('XroadVnpt-hash-file'), send!.header('XroadVnpt-hash-file'));
      assert.equal(update!.header('XroadVnpt-docId'), 'doc-1');
      assert.equal(update!.header('XroadVnpt-filePath'), dir);
      assert.equal(update!.header('XroadVnpt-status'), 'done');
      assert.equal(agencies!.header('XroadVnpt-sign-header-key'), 'systemid;timestamp;Content-Type');
      assert.equal(renewed!.header('XroadVnpt-hash-file'), undefined, 'new service objects start with an empty map');
    });

    it('is accepted by verifyXroadHeaders with the client\'s zone, and refused as stale with Vietnam\'s', () => {
      const lookup = (r: CapturedRequest) => (n: string) => r.header(n);
      for (const req of capture.requests) {
        const ok = verifyXroadHeaders(lookup(req), () => SECRET, { now: new Date(), maxSkewMs: 300_000, timeZone: 'UTC' });
        assert.ok(ok.ok, `${req.path}: ${JSON.stringify(ok)}`);
        const stale = verifyXroadHeaders(lookup(req), () => SECRET, { now: new Date(), maxSkewMs: 300_000, timeZone: 'Asia/Ho_Chi_Minh' });
        assert.equal(!stale.ok && stale.code, 'timestamp-skew');
        const wrong = verifyXroadHeaders(lookup(req), () => 'not-the-secret', { now: new Date(), maxSkewMs: 300_000, timeZone: 'UTC' });
        assert.equal(!wrong.ok && wrong.code, 'bad-signature');
      }
    });

    it('uses POST with {} and Expect: 100-continue for getEdoc and updateStatus, an empty POST for the list', () => {
      const byPath = (p: string) => capture.requests.find((r) => r.path === p)!;
      for (const p of ['/getEdoc', '/updateStatus']) {
        assert.equal(byPath(p).method, 'POST');
        assert.equal(byPath(p).body.toString(), '{}');
        assert.equal(byPath(p).header('Expect'), '100-continue');
      }
      assert.equal(byPath('/getReceivedEdocList').method, 'POST');
      assert.equal(byPath('/getReceivedEdocList').body.length, 0);
    });
  });
}
