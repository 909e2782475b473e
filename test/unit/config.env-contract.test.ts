/**
 * DEP-24: the environment variables of the last release (docs/env-vars.json, written by
 * `npm run docs:env-vars` at each release) are all still read by this version — under their name
 * or as a deprecated alias — until the next major version. Adding variables is fine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_VARIABLES, envContractProblems, envVariables, type EnvSnapshot } from '../../src/app/config-deprecations.js';
import type { OptionSpec } from '../../src/app/config-option.js';
import { CONFIG_OPTIONS } from '../../src/app/config-options.js';
import { REPO } from '../helpers/cli.js';

const snapshot = JSON.parse(readFileSync(join(REPO, 'docs/env-vars.json'), 'utf8')) as EnvSnapshot;
const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };

const option = (env: string, extra: Partial<OptionSpec> = {}): OptionSpec => ({
  kind: 'string',
  env,
  default: undefined,
  defaultText: 'none',
  description: '',
  ...extra,
});

describe('the environment variables against the last release', () => {
  it('still reads every variable of the last release, or names it as a deprecated alias', () => {
    expect(envContractProblems(snapshot, CONFIG_OPTIONS, version)).toEqual([]);
  });

  it('lists every option variable, the _FILE of each secret and every deprecated alias, sorted', () => {
    const listed = envVariables(CONFIG_OPTIONS);
    expect(listed).toEqual([...listed].sort());
    expect(listed).toContain('AGENTRY_CONCURRENCY');
    expect(listed).toContain('AGENTRY_ADMIN_API_KEY_FILE');
    expect(listed).not.toContain('AGENTRY_CONCURRENCY_FILE');
    const own = (names: string[]): string[] => names.filter((n) => !(COMMAND_VARIABLES as readonly string[]).includes(n));
    expect(own(envVariables({ a: option('AGENTRY_NEW', { secret: true, deprecatedAliases: [{ env: 'AGENTRY_OLD', since: '0.2.0' }] }) }))).toEqual([
      'AGENTRY_NEW',
      'AGENTRY_NEW_FILE',
      'AGENTRY_OLD',
      'AGENTRY_OLD_FILE',
    ]);
  });

  it('lists every AGENTRY_ variable the sources name, and only variables they read', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
      );
    const named = new Map<string, string>();
    for (const file of files(join(REPO, 'src'))) {
      if (file.endsWith('config-deprecations.ts')) continue;
      for (const match of readFileSync(file, 'utf8').matchAll(/AGENTRY_[A-Z0-9_]*[A-Z0-9]/g)) named.set(match[0], relative(REPO, file));
    }
    const listed = envVariables(CONFIG_OPTIONS);
    // `AGENTRY_OIDC_*` in a comment names a family of listed variables, not one of its own.
    const unlisted = [...named].filter(([name]) => !listed.includes(name) && !listed.some((l) => l.startsWith(`${name}_`)));
    expect(unlisted.map(([name, file]) => `${name} (${file})`)).toEqual([]);
    expect(COMMAND_VARIABLES.filter((name) => !named.has(name))).toEqual([]);
  });
});

describe('the contract check, on a test registry', () => {
  const released: EnvSnapshot = { version: '0.3.0', variables: ['AGENTRY_KEEP', 'AGENTRY_OLD', 'AGENTRY_TOKEN', 'AGENTRY_TOKEN_FILE'] };
  const base = { keep: option('AGENTRY_KEEP'), token: option('AGENTRY_TOKEN', { secret: true }) };

  it('refuses a variable renamed without an alias, naming it and the fix', () => {
    const problems = envContractProblems(released, { ...base, renamed: option('AGENTRY_NEW') }, '0.4.0');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('AGENTRY_OLD was read by 0.3.0 and is not any more');
    expect(problems[0]).toContain("deprecatedAliases ({ env: 'AGENTRY_OLD', since: '0.4.0' })");
  });

  it('accepts the rename with a deprecated alias, and added variables', () => {
    const renamed = option('AGENTRY_NEW', { deprecatedAliases: [{ env: 'AGENTRY_OLD', since: '0.4.0' }] });
    expect(envContractProblems(released, { ...base, renamed, added: option('AGENTRY_ADDED') }, '0.4.0')).toEqual([]);
  });

  it('refuses dropping a secret _FILE variant, and an alias before the next major version', () => {
    const plain = { keep: base.keep, token: option('AGENTRY_TOKEN'), renamed: option('AGENTRY_NEW') };
    const problems = envContractProblems({ ...released, version: '0.4.0' }, plain, '0.9.0');
    expect(problems.map((p) => p.split(' ')[0])).toEqual(['AGENTRY_OLD', 'AGENTRY_TOKEN_FILE']);
  });

  it('accepts removals at a major version', () => {
    expect(envContractProblems(released, { keep: base.keep }, '1.0.0')).toEqual([]);
  });

  it('refuses an alias that is a current variable or dated after this version, and a snapshot newer than the version', () => {
    const clash = option('AGENTRY_NEW', { deprecatedAliases: [{ env: 'AGENTRY_KEEP', since: '0.4.0' }] });
    const future = option('AGENTRY_LATER', { deprecatedAliases: [{ env: 'AGENTRY_OLD', since: '0.5.0' }] });
    expect(envContractProblems(released, { ...base, clash, future }, '0.4.0')).toEqual([
      'clash: deprecated alias AGENTRY_KEEP is the variable of an option',
      'future: deprecated alias AGENTRY_OLD is since 0.5.0, after this version 0.4.0',
    ]);
    expect(envContractProblems({ ...released, version: '0.5.0', variables: [] }, base, '0.4.0')).toEqual([
      'the snapshot is of 0.5.0, later than this version 0.4.0',
    ]);
  });
});
