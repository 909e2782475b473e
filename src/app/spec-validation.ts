/**
 * Spec validation for the API, off the event loop: one worker thread validates the files of
 * one request at a time (`spec-validation-worker.ts`). Parsing YAML, checking schemas and
 * compiling CEL take time and memory that grow with what a caller sends; in the worker they
 * cannot delay `/livez` or other requests, a validation past `LIMITS.validationMs` is stopped
 * by ending the worker, and its heap is capped at `LIMITS.validationHeapMb`. A `ValidationWorker`
 * can be given smaller limits (tests do, to reach each one quickly).
 *
 * From the TypeScript sources (tests, `npm run agentry`) the worker first registers tsx's loader
 * (a worker does not inherit the loader hooks of its process), then imports its `.ts` file;
 * from `dist/` it runs the compiled `.js` directly.
 */
import { Worker } from 'node:worker_threads';
import { AgentryError, isErrorCode, type ErrorInfo } from '../lib/errors.js';
import { LIMITS, specFileSizeError } from '../lib/limits.js';
import type { Diagnostic } from '../spec/diagnostics.js';
import type { PluginCatalog } from '../spec/plugin-catalog.js';

export interface SpecValidation {
  /** True when no diagnostic is an error. */
  valid: boolean;
  /** Workflows that loaded. */
  workflows: string[];
  diagnostics: Diagnostic[];
}

export interface ValidationRequest {
  files: Record<string, string>;
  /** The installed plugins the specs are checked against (none: plugins are not checked). */
  plugins?: PluginCatalog | undefined;
}

/** A validation's answer, or `ready`: the worker's modules are loaded (sent once, first). */
export type ValidationReply = { ok: true; result: SpecValidation } | { ok: false; error: ErrorInfo } | { ready: true };

interface Job {
  files: Record<string, string>;
  plugins: PluginCatalog | undefined;
  resolve: (result: SpecValidation) => void;
  reject: (error: AgentryError) => void;
}

const FROM_SOURCES = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCES ? './spec-validation-worker.ts' : './spec-validation-worker.js', import.meta.url);
/** How long a new worker may take to load its modules: not part of any validation's deadline. */
const STARTUP_MS = 30_000;

/** The limits a `ValidationWorker` enforces (default: those of `LIMITS`). */
export interface ValidationLimits {
  /** Milliseconds one validation may take (from when the worker, loaded, can begin it) before the worker is ended. */
  validationMs: number;
  /** Megabytes of old-generation heap the worker may use. */
  validationHeapMb: number;
  /** Validations waiting besides the one running; more are answered `rate_limited`. */
  validationQueue: number;
}

export interface ValidationWorkerOptions {
  /** Default: the values of `LIMITS`. */
  limits?: Partial<ValidationLimits>;
  /** The worker's module (default `spec-validation-worker`); a `.ts` one is loaded through tsx. */
  script?: URL;
}

/** Runs validations one at a time in a worker thread, started on first use and again after it was ended. */
export class ValidationWorker {
  private readonly limits: ValidationLimits;
  private readonly script: URL;
  private worker: Worker | undefined;
  /** Until the worker says it is `ready`: the timer that ends it if it never does. */
  private startup: NodeJS.Timeout | undefined;
  private ready = false;
  private readonly queue: Job[] = [];
  private current: { job: Job; timer: NodeJS.Timeout | undefined } | undefined;

  constructor(options: ValidationWorkerOptions = {}) {
    const { validationMs, validationHeapMb, validationQueue } = LIMITS;
    this.limits = { validationMs, validationHeapMb, validationQueue, ...options.limits };
    this.script = options.script ?? WORKER_URL;
  }

  run(files: Record<string, string>, plugins?: PluginCatalog): Promise<SpecValidation> {
    if (this.queue.length >= this.limits.validationQueue) {
      return Promise.reject(
        new AgentryError('rate_limited', 'too many spec validations are waiting; try again shortly', { retryable: true, retryAfterMs: 1_000 }),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ files, plugins, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.current !== undefined) return;
    const job = this.queue.shift();
    if (job === undefined) return;
    const worker = this.start();
    // Working, the worker keeps the process alive until it answers; waiting, it does not (finish).
    worker.ref();
    this.current = { job, timer: undefined };
    worker.postMessage({ files: job.files, plugins: job.plugins } satisfies ValidationRequest);
    if (this.ready) this.startDeadline();
  }

  /** The current validation's deadline, counted from when the worker can begin it (its start-up is not the caller's cost). */
  private startDeadline(): void {
    const current = this.current;
    if (current === undefined || current.timer !== undefined) return;
    const { validationMs } = this.limits;
    current.timer = setTimeout(() => this.fail(limit('validation_ms', validationMs, `validation took longer than ${validationMs} ms`)), validationMs);
  }

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    const resourceLimits = { maxOldGenerationSizeMb: this.limits.validationHeapMb };
    const worker = this.script.pathname.endsWith('.ts')
      ? new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(this.script.href)}); });`, {
          eval: true,
          resourceLimits,
        })
      : new Worker(this.script, { resourceLimits });
    this.ready = false;
    this.startup = setTimeout(() => this.fail(new AgentryError('internal', `the spec validation worker did not start within ${STARTUP_MS} ms`)), STARTUP_MS);
    this.startup.unref();
    // Events of a worker already ended (deadline, heap) are about a job already answered.
    worker.on('message', (reply: ValidationReply) => {
      if (this.worker !== worker) return;
      if ('ready' in reply) {
        clearTimeout(this.startup);
        this.ready = true;
        this.startDeadline();
        return;
      }
      const current = this.finish();
      if (current === undefined) return;
      if (reply.ok) current.resolve(reply.result);
      else current.reject(fromInfo(reply.error));
    });
    worker.on('error', (error) => {
      if (this.worker !== worker) return;
      const outOfMemory = (error as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.fail(outOfMemory ? limit('validation_heap_mb', this.limits.validationHeapMb, 'validation needed more memory than allowed') : toError(error));
    });
    worker.on('exit', () => {
      if (this.worker !== worker) return;
      this.fail(new AgentryError('internal', 'the spec validation worker stopped'));
    });
    // A waiting worker must not keep the process alive. After the listeners: adding a 'message'
    // listener refs the worker's port again (a server that had validated a spec never exited).
    worker.unref();
    this.worker = worker;
    return worker;
  }

  /** Ends the worker, failing the validations running and waiting; a later `run` starts a new one. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    clearTimeout(this.startup);
    const closed = (): AgentryError => new AgentryError('internal', 'the spec validation worker was closed');
    for (const job of this.queue.splice(0)) job.reject(closed());
    const current = this.current;
    if (current !== undefined) {
      clearTimeout(current.timer);
      this.current = undefined;
      current.job.reject(closed());
    }
    await worker?.terminate();
  }

  /** Ends the current job: clears its deadline and starts the next one. */
  private finish(): Job | undefined {
    const current = this.current;
    if (current === undefined) return undefined;
    clearTimeout(current.timer);
    this.current = undefined;
    this.worker?.unref();
    queueMicrotask(() => this.next());
    return current.job;
  }

  /** Fails the current job and ends the worker (a new one takes the next job). */
  private fail(error: AgentryError): void {
    const job = this.finish();
    const worker = this.worker;
    this.worker = undefined;
    clearTimeout(this.startup);
    if (worker !== undefined) void worker.terminate();
    job?.reject(error);
  }
}

function limit(name: string, max: number, message: string): AgentryError {
  return new AgentryError('limit_exceeded', message, { details: { limit: name, max } });
}

function toError(error: Error): AgentryError {
  return new AgentryError('internal', `spec validation failed: ${error.message}`, { cause: error });
}

function fromInfo(info: ErrorInfo): AgentryError {
  return new AgentryError(isErrorCode(info.code) ? info.code : 'internal', info.message, { details: info.details, retryable: info.retryable ?? false });
}

const validations = new ValidationWorker();

/**
 * Validates spec files given by path relative to a project (`workflows/hello.yaml`), in the
 * worker thread. A file over `LIMITS.specFileBytes` is refused here already (the worker's
 * parser checks it too, for projects read from disk): no need to copy it to the worker.
 */
export function validateSpecFiles(files: Record<string, string>, plugins?: PluginCatalog): Promise<SpecValidation> {
  for (const [file, text] of Object.entries(files)) {
    const tooLarge = specFileSizeError(file, text);
    if (tooLarge !== undefined) return Promise.reject(tooLarge);
  }
  return validations.run(files, plugins);
}
