/**
 * docs/cli-reference.md is the `--help` of every command, generated from the command
 * definitions: it must match what the CLI says today, and every command must answer `--help`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliReferenceMarkdown, commandPath, commandTree, fullProgram, helpText } from '../../src/cli/reference.js';
import { REPO, runCliInProcess } from '../helpers/cli.js';

describe('the CLI reference', () => {
  it('docs/cli-reference.md is what the command definitions render', async () => {
    const committed = readFileSync(join(REPO, 'docs/cli-reference.md'), 'utf8');
    expect(committed, 'docs/cli-reference.md is out of date: run `npm run docs:cli` and commit it').toBe(await cliReferenceMarkdown());
  });

  // The reference defines every command at once; the CLI loads only the one invoked. Both must
  // say the same (up to where lines wrap: the CLI wraps at the terminal's width).
  it('holds, for every command, what `agentry <command> --help` prints', async () => {
    const words = (text: string): string => text.replace(/\s+/g, ' ').trim();
    for (const command of commandTree(await fullProgram())) {
      const path = commandPath(command).split(' ').slice(1);
      const result = await runCliInProcess([...path, '--help']);
      expect(result.code, `agentry ${path.join(' ')} --help`).toBe(0);
      expect(words(result.stdout)).toBe(words(helpText(command)));
    }
  });
});
