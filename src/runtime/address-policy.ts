/**
 * Outbound address policy for the `http` executor: link-local and cloud metadata addresses
 * are refused (SSRF towards instance credentials); loopback and private ranges are allowed
 * because users call their own services. Checked for literal hosts, for every address DNS
 * returns, and again at connect time on every redirect hop.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { buildConnector } from 'undici';
import { AgentryError } from '../lib/errors.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has; injectable for tests. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

const BLOCKED_V4 = ['100.100.100.200'];
const BLOCKED_V6 = ['fd00:ec2::254'];

/** Why `address` is refused, or undefined when it may be connected to. */
export function blockedReason(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return undefined;
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) ip = v6.toIPv4Address();
    else if (v6.range() === 'rfc6052') ip = ipaddr.fromByteArray(v6.toByteArray().slice(12));
  }
  if (ip.kind() === 'ipv4') {
    if (ip.range() === 'linkLocal') return 'link-local address';
    if (BLOCKED_V4.includes(ip.toString())) return 'cloud metadata address';
    return undefined;
  }
  if (ip.range() === 'linkLocal') return 'link-local address';
  if (BLOCKED_V6.some((blocked) => ipaddr.parse(blocked).toNormalizedString() === ip.toNormalizedString())) {
    return 'cloud metadata address';
  }
  return undefined;
}

/** Strips the brackets URL host names put around IPv6 literals. */
export function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

export function assertAddressAllowed(host: string, address: string): void {
  const reason = blockedReason(address);
  if (reason === undefined) return;
  const shown = host === address ? address : `${host} (${address})`;
  throw new AgentryError('address_blocked', `http request to ${shown} refused: ${reason} (settings.http.allowLinkLocal is false)`, {
    details: { host, address, reason },
  });
}

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (error, addresses) => {
      if (error) reject(error);
      else resolve(addresses.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 })));
    });
  });

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;
type LookupOptions = { all?: boolean; family?: number | string };

/** A `net.connect` lookup that refuses the host when any of its addresses is blocked. */
function guardedLookup(resolver: Resolver, allowLinkLocal: boolean) {
  const pick = (hostname: string, all: ResolvedAddress[], options: LookupOptions): ResolvedAddress[] => {
    if (!allowLinkLocal) for (const entry of all) assertAddressAllowed(hostname, entry.address);
    const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
    const usable = family === 0 ? all : all.filter((entry) => entry.family === family);
    if (usable.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
    return usable;
  };
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolver(hostname)
      .then((all) => pick(hostname, all, options))
      .then(
        (usable) => {
          const first = usable[0] as ResolvedAddress;
          if (options.all) callback(null, usable);
          else callback(null, first.address, first.family);
        },
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), ''),
      );
  };
}

/** An undici connector that applies the policy to literal IP hosts and to every DNS answer. */
export function guardedConnector(resolver: Resolver, allowLinkLocal: boolean): buildConnector.connector {
  const connect = buildConnector({ lookup: guardedLookup(resolver, allowLinkLocal) });
  return (options, callback) => {
    const host = bareHost(options.hostname);
    if (!allowLinkLocal && net.isIP(host) !== 0) {
      try {
        assertAddressAllowed(host, host);
      } catch (error) {
        callback(error as Error, null);
        return;
      }
    }
    connect(options, callback);
  };
}
