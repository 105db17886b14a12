import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import { axisTimestamp, parseAxisTimestamp, sha256Hex, signRequest, signRequestWithBodyHash, verifyRequest, verifyRequestWithBodyHash, verifySignedHeaders } from '../../../src/connectors/http/signing';
import { buildMultipart, parseMultipart } from '../../../src/connectors/http/multipart';

const SECRET = 'shared-secret-of-the-vendor';
const NOW = new Date('2026-11-23T03:15:12.045Z');

function lookup(headers: Record<string, string>) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return (name: string) => lower[name.toLowerCase()];
}

function verify(headers: Record<string, string>, body: Buffer, now = NOW) {
  return verifyRequest(lookup(headers), body, (id) => (id === 'vendor-1' ? SECRET : undefined), now, 300_000);
}

describe('HMAC-SHA256 request signing (SPEC §12)', () => {
  const body = Buffer.from('{"subject":"Trục liên thông"}');
  const signed = signRequest({ systemId: 'vendor-1', secret: SECRET, body, now: NOW, params: { messagetype: 'edoc' } });

  it('writes the axis timestamp in Vietnam time as ddMMyyyyTHHmmss+SSSS and reads it back', () => {
    assert.equal(axisTimestamp(NOW), '23112026T101512+0045');
    assert.equal(parseAxisTimestamp('23112026T101512+0045')?.toISOString(), NOW.toISOString());
    assert.equal(parseAxisTimestamp('2026-11-23'), undefined);
  });

  it('signs the prefixed headers as compact JSON and accepts its own signature', () => {
    assert.equal(signed['XroadVnpt-sign-header-key'], 'timestamp;systemid;hash-file;messagetype');
    assert.deepEqual(JSON.parse(signed['XroadVnpt-sign-header']!), {
      'XroadVnpt-timestamp': '23112026T101512+0045',
      'XroadVnpt-systemid': 'vendor-1',
      'XroadVnpt-hash-file': signed['XroadVnpt-hash-file'],
      'XroadVnpt-messagetype': 'edoc',
    });
    assert.match(signed['XroadVnpt-hash-header']!, /^[0-9a-f]{64}$/);
    const result = verify(signed, body);
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.ok && result.params.messagetype, 'edoc');
  });

  it('refuses a changed body, a wrong secret, an unknown system, a stale timestamp and altered headers', () => {
    const cases: Array<[string, Record<string, string>, Buffer, Date?]> = [
      ['hash-file does not match the body', signed, Buffer.from('{"subject":"khác"}')],
      ['signature does not match', signRequest({ systemId: 'vendor-1', secret: 'guess', body, now: NOW }), body],
      ['unknown system id', signRequest({ systemId: 'vendor-2', secret: SECRET, body, now: NOW }), body],
      ['outside the allowed skew', signed, body, new Date(NOW.getTime() + 301_000)],
      ['differs from what was signed', { ...signed, 'XroadVnpt-messagetype': 'status' }, body],
      ['missing XroadVnpt-hash-header', Object.fromEntries(Object.entries(signed).filter(([k]) => k !== 'XroadVnpt-hash-header')), body],
    ];
    for (const [why, headers, b, at] of cases) {
      const result = verify(headers, b, at);
      assert.equal(result.ok, false, why);
      assert.ok(!result.ok && result.reason.includes(why), `${why}: got ${!result.ok && result.reason}`);
    }
  });

  it('verifies a body hashed as it streamed in the same way as the body itself', () => {
    const streamed = signRequestWithBodyHash({ systemId: 'vendor-1', secret: SECRET, bodySha256Hex: sha256Hex(body), now: NOW });
    const secretFor = (id: string) => (id === 'vendor-1' ? SECRET : undefined);
    assert.ok(verify(streamed, body).ok);
    assert.ok(verifyRequestWithBodyHash(lookup(streamed), sha256Hex(body), secretFor, NOW, 300_000).ok);
    const other = verifyRequestWithBodyHash(lookup(streamed), sha256Hex(Buffer.from('khác')), secretFor, NOW, 300_000);
    assert.ok(!other.ok && other.reason === 'hash-file does not match the body');
    const forged = verifyRequestWithBodyHash(lookup({ ...streamed, 'XroadVnpt-hash-header': '0'.repeat(64) }), sha256Hex(body), secretFor, NOW, 300_000);
    assert.ok(!forged.ok && forged.reason === 'signature does not match');
    const headersOnly = verifySignedHeaders(lookup(streamed), secretFor, NOW, 300_000);
    assert.ok(headersOnly.ok && headersOnly.params['hash-file'] === sha256Hex(body), 'the signed headers alone name the hash the body must have');
  });

  it('refuses a signature that leaves the body hash out of the signed headers', () => {
    const timestamp = axisTimestamp(NOW);
    const prefixed = { 'XroadVnpt-timestamp': timestamp, 'XroadVnpt-systemid': 'vendor-1' };
    const signHeader = JSON.stringify(prefixed);
    const headers = { ...prefixed, 'XroadVnpt-sign-header-key': 'timestamp;systemid', 'XroadVnpt-sign-header': signHeader, 'XroadVnpt-hash-header': createHmac('sha256', SECRET).update(signHeader).digest('hex') };
    const result = verify(headers, body);
    assert.ok(!result.ok && result.reason.includes('hash-file is not among the signed headers'));
  });
});

describe('multipart/form-data', () => {
  it('carries a body and its files, Vietnamese file names included', () => {
    const pdf = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x0d, 0x0a, 0x2d, 0x2d, 0x00, 0xff]);
    const built = buildMultipart(Buffer.from('{"a":1}'), 'application/json', 'văn-bản.json', [{ name: 'công văn số 1.pdf', bytes: pdf }]);
    const parsed = parseMultipart(built.bytes, built.contentType);
    assert.equal(parsed.body.toString(), '{"a":1}');
    assert.equal(parsed.bodyContentType, 'application/json');
    assert.equal(parsed.fileName, 'văn-bản.json');
    assert.deepEqual(parsed.sideFiles, [{ name: 'công văn số 1.pdf', bytes: pdf }]);
  });

  it('refuses a body without its boundary or its end', () => {
    assert.throws(() => parseMultipart(Buffer.from('hello'), 'multipart/form-data; boundary=xyz'), /no multipart boundary/);
    assert.throws(() => parseMultipart(Buffer.from('--xyz\r\nContent-Disposition: form-data; name="document"\r\n\r\nabc'), 'multipart/form-data; boundary=xyz'), /not terminated/);
  });
});
