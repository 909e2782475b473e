/** One factory per provider type. */
import type { ResolvedProvider } from '../config.js';
import type { Provider } from '../types.js';
import { createAnthropicProvider } from './anthropic.js';
import { createMockProvider, type MockOptions } from './mock.js';
import { createOpenAICompatibleProvider } from './openai-compatible.js';
import { createOpenAIProvider } from './openai.js';

export function createProvider(config: ResolvedProvider, options: MockOptions = {}): Provider {
  switch (config.type) {
    case 'openai':
      return createOpenAIProvider(config);
    case 'openai-compatible':
      return createOpenAICompatibleProvider(config);
    case 'anthropic':
      return createAnthropicProvider(config);
    case 'mock':
      return createMockProvider(config, options);
  }
}
