/**
 * Renders deploy/kubernetes with `kubectl kustomize` and checks each object against the
 * Kubernetes API schemas twice: the JSON Schema of its kind (kubernetes-models, and
 * @kubernetes-models/prometheus-operator for the ServiceMonitor: types, required fields,
 * formats) and its TypeScript type as an object literal, which refuses any field the API does
 * not know (a misspelt `livenesProbe` would otherwise be dropped by the API server in silence).
 *
 * kubectl up to 1.20 (Debian's `kubernetes-client`) embeds kustomize 2.0.3, which takes
 * directories only under `bases:` and patches only as `patchesStrategicMerge:`; the manifests
 * use today's `resources:` and `patches:`. With such a kubectl the kustomizations are rendered
 * from a copy translated to the old fields, which say the same.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** Each kind the manifests may use: its model (JSON Schema) and its TypeScript type. */
const KINDS: Record<string, { model: new (data: never) => { validate(): void }; module: string; type: string }> = {
  'v1/ConfigMap': { model: ConfigMap, module: 'kubernetes-models/v1/ConfigMap', type: 'IConfigMap' },
  'v1/Secret': { model: Secret, module: 'kubernetes-models/v1/Secret', type: 'ISecret' },
  'v1/Service': { model: Service, module: 'kubernetes-models/v1/Service', type: 'IService' },
  'v1/ServiceAccount': { model: ServiceAccount, module: 'kubernetes-models/v1/ServiceAccount', type: 'IServiceAccount' },
  'apps/v1/Deployment': { model: Deployment, module: 'kubernetes-models/apps/v1/Deployment', type: 'IDeployment' },
  'batch/v1/Job': { model: Job, module: 'kubernetes-models/batch/v1/Job', type: 'IJob' },
  'networking.k8s.io/v1/Ingress': { model: Ingress, module: 'kubernetes-models/networking.k8s.io/v1/Ingress', type: 'IIngress' },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, module: 'kubernetes-models/policy/v1/PodDisruptionBudget', type: 'IPodDisruptionBudget' },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    model: ServiceMonitor,
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
    type: 'IServiceMonitor',
  },
};

export interface Kubectl {
  path: string;
  /** kustomize's major version (2 for kubectl ≤ 1.20, which does not print it). */
  kustomizeMajor: number;
}

/** The kubectl on the PATH, or undefined. */
export function findKubectl(): Kubectl | undefined {
  const result = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) return undefined;
  const version = (JSON.parse(result.stdout) as { kustomizeVersion?: string }).kustomizeVersion;
  const major = /^v?(\d+)\./.exec(version ?? '')?.[1];
  return { path: 'kubectl', kustomizeMajor: major === undefined ? 2 : Number(major) };
}

/** A kustomization in the fields kustomize 2.0.3 reads: directories under `bases:`, patches under `patchesStrategicMerge:`. */
function toKustomize2(text: string): string {
  const k = parse(text) as Record<string, unknown>;
  const resources = (k.resources as string[] | undefined) ?? [];
  const files = resources.filter((entry) => /\.ya?ml$/.test(entry));
  const dirs = resources.filter((entry) => !/\.ya?ml$/.test(entry));
  const patches = (k.patches as Array<{ path?: string }> | undefined) ?? [];
  if (patches.some((patch) => patch.path === undefined)) throw new Error('only `patches: - path:` entries can be translated for kustomize 2');
  const { resources: _r, patches: _p, ...rest } = k;
  return stringify({
    ...rest,
    ...(files.length > 0 ? { resources: files } : {}),
    ...(dirs.length > 0 ? { bases: dirs } : {}),
    ...(patches.length > 0 ? { patchesStrategicMerge: patches.map((patch) => patch.path) } : {}),
  });
}

function kustomizationsUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return kustomizationsUnder(path);
    return name === 'kustomization.yaml' ? [path] : [];
  });
}

/** `kubectl kustomize <deploy>/kubernetes/<target>` parsed; `deploy` is the repository's deploy/ folder (the project is outside kubernetes/). */
export function renderKustomization(kubectl: Kubectl, deploy: string, target: string): K8sObject[] {
  let root = deploy;
  let scratch: string | undefined;
  if (kubectl.kustomizeMajor < 3) {
    scratch = mkdtempSync(join(tmpdir(), 'agentry-kustomize-'));
    root = join(scratch, 'deploy');
    cpSync(deploy, root, { recursive: true, filter: (path) => !relative(deploy, path).startsWith('secrets') });
    for (const file of kustomizationsUnder(root)) writeFileSync(file, toKustomize2(readFileSync(file, 'utf8')));
  }
  try {
    const result = spawnSync(kubectl.path, ['kustomize', join(root, 'kubernetes', target)], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    if (result.status !== 0) throw new Error(`kubectl kustomize ${target} failed: ${result.stderr}`);
    return parseManifests(result.stdout);
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/** The objects of a multi-document YAML text (kubectl writes YAML 1.1: `0440` would be octal, so it writes numbers in decimal). */
export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((obj): obj is K8sObject => obj !== null);
}

/** `<apiVersion>/<kind> <name>: <problem>` for every object its kind's JSON Schema refuses, or that is of a kind not listed. */
export function schemaProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  for (const obj of objects) {
    const kind = KINDS[`${obj.apiVersion}/${obj.kind}`];
    if (!kind) {
      problems.push(`${obj.apiVersion}/${obj.kind} ${obj.metadata.name}: no schema for this kind in test/helpers/kustomize.ts`);
      continue;
    }
    try {
      new kind.model(obj as never).validate();
    } catch (error) {
      problems.push(`${obj.kind} ${obj.metadata.name}: ${(error as Error).message}`);
    }
  }
  return problems;
}

/** `<kind> <name>: <problem>` for every field of an object its kind's TypeScript type does not have (or types otherwise). */
export function typeProblems(objects: readonly K8sObject[]): string[] {
  const file = join(import.meta.dirname, '__kubernetes_objects__.ts');
  const used = [...new Set(objects.map((obj) => `${obj.apiVersion}/${obj.kind}`))].filter((key) => KINDS[key] !== undefined);
  const imports = used.map((key) => `import type { ${KINDS[key]!.type} } from '${KINDS[key]!.module}';`);
  // One object a line: a diagnostic's line names its object.
  const lines = objects.map((obj, i) => {
    const kind = KINDS[`${obj.apiVersion}/${obj.kind}`];
    return kind ? `export const o${i}: ${kind.type} = ${JSON.stringify(obj)};` : '';
  });
  const source = [...imports, ...lines].join('\n');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, language, ...rest) => (name === file ? ts.createSourceFile(name, source, language) : getSourceFile(name, language, ...rest));
  host.fileExists = (name) => name === file || fileExists(name);
  host.readFile = (name) => (name === file ? source : readFile(name));
  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === file && d.start !== undefined)
    .map((d) => {
      const obj = objects[d.file!.getLineAndCharacterOfPosition(d.start!).line - imports.length];
      return `${obj ? `${obj.kind} ${obj.metadata.name}` : 'imports'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
}
