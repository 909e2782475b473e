/**
 * JSON Schema validators compiled when the package is built (ajv's standalone code), by name:
 * `spec:<kind>` for each spec kind and `json-schema` for the meta-schema of user-written schemas
 * (`spec/validate.ts`), `config` for resolved configuration
 * (`app/config-schema.ts`). In the sources this table is empty and each validator compiles on
 * first use; the bundle (`scripts/bundle.ts`) replaces this module with one that holds them
 * compiled from the same schemas and the same ajv options (`newSpecAjv`, `newUserAjv`, `newConfigAjv`):
 * compiling them was about a quarter of `agentry serve`'s start-up CPU.
 */
import type { ValidateFunction } from 'ajv';

/** The validator compiled at build time under `name`, if this build has one. */
export function precompiledValidator(name: string): ValidateFunction | undefined {
  void name;
  return undefined;
}
