// src/netns/prerequisites.ts: the check that a namespace test, the demo or the pps bench can run
// here at all (root, and the tools on PATH), failing with what to install rather than skipping.
import * as fs from 'node:fs';

const TOOL_PACKAGES: Record<string, string> = {
  ip: 'iproute2',
  ss: 'iproute2',
  ping: 'iputils-ping',
  sysctl: 'procps',
  clang: 'clang',
  bpftool: 'bpftool',
};

function onPath(tool: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (dir === '') continue;
    try {
      fs.accessSync(`${dir}/${tool}`, fs.constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/**
 * Throws a clear error unless this process is root and has the tools. The netns suites do not
 * skip without root: they are always run as root, so missing privileges are a broken setup.
 */
export function requireNetnsPrivileges(tools: readonly string[] = ['ip', 'ping']): void {
  const uid = process.getuid?.();
  if (uid !== 0) {
    throw new Error(
      `the netns tests must run as root (they create network namespaces and veth devices), ` +
        `but this process runs as uid ${String(uid)}; run them as root, e.g. sudo npx vitest run test/netns`,
    );
  }
  const missing = tools.filter((t) => !onPath(t));
  if (missing.length > 0) {
    throw new Error(
      `the netns tests need ${missing.join(', ')} on PATH; install the Debian package(s) ` +
        missing.map((t) => TOOL_PACKAGES[t] ?? t).join(', '),
    );
  }
}
