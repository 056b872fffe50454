// One watch stream of etcd's JSON gateway (POST /v3/watch: a chunked answer of one JSON object a
// line): events by revision, progress, and the reason it ended. Used by the etcd source (source.ts).
import { request, type ClientRequest, type IncomingMessage } from 'node:http';

import { StoreUnavailableError } from '../../errors.js';
import { headerOf, keyValueOf, type EtcdClient, type KeyValue } from './client.js';

export interface WatchEvent {
  readonly type: 'PUT' | 'DELETE';
  /** For a DELETE, the key and the revision of the deletion (modRevision); the value is empty. */
  readonly kv: KeyValue;
}

/** Why a stream ended: etcd compacted past its start, or the connection was lost or refused. */
export type WatchEnd = { kind: 'compacted'; compactRevision: number } | { kind: 'lost'; error: Error };

export interface WatchHandlers {
  /** The stream is open: etcd created the watch at this revision. */
  onCreated(revision: number): void;
  /**
   * Events in revision order; etcd never splits the events of one revision over two answers
   * (mvcc/watchable_store.go cuts batches at revision boundaries), so a batch ends on a whole
   * revision: `revision` is the last one it holds.
   */
  onEvents(events: readonly WatchEvent[], revision: number): void;
  /** Called once, unless close() came first. */
  onEnd(end: WatchEnd): void;
}

export interface WatchRequest {
  key: string;
  rangeEnd: string;
  /** The first revision to report: the one after the snapshot the caller holds. */
  startRevision: number;
}

/** Most bytes of one line of the stream: a batch of events under etcd's own message limits. */
const MAX_LINE = 64 * 1024 * 1024;

export interface Watch {
  /** Ends the stream; no handler is called after this. */
  close(): void;
}

/** What one line of the stream says. */
type Message =
  | { kind: 'created'; revision: number; events: WatchEvent[] }
  | { kind: 'events'; events: WatchEvent[] }
  | { kind: 'end'; end: WatchEnd }
  | { kind: 'lost'; why: string };

/** Reads one line of the stream: `{"result": {...}}` or `{"error": {...}}`. */
function messageOf(line: string): Message {
  let message: Record<string, unknown>;
  try {
    message = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { kind: 'lost', why: `a line that is not JSON: ${line.slice(0, 80)}` };
  }
  if (message.error !== undefined) {
    const e = message.error as Record<string, unknown>;
    return { kind: 'lost', why: `etcd reported ${String(e.message ?? JSON.stringify(e))}` };
  }
  const result = (message.result ?? {}) as Record<string, unknown>;
  if (result.canceled === true) {
    const compact = Number(result.compact_revision ?? 0);
    if (compact > 0) return { kind: 'end', end: { kind: 'compacted', compactRevision: compact } };
    return { kind: 'lost', why: `etcd canceled the watch${result.cancel_reason ? `: ${String(result.cancel_reason)}` : ''}` };
  }
  const raw = Array.isArray(result.events) ? (result.events as Record<string, unknown>[]) : [];
  const events = raw.map((e): WatchEvent => ({ type: e.type === 'DELETE' ? 'DELETE' : 'PUT', kv: keyValueOf((e.kv ?? {}) as Record<string, unknown>) }));
  if (result.created === true) return { kind: 'created', revision: headerOf(result.header).revision, events };
  return { kind: 'events', events };
}

/** Calls `onLine` with each non-empty line of the stream until `stopped()`. */
function eachLine(res: IncomingMessage, stopped: () => boolean, onLine: (line: string) => void, lost: (why: string) => void): void {
  let buffered = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while (!stopped() && (nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line !== '') onLine(line);
    }
    if (buffered.length > MAX_LINE) lost(`a line longer than ${MAX_LINE} bytes`);
  });
}

/** Opens a watch on the client's current endpoint. */
export function openWatch(client: EtcdClient, w: WatchRequest, handlers: WatchHandlers): Watch {
  const endpoint = client.endpoint;
  let ended = false;
  const end = (e: WatchEnd) => {
    if (ended) return;
    ended = true;
    req.destroy();
    handlers.onEnd(e);
  };
  const lost = (message: string) => end({ kind: 'lost', error: new StoreUnavailableError(`The watch of etcd at ${endpoint} on ${w.key} ended: ${message}`) });
  const body = JSON.stringify({
    create_request: {
      key: Buffer.from(w.key).toString('base64'),
      range_end: Buffer.from(w.rangeEnd).toString('base64'),
      start_revision: String(w.startRevision),
      // Periodic empty answers, so that a quiet stream still shows it is alive.
      progress_notify: true,
    },
  });
  // A connection of its own (agent false): the stream holds it for as long as it lives.
  const req: ClientRequest = request(`${endpoint}/v3/watch`, {
    method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  req.on('socket', (s) => {
    // Without traffic a dead peer (a partition, not a closed socket) goes unnoticed: the source
    // probes etcd too, and TCP keepalive ends the socket itself eventually.
    s.setKeepAlive(true, 1_000);
  });
  req.on('error', (e) => lost(e.message));
  req.on('response', (res) => {
    if (res.statusCode !== 200) {
      res.resume();
      return lost(`HTTP ${res.statusCode}`);
    }
    eachLine(res, () => ended, (line) => {
      const message = messageOf(line);
      if (message.kind === 'end') return end(message.end);
      if (message.kind === 'lost') return lost(message.why);
      if (message.kind === 'created') handlers.onCreated(message.revision);
      if (message.events.length > 0) handlers.onEvents(message.events, message.events[message.events.length - 1]!.kv.modRevision);
    }, lost);
    res.on('end', () => lost('etcd closed the stream'));
    // 'aborted': the connection broke mid-answer (etcd died, or a peer reset it).
    res.on('error', (e) => lost(`the connection broke (${e.message})`));
  });
  req.end(body);

  return {
    close: () => {
      ended = true;
      req.destroy();
    },
  };
}
