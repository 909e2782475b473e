/**
 * How this process calls a remote gateway (`AGENTRY_GATEWAY_URL`): with internal service tokens
 * signed by `AGENTRY_INTERNAL_SECRET` when it is set, else with `AGENTRY_GATEWAY_API_KEY`
 * (development and single-tenant deployments; docs/security.md#internal-service-tokens).
 */
import { InternalTokenSigner, type InternalIssuer } from '../gateway/internal-token.js';
import type { RemoteGatewayOptions } from '../gateway/remote.js';
import type { Config } from './config.js';

/**
 * The remote gateway's options for a caller: a worker's agent steps (`worker`) or an API process
 * forwarding its callers' requests (`api`), named by `subject` (its worker id) in every token.
 * Undefined when the gateway runs in this process.
 */
export function remoteGatewayOptions(config: Config, issuer: InternalIssuer, subject: string): RemoteGatewayOptions | undefined {
  if (config.gateway === undefined) return undefined;
  const { url, apiKey } = config.gateway;
  const secret = config.internal.secret;
  return secret === undefined ? { url, apiKey } : { url, tokens: new InternalTokenSigner(secret, issuer, subject) };
}
