/**
 * Alert rules and dashboard against the real promtool (Debian package `prometheus`) and helm:
 * rule syntax, the unit tests in helm/prometheus, parity between the chart's PrometheusRule and
 * the plain rules file, and that every metric the rules and the dashboard query really exists.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { createMetrics } from '../../src/observability/metrics';
import { REPO_ROOT } from '../support/paths';

const CHART = path.join(REPO_ROOT, 'helm', 'vdxp-connector');
const RULES_DIR = path.join(REPO_ROOT, 'helm', 'prometheus');
const RULES = path.join(RULES_DIR, 'vdxp-connector.rules.yaml');
const RULES_TEST = path.join(RULES_DIR, 'vdxp-connector.rules.test.yaml');
const DASHBOARD = path.join(CHART, 'dashboards', 'vdxp-connector.json');
/** The chart carries no agency: the rules are rendered for the smallest one. */
const MINIMAL_AGENCY = path.join(REPO_ROOT, 'helm', 'tests', 'minimal-agency-values.yaml');

function run(command: string, args: string[], cwd = REPO_ROOT): { status: number | null; out: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', cwd });
  if (result.error) throw new Error(`cannot run ${command}: ${result.error.message}`);
  return { status: result.status, out: result.stdout + result.stderr };
}

function helmBinary(): string {
  const local = path.join(REPO_ROOT, '.tools', 'bin', 'helm');
  return fs.existsSync(local) ? local : 'helm';
}

/** spec of the chart's PrometheusRule, rendered with the given --set values. */
function renderedRuleSpec(sets: string[], release = 'x', namespace = 'default'): { groups: Array<{ name: string; rules: Array<Record<string, any>> }> } {
  const args = ['template', release, CHART, '--kube-version', '1.30.0', '--namespace', namespace, '-f', MINIMAL_AGENCY, '--show-only', 'templates/prometheusrule.yaml'];
  for (const s of ['prometheusRule.enabled=true', ...sets]) args.push('--set', s);
  const { status, out } = run(helmBinary(), args);
  assert.equal(status, 0, out);
  return YAML.parse(out).spec;
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-rules-'));
}

/** Names of the series a populated registry exposes, histogram suffixes included. */
async function exposedSeriesNames(): Promise<Set<string>> {
  const metrics = createMetrics();
  metrics.observeDeliveryLatency('kafka_to_sink', 1);
  const text = await metrics.exposition();
  const names = new Set<string>(['up']);
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

/** Metric names in a PromQL expression (our prefixes only; functions and labels are not). */
function referencedMetrics(expr: string): string[] {
  return [...expr.matchAll(/\b((?:vdxp|nodejs|process)_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
}

describe('prometheus: alert rules and dashboard (real promtool)', function () {
  this.timeout(60_000);

  it('promtool check rules accepts the plain rules file', () => {
    const { status, out } = run('promtool', ['check', 'rules', RULES]);
    assert.equal(status, 0, out);
    assert.match(out, /SUCCESS: 15 rules found/);
  });

  it('promtool test rules passes the unit tests of every alert', () => {
    const { status, out } = run('promtool', ['test', 'rules', path.basename(RULES_TEST)], RULES_DIR);
    assert.equal(status, 0, out);
    assert.match(out, /SUCCESS/);
  });

  it('the unit tests catch a changed threshold (they are not vacuous)', () => {
    const dir = tempDir();
    const loosened = renderedRuleSpec(['prometheusRule.scopeToRelease=false', 'prometheusRule.thresholds.deadLettersPer15m=100']);
    fs.writeFileSync(path.join(dir, path.basename(RULES)), YAML.stringify(loosened));
    fs.copyFileSync(RULES_TEST, path.join(dir, path.basename(RULES_TEST)));
    const { status, out } = run('promtool', ['test', 'rules', path.basename(RULES_TEST)], dir);
    assert.notEqual(status, 0);
    assert.match(out, /alertname: VdxpDeadLetters/);
  });

  it('the plain rules file is exactly the chart PrometheusRule with default thresholds, unscoped', () => {
    assert.deepEqual(YAML.parse(fs.readFileSync(RULES, 'utf8')), renderedRuleSpec(['prometheusRule.scopeToRelease=false']));
  });

  it('the release-scoped rules of a sample agency pass promtool check rules', () => {
    const dir = tempDir();
    const file = path.join(dir, 'scoped.rules.yaml');
    fs.writeFileSync(file, YAML.stringify(renderedRuleSpec(['prometheusRule.thresholds.maxUndeliveredAgeSeconds=1800'])));
    const { status, out } = run('promtool', ['check', 'rules', file]);
    assert.equal(status, 0, out);
  });

  it('release-scoped: VdxpConnectorUnavailable fires for a release with no series at all (absent), once, with its labels', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'scoped.rules.yaml'), YAML.stringify(renderedRuleSpec([], 'h53', 'vdxp-h53')));
    const alert = { exp_labels: { severity: 'critical', namespace: 'vdxp-h53', job: 'h53-vdxp-connector' }, exp_annotations: {
      summary: 'No ready VDXP connector replica in h53-vdxp-connector',
      description: 'No replica has been ready, scrapeable or even reporting for 5m: the agency neither sends nor receives documents.',
      runbook: 'docs/MONITORING.md#vdxpconnectorunavailable',
    } };
    const tests = {
      rule_files: ['scoped.rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          // Another agency reports; this one never did (its Secret is missing: ContainerCreating).
          interval: '1m',
          input_series: [{ series: 'vdxp_ready{namespace="vdxp-g22", job="g22-vdxp-connector", pod="g1"}', values: '1x10' }],
          alert_rule_test: [
            { eval_time: '4m', alertname: 'VdxpConnectorUnavailable', exp_alerts: [] },
            { eval_time: '6m', alertname: 'VdxpConnectorUnavailable', exp_alerts: [alert] },
          ],
        },
        {
          // Its targets exist but are down and never reported: up == 0 and absent() agree on one alert.
          interval: '1m',
          input_series: [{ series: 'up{namespace="vdxp-h53", job="h53-vdxp-connector", pod="p1"}', values: '0x10' }],
          alert_rule_test: [{ eval_time: '6m', alertname: 'VdxpConnectorUnavailable', exp_alerts: [alert] }],
        },
        {
          interval: '1m',
          input_series: [{ series: 'vdxp_ready{namespace="vdxp-h53", job="h53-vdxp-connector", pod="p1"}', values: '1x10' }],
          alert_rule_test: [{ eval_time: '6m', alertname: 'VdxpConnectorUnavailable', exp_alerts: [] }],
        },
      ],
    };
    fs.writeFileSync(path.join(dir, 'scoped.test.yaml'), YAML.stringify(tests));
    const { status, out } = run('promtool', ['test', 'rules', 'scoped.test.yaml'], dir);
    assert.equal(status, 0, out);
  });

  it('every metric the rules and the dashboard query is one the connector exposes', async () => {
    const exposed = await exposedSeriesNames();
    const rules = YAML.parse(fs.readFileSync(RULES, 'utf8')).groups.flatMap((g: any) => g.rules);
    const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
    const dashboardExprs: string[] = dashboard.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr));
    const variableQueries: string[] = dashboard.templating.list.filter((v: any) => v.type === 'query').map((v: any) => v.query.query);
    const queries = [...rules.map((r: any) => r.expr as string), ...dashboardExprs, ...variableQueries];
    assert.ok(dashboardExprs.length >= 15, 'the dashboard has its panels');
    const unknown = queries.flatMap(referencedMetrics).filter((name) => !exposed.has(name));
    assert.deepEqual([...new Set(unknown)], []);
  });

  it('the dashboard shows flow per counterpart, rejections, breakers, lag and latency', () => {
    const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
    const exprs = dashboard.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr)).join('\n');
    for (const needed of [
      /sum by \(counterpart, direction\) \(rate\(vdxp_documents_total/,
      /vdxp_oldest_undelivered_document_age_seconds/,
      /sum by \(reason, direction\) \(rate\(vdxp_rejections_total/,
      /vdxp_breaker_state/,
      /vdxp_kafka_consumer_lag_messages/,
      /histogram_quantile\(0\.95, sum by \(le, stage\) \(rate\(vdxp_delivery_latency_seconds_bucket/,
    ]) {
      assert.match(exprs, needed);
    }
    const ids = dashboard.panels.map((p: any) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  });
});
