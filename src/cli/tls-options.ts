/** `--tls-cert` / `--tls-key`: native TLS for the commands that listen (`serve`, `start api`, `start gateway`). */
import type { Command } from 'commander';

export interface TlsFlags {
  tlsCert?: string;
  tlsKey?: string;
}

/** Adds `--tls-cert <file>` and `--tls-key <file>` to `command`. */
export function addTlsOptions(command: Command): Command {
  return command
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (chain); needs --tls-key; also AGENTRY_TLS_CERT')
    .option('--tls-key <file>', 'PEM private key of --tls-cert; also AGENTRY_TLS_KEY');
}
