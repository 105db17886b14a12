/**
 * The Helm chart with the signing key in a PKCS#11 token (issue 17 point 1): the PIN Secret is
 * mounted read-only where config.signing.pkcs11.pinFile points, the module comes from the
 * operator's volumes, and the chart refuses a PIN file or a module it does not mount.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { REPO_ROOT } from '../support/paths';

const CHART = path.join(REPO_ROOT, 'helm', 'vdxp-connector');
const MINIMAL = path.join(REPO_ROOT, 'helm', 'tests', 'minimal-agency-values.yaml');

function helm(args: string[]): { status: number | null; out: string } {
  const local = path.join(REPO_ROOT, '.tools', 'bin', 'helm');
  const r = spawnSync(fs.existsSync(local) ? local : 'helm', args, { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('helm chart: the signing key in a PKCS#11 token', function () {
  this.timeout(60_000);
  let dir: string;
  const values = (signing: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const file = path.join(dir, `values-${Math.random().toString(16).slice(2)}.yaml`);
    fs.writeFileSync(file, YAML.stringify({ config: { signing }, ...extra }));
    return ['template', 't01', CHART, '--kube-version', '1.30.0', '-f', MINIMAL, '-f', file];
  };
  const token = (pinFile = '/etc/vdxp/signing-token/pin', module = '/opt/hsm/lib/libvendor.so') => ({
    pkcs11: { module, token: { label: 'vdxp-t01' }, key: { label: 'agency-signing' }, pinFile },
  });
  const moduleVolume = {
    pkcs11: {
      volumes: [{ name: 'hsm-client', hostPath: { path: '/opt/hsm', type: 'Directory' } }],
      volumeMounts: [{ name: 'hsm-client', mountPath: '/opt/hsm', readOnly: true }],
    },
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-helm-token-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('mounts the PIN Secret read-only and the module volume; no signing Secret when the token holds the certificate', () => {
    const { status, out } = helm(values(token(), moduleVolume));
    assert.equal(status, 0, out);
    const deployment = YAML.parseAllDocuments(out).map((d) => d.toJS()).find((m) => m?.kind === 'Deployment');
    const pod = deployment.spec.template.spec;
    const mounts = pod.containers[0].volumeMounts as Array<{ name: string; mountPath: string; readOnly?: boolean }>;
    assert.deepEqual(mounts.find((m) => m.mountPath === '/etc/vdxp/signing-token'), { name: 'signing-token', mountPath: '/etc/vdxp/signing-token', readOnly: true });
    assert.deepEqual(mounts.find((m) => m.mountPath === '/opt/hsm'), { name: 'hsm-client', mountPath: '/opt/hsm', readOnly: true });
    assert.ok(!mounts.some((m) => m.mountPath === '/etc/vdxp/signing'), 'no signing Secret to mount');
    const volumes = pod.volumes as Array<{ name: string; secret?: { secretName: string }; hostPath?: unknown }>;
    assert.equal(volumes.find((v) => v.name === 'signing-token')?.secret?.secretName, 't01-vdxp-connector-signing-token');
    assert.deepEqual(volumes.find((v) => v.name === 'hsm-client')?.hostPath, { path: '/opt/hsm', type: 'Directory' });
  });

  it('mounts the signing Secret too when the certificate is a file', () => {
    const { status, out } = helm(values({ ...token(), certFile: '/etc/vdxp/signing/tls.crt' }, moduleVolume));
    assert.equal(status, 0, out);
    assert.match(out, /mountPath: \/etc\/vdxp\/signing\n/);
  });

  it('refuses a PIN file outside the PIN Secret, an inline PIN, and a module under no mount', () => {
    const outside = helm(values(token('/tmp/pin'), moduleVolume));
    assert.notEqual(outside.status, 0);
    assert.match(outside.out, /config\.signing\.pkcs11\.pinFile is "\/tmp\/pin", which is not under secrets\.signingToken\.mountPath/);
    const inline = helm(values({ pkcs11: { ...token().pkcs11, pin: '1234' } }, moduleVolume));
    assert.notEqual(inline.status, 0);
    assert.match(inline.out, /pin/);
    const noModule = helm(values(token()));
    assert.notEqual(noModule.status, 0);
    assert.match(noModule.out, /config\.signing\.pkcs11\.module is "\/opt\/hsm\/lib\/libvendor\.so", which is under none of pkcs11\.volumeMounts/);
  });
});
