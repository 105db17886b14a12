import { strict as assert } from 'node:assert';
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createLogger, forDocument, type Logger } from '../../../src/observability/log';

function capture(): { logger: Logger; lines: () => Record<string, unknown>[]; raw: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ destination, level: 'debug', organId: '000.00.00.H41' });
  return {
    logger,
    raw: () => chunks.join(''),
    lines: () => chunks.join('').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Every 24-character window of the key's base64 body: none may appear in a log. */
function keyFragments(pem: string): string[] {
  const body = pem.split('\n').filter((l) => !l.startsWith('-----')).join('');
  const fragments: string[] = [];
  for (let i = 0; i + 24 <= body.length; i += 24) fragments.push(body.slice(i, i + 24));
  return fragments;
}

describe('observability/log', () => {
  it('writes JSON lines carrying the DocumentId, both OrganIds and the step', () => {
    const { logger, lines } = capture();
    forDocument(logger, { documentId: '000.00.00.G22,2015/09/30,7816/VPCP-TTĐT', fromOrganId: '000.00.00.G22', toOrganId: '000.00.00.H41' }).info(
      { step: 'deliver' },
      'delivered to inbox',
    );
    const [line] = lines();
    assert.equal(line.documentId, '000.00.00.G22,2015/09/30,7816/VPCP-TTĐT');
    assert.equal(line.fromOrganId, '000.00.00.G22');
    assert.equal(line.toOrganId, '000.00.00.H41');
    assert.equal(line.step, 'deliver');
    assert.equal(line.level, 'info');
    assert.equal(line.organId, '000.00.00.H41');
    assert.equal(line.msg, 'delivered to inbox');
    assert.ok(!Number.isNaN(Date.parse(String(line.time))));
  });

  it('lets no private key material or password reach a log, however it is passed', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const der = privateKey.export({ type: 'pkcs8', format: 'der' });
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const { logger, raw } = capture();

    logger.info({ kafka: { sasl: { mechanism: 'SCRAM-SHA-512', username: 'vdxp-h41', password, passwordFile: '/etc/vdxp/kafka-sasl/password' } } }, 'config loaded');
    logger.info({ 'sasl.password': password, 'ssl.key.pem': pem, 'ssl.key.password': password }, 'librdkafka settings');
    logger.debug({ signing: { key: pem, privateKey } }, 'signing material');
    logger.debug({ keyDer: der, keyBase64: der.toString('base64') }, 'key bytes');
    logger.warn(`read key ${pem}`);
    logger.warn('connecting to %s with %o', `https://vdxp-h41:${password}@qlvb.example/api`, { password });
    logger.error(new Error(`cannot parse key: ${pem} (password=${password})`));
    logger.error({ err: new Error(`SASL failed for password "${password}"`) }, 'kafka auth');
    const child = logger.child({ credentials: { password }, token: password });
    child.info('child logger');
    createPrivateKey(pem); // the key is real: the assertions below are about real key text

    const out = raw();
    assert.ok(!out.includes(password), 'the password appears in the log');
    for (const fragment of keyFragments(pem)) assert.ok(!out.includes(fragment), `key material appears in the log: ${fragment}`);
    assert.ok(!out.includes('PRIVATE KEY-----\n'));
    assert.ok(out.includes('/etc/vdxp/kafka-sasl/password'), 'paths to secret files stay visible for operators');
    assert.ok(out.includes('vdxp-h41'), 'non-secret fields survive');
    assert.equal(out.trimEnd().split('\n').length, 9);
  });

  it('keeps an error logged alone as an err object with its (scrubbed) message', () => {
    const { logger, lines } = capture();
    logger.error(new Error('broker certificate untrusted'));
    const [line] = lines();
    assert.equal(line.msg, 'broker certificate untrusted');
    assert.equal((line.err as { message: string }).message, 'broker certificate untrusted');
    assert.equal((line.err as { type: string }).type, 'Error');
  });
});
