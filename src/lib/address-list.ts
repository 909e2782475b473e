/**
 * Lists of IP addresses and CIDR blocks (`127.0.0.1, 10.0.0.0/8, ::1, fd00::/8`), as the
 * trusted-proxy and readiness-detail settings take them. Parsed once at startup, so a typo is a
 * configuration error and not an address that silently never matches.
 */
import { BlockList, isIPv4, isIPv6, SocketAddress } from 'node:net';
import ipaddr from 'ipaddr.js';

/** The loopback addresses (IPv4-mapped IPv6 loopback matches `127.0.0.0/8` too). */
export const LOOPBACK_CIDRS: readonly string[] = ['127.0.0.0/8', '::1/128'];

/**
 * The entries of a comma-separated list, each an IP or `ip/prefix`; a problem for each entry
 * that is neither (empty entries are skipped).
 */
export function parseAddressList(text: string | undefined, label: string): { entries: string[]; problems: string[] } {
  const entries: string[] = [];
  const problems: string[] = [];
  for (const entry of (text ?? '').split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    if (subnetOf(entry) === undefined) problems.push(`${label}: '${entry}' is not an IP address or CIDR block like 10.0.0.0/8`);
    else entries.push(entry);
  }
  return { entries, problems };
}

/** Whether an address (as Node reports a peer: `127.0.0.1`, `::1`, `::ffff:10.0.0.1`) is in one of the entries. */
export function addressMatcher(entries: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const subnet = subnetOf(entry);
    if (subnet) list.addSubnet(subnet.address, subnet.prefix, subnet.family);
  }
  return (address) => {
    const family = address === undefined ? 0 : ipFamily(address);
    return family !== 0 && list.check(address as string, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/**
 * 4, 6 or 0, as `net.isIP` answers. `net.isIPv6`'s first call compiles Node's IPv6 pattern, tens of
 * milliseconds of a server's start (the default lists hold `::1`); an IPv6 address is parsed here as
 * the sockets parse it (`SocketAddress`), except one with a zone id (`fe80::1%eth0`), which the
 * pattern decides as before.
 */
function ipFamily(address: string): 4 | 6 | 0 {
  if (isIPv4(address)) return 4;
  if (!address.includes(':')) return 0;
  if (address.includes('%')) return isIPv6(address) ? 6 : 0;
  try {
    new SocketAddress({ address, family: 'ipv6' });
    return 6;
  } catch {
    return 0;
  }
}

function subnetOf(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, extra] = entry.split('/');
  const version = ipFamily(address);
  if (version === 0 || extra !== undefined) return undefined;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.replace(/^\[|\]$/g, '');
  if (!ipaddr.isValid(bare)) return false;
  const addr = ipaddr.process(bare);
  return addr.range() === 'loopback';
}
