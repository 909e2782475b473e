import { describe, expect, it } from 'vitest';
import { createExecutorRegistry, DEFAULT_EXECUTOR_SETTINGS, defaultExecutors, transformExecutor } from '../../src/runtime/index.js';

describe('executor registry', () => {
  it('finds the default executors by kind and lists their kinds', () => {
    const registry = createExecutorRegistry(defaultExecutors());
    expect([...registry.kinds()].sort()).toEqual(['http', 'sleep', 'transform']);
    expect(registry.get('transform')).toBe(transformExecutor);
    expect(registry.get('http')?.kind).toBe('http');
    expect(registry.get('agent')).toBeUndefined();
  });

  it('refuses two executors for the same kind', () => {
    expect(() => createExecutorRegistry([transformExecutor, transformExecutor])).toThrow(/transform/);
  });

  it('defaults to refusing link-local addresses, a 30 s timeout, a 10 MiB response limit and development-mode egress without lists', () => {
    expect(DEFAULT_EXECUTOR_SETTINGS).toEqual({
      http: { allowLinkLocal: false, defaultTimeoutMs: 30_000, maxResponseBytes: 10 * 1024 * 1024 },
      egress: { mode: 'development', rules: undefined },
    });
  });
});
