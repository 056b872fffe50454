// The capabilities XdpPort.open needs, checked before anything is loaded so that a process
// without them gets one error naming each missing capability instead of a verifier log or EPERM.
import { readFileSync } from 'node:fs';

import { PermissionDeniedError, SyscallError } from '../errors.js';

/** What the process may do: its effective capability set and its RLIMIT_MEMLOCK soft limit. */
export interface Privileges {
  /** CapEff of /proc/self/status: bit n is capability n (linux/capability.h). */
  effective: bigint;
  /** Bytes the process may lock (Infinity: unlimited). */
  memlockBytes: number;
}

// Capability numbers from linux/capability.h.
const CAP_NET_ADMIN = 12;
const CAP_NET_RAW = 13;
const CAP_IPC_LOCK = 14;
const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

const has = (p: Privileges, cap: number) => ((p.effective >> BigInt(cap)) & 1n) === 1n;

/**
 * Capabilities missing for a port whose UMEM takes `umemBytes`, each with what it is for. Each
 * was checked on Linux 6.18 by dropping it alone (docs/deploying.md lists what fails without it).
 * CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON (the kernel's bpf_capable() and
 * perfmon_capable() accept it; kernels before 5.8 know only it).
 */
export function missingCapabilities(p: Privileges, umemBytes: number): string[] {
  const missing: string[] = [];
  const sysAdmin = has(p, CAP_SYS_ADMIN);
  if (!has(p, CAP_BPF) && !sysAdmin) missing.push('CAP_BPF (create BPF maps and load the XDP program)');
  if (!has(p, CAP_NET_ADMIN)) missing.push('CAP_NET_ADMIN (load an XDP program and attach it to the interface)');
  if (!has(p, CAP_NET_RAW)) missing.push('CAP_NET_RAW (open AF_XDP sockets)');
  if (!has(p, CAP_PERFMON) && !sysAdmin) {
    missing.push('CAP_PERFMON (the verifier refuses the XDP program otherwise: it reads stack it has not written)');
  }
  // The kernel charges a UMEM against RLIMIT_MEMLOCK unless the process has CAP_IPC_LOCK
  // (xdp_umem_account_pages, net/xdp/xdp_umem.c).
  if (umemBytes > p.memlockBytes && !has(p, CAP_IPC_LOCK)) {
    missing.push(`CAP_IPC_LOCK (lock the UMEM of ${umemBytes} bytes: RLIMIT_MEMLOCK allows ${p.memlockBytes})`);
  }
  return missing;
}

/** "a", "a and b", "a, b and c". */
const list = (items: readonly string[]) => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

/** Throws PermissionDeniedError naming every missing capability; returns when none is missing. */
export function checkCapabilities(umemBytes: number, p: Privileges = readPrivileges()): void {
  const missing = missingCapabilities(p, umemBytes);
  if (missing.length === 0) return;
  const memlock = umemBytes > p.memlockBytes ? `, and CAP_IPC_LOCK for a UMEM of ${umemBytes} bytes above RLIMIT_MEMLOCK (${p.memlockBytes} bytes)` : '';
  throw new PermissionDeniedError(
    `Expected capabilities CAP_BPF, CAP_NET_ADMIN, CAP_NET_RAW and CAP_PERFMON (or CAP_SYS_ADMIN in place of CAP_BPF and CAP_PERFMON)${memlock} to load the XDP program and open AF_XDP sockets but the process lacks ${list(missing)}`,
  );
}

/** Parses CapEff out of /proc/<pid>/status text. */
export function parseCapEff(status: string): bigint {
  const match = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  if (match === null) throw new SyscallError(`Expected a CapEff line in /proc/self/status but received none`);
  return BigInt(`0x${match[1]}`);
}

/** Parses the soft "Max locked memory" limit out of /proc/<pid>/limits text (bytes). */
export function parseMemlock(limits: string): number {
  const match = /^Max locked memory\s+(\S+)/m.exec(limits);
  if (match === null) throw new SyscallError(`Expected a 'Max locked memory' line in /proc/self/limits but received none`);
  return match[1] === 'unlimited' ? Infinity : Number(match[1]);
}

function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new SyscallError(`Could not read ${path} to check the process's capabilities: ${e.message}`, e.errno === undefined ? undefined : Math.abs(e.errno), 'open');
  }
}

/** This process's privileges, from /proc (Node.js has no capget or getrlimit). */
export function readPrivileges(): Privileges {
  return { effective: parseCapEff(readProc('/proc/self/status')), memlockBytes: parseMemlock(readProc('/proc/self/limits')) };
}
