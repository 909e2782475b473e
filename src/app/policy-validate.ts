/**
 * `agentry validate --env <name>`: every way the project's workflows break the environment's
 * policy, as diagnostics at the file and line of the offending field (the workflow files are
 * read again for their positions), so they print like every other spec problem.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Diagnostic } from '../spec/diagnostics.js';
import type { Project } from '../spec/load.js';
import { parseYaml, toDiagnostics } from '../spec/source.js';
import { policyFindings, type PolicyFinding } from './policies.js';

/** The active environment's policy findings of every workflow of `project` (none without an active environment). */
export async function policyDiagnostics(project: Project): Promise<Diagnostic[]> {
  const environment = project.settings.environment;
  if (environment === undefined) return [];
  const context = { agents: project.agents, tools: project.tools };
  const diagnostics: Diagnostic[] = [];
  for (const wf of project.workflows.values()) {
    const findings = policyFindings(wf, environment.policy, context);
    if (findings.length === 0) continue;
    const problems = findings.map((f: PolicyFinding) => ({
      path: f.path,
      message: `policy ${environment.name}: ${f.rule}: ${f.message}`,
      severity: f.severity,
    }));
    if (wf.file === undefined) {
      diagnostics.push(
        ...problems.map((p) => ({ file: `(workflow ${wf.name})`, line: 0, column: 0, path: p.path.join('.'), message: p.message, severity: p.severity })),
      );
      continue;
    }
    const parsed = parseYaml(wf.file, await readFile(path.join(project.dir, wf.file), 'utf8'));
    diagnostics.push(...toDiagnostics(problems, wf.file, parsed.locate));
  }
  return diagnostics;
}
