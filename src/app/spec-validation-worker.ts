/**
 * The worker thread of `spec-validation.ts`: validates one set of spec files at a time, so a
 * large or hostile spec costs this thread's time and heap, not the event loop of the server.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { toAgentryError } from '../lib/errors.js';
import { STEP_KINDS } from '../spec/model.js';
import { loadProject } from './project.js';
import type { ValidationReply, ValidationRequest } from './spec-validation.js';

const AVAILABLE_KINDS = new Set(STEP_KINDS);

async function validate({ files, plugins }: ValidationRequest): Promise<ValidationReply> {
  const dir = await mkdtemp(join(tmpdir(), 'agentry-validate-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), text);
    }
    const { project, diagnostics } = await loadProject(dir, { availableKinds: AVAILABLE_KINDS, env: {}, plugins });
    return {
      ok: true,
      result: { valid: !diagnostics.some((d) => d.severity === 'error'), workflows: [...project.workflows.keys()].sort(), diagnostics },
    };
  } catch (error) {
    return { ok: false, error: toAgentryError(error).toInfo() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

parentPort?.on('message', (request: ValidationRequest) => {
  void validate(request).then((reply) => parentPort?.postMessage(reply));
});
// Loaded: validations' deadlines start now.
parentPort?.postMessage({ ready: true } satisfies ValidationReply);
