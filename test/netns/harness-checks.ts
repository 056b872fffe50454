// What the tests of the netns kit (test/netns/harness-*.test.ts) look at besides the kit itself:
// the namespaces and root interfaces of a run, and a link as `ip -j` shows it.
import { spawnSync } from 'node:child_process';

import { isRunName, listNamespaces, mustExec, runPrefix } from '../../src/netns/index.js';

/** Names of this run's namespaces that exist now. */
export async function runNamespaces(prefix = runPrefix): Promise<string[]> {
  return (await listNamespaces()).filter((n) => isRunName(n, prefix)).sort();
}

/** Names of interfaces in the root namespace starting with `prefix`. */
export async function rootInterfaces(prefix: string): Promise<string[]> {
  const r = await mustExec('ip', ['-j', 'link', 'show']);
  return (JSON.parse(r.stdout) as { ifname: string }[])
    .map((l) => l.ifname)
    .filter((n) => n.startsWith(prefix))
    .sort();
}

export function linkJson(ns: string, ifname: string, detailed = false): Record<string, unknown> {
  const r = spawnSync('ip', ['-n', ns, '-j', ...(detailed ? ['-d'] : []), 'link', 'show', 'dev', ifname], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip link show ${ifname} in ${ns}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as Record<string, unknown>[])[0] as Record<string, unknown>;
}
