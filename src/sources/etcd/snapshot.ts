// Every key of a deployment at one revision, read in pages: the first page fixes the revision and
// the later ones read at it, so that a million slices arrive as one consistent state even while
// operators write. Used by the etcd source (resynchronising) and the store (list, load).
import { StoreUnavailableError } from '../../errors.js';
import { GRPC_OUT_OF_RANGE, grpcCodeOf, prefixEnd, type EtcdClient, type KeyValue } from './client.js';
import type { Layout } from './layout.js';

/** Keys per page: about 2 MB of answer for 1 KB values, well inside the gateway's limits. */
export const PAGE_KEYS = 2_000;
/** A compaction past the revision being read restarts the read; this many times at most. */
const ATTEMPTS = 3;

export interface Snapshot {
  readonly kvs: KeyValue[];
  readonly revision: number;
  readonly clusterId: string;
}

/** Every key under PREFIX/ (or under `under`, a longer prefix), at one revision. */
export async function readSnapshot(client: EtcdClient, layout: Layout, options: { keysOnly?: boolean; under?: string } = {}): Promise<Snapshot> {
  const start = options.under ?? `${layout.prefix}/`;
  for (let attempt = 1; ; attempt++) {
    try {
      return await readPages(client, start, options.keysOnly === true);
    } catch (error) {
      // Compacted between two pages: the revision read at is gone; read again at a newer one.
      if (grpcCodeOf(error) !== GRPC_OUT_OF_RANGE || attempt === ATTEMPTS) throw error;
    }
  }
}

async function readPages(client: EtcdClient, start: string, keysOnly: boolean): Promise<Snapshot> {
  const end = prefixEnd(start);
  const kvs: KeyValue[] = [];
  let revision = 0;
  let clusterId = '';
  let key = start;
  for (;;) {
    const page = await client.range({ key, rangeEnd: end, limit: PAGE_KEYS, revision, keysOnly });
    if (revision === 0) {
      revision = page.header.revision;
      clusterId = page.header.clusterId;
    }
    for (const kv of page.kvs) kvs.push(kv);
    if (!page.more) break;
    if (page.kvs.length === 0) throw new StoreUnavailableError(`etcd said more keys follow ${key} at revision ${revision} but gave none`);
    // The smallest key after the last one read.
    key = `${page.kvs[page.kvs.length - 1]!.key}\0`;
  }
  return { kvs, revision, clusterId };
}
