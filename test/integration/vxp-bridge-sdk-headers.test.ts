/**
 * The bridge speaks to a VXP endpoint as the official SDK does: for each call, the real SDK
 * (2.0.0 and 2.0.1, through test/support/vxp-sdk) and the bridge's client make the same request
 * to one capture server, and the two requests are compared header by header. What may differ is
 * what legitimately differs between two requests: the timestamp (and so the HMAC it changes), and
 * getEdoc's `filePath` (the SDK's local folder). Everything else — header names, which are signed
 * and in which order, the sign-header JSON, the hash-header's HMAC, the body, the path and method —
 * must be the same, and both HMACs must check with the shared secret.
 */
import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseSdkTimestamp, verifyXroadHeaders } from '../../src/connectors/vxp/xroad-hmac';
import { VxpClient } from '../../src/connectors/vxp-bridge/client';
import { SAMPLES_DIR } from '../support/paths';
import { SdkCaptureServer, type CapturedRequest } from '../support/vxp-sdk/capture-server';
import { SDK_VERSIONS, VxpSdkClient } from '../support/vxp-sdk';

const SYSTEM = '000.00.00.H41';
const SECRET = 'bridge-and-sdk-shared-secret';
const SAMPLE = path.join(SAMPLES_DIR, 'vxp-sdk-example__edoc_new.edxml');
/** Headers of the HTTP client libraries, not of the protocol: Java's and Node's differ and no endpoint reads them. */
const TRANSPORT = new Set(['host', 'connection', 'content-length', 'accept', 'accept-encoding', 'cache-control', 'pragma', 'transfer-encoding']);
const TIMESTAMP = /^\d{8}T\d{6}\+\d{4}$/;

interface Call {
  name: string;
  sdk: (sdk: VxpSdkClient, dir: string) => Promise<unknown>;
  bridge: (client: VxpClient) => Promise<unknown>;
  /** Signed parameters whose values legitimately differ. */
  differs?: string[];
}

const CALLS: Call[] = [
  { name: 'sendEdoc (edoc)', sdk: (s) => s.sendEdoc(SAMPLE, SYSTEM, 'edoc'), bridge: (c) => c.sendEdoc(SYSTEM, 'edoc', fs.readFileSync(SAMPLE)) },
  { name: 'sendEdoc (status)', sdk: (s) => s.sendEdoc(SAMPLE, SYSTEM, 'status'), bridge: (c) => c.sendEdoc(SYSTEM, 'status', fs.readFileSync(SAMPLE)) },
  { name: 'getReceivedEdocList (edoc)', sdk: (s) => s.getReceivedEdocList('edoc'), bridge: (c) => c.getReceivedEdocList('edoc') },
  { name: 'getReceivedEdocList (status)', sdk: (s) => s.getReceivedEdocList('status'), bridge: (c) => c.getReceivedEdocList('status') },
  { name: 'getEdoc', sdk: (s, dir) => s.getEdoc('doc-7', dir), bridge: (c) => c.getEdoc('doc-7'), differs: ['filePath'] },
  { name: 'updateStatus (done)', sdk: (s) => s.updateStatus('doc-7', 'done'), bridge: (c) => c.updateStatus('doc-7', 'done') },
  { name: 'updateStatus (fail)', sdk: (s) => s.updateStatus('doc-7', 'fail'), bridge: (c) => c.updateStatus('doc-7', 'fail') },
];

/** The protocol's headers as sent: name (as written) → value. */
function protocolHeaders(r: CapturedRequest): Map<string, string> {
  return new Map(r.rawHeaders.filter(([k]) => !TRANSPORT.has(k.toLowerCase())));
}

function hmacChecks(r: CapturedRequest): boolean {
  const signed = r.header('XroadVnpt-sign-header')!;
  return createHmac('sha256', SECRET).update(signed, 'utf8').digest('hex') === r.header('XroadVnpt-hash-header');
}

for (const version of SDK_VERSIONS) {
  describe(`vxp bridge requests are the SDK ${version}'s requests`, function () {
    this.timeout(180_000);
    const capture = new SdkCaptureServer();
    let sdk: VxpSdkClient;
    let client: VxpClient;
    let dir: string;
    const pairs = new Map<string, { sdk: CapturedRequest; bridge: CapturedRequest }>();

    before(async () => {
      await capture.start();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vxp-bridge-headers-'));
      const secretFile = path.join(dir, 'secret');
      fs.writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
      // Both in the field's zone: the SDK on a machine set to Vietnam time, the bridge by its default.
      sdk = new VxpSdkClient({ version, endpoint: capture.endpoint, systemId: SYSTEM, secret: SECRET, timeZone: 'Asia/Ho_Chi_Minh' });
      client = new VxpClient('hub', { endpoint: capture.endpoint, systemId: SYSTEM, secretFile });
      for (const call of CALLS) {
        // Fresh SDK service objects per call, so no parameter of an earlier call rides along.
        await sdk.renew();
        const before = capture.requests.length;
        await call.sdk(sdk, dir);
        await call.bridge(client);
        assert.equal(capture.requests.length, before + 2, `${call.name}: one request each`);
        pairs.set(call.name, { sdk: capture.requests[before]!, bridge: capture.requests[before + 1]! });
      }
    });
    after(async () => {
      await sdk?.close();
      await capture.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    for (const call of CALLS) {
      it(`${call.name}: the same path, method, header names, signed names in the same order, sign-header and body`, () => {
        const { sdk: s, bridge: b } = pairs.get(call.name)!;
        assert.equal(b.method, s.method);
        assert.equal(b.path, s.path);
        const sh = protocolHeaders(s);
        const bh = protocolHeaders(b);
        assert.deepEqual([...bh.keys()].sort(), [...sh.keys()].sort(), 'the same header names, spelled the same');
        assert.equal(b.header('XroadVnpt-sign-header-key'), s.header('XroadVnpt-sign-header-key'), 'the same names signed, in the same order');
        const differs = new Set(['timestamp', ...(call.differs ?? [])]);
        for (const [name, value] of sh) {
          const param = name.startsWith('XroadVnpt-') ? name.slice('XroadVnpt-'.length) : undefined;
          if (param && differs.has(param)) continue;
          if (['XroadVnpt-sign-header', 'XroadVnpt-hash-header'].includes(name)) continue;
          assert.equal(bh.get(name), value, `${name}`);
        }
        // The sign-header: the same keys in the same order, the same values but those that differ.
        const sj = JSON.parse(s.header('XroadVnpt-sign-header')!) as Record<string, string>;
        const bj = JSON.parse(b.header('XroadVnpt-sign-header')!) as Record<string, string>;
        assert.deepEqual(Object.keys(bj), Object.keys(sj));
        for (const key of Object.keys(sj)) if (!differs.has(key.slice('XroadVnpt-'.length))) assert.equal(bj[key], sj[key], key);
        // And as text: the SDK's Gson layout with only the differing values changed.
        const blank = (text: string) => {
          const o = JSON.parse(text) as Record<string, string>;
          for (const k of Object.keys(o)) if (differs.has(k.slice('XroadVnpt-'.length))) o[k] = '';
          return JSON.stringify(o);
        };
        assert.equal(blank(b.header('XroadVnpt-sign-header')!), blank(s.header('XroadVnpt-sign-header')!));
        assert.equal(JSON.stringify(bj), b.header('XroadVnpt-sign-header'), 'compact JSON, as Gson writes it');
        assert.ok(b.body.equals(s.body), `the same body (${b.body.length} and ${s.body.length} bytes)`);
      });

      it(`${call.name}: both timestamps in the SDK's format and Vietnam time, both HMACs valid with the shared secret`, () => {
        const { sdk: s, bridge: b } = pairs.get(call.name)!;
        for (const [who, r] of [['SDK', s], ['bridge', b]] as const) {
          const stamp = r.header('XroadVnpt-timestamp')!;
          assert.match(stamp, TIMESTAMP, `${who} timestamp`);
          const at = parseSdkTimestamp(stamp, 'Asia/Ho_Chi_Minh')!;
          assert.ok(Math.abs(Date.now() - at.getTime()) < 170_000, `${who} timestamp ${stamp} is now, read as Vietnam time`);
          assert.ok(hmacChecks(r), `${who} hash-header is HMAC-SHA256(secret, sign-header)`);
          const verdict = verifyXroadHeaders((n) => r.header(n), (id) => (id === SYSTEM ? SECRET : undefined), { now: new Date(), maxSkewMs: 300_000, timeZone: 'Asia/Ho_Chi_Minh' });
          assert.ok(verdict.ok, `${who}: ${JSON.stringify(verdict)}`);
          const wrong = verifyXroadHeaders((n) => r.header(n), () => 'another-secret', { now: new Date(), maxSkewMs: 300_000, timeZone: 'Asia/Ho_Chi_Minh' });
          assert.equal(!wrong.ok && wrong.code, 'bad-signature', `${who}: a wrong secret does not check`);
        }
      });
    }

    it('reads the answers the SDK reads: DocId of sendEdoc, the list, the package of getEdoc', async () => {
      assert.equal(await client.sendEdoc(SYSTEM, 'edoc', fs.readFileSync(SAMPLE)), 'captured-1');
      assert.deepEqual(await client.getReceivedEdocList('edoc'), []);
      assert.equal((await client.getEdoc('doc-7')).toString(), '<captured/>');
    });
  });
}
