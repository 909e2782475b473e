/** One factory per provider type. */
import type { ResolvedProvider } from '../config.js';
import type { ChatRequest, EmbeddingRequest, ProviderCallOptions, Provider } from '../types.js';
import { createMockProvider, type MockOptions } from './mock.js';

export function createProvider(config: ResolvedProvider, options: MockOptions = {}): Provider {
  switch (config.type) {
    case 'openai':
      return lazyProvider(config, async () => (await import('./openai.js')).createOpenAIProvider);
    case 'openai-compatible':
      return lazyProvider(config, async () => (await import('./openai-compatible.js')).createOpenAICompatibleProvider);
    case 'anthropic':
      return lazyProvider(config, async () => (await import('./anthropic.js')).createAnthropicProvider);
    case 'mock':
      return createMockProvider(config, options);
  }
}

/**
 * A provider whose SDK (openai, anthropic: each a few hundred modules) is imported on its first
 * call, so that opening a gateway — and every process that opens a project with one — does not
 * load SDKs it may never call.
 */
function lazyProvider(config: ResolvedProvider, load: () => Promise<(config: ResolvedProvider) => Provider>): Provider {
  let provider: Promise<Provider> | undefined;
  const real = () => (provider ??= load().then((create) => create(config)));
  return {
    name: config.name,
    type: config.type,
    async chat(model: string, request: ChatRequest, options: ProviderCallOptions) {
      return (await real()).chat(model, request, options);
    },
    async *stream(model: string, request: ChatRequest, options: ProviderCallOptions) {
      yield* (await real()).stream(model, request, options);
    },
    ...(config.type === 'anthropic'
      ? {}
      : {
          async embed(model: string, request: EmbeddingRequest, options: ProviderCallOptions) {
            const provider = await real();
            return provider.embed!(model, request, options);
          },
        }),
  };
}
