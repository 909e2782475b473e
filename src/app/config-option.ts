/** What one configuration option declares (the rows of `CONFIG_OPTIONS`, `config-options.ts`). */

export type ValueKind = 'string' | 'integer' | 'boolean' | 'duration';

/**
 * A former name of an option's variable, still read in its place (DEP-24). A renamed variable
 * keeps its old name here for at least one minor version, and leaves only at a major version:
 * `docs/env-vars.json` (the variables of the last release) and its test hold every release to it.
 */
export interface DeprecatedAlias {
  /** The old variable (a secret option's alias is also read from `<env>_FILE`). */
  env: string;
  /** The version that renamed it (`0.4.0`). */
  since: string;
}

export interface OptionSpec {
  kind: ValueKind;
  env: string;
  /** CLI flag of the commands that take it (not every command has every flag). */
  flag?: string;
  /** Dotted key in `agentry.yaml` (also valid under `profiles.<name>.`). */
  yaml?: string;
  default: string | number | boolean | undefined;
  /** The default as the docs show it. */
  defaultText: string;
  description: string;
  /** Also read from `<env>_FILE` (a file holding the value); checked by production mode. */
  secret?: boolean;
  /** Former names of `env`: read when `env` is not set, each with a `config.deprecated` warning at startup. */
  deprecatedAliases?: readonly DeprecatedAlias[];
}
