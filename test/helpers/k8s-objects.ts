/**
 * The shapes of the Kubernetes objects deploy/kubernetes uses, as far as the tests read them,
 * and what the kubelet and Services make of them: a container's environment, a named port, a
 * preStop sleep, a resource quantity, a label selector.
 */
import type { K8sObject } from './kustomize.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
}
interface ContainerPort {
  name?: string;
  containerPort: number;
}
interface Probe {
  httpGet?: { path: string; port: number | string };
}
export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: ContainerPort[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface Volume {
  name: string;
  configMap?: { name: string; items?: Array<{ key: string; path: string }> };
  secret?: { secretName: string; items?: Array<{ key: string; path: string }> };
  emptyDir?: object;
}
export interface PodSpec {
  containers: Container[];
  volumes?: Volume[];
  terminationGracePeriodSeconds?: number;
  restartPolicy?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: PodSpec;
}
export type Workload = K8sObject & { spec: { replicas?: number; selector?: { matchLabels: Record<string, string> }; template: PodTemplate } };
export type ServiceObject = K8sObject & {
  spec: { selector: Record<string, string>; ports: Array<{ name: string; port: number; targetPort: number | string }> };
};
export type Pdb = K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; maxUnavailable?: number | string; minAvailable?: number | string } };
export type Monitor = K8sObject & {
  spec: {
    selector: { matchLabels: Record<string, string> };
    endpoints: Array<{ port: string; path: string; authorization?: { type?: string; credentials?: { name: string; key: string } } }>;
  };
};
export type ConfigMapObject = K8sObject & { data: Record<string, string> };
export interface IngressBackend {
  service?: { name: string; port: { name?: string; number?: number } };
}
export type IngressObject = K8sObject & {
  metadata: { annotations?: Record<string, string> };
  spec: {
    ingressClassName?: string;
    defaultBackend?: IngressBackend;
    tls?: Array<{ hosts?: string[]; secretName?: string }>;
    rules?: Array<{ host?: string; http?: { paths: Array<{ path?: string; pathType: string; backend: IngressBackend }> } }>;
  };
};

export const ofKind = <T extends K8sObject>(objects: readonly K8sObject[], kind: string): T[] => objects.filter((o): o is T => o.kind === kind);
export const selects = (selector: Record<string, string>, labels: Record<string, string> = {}): boolean =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

/** The container's environment as the kubelet gives it: ConfigMaps of `envFrom`, then `env`. */
export function envOf(container: Container, objects: readonly K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const name = from.configMapRef?.name;
    const map = ofKind<ConfigMapObject>(objects, 'ConfigMap').find((m) => m.metadata.name === name);
    if (!map) throw new Error(`envFrom names no ConfigMap of the set: ${JSON.stringify(from)}`);
    Object.assign(env, map.data);
  }
  for (const entry of container.env ?? []) if (entry.value !== undefined) env[entry.name] = entry.value;
  return env;
}

/** A probe's or Service's port as a number (a name resolved among the container's ports). */
export function portNumber(container: Container, port: number | string): number | undefined {
  if (typeof port === 'number') return container.ports?.some((p) => p.containerPort === port) ? port : undefined;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** Seconds of a `preStop` sleep (`exec: sleep N` or the `sleep` action), 0 without one. */
export function preStopSeconds(container: Container): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const command = preStop?.exec?.command ?? [];
  if (command.length === 0) return 0;
  if (command[0] !== 'sleep') throw new Error(`preStop runs ${command.join(' ')}, not sleep`);
  return Number(command[1]);
}

/** CPU in cores, memory in bytes. */
export function quantity(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G)?$/.exec(value);
  if (!match) throw new Error(`cannot read quantity ${value}`);
  const units: Record<string, number> = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9 };
  return Number(match[1]) * (match[2] ? (units[match[2]] ?? 1) : 1);
}
