// The capability check of XdpPort.open (src/xdp/capabilities.ts) on made-up privileges: which
// capability it names as missing and why, and how it reads /proc. No root needed; the same check
// against the kernel, under setpriv, is test/netns/capabilities.test.ts.
import { describe, expect, it } from 'vitest';

import { PermissionDeniedError } from '../../src/errors.js';
import { checkCapabilities, missingCapabilities, parseCapEff, parseMemlock } from '../../src/xdp/capabilities.js';
import { thrown } from './helpers.js';

const CAPS = { NET_ADMIN: 12, NET_RAW: 13, IPC_LOCK: 14, SYS_ADMIN: 21, PERFMON: 38, BPF: 39 } as const;
type Cap = keyof typeof CAPS;
const set = (...caps: Cap[]) => caps.reduce((bits, c) => bits | (1n << BigInt(CAPS[c])), 0n);
const MiB = 1024 * 1024;
const UMEM = 16 * MiB;
const privileges = (caps: Cap[], memlockBytes = 8 * MiB) => ({ effective: set(...caps), memlockBytes });
const ALL: Cap[] = ['BPF', 'NET_ADMIN', 'NET_RAW', 'PERFMON', 'IPC_LOCK'];

describe('missingCapabilities', () => {
  it('finds nothing missing with CAP_BPF, CAP_NET_ADMIN, CAP_NET_RAW, CAP_PERFMON and CAP_IPC_LOCK', () => {
    expect(missingCapabilities(privileges(ALL), UMEM)).toEqual([]);
  });

  it.each([
    ['BPF', 'CAP_BPF (create BPF maps and load the XDP program)'],
    ['NET_ADMIN', 'CAP_NET_ADMIN (load an XDP program and attach it to the interface)'],
    ['NET_RAW', 'CAP_NET_RAW (open AF_XDP sockets)'],
    ['PERFMON', 'CAP_PERFMON (the verifier refuses the XDP program otherwise: it reads stack it has not written)'],
    ['IPC_LOCK', 'CAP_IPC_LOCK (lock the UMEM of 16777216 bytes: RLIMIT_MEMLOCK allows 8388608)'],
  ] as const)('names CAP_%s alone when only it is missing', (dropped, text) => {
    expect(missingCapabilities(privileges(ALL.filter((c) => c !== dropped)), UMEM)).toEqual([text]);
  });

  it('takes CAP_SYS_ADMIN for CAP_BPF and CAP_PERFMON, but not for the others', () => {
    expect(missingCapabilities(privileges(['SYS_ADMIN', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK']), UMEM)).toEqual([]);
    expect(missingCapabilities(privileges(['SYS_ADMIN']), UMEM)).toEqual([
      'CAP_NET_ADMIN (load an XDP program and attach it to the interface)',
      'CAP_NET_RAW (open AF_XDP sockets)',
      'CAP_IPC_LOCK (lock the UMEM of 16777216 bytes: RLIMIT_MEMLOCK allows 8388608)',
    ]);
  });

  it('asks for CAP_IPC_LOCK only when the UMEM is larger than RLIMIT_MEMLOCK', () => {
    const without = ALL.filter((c) => c !== 'IPC_LOCK');
    expect(missingCapabilities(privileges(without), 8 * MiB)).toEqual([]);
    expect(missingCapabilities(privileges(without, Infinity), 1024 * MiB)).toEqual([]);
    expect(missingCapabilities(privileges(without), 8 * MiB + 4096)).toHaveLength(1);
  });
});

describe('checkCapabilities', () => {
  it('throws PermissionDeniedError naming what is expected and each missing capability', () => {
    const error = thrown(() => checkCapabilities(UMEM, privileges(['BPF', 'NET_ADMIN'])), PermissionDeniedError, 'ERR_PERMISSION_DENIED');
    expect(error.message).toBe(
      'Expected capabilities CAP_BPF, CAP_NET_ADMIN, CAP_NET_RAW and CAP_PERFMON (or CAP_SYS_ADMIN in place of CAP_BPF and CAP_PERFMON), ' +
        'and CAP_IPC_LOCK for a UMEM of 16777216 bytes above RLIMIT_MEMLOCK (8388608 bytes) to load the XDP program and open AF_XDP sockets ' +
        'but the process lacks CAP_NET_RAW (open AF_XDP sockets), ' +
        'CAP_PERFMON (the verifier refuses the XDP program otherwise: it reads stack it has not written) ' +
        'and CAP_IPC_LOCK (lock the UMEM of 16777216 bytes: RLIMIT_MEMLOCK allows 8388608)',
    );
  });

  it('leaves CAP_IPC_LOCK out of the message when the UMEM fits the limit', () => {
    const error = thrown(() => checkCapabilities(4 * MiB, privileges(['BPF', 'NET_ADMIN', 'PERFMON'])), PermissionDeniedError, 'ERR_PERMISSION_DENIED');
    expect(error.message).toBe(
      'Expected capabilities CAP_BPF, CAP_NET_ADMIN, CAP_NET_RAW and CAP_PERFMON (or CAP_SYS_ADMIN in place of CAP_BPF and CAP_PERFMON) ' +
        'to load the XDP program and open AF_XDP sockets but the process lacks CAP_NET_RAW (open AF_XDP sockets)',
    );
  });

  it('returns quietly when nothing is missing', () => {
    expect(checkCapabilities(UMEM, privileges(ALL))).toBeUndefined();
  });
});

describe('reading /proc', () => {
  it('parses CapEff and the soft memlock limit', () => {
    expect(parseCapEff('Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t000000c000003000\nCapBnd:\t000001ffffffffff\n')).toBe(set('BPF', 'PERFMON', 'NET_ADMIN', 'NET_RAW'));
    const limits = 'Limit                     Soft Limit           Hard Limit           Units\nMax locked memory         8388608              16777216             bytes\n';
    expect(parseMemlock(limits)).toBe(8388608);
    expect(parseMemlock(limits.replace('8388608 ', 'unlimited'))).toBe(Infinity);
  });
});
