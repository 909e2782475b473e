/**
 * `openai-compatible`: any server speaking OpenAI's chat-completions API at `base_url`
 * (vLLM, Ollama, LM Studio, llama.cpp server …), through the same official SDK. The key is
 * optional; the output cap is sent as `max_tokens`, which these servers understand.
 */
import type { ResolvedProvider } from '../config.js';
import type { Provider } from '../types.js';
import { createOpenAIProvider } from './openai.js';

export function createOpenAICompatibleProvider(config: ResolvedProvider): Provider {
  return createOpenAIProvider(config, { compatible: true });
}
