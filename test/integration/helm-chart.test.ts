/**
 * The Helm chart, rendered by the real helm binary (.tools/bin/helm): lint, then assertions on
 * what a cluster would receive for the two sample agencies and for values the chart must refuse.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { AGENCY_CONFIG_SCHEMA } from '../../src/config/schema';
import { parseConfig } from '../../src/config/load';
import { loadTrustStore } from '../../src/signature';
import { REPO_ROOT } from '../support/paths';

const CHART = path.join(REPO_ROOT, 'helm', 'vdxp-connector');
const EXAMPLES = path.join(CHART, 'examples');
const H41 = path.join(EXAMPLES, 'values-000.00.00.H41.yaml');
const G22 = path.join(EXAMPLES, 'values-000.00.00.G22.yaml');
/** The smallest agency the chart renders (the chart's own defaults carry none). */
const MINIMAL = path.join(REPO_ROOT, 'helm', 'tests', 'minimal-agency-values.yaml');
const KUBE_VERSION = '1.30.0';

type Manifest = { kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [key: string]: any };

function helmBinary(): string {
  const local = path.join(REPO_ROOT, '.tools', 'bin', 'helm');
  return fs.existsSync(local) ? local : 'helm';
}

function helm(args: string[]): { status: number | null; out: string } {
  const result = spawnSync(helmBinary(), args, { encoding: 'utf8' });
  if (result.error) throw new Error(`cannot run helm (scripts/setup.sh builds it into .tools/bin): ${result.error.message}`);
  return { status: result.status, out: result.stdout + result.stderr };
}

function render(valueFiles: string[], sets: string[] = [], release = 'h41', namespace = 'vdxp-h41', kubeVersion = KUBE_VERSION): Manifest[] {
  const args = ['template', release, CHART, '--kube-version', kubeVersion, '--namespace', namespace];
  for (const f of valueFiles) args.push('-f', f);
  for (const s of sets) args.push('--set', s);
  const { status, out } = helm(args);
  assert.equal(status, 0, out);
  return YAML.parseAllDocuments(out)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

function refusal(valueFiles: string[], sets: string[]): string {
  const args = ['template', 'h41', CHART, '--kube-version', KUBE_VERSION];
  for (const f of valueFiles) args.push('-f', f);
  for (const s of sets) args.push('--set', s);
  const { status, out } = helm(args);
  assert.notEqual(status, 0, `helm should have refused ${sets.join(' ')}`);
  return out;
}

function only(manifests: Manifest[], kind: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `expected one ${kind}, got ${found.length}`);
  return found[0]!;
}

function exampleConfig(file: string): Record<string, any> {
  return YAML.parse(fs.readFileSync(file, 'utf8')).config;
}

/** Every string under a key ending in `File`, plus trust anchors and CRLs. */
function secretFilePaths(config: Record<string, any>): string[] {
  const paths: string[] = [...(config.trust?.anchors ?? []), ...(config.trust?.crls ?? [])];
  const walk = (node: unknown) => {
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key.endsWith('File') && typeof value === 'string') paths.push(value);
      else walk(value);
    }
  };
  walk(config);
  return paths;
}

function matchesSelector(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

describe('helm chart vdxp-connector (real helm)', function () {
  this.timeout(60_000);

  it('passes helm lint --strict with both sample agencies and the minimal one', () => {
    for (const values of [[H41], [G22], [MINIMAL]]) {
      const args = ['lint', '--strict', '--kube-version', KUBE_VERSION, CHART, ...values.flatMap((f) => ['-f', f])];
      const { status, out } = helm(args);
      assert.equal(status, 0, out);
      assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('carries no agency of its own: with the defaults alone, lint and render fail naming the required keys', () => {
    const lint = helm(['lint', '--strict', '--kube-version', KUBE_VERSION, CHART]);
    assert.notEqual(lint.status, 0);
    assert.match(lint.out, /at '\/config': missing properties 'organId', 'kafka', 'connectors'/);
    const template = helm(['template', 'h53', CHART, '--kube-version', KUBE_VERSION]);
    assert.notEqual(template.status, 0);
    assert.match(template.out, /missing properties 'organId', 'kafka', 'connectors'/);
    const defaults = YAML.parse(fs.readFileSync(path.join(CHART, 'values.yaml'), 'utf8'));
    assert.deepEqual(defaults.config, {}, 'the default config is empty');
  });

  describe('000.00.00.H41 (UBND Tỉnh Nghệ An)', () => {
    const manifests = render([H41]);
    const config = exampleConfig(H41);
    const deployment = only(manifests, 'Deployment');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const volumes = new Map<string, any>(pod.volumes.map((v: any) => [v.name, v]));
    const mountOf = (file: string) => container.volumeMounts.find((m: any) => file.startsWith(m.mountPath + '/'));

    it('renders the agency config into a ConfigMap that the config loader accepts, with the scratch budget derived from scratch.sizeLimit', () => {
      const configMap = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'h41-vdxp-connector-config')!;
      const text: string = configMap.data['agency.yaml'];
      const sizeLimit = YAML.parse(fs.readFileSync(path.join(CHART, 'values.yaml'), 'utf8')).scratch.sizeLimit;
      assert.equal(sizeLimit, '2Gi');
      assert.deepEqual(YAML.parse(text), { ...config, limits: { ...config.limits, maxScratchBytes: 1024 * 1024 * 1024 } }, 'verbatim, plus half of the 2Gi emptyDir for reassembly');
      const loaded = parseConfig(text, 'agency.yaml');
      assert.equal(loaded.organId, '000.00.00.H41');
      assert.equal(loaded.organName, 'UBND Tỉnh Nghệ An');
      assert.deepEqual(loaded.kafka.brokers, config.kafka.brokers);
    });

    it('runs the connector on that config, non-root, read-only root filesystem, no privilege escalation', () => {
      assert.deepEqual(container.args, ['run', '--config', '/etc/vdxp/config/agency.yaml']);
      assert.equal(volumes.get(mountOf('/etc/vdxp/config/agency.yaml').name).configMap.name, 'h41-vdxp-connector-config');
      assert.equal(container.image, 'registry.example.gov.vn/vdxp/vdxp-connector:0.1.0');
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.ok(pod.securityContext.runAsUser > 0);
      assert.equal(container.securityContext.runAsNonRoot, true);
      assert.equal(container.securityContext.readOnlyRootFilesystem, true);
      assert.equal(container.securityContext.allowPrivilegeEscalation, false);
      assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
      assert.equal(pod.automountServiceAccountToken, false);
    });

    it('wires the probes to /healthz and /readyz on the ops port', () => {
      assert.deepEqual(container.ports, [{ name: 'ops', containerPort: 9464, protocol: 'TCP' }]);
      assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'ops' });
      assert.deepEqual(container.startupProbe.httpGet, { path: '/healthz', port: 'ops' });
      assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'ops' });
      assert.ok(pod.terminationGracePeriodSeconds > 25, 'longer than the default drain timeout');
    });

    it('reads every secret from a file mounted read-only from the Secret (or trust ConfigMap) named in values', () => {
      const expected: Record<string, { secret?: string; configMap?: string }> = {
        '/etc/vdxp/kafka-tls': { secret: 'vdxp-h41-kafka-client' },
        '/etc/vdxp/kafka-sasl': { secret: 'vdxp-h41-kafka-scram' },
        '/etc/vdxp/signing': { secret: 'vdxp-h41-signing' },
        '/etc/vdxp/trust': { configMap: 'vdxp-trust-bundle' },
      };
      const files = secretFilePaths(config);
      assert.ok(files.length >= 8);
      for (const file of files) {
        const mount = mountOf(file);
        assert.ok(mount, `${file} is not on any mounted volume`);
        assert.equal(mount.readOnly, true);
        const volume = volumes.get(mount.name);
        const want = expected[mount.mountPath];
        assert.ok(want, `${file} is mounted from an unexpected path ${mount.mountPath}`);
        if (want.secret) assert.equal(volume.secret.secretName, want.secret);
        else assert.equal(volume.configMap.name, want.configMap);
      }
      const envText = JSON.stringify(container.env);
      assert.ok(!/password|BEGIN/i.test(envText.replace(/passwordFile/g, '')), 'no secret travels in env');
    });

    it('gives each pod its own Kafka client id through a single-key environment override', () => {
      const names = container.env.map((e: any) => e.name);
      assert.ok(names.indexOf('POD_NAME') < names.indexOf('VDXP__KAFKA__CLIENTID'), 'POD_NAME must be defined first for $(POD_NAME)');
      const clientId = container.env.find((e: any) => e.name === 'VDXP__KAFKA__CLIENTID');
      assert.equal(clientId.value, 'vdxp-000.00.00.H41-$(POD_NAME)');
    });

    it('puts the file-drop folders on the claim the chart creates, kept on uninstall', () => {
      const pvc = only(manifests, 'PersistentVolumeClaim');
      assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany']);
      assert.equal(pvc.spec.storageClassName, 'nfs-client');
      assert.equal(pvc.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
      for (const dir of ['/data/outbox', '/data/inbox']) {
        const mount = mountOf(dir + '/x');
        assert.equal(volumes.get(mount.name).persistentVolumeClaim.claimName, pvc.metadata.name);
        assert.notEqual(mount.readOnly, true);
      }
    });

    it('scales with an HPA bounded by the partition count, and leaves replicas to it', () => {
      const hpa = only(manifests, 'HorizontalPodAutoscaler');
      assert.equal(hpa.apiVersion, 'autoscaling/v2');
      assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
      assert.equal(hpa.spec.minReplicas, 2);
      assert.equal(hpa.spec.maxReplicas, config.kafka.topics.partitions);
      assert.equal(deployment.spec.replicas, undefined);
    });

    it('has a PodDisruptionBudget and a NetworkPolicy that select the pods', () => {
      const podLabels = deployment.spec.template.metadata.labels;
      const pdb = only(manifests, 'PodDisruptionBudget');
      assert.equal(pdb.spec.maxUnavailable, 1);
      // Not-ready pods (Kafka outage, stale CRL) must not block node drains.
      assert.equal(pdb.spec.unhealthyPodEvictionPolicy, 'AlwaysAllow');
      assert.equal(only(render([H41], [], 'h41', 'vdxp-h41', '1.26.0'), 'PodDisruptionBudget').spec.unhealthyPodEvictionPolicy, undefined, 'not on API servers that do not know it');
      assert.ok(matchesSelector(pdb.spec.selector.matchLabels, podLabels));
      const policy = only(manifests, 'NetworkPolicy');
      assert.ok(matchesSelector(policy.spec.podSelector.matchLabels, podLabels));
      assert.deepEqual(policy.spec.policyTypes, ['Ingress', 'Egress']);
    });

    it('lets traffic out only to Kafka, the vendor endpoint and DNS', () => {
      const policy = only(manifests, 'NetworkPolicy');
      const egress: any[] = policy.spec.egress;
      assert.equal(egress.length, 3);
      const [kafka, vendor, dns] = egress;
      assert.deepEqual(kafka.ports, [{ port: 9093, protocol: 'TCP' }]);
      assert.equal(kafka.to[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'], 'kafka');
      assert.deepEqual(vendor.to, [{ ipBlock: { cidr: '10.42.10.0/24' } }]);
      assert.deepEqual(vendor.ports, [{ port: 443, protocol: 'TCP' }]);
      assert.deepEqual(dns.ports.map((p: any) => p.port), [53, 53]);
      assert.deepEqual(policy.spec.ingress.map((r: any) => r.ports[0].port), [9464]);
    });

    it('lets Prometheus find /metrics through a ServiceMonitor on the Service', () => {
      const service = only(manifests, 'Service');
      const monitor = only(manifests, 'ServiceMonitor');
      assert.ok(matchesSelector(monitor.spec.selector.matchLabels, service.metadata.labels!));
      assert.ok(matchesSelector(service.spec.selector, deployment.spec.template.metadata.labels));
      assert.deepEqual(monitor.spec.endpoints[0].port, 'ops');
      assert.deepEqual(monitor.spec.endpoints[0].path, '/metrics');
      assert.equal(monitor.metadata.labels?.release, 'kube-prometheus-stack');
    });

    it('ships the alert rules scoped to this release, and the dashboard for the Grafana sidecar', () => {
      const rule = only(manifests, 'PrometheusRule');
      const alerts = rule.spec.groups[0].rules.map((r: any) => r.alert);
      assert.deepEqual(alerts.sort(), [
        'VdxpCertificateExpiringSoon',
        'VdxpConnectorNotReady',
        'VdxpConnectorUnavailable',
        'VdxpConsumerLagGrowing',
        'VdxpConsumerStuck',
        'VdxpDeadLetters',
        'VdxpDocumentUndeliveredTooLong',
        'VdxpDocumentsOverdue',
        'VdxpOcspResponderFailing',
        'VdxpOutgoingRejections',
        'VdxpRecordsSkipped',
        'VdxpSignatureRejectionsRising',
        'VdxpSinkBreakerOpen',
        'VdxpTrustOptOut',
        'VdxpVolumeFillingUp',
      ]);
      for (const r of rule.spec.groups[0].rules) assert.match(r.expr, /namespace="vdxp-h41", job="h41-vdxp-connector"/);
      const dashboard = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.labels?.grafana_dashboard === '1')!;
      assert.ok(dashboard, 'dashboard ConfigMap with the sidecar label');
      const json = JSON.parse(dashboard.data['vdxp-connector.json']);
      assert.match(json.uid, /^vdxp-000-00-00-h41-[0-9a-f]{8}$/);
      assert.equal(json.title, 'VDXP connector — 000.00.00.H41 (vdxp-h41)');
    });

    it('rolls the pods when the agency config changes', () => {
      const other = only(render([H41], ['config.limits.maxXmlDepth=32']), 'Deployment');
      const checksum = (d: Manifest) => d.spec.template.metadata.annotations['checksum/config'];
      assert.notEqual(checksum(other), checksum(deployment));
    });
  });

  describe('000.00.00.G22 (Văn phòng Chính phủ)', () => {
    const manifests = render([G22], [], 'g22', 'vdxp-g22');
    const pod = only(manifests, 'Deployment').spec.template.spec;

    it('mounts the existing NFS export for the folders instead of creating a claim', () => {
      assert.equal(manifests.filter((m) => m.kind === 'PersistentVolumeClaim').length, 0);
      const data = pod.volumes.find((v: any) => v.name === 'data');
      assert.deepEqual(data.nfs, { server: 'nfs.vpcp.example', path: '/exports/vanthu' });
      const mount = pod.containers[0].volumeMounts.find((m: any) => m.name === 'data');
      assert.equal(mount.mountPath, '/srv/vanthu');
    });

    it('renders a config the loader accepts, with its own topics and thresholds', () => {
      const configMap = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'g22-vdxp-connector-config')!;
      const loaded = parseConfig(configMap.data['agency.yaml'], 'agency.yaml');
      assert.equal(loaded.organId, '000.00.00.G22');
      assert.equal(loaded.organName, 'Văn phòng Chính phủ');
      assert.equal(only(manifests, 'HorizontalPodAutoscaler').spec.maxReplicas, 12);
      const undelivered = only(manifests, 'PrometheusRule').spec.groups[0].rules.find((r: any) => r.alert === 'VdxpDocumentUndeliveredTooLong');
      assert.match(undelivered.expr, /> 1800$/);
    });
  });

  describe('optional parts', () => {
    it('leaves out ServiceMonitor, PrometheusRule and dashboard by default, and can drop HPA, PDB and NetworkPolicy', () => {
      const defaults = render([MINIMAL]);
      const kinds = defaults.map((m) => m.kind);
      for (const kind of ['ServiceMonitor', 'PrometheusRule']) assert.ok(!kinds.includes(kind), kind);
      assert.ok(!defaults.some((m) => m.metadata.labels?.grafana_dashboard));
      const bare = render([H41], ['autoscaling.enabled=false', 'replicaCount=3', 'podDisruptionBudget.enabled=false', 'networkPolicy.enabled=false']);
      const bareKinds = bare.map((m) => m.kind);
      for (const kind of ['HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy']) assert.ok(!bareKinds.includes(kind), kind);
      assert.equal(only(bare, 'Deployment').spec.replicas, 3);
    });
  });

  describe('the trail web page (config.trail.web)', () => {
    const web = ['config.trail.web.enabled=true', 'config.trail.web.port=9465', 'config.trail.web.tokenFile=/etc/vdxp/trail-web/token', 'networkPolicy.trailWebFrom[0].ipBlock.cidr=10.20.0.0/16'];
    it('opens its own port on the pod and the Service, mounts the token from its Secret, and lets in only trailWebFrom', () => {
      const manifests = render([H41], web);
      const deployment = only(manifests, 'Deployment');
      const container = deployment.spec.template.spec.containers[0];
      assert.ok(container.ports.some((p: any) => p.name === 'trail-web' && p.containerPort === 9465));
      assert.ok(only(manifests, 'Service').spec.ports.some((p: any) => p.name === 'trail-web' && p.port === 9465));
      assert.ok(container.volumeMounts.some((m: any) => m.name === 'trail-web' && m.mountPath === '/etc/vdxp/trail-web' && m.readOnly));
      assert.ok(deployment.spec.template.spec.volumes.some((v: any) => v.name === 'trail-web' && v.secret?.secretName === 'h41-vdxp-connector-trail-web'));
      const rule = only(manifests, 'NetworkPolicy').spec.ingress.find((r: any) => r.ports?.[0]?.port === 9465);
      assert.deepEqual(rule.from, [{ ipBlock: { cidr: '10.20.0.0/16' } }]);
    });

    it('has no such port when the page is off, and refuses a token file outside its Secret', () => {
      const container = only(render([H41]), 'Deployment').spec.template.spec.containers[0];
      assert.ok(!container.ports.some((p: any) => p.name === 'trail-web'));
      assert.match(refusal([H41], [...web.slice(0, 2), 'config.trail.web.tokenFile=/tmp/token']), /config\.trail\.web\.tokenFile is "\/tmp\/token", which is not under secrets\.trailWeb\.mountPath/);
    });
  });

  describe('the VXP API (a connector of type vxp)', () => {
    it('opens its port on the pod and the Service, and lets in only networkPolicy.vxpFrom', () => {
      const values = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'helm-vxp-')), 'vxp.yaml');
      fs.writeFileSync(
        values,
        [
          'config:',
          '  connectors:',
          '    - { name: outbox, type: file-drop, direction: source, options: { dir: /data/outbox } }',
          '    - { name: vxp, type: vxp, direction: source, options: { port: 8443, allowPlainHttp: true, clients: [{ systemId: "000.00.00.H41", secretFile: /etc/vdxp/secrets/vxp }] } }',
          'networkPolicy:',
          '  vxpFrom: [{ ipBlock: { cidr: 10.20.30.0/24 } }]',
        ].join('\n'),
      );
      const manifests = render([H41, values]);
      const container = only(manifests, 'Deployment').spec.template.spec.containers[0];
      assert.ok(container.ports.some((p: any) => p.name === 'vxp' && p.containerPort === 8443));
      assert.ok(only(manifests, 'Service').spec.ports.some((p: any) => p.name === 'vxp' && p.port === 8443 && p.targetPort === 'vxp'));
      const rule = only(manifests, 'NetworkPolicy').spec.ingress.find((r: any) => r.ports?.[0]?.port === 8443);
      assert.deepEqual(rule.from, [{ ipBlock: { cidr: '10.20.30.0/24' } }]);
      assert.ok(!only(render([H41]), 'Deployment').spec.template.spec.containers[0].ports.some((p: any) => p.name === 'vxp'));
    });
  });

  describe('refusals', () => {
    it('refuses an inline Kafka password with the message that says what to do', () => {
      const out = refusal([H41], ['config.kafka.sasl.password=hunter2']);
      assert.match(out, /config\.kafka\.sasl\.password must not be inline: put it in a Secret and set config\.kafka\.sasl\.passwordFile/);
    });

    it('says why a file-drop folder must be on the volume (it is no secret)', () => {
      const out = refusal([H41], ['config.connectors[0].options.dir=/tmp/outbox']);
      assert.match(out, /connector outbox options\.dir is "\/tmp\/outbox", which is not under persistence\.mountPath \(\/data\): a file-drop folder must be on the shared volume/);
      assert.doesNotMatch(out, /secrets/);
    });

    it('refuses added capabilities and an unconfined seccomp profile', () => {
      assert.match(refusal([H41], ['securityContext.capabilities.add={SYS_ADMIN}']), /at '\/securityContext\/capabilities\/add\/0': value must be 'NET_BIND_SERVICE'/);
      assert.match(refusal([H41], ['securityContext.capabilities.drop={NET_RAW}']), /at '\/securityContext\/capabilities\/drop'/);
      assert.match(refusal([H41], ['podSecurityContext.seccompProfile.type=Unconfined']), /at '\/podSecurityContext\/seccompProfile\/type': value must be one of 'RuntimeDefault', 'Localhost'/);
      assert.match(refusal([H41], ['securityContext.seccompProfile.type=Unconfined']), /at '\/securityContext\/seccompProfile\/type'/);
    });

    it('refuses a ReadWriteOnce claim for replicas on several nodes, and ReadWriteOncePod for several replicas', () => {
      assert.match(refusal([H41], ['persistence.accessModes={ReadWriteOnce}']), /persistence\.accessModes is ReadWriteOnce, which one node alone may mount, but up to 6 replicas may run on several nodes/);
      assert.match(
        refusal([H41], ['persistence.accessModes={ReadWriteOncePod}', 'autoscaling.enabled=false', 'replicaCount=2']),
        /ReadWriteOncePod, which one pod alone may mount, but up to 2 replicas run/,
      );
      // One replica, or replicas pinned to one node, may share a ReadWriteOnce claim.
      render([H41], ['persistence.accessModes={ReadWriteOnce}', 'autoscaling.enabled=false', 'replicaCount=1']);
      render([H41], ['persistence.accessModes={ReadWriteOnce}', 'nodeSelector.kubernetes\\.io/hostname=node-7']);
    });

    it('refuses a plaintext or unauthenticated backbone unless the named opt-out is set (Decision 28/2018)', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-helm-'));
      const plain = exampleConfig(H41);
      delete plain.kafka.tls;
      delete plain.kafka.sasl;
      const plainFile = path.join(dir, 'plain.yaml');
      fs.writeFileSync(plainFile, YAML.stringify({ config: plain }));
      const out = refusal([plainFile], []);
      assert.match(out, /config\.kafka: the backbone connection is not encrypted \(config\.kafka\.tls\.enabled is not true\) and not authenticated \(no config\.kafka\.sasl and no TLS client certificate\); Decision 28\/2018\/QĐ-TTg requires it/);
      assert.match(out, /allowInsecureBackbone: true/);
      const tlsOnly = exampleConfig(H41);
      delete tlsOnly.kafka.sasl;
      tlsOnly.kafka.tls = { enabled: true, caFile: '/etc/vdxp/kafka-tls/ca.crt' };
      const tlsOnlyFile = path.join(dir, 'tls-only.yaml');
      fs.writeFileSync(tlsOnlyFile, YAML.stringify({ config: tlsOnly }));
      assert.match(refusal([tlsOnlyFile], []), /is not authenticated/);
      // Mutual TLS authenticates too; the opt-out renders a plaintext test release.
      const mtls = exampleConfig(H41);
      delete mtls.kafka.sasl;
      const mtlsFile = path.join(dir, 'mtls.yaml');
      fs.writeFileSync(mtlsFile, YAML.stringify({ config: mtls }));
      render([mtlsFile]);
      render([plainFile], ['allowInsecureBackbone=true']);
    });

    it('refuses a drain that does not fit in the termination grace period', () => {
      assert.match(
        refusal([H41], ['config.delivery.drainTimeoutMs=45000']),
        /config\.delivery\.drainTimeoutMs \(45000 ms\) is not shorter than terminationGracePeriodSeconds \(40 s\)/,
      );
      render([H41], ['config.delivery.drainTimeoutMs=45000', 'terminationGracePeriodSeconds=60']);
    });

    it('refuses a secret file outside the mount of its Secret', () => {
      assert.match(
        refusal([H41], ['config.signing.keyFile=/tmp/signing.key']),
        /config\.signing\.keyFile is "\/tmp\/signing\.key", which is not under secrets\.signing\.mountPath/,
      );
    });

    it('refuses file-drop connectors without a volume for their folders', () => {
      assert.match(refusal([H41], ['persistence.enabled=false']), /connector "outbox" is a file-drop on "\/data\/outbox" but no volume is mounted/);
    });

    it('refuses more replicas than partitions', () => {
      assert.match(refusal([H41], ['autoscaling.maxReplicas=8']), /autoscaling\.maxReplicas \(8\) exceeds config\.kafka\.topics\.partitions \(6\)/);
    });

    it('refuses to weaken the container security context', () => {
      assert.match(refusal([H41], ['securityContext.readOnlyRootFilesystem=false']), /readOnlyRootFilesystem/);
      assert.match(refusal([H41], ['securityContext.allowPrivilegeEscalation=true']), /allowPrivilegeEscalation/);
    });

    it('refuses a release without trust material, and accepts the explicit opt-out without mounting a trust Secret (issue 13 hole 4)', () => {
      assert.match(refusal([H41], ['config.trust=null']), /trust/);
      const values = YAML.parse(fs.readFileSync(H41, 'utf8'));
      values.config.trust = { insecureSkipVerification: true };
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-helm-optout-')), 'values.yaml');
      fs.writeFileSync(file, YAML.stringify(values));
      // The chart's default config carries no agency (and no trust material), so the opt-out stands alone.
      const optedOut = render([file]);
      const configMap = optedOut.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'h41-vdxp-connector-config')!;
      assert.equal(parseConfig(configMap.data['agency.yaml'], 'agency.yaml').trust.insecureSkipVerification, true, 'the loader accepts the rendered opt-out');
      const volumes: string[] = only(optedOut, 'Deployment').spec.template.spec.volumes.map((v: any) => v.name as string);
      assert.ok(!volumes.some((v) => v.includes('trust')), `no trust volume: ${volumes.join(', ')}`);
    });

    it('refuses a scratch budget that the emptyDir cannot hold, or one too small for the largest package', () => {
      assert.match(refusal([H41], ['config.limits.maxScratchBytes=3000000000']), /config\.limits\.maxScratchBytes \(3000000000\) must be below scratch\.sizeLimit \(2Gi = 2147483648 bytes\)/);
      assert.match(refusal([H41], ['scratch.sizeLimit=300Mi']), /maxScratchBytes \(157286400, from scratch\.sizeLimit 300Mi unless set\) is below config\.limits\.maxPackageBytes/);
      const small = render([H41], ['scratch.sizeLimit=600Mi', 'config.limits.maxPackageBytes=100000000']);
      const text = small.find((m) => m.kind === 'ConfigMap')!.data['agency.yaml'];
      assert.equal(parseConfig(text, 'agency.yaml').limits.maxScratchBytes, 300 * 1024 * 1024);
    });

    it('refuses config keys the loader does not know (same schema as the loader)', () => {
      assert.match(refusal([H41], ['config.kafka.brokerz=x']), /brokerz/);
    });
  });

  describe('a release gets nothing from another agency (issue 16 point 5)', () => {
    it('renders exactly the config the release gives: no TLS client certificate, OrganId, user or name of H41', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-helm-'));
      const own = {
        organId: '000.00.12.H53',
        kafka: { brokers: ['kafka-0.kafka.kafka.svc.cluster.local:9093'], tls: { enabled: true, caFile: '/etc/vdxp/kafka-tls/ca.crt' }, sasl: { mechanism: 'SCRAM-SHA-512', username: 'vdxp-h53', passwordFile: '/etc/vdxp/kafka-sasl/password' } },
        trust: { anchors: ['/etc/vdxp/trust/ca.pem'], crls: ['/etc/vdxp/trust/ca.crl'] },
        connectors: [{ name: 'inbox', type: 'file-drop', direction: 'sink', options: { dir: '/data/inbox' } }],
      };
      const file = path.join(dir, 'h53.yaml');
      fs.writeFileSync(file, YAML.stringify({ config: own }));
      const manifests = render([file], [], 'h53', 'vdxp-h53');
      const configMap = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'h53-vdxp-connector-config')!;
      // Exactly its own config, plus the scratch budget the chart derives from its scratch.sizeLimit (2Gi).
      assert.deepEqual(YAML.parse(configMap.data['agency.yaml']), { ...own, limits: { maxScratchBytes: 1024 * 1024 * 1024 } });
      const text = JSON.stringify(manifests);
      for (const leaked of ['H41', 'vdxp-h41', 'Nghệ An', 'tls.crt', 'signing']) assert.ok(!text.includes(leaked), `${leaked} leaked into the H53 release`);
      assert.equal(only(manifests, 'Deployment').metadata.labels!['vdxp.gov.vn/organ-id'], '000.00.12.H53');
    });
  });

  describe('several agencies in one cluster (issue 16 point 9)', () => {
    it('each release has its own dashboard uid', () => {
      const uid = (manifests: Manifest[]) => JSON.parse(manifests.find((m) => m.metadata.labels?.grafana_dashboard === '1')!.data['vdxp-connector.json']).uid as string;
      const h41 = uid(render([H41]));
      const g22 = uid(render([G22], ['dashboard.enabled=true'], 'g22', 'vdxp-g22'));
      const h41Staging = uid(render([H41], [], 'h41', 'vdxp-h41-staging'));
      assert.equal(new Set([h41, g22, h41Staging]).size, 3, `${h41} ${g22} ${h41Staging}`);
      for (const u of [h41, g22, h41Staging]) assert.ok(u.length <= 40 && /^[a-z0-9-]+$/.test(u), u);
    });

    it('makes the trust ConfigMap in the release namespace from values, and mounts it', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-helm-'));
      const bundle = path.join(dir, 'trust-bundle.yaml');
      const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
      const crl = '-----BEGIN X509 CRL-----\nMIIC\n-----END X509 CRL-----\n';
      fs.writeFileSync(bundle, YAML.stringify({ secrets: { trust: { configMapName: '', files: { 'ca.pem': pem, 'ca.crl': crl } } } }));
      for (const [values, release, ns] of [[H41, 'h41', 'vdxp-h41'], [G22, 'g22', 'vdxp-g22']] as const) {
        const sets = release === 'g22' ? ['secrets.trust.secretName='] : [];
        const manifests = render([values, bundle], sets, release, ns);
        const trust = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === `${release}-vdxp-connector-trust`)!;
        assert.ok(trust, `${release}: trust ConfigMap`);
        assert.deepEqual(trust.data, { 'ca.pem': pem, 'ca.crl': crl });
        const pod = only(manifests, 'Deployment').spec.template.spec;
        assert.equal(pod.volumes.find((v: any) => v.name === 'trust').configMap.name, `${release}-vdxp-connector-trust`);
      }
      assert.match(refusal([H41, bundle], ['config.trust.anchors={/etc/vdxp/trust/national-ca.pem}']), /config\.trust\.anchors\[0\] is "\/etc\/vdxp\/trust\/national-ca\.pem", but secrets\.trust\.files has no "national-ca\.pem"/);
      assert.match(refusal([H41, bundle], ['secrets.trust.configMapName=vdxp-trust-bundle']), /leave configMapName and secretName empty/);
    });
  });

  describe('the national CA preset (issue 17 point 4)', () => {
    const presetValues = (extra: Record<string, unknown> = {}) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-helm-national-'));
      const file = path.join(dir, 'national.yaml');
      fs.writeFileSync(file, YAML.stringify({
        config: {
          trust: {
            anchors: 'national',
            crls: ['/etc/vdxp/trust/rootcag2.crl'],
            identityRules: [{ organId: '000.00.00.T01', subject: 'UID=MST:0301519977-029', issuer: 'C=VN, O=Ban Cơ yếu Chính phủ, CN=CA phục vụ các cơ quan Nhà nước G2' }],
          },
        },
        ...extra,
      }));
      return { dir, file };
    };

    it('mounts the chart\'s own copy of the government CAs from a ConfigMap and points the config at it; the connector accepts those files', async () => {
      const { dir, file } = presetValues();
      const manifests = render([MINIMAL, file], [], 't01', 'vdxp-t01');
      const national = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 't01-vdxp-connector-national-ca');
      assert.ok(national, 'the national CA ConfigMap');
      const shipped = path.join(REPO_ROOT, 'config', 'trust', 'national-ca');
      const pems = fs.readdirSync(shipped).filter((f) => f.endsWith('.pem')).sort();
      assert.deepEqual(Object.keys(national.data).sort(), pems);
      for (const f of pems) assert.equal(national.data[f], fs.readFileSync(path.join(shipped, f), 'utf8'), f);
      const pod = only(manifests, 'Deployment').spec.template.spec;
      assert.equal(pod.volumes.find((v: any) => v.name === 'national-ca').configMap.name, 't01-vdxp-connector-national-ca');
      assert.deepEqual(pod.containers[0].volumeMounts.find((m: any) => m.name === 'national-ca'), { name: 'national-ca', mountPath: '/etc/vdxp/national-ca', readOnly: true });
      const configMap = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 't01-vdxp-connector-config')!;
      const config = parseConfig(configMap.data['agency.yaml'], 'agency.yaml');
      assert.equal(config.trust.anchors, 'national');
      assert.equal(config.trust.nationalCaDir, '/etc/vdxp/national-ca');
      // What the pod would read: the ConfigMap's files pass the connector's pinned fingerprints.
      const mounted = path.join(dir, 'mounted');
      fs.mkdirSync(mounted);
      for (const [name, text] of Object.entries(national.data as Record<string, string>)) fs.writeFileSync(path.join(mounted, name), text);
      const trust = await loadTrustStore({ anchors: 'national', nationalCaDir: mounted, revocation: 'best-effort' });
      assert.equal(trust.anchors.length, 2);
      fs.writeFileSync(path.join(mounted, 'rootca-g2.pem'), national.data['rootca-g1.pem']);
      await assert.rejects(loadTrustStore({ anchors: 'national', nationalCaDir: mounted, revocation: 'best-effort' }), /not the pinned certificate/);
    });

    it('leaves the image\'s copy in use with nationalCa.mount: false, and mounts nothing without a preset', () => {
      const { file } = presetValues({ nationalCa: { mount: false, mountPath: '/etc/vdxp/national-ca' } });
      const fromImage = render([MINIMAL, file], [], 't01', 'vdxp-t01');
      assert.ok(!fromImage.some((m) => m.metadata.name === 't01-vdxp-connector-national-ca'));
      const configMap = fromImage.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 't01-vdxp-connector-config')!;
      assert.equal(parseConfig(configMap.data['agency.yaml'], 'agency.yaml').trust.nationalCaDir, undefined);
      const plain = render([MINIMAL], [], 't01', 'vdxp-t01');
      assert.ok(!plain.some((m) => m.metadata.name.endsWith('national-ca')));
      assert.ok(!only(plain, 'Deployment').spec.template.spec.volumes.some((v: any) => v.name === 'national-ca'));
    });

    it('takes the preset beside anchor files in a list, and still checks the files are under the trust mount', () => {
      const manifests = render([MINIMAL], ['config.trust.anchors={national,/etc/vdxp/trust/ca.pem}'], 't01', 'vdxp-t01');
      assert.ok(manifests.some((m) => m.metadata.name === 't01-vdxp-connector-national-ca'));
      assert.match(refusal([MINIMAL], ['config.trust.anchors={national,/tmp/ca.pem}']), /config\.trust\.anchors\[1\] is "\/tmp\/ca\.pem", which is not under secrets\.trust\.mountPath/);
    });
  });

  it('values.schema.json validates config with exactly the config loader schema', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(CHART, 'values.schema.json'), 'utf8'));
    const { description: _description, ...configSchema } = schema.properties.config;
    assert.deepEqual(
      configSchema,
      JSON.parse(JSON.stringify(AGENCY_CONFIG_SCHEMA)),
      'out of date: run `node helm/tools/sync-config-schema.js` after building',
    );
  });
});
