/**
 * `limits:` of agentry.yaml: resolved over the built-in defaults and a profile, field by field;
 * a key's rate from its name, else its most generous role; bad values reported at file:line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/app/project.js';
import { ROLES } from '../../src/server/scopes.js';
import { formatDiagnostic, type StepKind } from '../../src/spec/index.js';
import { DEFAULT_LIMITS, keyRate, LIMIT_ROLES, LIMITS_DEFAULTS, tenantLimits } from '../../src/spec/limits.js';

const AVAILABLE: ReadonlySet<StepKind> = new Set(['transform']);
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function load(yaml: string[], env: NodeJS.ProcessEnv = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentry-limits-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'agentry.yaml'), `${yaml.join('\n')}\n`);
  const { project, diagnostics } = await loadProject(dir, { availableKinds: AVAILABLE, env });
  return { limits: project.settings.limits, errors: diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic) };
}

const EXAMPLE = [
  'limits:',
  '  tenants:',
  '    defaults: { requests_per_minute: 600, burst: 120, max_concurrent_runs: 100, max_runs_per_hour: 2000 }',
  '    acme: { requests_per_minute: 60, max_concurrent_runs: 5 }',
  '    open: { requests_per_minute: null, max_runs_per_hour: null }',
  '  roles: { service: { requests_per_minute: 300 }, viewer: { requests_per_minute: 100, burst: 500 }, operator: { requests_per_minute: null } }',
  '  keys: { ci: { requests_per_minute: 30, burst: 5 }, "oidc:ada": { requests_per_minute: 10 } }',
];

describe('limits settings', () => {
  it('has explicit built-in defaults: no request limit, generous run quotas', async () => {
    const { limits, errors } = await load(['name: p']);
    expect(errors).toEqual([]);
    expect(limits).toEqual(DEFAULT_LIMITS);
    expect(limits.defaults).toEqual({ rate: null, maxConcurrentRuns: LIMITS_DEFAULTS.max_concurrent_runs, maxRunsPerHour: LIMITS_DEFAULTS.max_runs_per_hour });
    expect(limits.defaults.maxConcurrentRuns).toBe(1_000);
    expect(tenantLimits(limits, 'anyone')).toBe(limits.defaults);
  });

  it('fills a tenant entry from the defaults, field by field, and null clears a default', async () => {
    const { limits, errors } = await load(EXAMPLE);
    expect(errors).toEqual([]);
    expect(limits.defaults).toEqual({ rate: { requestsPerMinute: 600, burst: 120 }, maxConcurrentRuns: 100, maxRunsPerHour: 2000 });
    // burst is the defaults' 120, not re-derived from the tenant's rate.
    expect(tenantLimits(limits, 'acme')).toEqual({ rate: { requestsPerMinute: 60, burst: 120 }, maxConcurrentRuns: 5, maxRunsPerHour: 2000 });
    expect(tenantLimits(limits, 'open')).toEqual({ rate: null, maxConcurrentRuns: 100, maxRunsPerHour: null });
    expect(tenantLimits(limits, 'other')).toEqual(limits.defaults);
  });

  it('gives a key its own entry, else its most generous role, else none; burst defaults to the rate', async () => {
    const { limits } = await load(EXAMPLE);
    expect(keyRate(limits, 'ci', ['service'])).toEqual({ requestsPerMinute: 30, burst: 5 });
    expect(keyRate(limits, 'oidc:ada', [])).toEqual({ requestsPerMinute: 10, burst: 10 });
    expect(keyRate(limits, 'bot', ['service'])).toEqual({ requestsPerMinute: 300, burst: 300 });
    expect(keyRate(limits, 'bot', ['viewer', 'service', 'runs:read'])).toEqual({ requestsPerMinute: 300, burst: 300 });
    // An explicitly unlimited role is the most generous of all.
    expect(keyRate(limits, 'ops', ['service', 'operator'])).toBeNull();
    expect(keyRate(limits, 'someone', ['reviewer', 'role:finance'])).toBeNull();
  });

  it('lets a profile override single fields of the file’s entries', async () => {
    const profile = [
      'profiles:',
      '  prod:',
      '    limits:',
      '      tenants: { acme: { max_concurrent_runs: 50 }, beta: { max_runs_per_hour: 7 } }',
      '      keys: { ci: { burst: 10 } }',
    ];
    const { limits, errors } = await load([...EXAMPLE, ...profile], { AGENTRY_PROFILE: 'prod' });
    expect(errors).toEqual([]);
    expect(tenantLimits(limits, 'acme')).toEqual({ rate: { requestsPerMinute: 60, burst: 120 }, maxConcurrentRuns: 50, maxRunsPerHour: 2000 });
    expect(tenantLimits(limits, 'beta')).toMatchObject({ maxConcurrentRuns: 100, maxRunsPerHour: 7 });
    expect(keyRate(limits, 'ci', [])).toEqual({ requestsPerMinute: 30, burst: 10 });
    // Without the profile, the file alone.
    expect(tenantLimits((await load([...EXAMPLE, ...profile])).limits, 'acme').maxConcurrentRuns).toBe(5);
  });

  it('reports each bad value at its file:line with what is wrong, all at once', async () => {
    const { errors } = await load([
      'limits:',
      '  tenants:',
      '    defaults: { requests_per_minute: 0 }',
      '    acme: { max_concurrent_runs: -1, burst: 3 }',
      '    "bad tenant": { max_runs_per_hour: 5 }',
      '    system: { max_runs_per_hour: 5 }',
      '  roles: { servce: { requests_per_minute: 5 } }',
      '  keys: { ci: { requests_per_minute: "fast" }, cd: { burst: 4 }, ops: { requests_per_minute: 5, per_hour: 1 } }',
    ]);
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^agentry\.yaml:3:\d+ limits\.tenants\.defaults\.requests_per_minute: must be a whole number of at least 1, or null for no limit/,
        ),
        expect.stringMatching(/^agentry\.yaml:4:\d+ limits\.tenants\.acme\.max_concurrent_runs: must be a whole number of at least 0/),
        expect.stringMatching(/^agentry\.yaml:5:\d+ limits\.tenants\.bad tenant: invalid name 'bad tenant'/),
        expect.stringMatching(/^agentry\.yaml:7:\d+ limits\.roles.*unknown field 'servce'.*did you mean 'service'/),
        expect.stringMatching(/^agentry\.yaml:8:\d+ limits\.keys\.ci\.requests_per_minute: must be a whole number/),
        expect.stringMatching(/^agentry\.yaml:8:\d+ limits\.keys\.ops.*unknown field 'per_hour'/),
      ]),
    );
  });

  it('reports a burst without a rate and the reserved tenant system at their lines', async () => {
    const { errors } = await load([
      'limits:',
      '  tenants:',
      '    system: { max_runs_per_hour: 5 }',
      '    acme: { burst: 3 }',
      '  keys:',
      '    cd: { burst: 4 }',
    ]);
    expect(errors).toEqual([
      expect.stringMatching(/^agentry\.yaml:3:\d+ limits\.tenants\.system: 'system' is reserved/),
      expect.stringMatching(/^agentry\.yaml:4:\d+ limits\.tenants\.acme\.burst: burst needs requests_per_minute/),
      expect.stringMatching(/^agentry\.yaml:6:\d+ limits\.keys\.cd\.burst: burst needs requests_per_minute/),
    ]);
  });

  it('names the roles the server knows', () => {
    expect([...LIMIT_ROLES]).toEqual([...ROLES]);
  });
});
