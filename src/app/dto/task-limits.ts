/**
 * Limits of task decisions and signals, shared by the API's schemas and the CLI's argument
 * checks. Kept apart from the schemas so the CLI can check arguments without loading typebox.
 */

/** Longest `comment` a decision may carry. */
export const MAX_COMMENT_LENGTH = 4000;

/** Signal names: the same pattern as a `wait:` step's `signal:` (src/spec/schemas.ts). */
export const SIGNAL_NAME_PATTERN = '^[A-Za-z0-9_.-]{1,64}$';
