/**
 * Signing through a PKCS#11 token (issue 17 point 1), against real SoftHSM2 tokens made at test
 * time, through OpenSC's pkcs11-spy so that every C_Login the connector makes is counted by a
 * component that is not ours. xmlsec1 verifies what the token signed.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { verify as verifyBytes, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as pkcs11js from 'pkcs11js';
import { signPackage, verifyPackage } from '../../../src/signature';
import { acquireModule, releaseModule } from '../../../src/signature/pkcs11/loaded-modules';
import { TokenKey, type Pkcs11Settings, type TokenKeyOptions } from '../../../src/signature/pkcs11/token-key';
import { isTokenError, type TokenFailure } from '../../../src/signature/pkcs11/token-failure';
import { makeTestPki, ORGAN_H41, type TestPki } from '../../support/pki';
import { DEFAULT_LIMITS } from '../../../src/limits';
import type { AgencyConfig } from '../../../src/config/types';
import { createLogger } from '../../../src/observability/log';
import { createMetrics } from '../../../src/observability/metrics';
import { loadSignatureSupport } from '../../../src/pipeline/signature-support';
import { makeToken, SOFTHSM_MODULE, SPY_MODULE, spyLogins, storeOf, type TestToken } from '../../support/softhsm';
import { packageFrom, trustFor, withoutPlaceholder } from '../../support/signature-fixtures';

const H41_SUBJECT = `/C=VN/O=So Noi vu/CN=So Noi vu ${ORGAN_H41}/UID=${ORGAN_H41}`;

describe('signature: the agency key in a PKCS#11 token (SoftHSM2)', function () {
  this.timeout(120_000);
  let pki: TestPki;
  let dir: string;
  let spyLog: string;
  let good: TestToken;
  const saved = { conf: process.env.SOFTHSM2_CONF, spy: process.env.PKCS11SPY, out: process.env.PKCS11SPY_OUTPUT };
  const open: TokenKey[] = [];

  const settingsOf = (token: TestToken, extra: Partial<Pkcs11Settings> = {}): Pkcs11Settings => ({
    module: SPY_MODULE,
    token: { label: token.label },
    key: { label: token.keyLabel },
    pinFile: token.pinFile,
    ...extra,
  });
  const keyOf = (settings: Pkcs11Settings, options: Partial<TokenKeyOptions> = {}) => {
    const key = new TokenKey(settings, { certificateFromToken: false, retryIntervalMs: 0, ...options });
    open.push(key);
    return key;
  };
  const failureOf = (key: TokenKey): TokenFailure | undefined => key.check()?.failure;
  const unsigned = () => Buffer.from(withoutPlaceholder(packageFrom(ORGAN_H41)));

  before(async () => {
    pki = await makeTestPki();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-pkcs11-'));
    spyLog = path.join(dir, 'spy.log');
    good = await makeToken({ dir, label: 'h41-signing', subject: H41_SUBJECT, pki, certificateOnToken: true });
    // Every module of this file is the spy in front of SoftHSM, in one token store.
    process.env.SOFTHSM2_CONF = good.conf;
    process.env.PKCS11SPY = SOFTHSM_MODULE;
    process.env.PKCS11SPY_OUTPUT = spyLog;
  });
  afterEach(() => {
    for (const key of open.splice(0)) key.close();
  });
  after(() => {
    for (const [name, value] of [['SOFTHSM2_CONF', saved.conf], ['PKCS11SPY', saved.spy], ['PKCS11SPY_OUTPUT', saved.out]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('signs with the key inside the token; xmlsec1 and our verifier accept it, chained to the test root', async () => {
    const key = keyOf(settingsOf(good), { certificateFromToken: true });
    const certPem = new X509Certificate(key.certificateDer()!).toString();
    assert.equal(new X509Certificate(certPem).fingerprint256, new X509Certificate(fs.readFileSync(good.certPath)).fingerprint256, 'the certificate read from the token');
    const signed = signPackage(unsigned(), { key, certPem });
    const file = path.join(dir, 'signed-by-token.edxml');
    fs.writeFileSync(file, signed);
    execFileSync('xmlsec1', ['--verify', '--trusted-pem', pki.rootCaPath, '--enabled-key-data', 'x509', file], { stdio: 'pipe' });
    const outcome = verifyPackage(signed, await trustFor(pki));
    assert.equal(outcome.status, 'valid');
    assert.equal(outcome.status === 'valid' && outcome.signer.fingerprint, good.fingerprint);
  });

  it('the key was generated in the token and cannot be read or wrapped out of it', () => {
    const module = acquireModule(SPY_MODULE);
    const { lib } = module;
    try {
      const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === good.label)!;
      const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      try {
        lib.C_Login(session, pkcs11js.CKU_USER, good.pin);
      } catch (err) {
        if (!/CKR_USER_ALREADY_LOGGED_IN/.test((err as Error).message)) throw err;
      }
      lib.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_LABEL, value: good.keyLabel }]);
      const [privateKey] = lib.C_FindObjects(session, 2);
      lib.C_FindObjectsFinal(session);
      assert.ok(privateKey);
      const flags = lib.C_GetAttributeValue(session, privateKey, [{ type: pkcs11js.CKA_LOCAL }, { type: pkcs11js.CKA_NEVER_EXTRACTABLE }, { type: pkcs11js.CKA_ALWAYS_SENSITIVE }]);
      assert.deepEqual(flags.map((a) => a.value[0]), [1, 1, 1], 'CKA_LOCAL (made on the token), CKA_NEVER_EXTRACTABLE, CKA_ALWAYS_SENSITIVE');
      for (const secret of [pkcs11js.CKA_PRIVATE_EXPONENT, pkcs11js.CKA_PRIME_1, pkcs11js.CKA_VALUE]) {
        assert.throws(() => lib.C_GetAttributeValue(session, privateKey, [{ type: secret }]), /CKR_ATTRIBUTE_SENSITIVE|CKR_ATTRIBUTE_TYPE_INVALID/);
      }
      const wrappingKey = lib.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_WRAP, value: true },
        { type: pkcs11js.CKA_TOKEN, value: false },
      ]);
      assert.throws(() => lib.C_WrapKey(session, { mechanism: pkcs11js.CKM_AES_KEY_WRAP_PAD }, wrappingKey, privateKey, Buffer.alloc(4096)), /CKR_KEY_UNEXTRACTABLE/);
      assert.throws(() => lib.C_SetAttributeValue(session, privateKey, [{ type: pkcs11js.CKA_EXTRACTABLE, value: true }]), /CKR_ATTRIBUTE_READ_ONLY|CKR_ACTION_PROHIBITED/);
      lib.C_CloseSession(session);
    } finally {
      releaseModule(module);
    }
  });

  it('refuses a key that can leave the token (key-exportable), before signing anything', async () => {
    const exportable = await makeToken({ dir, label: 'h41-exportable', subject: H41_SUBJECT, pki, exportable: true });
    const key = keyOf(settingsOf(exportable));
    const failure = key.check();
    assert.equal(failure?.failure, 'key-exportable');
    assert.match(failure!.message, /CKA_EXTRACTABLE true/);
    assert.throws(() => signPackage(unsigned(), { key, certPem: fs.readFileSync(exportable.certPath) }), (err: unknown) => isTokenError(err) && err.failure === 'key-exportable');
  });

  it('a wrong PIN: pin-incorrect after exactly one C_Login, none again however often it is probed or asked to sign; a new PIN is tried once', async () => {
    const token = await makeToken({ dir, label: 'h41-wrong-pin', subject: H41_SUBJECT, pki });
    const pinFile = path.join(dir, 'wrong.pin');
    fs.writeFileSync(pinFile, '0000\n');
    const logins: string[] = [];
    const before = spyLogins(spyLog).length;
    // retryIntervalMs 0: every probe and every signature may try to open the token again.
    const key = keyOf(settingsOf(token, { pinFile }), { events: { login: (outcome) => logins.push(outcome) } });
    assert.equal(failureOf(key), 'pin-incorrect');
    assert.match(key.check()!.message, /the PIN is wrong \(CKR_PIN_INCORRECT\).*not tried again until the PIN file changes/);
    for (let i = 0; i < 25; i++) key.check();
    for (let i = 0; i < 5; i++) assert.throws(() => key.signRsaSha256(Buffer.from('x')), (err: unknown) => isTokenError(err) && err.failure === 'pin-incorrect');
    fs.writeFileSync(pinFile, '0000\n'); // rewritten with the same PIN: still not tried
    assert.equal(failureOf(key), 'pin-incorrect');
    assert.deepEqual(spyLogins(spyLog).slice(before), ['CKR_PIN_INCORRECT'], 'one C_Login, seen by pkcs11-spy');
    assert.deepEqual(logins, ['pin-incorrect']);

    // The token itself is not locked (SoftHSM 2.6 never locks; it flags CKF_USER_PIN_COUNT_LOW).
    const module = acquireModule(SPY_MODULE);
    try {
      const slot = module.lib.C_GetSlotList(true).find((s) => module.lib.C_GetTokenInfo(s).label.trim() === token.label)!;
      assert.equal(module.lib.C_GetTokenInfo(slot).flags & (pkcs11js.CKF_USER_PIN_LOCKED | pkcs11js.CKF_USER_PIN_FINAL_TRY), 0);
    } finally {
      releaseModule(module);
    }

    fs.writeFileSync(pinFile, `${token.pin}\n`);
    assert.equal(key.check(), undefined);
    assert.deepEqual(spyLogins(spyLog).slice(before), ['CKR_PIN_INCORRECT', 'CKR_OK']);
    assert.deepEqual(logins, ['pin-incorrect', 'ok']);
    const signature = key.signRsaSha256(Buffer.from('signed in the token'));
    assert.ok(verifyBytes('sha256', Buffer.from('signed in the token'), new X509Certificate(fs.readFileSync(token.certPath)).publicKey, signature));
  });

  it('a missing token: token-not-found naming the tokens present, with no login; found once it exists', async () => {
    const before = spyLogins(spyLog).length;
    const late = { label: 'h41-late', pinFile: good.pinFile, keyLabel: 'agency-signing' } as TestToken;
    const key = keyOf(settingsOf(late));
    const failure = key.check();
    assert.equal(failure?.failure, 'token-not-found');
    assert.match(failure!.message, /the token labelled "h41-late".*no such token present; present: .*"h41-signing" \(serial /);
    assert.equal(spyLogins(spyLog).length, before, 'no C_Login while there is no token');
    const token = await makeToken({ dir, label: 'h41-late', subject: H41_SUBJECT, pki, pin: good.pin });
    assert.equal(key.check(), undefined, 'found on the next attempt (the module is initialised again)');
    assert.ok(verifyBytes('sha256', Buffer.from('late'), new X509Certificate(fs.readFileSync(token.certPath)).publicKey, key.signRsaSha256(Buffer.from('late'))));
  });

  it('the token removed while in use: token-removed from a signature and from the readiness probe; usable again once it is back', async () => {
    const token = await makeToken({ dir, label: 'h41-removable', subject: H41_SUBJECT, pki });
    const failures: TokenFailure[] = [];
    let recovered = 0;
    const key = keyOf(settingsOf(token), { events: { failed: (e) => failures.push(e.failure), recovered: () => recovered++ } });
    const publicKey = new X509Certificate(fs.readFileSync(token.certPath)).publicKey;
    assert.ok(verifyBytes('sha256', Buffer.from('a'), publicKey, key.signRsaSha256(Buffer.from('a'))));
    const store = storeOf(token);
    const away = path.join(dir, 'unplugged');

    // Removed: the probe alone notices (C_GetTokenInfo fails: SoftHSM answers CKR_GENERAL_ERROR).
    fs.renameSync(store, away);
    assert.equal(failureOf(key), 'token-not-found');
    assert.deepEqual(failures, ['token-removed', 'token-not-found']);
    fs.renameSync(away, store);
    assert.equal(key.check(), undefined);
    assert.equal(recovered, 1);

    // Removed again: now a signature is the first to notice.
    fs.renameSync(store, away);
    assert.throws(() => key.signRsaSha256(Buffer.from('b')), (err: unknown) => isTokenError(err) && err.failure === 'token-removed' && /CKR_OBJECT_HANDLE_INVALID/.test(err.message));
    fs.renameSync(away, store);
    assert.ok(verifyBytes('sha256', Buffer.from('c'), publicKey, key.signRsaSha256(Buffer.from('c'))));
    assert.equal(recovered, 2);
  });

  it('a token replaced by another with the same label: its key does not belong to the certificate, nothing is signed with it', async () => {
    const token = await makeToken({ dir, label: 'h41-replaced', subject: H41_SUBJECT, pki });
    const key = keyOf(settingsOf(token));
    const credentials = { key, certPem: fs.readFileSync(token.certPath) };
    signPackage(unsigned(), credentials);
    fs.rmSync(storeOf(token), { recursive: true });
    assert.equal(failureOf(key), 'token-not-found');
    const impostor = await makeToken({ dir, label: 'h41-replaced', subject: H41_SUBJECT, pki, pin: token.pin });
    assert.notEqual(impostor.fingerprint, token.fingerprint);
    assert.equal(key.check(), undefined, 'the new token opens');
    assert.throws(() => signPackage(unsigned(), credentials), /the key in the token does not belong to the signing certificate/);
  });

  it('a module that cannot be loaded: module-unavailable; a loaded module whose file is deleted keeps working until it is loaded again', async () => {
    const missing = keyOf(settingsOf(good, { module: path.join(dir, 'no-such-module.so') }));
    assert.equal(failureOf(missing), 'module-unavailable');
    assert.match(missing.check()!.message, /cannot load the PKCS#11 module .*no-such-module\.so/);

    // A copy of SoftHSM of its own (another file: loaded apart from the spy's).
    const copy = path.join(dir, 'libsofthsm2-copy.so');
    fs.copyFileSync(SOFTHSM_MODULE, copy);
    const token = await makeToken({ dir, label: 'h41-module', subject: H41_SUBJECT, pki });
    const key = keyOf(settingsOf(token, { module: copy }));
    const publicKey = new X509Certificate(fs.readFileSync(token.certPath)).publicKey;
    assert.ok(verifyBytes('sha256', Buffer.from('a'), publicKey, key.signRsaSha256(Buffer.from('a'))));
    fs.rmSync(copy);
    assert.ok(verifyBytes('sha256', Buffer.from('b'), publicKey, key.signRsaSha256(Buffer.from('b'))), 'the mapped library goes on');
    const store = storeOf(token);
    fs.renameSync(store, `${dir}/module-token-away`);
    assert.equal(failureOf(key), 'module-unavailable', 'loading it again fails');
    fs.copyFileSync(SOFTHSM_MODULE, copy);
    fs.renameSync(`${dir}/module-token-away`, store);
    assert.equal(key.check(), undefined);
  });

  it('an unreadable or empty PIN file: pin-unreadable, no login', () => {
    const before = spyLogins(spyLog).length;
    assert.equal(failureOf(keyOf(settingsOf(good, { pinFile: path.join(dir, 'absent.pin') }))), 'pin-unreadable');
    const empty = path.join(dir, 'empty.pin');
    fs.writeFileSync(empty, '\n');
    assert.equal(failureOf(keyOf(settingsOf(good, { pinFile: empty }))), 'pin-unreadable');
    assert.equal(spyLogins(spyLog).length, before);
  });

  it('finds the token by serial and the key by id', () => {
    const key = keyOf(settingsOf(good, { token: { serial: good.serial }, key: { id: good.keyId } }));
    assert.equal(key.check(), undefined);
    const wrongId = keyOf(settingsOf(good, { token: { serial: good.serial }, key: { id: '7f' } }));
    assert.equal(failureOf(wrongId), 'key-not-found');
  });

  it('in the connector: /readyz names the failure, the log says it once, the metrics count it and the one login; a corrected PIN file recovers', async () => {
    const token = await makeToken({ dir, label: 'h41-connector', subject: H41_SUBJECT, pki, certificateOnToken: true });
    const pinFile = path.join(dir, 'connector.pin');
    fs.writeFileSync(pinFile, '9999');
    const lines: string[] = [];
    const log = createLogger({ organId: ORGAN_H41, level: 'info', destination: { write: (line: string) => lines.push(line) } });
    const metrics = createMetrics({ organId: ORGAN_H41, defaultMetrics: false });
    const config = {
      organId: ORGAN_H41,
      kafka: { brokers: ['127.0.0.1:1'], topics: { partitions: 1, replicationFactor: 1 } },
      signing: { pkcs11: { module: SPY_MODULE, token: { label: token.label }, key: { label: token.keyLabel }, pinFile, retryIntervalSeconds: 1 } },
      trust: { anchors: [pki.rootCaPath], crls: [pki.crlPath] },
      connectors: [],
      limits: { ...DEFAULT_LIMITS },
      ops: { port: 0, host: '127.0.0.1' },
    } as unknown as AgencyConfig;
    const before = spyLogins(spyLog).length;
    const support = await loadSignatureSupport(config, log, metrics);
    try {
      const signing = support.readiness.find((c) => c.name === 'signing')!;
      for (let i = 0; i < 5; i++) assert.match(String(await signing.check()), /^PKCS#11 signing key: pin-incorrect: logging in to the token labelled "h41-connector"/);
      assert.throws(() => support.sign!(unsigned()), (err: unknown) => isTokenError(err) && err.failure === 'pin-incorrect');
      await new Promise((r) => setTimeout(r, 1100));
      assert.match(String(await signing.check()), /pin-incorrect/);
      assert.deepEqual(spyLogins(spyLog).slice(before), ['CKR_PIN_INCORRECT']);
      const exposition = await metrics.exposition();
      assert.match(exposition, /^vdxp_signing_token_logins_total\{outcome="pin-incorrect"\} 1$/m);
      assert.match(exposition, /^vdxp_signing_token_failures_total\{reason="pin-incorrect"\} 1$/m);
      const errors = lines.map((l) => JSON.parse(l) as { level: string; tokenFailure?: string; ckr?: string; msg: string }).filter((l) => l.tokenFailure);
      assert.deepEqual(errors.map((l) => [l.level, l.tokenFailure, l.ckr]), [['error', 'pin-incorrect', 'CKR_PIN_INCORRECT']]);
      assert.ok(!lines.join('').includes('9999'), 'the PIN is never logged');

      fs.writeFileSync(pinFile, token.pin);
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(await signing.check(), true);
      const outcome = verifyPackage(support.sign!(unsigned()), await trustFor(pki));
      assert.equal(outcome.status === 'valid' && outcome.signer.fingerprint, token.fingerprint);
      assert.equal(support.signingCertificate?.fingerprint, token.fingerprint, 'the trail records the token certificate');
      assert.match(await metrics.exposition(), /^vdxp_signing_token_logins_total\{outcome="ok"\} 1$/m);
    } finally {
      support.close();
    }
  });
});

