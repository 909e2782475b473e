/** Opens the `RunsApi` a command uses: the server's when `AGENTRY_URL` is set, else the project's store. */
import type { Config } from '../app/config.js';
import { redactorFor } from '../app/secrets.js';
import { loggerFor, type CliContext } from './context.js';
import { RemoteClient } from './remote.js';
import { RemoteRunsApi, type OpenRunsOptions, type RunsApi } from './runs-api.js';

/** The server's API when `AGENTRY_URL` is set, else the project's store. */
export async function openRunsApi(ctx: CliContext, config: Config, options: OpenRunsOptions = {}): Promise<RunsApi> {
  if (config.client.url !== undefined) {
    const { apiKey } = config.client;
    return new RemoteRunsApi(
      new RemoteClient({ url: config.client.url, ...(apiKey ? { apiKey } : {}), ...(options.tenant === undefined ? {} : { tenant: options.tenant }) }),
    );
  }
  // Loaded only for local mode: it opens the store and the engine.
  const { openLocalRunsApi } = await import('./runs-local.js');
  const redactor = options.redactor ?? redactorFor(config);
  return openLocalRunsApi(config, { ...options, env: ctx.env, redactor, logger: loggerFor(config, { interactive: options.interactive === true, redactor }) });
}

/** Opens the API, calls `fn` and closes it. */
export async function withRunsApi<T>(ctx: CliContext, config: Config, options: OpenRunsOptions, fn: (api: RunsApi) => Promise<T>): Promise<T> {
  const api = await openRunsApi(ctx, config, options);
  try {
    return await fn(api);
  } finally {
    await api.close();
  }
}
