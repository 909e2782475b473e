/**
 * Native TLS (`AGENTRY_TLS_CERT` / `AGENTRY_TLS_KEY`): the PEM certificate and key every
 * listener of the process serves HTTPS with, read once at startup. A file that cannot be read,
 * or a certificate and key that do not load together, stop the process with a message naming
 * the file and the option; a renewed certificate takes a restart.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { AgentryError } from '../lib/errors.js';
import type { Config } from './config.js';

/** What Node's HTTPS server takes (Fastify's `https` option). */
export interface TlsCredentials {
  readonly cert: Buffer;
  readonly key: Buffer;
}

function readPem(file: string, option: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`;
    throw new AgentryError('invalid_request', `${option}: ${file} ${reason}`, { cause: error });
  }
}

/** The certificate and key of `config.server.tls`, checked to load together; undefined: plain HTTP. */
export function tlsCredentials(config: Config): TlsCredentials | undefined {
  const files = config.server.tls;
  if (files === undefined) return undefined;
  const credentials = { cert: readPem(files.certFile, 'AGENTRY_TLS_CERT'), key: readPem(files.keyFile, 'AGENTRY_TLS_KEY') };
  try {
    createSecureContext(credentials);
  } catch (error) {
    throw new AgentryError(
      'invalid_request',
      `AGENTRY_TLS_CERT/AGENTRY_TLS_KEY: ${files.certFile} and ${files.keyFile} do not load as a PEM certificate and its unencrypted private key (${(error as Error).message})`,
      { cause: error },
    );
  }
  return credentials;
}
