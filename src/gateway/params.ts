/**
 * OpenAI's optional chat parameters and which provider types honour them. `openai` and
 * `openai-compatible` take every one as it is (a compatible server that does not know one answers
 * for itself); `mock` accepts them all (`n` gives that many choices, the others change nothing);
 * `anthropic` maps `user` (→ `metadata.user_id`) and `parallel_tool_calls: false`
 * (→ `disable_parallel_tool_use`) and cannot honour the rest. A parameter left at OpenAI's default
 * (`n: 1`, `logprobs: false`, a penalty of 0) asks nothing of a provider.
 *
 * A request with a parameter one of its group's targets cannot honour is refused with
 * `unsupported_parameter` naming the field, before anything is sent — so a fallback never changes
 * what a request means — unless the group sets `drop_params: true`: then each target is sent the
 * request without what it cannot honour, and the answer names the dropped fields.
 */
import { AgentryError } from '../lib/errors.js';
import type { ProviderType, ResolvedGroup } from './config.js';
import type { ChatRequest } from './types.js';

/** The parameters a provider type may be unable to honour, in the order they are reported. */
export const OPTIONAL_PARAMS = [
  'n',
  'presence_penalty',
  'frequency_penalty',
  'logprobs',
  'top_logprobs',
  'logit_bias',
  'seed',
  'reasoning_effort',
  'metadata',
  'service_tier',
] as const satisfies ReadonlyArray<keyof ChatRequest>;
type OptionalParam = (typeof OPTIONAL_PARAMS)[number];

const UNSUPPORTED: Record<ProviderType, ReadonlySet<OptionalParam>> = {
  openai: new Set(),
  'openai-compatible': new Set(),
  mock: new Set(),
  anthropic: new Set(OPTIONAL_PARAMS),
};

/** OpenAI's value of a parameter when it is not sent: sending it asks nothing of a provider. */
function isDefault(param: OptionalParam, value: unknown): boolean {
  if (param === 'n') return value === 1;
  if (param === 'logprobs') return value === false;
  if (param === 'presence_penalty' || param === 'frequency_penalty') return value === 0;
  return false;
}

/** The parameters of `request` a provider of `type` cannot honour. */
export function unsupportedParams(type: ProviderType, request: ChatRequest): OptionalParam[] {
  const unsupported = UNSUPPORTED[type];
  return OPTIONAL_PARAMS.filter((p) => unsupported.has(p) && request[p] !== undefined && !isDefault(p, request[p]));
}

/**
 * Checks `request` against every target of `group` (`typeOf` gives a target's provider type).
 * Throws `unsupported_parameter` for the first field a target cannot honour, unless the group
 * drops them; returns the fields some target will not be sent (for the answer's warning header).
 */
export function checkParams(group: ResolvedGroup, request: ChatRequest, typeOf: (provider: string) => ProviderType): string[] {
  const dropped = new Set<string>();
  for (const target of group.targets) {
    const type = typeOf(target.provider);
    for (const param of unsupportedParams(type, request)) {
      if (!group.dropParams) {
        throw new AgentryError(
          'unsupported_parameter',
          `Unsupported parameter: '${param}' is not supported by model group '${group.name}' (target ${target.provider}/${target.model}, a ${type} provider); remove it, or set drop_params: true on the group to drop it with a warning`,
          { details: { param, group: group.name, provider: target.provider, model: target.model } },
        );
      }
      dropped.add(param);
    }
  }
  return OPTIONAL_PARAMS.filter((p) => dropped.has(p));
}

/** `request` without the parameters a provider of `type` cannot honour (the group drops them). */
export function withoutUnsupported(type: ProviderType, request: ChatRequest): ChatRequest {
  const drop = unsupportedParams(type, request);
  if (drop.length === 0) return request;
  const sent = { ...request };
  for (const param of drop) delete sent[param];
  return sent;
}
