import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import {
  buildSdkHeaders,
  digestBody,
  formatSdkTimestamp,
  javaHashMapOrder,
  matchHashFile,
  parseSdkTimestamp,
  sdkHashFile,
  sdkHex,
  SendBodyHasher,
  verifyXroadHeaders,
} from '../../../src/connectors/vxp/xroad-hmac';

const SECRET = 'secret1';
function lookup(headers: Record<string, string>) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return (name: string) => lower[name.toLowerCase()];
}

describe('XroadVnpt-* signing as the VXP SDK computes it', () => {
  // Captured from SDK 2.0.1 (TZ=UTC) sending vxp-sdk-example__edoc_new.edxml with secret "secret1".
  const captured = {
    timestamp: '02122026T014635+0610',
    hashFile: '12467915191b87937dfe1b66e2da34b0434ea379f81f7a0edfad021da13cd5',
    signHeaderKey: 'systemid;servicetype;messagetype;hash-file;from;timestamp;Content-Type',
    hashHeader: '188f97e4fbd8b51122042904645848ca92a4db2ce79be5a9204e8162eed6d340',
  };
  const sendParams: Array<[string, string]> = [
    ['from', '000.00.00.G22'],
    ['servicetype', 'eDoc'],
    ['messagetype', 'edoc'],
    ['hash-file', captured.hashFile],
  ];

  it('writes hash-file as the SDK does: each byte in hex without its leading zero', () => {
    const digest = Buffer.from('12467915191b87937dfe1b66e2da34b0434ea3079f81f7a0edfad021da013cd5', 'hex');
    assert.equal(sdkHex(digest), captured.hashFile);
    assert.equal(sdkHex(digest).length, 62);
    assert.equal(sdkHashFile(Buffer.from('abc')), sdkHex(createHash('sha256').update('abc').digest()));
  });

  it('reproduces the SDK\'s header order and HMAC byte for byte', () => {
    const h = buildSdkHeaders({ systemId: '000.00.00.G22', secret: SECRET, timestamp: captured.timestamp, contentType: 'application/octet-stream', params: sendParams });
    assert.equal(h['XroadVnpt-sign-header-key'], captured.signHeaderKey);
    assert.equal(h['XroadVnpt-hash-header'], captured.hashHeader);
    assert.equal(h['User-Agent'], 'JAVASDKAgent/1.0.0 XRoad/VPCP');
    assert.equal(h['XroadVnpt-version'], '3.0.201608');
    assert.deepEqual(javaHashMapOrder(['systemid', 'timestamp', 'Content-Type']), ['systemid', 'timestamp', 'Content-Type']);
  });

  it('binds the body: file + CRLF (the SDK), or the file alone; any other bytes are refused', () => {
    const file = Buffer.from('<edXML/>\n'.repeat(1000));
    const hashFile = sdkHashFile(file);
    assert.equal(matchHashFile(hashFile, digestBody(Buffer.concat([file, Buffer.from('\r\n')]))), 'file-and-crlf');
    assert.equal(matchHashFile(hashFile, digestBody(file)), 'whole');
    assert.equal(matchHashFile(createHash('sha256').update(file).digest('hex'), digestBody(file)), 'whole');
    const tampered = Buffer.from(file);
    tampered[10] ^= 1;
    assert.equal(matchHashFile(hashFile, digestBody(Buffer.concat([tampered, Buffer.from('\r\n')]))), undefined);
    assert.equal(matchHashFile(hashFile, digestBody(Buffer.concat([file, Buffer.from('\r\n\r\n')]))), undefined);
    // Streamed in pieces of any size, the same digests.
    const hasher = new SendBodyHasher();
    const body = Buffer.concat([file, Buffer.from('\r\n')]);
    for (let i = 0; i < body.length; i += 1) hasher.update(body.subarray(i, i + 1));
    assert.equal(matchHashFile(hashFile, hasher.digest()), 'file-and-crlf');
  });

  it('reads the unzoned timestamp in the configured zone', () => {
    const at = new Date('2026-12-02T01:46:35.061Z');
    assert.equal(formatSdkTimestamp(at), '02122026T084635+0061');
    assert.equal(formatSdkTimestamp(at, 'UTC'), '02122026T014635+0061');
    assert.equal(parseSdkTimestamp('02122026T084635+0061')!.toISOString(), at.toISOString());
    assert.equal(parseSdkTimestamp('02122026T014635+0061', 'UTC')!.toISOString(), at.toISOString());
    assert.equal(parseSdkTimestamp('02132026T014635+0061'), undefined);
    assert.equal(parseSdkTimestamp('2026-12-02'), undefined);
  });

  describe('the server\'s check', () => {
    const now = new Date('2026-12-02T01:47:00.000Z');
    const headers = buildSdkHeaders({ systemId: '000.00.00.G22', secret: SECRET, timestamp: captured.timestamp, contentType: 'application/octet-stream', params: sendParams });
    const verify = (h: Record<string, string>, opts: Partial<{ now: Date; timeZone: string; secret: string }> = {}) =>
      verifyXroadHeaders(lookup(h), (id) => (id === '000.00.00.G22' ? (opts.secret ?? SECRET) : undefined), { now: opts.now ?? now, maxSkewMs: 300_000, timeZone: opts.timeZone ?? 'UTC', required: ['hash-file'] });

    it('accepts the SDK\'s request and returns the signed parameters', () => {
      const v = verify(headers);
      assert.ok(v.ok, JSON.stringify(v));
      assert.equal(v.params['hash-file'], captured.hashFile);
      assert.equal(v.params.from, '000.00.00.G22');
    });

    it('refuses a wrong secret, a stale timestamp, a timestamp read in the wrong zone and a changed header', () => {
      assert.equal((verify(headers, { secret: 'other' }) as { code: string }).code, 'bad-signature');
      assert.equal((verify(headers, { now: new Date(now.getTime() + 301_000) }) as { code: string }).code, 'timestamp-skew');
      assert.equal((verify(headers, { timeZone: 'Asia/Ho_Chi_Minh' }) as { code: string }).code, 'timestamp-skew');
      assert.equal((verify({ ...headers, 'XroadVnpt-from': '000.00.00.H01' }) as { code: string }).code, 'header-mismatch');
      assert.equal((verify({ ...headers, 'XroadVnpt-hash-header': '0'.repeat(64) }) as { code: string }).code, 'bad-signature');
      const { ['XroadVnpt-sign-header']: _drop, ...unsigned } = headers;
      assert.equal((verify(unsigned) as { code: string }).code, 'missing-signature');
      assert.equal((verify({ ...headers, 'XroadVnpt-systemid': 'stranger' }) as { code: string }).code, 'unknown-system');
    });

    it('refuses a request whose signature does not name a required parameter', () => {
      const h = buildSdkHeaders({ systemId: '000.00.00.G22', secret: SECRET, timestamp: captured.timestamp, contentType: 'application/json', params: [['messagetype', 'edoc']] });
      assert.equal((verify(h) as { code: string }).code, 'unsigned-header');
    });
  });
});
