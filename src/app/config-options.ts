/**
 * Every configuration option in one table: its flag, environment variable, `agentry.yaml`
 * key, default and description. `loadConfig` reads it, `agentry config show` prints it, and
 * `docs/configuration.md` embeds `configTableMarkdown()` (a test keeps them equal).
 *
 * The rows are grouped by what they configure, one module each, in the order the docs list
 * them: the project, the engine, the API server, the deployment.
 */
import type { OptionSpec } from './config-option.js';
import { DEPLOYMENT_OPTIONS } from './config-options-deployment.js';
import { ENGINE_OPTIONS } from './config-options-engine.js';
import { PROJECT_OPTIONS } from './config-options-project.js';
import { SERVER_OPTIONS } from './config-options-server.js';

export const CONFIG_OPTIONS = {
  ...PROJECT_OPTIONS,
  ...ENGINE_OPTIONS,
  ...SERVER_OPTIONS,
  ...DEPLOYMENT_OPTIONS,
} as const satisfies Record<string, OptionSpec>;

export type OptionKey = keyof typeof CONFIG_OPTIONS;
export type ConfigSource = 'flag' | 'env' | 'profile' | 'agentry.yaml' | 'default';
/** Values given on the command line, by option (strings as typed, or already parsed). */
export type ConfigFlags = Partial<Record<OptionKey, string | number | boolean | undefined>>;

/** The options table of `docs/configuration.md` (of `options`, by default the real one). */
export function configTableMarkdown(options: Readonly<Record<string, OptionSpec>> = CONFIG_OPTIONS): string {
  const rows = Object.entries(options).map(([key, o]) => {
    const aliases = (o.deprecatedAliases ?? []).map((a) => `<br>deprecated: \`${a.env}\` (since ${a.since})`).join('');
    const cells = [`\`${key}\``, `\`${o.env}\`${aliases}`, o.flag ? `\`${o.flag}\`` : '', o.yaml ? `\`${o.yaml}\`` : '', o.defaultText, o.description];
    return `| ${cells.join(' | ')} |`;
  });
  return ['| Option | Environment variable | Flag | `agentry.yaml` key | Default | Description |', '|---|---|---|---|---|---|', ...rows].join('\n');
}
