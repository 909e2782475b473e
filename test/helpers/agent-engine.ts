/**
 * An engine on a fresh store (any of `storeFactories`) with agent steps: the real gateway with a
 * scripted `mock` provider, the real ToolHub, and a chat client in between that records every
 * model request (so a test sees which turns reached the model, and what they carried).
 */
import { storeLedger } from '../../src/app/usage-ledger.js';
import { Gateway } from '../../src/gateway/gateway.js';
import type { ChatRequest } from '../../src/gateway/types.js';
import { createAgentExecutor, hubTools, type ChatClient, type GuardrailObserver } from '../../src/runtime/agent.js';
import type { AgentMemoryStore } from '../../src/runtime/agent-memory.js';
import { defaultExecutors } from '../../src/runtime/registry.js';
import type { AgentSpec, GatewaySpec, MockRuleSpec, ToolSpec } from '../../src/spec/schemas.js';
import { createToolHub, type ToolHub } from '../../src/tools/hub.js';
import { silentLogger, startTestEngine, type TestEngine } from './engine.js';
import type { StoreFactory } from './store.js';

export interface AgentEngine extends TestEngine {
  hub: ToolHub;
  /** Every model request, in order. */
  requests: ChatRequest[];
  /** The turn of each model request (1 + the assistant messages it carries). */
  turns: () => number[];
}

/** A gateway.yaml whose model group `mock` answers from `script`. */
export function mockGateway(script: MockRuleSpec[]): GatewaySpec {
  return { version: 'v1', providers: { scripted: { type: 'mock', script } }, models: { mock: { targets: [{ provider: 'scripted', model: 'mock-1' }] } } };
}

export async function startAgentEngine(
  factory: StoreFactory,
  parts: { gateway: GatewaySpec; agents: AgentSpec[]; tools?: ToolSpec[]; workflows: Record<string, unknown>[]; observer?: GuardrailObserver },
): Promise<AgentEngine> {
  const hub = createToolHub({ specs: new Map((parts.tools ?? []).map((t) => [t.name, t])), logger: silentLogger });
  const requests: ChatRequest[] = [];
  // The gateway records usage in the engine's store, so it is made once the store is open.
  let gateway: Gateway | undefined;
  const chat: ChatClient = {
    chat(request, ctx) {
      requests.push(structuredClone(request));
      if (!gateway) throw new Error('gateway not ready');
      return gateway.chat(request, ctx);
    },
  };
  let started: TestEngine | undefined;
  try {
    // Agents with `memory:` keep their threads in the engine's store, as bootstrap wires it.
    const memory: AgentMemoryStore = {
      loadMemory: (...args) => (started ?? fail()).store.loadMemory(...args),
      appendMemory: (...args) => (started ?? fail()).store.appendMemory(...args),
    };
    const agent = createAgentExecutor({ agents: new Map(parts.agents.map((a) => [a.name, a])), chat, tools: hubTools(hub), observer: parts.observer, memory });
    started = await startTestEngine(factory, parts.workflows, { executors: [...defaultExecutors(), agent], start: false });
    gateway = new Gateway({ spec: parts.gateway, logger: silentLogger, ledger: storeLedger(started.store), env: {} });
    await started.engine.start();
  } catch (error) {
    await started?.cleanup();
    await hub.close();
    throw error;
  }
  const engine = started;
  return {
    ...engine,
    hub,
    requests,
    turns: () => requests.map((r) => 1 + r.messages.filter((m) => m.role === 'assistant').length),
    cleanup: async () => {
      try {
        await engine.cleanup();
      } finally {
        await hub.close();
      }
    },
  };
}

function fail(): never {
  throw new Error('store not ready');
}

/** The decider the tests use: an admin key. */
export const ADMIN = { name: 't', roles: ['admin'] } as const;
