/** What one configuration option declares (the rows of `CONFIG_OPTIONS`, `config-options.ts`). */

export type ValueKind = 'string' | 'integer' | 'boolean' | 'duration';

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
}
