/**
 * Address lists (`lib/address-list.ts`): which entries are addresses decides as `net.isIP` does,
 * though IPv6 addresses are parsed as the sockets parse them (start-up does not compile Node's
 * IPv6 pattern).
 */
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { addressMatcher, parseAddressList } from '../../src/lib/address-list.js';

const SAMPLES = [
  '::1',
  '::',
  'fd00::',
  '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7::',
  '::ffff:127.0.0.1',
  'fe80::1%eth0',
  'fe80::1%',
  '1::2::3',
  '1:2:3:4:5:6:7:8:9',
  '::ffff:1.2.3',
  '[::1]',
  ':::',
  '::g',
  '10.0.0.1',
  '256.0.0.1',
  '01.2.3.4',
  'abc',
  'localhost',
];

describe('address lists', () => {
  it('take as an address exactly what net.isIP takes, IPv4 and IPv6', () => {
    for (const sample of SAMPLES) {
      const { entries, problems } = parseAddressList(sample, 'LIST');
      expect({ sample, accepted: entries.length === 1 }).toEqual({ sample, accepted: isIP(sample) !== 0 });
      expect(problems.length).toBe(isIP(sample) === 0 ? 1 : 0);
    }
  });

  it('match IPv6 peers against IPv6 blocks and IPv4 peers against IPv4 blocks', () => {
    const matches = addressMatcher(['::1', 'fd00::/8', '10.0.0.0/8']);
    expect(matches('::1')).toBe(true);
    expect(matches('fd12::5')).toBe(true);
    expect(matches('fe80::1')).toBe(false);
    expect(matches('10.1.2.3')).toBe(true);
    expect(matches('11.1.2.3')).toBe(false);
    expect(matches('not-an-address')).toBe(false);
    expect(matches(undefined)).toBe(false);
  });
});
