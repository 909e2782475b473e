/**
 * Managed keys across API processes on one PostgreSQL database, with the real CLI: a server
 * starts with no bootstrap key when the database has a managed one (and refuses to start with
 * neither); a key created, revoked or rotated through one process (or `agentry keys` against it)
 * takes effect on the other within 5 s, without a restart.
 */
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedKeyDto } from '../../src/app/dto/keys.js';
import { killAll, runCli, startCli, tempDir, waitForOutput, type CliProcess } from '../helpers/cli.js';
import { createKey, SECRET_SHAPE, whoamiStatus } from '../helpers/keys.js';
import { writeProject } from '../helpers/pg-processes.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres } from '../helpers/store.js';

/** How soon every API process must act on a change of the keys (the promise of docs/security.md). */
const PROPAGATION_MS = 5_000;

describe.skipIf(!hasPostgres)('managed keys across API processes on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dir: string;
  let project: string;
  const env = () => ({ AGENTRY_DATABASE_URL: db.url });

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = tempDir();
    project = writeProject(dir, []);
  });
  afterEach(async () => {
    await killAll();
  });
  afterAll(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `agentry start api` on a free port; resolves with its base URL once it listens. */
  async function startApi(): Promise<{ proc: CliProcess; url: string }> {
    const proc = startCli(['start', 'api', '--dir', project, '--port', '0'], { env: env() });
    await waitForOutput(proc, (_stderr, stdout) => /listening on (http:\/\/\S+)/.test(stdout));
    return { proc, url: /listening on (http:\/\/\S+)/.exec(proc.stdout)![1]! };
  }

  it('refuses to start an API with auth on and no key of any kind', async () => {
    const empty = await createTestDatabase();
    try {
      const result = await runCli(['start', 'api', '--dir', project, '--port', '0'], { env: { AGENTRY_DATABASE_URL: empty.url } });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/no API keys are configured: .*agentry keys create/);
    } finally {
      await empty.drop();
    }
  });

  it('serves with only a managed key, and a revocation or rotation through one process holds on the other within 5 s', async () => {
    const created = await runCli(['keys', 'create', '--name', 'root', '--role', 'admin', '--json', '--dir', project], { env: env() });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain('WARNING: This key is shown only this once');
    const root = (JSON.parse(created.stdout) as IssuedKeyDto).secret;
    expect(root).toMatch(SECRET_SHAPE);

    const [one, two] = await Promise.all([startApi(), startApi()]);
    expect(await whoamiStatus(one.url, root)).toBe(200);

    // A key created through one process signs in on the other.
    const ci = await createKey(one.url, root, { name: 'ci', roles: ['service'] });
    await expect.poll(() => whoamiStatus(two.url, ci.secret), { timeout: PROPAGATION_MS, interval: 100 }).toBe(200);

    // Revoked with the CLI against the first process: refused by the second.
    const revoked = await runCli(['keys', 'revoke', 'ci'], { env: { AGENTRY_URL: one.url, AGENTRY_API_KEY: root } });
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`Revoked key ci (${ci.key.id}) of tenant default.`);
    await expect.poll(() => whoamiStatus(two.url, ci.secret), { timeout: PROPAGATION_MS, interval: 100 }).toBe(401);

    // Rotated with no grace through the second process: the first refuses the old secret and takes the new one.
    const rotated = await runCli(['keys', 'rotate', 'root', '--grace', '0s'], { env: { AGENTRY_URL: two.url, AGENTRY_API_KEY: root } });
    expect(rotated.code, rotated.stderr).toBe(0);
    const next = rotated.stdout.trim();
    expect(next).toMatch(SECRET_SHAPE);
    expect(rotated.stderr).toMatch(/The replaced key key_\S+ keeps working until/);
    await expect.poll(() => whoamiStatus(one.url, root), { timeout: PROPAGATION_MS, interval: 100 }).toBe(401);
    expect(await whoamiStatus(one.url, next)).toBe(200);
    // Neither process logged a secret.
    for (const proc of [one.proc, two.proc]) for (const secret of [root, next, ci.secret]) expect(proc.stderr + proc.stdout).not.toContain(secret.slice(-43));
    // Five CLI processes and two servers: slow on a busy machine (the 5 s deadlines above are the promise under test).
  }, 120_000);
});
