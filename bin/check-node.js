// The Node.js version check of the `agentry` command (bin/agentry.js), run before anything that
// could fail on an older Node: plain syntax and `fs` only, so that it runs wherever ESM does.
import { readFileSync } from 'node:fs';

/** The oldest Node.js this package runs on, from package.json `engines.node` (`>=20.19`): [major, minor, patch]. */
export function minimumNode() {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const match = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(String(pkg.engines && pkg.engines.node).trim());
  if (!match) throw new Error('package.json engines.node must read ">=<major>.<minor>"');
  return [Number(match[1]), Number(match[2] || 0), Number(match[3] || 0)];
}

/** The message to print when `version` (`process.version`, e.g. `v20.18.1`) is older than `minimum`; undefined when it will do. */
export function nodeVersionProblem(version, minimum = minimumNode()) {
  const parts = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  const wanted = minimum[0] + '.' + minimum[1] + (minimum[2] > 0 ? '.' + minimum[2] : '');
  if (parts) {
    const have = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
    for (let i = 0; i < 3; i++) {
      if (have[i] > minimum[i]) return undefined;
      if (have[i] < minimum[i]) break;
      if (i === 2) return undefined;
    }
  }
  return 'agentry needs Node.js ' + wanted + ' or newer; this is ' + version + '. Install a current Node.js (https://nodejs.org) and run it again.';
}
