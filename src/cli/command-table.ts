/**
 * The commands of `agentry`: for each, what the top-level help shows and a loader of the module
 * that defines it. A command's module — with the store, engine, SDKs or HTTP server it needs —
 * loads only when that command runs, so `agentry --version` and `agentry --help` load none of them.
 * `test/unit/cli.command-table.test.ts` checks every entry against the command its module defines.
 */
import type { Command } from 'commander';
import type { CliContext } from './process-context.js';

/** Adds a command (with its subcommands, options and action) to the program. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export interface CommandEntry {
  readonly name: string;
  /** The command's term in the top-level help, as commander would print it (`run [options] <workflow>`). */
  readonly term: string;
  readonly description: string;
  readonly load: () => Promise<RegisterCommand>;
}

/** In the order the top-level help lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'init',
    term: 'init [options] [dir]',
    description: 'Create a project with an example workflow (refuses a non-empty directory unless --force)',
    load: async () => (await import('./commands/init.js')).registerInit,
  },
  {
    name: 'validate',
    term: 'validate [options] [dir]',
    description: "Check a project's specs; prints each problem as file:line:col path: message (exit 2 when invalid)",
    load: async () => (await import('./commands/validate.js')).registerValidate,
  },
  {
    name: 'spec',
    term: 'spec',
    description: "A project's specs: lint (fails on any warning), migrate (to the current version)",
    load: async () => (await import('./commands/spec.js')).registerSpec,
  },
  {
    name: 'run',
    term: 'run [options] [workflow]',
    description: 'Start a run of a workflow, or of a spec file with --file (with --wait: follow it to its end with live progress)',
    load: async () => (await import('./commands/run.js')).registerRun,
  },
  {
    name: 'runs',
    term: 'runs',
    description: 'List, inspect, follow, cancel and retry runs, and read step attempt history and agent journals',
    load: async () => (await import('./commands/runs.js')).registerRuns,
  },
  {
    name: 'events',
    term: 'events',
    description: 'Events across runs, for diagnosis: what happened in a workflow, of a type, in a time window',
    load: async () => (await import('./commands/events.js')).registerEvents,
  },
  {
    name: 'tasks',
    term: 'tasks',
    description: 'Human tasks: list and show what waits for a decision, then approve, reject or submit it',
    load: async () => (await import('./commands/tasks.js')).registerTasks,
  },
  {
    name: 'signal',
    term: 'signal [options] <run-id> <name>',
    description: 'Send a signal to a run: the step waiting for it (wait: { signal: <name> }) resumes with the payload as its output',
    load: async () => (await import('./commands/tasks.js')).registerSignal,
  },
  {
    name: 'schedules',
    term: 'schedules',
    description: "Workflow schedules (a workflow's schedule: field): list, pause, resume",
    load: async () => (await import('./commands/schedules.js')).registerSchedules,
  },
  {
    name: 'audit',
    term: 'audit',
    description: 'The tamper-evident audit log: list and export entries, verify the hash chain, prune',
    load: async () => (await import('./commands/audit.js')).registerAudit,
  },
  {
    name: 'usage',
    term: 'usage',
    description: 'LLM usage from the gateway ledger: every call attempt with latency, tokens, cost and error code',
    load: async () => (await import('./commands/usage.js')).registerUsage,
  },
  {
    name: 'memory',
    term: 'memory',
    description: "Agents' conversation memory: list threads, show a thread's messages, clear a thread or old messages",
    load: async () => (await import('./commands/memory.js')).registerMemory,
  },
  {
    name: 'prune',
    term: 'prune [options]',
    description: 'Delete ended runs older than a duration, with all their rows (the LLM usage ledger is kept)',
    load: async () => (await import('./commands/prune.js')).registerPrune,
  },
  {
    name: 'keys',
    term: 'keys',
    description: 'Managed API keys in the database: create, list, revoke, rotate (the secret is shown once)',
    load: async () => (await import('./commands/keys.js')).registerKeys,
  },
  {
    name: 'limits',
    term: 'limits',
    description: 'Request rate limits and run quotas (limits: in agentry.yaml) with run usage per tenant',
    load: async () => (await import('./commands/limits.js')).registerLimits,
  },
  {
    name: 'credentials',
    term: 'credentials',
    description: 'The credential inventory: which secrets the configuration and project refer to, whether each resolves, what uses it',
    load: async () => (await import('./commands/credentials.js')).registerCredentials,
  },
  {
    name: 'migrate',
    term: 'migrate',
    description: 'Database migrations: status (applied, pending) and up (apply the pending ones); `migrate` alone is `up`',
    load: async () => (await import('./commands/migrate.js')).registerMigrate,
  },
  {
    name: 'workers',
    term: 'workers',
    description: 'The worker processes: list them (host, roles, steps held, heartbeat, state) and drain one',
    load: async () => (await import('./commands/fleet.js')).registerWorkers,
  },
  {
    name: 'maintenance',
    term: 'maintenance',
    description: 'Maintenance mode: pause claiming fleet-wide while the API keeps answering, or quiesce (on, off, status)',
    load: async () => (await import('./commands/fleet.js')).registerMaintenance,
  },
  {
    name: 'admin',
    term: 'admin',
    description: "The deployment's build, database and schema (info), and one pass of the scheduler's sweeps now (sweep --now)",
    load: async () => (await import('./commands/admin.js')).registerAdmin,
  },
  {
    name: 'status',
    term: 'status [options]',
    description: 'The deployment at a glance: server version, roles and readiness checks, workers, queue depth; exit 1 when unhealthy, 3 when stopped',
    load: async () => (await import('./commands/status.js')).registerStatus,
  },
  {
    name: 'logs',
    term: 'logs [options]',
    description: "A server's recent log lines (redacted), and with -f every new one until Ctrl-C; needs AGENTRY_URL and an admin key",
    load: async () => (await import('./commands/logs.js')).registerLogs,
  },
  {
    name: 'support-bundle',
    term: 'support-bundle [options]',
    description: 'Write a support bundle (.tgz): versions, redacted configuration, migrations, workers, counts, metrics, errors, runs — nothing secret',
    load: async () => (await import('./commands/support-bundle.js')).registerSupportBundle,
  },
  {
    name: 'db',
    term: 'db',
    description: 'Check the database (SQLite integrity, PostgreSQL connection, schema) and recover a damaged SQLite file',
    load: async () => (await import('./commands/db.js')).registerDb,
  },
  {
    name: 'backup',
    term: 'backup',
    description: 'Back up the store while servers run (one portable, checksummed, optionally encrypted file), and verify a backup',
    load: async () => (await import('./commands/backup.js')).registerBackup,
  },
  {
    name: 'restore',
    term: 'restore [options] <file>',
    description: 'Restore a backup into an empty store of either dialect (refuses one with data unless --force); runs in flight resume',
    load: async () => (await import('./commands/backup.js')).registerRestore,
  },
  {
    name: 'serve',
    term: 'serve [options] [dir]',
    description: 'Run the HTTP API, worker pool and scheduler in one process until SIGTERM/SIGINT',
    load: async () => (await import('./commands/serve.js')).registerServe,
  },
  {
    name: 'dev',
    term: 'dev',
    description: "Run a project's services in the background for development: start, status, stop, restart, logs",
    load: async () => (await import('./commands/dev.js')).registerDev,
  },
  {
    name: 'start',
    term: 'start',
    description: 'Run one role of Agentry in this process (any number of each, on PostgreSQL)',
    load: async () => (await import('./commands/start.js')).registerStart,
  },
  {
    name: 'smoke',
    term: 'smoke [options]',
    description: 'Check a running deployment through its API after a deploy: probes, auth, specs, runs, a human task, roles, audit, credentials, metrics',
    load: async () => (await import('./commands/smoke.js')).registerSmoke,
  },
  {
    name: 'doctor',
    term: 'doctor [options]',
    description:
      'Check production readiness: configuration, keys, database, migrations, clock, disk, backups, workers, providers, tools, retention, probes, TLS (exit 0 ok, 1 warn, 2 fail)',
    load: async () => (await import('./commands/doctor.js')).registerDoctor,
  },
  {
    name: 'tools',
    term: 'tools',
    description: 'MCP tool servers of the running server (AGENTRY_URL): list, disable, enable',
    load: async () => (await import('./commands/tools.js')).registerTools,
  },
  {
    name: 'plugins',
    term: 'plugins',
    description: 'Plugins of the project (agentry-plugins.lock): inspect, install, list, update, uninstall, link, disable, enable, doctor',
    load: async () => (await import('./commands/plugins.js')).registerPlugins,
  },
  {
    name: 'demo',
    term: 'demo [options]',
    description: 'Serve the example project (examples/demo) and run its welcome workflow through the HTTP API, with live progress',
    load: async () => (await import('./commands/demo.js')).registerDemo,
  },
  {
    name: 'bundle',
    term: 'bundle',
    description: 'Signed spec bundles: build, sign and verify the file a server loads with --bundle',
    load: async () => (await import('./commands/bundle.js')).registerBundle,
  },
  {
    name: 'config',
    term: 'config',
    description: 'Inspect and validate the configuration',
    load: async () => (await import('./commands/config.js')).registerConfig,
  },
  {
    name: 'login',
    term: 'login [options]',
    description: 'Store a server and its API key as a profile (checked against the server first) and make it the current one',
    load: async () => (await import('./commands/profiles.js')).registerLogin,
  },
  {
    name: 'profiles',
    term: 'profiles',
    description: 'CLI profiles (servers and their keys, from agentry login): list them, pick the current one, remove one',
    load: async () => (await import('./commands/profiles.js')).registerProfiles,
  },
];

/**
 * The command `argv` invokes: its first word that is not an option (the program's own options,
 * `--version` and `--help`, take no value), or the word after `help`.
 */
export function invokedCommand(argv: readonly string[]): string | undefined {
  const words = argv.filter((arg) => !arg.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}
