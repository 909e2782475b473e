/** Building blocks every DTO module shares: nullable fields and ISO 8601 times. */
import { Type } from 'typebox';

export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const Time = Type.String({ format: 'date-time' });

/** A stored epoch-millisecond time as the API shows it. */
export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
