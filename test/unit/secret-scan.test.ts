/**
 * scripts/scan-secrets.mjs (SEC-13) run in throwaway git repositories. The fake secrets are built
 * at run time, so this file holds none of the literals the scanner looks for.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/store.js';

const SCANNER = join(import.meta.dirname, '..', '..', 'scripts', 'scan-secrets.mjs');

/** A fake key of each kind, assembled from parts. */
const FAKE = {
  aws: ['AK', 'IA', 'QWERTYUIOPASDFGH'].join(''),
  anthropic: ['sk', 'ant', 'api03', 'Zx9Qw8Er7Ty6Ui5Op4As3Df2'].join('-'),
  privateKey: ['-----BEGIN', 'RSA', 'PRIVATE', 'KEY-----'].join(' '),
  github: ['ghp', 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8'].join('_'),
  assignment: `db_password = "${['Xq7', 'Lm2', 'Vp9', 'Rt4', 'Zk8', 'Wn3', 'Hs6'].join('')}"`,
};

const removals: Array<() => void> = [];
afterEach(() => {
  for (const remove of removals.splice(0)) remove();
});

function git(cwd: string, ...args: string[]): void {
  const result = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
}

/** A git repository with `files`; those under `tracked` are committed, the rest left untracked. */
function repo(files: Record<string, string>, options: { untracked?: string[] } = {}): string {
  const { dir, remove } = tempDir('agentry-secret-scan-');
  removals.push(remove);
  git(dir, 'init', '-q');
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  const tracked = Object.keys(files).filter((file) => !options.untracked?.includes(file));
  if (tracked.length > 0) git(dir, 'add', ...tracked);
  return dir;
}

function scan(cwd: string): { code: number | null; output: string } {
  const result = spawnSync(process.execPath, [SCANNER], { cwd, encoding: 'utf8' });
  return { code: result.status, output: result.stdout + result.stderr };
}

describe('scripts/scan-secrets.mjs', () => {
  it('passes a clean repository', () => {
    const dir = repo({ 'src/app.ts': 'export const model = "gpt-4o";\nconst password = process.env.DB_PASSWORD;\n', 'README.md': '# app\n' });
    const result = scan(dir);
    expect(result.output).toContain('no secrets in 2 files');
    expect(result.code).toBe(0);
  });

  it('fails on a planted key, naming the file, line and kind without printing the key', () => {
    const dir = repo(
      {
        'src/config.ts': `// settings\nexport const region = 'eu';\nexport const key = '${FAKE.aws}';\n`,
        'notes/keys.txt': `${FAKE.privateKey}\nanthropic: ${FAKE.anthropic}\n${FAKE.github}\n${FAKE.assignment}\n`,
      },
      { untracked: ['notes/keys.txt'] },
    );
    const result = scan(dir);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/^src\/config\.ts:3: AWS access key \(AKIA\w?…\) fp:[0-9a-f]{16}$/m);
    expect(result.output).toMatch(/^notes\/keys\.txt:1: private key /m);
    expect(result.output).toMatch(/^notes\/keys\.txt:2: Anthropic key \(sk-ant…\)/m);
    expect(result.output).toMatch(/^notes\/keys\.txt:3: GitHub token /m);
    expect(result.output).toMatch(/^notes\/keys\.txt:4: secret assignment /m);
    for (const secret of [FAKE.aws, FAKE.anthropic, FAKE.github, FAKE.assignment.slice(-21, -1)]) expect(result.output).not.toContain(secret);
  });

  it('ignores what .gitignore ignores', () => {
    const dir = repo({ '.gitignore': '.env\n', '.env': `AWS_KEY=${FAKE.aws}\n` }, { untracked: ['.env'] });
    expect(scan(dir).code).toBe(0);
  });

  it('passes fakes allow-listed by fingerprint or path, each with its reason', () => {
    const planted = repo({ 'test/fixture.ts': `export const key = '${FAKE.aws}';\n`, 'test/keys/a.pem': `${FAKE.privateKey}\n` });
    const fingerprint = /fp:([0-9a-f]{16})/.exec(scan(planted).output)?.[1] ?? '';
    writeFileSync(
      join(planted, '.secretscan-allow'),
      `# A fake key the fixture plants on purpose.\nfp:${fingerprint}\ntest/keys/*.pem # fake keys for TLS tests\n`,
    );
    expect(scan(planted)).toMatchObject({ code: 0 });

    // The same key in another file is still allowed (its fingerprint); another key is not.
    writeFileSync(join(planted, 'other.ts'), `const again = '${FAKE.aws}';\nconst more = '${FAKE.github}';\n`);
    const result = scan(planted);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/^other\.ts:2: GitHub token/m);
    expect(result.output).not.toMatch(/other\.ts:1:/);
  });

  it('refuses an allow-list entry without a reason', () => {
    const dir = repo({ '.secretscan-allow': 'test/**\n', 'a.ts': '' });
    const result = scan(dir);
    expect(result.code).toBe(2);
    expect(result.output).toContain("'test/**' needs a reason");
  });

  it('passes on this repository, whose planted fakes are allow-listed', () => {
    const result = scan(join(import.meta.dirname, '..', '..'));
    expect(result.output).toContain('no secrets in');
    expect(result.code).toBe(0);
  });
});
