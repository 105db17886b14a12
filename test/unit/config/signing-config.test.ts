/** The agency config's `signing:` section: a PEM key, or a key in a PKCS#11 token (issue 17 point 1). */
import { strict as assert } from 'node:assert';
import { ConfigError, parseConfig } from '../../../src/config/load';
import { fileReferences } from '../../../src/config/referenced-files';

const BASE = `
organId: 000.00.00.H41
kafka: { brokers: ['127.0.0.1:9092'] }
trust: { insecureSkipVerification: true }
connectors:
  - { name: outbox, type: file-drop, direction: source, options: { dir: /tmp/outbox } }
`;
const TOKEN = `
  pkcs11:
    module: /usr/lib/softhsm/libsofthsm2.so
    token: { label: vdxp-h41 }
    key: { label: agency-signing }
    pinFile: /etc/vdxp/signing-token/pin
`;

function problems(signing: string): string[] {
  try {
    parseConfig(`${BASE}signing:\n${signing}`);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => `${p.path}: ${p.expected}`);
  }
}

describe('config: signing with a PEM key or a PKCS#11 token', () => {
  it('accepts a token key, with the certificate from the token or from a file', () => {
    assert.deepEqual(problems(TOKEN), []);
    assert.deepEqual(problems(`${TOKEN}  certFile: /etc/vdxp/signing/tls.crt\n`), []);
    const config = parseConfig(`${BASE}signing:\n${TOKEN}`);
    assert.deepEqual(config.signing?.pkcs11?.token, { label: 'vdxp-h41' });
  });

  it('accepts the token by serial and the key by id (hex)', () => {
    const bySerial = TOKEN.replace('{ label: vdxp-h41 }', "{ serial: '1abf8a3a932ef9ca' }").replace('{ label: agency-signing }', "{ id: '0a:1b' }");
    assert.deepEqual(problems(bySerial), []);
  });

  it('refuses a PEM key and a token together, or neither', () => {
    assert.deepEqual(problems(`  keyFile: /k.pem\n  certFile: /c.pem\n${TOKEN}`), ['signing: keyFile (a PEM key) or pkcs11 (a key in a token), not both']);
    assert.deepEqual(problems('  certFile: /c.pem\n'), ['signing: keyFile (a PEM key, with certFile) or pkcs11 (a key in a token)']);
    assert.deepEqual(problems('  keyFile: /k.pem\n'), ['signing.certFile: a value (required with keyFile)']);
  });

  it('wants exactly one of label and serial for the token, of label and id for the key', () => {
    assert.deepEqual(problems(TOKEN.replace('{ label: vdxp-h41 }', "{ label: vdxp-h41, serial: '01' }")), ['signing.pkcs11.token: exactly one of label, serial']);
    assert.deepEqual(problems(TOKEN.replace('{ label: agency-signing }', '{}')), ['signing.pkcs11.key: exactly one of label, id']);
    assert.match(problems(TOKEN.replace('{ label: agency-signing }', '{ id: xyz }')).join('\n'), /signing\.pkcs11\.key\.id: expected|signing\.pkcs11\.key\.id: a string matching/);
  });

  it('refuses the PIN inline', () => {
    assert.deepEqual(problems(`${TOKEN}    pin: '1234'\n`), [
      'signing.pkcs11.pin: no inline secret: put it in a file (in Kubernetes, a mounted Secret) and set signing.pkcs11.pinFile to its path',
    ]);
  });

  it('checks the PIN file as a secret and the module as a file before the start', () => {
    const refs = fileReferences(parseConfig(`${BASE}signing:\n${TOKEN}`));
    assert.deepEqual(
      refs.filter((r) => r.path.startsWith('signing')).map((r) => [r.path, r.secret]),
      [
        ['signing.pkcs11.module', false],
        ['signing.pkcs11.pinFile', true],
      ],
    );
  });
});
