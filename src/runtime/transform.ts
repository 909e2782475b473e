import type { StepExecutor } from './types.js';

/** `transform`: the engine has already rendered the templates; the rendered value is the output. */
export const transformExecutor: StepExecutor = {
  kind: 'transform',
  execute(config) {
    return Promise.resolve({ kind: 'output', output: config });
  },
};
