// src/netns/namespace.ts: bare namespaces, for topologies built by hand (the demo's world, the
// router and etcd suites); veth pairs with addresses are src/netns/veth.ts.
import { deleteNamespaces } from './delete.js';
import { ip } from './iproute.js';
import { runName } from './names.js';
import { registerNamespace } from './registry.js';
import { sweepStaleOnce } from './teardown.js';

/**
 * Makes namespace `<prefix>-<suffix>` with lo up and returns its name. It is registered before it
 * exists, so teardownRun() (or the exit hook) deletes it whatever happens next; links, bridges
 * and addresses made inside it go with it.
 */
export async function createNamespace(suffix: string): Promise<string> {
  await sweepStaleOnce();
  const ns = runName(suffix);
  registerNamespace(ns);
  await ip(null, ['netns', 'add', ns], `creating namespace ${ns}`);
  await ip(ns, ['link', 'set', 'dev', 'lo', 'up'], `bringing lo up in namespace ${ns}`);
  return ns;
}

/** Deletes namespaces made by createNamespace, stopping what runs in them first. Idempotent. */
export function destroyNamespaces(names: readonly string[]): Promise<void> {
  return deleteNamespaces(names);
}
