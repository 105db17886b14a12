/**
 * Issue 19 point 3: what `helm template` renders is what a Kubernetes API server with strict
 * field validation accepts. tools/k8s-manifest-check (built here with the machine's Go, modules
 * from the proxy) decodes every rendered object strictly into the typed objects of k8s.io/api and,
 * for the ServiceMonitor and PrometheusRule, of the prometheus-operator: an unknown or misspelt
 * field (wrong case included), a wrong type or an unknown kind fails.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { REPO_ROOT } from '../support/paths';

const CHART = path.join(REPO_ROOT, 'helm', 'vdxp-connector');
const H41 = path.join(CHART, 'examples', 'values-000.00.00.H41.yaml');
const G22 = path.join(CHART, 'examples', 'values-000.00.00.G22.yaml');
const MINIMAL = path.join(REPO_ROOT, 'helm', 'tests', 'minimal-agency-values.yaml');
const TOOL_DIR = path.join(REPO_ROOT, 'tools', 'k8s-manifest-check');
const KUBE_VERSION = '1.30.0';

function helmBinary(): string {
  const local = path.join(REPO_ROOT, '.tools', 'bin', 'helm');
  return fs.existsSync(local) ? local : 'helm';
}

function render(valueFiles: string[], sets: string[] = [], kubeVersion = KUBE_VERSION): string {
  const args = ['template', 'h41', CHART, '--kube-version', kubeVersion, '--namespace', 'vdxp-h41'];
  for (const f of valueFiles) args.push('-f', f);
  for (const s of sets) args.push('--set', s);
  const result = spawnSync(helmBinary(), args, { encoding: 'utf8' });
  assert.equal(result.status, 0, `helm ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

describe('the chart renders objects that decode strictly into the Kubernetes API types (issue 19 point 3)', function () {
  this.timeout(60_000);
  let tool = '';

  before(function () {
    // A cold build fetches k8s.io/api and the prometheus-operator's types from the module proxy
    // and compiles them: a few minutes on 2 cores; Go's build cache makes later builds seconds.
    this.timeout(900_000);
    tool = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-k8s-check-')), 'k8s-manifest-check');
    const build = spawnSync('go', ['build', '-o', tool, '.'], { cwd: TOOL_DIR, encoding: 'utf8', env: { ...process.env, CGO_ENABLED: '0' } });
    if (build.error) throw new Error(`cannot run go (the machine's Go builds tools/k8s-manifest-check): ${build.error.message}`);
    assert.equal(build.status, 0, `go build tools/k8s-manifest-check: ${build.stderr}`);
  });

  function check(manifests: string): { status: number | null; out: string } {
    const result = spawnSync(tool, ['-'], { input: manifests, encoding: 'utf8' });
    return { status: result.status, out: result.stdout + result.stderr };
  }

  function accepted(manifests: string): string[] {
    const { status, out } = check(manifests);
    assert.equal(status, 0, out);
    const objects = YAML.parseAllDocuments(manifests).map((d) => d.toJS()).filter((m) => m);
    assert.match(out, new RegExp(`^${objects.length} objects ok, 0 failed$`, 'm'), 'every rendered object was checked');
    return out.split('\n').filter((l) => l.startsWith('ok ')).map((l) => l.split(' ').slice(1, 3).join(' '));
  }

  it('accepts the chart with its defaults (the minimal agency), and both example agencies', () => {
    const base = ['networking.k8s.io/v1 NetworkPolicy', 'policy/v1 PodDisruptionBudget', 'v1 ServiceAccount', 'v1 ConfigMap', 'v1 Service', 'apps/v1 Deployment', 'autoscaling/v2 HorizontalPodAutoscaler'];
    const minimal = accepted(render([MINIMAL]));
    for (const kind of [...base, 'v1 PersistentVolumeClaim']) assert.ok(minimal.includes(kind), `${kind} in ${minimal.join(', ')}`);
    for (const values of [H41, G22]) {
      const kinds = accepted(render([values]));
      for (const kind of [...base, 'monitoring.coreos.com/v1 ServiceMonitor', 'monitoring.coreos.com/v1 PrometheusRule']) {
        assert.ok(kinds.includes(kind), `${path.basename(values)}: ${kind} in ${kinds.join(', ')}`);
      }
    }
  });

  it('accepts the optional parts too: dashboard, trail web page, trust ConfigMap from values, a plaintext test backbone, Kubernetes 1.26', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-k8s-values-'));
    const bundle = path.join(dir, 'trust-bundle.yaml');
    fs.writeFileSync(bundle, YAML.stringify({ secrets: { trust: { configMapName: '', secretName: '', files: { 'ca.pem': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', 'ca.crl': '-----BEGIN X509 CRL-----\nMIIC\n-----END X509 CRL-----\n' } } } }));
    const kinds = accepted(
      render([G22, bundle], ['dashboard.enabled=true', 'config.trail.web.enabled=true', 'config.trail.web.tokenFile=/etc/vdxp/trail-web/token', 'networkPolicy.trailWebFrom[0].ipBlock.cidr=10.20.0.0/16', 'config.trust.anchors={/etc/vdxp/trust/ca.pem}', 'config.trust.crls={/etc/vdxp/trust/ca.crl}']),
    );
    assert.ok(kinds.filter((k) => k === 'v1 ConfigMap').length >= 3, kinds.join(', '));
    // A throwaway test release on a plaintext backbone (the chart refuses it without the opt-out).
    const plain = YAML.parse(fs.readFileSync(MINIMAL, 'utf8'));
    delete plain.config.kafka.tls;
    delete plain.config.kafka.sasl;
    const plainFile = path.join(dir, 'plain.yaml');
    fs.writeFileSync(plainFile, YAML.stringify(plain));
    accepted(render([plainFile], ['allowInsecureBackbone=true', 'autoscaling.enabled=false', 'replicaCount=1']));
    accepted(render([H41], [], '1.26.0'));
  });

  it('refuses a misspelt field that helm itself renders without complaint, naming where it is', () => {
    // The chart passes `env` through as it is: helm renders the typo, an API server would not take it.
    const manifests = render([H41], ['env[0].name=EXTRA', 'env[0].valeu=x']);
    const { status, out } = check(manifests);
    assert.equal(status, 1, out);
    assert.match(out, /FAIL \(stdin\) document \d+ apps\/v1 Deployment h41-vdxp-connector: unknown field "spec\.template\.spec\.containers\[0\]\.env\[\d+\]\.valeu"/);
    assert.match(out, /^10 objects ok, 1 failed$/m);
  });

  it('refuses a field in the wrong case, a wrong type, a duplicate key and an unknown kind', () => {
    const manifests = render([H41]);
    const failure = (text: string) => {
      assert.notEqual(text, manifests, 'the test changed the manifests');
      const { status, out } = check(text);
      assert.equal(status, 1, out);
      return out;
    };
    assert.match(failure(manifests.replace('readOnlyRootFilesystem:', 'readOnlyRootFileSystem:')), /unknown field "spec\.template\.spec\.containers\[0\]\.securityContext\.readOnlyRootFileSystem"/);
    assert.match(failure(manifests.replace('containerPort: 9464', 'containerPort: "9464"')), /cannot unmarshal string into Go struct field .*containerPort of type int32/);
    assert.match(failure(manifests.replace('  revisionHistoryLimit: 5\n', '  revisionHistoryLimit: 5\n  revisionHistoryLimit: 6\n')), /Deployment h41-vdxp-connector: .*"revisionHistoryLimit" (already set|duplicate)/i);
    assert.match(failure(manifests.replace('kind: HorizontalPodAutoscaler', 'kind: HorizontalPodAutoScaler')), /no API type for apiVersion "autoscaling\/v2" kind "HorizontalPodAutoScaler"/);
  });

  it('checks the ServiceMonitor and PrometheusRule against the prometheus-operator types', () => {
    const manifests = render([H41]);
    const monitor = manifests.replace('      scrapeTimeout: 10s', '      scrapeTimout: 10s');
    assert.notEqual(monitor, manifests);
    assert.match(check(monitor).out, /FAIL \(stdin\) document \d+ monitoring\.coreos\.com\/v1 ServiceMonitor h41-vdxp-connector: unknown field "spec\.endpoints\[0\]\.scrapeTimout"/);
    const rule = manifests.replace(/\n(\s+)for: /, '\n$1fro: ');
    assert.notEqual(rule, manifests);
    assert.match(check(rule).out, /FAIL \(stdin\) document \d+ monitoring\.coreos\.com\/v1 PrometheusRule h41-vdxp-connector: unknown field "spec\.groups\[0\]\.rules\[\d+\]\.fro"/);
  });
});
