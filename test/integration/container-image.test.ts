/**
 * Issue 19 points 1, 2 and 4: the image scripts/image.sh builds from the Dockerfile, run with
 * podman as the Helm chart runs it: the sample agency configs (config/) mounted read-only from
 * where the ConfigMap goes, the trust material and the signing key as read-only files, a
 * read-only root filesystem with only /tmp and the file-drop volume writable, user 10001, no
 * capabilities, no privilege escalation; against the test Kafka on the host's loopback (host
 * networking). It checks that /readyz turns 200, that a document dropped into H41's outbox in one
 * container reaches G22's inbox in another (signed by the one, verified by the other) and the
 * status 01 comes back, and that SIGTERM drains and exits 0 within the grace period.
 *
 * The image itself: non-root numeric user, OCI labels and annotations, no compilers, package
 * managers, tests or dev dependencies; and its SBOM, written next to it, lists what it carries.
 *
 * Skipped, saying why, only where podman cannot run at all.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as YAML from 'yaml';
import { TEST_BROKERS, deliveredFiles, dropPackage, waitFor } from '../support/agency';
import { makeEdoc } from '../support/packages';
import { makeTestPki, ORGAN_G22, ORGAN_H41, type TestCredential, type TestPki } from '../support/pki';
import { freePort } from '../support/ports';
import { REPO_ROOT } from '../support/paths';

const run = promisify(execFile);
const PODMAN = ['--cgroup-manager=cgroupfs'];
const RUN_FLAGS = ['--runtime', 'runc', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
const VERSION: string = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version;
const IMAGE = `localhost/vdxp/vdxp-connector:${VERSION}`;
const OUT = path.join(REPO_ROOT, 'dist', 'image');
const CHART_VALUES = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, 'helm', 'vdxp-connector', 'values.yaml'), 'utf8'));
const GRACE_SECONDS: number = CHART_VALUES.terminationGracePeriodSeconds;
const UID: number = CHART_VALUES.podSecurityContext.runAsUser;

async function podman(args: string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await run('podman', [...PODMAN, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Inside the image, without the entrypoint, read-only and offline. */
async function inImage(entrypoint: string, args: string[]): Promise<string> {
  return podman(['run', '--rm', ...RUN_FLAGS, '--network', 'none', '--read-only', '--entrypoint', entrypoint, IMAGE, ...args]);
}

function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

interface Agency {
  organId: string;
  name: string;
  opsPort: number;
  data: string;
}

describe('the container image, run as the chart runs it (issue 19)', function () {
  this.timeout(180_000);
  let pki: TestPki;
  let base = '';
  const containers: string[] = [];

  before(async function () {
    const info = spawnSync('podman', [...PODMAN, 'info', '--format', '{{.Host.OCIRuntime.Name}}'], { encoding: 'utf8' });
    if (info.error || info.status !== 0) {
      console.log(`      skipped: podman cannot run here (${info.error?.message ?? info.stderr.trim()}); scripts/setup.sh installs podman and runc`);
      this.skip();
    }
    // The build reuses podman's layers: seconds when nothing changed, ~5 min from nothing.
    this.timeout(1_800_000);
    const build = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'image.sh')], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    assert.equal(build.status, 0, `scripts/image.sh failed:\n${(build.stdout + build.stderr).slice(-6000)}`);
    assert.equal(build.stdout.trim().split('\n').pop(), IMAGE);
    pki = await makeTestPki();
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-image-'));
    fs.chmodSync(base, 0o755);
  });

  after(async () => {
    for (const name of containers) await podman(['rm', '-f', '-t', '0', name]).catch(() => undefined);
  });

  describe('the image', () => {
    let inspect: any;
    before(async () => {
      inspect = JSON.parse(await podman(['image', 'inspect', IMAGE]))[0];
    });

    it('runs as the numeric user 10001, tini first, the chart’s arguments by default', () => {
      assert.equal(inspect.Config.User, '10001:10001');
      assert.equal(UID, 10001, 'the chart runs it as the same user');
      assert.deepEqual(inspect.Config.Entrypoint, ['/usr/bin/tini', '--', 'node', '/app/dist/src/cli/main.js']);
      assert.deepEqual(inspect.Config.Cmd, ['run', '--config', '/etc/vdxp/config/agency.yaml']);
      assert.ok(inspect.Config.Env.includes('MALLOC_MMAP_THRESHOLD_=131072'), `glibc's mmap threshold fixed (Env: ${inspect.Config.Env.join(' ')})`);
    });

    it('carries the OCI labels and annotations: version, revision, source', () => {
      const revision = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).stdout.trim();
      for (const meta of [inspect.Labels, inspect.Annotations]) {
        assert.equal(meta['org.opencontainers.image.version'], VERSION);
        assert.match(meta['org.opencontainers.image.revision'], new RegExp(`^${revision}(-dirty)?$`));
        const remote = spawnSync('git', ['config', '--get', 'remote.origin.url'], { cwd: REPO_ROOT, encoding: 'utf8' }).stdout.trim();
        assert.equal(meta['org.opencontainers.image.source'], process.env.VDXP_IMAGE_SOURCE || remote);
        assert.match(meta['org.opencontainers.image.created'], /^\d{4}-\d\d-\d\dT/);
      }
      assert.equal(inspect.Labels['org.opencontainers.image.title'], 'vdxp-connector');
    });

    it('has no compiler, package manager, tests, TypeScript sources or dev dependencies in it', async () => {
      const tools = await inImage('/bin/sh', ['-c', 'for b in gcc cc g++ c++ make python3 npm npx corepack yarn node-gyp; do command -v $b; done; true']);
      assert.equal(tools.trim(), '', 'compilers or JavaScript package managers');
      assert.deepEqual((await inImage('/bin/ls', ['/app'])).trim().split('\n'), ['config', 'dist', 'node_modules', 'package.json']);
      // config/ holds only the public national CA certificates of `trust.anchors: national`, no agency config.
      assert.deepEqual((await inImage('/usr/bin/find', ['/app/config', '-type', 'd'])).trim().split('\n').sort(), ['/app/config', '/app/config/trust', '/app/config/trust/national-ca']);
      assert.deepEqual((await inImage('/bin/ls', ['/app/dist'])).trim().split('\n'), ['src'], 'no dist/test, no dist/bench');
      assert.equal((await inImage('/bin/sh', ['-c', 'ls -d /usr/local/include/node /usr/local/lib/node_modules 2>/dev/null; true'])).trim(), '', 'no Node headers, no global npm');
      const devDependencies = Object.keys(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).devDependencies ?? {});
      assert.ok(devDependencies.length > 0);
      const present = await inImage('/bin/sh', ['-c', 'for d in "$@"; do [ -e "/app/node_modules/$d" ] && echo "$d"; done; true', 'sh', ...devDependencies]);
      assert.equal(present.trim(), '', 'dev dependencies in /app/node_modules');
      const dpkg = await inImage('/usr/bin/dpkg-query', ['-W', '-f', '${Package}\n']);
      for (const pkg of ['gcc-12', 'g++-12', 'cpp-12', 'make', 'libc6-dev', 'libssl-dev', 'python3']) assert.ok(!dpkg.split('\n').includes(pkg), `${pkg} is installed`);
      const ts = await inImage('/usr/bin/find', ['/app', '-name', '*.ts', '-not', '-name', '*.d.ts']);
      assert.equal(ts.trim(), '', 'TypeScript sources');
    });

    it('starts on a read-only root filesystem: vdxp config check of the sample config, nothing written', async () => {
      const out = await podman(['run', '--rm', ...RUN_FLAGS, '--network', 'none', '--read-only', '--read-only-tmpfs=false', '--cap-drop', 'ALL',
        '-v', `${path.join(REPO_ROOT, 'config', '000.00.00.H41.yaml')}:/etc/vdxp/config/agency.yaml:ro`, IMAGE, 'config', 'check', '--no-files', '/etc/vdxp/config/agency.yaml']);
      assert.match(out, /ok \(agency 000\.00\.00\.H41, 2 connectors; files not checked\)/);
      await assert.rejects(inImage('/usr/local/bin/node', ['-e', 'require("fs").writeFileSync("/app/x", "")']), /EROFS|read-only file system/i);
    });

    it('has its SBOM next to it: every Debian package and every npm package it carries, as CycloneDX', async () => {
      const record = JSON.parse(fs.readFileSync(path.join(OUT, `vdxp-connector-${VERSION}.image.json`), 'utf8'));
      assert.equal(record.id, inspect.Id);
      assert.ok(record.size > 50_000_000 && record.size < 600_000_000, `size ${record.size}`);
      const bom = JSON.parse(fs.readFileSync(path.join(OUT, record.sbom), 'utf8'));
      assert.equal(bom.bomFormat, 'CycloneDX');
      assert.equal(bom.specVersion, '1.5');
      assert.match(bom.metadata.component.purl, new RegExp(`^pkg:oci/vdxp-connector@sha256%3A${inspect.Id}$`));
      const purls = new Set<string>(bom.components.map((c: any) => c.purl).filter(Boolean));
      const installed = (await inImage('/usr/bin/dpkg-query', ['-W', '-f', '${db:Status-Abbrev} ${Package} ${Version}\n'])).split('\n').filter((l) => l.startsWith('ii'));
      assert.ok(installed.length > 50);
      for (const line of installed) {
        const [, name, version] = line.trim().split(/\s+/);
        assert.ok([...purls].some((p) => p.startsWith(`pkg:deb/debian/${encodeURIComponent(name!)}@${encodeURIComponent(version!)}?`)), `${name} ${version} missing from the SBOM`);
      }
      const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8'));
      for (const [where, entry] of Object.entries<any>(lock.packages)) {
        if (!where.startsWith('node_modules/') || entry.dev || entry.optional || entry.devOptional) continue;
        const name = where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
        const purl = name.startsWith('@') ? `pkg:npm/${encodeURIComponent(name.split('/')[0]!)}/${encodeURIComponent(name.split('/')[1]!)}@${entry.version}` : `pkg:npm/${encodeURIComponent(name)}@${entry.version}`;
        assert.ok(purls.has(purl), `${name}@${entry.version} (production, in package-lock.json) missing from the SBOM`);
      }
      // Dev dependencies are not in the image, so not in its SBOM either.
      for (const dev of Object.keys(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).devDependencies)) {
        assert.ok(!bom.components.some((c: any) => c.purl?.startsWith('pkg:npm/') && c.name === dev), `dev dependency ${dev} in the SBOM`);
      }
      assert.ok(bom.components.some((c: any) => c.type === 'platform' && c.name === 'node' && /^22\./.test(c.version)));
    });
  });

  describe('two agencies in two containers over the test Kafka', () => {
    function secretDir(name: string, files: Record<string, string>, mode: number): string {
      const dir = path.join(base, name);
      fs.mkdirSync(dir, { recursive: true });
      fs.chmodSync(dir, 0o755);
      for (const [file, from] of Object.entries(files)) {
        const to = path.join(dir, file);
        fs.copyFileSync(from, to);
        // As the chart mounts a Secret: root-owned, readable by the pod's fsGroup (10001).
        fs.chownSync(to, 0, UID);
        fs.chmodSync(to, mode);
      }
      return dir;
    }

    async function startAgency(organId: string, credential: TestCredential): Promise<Agency> {
      const key = organId.slice(-3).toLowerCase();
      const agency: Agency = { organId, name: `vdxp-image-test-${key}-${process.pid}`, opsPort: await freePort(), data: path.join(base, `${key}-data`) };
      for (const dir of ['outbox', 'inbox']) fs.mkdirSync(path.join(agency.data, dir), { recursive: true });
      // The file-drop volume: writable by the pod's user, as fsGroup makes it.
      for (const p of [agency.data, path.join(agency.data, 'outbox'), path.join(agency.data, 'inbox')]) fs.chownSync(p, UID, UID);
      const config = secretDir(`${key}-config`, { 'agency.yaml': path.join(REPO_ROOT, 'config', `${organId}.yaml`) }, 0o644);
      // The sample configs name the national CA's anchor and the root's and issuing CA's CRLs.
      const trust = secretDir(`${key}-trust`, { 'national-ca.pem': pki.rootCaPath, 'rootca-g2.crl': pki.crlPath, 'ca-nha-nuoc-g2.crl': pki.intermediateCrlPath }, 0o644);
      const signing = secretDir(`${key}-signing`, { 'tls.key': credential.keyPath, 'tls.crt': credential.certPath }, 0o440);
      containers.push(agency.name);
      await podman(['rm', '-f', '-t', '0', agency.name]).catch(() => undefined);
      await podman([
        'run', '--detach', '--name', agency.name, ...RUN_FLAGS,
        // The chart's pod: its security contexts, volumes and grace period.
        '--user', `${UID}:${UID}`, '--group-add', String(UID), '--read-only', '--read-only-tmpfs=false',
        '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--stop-timeout', String(GRACE_SECONDS),
        '-v', `${config}:/etc/vdxp/config:ro`, '-v', `${trust}:/etc/vdxp/trust:ro`, '-v', `${signing}:/etc/vdxp/signing:ro`,
        '-v', `${agency.data}:/data`, '--tmpfs', '/tmp:rw,size=64m,mode=1777',
        // The host's broker on 127.0.0.1 (podman runs as root here, so host networking works).
        '--network', 'host',
        '-e', `POD_NAME=${agency.name}`, '-e', 'VDXP_LOG_LEVEL=info', '-e', `VDXP__KAFKA__CLIENTID=vdxp-${organId}-${agency.name}`,
        // What differs from the sample file, as `env` in the chart's values would say it.
        '-e', `VDXP__KAFKA__BROKERS=[${TEST_BROKERS}]`, '-e', `VDXP__OPS__PORT=${agency.opsPort}`,
        '-e', 'VDXP__CONNECTORS__0__OPTIONS__DIR=/data/outbox', '-e', 'VDXP__CONNECTORS__1__OPTIONS__DIR=/data/inbox',
        '-e', 'VDXP__SIGNING={keyFile: /etc/vdxp/signing/tls.key, certFile: /etc/vdxp/signing/tls.crt}',
        IMAGE,
      ]);
      return agency;
    }

    const logs = (a: Agency) => podman(['logs', a.name]).catch((e) => String(e));

    async function ready(a: Agency): Promise<void> {
      let last = '';
      await waitFor(
        async () => {
          const r = await get(a.opsPort, '/readyz').catch((e: Error) => ({ status: 0, body: e.message }));
          last = `${r.status} ${r.body}`;
          return r.status === 200;
        },
        90_000,
        () => `${a.organId} /readyz 200 (last: ${last})`,
      );
    }

    let h41: Agency;
    let g22: Agency;

    it('turns /readyz 200 in both containers, with a read-only root filesystem', async () => {
      g22 = await startAgency(ORGAN_G22, pki.g22);
      h41 = await startAgency(ORGAN_H41, pki.h41);
      try {
        await ready(g22);
        await ready(h41);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- G22:\n${(await logs(g22)).slice(-3000)}\n--- H41:\n${(await logs(h41)).slice(-3000)}`);
      }
      const state = JSON.parse(await podman(['inspect', h41.name]))[0];
      assert.equal(state.HostConfig.ReadonlyRootfs, true);
      assert.equal(state.Config.User, `${UID}:${UID}`);
      await assert.rejects(podman(['exec', h41.name, 'node', '-e', 'require("fs").writeFileSync("/app/dist/x", "")']), /EROFS|read-only file system/i);
    });

    it('carries a document from the file-drop source in one container to the file-drop sink in the other, and status 01 back', async () => {
      assert.ok(h41 && g22, 'the containers started');
      const subject = `container image smoke test ${randomUUID()}`;
      const bytes = makeEdoc({ from: ORGAN_H41, to: [ORGAN_G22], number: 19, subject });
      dropPackage(path.join(h41.data, 'outbox'), 'cong-van-19.edxml', bytes);
      const inbox = path.join(g22.data, 'inbox');
      const mine = () => deliveredFiles(inbox).filter((f) => fs.readFileSync(path.join(inbox, f), 'utf8').includes(subject));
      try {
        await waitFor(() => mine().length === 1, 60_000, 'the document in G22’s inbox');
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- H41:\n${(await logs(h41)).slice(-3000)}\n--- G22:\n${(await logs(g22)).slice(-3000)}`);
      }
      const delivered = fs.readFileSync(path.join(inbox, mine()[0]!), 'utf8');
      // Signed in the H41 container (the legacy system did not), verified in the G22 one.
      assert.match(delivered, /<(\w+:)?Signature xmlns(:\w+)?="http:\/\/www\.w3\.org\/2000\/09\/xmldsig#"/);
      assert.equal(fs.statSync(path.join(inbox, mine()[0]!)).uid, UID, 'written by the pod’s user');
      assert.deepEqual(deliveredFiles(path.join(h41.data, 'outbox')), [], 'taken from the outbox');
      try {
        await waitFor(() => deliveredFiles(path.join(h41.data, 'inbox')).some((f) => f.includes('.status-01.')), 30_000, 'status 01 back in H41’s inbox');
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- G22:\n${(await logs(g22)).slice(-3000)}\n--- H41:\n${(await logs(h41)).slice(-3000)}`);
      }
    });

    it('drains on SIGTERM and exits 0 well within the grace period', async () => {
      assert.ok(h41 && g22, 'the containers started');
      for (const a of [g22, h41]) {
        const started = Date.now();
        await podman(['kill', '--signal', 'TERM', a.name]);
        const code = (await podman(['wait', a.name], (GRACE_SECONDS + 20) * 1000)).trim();
        const seconds = (Date.now() - started) / 1000;
        const log = await logs(a);
        assert.equal(code, '0', `${a.organId} exit code (log:\n${log.slice(-3000)})`);
        assert.ok(seconds < GRACE_SECONDS, `${a.organId} took ${seconds} s, the grace period is ${GRACE_SECONDS} s`);
        assert.match(log, /"msg":"stopped"/, `${a.organId} logs its orderly stop`);
      }
    });
  });
});
