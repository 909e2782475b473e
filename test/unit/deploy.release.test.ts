/**
 * The release workflow (.github/workflows/release.yml) keeps its supply-chain gates: the image
 * is scanned before anything is pushed and a HIGH or CRITICAL finding stops a release (a pull
 * request only reports), the report is kept 90 days, one push carries the three tags of a
 * version, and the pushed digest is signed and given a CycloneDX attestation, then verified.
 * The build arguments it passes are the ones the Dockerfile declares.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  if?: string;
  run?: string;
  with?: Record<string, string | boolean | number>;
}

const workflow = parse(readFileSync(resolve(ROOT, '.github/workflows/release.yml'), 'utf8')) as {
  on: { push: { tags: string[] }; pull_request: unknown };
  jobs: { image: { permissions: Record<string, string>; steps: Step[] } };
};
const steps = workflow.jobs.image.steps;

/** The index of the one step that `matches`. */
function stepIndex(matches: (step: Step) => boolean, what: string): number {
  const found = steps.flatMap((step, index) => (matches(step) ? [index] : []));
  expect(found, what).toHaveLength(1);
  return found[0] ?? -1;
}
const usesAction = (action: string) => (step: Step) => step.uses?.startsWith(`${action}@`) === true;
const scan = stepIndex(usesAction('aquasecurity/trivy-action'), 'the scan step');
const push = stepIndex((step) => usesAction('docker/build-push-action')(step) && step.with?.push === true, 'the push step');
const scanStep = steps[scan] as Step;
const pushStep = steps[push] as Step;

/** The value of a `${{ a && 'x' || 'y' }}` expression for an event. */
function exitCodeFor(event: 'pull_request' | 'push'): string {
  const expression = String(scanStep.with?.['exit-code']);
  const match = /^\$\{\{ github\.event_name == 'pull_request' && '(\d)' \|\| '(\d)' \}\}$/.exec(expression);
  expect(match, `exit-code is ${expression}`).not.toBeNull();
  return (event === 'pull_request' ? match?.[1] : match?.[2]) ?? '';
}

describe('the release workflow', () => {
  it('runs for version tags and for pull requests', () => {
    expect(workflow.on.push.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+']);
    expect(workflow.on.pull_request).toBeDefined();
  });

  it('scans before it pushes, blocking a release on HIGH and CRITICAL and only reporting on a pull request', () => {
    expect(scan).toBeLessThan(push);
    expect(scanStep.with?.severity).toBe('HIGH,CRITICAL');
    expect(exitCodeFor('push')).toBe('1');
    expect(exitCodeFor('pull_request')).toBe('0');
    // Nothing before the scan may push or log in.
    for (const step of steps.slice(0, scan)) {
      expect(step.with?.push, step.name).not.toBe(true);
      expect(step.uses ?? '', step.name).not.toMatch(/^docker\/login-action@/);
    }
    expect(pushStep.if).toBe("github.event_name != 'pull_request'");
  });

  it('keeps the scan report for 90 days, even when the scan fails', () => {
    const keep = steps[stepIndex(usesAction('actions/upload-artifact'), 'the report upload')] as Step;
    expect(keep.if).toBe('always()');
    expect(keep.with?.['retention-days']).toBe(90);
    expect(keep.with?.path).toBe(scanStep.with?.output);
    expect(String(keep.with?.name)).toMatch(/^trivy-report-\$\{\{ steps\.meta\.outputs\.version \}\}$/);
  });

  it('pushes one image under the version, major.minor and latest tags', () => {
    const meta = steps[stepIndex((step) => step.id === 'meta', 'the tag step')] as Step;
    const tags = String(meta.with?.tags).trim().split('\n');
    expect(tags).toEqual([
      'type=semver,pattern={{version}}',
      'type=semver,pattern={{major}}.{{minor}}',
      "type=raw,value=latest,enable=${{ startsWith(github.ref, 'refs/tags/v') }}",
    ]);
    expect(pushStep.with?.tags).toBe('${{ steps.meta.outputs.tags }}');
  });

  it('signs the pushed digest, attests a CycloneDX SBOM of it, and verifies both', () => {
    const sbom = stepIndex(usesAction('anchore/sbom-action'), 'the SBOM step');
    expect((steps[sbom] as Step).with?.format).toBe('cyclonedx-json');
    expect(String((steps[sbom] as Step).with?.image)).toContain('steps.push.outputs.digest');
    const sign = stepIndex((step) => step.run?.includes('cosign sign') === true, 'the signing step');
    const verify = stepIndex((step) => step.run?.includes('cosign verify ') === true, 'the verify step');
    expect(push).toBeLessThan(sbom);
    expect(sbom).toBeLessThan(sign);
    expect(sign).toBeLessThan(verify);
    expect(steps[sign]?.run).toContain('cosign attest --yes --type cyclonedx --predicate sbom.cdx.json "$IMAGE@$DIGEST"');
    expect(steps[verify]?.run).toContain('cosign verify-attestation "$IMAGE@$DIGEST" --type cyclonedx');
    expect(workflow.jobs.image.permissions['id-token']).toBe('write');
  });

  it('passes only build arguments the Dockerfile declares, the same to the scanned and the pushed build', () => {
    const dockerfile = readFileSync(resolve(ROOT, 'Dockerfile'), 'utf8');
    const declared = new Set([...dockerfile.matchAll(/^ARG\s+([A-Z_]+)/gm)].map((m) => m[1]));
    const builds = steps.filter(usesAction('docker/build-push-action'));
    expect(builds).toHaveLength(2);
    const args = builds.map((step) => String(step.with?.['build-args']).trim());
    expect(args[0]).toBe(args[1]);
    for (const line of (args[0] ?? '').split('\n')) expect(declared, line).toContain(line.split('=')[0]);
  });
});
