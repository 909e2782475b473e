/**
 * The monitoring kit in deploy/: the Prometheus alert rules (checked and unit-tested by
 * promtool), the Grafana dashboard, and the runbooks the alerts link to. Every metric a rule or
 * a panel queries must be one Agentry exposes (`METRIC_NAMES`), one of prom-client's default
 * process families, or one Prometheus (or its blackbox exporter) writes itself.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { METRIC_NAMES } from '../../src/obs/metrics.js';
import { anchorOf } from '../helpers/markdown.js';

const REPO = resolve(import.meta.dirname, '../..');
const RULES = join(REPO, 'deploy/prometheus/alerts.yaml');
const RULE_TESTS = join(REPO, 'deploy/prometheus/alerts.test.yaml');
const PROMETHEUS_CONFIG = join(REPO, 'deploy/prometheus/prometheus.yml');
const DASHBOARD = join(REPO, 'deploy/grafana/agentry.json');
const RUNBOOKS = join(REPO, 'docs/operations/runbooks.md');
const MONITORING = join(REPO, 'docs/operations/monitoring.md');
const RUNBOOK_URL = 'https://github.com/agentry/agentry/blob/main/docs/operations/runbooks.md#';

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  gridPos?: { h: number; w: number; x: number; y: number };
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
}
interface Dashboard {
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: AlertRule[] }[] }).groups.flatMap((group) => group.rules);
const alerts = rules.filter((rule): rule is AlertRule & { alert: string } => rule.alert !== undefined);
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const queryPanels = dashboard.panels.filter((panel) => panel.type !== 'row');

/** A Grafana query as Prometheus sees it: variables replaced by values that select everything. */
const concrete = (expr: string): string => expr.replaceAll('$__rate_interval', '5m').replace(/\$\{?\w+\}?/g, '.*');

/** The selector a variable query reads (`label_values(<selector>, <label>)`), if it names one. */
function variableSelector(variable: Variable): string | undefined {
  const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
  return /^label_values\((.+),\s*\w+\)$/.exec(query ?? '')?.[1];
}

/** Every PromQL query of the dashboard: the panels' and the variables'. */
const dashboardQueries = [
  ...queryPanels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: `panel "${panel.title}"`, expr: target.expr ?? '' }))),
  ...dashboard.templating.list.flatMap((variable) => {
    const selector = variableSelector(variable);
    return selector === undefined ? [] : [{ where: `variable $${variable.name}`, expr: selector }];
  }),
];

const NOT_METRICS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects: what is left once strings, label matchers,
 * ranges, grouping clauses and numbers are gone, minus function calls and keywords.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\b\d[\w.]*/g, ' ');
  const names = [...bare.matchAll(/[a-zA-Z_:][\w:]*(?![\w:]|\s*\()/g)].map((match) => match[0]).filter((word) => !NOT_METRICS.has(word.toLowerCase()));
  return [...new Set(names)];
}

/** Families prom-client's default metrics add to every role's `/metrics`, with their types (`histogram`, …: the typings say an enum, the objects hold strings). */
function defaultFamilies(): Map<string, string> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const families = new Map(registry.getMetricsAsArray().map((metric) => [metric.name, String(metric.type)]));
  registry.clear();
  return families;
}

const DEFAULT_FAMILIES = defaultFamilies();
/** Series Prometheus writes for every target, and the blackbox exporter's probe result. */
const SCRAPE_SERIES = ['up', 'probe_success'];
const HISTOGRAM_SERIES = /^(.+)_(?:bucket|sum|count)$/;

/** Why `name` is no metric anyone exposes, or undefined when it is one. */
function unknownMetric(name: string): string | undefined {
  const agentry = new Set<string>(METRIC_NAMES);
  if (agentry.has(name) || DEFAULT_FAMILIES.has(name) || SCRAPE_SERIES.includes(name)) return undefined;
  const base = HISTOGRAM_SERIES.exec(name)?.[1];
  // METRIC_NAMES carries no types: a histogram's series pass on its family's name.
  if (base !== undefined && (agentry.has(base) || DEFAULT_FAMILIES.get(base) === 'histogram')) return undefined;
  return `${name} is not in METRIC_NAMES (src/obs/metrics.ts), prom-client's default metrics or ${SCRAPE_SERIES.join('/')}`;
}

/** The runbooks' sections by anchor, each with its text up to the next heading of its level or above. */
function runbookSections(): Map<string, string> {
  const sections = new Map<string, string>();
  const lines = readFileSync(RUNBOOKS, 'utf8').split('\n');
  let fenced = false;
  let current: { anchor: string; level: number }[] = [];
  for (const line of lines) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^(#{1,6})\s+(.+)$/.exec(line);
    if (heading) {
      const level = heading[1]!.length;
      current = current.filter((section) => section.level < level);
      const section = { anchor: anchorOf(heading[2]!), level };
      current.push(section);
      sections.set(section.anchor, '');
    }
    for (const section of current) sections.set(section.anchor, `${sections.get(section.anchor)}${line}\n`);
  }
  return sections;
}

/** `promtool`, when this machine has it. */
function findPromtool(): string | undefined {
  const result = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return result.error === undefined && result.status === 0 ? 'promtool' : undefined;
}

const promtool = findPromtool();
const promtoolRequired = process.env.CI === 'true';
if (promtool === undefined && !promtoolRequired) {
  console.warn('[agentry tests] promtool not found (Debian package prometheus): skipping `promtool check rules` and `promtool test rules`');
}

function runPromtool(args: string[]): { status: number | null; output: string } {
  const result = spawnSync(promtool!, args, { encoding: 'utf8', cwd: REPO });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the metric-name extractor the checks below rely on', () => {
  it('finds selected metrics and ignores functions, labels, grouping, ranges and numbers', () => {
    const expr =
      'histogram_quantile(0.99, sum by (le, route) (rate(a_seconds_bucket{job=~"$job", route!~"/x|y"}[$__rate_interval]))) / on (job) group_left b_total ' +
      'and max without (instance) (c:ratio offset 5m) > 1e-3 or deriv(max(d_age)[10m:1m]) > 0 unless label_replace(e, "x", "$1", "y", "(.*)")';
    expect(metricNames(expr).sort()).toEqual(['a_seconds_bucket', 'b_total', 'c:ratio', 'd_age', 'e']);
  });
});

describe('promtool', () => {
  it.runIf(promtool === undefined && promtoolRequired)('is installed (CI=true requires it: .ci/run installs the Debian package prometheus)', () => {
    expect.fail('promtool not found on PATH');
  });

  it.skipIf(promtool === undefined)('`promtool check rules` accepts alerts.yaml', () => {
    const { status, output } = runPromtool(['check', 'rules', RULES]);
    expect(status, output).toBe(0);
  });

  it.skipIf(promtool === undefined)('`promtool test rules` passes alerts.test.yaml', () => {
    const { status, output } = runPromtool(['test', 'rules', RULE_TESTS]);
    expect(status, output).toBe(0);
  });

  it.skipIf(promtool === undefined)('`promtool check config --syntax-only` accepts the example prometheus.yml', () => {
    const { status, output } = runPromtool(['check', 'config', '--syntax-only', PROMETHEUS_CONFIG]);
    expect(status, output).toBe(0);
  });

  it.skipIf(promtool === undefined)('parses every dashboard query', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentry-dashboard-'));
    try {
      const file = join(dir, 'queries.yaml');
      const recorded = dashboardQueries.map((query, i) => ({ record: `dashboard:query_${i}`, expr: concrete(query.expr) }));
      writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules: recorded }] }));
      const { status, output } = runPromtool(['check', 'rules', file]);
      expect(status, output).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the alert rules', () => {
  it('each have a severity, a summary, a description and a runbook section that names them', () => {
    const sections = runbookSections();
    expect(alerts.length).toBeGreaterThan(0);
    for (const rule of alerts) {
      expect(['critical', 'warning'], `${rule.alert}: severity`).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, `${rule.alert}: summary`).toBeTruthy();
      expect(rule.annotations?.description, `${rule.alert}: description`).toBeTruthy();
      const url = rule.annotations?.runbook_url ?? '';
      expect(url.startsWith(RUNBOOK_URL), `${rule.alert}: runbook_url ${url} starts with ${RUNBOOK_URL}`).toBe(true);
      const section = sections.get(url.slice(RUNBOOK_URL.length));
      expect(section, `${rule.alert}: docs/operations/runbooks.md has no heading for ${url}`).toBeDefined();
      expect(section, `${rule.alert}: its runbook section names it`).toContain(rule.alert);
    }
  });

  it('query only metrics that are exposed', () => {
    const unknown = rules.flatMap((rule) =>
      metricNames(rule.expr)
        .flatMap((name) => unknownMetric(name) ?? [])
        .map((why) => `${rule.alert ?? rule.record}: ${why}`),
    );
    expect(unknown).toEqual([]);
  });

  it('each have a case in alerts.test.yaml where they fire and one where they stay quiet', () => {
    interface RuleTest {
      alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
    }
    const cases = (parse(readFileSync(RULE_TESTS, 'utf8')) as { tests: RuleTest[] }).tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const { alert } of alerts) {
      expect(
        cases.some((c) => c.alertname === alert && (c.exp_alerts ?? []).length > 0),
        `${alert} fires in a test`,
      ).toBe(true);
      expect(
        cases.some((c) => c.alertname === alert && (c.exp_alerts ?? []).length === 0),
        `${alert} stays quiet in a test`,
      ).toBe(true);
    }
  });
});

describe('the Grafana dashboard', () => {
  it('has the datasource, job and instance variables, and rows for every area', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const variables = new Map(dashboard.templating.list.map((variable) => [variable.name, variable]));
    expect(variables.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(variables.get('job')?.type).toBe('query');
    expect(variables.get('instance')?.type).toBe('query');
    const rows = dashboard.panels.filter((panel) => panel.type === 'row').map((panel) => panel.title);
    expect(rows).toEqual(['Overview', 'HTTP', 'Steps', 'LLM', 'Tools', 'Human tasks', 'Schedules', 'Store', 'Process']);
  });

  it('gives every panel the datasource variable, a place and at least one query', () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size, 'panel ids are unique').toBe(ids.length);
    for (const panel of queryPanels) {
      expect(panel.datasource, `panel "${panel.title}"`).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.gridPos, `panel "${panel.title}"`).toBeDefined();
      expect(panel.targets?.length ?? 0, `panel "${panel.title}" has a query`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.expr?.trim(), `panel "${panel.title}"`).toBeTruthy();
        expect(target.datasource, `panel "${panel.title}"`).toEqual({ type: 'prometheus', uid: '${datasource}' });
      }
    }
  });

  it('has every panel the runbooks and monitoring.md point at (`Row › Panel`)', () => {
    const panels = new Set<string>();
    let row = '';
    for (const panel of dashboard.panels) {
      if (panel.type === 'row') row = panel.title;
      else panels.add(`${row} › ${panel.title}`);
    }
    const docs = [RUNBOOKS, MONITORING].map((file) => readFileSync(file, 'utf8')).join('\n');
    const cited = [...docs.matchAll(/`([A-Z][\w ]* › [^`]+)`/g)].map((match) => match[1]!.replace(/\s+/g, ' ')).filter((ref) => ref !== 'Row › Panel');
    expect(cited.length).toBeGreaterThan(0);
    expect(cited.filter((ref) => !panels.has(ref))).toEqual([]);
  });

  it('queries only metrics that are exposed', () => {
    const unknown = dashboardQueries.flatMap(({ where, expr }) =>
      metricNames(expr)
        .flatMap((name) => unknownMetric(name) ?? [])
        .map((why) => `${where}: ${why}`),
    );
    expect(unknown).toEqual([]);
  });
});
