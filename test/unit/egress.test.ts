import { describe, expect, it } from 'vitest';
import { canonicalHost, classifyAddress, egressRefusal, parseEgressRules, type EgressPolicy, type EgressRules } from '../../src/lib/egress.js';
import { checkWorkflow } from '../../src/spec/compile.js';
import { STEP_KINDS } from '../../src/spec/model.js';
import { resolveSettings } from '../../src/spec/settings.js';

function policy(mode: EgressPolicy['mode'], project?: EgressRules, workflow?: EgressRules, allowLinkLocal = false): EgressPolicy {
  return {
    mode,
    allowLinkLocal,
    project: project && parseEgressRules(project, 'project').rules,
    workflow: workflow && parseEgressRules(workflow, 'workflow wf').rules,
  };
}

/** The decision for a URL host, judged (like the connector) on its canonical form. */
function refusal(p: EgressPolicy, urlHost: string): string | undefined {
  const host = canonicalHost(new URL(`http://${urlHost}/`).hostname);
  return egressRefusal(p, host, host);
}

describe('egress: every spelling of an address is judged as the address', () => {
  it.each([
    ['2130706433', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
    ['EXAMPLE.com.', 'example.com'],
  ])('canonicalHost(%s) is %s', (host, canonical) => {
    expect(canonicalHost(new URL(`http://${host}/`).hostname)).toBe(canonical);
    expect(canonicalHost(host)).toBe(canonical);
  });

  it.each([
    ['2130706433', 'loopback'],
    ['0x7f000001', 'loopback'],
    ['0177.0.0.1', 'loopback'],
    ['127.1', 'loopback'],
    ['[::1]', 'loopback'],
    ['[::ffff:127.0.0.1]', 'loopback'],
    ['[::ffff:7f00:1]', 'loopback'],
    ['[::127.0.0.1]', 'loopback'],
    ['[::ffff:0:127.0.0.1]', 'loopback'],
    ['[2002:7f00:1::]', 'loopback'],
    ['[64:ff9b::127.0.0.1]', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0', 'unspecified'],
    ['[::]', 'unspecified'],
    ['[::ffff:0.0.0.0]', 'unspecified'],
    ['169.254.169.254', 'metadata'],
    ['2852039166', 'metadata'],
    ['[::ffff:169.254.169.254]', 'metadata'],
    ['[::169.254.169.254]', 'metadata'],
    ['[64:ff9b::169.254.169.254]', 'metadata'],
    ['[64:ff9b:1::a9fe:a9fe]', 'metadata'],
    ['[2002:a9fe:a9fe::]', 'metadata'],
    ['[::ffff:0:a9fe:a9fe]', 'metadata'],
    ['[2001:0:4136:e378:8000:63bf:5601:5601]', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['[fd00:ec2::254]', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['[fe80::1]', 'link-local'],
    ['[2002:a9fe:0101::]', 'link-local'],
    ['10.0.0.1', 'private'],
    ['012.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['[fd12::1]', 'private'],
    ['[::ffff:10.1.2.3]', 'private'],
    ['[2002:c0a8:0101::1]', 'private'],
    ['8.8.8.8', 'public'],
    ['[2606:4700::1111]', 'public'],
    ['[2002:0808:0808::]', 'public'],
  ])('%s is %s', (host, kind) => {
    expect(classifyAddress(canonicalHost(new URL(`http://${host}/`).hostname))).toBe(kind);
  });
});

describe('egress: decisions', () => {
  const loopbacks = ['2130706433', '0x7f000001', '0177.0.0.1', '127.1', '[::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::127.0.0.1]', '[2002:7f00:1::]'];
  const alwaysDenied = ['0.0.0.0', '[::]', '169.254.169.254', '[64:ff9b::169.254.169.254]', '[fd00:ec2::254]', '[fe80::1]', '[2002:a9fe:a9fe::]'];

  it.each(loopbacks)('production refuses loopback %s unless allow-listed; development allows it', (host) => {
    expect(refusal(policy('production', {}), host)).toMatch(/^loopback address not allow-listed/);
    expect(refusal(policy('production', { allow: ['127.0.0.0/8', '::1'] }), host)).toBeUndefined();
    expect(refusal(policy('development'), host)).toBeUndefined();
  });

  it.each(['10.0.0.1', '[::ffff:192.168.0.1]', '[fd12::1]'])('production refuses private %s unless allow-listed', (host) => {
    expect(refusal(policy('production', {}), host)).toMatch(/^private address not allow-listed/);
    expect(refusal(policy('production', { allow: ['10.0.0.0/8', '192.168.0.0/16', 'fc00::/7'] }), host)).toBeUndefined();
    expect(refusal(policy('development'), host)).toBeUndefined();
  });

  it.each(alwaysDenied)('%s is refused in both modes even when allow-listed', (host) => {
    const everything = { allow: ['0.0.0.0/0', '::/0'] };
    expect(refusal(policy('production', everything), host)).toBeDefined();
    expect(refusal(policy('development', everything), host)).toBeDefined();
  });

  it('opens link-local and metadata (never unspecified) only through http.allow_link_local', () => {
    expect(refusal(policy('development', undefined, undefined, true), '169.254.169.254')).toBeUndefined();
    expect(refusal(policy('development', undefined, undefined, true), '[fe80::1]')).toBeUndefined();
    expect(refusal(policy('development', undefined, undefined, true), '0.0.0.0')).toBe('unspecified address');
    expect(refusal(policy('development', { deny: ['169.254.0.0/16'] }, undefined, true), '169.254.169.254')).toMatch(/deny entry/);
  });

  it('deny wins over allow, and a CIDR matches the IPv4 embedded in an IPv6 address', () => {
    const p = policy('development', { allow: ['10.0.0.0/8'], deny: ['10.9.0.0/16'] });
    expect(refusal(p, '10.1.0.1')).toBeUndefined();
    expect(refusal(p, '10.9.0.1')).toBe("matches deny entry '10.9.0.0/16' of the project");
    expect(refusal(p, '[::ffff:10.9.0.1]')).toBe("matches deny entry '10.9.0.0/16' of the project");
    expect(refusal(p, '8.8.8.8')).toBe('not in the allow list of the project');
  });

  it('matches host patterns on names: *.example.com covers subdomains, not the apex', () => {
    const p = policy('production', { allow: ['*.example.com', 'api.other.org'] });
    expect(egressRefusal(p, 'a.b.example.com', '93.184.216.34')).toBeUndefined();
    expect(egressRefusal(p, 'example.com', '93.184.216.34')).toBe('not in the allow list of the project');
    expect(egressRefusal(p, 'API.other.org.', '10.0.0.5')).toBeUndefined();
    expect(egressRefusal(p, 'evil-example.com', '93.184.216.34')).toBe('not in the allow list of the project');
    expect(egressRefusal(policy('development', { deny: ['*.internal'] }), 'db.internal', '8.8.8.8')).toMatch(/deny entry/);
  });

  it("lets a workflow narrow the project's policy but not widen it", () => {
    const project = { allow: ['10.0.0.0/8'] };
    expect(egressRefusal(policy('production', project, { allow: ['10.1.0.0/16'] }), '10.2.0.1', '10.2.0.1')).toBe('not in the allow list of the workflow wf');
    expect(egressRefusal(policy('production', project, { deny: ['10.1.0.0/16'] }), '10.1.0.1', '10.1.0.1')).toBe(
      "matches deny entry '10.1.0.0/16' of the workflow wf",
    );
    expect(egressRefusal(policy('production', {}, { allow: ['192.168.0.0/16'] }), '192.168.0.1', '192.168.0.1')).toMatch(/^private address not allow-listed/);
  });

  it('reports entries that are neither CIDR, address nor host pattern', () => {
    const { problems } = parseEgressRules({ allow: ['10.0.0.0/33', 'ok.example.com', 'http://x'], deny: ['*'] }, 'project');
    expect(problems.map((p) => p.path)).toEqual([
      ['allow', 0],
      ['allow', 2],
      ['deny', 0],
    ]);
  });
});

describe('egress: in specs', () => {
  const step = { t: { transform: { a: 1 } } };

  it('compiles a workflow egress block and reports a bad entry at its path', () => {
    const good = checkWorkflow({ version: 'v1', name: 'wf', egress: { deny: ['10.0.0.0/8'] }, steps: step }, { availableKinds: new Set(STEP_KINDS) });
    expect(good.workflow?.egress?.deny).toHaveLength(1);
    const bad = checkWorkflow(
      { version: 'v1', name: 'wf', egress: { allow: ['ok.example.com', 'not a host'] }, steps: step },
      { availableKinds: new Set(STEP_KINDS) },
    );
    expect(bad.workflow).toBeUndefined();
    expect(bad.problems).toContainEqual(expect.objectContaining({ path: ['egress', 'allow', 1] }));
  });

  it("takes a profile's egress over the top-level one, and leaves it undefined when none is set", () => {
    const spec = { version: 'v1' as const, egress: { allow: ['10.0.0.0/8'] }, profiles: { prod: { egress: { allow: ['bad entry'] } } } };
    expect(resolveSettings(spec, undefined).settings.egress?.allow).toHaveLength(1);
    const { settings, problems } = resolveSettings(spec, 'prod');
    expect(settings.egress?.allow).toHaveLength(0);
    expect(problems).toContainEqual(expect.objectContaining({ path: ['profiles', 'prod', 'egress', 'allow', 0] }));
    expect(resolveSettings({ version: 'v1' }, undefined).settings.egress).toBeUndefined();
  });
});
