/**
 * The egress policy (`egress.ts`) at connect time, for undici: literal IP hosts are checked
 * as they are, host names against `deny` patterns before DNS and then every address DNS returns
 * (one bad address refuses the host: no DNS-rebinding pick). Because undici connects afresh for
 * each new origin, every redirect hop passes through here too.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import net from 'node:net';
import { buildConnector } from 'undici';
import { assertEgressAllowed, assertHostNotDenied, canonicalHost, type EgressPolicy } from './egress.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has; injectable for tests. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (error, addresses) => {
      if (error) reject(error);
      else resolve(addresses.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 })));
    });
  });

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;
type LookupOptions = { all?: boolean; family?: number | string };

/** A `net.connect` lookup that refuses the host when any of its addresses is refused. */
function guardedLookup(policy: EgressPolicy, resolver: Resolver) {
  const pick = (hostname: string, all: ResolvedAddress[], options: LookupOptions): ResolvedAddress[] => {
    for (const entry of all) assertEgressAllowed(policy, hostname, entry.address);
    const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
    const usable = family === 0 ? all : all.filter((entry) => entry.family === family);
    if (usable.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
    return usable;
  };
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    Promise.resolve()
      .then(() => assertHostNotDenied(policy, hostname))
      .then(() => resolver(hostname))
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

/** An undici connector that applies the egress policy to literal IP hosts and to every DNS answer. */
export function guardedConnector(policy: EgressPolicy, resolver: Resolver = systemResolver): buildConnector.connector {
  const connect = buildConnector({ lookup: guardedLookup(policy, resolver) });
  return (options, callback) => {
    const host = canonicalHost(options.hostname);
    if (net.isIP(host) !== 0) {
      try {
        assertEgressAllowed(policy, host, host);
      } catch (error) {
        callback(error as Error, null);
        return;
      }
    }
    connect(options, callback);
  };
}
