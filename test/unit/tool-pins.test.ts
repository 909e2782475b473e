import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { floatingPackage, scanToolServerPins } from '../../src/app/tool-pins.js';
import { removeDir, tempDir } from '../helpers/cli.js';

describe('tool servers started from a package runner', () => {
  it.each<[string, string[], string | undefined]>([
    ['npx', ['-y', 'some-mcp-server@^1.2'], 'some-mcp-server@^1.2'],
    ['npx', ['some-mcp-server@~1.2'], 'some-mcp-server@~1.2'],
    ['npx', ['--yes', '@acme/mcp@latest', '--port', '1'], '@acme/mcp@latest'],
    ['npx', ['some-mcp-server@next'], 'some-mcp-server@next'],
    ['npx', ['some-mcp-server@1'], 'some-mcp-server@1'],
    ['npx', ['some-mcp-server'], 'some-mcp-server'],
    ['npx some-mcp-server', [], 'some-mcp-server'],
    ['/usr/local/bin/npx', ['@acme/mcp'], '@acme/mcp'],
    ['npx', ['-p', 'pkg@>=1', 'bin-name'], 'pkg@>=1'],
    ['npm', ['exec', '--', 'pkg'], 'pkg'],
    ['pnpm', ['dlx', 'pkg@latest'], 'pkg@latest'],
    ['bunx', ['pkg'], 'pkg'],
    ['uvx', ['mcp-server-fetch'], 'mcp-server-fetch'],
    ['uvx', ['--python', '3.12', 'mcp-server-fetch>=1.0'], 'mcp-server-fetch>=1.0'],
    ['uvx', ['mcp-server-fetch@latest'], 'mcp-server-fetch@latest'],
    ['uvx', ['--from', 'pkg~=1.2', 'tool'], 'pkg~=1.2'],
    ['pipx', ['run', 'pkg'], 'pkg'],
    ['pipx', ['run', '--spec=pkg==1.*', 'tool'], 'pkg==1.*'],
  ])('%s %j floats: %s', (command, args, expected) => {
    expect(floatingPackage(command, args)?.pkg).toBe(expected);
  });

  it.each<[string, string[]]>([
    ['npx', ['-y', 'some-mcp-server@1.2.3']],
    ['npx', ['@acme/mcp@2.0.0-beta.1']],
    ['npx', ['-p', '@acme/mcp@1.0.0', 'acme-mcp']],
    ['npx', ['./local-server']],
    ['npx', ['git+https://github.com/acme/mcp.git']],
    ['uvx', ['mcp-server-fetch==2025.4.7']],
    ['uvx', ['mcp-server-fetch@1.2.0']],
    ['uvx', ['--from', 'pkg[cli]==1.2', 'tool']],
    ['pipx', ['run', 'pkg==1.2.3']],
    ['node', ['server.mjs']],
    ['python', ['-m', 'server']],
    ['pipx', ['install', 'pkg']],
  ])('%s %j is pinned or no package runner', (command, args) => {
    expect(floatingPackage(command, args)).toBeUndefined();
  });

  describe('in a project', () => {
    let dir: string;
    beforeEach(() => {
      dir = tempDir('agentry-pins-');
      mkdirSync(join(dir, 'tools'));
    });
    afterEach(() => removeDir(dir));

    it('names the tool server file and the package, one problem per file', () => {
      writeFileSync(join(dir, 'tools/fetch.yaml'), 'name: fetch\ncommand: uvx\nargs: [mcp-server-fetch]\n');
      writeFileSync(join(dir, 'tools/gh.yml'), 'name: gh\ncommand: npx\nargs: ["-y", "@acme/gh-mcp@^1.2"]\n');
      writeFileSync(join(dir, 'tools/ok.yaml'), 'name: ok\ncommand: npx\nargs: ["-y", "@acme/ok@1.2.3"]\n');
      writeFileSync(join(dir, 'tools/broken.yaml'), 'name: [\n');
      expect(scanToolServerPins(dir)).toEqual([
        'tools/fetch.yaml: uvx runs mcp-server-fetch without an exact version; pin an exact version (e.g. mcp-server-fetch==1.2.3)',
        'tools/gh.yml: npx runs @acme/gh-mcp@^1.2 without an exact version; pin an exact version (e.g. @acme/gh-mcp@1.2.3)',
      ]);
    });
  });
});
