/** What `GET /v1/admin/logs` returns: the server's recent log lines, as it wrote them (redacted). */
import { Type, type Static } from 'typebox';
import { RING_LEVELS } from '../../obs/log-ring.js';

export const LOG_LEVEL_FILTERS = RING_LEVELS;

export const LogLineSchema = Type.Object(
  {
    seq: Type.Integer({ description: 'The line’s position among the lines this process wrote since it started' }),
    level: Type.Enum([...RING_LEVELS]),
    record: Type.Record(Type.String(), Type.Unknown(), {
      description: 'The log line as written on stderr (docs/operations/logging.md): `level`, `time`, `msg`, `request_id`, …',
    }),
  },
  { title: 'LogLine' },
);
export type LogLineDto = Static<typeof LogLineSchema>;

export const LogPageSchema = Type.Object(
  {
    items: Type.Array(LogLineSchema, { description: 'The newest lines that pass the level filter, oldest first' }),
    capacity: Type.Integer({ description: 'How many lines the process keeps (`AGENTRY_LOG_BUFFER`)' }),
  },
  { title: 'LogPage' },
);
export type LogPageDto = Static<typeof LogPageSchema>;
