/**
 * Issue 16 point 15: the HMAC test vector, the Python example and the curl example of
 * docs/VENDOR-GUIDE.md are taken from the page and checked against the connector: the vector
 * against src/connectors/http/signing.ts, both scripts against a real HttpSource (202) and, with
 * the vector's timestamp, against the vector. The same ingest answers malformed input with the
 * status codes the guide's table gives.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HttpSource, type HttpSourceOptions } from '../../../src/connectors/http';
import { parseAxisTimestamp, sha256Hex, signRequestWithBodyHash } from '../../../src/connectors/http/signing';
import type { VendorMessage } from '../../../src/connectors/types';
import { makeSendHandler } from '../../../src/pipeline/send';
import { Spool } from '../../../src/pipeline/spool';
import { profileByName } from '../../../src/transform';
import { withDefaults } from '../../../src/limits';
import { createLogger } from '../../../src/observability/log';
import { freePort, postToIngest } from '../../support/vendor-systems';
import { REPO_ROOT } from '../../support/paths';
import { blocksUnder } from '../../support/markdown';

const GUIDE = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'VENDOR-GUIDE.md'), 'utf8');
const SECTION = '### HTTP';

/** Runs a command without blocking the event loop (the ingest under test lives in this process). */
function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** `| name | value |` rows of the markdown tables in a section, backticks removed. */
function tableValues(markdown: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const [, name, value] of markdown.matchAll(/^\| `?([^|`]+?)`? \| `?([^|]+?)`? \|$/gm)) values.set(name!.trim(), value!.replace(/`$/, '').trim());
  return values;
}

const section = GUIDE.slice(GUIDE.indexOf('**Test vector.**'), GUIDE.indexOf('**In Python**'));
const vector = tableValues(section);
const [vectorBody] = blocksUnder(GUIDE, SECTION, 'text');
const [python] = blocksUnder(GUIDE, SECTION, 'python');
const shell = blocksUnder(GUIDE, SECTION, 'sh').find((b) => b.includes('sign-and-send.sh'));
const EXPECTED_HEADERS = ['XroadVnpt-hash-file', 'XroadVnpt-sign-header-key', 'XroadVnpt-sign-header', 'XroadVnpt-hash-header'];

describe('the HMAC test vector and the Python and curl examples (issue 16 point 15)', function () {
  this.timeout(30_000);
  let dir: string;
  let body: string;
  let secretFile: string;
  let source: HttpSource;
  let url: string;
  const received: VendorMessage[] = [];

  before(async () => {
    assert.ok(vectorBody && python && shell, 'the guide has the vector body, the Python and the shell example');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-hmac-doc-'));
    body = path.join(dir, 'status-03.json');
    fs.writeFileSync(body, vectorBody.replace(/\n$/, ''));
    secretFile = path.join(dir, 'qlvb-g22.secret');
    fs.writeFileSync(secretFile, `${vector.get('secret')}\n`, { mode: 0o600 }); // the final newline is trimmed
    fs.writeFileSync(path.join(dir, 'send_to_ingest.py'), python);
    fs.writeFileSync(path.join(dir, 'sign-and-send.sh'), shell, { mode: 0o755 });
    const port = await freePort();
    url = `http://127.0.0.1:${port}/documents`;
    // allowPlainHttp: plain HTTP on loopback for the test (the ingest requires an explicit choice for it).
    const options = { host: '127.0.0.1', port, allowPlainHttp: true, auth: { hmac: { clients: [{ systemId: vector.get('systemid')!, secretFile }] } } } as HttpSourceOptions;
    source = new HttpSource('vendor-ingest', options);
    await source.start(async (message, settle) => {
      received.push(message);
      await settle.accepted();
    });
  });
  after(async () => {
    await source.stop();
  });

  it('the vector is what the connector computes', () => {
    const bytes = fs.readFileSync(body);
    assert.equal(bytes.length, 177, 'the body as the guide gives it');
    const headers = signRequestWithBodyHash({
      systemId: vector.get('systemid')!,
      secret: vector.get('secret')!,
      bodySha256Hex: sha256Hex(bytes),
      params: { 'content-type': vector.get('Content-Type')! },
      now: parseAxisTimestamp(vector.get('timestamp')!)!,
    });
    for (const name of EXPECTED_HEADERS) assert.equal(vector.get(name), headers[name], name);
  });

  it('the Python example reproduces the vector, and the ingest accepts what it sends (202)', async () => {
    const dry = await run('python3', ['send_to_ingest.py', body], { cwd: dir, env: { ...process.env, SECRET_FILE: secretFile, TIMESTAMP: vector.get('timestamp'), DRY_RUN: '1' } });
    assert.equal(dry.status, 0, dry.stderr);
    const printed = JSON.parse(dry.stdout) as Record<string, string>;
    for (const name of EXPECTED_HEADERS) assert.equal(printed[name], vector.get(name), name);
    const sent = await run('python3', ['send_to_ingest.py', body], { cwd: dir, env: { ...process.env, SECRET_FILE: secretFile, INGEST_URL: url } });
    assert.equal(sent.status, 0, sent.stderr);
    assert.match(sent.stdout, /^202 \{"status":"accepted"\}/);
    assert.equal(received.at(-1)?.body.toString('utf8'), fs.readFileSync(body, 'utf8'));
  });

  it('the curl example reproduces the vector, and the ingest accepts what it sends (202)', async () => {
    // A stand-in curl on the PATH prints the headers it was given: the script's signature for the vector.
    const shim = path.join(dir, 'shim');
    fs.mkdirSync(shim, { recursive: true });
    fs.writeFileSync(path.join(shim, 'curl'), '#!/usr/bin/env bash\nwhile [ $# -gt 0 ]; do [ "$1" = -H ] && printf "%s\\n" "$2"; shift; done\n', { mode: 0o755 });
    const dry = await run('bash', ['sign-and-send.sh', body], { cwd: dir, env: { ...process.env, PATH: `${shim}:${process.env.PATH}`, SECRET_FILE: secretFile, TIMESTAMP: vector.get('timestamp') } });
    assert.equal(dry.status, 0, dry.stderr);
    const printed = new Map(dry.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)] as const));
    for (const name of EXPECTED_HEADERS) assert.equal(printed.get(name), vector.get(name), name);
    const sent = await run('bash', ['sign-and-send.sh', body], { cwd: dir, env: { ...process.env, SECRET_FILE: secretFile, INGEST_URL: url } });
    assert.equal(sent.status, 0, sent.stderr);
    assert.match(sent.stdout, /\{"status":"accepted"\}\n+202\n$/);
  });
});

describe('the status code of malformed input is the one the guide gives (issue 16 point 15)', function () {
  this.timeout(30_000);

  async function answerTo(profile: string, body: string, contentType: string): Promise<{ status: number; reason?: unknown }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-ingest-codes-'));
    const secretFile = path.join(dir, 'secret');
    fs.writeFileSync(secretFile, 's3cret');
    const port = await freePort();
    const source = new HttpSource('vendor-ingest', { host: '127.0.0.1', port, allowPlainHttp: true, auth: { hmac: { clients: [{ systemId: 'v', secretFile }] } } } as HttpSourceOptions);
    const spool = await Spool.open();
    await source.start(
      makeSendHandler({
        organId: '000.00.00.H41',
        limits: withDefaults(),
        profile: profileByName(profile),
        profileOptions: {},
        producer: { send: async () => undefined, sendFile: async () => undefined, topicExists: async () => true },
        spool,
        log: createLogger({ level: 'silent' }),
      }),
    );
    try {
      const answer = await postToIngest(`http://127.0.0.1:${port}/documents`, Buffer.from(body), contentType, { systemId: 'v', secret: 's3cret' });
      return { status: answer.status, reason: answer.json.reason };
    } finally {
      await source.stop();
      await spool.close();
    }
  }

  it('400 for XML that is not well-formed or has a DTD, 422 for JSON that is not JSON or an unacceptable package', async () => {
    assert.deepEqual(await answerTo('edxml', '<edXML><unclosed></edXML>', 'application/xml'), { status: 400, reason: 'malformed-xml' });
    assert.deepEqual(await answerTo('edxml', '<?xml version="1.0"?><!DOCTYPE edXML []><edXML/>', 'application/xml'), { status: 400, reason: 'dtd-forbidden' });
    assert.deepEqual(await answerTo('json', '{"subject": ', 'application/json'), { status: 422, reason: 'mapping-failed' });
    assert.deepEqual(await answerTo('json', JSON.stringify({ to: ['000.00.00.G22'], number: '1', notation: 'X', promulgationDate: '2026-11-23', subject: 's' }), 'application/json'), {
      status: 422,
      reason: 'invalid-edxml',
    });
  });
});
