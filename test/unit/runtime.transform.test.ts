import { describe, expect, it } from 'vitest';
import { stepContext } from '../helpers/step-context.js';
import { transformExecutor } from '../../src/runtime/index.js';

const ctx = stepContext({ stepId: 'shape' });

describe('transform executor', () => {
  it.each([{ summary: 'ok', items: [1, 2] }, 'plain text', 42, null, [true]])('returns the rendered config %j as the output', async (config) => {
    await expect(transformExecutor.execute(config, ctx)).resolves.toEqual({ kind: 'output', output: config });
  });

  it('is registered for the transform kind', () => {
    expect(transformExecutor.kind).toBe('transform');
  });
});
