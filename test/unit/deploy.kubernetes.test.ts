/**
 * deploy/kubernetes: every kustomization renders (`kubectl kustomize`), every object passes its
 * kind's schema and type (test/helpers/kustomize.ts), and the objects agree with each other and
 * with Agentry: each role's probes reach the port it serves them on, the termination grace
 * covers the preStop sleep and AGENTRY_SHUTDOWN_GRACE, every `*_FILE` is a mounted key of the
 * Secret that ../secret.example.yaml documents, the project ConfigMap holds deploy/project
 * file for file, Services, PodDisruptionBudgets and the ServiceMonitor select what exists,
 * production mode accepts each role's configuration, and only the API has an Ingress (its
 * annotations those of deploy/proxy/nginx.conf). Without kubectl the test is skipped with a
 * printed reason, except in CI (`CI=true`), where it fails: .ci/run installs kubectl.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_OPTIONS } from '../../src/app/config-options.js';
import { SERVER_OPTIONS } from '../../src/app/config-options-server.js';
import { validateConfiguration } from '../../src/app/config-validate.js';
import { DEFAULT_ENGINE_SETTINGS } from '../../src/engine/engine-options.js';
import { parseDuration } from '../../src/lib/duration.js';
import { POSTGRES_DEFAULTS } from '../../src/store/database-url.js';
import {
  envOf,
  ofKind,
  portNumber,
  preStopSeconds,
  quantity,
  selects,
  type ConfigMapObject,
  type Container,
  type IngressBackend,
  type IngressObject,
  type Monitor,
  type Pdb,
  type PodSpec,
  type ServiceObject,
  type Workload,
} from '../helpers/k8s-objects.js';
import { findKubectl, renderKustomization, schemaProblems, typeProblems, type K8sObject } from '../helpers/kustomize.js';

const DEPLOY = resolve(import.meta.dirname, '../../deploy');
const K8S = join(DEPLOY, 'kubernetes');
const PROJECT = join(DEPLOY, 'project');
const TARGETS = ['base', 'migrate', 'monitoring', 'overlays/production', 'overlays/production/migrate'] as const;
type Target = (typeof TARGETS)[number];
type Role = 'api' | 'worker' | 'scheduler' | 'gateway';
const ROLES: readonly Role[] = ['api', 'worker', 'scheduler', 'gateway'];
const ARGS: Record<Role, string[]> = {
  api: ['start', 'api'],
  worker: ['start', 'worker', '--no-scheduler'],
  scheduler: ['start', 'scheduler'],
  gateway: ['start', 'gateway', '--port', '7701'],
};
/** The port each role's probes are served on (deploy/systemd's numbers), and the one Prometheus scrapes. */
const PROBE_PORT: Record<Role, number> = { api: 7700, gateway: 7701, worker: 7702, scheduler: 7703 };
const METRICS_PORT: Record<Role, number> = { api: 7700, gateway: 7704, worker: 7702, scheduler: 7703 };
/** Seconds a pod needs beyond the preStop sleep and the shutdown grace: closing the store and the listener. */
const STOP_MARGIN_S = 5;
/** PostgreSQL's default max_connections (100) less its 3 reserved for superusers and room for psql and backups. */
const MAX_CONNECTIONS_BUDGET = 90;
const SECRET_VARS = new Set<string>(Object.values(CONFIG_OPTIONS).flatMap((spec) => ('secret' in spec && spec.secret === true ? [spec.env] : [])));

const kubectl = findKubectl();
const inCi = process.env.CI === 'true';
if (!kubectl && !inCi) console.warn('deploy.kubernetes.test.ts: kubectl not found, skipping the Kubernetes manifest checks (.ci/run installs it)');

const rendered = new Map<Target, K8sObject[]>();
function render(target: Target): K8sObject[] {
  if (!kubectl) throw new Error('kubectl is needed');
  let objects = rendered.get(target);
  if (!objects) rendered.set(target, (objects = renderKustomization(kubectl, DEPLOY, target)));
  return objects;
}

/** A directive's value in a block of deploy/proxy/nginx.conf (the block given by the text that opens it). */
function nginxDirective(block: string, directive: string): string | undefined {
  const conf = readFileSync(join(DEPLOY, 'proxy/nginx.conf'), 'utf8');
  const start = conf.indexOf(block);
  if (start < 0) throw new Error(`deploy/proxy/nginx.conf has no ${block}`);
  const body = conf.slice(start, conf.indexOf('}', start));
  return new RegExp(`^\\s*${directive}\\s+([^;]+);`, 'm').exec(body)?.[1];
}

const exampleSecret = parse(readFileSync(join(K8S, 'secret.example.yaml'), 'utf8')) as K8sObject & { stringData: Record<string, string> };

const roleOf = (obj: K8sObject): Role => obj.metadata.labels?.['app.kubernetes.io/component'] as Role;
const containerOf = (workload: Workload): Container => {
  expect(
    workload.spec.template.spec.containers.map((c) => c.name),
    workload.metadata.name,
  ).toEqual(['agentry']);
  return workload.spec.template.spec.containers[0]!;
};

/** The files of deploy/project (relative paths), the kustomization that packs them left out. */
function projectFiles(dir = PROJECT): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return projectFiles(path);
    const rel = relative(PROJECT, path);
    return rel === 'kustomization.yaml' ? [] : [rel];
  });
}

/** Checks what every pod of the deployment shares: security, resources, the Secret's files, /tmp. */
function checkPod(name: string, spec: PodSpec, objects: readonly K8sObject[]): { container: Container; env: Record<string, string> } {
  const container = spec.containers[0]!;
  expect(spec.automountServiceAccountToken, name).toBe(false);
  expect(spec.securityContext?.runAsNonRoot, name).toBe(true);
  expect(spec.securityContext?.runAsUser, name).toBeGreaterThan(0);
  expect(container.securityContext, name).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  for (const resource of ['cpu', 'memory']) {
    const request = container.resources?.requests?.[resource];
    const limit = container.resources?.limits?.[resource];
    expect(request && limit, `${name}: ${resource} request and limit`).toBeTruthy();
    expect(quantity(limit!), `${name}: ${resource} limit ≥ request`).toBeGreaterThanOrEqual(quantity(request!));
  }
  const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
  const mounts = container.volumeMounts ?? [];
  for (const mount of mounts) expect(volumes.has(mount.name), `${name}: volume ${mount.name}`).toBe(true);
  // A read-only root: /tmp is an emptyDir.
  const tmp = mounts.find((m) => m.mountPath === '/tmp');
  expect(tmp && volumes.get(tmp.name)?.emptyDir, `${name}: /tmp is an emptyDir`).toBeTruthy();

  const env = envOf(container, objects);
  for (const entry of container.env ?? []) {
    const ref = entry.valueFrom?.secretKeyRef;
    if (!ref) continue;
    expect(ref.name, `${name}: ${entry.name}`).toBe(exampleSecret.metadata.name);
    expect(Object.keys(exampleSecret.stringData), `${name}: ${entry.name} reads key ${ref.key}`).toContain(ref.key);
  }
  for (const volume of volumes.values()) {
    if (!volume.secret) continue;
    expect(volume.secret.secretName, name).toBe(exampleSecret.metadata.name);
    for (const item of volume.secret.items ?? []) expect(Object.keys(exampleSecret.stringData), `${name}: Secret key ${item.key}`).toContain(item.key);
  }
  // Every *_FILE is a secret option, and a file of the Secret mounted in this container.
  const secretFiles = new Set(
    mounts.flatMap((mount) => {
      const secret = volumes.get(mount.name)?.secret;
      return secret ? (secret.items ?? []).map((item) => `${mount.mountPath}/${item.path}`) : [];
    }),
  );
  for (const [key, value] of Object.entries(env)) {
    if (!key.endsWith('_FILE')) continue;
    expect(SECRET_VARS.has(key.slice(0, -'_FILE'.length)), `${name}: ${key} names a secret option`).toBe(true);
    expect([...secretFiles], `${name}: ${key}=${value} is a mounted Secret file`).toContain(value);
  }
  // The image sets AGENTRY_DATABASE_URL (SQLite on /data): with the _FILE it must be emptied, or the process stops.
  if (env.AGENTRY_DATABASE_URL_FILE !== undefined) expect(env.AGENTRY_DATABASE_URL, name).toBe('');
  // No secret in the environment itself (empty, it gives way to the image's default to <VAR>_FILE).
  for (const [key, value] of Object.entries(env)) if (SECRET_VARS.has(key)) expect(value, `${name}: ${key} is a secret; give it as ${key}_FILE`).toBe('');
  return { container, env };
}

/** The environment with the project and fresh secret files of this machine, for Agentry's own checks. */
function localEnv(env: Record<string, string>, secretsDir: string, values: Record<string, string>): NodeJS.ProcessEnv {
  const local: NodeJS.ProcessEnv = { ...env, AGENTRY_PROJECT_DIR: PROJECT };
  for (const [key, value] of Object.entries(env)) {
    if (!key.endsWith('_FILE')) continue;
    const file = join(secretsDir, value.split('/').at(-1)!);
    writeFileSync(file, values[value.split('/').at(-1)!] ?? '');
    local[key] = file;
  }
  return local;
}

describe('deploy/kubernetes', () => {
  it.runIf(!kubectl && inCi)('has kubectl in CI', () => {
    expect.fail('kubectl is not installed: .ci/run installs it (Debian kubernetes-client)');
  });

  describe.runIf(kubectl !== undefined)('rendered with kubectl kustomize', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'agentry-k8s-'));
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    it.each(TARGETS)('%s: every object passes its schema and its type', (target) => {
      const objects = render(target);
      expect(objects.length, target).toBeGreaterThan(0);
      expect(schemaProblems(objects)).toEqual([]);
      expect(typeProblems(objects)).toEqual([]);
      for (const obj of objects) expect(obj.metadata.labels?.['app.kubernetes.io/name'] ?? 'agentry', `${obj.kind} ${obj.metadata.name}`).toBe('agentry');
    });

    it('documents the Secret with every key the manifests read, and production mode refuses its placeholders', async () => {
      expect(schemaProblems([exampleSecret])).toEqual([]);
      expect(typeProblems([exampleSecret])).toEqual([]);
      expect(Object.keys(exampleSecret.stringData).sort()).toEqual(['api-keys', 'database-url', 'internal-secret', 'metrics-key']);
      // Prometheus's key is the viewer key of api-keys.
      expect(exampleSecret.stringData['api-keys']).toContain(`prometheus:${exampleSecret.stringData['metrics-key']}:viewer`);
      const api = ofKind<Workload>(render('base'), 'Deployment').find((d) => roleOf(d) === 'api')!;
      const dir = mkdtempSync(join(scratch, 'placeholders-'));
      const env = localEnv(envOf(containerOf(api), render('base')), dir, exampleSecret.stringData);
      const messages = (await validateConfiguration({ flags: {}, env, cwd: dir })).problems.filter((p) => p.severity === 'error').map((p) => p.message);
      expect(messages).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/AGENTRY_API_KEYS entry 1 .*(shorter|placeholder)/),
          expect.stringMatching(/AGENTRY_INTERNAL_SECRET .*(shorter|placeholder)/),
          expect.stringMatching(/AGENTRY_DATABASE_URL: the database password looks like a placeholder/),
        ]),
      );
    });

    describe.each(['base', 'overlays/production'] as const)('%s', (target) => {
      const objects = () => render(target);
      const deployments = () => ofKind<Workload>(objects(), 'Deployment');

      it('runs one Deployment per role with its command, its ports and probes on the port it serves them', () => {
        expect(deployments().map(roleOf).sort()).toEqual([...ROLES].sort());
        for (const deployment of deployments()) {
          const role = roleOf(deployment);
          expect(deployment.metadata.name).toBe(`agentry-${role}`);
          expect(selects(deployment.spec.selector!.matchLabels, deployment.spec.template.metadata.labels), role).toBe(true);
          const container = containerOf(deployment);
          expect(container.args, role).toEqual(ARGS[role]);
          const env = envOf(container, objects());
          const served = role === 'api' ? Number(env.AGENTRY_PORT) : role === 'gateway' ? Number(ARGS.gateway[3]) : Number(env.AGENTRY_PROBE_PORT);
          expect(served, role).toBe(PROBE_PORT[role]);
          if (role === 'gateway') expect(Number(env.AGENTRY_PROBE_PORT)).toBe(METRICS_PORT.gateway);
          for (const port of new Set([PROBE_PORT[role], METRICS_PORT[role]])) expect(portNumber(container, port), `${role} exposes ${port}`).toBe(port);
          for (const [probe, path] of [
            ['startupProbe', '/livez'],
            ['livenessProbe', '/livez'],
            ['readinessProbe', '/readyz'],
          ] as const) {
            const get = container[probe]?.httpGet;
            expect(get?.path, `${role} ${probe}`).toBe(path);
            expect(portNumber(container, get!.port), `${role} ${probe} port`).toBe(PROBE_PORT[role]);
          }
          expect(env.AGENTRY_HOST, role).toBe('0.0.0.0');
          expect(env.AGENTRY_ENV, role).toBe('production');
        }
      });

      it('gives each pod the time to stop: preStop sleep + AGENTRY_SHUTDOWN_GRACE + a margin ≤ terminationGracePeriodSeconds', () => {
        for (const deployment of deployments()) {
          const role = roleOf(deployment);
          const container = containerOf(deployment);
          const env = envOf(container, objects());
          const graceS =
            (env.AGENTRY_SHUTDOWN_GRACE === undefined ? DEFAULT_ENGINE_SETTINGS.shutdownGraceMs : parseDuration(env.AGENTRY_SHUTDOWN_GRACE)) / 1000;
          const sleepS = preStopSeconds(container);
          // Pods that receive traffic wait for the Service to stop routing to them first.
          if (role === 'api' || role === 'gateway') expect(sleepS, role).toBeGreaterThan(0);
          expect(deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30, role).toBeGreaterThanOrEqual(sleepS + graceS + STOP_MARGIN_S);
        }
      });

      it('shares security settings, resources and the Secret as files with every role', () => {
        for (const deployment of deployments()) checkPod(deployment.metadata.name, deployment.spec.template.spec, objects());
      });

      it('mounts deploy/project, file for file, where AGENTRY_PROJECT_DIR says', () => {
        const [map] = ofKind<ConfigMapObject>(objects(), 'ConfigMap').filter((m) => m.metadata.name.startsWith('agentry-project'));
        expect(map).toBeDefined();
        for (const deployment of deployments()) {
          const container = containerOf(deployment);
          const env = envOf(container, objects());
          const volume = deployment.spec.template.spec.volumes?.find((v) => v.configMap?.name === map!.metadata.name);
          expect(volume, deployment.metadata.name).toBeDefined();
          const mount = container.volumeMounts?.find((m) => m.name === volume!.name);
          expect(mount?.mountPath, deployment.metadata.name).toBe(env.AGENTRY_PROJECT_DIR);
          expect(mount?.readOnly).toBe(true);
          const items = volume!.configMap!.items ?? [];
          expect(items.map((i) => i.key).sort(), 'every key of the ConfigMap is mapped to a path').toEqual(Object.keys(map!.data).sort());
          expect(items.map((i) => i.path).sort(), 'every file of deploy/project is in the ConfigMap').toEqual(projectFiles().sort());
          for (const item of items) expect(map!.data[item.key], item.path).toBe(readFileSync(join(PROJECT, item.path), 'utf8'));
        }
      });

      it('points the API and the workers at the gateway Service, and the gateway at none', () => {
        const services = ofKind<ServiceObject>(objects(), 'Service');
        const gateway = deployments().find((d) => roleOf(d) === 'gateway')!;
        for (const deployment of deployments()) {
          const role = roleOf(deployment);
          const url = envOf(containerOf(deployment), objects()).AGENTRY_GATEWAY_URL;
          if (role === 'gateway' || role === 'scheduler') {
            expect(url, role).toBeUndefined();
            continue;
          }
          const match = /^http:\/\/([a-z0-9-]+):(\d+)$/.exec(url ?? '');
          expect(match, `${role}: AGENTRY_GATEWAY_URL=${url}`).not.toBeNull();
          const service = services.find((s) => s.metadata.name === match![1]);
          expect(service, `${role}: Service ${match![1]}`).toBeDefined();
          expect(selects(service!.spec.selector, gateway.spec.template.metadata.labels)).toBe(true);
          const port = service!.spec.ports.find((p) => p.port === Number(match![2]));
          expect(portNumber(containerOf(gateway), port!.targetPort)).toBe(PROBE_PORT.gateway);
        }
      });

      it('selects an existing Deployment with every Service and PodDisruptionBudget, one budget per role', () => {
        const pods = deployments();
        for (const service of ofKind<ServiceObject>(objects(), 'Service')) {
          const matched = pods.filter((d) => selects(service.spec.selector, d.spec.template.metadata.labels));
          expect(
            matched.map((d) => d.metadata.name),
            `Service ${service.metadata.name}`,
          ).toHaveLength(1);
          for (const port of service.spec.ports)
            expect(portNumber(containerOf(matched[0]!), port.targetPort), `${service.metadata.name}:${port.name}`).toBeDefined();
        }
        const budgets = ofKind<Pdb>(objects(), 'PodDisruptionBudget');
        for (const budget of budgets) {
          const matched = pods.filter((d) => selects(budget.spec.selector.matchLabels, d.spec.template.metadata.labels));
          expect(
            matched.map((d) => d.metadata.name),
            `PodDisruptionBudget ${budget.metadata.name}`,
          ).toHaveLength(1);
          // A budget that never allows an eviction would block every node drain.
          if (budget.spec.minAvailable !== undefined) expect(Number(budget.spec.minAvailable)).toBeLessThan(matched[0]!.spec.replicas ?? 1);
          else expect(Number(budget.spec.maxUnavailable)).toBeGreaterThan(0);
        }
        expect(budgets.map((b) => roleOf(b)).sort()).toEqual([...ROLES].sort());
      });

      it("stays within PostgreSQL's default max_connections, one more pod of each role included (a rollout)", () => {
        let connections = 0;
        for (const deployment of deployments()) {
          const env = envOf(containerOf(deployment), objects());
          const surge = Number((deployment.spec as { strategy?: { rollingUpdate?: { maxSurge?: number } } }).strategy?.rollingUpdate?.maxSurge ?? 1);
          const pool = Number(env.AGENTRY_DB_POOL_SIZE ?? POSTGRES_DEFAULTS.poolSize);
          // Each process: its pool and the wake-up listener.
          connections += ((deployment.spec.replicas ?? 1) + surge) * (pool + 1);
        }
        expect(connections).toBeLessThanOrEqual(MAX_CONNECTIONS_BUDGET);
      });

      it("passes production mode's checks with each role's configuration", async () => {
        const dir = mkdtempSync(join(scratch, 'roles-'));
        const values: Record<string, string> = {
          'database-url': `postgres://agentry:${randomBytes(16).toString('hex')}@db.internal:5432/agentry`,
          'api-keys': `admin:${randomBytes(32).toString('hex')}:admin`,
          'internal-secret': randomBytes(32).toString('hex'),
        };
        for (const deployment of deployments()) {
          const env = localEnv(envOf(containerOf(deployment), objects()), dir, values);
          const result = await validateConfiguration({ flags: {}, env, cwd: dir });
          expect(result.env).toBe('production');
          expect(
            result.problems.filter((p) => p.severity === 'error'),
            deployment.metadata.name,
          ).toEqual([]);
        }
      });
    });

    it('runs the migrations in a Job with the database URL only', () => {
      for (const target of ['migrate', 'overlays/production/migrate'] as const) {
        const [job, ...others] = render(target);
        expect(others).toEqual([]);
        expect(job?.kind).toBe('Job');
        const spec = (job as Workload).spec.template.spec;
        expect(spec.restartPolicy).toBe('Never');
        const { container, env } = checkPod(job!.metadata.name, spec, [job!]);
        expect(container.args).toEqual(['migrate', 'up']);
        expect(Object.keys(env).filter((key) => key.endsWith('_FILE'))).toEqual(['AGENTRY_DATABASE_URL_FILE']);
      }
    });

    it('scrapes /metrics of every role with the Secret’s metrics key (ServiceMonitor)', () => {
      const objects = render('overlays/production');
      expect(render('monitoring').map((o) => o.kind)).toEqual(['ServiceMonitor']);
      const [monitor] = ofKind<Monitor>(objects, 'ServiceMonitor');
      expect(monitor).toBeDefined();
      const services = ofKind<ServiceObject>(objects, 'Service').filter((s) => selects(monitor!.spec.selector.matchLabels, s.metadata.labels));
      expect(services.length).toBeGreaterThan(0);
      const portNames = new Set(monitor!.spec.endpoints.map((e) => e.port));
      for (const endpoint of monitor!.spec.endpoints) {
        expect(endpoint.path).toBe('/metrics');
        expect(endpoint.authorization?.credentials?.name).toBe(exampleSecret.metadata.name);
        expect(Object.keys(exampleSecret.stringData)).toContain(endpoint.authorization?.credentials?.key);
        expect(
          services.some((s) => s.spec.ports.some((p) => p.name === endpoint.port)),
          `a Service has port ${endpoint.port}`,
        ).toBe(true);
      }
      for (const deployment of ofKind<Workload>(objects, 'Deployment')) {
        const role = roleOf(deployment);
        const scraped = services
          .filter((s) => selects(s.spec.selector, deployment.spec.template.metadata.labels))
          .flatMap((s) => s.spec.ports.filter((p) => portNames.has(p.name)).map((p) => portNumber(containerOf(deployment), p.targetPort)));
        // Exactly once: the same /metrics twice would double every counter in sums.
        expect(scraped, `${role} is scraped on ${METRICS_PORT[role]}`).toEqual([METRICS_PORT[role]]);
        // The alert rules expect job="agentry-<role>": the operator names the job after the Service.
        expect(
          services.some((s) => s.metadata.name === `agentry-${role}` && selects(s.spec.selector, deployment.spec.template.metadata.labels)),
          role,
        ).toBe(true);
      }
    });

    it('gives the API, and only the API, an Ingress with TLS for its host and the limits of deploy/proxy/nginx.conf', () => {
      expect(ofKind(render('base'), 'Ingress')).toEqual([]);
      const objects = render('overlays/production');
      const ingresses = ofKind<IngressObject>(objects, 'Ingress');
      expect(ingresses.map((i) => i.metadata.name).sort()).toEqual(['agentry-api', 'agentry-api-metrics']);
      const services = ofKind<ServiceObject>(objects, 'Service');
      const deployments = ofKind<Workload>(objects, 'Deployment');
      const api = deployments.find((d) => roleOf(d) === 'api')!;

      // Every backend is the api Service, on the port the API serves: no other role is reachable from outside.
      const referenced = new Set<string>();
      const checkBackend = (backend: IngressBackend, where: string) => {
        const ref = backend.service;
        expect(ref, `${where}: a Service backend`).toBeDefined();
        referenced.add(ref!.name);
        const service = services.find((s) => s.metadata.name === ref!.name);
        expect(service, `${where}: Service ${ref!.name}`).toBeDefined();
        const selected = deployments.filter((d) => selects(service!.spec.selector, d.spec.template.metadata.labels)).map(roleOf);
        expect(selected, `${where}: Service ${ref!.name} selects`).toEqual(['api']);
        const port = service!.spec.ports.find((p) => (ref!.port.name === undefined ? p.port === ref!.port.number : p.name === ref!.port.name));
        expect(port, `${where}: port ${JSON.stringify(ref!.port)} of Service ${ref!.name}`).toBeDefined();
        expect(portNumber(containerOf(api), port!.targetPort), where).toBe(PROBE_PORT.api);
      };
      for (const ingress of ingresses) {
        expect(ingress.spec.ingressClassName, ingress.metadata.name).toBe('nginx');
        expect(ingress.metadata.namespace).toBe('agentry');
        if (ingress.spec.defaultBackend) checkBackend(ingress.spec.defaultBackend, `${ingress.metadata.name} default backend`);
        for (const rule of ingress.spec.rules ?? []) {
          expect(rule.host, ingress.metadata.name).toBe('agentry.example.com');
          for (const path of rule.http?.paths ?? []) checkBackend(path.backend, `${ingress.metadata.name} ${path.path}`);
        }
      }
      expect([...referenced]).toEqual(['agentry-api']);
      for (const service of services) {
        const roles = deployments.filter((d) => selects(service.spec.selector, d.spec.template.metadata.labels)).map(roleOf);
        if (!roles.includes('api')) expect(referenced.has(service.metadata.name), `Service ${service.metadata.name} (${roles.join(', ')})`).toBe(false);
      }

      // The API: every path, TLS for its host, the limits of nginx.conf's server for the API.
      const main = ingresses.find((i) => i.metadata.name === 'agentry-api')!;
      expect(main.spec.rules?.[0]?.http?.paths.map((p) => [p.path, p.pathType])).toEqual([['/', 'Prefix']]);
      expect(main.spec.tls).toEqual([{ hosts: ['agentry.example.com'], secretName: 'agentry-tls' }]);
      const annotation = (name: string) => main.metadata.annotations?.[`nginx.ingress.kubernetes.io/${name}`];
      const bodySize = nginxDirective('http {', 'client_max_body_size');
      expect(annotation('proxy-body-size')).toBe(bodySize);
      expect(quantity(`${bodySize!.replace(/m$/, '')}Mi`)).toBeGreaterThanOrEqual(SERVER_OPTIONS.maxBodyBytes.default);
      // An event stream: unbuffered, and held open at least as long as nginx.conf holds it.
      const events = 'location ~ ^/v1/runs/[^/]+/events$';
      expect(nginxDirective(events, 'proxy_buffering')).toBe('off');
      expect(annotation('proxy-buffering')).toBe('off');
      const readTimeoutMs = Number(annotation('proxy-read-timeout')) * 1000;
      expect(readTimeoutMs).toBeGreaterThanOrEqual(parseDuration(nginxDirective(events, 'proxy_read_timeout')!));
      expect(Number(annotation('proxy-send-timeout')) * 1000).toBeGreaterThanOrEqual(parseDuration(nginxDirective(events, 'proxy_send_timeout')!));
      // Above the longest ?wait= and many heartbeats of an idle stream.
      expect(readTimeoutMs).toBeGreaterThan(SERVER_OPTIONS.maxWait.default);
      expect(readTimeoutMs).toBeGreaterThan(4 * SERVER_OPTIONS.sseHeartbeat.default);

      // /metrics: refused to every client, as nginx.conf does (Prometheus scrapes the pods).
      expect(nginxDirective('location = /metrics', 'deny')).toBe('all');
      const metrics = ingresses.find((i) => i.metadata.name === 'agentry-api-metrics')!;
      expect(metrics.spec.rules?.flatMap((r) => r.http?.paths.map((p) => [p.path, p.pathType]) ?? [])).toEqual([['/metrics', 'Exact']]);
      expect(metrics.metadata.annotations?.['nginx.ingress.kubernetes.io/denylist-source-range']?.split(',').sort()).toEqual(['0.0.0.0/0', '::/0']);
    });

    it('scales the production overlay up, into its namespace, from one image for the roles and the Job', () => {
      const base = new Map(ofKind<Workload>(render('base'), 'Deployment').map((d) => [d.metadata.name, d]));
      const production = render('overlays/production');
      for (const obj of production) expect(obj.metadata.namespace, `${obj.kind} ${obj.metadata.name}`).toBe('agentry');
      const images = new Set<string>();
      for (const deployment of ofKind<Workload>(production, 'Deployment')) {
        expect(deployment.spec.replicas, deployment.metadata.name).toBeGreaterThanOrEqual(2);
        expect(deployment.spec.replicas!).toBeGreaterThanOrEqual(base.get(deployment.metadata.name)?.spec.replicas ?? 1);
        images.add(containerOf(deployment).image);
      }
      const [job] = render('overlays/production/migrate') as Workload[];
      expect(job!.metadata.namespace).toBe('agentry');
      images.add(containerOf(job!).image);
      expect(images.size, [...images].join(', ')).toBe(1);
      expect([...images][0]).not.toBe(containerOf(ofKind<Workload>(render('base'), 'Deployment')[0]!).image);
    });
  });
});
