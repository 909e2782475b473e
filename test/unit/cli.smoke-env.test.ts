/**
 * `agentry smoke --env-file`: the deployment env file read as systemd and Docker read it, a bad
 * line named by number and never shown, the file validated as `config validate` would, and the
 * keys of the checks chosen from its `AGENTRY_API_KEYS` (also through `AGENTRY_API_KEYS_FILE`).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkEnvFile, parseEnvFile } from '../../src/cli/smoke-env.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A project that production accepts, and an env file (lines) beside it. */
function deployment(lines: string[]): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentry-gate-'));
  dirs.push(dir);
  fs.mkdirSync(path.join(dir, 'project', 'workflows'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'project', 'agentry.yaml'), 'version: v1\nname: gate\negress: { allow: [], deny: [] }\n');
  const env = ['AGENTRY_ENV=production', `AGENTRY_PROJECT_DIR=${path.join(dir, 'project')}`, `AGENTRY_DATABASE_URL=sqlite:${dir}/a.db`, ...lines];
  fs.writeFileSync(path.join(dir, 'agentry.env'), `${env.join('\n')}\n`);
  return { dir, file: 'agentry.env' };
}

const key = (): string => randomBytes(20).toString('hex');

describe('the env file of agentry smoke --env-file', () => {
  it('reads NAME=VALUE lines, comments and quotes as systemd does, and names a bad line by number without showing it', () => {
    const text = [
      '# comment',
      '; also a comment',
      '',
      'A=1',
      '  B = two words  ',
      'C="quoted \\"x\\" value"',
      "D='single'",
      'E=x=y',
      'not a line hunter2-secret',
      '=nameless',
    ].join('\n');
    const { env, problems } = parseEnvFile(text, 'x.env');
    expect(env).toEqual({ A: '1', B: 'two words', C: 'quoted "x" value', D: 'single', E: 'x=y' });
    expect(problems).toEqual([
      'x.env:9: expected NAME=VALUE (a variable name of letters, digits and _)',
      'x.env:10: expected NAME=VALUE (a variable name of letters, digits and _)',
    ]);
  });

  it('validates as production and takes an admin key for the checks, a viewer and a reviewer key of its tenant, from AGENTRY_API_KEYS_FILE', async () => {
    const k = { svc: key(), ops: key(), admin: key(), writer: key(), viewer: key(), other: key(), rev: key() };
    const list = [
      `svc:${k.svc}:service`,
      `ops:${k.ops}:operator`,
      `root:${k.admin}:admin`,
      `writer:${k.writer}:viewer,runs:write`,
      `elsewhere:${k.other}:viewer,tenant:acme`,
      `watch:${k.viewer}:viewer`,
      `rev:${k.rev}:reviewer`,
    ].join(';');
    const { dir, file } = deployment([]);
    fs.writeFileSync(path.join(dir, 'keys'), list);
    fs.appendFileSync(path.join(dir, file), `AGENTRY_API_KEYS_FILE=${path.join(dir, 'keys')}\n`);
    const gate = await checkEnvFile({ file, dir: undefined, cwd: dir });
    expect(gate.result).toMatchObject({ name: 'config', status: 'warn' });
    expect(gate.result.detail).toContain(`agentry.env (production, project ${path.join(dir, 'project')}) would start; 1 warning: `);
    expect(gate.result.detail).toContain('keys from AGENTRY_API_KEYS: the checks root (admin), viewer-write watch (viewer), human rev (reviewer)');
    expect([gate.keys.main?.key, gate.keys.viewer?.key, gate.keys.reviewer?.key]).toEqual([k.admin, k.viewer, k.rev]);
    expect(gate.secrets).toEqual(expect.arrayContaining(Object.values(k)));
    for (const value of Object.values(k)) expect(gate.result.detail).not.toContain(value);
  });

  it('fails naming every variable that is wrong (a bad value, a malformed key entry) and takes no key from a list that does not parse', async () => {
    const ops = key();
    const { dir, file } = deployment(['AGENTRY_PORT=seventy', `AGENTRY_API_KEYS=ops:${ops}:operator;broken`, 'junk']);
    const gate = await checkEnvFile({ file: path.join(dir, file), dir: undefined, cwd: dir });
    expect(gate.result).toMatchObject({ name: 'config', status: 'fail', code: 'invalid_request' });
    expect(gate.result.detail).toContain('agentry.env:6: expected NAME=VALUE');
    expect(gate.result.detail).toContain("AGENTRY_PORT: must be a whole number, got 'seventy'");
    expect(gate.result.detail).toContain('AGENTRY_API_KEYS entry 2: expected name:key:role[,role]');
    expect(gate.keys.main).toBeUndefined();
    expect(gate.result.detail).not.toContain(ops);
  });

  it('takes an operator key when the list has no admin, and no viewer or reviewer key when it has none', async () => {
    const ops = key();
    const { dir, file } = deployment([`AGENTRY_API_KEYS=ops:${ops}:operator`]);
    const gate = await checkEnvFile({ file, dir: path.join(dir, 'project'), cwd: dir });
    expect(gate.keys.main?.name).toBe('ops');
    expect(gate.result.detail).toContain(
      'keys from AGENTRY_API_KEYS: the checks ops (operator), viewer-write skipped unless --viewer-key (no viewer key), human with the main key (no reviewer key)',
    );
  });
});
