/**
 * Runs' artifacts (docs/artifacts.md): the files a run's steps wrote, listed and downloaded with
 * the run's read access — another tenant's run, or another key's where the caller reaches only
 * its own, is `not_found` like a missing one.
 */
import { normalizeArtifactName } from '../lib/artifact-path.js';
import { AgentryError } from '../lib/errors.js';
import type { RunRecord } from '../types.js';
import { assertRunAccess, type Caller } from './caller.js';
import { artifactDto, type ArtifactDto, type ArtifactListDto } from './dto/artifacts.js';
import type { ServiceDeps } from './service-deps.js';

/** One artifact to download: what the list says of it and its bytes. */
export interface ArtifactDownload {
  artifact: ArtifactDto;
  content: Buffer;
}

export class ArtifactService {
  constructor(private readonly deps: Pick<ServiceDeps, 'store'>) {}

  /** The run's artifacts by name. */
  async list(caller: Caller, runId: string): Promise<ArtifactListDto> {
    await this.readable(caller, runId);
    const items = (await this.deps.store.artifacts.list(runId)).map(artifactDto);
    return { run_id: runId, items, total_bytes: items.reduce((sum, a) => sum + a.size, 0) };
  }

  /** One artifact and its bytes; a name that is no artifact name (`..`, an absolute path) is `invalid_request`. */
  async download(caller: Caller, runId: string, name: string): Promise<ArtifactDownload> {
    const normalised = normalizeArtifactName(name);
    if ('problem' in normalised) {
      throw new AgentryError('invalid_request', `artifact name '${name.slice(0, 120)}' ${normalised.problem}`, { details: { name: name.slice(0, 255) } });
    }
    await this.readable(caller, runId);
    const found = await this.deps.store.artifacts.read(runId, normalised.name);
    if (found === undefined) throw new AgentryError('not_found', `run ${runId} has no artifact '${normalised.name}'`);
    return { artifact: artifactDto(found.record), content: found.content };
  }

  private async readable(caller: Caller, runId: string): Promise<RunRecord> {
    const run = await this.deps.store.getRun(runId);
    if (!run) throw new AgentryError('not_found', `run ${runId} not found`);
    assertRunAccess(caller, run, 'read');
    return run;
  }
}
