/**
 * `NAME_FILE`: a secret given as the path of a file holding it (Docker and Kubernetes secrets
 * are mounted as files), so that it never sits in the environment of the process or in
 * `docker inspect`. One trailing newline is removed; setting both `NAME` and `NAME_FILE`, or
 * naming a file that cannot be read, is a problem.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/** The value of `name` from `env` or from `name_FILE`; `problem` set when the two clash or the file is unreadable. */
export function secretFromEnv(env: Env, name: string): { value: string | undefined; fromFile: boolean; problem?: string } {
  const path = env[`${name}_FILE`];
  const direct = env[name];
  if (path === undefined || path === '') return { value: direct === '' ? undefined : direct, fromFile: false };
  if (direct !== undefined && direct !== '') return { value: direct, fromFile: false, problem: `${name} and ${name}_FILE are both set; set only one` };
  try {
    return { value: readFileSync(path, 'utf8').replace(/\r?\n$/, ''), fromFile: true };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    return { value: undefined, fromFile: true, problem: `${name}_FILE: cannot read ${path} (${reason})` };
  }
}

/** Provider keys the gateway reads from the environment even when gateway.yaml does not name them. */
const PROVIDER_KEY_ENVS = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY'];

/** The project files that may hold or reference secrets: agentry.yaml, gateway.yaml, tools/, agents/ and workflows/ (relative paths, existing only). */
export function secretBearingFiles(projectDir: string): string[] {
  const files = ['agentry.yaml', 'gateway.yaml', 'gateway.yml'];
  for (const folder of ['tools', 'agents', 'workflows']) {
    const dir = join(projectDir, folder);
    if (existsSync(dir)) for (const file of readdirSync(dir).sort()) if (/\.ya?ml$/.test(file)) files.push(join(folder, file));
  }
  return files.filter((file) => existsSync(join(projectDir, file)));
}

/** `{{ env.NAME }}` references of the project's files: the secrets they read. */
function referencedEnvNames(projectDir: string): string[] {
  const names = new Set<string>();
  for (const file of secretBearingFiles(projectDir)) {
    for (const match of readFileSync(join(projectDir, file), 'utf8').matchAll(/\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)) names.add(match[1] as string);
  }
  return [...names];
}

/**
 * The environment with every provider key and every variable a project file references
 * (`{{ env.NAME }}`) filled in from its `NAME_FILE`; the problems found (one line each).
 */
export function withSecretFiles(env: NodeJS.ProcessEnv, projectDir: string): { env: NodeJS.ProcessEnv; problems: string[] } {
  const filled: NodeJS.ProcessEnv = { ...env };
  const problems: string[] = [];
  for (const name of new Set([...PROVIDER_KEY_ENVS, ...referencedEnvNames(projectDir)])) {
    const secret = secretFromEnv(env, name);
    if (secret.problem !== undefined) problems.push(secret.problem);
    else if (secret.fromFile) {
      filled[name] = secret.value;
      delete filled[`${name}_FILE`];
    }
  }
  return { env: filled, problems };
}
