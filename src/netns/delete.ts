// src/netns/delete.ts: listing namespaces and deleting them with whatever runs inside. Used by
// the teardown (sweeps, teardownRun), by veth pairs and bare namespaces when they are destroyed.
import { CommandError, describeExit, execArgv, section } from './exec.js';
import { asArray, ipJson, isObject } from './iproute.js';
import { killQuietly, parsePids, registry } from './registry.js';

/** Names from `ip netns list`. */
export async function listNamespaces(): Promise<string[]> {
  const list = asArray(await ipJson(null, ['netns', 'list'], 'listing namespaces'), 'listing namespaces');
  return list.flatMap((e) => (isObject(e) && typeof e.name === 'string' ? [e.name] : []));
}

async function namespaceExists(ns: string): Promise<boolean> {
  return (await listNamespaces()).includes(ns);
}

/**
 * Deletes namespace `ns` (idempotent). First stops what runs inside it: a process in a namespace
 * keeps the namespace, and the veth end in it, alive after `ip netns del` removes its name.
 */
export async function deleteNamespace(ns: string): Promise<number[]> {
  const killed: number[] = [];
  await Promise.all([...registry.children].filter((c) => c.ns === ns).map((c) => c.stop()));
  if (await namespaceExists(ns)) {
    const r = await execArgv(['ip', 'netns', 'pids', ns], { what: `listing processes in namespace ${ns}` });
    for (const pid of parsePids(r.stdout)) {
      killQuietly(pid, 'SIGKILL');
      killed.push(pid);
    }
    const del = await execArgv(['ip', 'netns', 'del', ns], { what: `deleting namespace ${ns}` });
    // A concurrent delete (e.g. destroy() racing teardownRun()) is fine: gone is gone.
    if (del.code !== 0 && !/No such file or directory/.test(del.stderr)) {
      throw new CommandError(
        `deleting namespace ${ns}: \`ip netns del ${ns}\` ${describeExit(del)}` + section('stderr', del.stderr),
        ['ip', 'netns', 'del', ns],
        del,
      );
    }
  }
  registry.namespaces.delete(ns);
  return killed;
}

/** Deletes each namespace in turn, trying all of them; rejects with every error at the end. */
export async function deleteNamespaces(names: readonly string[]): Promise<void> {
  const errors: unknown[] = [];
  for (const ns of names) {
    try {
      await deleteNamespace(ns);
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `deleting namespaces ${names.join(', ')}: ${errorsText(errors)}`);
}

/** The messages of several errors, for one AggregateError message. */
export function errorsText(errors: readonly unknown[]): string {
  return errors.map((e) => (e instanceof Error ? e.message : String(e))).join('\n\n');
}
