/** Writes src/client/openapi.ts, the typed client's generated types (`npm run client:types`). */
import { writeFileSync } from 'node:fs';
import { CLIENT_TYPES_FILE, clientTypesSource } from './client-types.js';

writeFileSync(CLIENT_TYPES_FILE, await clientTypesSource());
