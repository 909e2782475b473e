/** The workflows this process can start. */
import { projectWorkflows } from '../spec/builtin.js';
import { workflowDto, type WorkflowDto } from './dto/workflows.js';
import type { ServiceDeps } from './service-deps.js';

export class WorkflowService {
  constructor(private readonly deps: Pick<ServiceDeps, 'engine'>) {}

  /** Sorted by name. */
  list(): WorkflowDto[] {
    return [...this.deps.engine.workflows.values()].sort((a, b) => a.name.localeCompare(b.name)).map(workflowDto);
  }

  /** Names of the workflows with agent steps (they need an LLM gateway). */
  withAgentSteps(): string[] {
    // The built-in workflows have none (`/readyz` asks on every probe: they stay uncompiled).
    return [...projectWorkflows(this.deps.engine.workflows)].filter((wf) => [...wf.steps.values()].some((step) => step.kind === 'agent')).map((wf) => wf.name);
  }
}
