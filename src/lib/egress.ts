/**
 * The egress policy: may an outbound connection (an `http` step, an HTTP tool server) go to
 * this host at this address? Decided on the canonical host and on every address it resolves
 * to, before any connection is made, so that a refusal never depends on whether a port is open.
 *
 * Decision order (the first rule that applies wins):
 * 1. a `deny` entry (of the project or the workflow) matching the host or the address refuses;
 * 2. unspecified addresses (`0.0.0.0/8`, `::`) are refused, always;
 * 3. link-local and cloud metadata addresses are refused unless the explicit escape hatch
 *    `http.allow_link_local` is on (no allow entry opens them);
 * 4. each non-empty `allow` list (project, then workflow: the workflow narrows) must match;
 * 5. in production mode, loopback and private addresses need a match in the project's `allow`;
 * 6. anything else is allowed.
 *
 * Embedded IPv4 forms (IPv4-mapped, IPv4-compatible, SIIT, NAT64, 6to4, Teredo) are judged as
 * the IPv4 address they carry; odd IPv4 spellings (`2130706433`, `0x7f000001`, `0177.0.0.1`,
 * `127.1`) are canonicalised by the WHATWG URL parser first.
 */
import ipaddr from 'ipaddr.js';
import { AgentryError } from './errors.js';

export type EgressMode = 'development' | 'production';

/** `egress:` as written in `agentry.yaml` or a workflow. */
export interface EgressRules {
  allow?: readonly string[] | undefined;
  deny?: readonly string[] | undefined;
}

/** What the address itself is, before any list is consulted. */
export type AddressClass = 'unspecified' | 'metadata' | 'link-local' | 'loopback' | 'private' | 'public';

type Ip = ipaddr.IPv4 | ipaddr.IPv6;

interface Entry {
  text: string;
  cidr?: [Ip, number];
  /** Lower-case host name; with `wildcard`, matches its subdomains only. */
  host?: string;
  wildcard?: boolean;
}

/** One parsed rule list; `where` names it in refusals (`project`, `workflow order`). */
export interface EgressRuleSet {
  where: string;
  allow: readonly Entry[];
  deny: readonly Entry[];
}

export interface EgressPolicy {
  mode: EgressMode;
  /** `http.allow_link_local`: the one escape hatch for link-local and metadata addresses. */
  allowLinkLocal: boolean;
  /** The project's rules. */
  project: EgressRuleSet | undefined;
  /** The workflow's rules (narrow the project's). */
  workflow?: EgressRuleSet | undefined;
}

const METADATA = ['100.100.100.200', 'fd00:ec2::254'].map((text) => ipaddr.parse(text).toNormalizedString());
const HOST_PATTERN = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/** An entry of an `egress:` block that does not parse; `path` is `[list, index]`. */
export interface EgressRuleProblem {
  path: ['allow' | 'deny', number];
  message: string;
}

/** Parses an `egress:` block; each entry that is neither a CIDR, an IP nor a host pattern is a problem. */
export function parseEgressRules(rules: EgressRules, where: string): { rules: EgressRuleSet; problems: EgressRuleProblem[] } {
  const problems: EgressRuleProblem[] = [];
  const parse = (list: readonly string[] | undefined, which: 'allow' | 'deny'): Entry[] =>
    (list ?? []).flatMap((text, index) => {
      const entry = parseEntry(text);
      if (entry === undefined) {
        problems.push({ path: [which, index], message: `'${text}' is not a CIDR (10.0.0.0/8), an IP address or a host pattern (*.example.com)` });
      }
      return entry === undefined ? [] : [entry];
    });
  return { rules: { where, allow: parse(rules.allow, 'allow'), deny: parse(rules.deny, 'deny') }, problems };
}

function parseEntry(raw: string): Entry | undefined {
  const text = raw.trim().toLowerCase();
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (text.includes('/')) {
    try {
      const [ip, bits] = ipaddr.parseCIDR(bare);
      return { text: raw, cidr: [ip, bits] };
    } catch {
      return undefined;
    }
  }
  if (ipaddr.isValid(bare)) {
    const ip = ipaddr.parse(bare);
    return { text: raw, cidr: [ip, ip.kind() === 'ipv4' ? 32 : 128] };
  }
  const host = text.replace(/\.$/, '');
  if (!HOST_PATTERN.test(host)) return undefined;
  return host.startsWith('*.') ? { text: raw, host: host.slice(2), wildcard: true } : { text: raw, host };
}

/**
 * The host as a URL holds it: lower case, no trailing dot, no IPv6 brackets, and IPv4 in
 * dotted-quad form however it was spelled (`2130706433`, `0x7f.1`, `0177.0.0.1` → `127.0.0.1`).
 */
export function canonicalHost(host: string): string {
  let canonical = host.toLowerCase();
  try {
    canonical = new URL(`http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}/`).hostname;
  } catch {
    // Not a valid URL host: judged as written (no DNS name can match it anyway).
  }
  if (canonical.startsWith('[') && canonical.endsWith(']')) canonical = canonical.slice(1, -1);
  return canonical.replace(/\.$/, '');
}

/** The IPv4 address an IPv6 address carries (mapped, compatible, SIIT, NAT64, 6to4, Teredo), if any. */
function embeddedIpv4(v6: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const bytes = v6.toByteArray();
  const last4 = (): ipaddr.IPv4 => new ipaddr.IPv4(bytes.slice(12));
  const range = v6.range();
  if (range === 'ipv4Mapped' || range === 'rfc6145' || range === 'rfc6052') return last4();
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b) return last4(); // 64:ff9b:1::/48 (RFC 8215)
  if (range === '6to4') return new ipaddr.IPv4(bytes.slice(2, 6));
  if (range === 'teredo') return new ipaddr.IPv4(bytes.slice(12).map((byte) => byte ^ 0xff));
  // IPv4-compatible `::a.b.c.d` (deprecated, still routed by some stacks); `::` and `::1` are not.
  if (bytes.slice(0, 12).every((byte) => byte === 0) && !(range === 'unspecified' || range === 'loopback')) return last4();
  return undefined;
}

function parseIp(address: string): Ip | undefined {
  const bare = canonicalHost(address);
  return ipaddr.isValid(bare) ? ipaddr.parse(bare) : undefined;
}

/** The forms an address is matched by: itself, and the IPv4 address it embeds. */
function forms(ip: Ip): Ip[] {
  if (ip.kind() === 'ipv4') return [ip];
  const v4 = embeddedIpv4(ip as ipaddr.IPv6);
  return v4 === undefined ? [ip] : [ip, v4];
}

/** What an IP address is; a non-IP string is `public` (host names are judged by their addresses). */
export function classifyAddress(address: string): AddressClass {
  const ip = parseIp(address);
  if (ip === undefined) return 'public';
  const all = forms(ip);
  const judged = all[all.length - 1] as Ip;
  if (all.some((form) => METADATA.includes(form.toNormalizedString()))) return 'metadata';
  const range = judged.range();
  if (range === 'unspecified') return 'unspecified';
  if (range === 'linkLocal') return judged.toString() === '169.254.169.254' ? 'metadata' : 'link-local';
  if (range === 'loopback') return 'loopback';
  return range === 'unicast' ? 'public' : 'private';
}

function matches(entry: Entry, host: string, ips: readonly Ip[]): boolean {
  if (entry.cidr !== undefined) {
    const [net, bits] = entry.cidr;
    return ips.some((ip) => ip.kind() === net.kind() && ip.match(net, bits));
  }
  if (entry.host === undefined) return false;
  return entry.wildcard === true ? host.endsWith(`.${entry.host}`) : host === entry.host;
}

/**
 * Why the policy refuses a connection to `host` at `address` (an IP literal host is its own
 * address), or undefined when it is allowed.
 */
export function egressRefusal(policy: EgressPolicy, host: string, address: string): string | undefined {
  const name = canonicalHost(host);
  const ip = parseIp(address);
  const ips = ip === undefined ? [] : forms(ip);
  const sets = [policy.project, policy.workflow].filter((set): set is EgressRuleSet => set !== undefined);
  for (const set of sets) {
    const hit = set.deny.find((entry) => matches(entry, name, ips));
    if (hit !== undefined) return `matches deny entry '${hit.text}' of the ${set.where}`;
  }
  const kind = classifyAddress(address);
  if (kind === 'unspecified') return 'unspecified address';
  if ((kind === 'metadata' || kind === 'link-local') && !policy.allowLinkLocal) {
    return `${kind === 'metadata' ? 'cloud metadata' : 'link-local'} address (http.allow_link_local is off)`;
  }
  for (const set of sets) {
    if (set.allow.length > 0 && !set.allow.some((entry) => matches(entry, name, ips))) return `not in the allow list of the ${set.where}`;
  }
  if (policy.mode === 'production' && (kind === 'loopback' || kind === 'private')) {
    const granted = policy.project?.allow.some((entry) => matches(entry, name, ips)) ?? false;
    if (!granted) return `${kind} address not allow-listed (production mode)`;
  }
  return undefined;
}

/** Throws `egress_denied` when a `deny` host pattern refuses `host` by its name alone (checked before DNS). */
export function assertHostNotDenied(policy: EgressPolicy, host: string): void {
  const name = canonicalHost(host);
  for (const set of [policy.project, policy.workflow]) {
    const hit = set?.deny.find((entry) => entry.host !== undefined && matches(entry, name, []));
    if (set !== undefined && hit !== undefined) throw refusal(policy, name, undefined, `matches deny entry '${hit.text}' of the ${set.where}`);
  }
}

/** Throws `egress_denied` when the policy refuses `host` at `address`. */
export function assertEgressAllowed(policy: EgressPolicy, host: string, address: string): void {
  const reason = egressRefusal(policy, host, address);
  if (reason !== undefined) throw refusal(policy, canonicalHost(host), address, reason);
}

/** Every refusal has this one code and message shape. */
function refusal(policy: EgressPolicy, name: string, address: string | undefined, reason: string): AgentryError {
  // In production the resolved address stays out of the error: it would map internal DNS.
  const showAddress = policy.mode === 'development' && address !== undefined && name !== canonicalHost(address);
  return new AgentryError('egress_denied', `egress to ${showAddress ? `${name} (${address})` : name} refused by the egress policy: ${reason}`, {
    details: { host: name, reason, ...(showAddress ? { address } : {}) },
  });
}

/** The `egress_denied` error somewhere in `error`'s cause chain (fetch and SDKs wrap it). */
export function findEgressDenial(error: unknown): AgentryError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    if (current instanceof AgentryError && current.code === 'egress_denied') return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
