// A small client of etcd's v3 JSON gateway (grpc-gateway on the client port: POST /v3/kv/range,
// /v3/kv/txn, /v3/watch) over node:http. Used by the etcd table source and store. Why no library:
// docs/table-sources.md, "The client".
import { Agent, request, type IncomingMessage } from 'node:http';

import { invalid, StoreUnavailableError } from '../../errors.js';

/** Unless told otherwise: a healthy etcd answers a range or a txn in milliseconds. */
export const ETCD_TIMEOUT_MS = 5_000;
/** etcd's --max-request-bytes default is 1.5 MiB; answers of a range page stay far below this. */
const MAX_ANSWER_BYTES = 256 * 1024 * 1024;

/** A key-value pair as the gateway gives it, decoded: revisions as numbers. */
export interface KeyValue {
  readonly key: string;
  readonly value: Buffer;
  readonly modRevision: number;
  readonly createRevision: number;
}

/** The header of every answer: the store's revision when it answered. */
export interface Header {
  readonly revision: number;
  readonly clusterId: string;
}

export interface RangeRequest {
  key: string;
  /** Exclusive end; prefixEnd(key) for every key under a prefix. */
  rangeEnd?: string;
  limit?: number;
  /** Read at this revision (0: the latest). */
  revision?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
}

export interface RangeAnswer {
  readonly header: Header;
  readonly kvs: KeyValue[];
  readonly more: boolean;
  readonly count: number;
}

/** One comparison of a transaction: a key's mod or create revision against a number. */
export interface Compare {
  key: string;
  target: 'MOD' | 'CREATE';
  result: 'EQUAL' | 'LESS' | 'GREATER';
  revision: number;
}

export type Operation =
  | { put: { key: string; value: string | Buffer } }
  | { delete: { key: string; rangeEnd?: string } }
  | { range: RangeRequest };

export interface TxnAnswer {
  readonly header: Header;
  readonly succeeded: boolean;
  /** Ranges of the branch taken, in order (puts and deletes give none). */
  readonly ranges: RangeAnswer[];
}

/** gRPC status codes etcd answers with that callers act on. */
export const GRPC_OUT_OF_RANGE = 11;

const codes = new WeakMap<Error, number>();
/** The gRPC code etcd refused a request with, or undefined (no answer at all). */
export function grpcCodeOf(error: unknown): number | undefined {
  return error instanceof Error ? codes.get(error) : undefined;
}

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

/**
 * The first key after every key that starts with `prefix` (etcd's "prefix end"). Keys here are
 * printable ASCII (layout.ts checks the prefix), so the last character can always grow by one.
 */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

const keyBytes = b64;

/** int64 fields arrive as decimal text; a revision beyond 2^53 would be a store gone wrong. */
function int(value: unknown, what: string): number {
  if (value === undefined) return 0; // proto3 JSON leaves zero values out
  const n = typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new StoreUnavailableError(`Expected a whole number for ${what} in etcd's answer but received ${String(value)}`);
  return n;
}

export function headerOf(raw: unknown): Header {
  const h = (raw ?? {}) as Record<string, unknown>;
  return { revision: int(h.revision, 'header.revision'), clusterId: String(h.cluster_id ?? '') };
}

export function keyValueOf(raw: Record<string, unknown>): KeyValue {
  return {
    key: Buffer.from(String(raw.key ?? ''), 'base64').toString('utf8'),
    value: Buffer.from(String(raw.value ?? ''), 'base64'),
    modRevision: int(raw.mod_revision, 'kv.mod_revision'),
    createRevision: int(raw.create_revision, 'kv.create_revision'),
  };
}

function rangeBody(r: RangeRequest): Record<string, unknown> {
  return {
    key: keyBytes(r.key),
    ...(r.rangeEnd !== undefined && { range_end: keyBytes(r.rangeEnd) }),
    ...(r.limit !== undefined && { limit: String(r.limit) }),
    ...(r.revision !== undefined && r.revision > 0 && { revision: String(r.revision) }),
    ...(r.keysOnly === true && { keys_only: true }),
    ...(r.countOnly === true && { count_only: true }),
    // Key order, so that a page ends where the next one starts.
    sort_order: 'NONE',
  };
}

function rangeOf(raw: Record<string, unknown>): RangeAnswer {
  const kvs = Array.isArray(raw.kvs) ? (raw.kvs as Record<string, unknown>[]).map(keyValueOf) : [];
  return { header: headerOf(raw.header), kvs, more: raw.more === true, count: int(raw.count, 'count') };
}

function operationBody(op: Operation): Record<string, unknown> {
  if ('put' in op) return { request_put: { key: keyBytes(op.put.key), value: b64(op.put.value) } };
  if ('delete' in op) return { request_delete_range: { key: keyBytes(op.delete.key), ...(op.delete.rangeEnd !== undefined && { range_end: keyBytes(op.delete.rangeEnd) }) } };
  return { request_range: rangeBody(op.range) };
}

/** Checks 'http://host:port' endpoints (the gateway speaks plain HTTP on a client URL). */
export function checkEndpoints(value: unknown, path = 'endpoints'): string[] {
  const list = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(list) || list.length === 0) return invalid(path, "etcd client URLs such as 'http://127.0.0.1:2379'", value);
  return list.map((e: unknown, i) => {
    let url: URL | undefined;
    try {
      url = typeof e === 'string' ? new URL(e) : undefined;
    } catch {
      url = undefined;
    }
    if (url === undefined || url.protocol !== 'http:' || url.port === '' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.username !== '') {
      return invalid(`${path}[${i}]`, "an etcd client URL 'http://HOST:PORT' (plain HTTP, a port, no path)", e);
    }
    return url.origin;
  });
}

export interface EtcdClientOptions {
  /** Client URLs of the cluster's members; a request that cannot reach one tries the next. */
  endpoints: string | readonly string[];
  /** Milliseconds a request may take. Default ETCD_TIMEOUT_MS. */
  timeoutMs?: number;
}

/** Requests to one etcd cluster: ranges, transactions, and (watch.ts) watch streams. */
export class EtcdClient {
  readonly endpoints: readonly string[];
  readonly timeoutMs: number;
  readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });
  /** The endpoint that answered last: tried first next time. */
  #current = 0;

  constructor(options: EtcdClientOptions) {
    this.endpoints = checkEndpoints(options.endpoints, 'options.endpoints');
    const t = options.timeoutMs ?? ETCD_TIMEOUT_MS;
    if (!Number.isInteger(t) || t < 1) invalid('options.timeoutMs', 'a whole number of milliseconds above 0', t);
    this.timeoutMs = t;
  }

  /** The endpoint requests go to first: the one that answered last (the watch opens there). */
  get endpoint(): string {
    return this.endpoints[this.#current]!;
  }

  /** `timeoutMs` overrides the client's for this request (probes want an answer sooner). */
  async range(r: RangeRequest, timeoutMs = this.timeoutMs): Promise<RangeAnswer> {
    return rangeOf(await this.post('/v3/kv/range', rangeBody(r), `range of ${r.key}`, timeoutMs));
  }

  async txn(compare: readonly Compare[], success: readonly Operation[], failure: readonly Operation[] = []): Promise<TxnAnswer> {
    const body = {
      compare: compare.map((c) => ({
        key: keyBytes(c.key),
        target: c.target,
        result: c.result,
        [c.target === 'MOD' ? 'mod_revision' : 'create_revision']: String(c.revision),
      })),
      success: success.map(operationBody),
      failure: failure.map(operationBody),
    };
    const raw = await this.post('/v3/kv/txn', body, `transaction on ${compare[0]?.key ?? (success[0] !== undefined ? Object.values(success[0])[0].key : 'nothing')}`);
    const responses = Array.isArray(raw.responses) ? (raw.responses as Record<string, unknown>[]) : [];
    const ranges = responses.filter((r) => r.response_range !== undefined).map((r) => rangeOf(r.response_range as Record<string, unknown>));
    return { header: headerOf(raw.header), succeeded: raw.succeeded === true, ranges };
  }

  /** Closes idle connections (a watch closes its own). */
  close(): void {
    this.agent.destroy();
  }

  /** POSTs `body` to each endpoint in turn until one answers; `what` names the request in errors. */
  async post(path: string, body: unknown, what: string, timeoutMs = this.timeoutMs): Promise<Record<string, unknown>> {
    const text = JSON.stringify(body);
    let last: Error | undefined;
    for (let i = 0; i < this.endpoints.length; i++) {
      const at = (this.#current + i) % this.endpoints.length;
      try {
        const answer = await this.#postTo(this.endpoints[at]!, path, text, what, timeoutMs);
        this.#current = at;
        return answer;
      } catch (error) {
        // etcd answered and refused: another member would refuse alike.
        if (grpcCodeOf(error) !== undefined) throw error;
        last = error as Error;
      }
    }
    throw last!;
  }

  #postTo(endpoint: string, path: string, text: string, what: string, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const req = request(`${endpoint}${path}`, {
        method: 'POST', agent: this.agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      });
      const fail = (message: string) => reject(new StoreUnavailableError(`Could not reach etcd at ${endpoint} for the ${what}: ${message}`));
      // A stuck member (partitioned, overloaded) must not hold a router's resync.
      const timer = setTimeout(() => {
        req.destroy();
        fail(`no answer within ${timeoutMs} ms`);
      }, timeoutMs);
      req.on('error', (e) => {
        clearTimeout(timer);
        fail(e.message);
      });
      req.on('response', (res) => {
        readAnswer(res, (error, raw) => {
          clearTimeout(timer);
          if (error !== undefined) return fail(error.message);
          const answer = raw as Record<string, unknown>;
          if (res.statusCode === 200 && answer.error === undefined) return resolve(answer);
          const code = typeof answer.code === 'number' ? answer.code : -1;
          const e = new StoreUnavailableError(`etcd at ${endpoint} refused the ${what}: ${String(answer.message ?? answer.error ?? `HTTP ${res.statusCode}`)} (gRPC code ${code})`);
          codes.set(e, code);
          reject(e);
        });
      });
      req.end(text);
    });
  }
}

/** Reads a whole JSON answer. */
function readAnswer(res: IncomingMessage, done: (error: Error | undefined, value?: unknown) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  res.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_ANSWER_BYTES) res.destroy(new Error(`an answer larger than ${MAX_ANSWER_BYTES} bytes`));
    else chunks.push(c);
  });
  res.on('error', (e) => done(e));
  res.on('end', () => {
    try {
      done(undefined, JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch (error) {
      done(new Error(`an answer that is not JSON (${(error as Error).message})`));
    }
  });
}
