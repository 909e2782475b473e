/**
 * DEP-16: a stdio tool server started through a package runner (`npx`, `uvx`, `pipx run` …)
 * downloads its code at every start. Without an exact version, a new release — or a
 * hijacked one — runs with the tool server's access the next time a process starts. The rule
 * is deliberately simple: the package a runner is given must name one exact version.
 *
 * - npm runners (`npx`, `npm exec`, `pnpm dlx`, `yarn dlx`, `bunx`): `name@1.2.3` (or
 *   `@scope/name@1.2.3`, a pre-release allowed); `@^1.2`, `@~1.2`, `@latest`, `@next`, `@1`,
 *   a range or no version at all floats. The package is `-p`/`--package`, else the first
 *   argument that is not an option.
 * - Python runners (`uvx`, `uv tool run`, `pipx run`): `name==1.2.3` (or `name@1.2.3` for uvx);
 *   `>=`, `~=`, `@latest` or no version floats. The package is `--from` (uvx) / `--spec`
 *   (pipx), else the first argument that is not an option.
 * - Local paths, URLs and git sources (`./server`, `/opt/x`, `git+https://…`) are not registry
 *   packages and are left alone; so is every other command.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';

type Ecosystem = 'npm' | 'python';

/** Options of each runner that take a value (so that value is not mistaken for the package). */
const NPM_VALUE_OPTIONS = new Set(['--cache', '--registry', '--userconfig', '-w', '--workspace', '--prefix']);
const PYTHON_VALUE_OPTIONS = new Set([
  '--with',
  '--python',
  '-p',
  '--index',
  '--index-url',
  '--extra-index-url',
  '--with-requirements',
  '--pip-args',
  '-c',
  '--constraints',
]);

/** The runner of `argv` and the arguments after it, or undefined when `argv` runs no package runner. */
function runnerOf(argv: readonly string[]): { ecosystem: Ecosystem; runner: string; rest: readonly string[] } | undefined {
  const [first, second] = argv;
  if (first === undefined) return undefined;
  const name = basename(first).replace(/\.(cmd|exe)$/i, '');
  if (name === 'npx' || name === 'bunx') return { ecosystem: 'npm', runner: name, rest: argv.slice(1) };
  if ((name === 'npm' && second === 'exec') || ((name === 'pnpm' || name === 'yarn') && second === 'dlx'))
    return { ecosystem: 'npm', runner: `${name} ${second}`, rest: argv.slice(2) };
  if (name === 'uvx') return { ecosystem: 'python', runner: 'uvx', rest: argv.slice(1) };
  if (name === 'uv' && second === 'tool' && argv[2] === 'run') return { ecosystem: 'python', runner: 'uv tool run', rest: argv.slice(3) };
  if (name === 'pipx' && second === 'run') return { ecosystem: 'python', runner: 'pipx run', rest: argv.slice(2) };
  return undefined;
}

/** The package the runner fetches: its package option, else the first argument that is not an option. */
function packageArgument(ecosystem: Ecosystem, rest: readonly string[]): string | undefined {
  const named = ecosystem === 'npm' ? ['-p', '--package'] : ['--from', '--spec'];
  const valueOptions = ecosystem === 'npm' ? NPM_VALUE_OPTIONS : PYTHON_VALUE_OPTIONS;
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i] as string;
    if (arg === '--') return rest[i + 1];
    const [option, inline] = arg.split(/=(.*)/s) as [string, string | undefined];
    if (named.includes(option)) return inline ?? rest[i + 1];
    if (arg.startsWith('-')) {
      if (inline === undefined && valueOptions.has(option)) i += 1;
      continue;
    }
    return arg;
  }
  return undefined;
}

/** An exact npm version (semver, a pre-release or build allowed). */
const EXACT_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
/** An exact Python version (PEP 440 without wildcards: `1.2`, `2.0.1rc1`, `1.0.post1`). */
const EXACT_PYTHON_VERSION = /^\d+(\.\d+)*([a-z]+\d*|[.-]?(post|dev)\d*)*(\+[0-9a-z.]+)?$/i;

/** True for a path, URL or git source: not fetched from a registry by name. */
function isLocalOrUrl(spec: string): boolean {
  return /^(\.{1,2}\/|\/|~\/|[a-z][a-z0-9+.-]*:)/i.test(spec);
}

function isPinned(ecosystem: Ecosystem, spec: string): boolean {
  if (ecosystem === 'npm') {
    const at = spec.lastIndexOf('@');
    return at > 0 && EXACT_VERSION.test(spec.slice(at + 1));
  }
  const exact = /^[A-Za-z0-9_.-]+(\[[^\]]*\])?(===?|@)\s*([^,;\s]+)$/.exec(spec);
  return exact !== null && EXACT_PYTHON_VERSION.test(exact[3] as string);
}

/**
 * The package of a tool server's command that floats (no exact version), with its runner;
 * undefined when the command pins its package or is no package runner.
 */
export function floatingPackage(command: string, args: readonly string[] = []): { runner: string; pkg: string } | undefined {
  const runner = runnerOf([...command.trim().split(/\s+/), ...args]);
  if (runner === undefined) return undefined;
  const pkg = packageArgument(runner.ecosystem, runner.rest);
  if (pkg === undefined || isLocalOrUrl(pkg) || isPinned(runner.ecosystem, pkg)) return undefined;
  return { runner: runner.runner, pkg };
}

/** One problem per tool server file (`tools/*.yaml`) whose command fetches a package without an exact version. */
export function scanToolServerPins(projectDir: string): string[] {
  const dir = join(projectDir, 'tools');
  if (!existsSync(dir)) return [];
  const problems: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!/\.ya?ml$/.test(name)) continue;
    let spec: unknown;
    try {
      spec = parseYaml(readFileSync(join(dir, name), 'utf8'));
    } catch {
      continue; // the spec loader reports the file
    }
    if (typeof spec !== 'object' || spec === null) continue;
    const { command, args } = spec as { command?: unknown; args?: unknown };
    if (typeof command !== 'string') continue;
    const found = floatingPackage(command, Array.isArray(args) ? args.filter((a): a is string => typeof a === 'string') : []);
    if (found !== undefined) {
      problems.push(`tools/${name}: ${found.runner} runs ${found.pkg} without an exact version; pin an exact version (e.g. ${pinExample(found)})`);
    }
  }
  return problems;
}

function pinExample({ runner, pkg }: { runner: string; pkg: string }): string {
  const bare = pkg.replace(/(?<=.)@[^@]*$/, '').replace(/(===?|~=|>=|<=|>|<|!=).*$/, '');
  return runner === 'uvx' || runner === 'uv tool run' || runner === 'pipx run' ? `${bare}==1.2.3` : `${bare}@1.2.3`;
}
