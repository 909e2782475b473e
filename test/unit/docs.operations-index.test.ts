/**
 * The operations guide holds together: `docs/operations/index.md` lists every page of
 * `docs/operations/`, names every alert of `deploy/prometheus/alerts.yaml` with a link to its
 * section of runbooks.md, and links every incident runbook (`runbooks/*.md`) from at least one
 * alert row; every relative link of an operations page reaches a file and, with an `#anchor`, a
 * heading of it; and every `agentry …` command in a shell block of the runbooks, the incident
 * response page and the triage tree is a real command with real options. The command checker
 * itself is shown to refuse bad commands on a fixture page.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fullProgram } from '../../src/cli/reference.js';
import { agentryCommands, checkAgentryWords } from '../helpers/cli-command-check.js';
import { REPO } from '../helpers/cli.js';
import { fencedBlocks, headingAnchors, relativeLinks } from '../helpers/markdown.js';

const OPS = join(REPO, 'docs/operations');
const INDEX = join(OPS, 'index.md');
const RUNBOOKS_DIR = join(OPS, 'runbooks');

/**
 * The incident runbooks issue 16 names. Other branches write them; until they are merged, a link
 * to one that is missing here is allowed (and only to these): once merged, every one must exist.
 */
const RUNBOOK_PAGES = [
  'worker-crash-loop.md',
  'runs-stuck.md',
  'migration-failed.md',
  'upgrade-and-rollback.md',
  'database-down-or-full.md',
  'restore-from-backup.md',
  'provider-outage.md',
  'budget-exhausted.md',
  'tool-server.md',
  'leaked-api-key.md',
];

/** Pages whose `agentry …` commands are checked against the CLI. */
function commandPages(): string[] {
  return [...runbookFiles(), join(OPS, 'incident-response.md'), join(OPS, 'triage.md')];
}

function runbookFiles(): string[] {
  return existsSync(RUNBOOKS_DIR)
    ? readdirSync(RUNBOOKS_DIR)
        .filter((f) => f.endsWith('.md'))
        .map((f) => join(RUNBOOKS_DIR, f))
    : [];
}

/** Every `.md` file under `dir`, recursively. */
function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return name.endsWith('.md') ? [path] : [];
  });
}

/** The alerts of alerts.yaml with the anchor their `runbook_url` points at. */
function alerts(): Array<{ name: string; anchor: string }> {
  const doc = parse(readFileSync(join(REPO, 'deploy/prometheus/alerts.yaml'), 'utf8')) as {
    groups: Array<{ rules: Array<{ alert?: string; annotations?: { runbook_url?: string } }> }>;
  };
  return doc.groups.flatMap((g) =>
    g.rules.filter((r) => r.alert !== undefined).map((r) => ({ name: r.alert!, anchor: (r.annotations?.runbook_url ?? '').split('#')[1] ?? '' })),
  );
}

/** The rows of index.md's alert table: the alert's name and the link targets in the row. */
function alertRows(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of readFileSync(INDEX, 'utf8').split('\n')) {
    const name = /^\|\s*`(Agentry\w+)`\s*\|/.exec(line)?.[1];
    if (name !== undefined)
      rows.set(
        name,
        relativeLinks(line).map((l) => l.target),
      );
  }
  return rows;
}

describe('docs/operations/index.md', () => {
  const index = readFileSync(INDEX, 'utf8');
  const indexTargets = new Set(relativeLinks(index).map((l) => l.target.split('#')[0]));

  it('lists every page of docs/operations/', () => {
    const pages = markdownFiles(OPS)
      .concat(
        readdirSync(OPS)
          .filter((f) => f.endsWith('.sql'))
          .map((f) => join(OPS, f)),
      )
      .map((f) => relative(OPS, f))
      .filter((f) => f !== 'index.md');
    const missing = pages.filter((page) => !indexTargets.has(page));
    expect(missing, 'pages of docs/operations/ that index.md does not link').toEqual([]);
  });

  it('has a row for every alert of alerts.yaml, linking its section of runbooks.md', () => {
    const rows = alertRows();
    const all = alerts();
    expect(all.length).toBeGreaterThan(10);
    for (const alert of all) {
      expect(rows.has(alert.name), `index.md has no row for ${alert.name}`).toBe(true);
      expect(rows.get(alert.name), alert.name).toContain(`runbooks.md#${alert.anchor}`);
      expect(
        rows.get(alert.name)!.some((t) => t.startsWith('runbooks/')),
        `${alert.name} leads to no incident runbook`,
      ).toBe(true);
    }
    expect([...rows.keys()].sort(), 'rows for alerts that alerts.yaml does not have').toEqual(all.map((a) => a.name).sort());
  });

  it('links every incident runbook, named or present, from the page and from an alert row', () => {
    const fromRows = new Set([...alertRows().values()].flat().map((t) => t.split('#')[0]));
    const present = runbookFiles().map((f) => basename(f));
    for (const page of new Set([...RUNBOOK_PAGES, ...present])) {
      expect(indexTargets.has(`runbooks/${page}`), `index.md does not link runbooks/${page}`).toBe(true);
      expect(fromRows.has(`runbooks/${page}`), `no alert row leads to runbooks/${page}`).toBe(true);
    }
  });
});

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

describe('links of docs/operations/**/*.md', () => {
  it('reach an existing file and, with an #anchor, an existing heading', () => {
    const anchorsOf = new Map<string, Set<string>>();
    const anchors = (file: string): Set<string> => {
      if (!anchorsOf.has(file)) anchorsOf.set(file, headingAnchors(readFileSync(file, 'utf8')));
      return anchorsOf.get(file)!;
    };
    const problems: string[] = [];
    for (const page of markdownFiles(OPS)) {
      for (const link of relativeLinks(readFileSync(page, 'utf8'))) {
        const where = `${relative(REPO, page)}:${link.line}: ${link.target}`;
        const [path, anchor] = link.target.split('#') as [string, string | undefined];
        const file = path === '' ? page : resolve(dirname(page), decodeURIComponent(path));
        if (!existsSync(file)) {
          const pending = relative(RUNBOOKS_DIR, file);
          if (!RUNBOOK_PAGES.includes(pending)) problems.push(`${where}: no such file`);
          continue;
        }
        if (anchor !== undefined && file.endsWith('.md') && !anchors(file).has(anchor)) problems.push(`${where}: no heading with that anchor`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('agentry commands in the runbooks, incident-response.md and triage.md', () => {
  let program: Command;
  beforeAll(async () => {
    program = await fullProgram();
  });

  it('are real commands with real options and fitting arguments (none at all is fine)', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const page of commandPages().filter((p) => existsSync(p))) {
      for (const block of fencedBlocks(readFileSync(page, 'utf8'))) {
        for (const cmd of agentryCommands(block)) {
          checked++;
          const problem = checkAgentryWords(program, cmd.words);
          if (problem !== undefined) problems.push(`${relative(REPO, page)}:${cmd.line}: ${cmd.text}: ${problem}`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(0);
  });

  it('the checker refuses unknown commands and options, missing values and wrong argument counts on a fixture page', () => {
    const fixture = [
      '# Fixture',
      '',
      '```sh',
      'agentry runs lst',
      'agentry maintenance on --quiet',
      'agentry workers drain',
      'agentry runs get run_1 run_2',
      'agentry runs list --status',
      'AGENTRY_URL=http://api:7700 agentry maintenance on --quiesce --reason "restore drill" && agentry workers list --json | jq .items',
      'agentry runs get <run-id> 2>/dev/null   # a placeholder is a value',
      'psql -U agentry -d agentry -c "select 1"   # agentry the user and database, not the command',
      'sudo -u agentry psql',
      'kubectl exec -n agentry deploy/agentry-api -- agentry workers list',
      'agentry runs list \\',
      '  --status queued,running --limit 5',
      '```',
      '',
      '```console',
      '$ agentry migrate status',
      'agentry migrate up is printed output here, not a command',
      '$ sudo -u agentry agentry keys revoke <key-id> --bogus',
      '```',
      '',
      '```yaml',
      'agentry: not a shell block',
      '```',
    ].join('\n');
    const found = fencedBlocks(fixture).flatMap((block) => agentryCommands(block));
    const verdicts = found.map((cmd) => [cmd.text, checkAgentryWords(program, cmd.words) ?? 'ok']);
    expect(verdicts).toEqual([
      ['agentry runs lst', expect.stringContaining("'lst' is not a command of 'agentry runs'")],
      ['agentry maintenance on --quiet', expect.stringContaining("'agentry maintenance on' has no option --quiet")],
      ['agentry workers drain', expect.stringContaining("'agentry workers drain' needs 1 argument")],
      ['agentry runs get run_1 run_2', expect.stringContaining("'agentry runs get' takes at most 1 argument")],
      ['agentry runs list --status', expect.stringContaining('option --status of')],
      ['agentry maintenance on --quiesce --reason restore drill', 'ok'],
      ['agentry workers list --json', 'ok'],
      ['agentry runs get <run-id>', 'ok'],
      ['agentry workers list', 'ok'],
      ['agentry runs list --status queued,running --limit 5', 'ok'],
      ['agentry migrate status', 'ok'],
      ['agentry keys revoke <key-id> --bogus', expect.stringContaining("'agentry keys revoke' has no option --bogus")],
    ]);
  });
});
