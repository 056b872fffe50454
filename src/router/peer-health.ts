// Peer health (issue 12, "dead peers"): whether each server and data centre owner answers, from
// GUE probes its data plane answers itself (native/core/gue.h, reply_probe) or from the operator.
// The state machine and its options; the sockets are probe-socket.ts'. Used by Router.
import { randomBytes } from 'node:crypto';

import { IPv4, IPv6 } from 'ip-num';

import { invalid } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { isIPv4 } from '../ip.js';

/** Router option `health`: how owners are probed, and when they count as down or up again. */
export interface HealthOptions {
  /** Milliseconds between two probes of an owner. Default 1000. */
  intervalMs?: number;
  /** Consecutive unanswered probes after which an owner is down. Default 3. */
  downAfter?: number;
  /** Consecutive answered probes after which a down owner is up again. Default 2. */
  upAfter?: number;
  /** Probe every server and data centre owner, not only those with a fallback. Default false. */
  probeAll?: boolean;
}

export type HealthSettings = Required<HealthOptions>;

/** An owner's health as the operator sets it: 'auto' hands it back to the probes. */
export type HealthSetting = 'up' | 'down' | 'auto';

/** An owner to probe: its GUE address and port. */
export interface ProbeTarget {
  owner: string;
  address: IPv4 | IPv6;
  port: number;
}

/** One owner's health in Router.counters(): plain values, so that JSON.stringify takes it. */
export interface OwnerHealth {
  up: boolean;
  /** Probes sent and answers received since the router started probing it. */
  probes: number;
  replies: number;
  /** When it last went up or down (ISO 8601); when it was first watched if never. */
  since: string;
  /** Who decides: the probes, or the operator (Router.setHealth) until set back to 'auto'. */
  source: 'probes' | 'operator';
}

/** A change of an owner's health, with why. */
export interface HealthChange {
  owner: string;
  up: boolean;
  /** '3 probes unanswered', '2 probes answered', 'set by the operator', ... */
  reason: string;
}

/** A change of an owner's health (Router.onHealthChange), once the table it leads to is in use. */
export interface HealthEvent extends HealthChange {
  /** Owners whose slices went elsewhere with it, and where they go now (a fallback, or the owner itself again). */
  moved: { owner: string; to: string }[];
  /** Where the owner's slices go now: its fallback, or itself. */
  slicesTo: string;
  /** Its fallback, if it has one. */
  fallback: string | undefined;
}

/** Sends probes and hands back what comes back (probe-socket.ts; tests give their own). */
export interface ProbeTransport {
  /** Sends `message` to the target; `done` gets the error when it could not be sent. */
  send(target: ProbeTarget, message: Uint8Array, done: (error?: Error) => void): void;
  close(): void;
}

/** What arrived on a probe socket: its sender and the UDP payload. */
export type ProbeReplyHandler = (from: { address: string; port: number }, message: Uint8Array) => void;

const KEYS = ['intervalMs', 'downAfter', 'upAfter', 'probeAll'];

function whole(value: unknown, path: string, min: number, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) invalid(path, `${what} from ${min} to ${max}`, value);
  return value;
}

/** Checks Router option `health` (absent: the defaults). */
export function healthSettings(value: unknown, path = 'options.health'): HealthSettings {
  if (value === undefined) value = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(path, 'an object { intervalMs?, downAfter?, upAfter?, probeAll? }', value);
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KEYS.includes(key)) invalid(`${path}.${key}`, `no such option (known: ${KEYS.join(', ')})`, o[key]);
  const probeAll = o.probeAll ?? false;
  if (typeof probeAll !== 'boolean') invalid(`${path}.probeAll`, 'true or false', probeAll);
  return {
    // Below 10 ms probes would cost more than the traffic they watch; above an hour nobody waits.
    intervalMs: whole(o.intervalMs ?? 1000, `${path}.intervalMs`, 10, 3_600_000, 'a whole number of milliseconds'),
    downAfter: whole(o.downAfter ?? 3, `${path}.downAfter`, 1, 1000, 'a whole number of probes'),
    upAfter: whole(o.upAfter ?? 2, `${path}.upAfter`, 1, 1000, 'a whole number of probes'),
    probeAll,
  };
}

/** A probe: a GUE variant 0 control message (C bit, Hlen 0, no flags), its type, then the nonce. */
export function probeMessage(nonce: Uint8Array, reply = false): Uint8Array {
  const m = new Uint8Array(4 + ABI.gue.probeNonceLen);
  m[0] = 0x20;
  m[1] = reply ? ABI.gue.ctypeProbeReply : ABI.gue.ctypeProbe;
  m.set(nonce, 4);
  return m;
}

/** The nonce of a probe reply as hex, or undefined when `m` is not one. */
function replyNonce(m: Uint8Array): string | undefined {
  if (m.length !== 4 + ABI.gue.probeNonceLen || m[0] !== 0x20 || m[1] !== ABI.gue.ctypeProbeReply || m[2] !== 0 || m[3] !== 0) return undefined;
  return Buffer.from(m.subarray(4)).toString('hex');
}

/** Whether the sender Node names as `text` is `address` (Node writes IPv6 compressed, ip-num may not). */
function sameAddress(address: IPv4 | IPv6, text: string): boolean {
  try {
    return (isIPv4(address) ? IPv4.fromString(text) : IPv6.fromString(text)).getValue() === address.getValue();
  } catch {
    return false;
  }
}

interface State {
  target: ProbeTarget | undefined;
  /** What the probes say (true until downAfter probes go unanswered). */
  probed: boolean;
  operator: 'up' | 'down' | undefined;
  misses: number;
  hits: number;
  probes: number;
  replies: number;
  since: Date;
  /** The probe waiting for its answer, hex; an answer to an older one comes too late. */
  outstanding: string | undefined;
  lastError: string | undefined;
}

const upOf = (s: State): boolean => (s.operator === undefined ? s.probed : s.operator === 'up');

/**
 * The health of the owners watch() names. Every intervalMs each probed owner gets a probe with a
 * fresh random nonce (nobody who cannot see it answers for a dead peer); a probe still unanswered
 * when the next is due counts as lost. An owner starts up, is down after downAfter lost probes in
 * a row and up again after upAfter answered ones; the operator's setting wins until 'auto'.
 * `onChange` hears of every change of an owner's health.
 */
export class PeerHealth {
  readonly settings: HealthSettings;
  readonly #transport: ProbeTransport;
  readonly #onChange: (change: HealthChange) => void;
  readonly #now: () => Date;
  readonly #states = new Map<string, State>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(settings: HealthSettings, transport: (onReply: ProbeReplyHandler) => ProbeTransport, onChange: (change: HealthChange) => void, now: () => Date = () => new Date()) {
    this.settings = settings;
    this.#onChange = onChange;
    this.#now = now;
    this.#transport = transport((from, message) => this.reply(from, message));
  }

  /** Starts probing every intervalMs (the first round at once). */
  start(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.tick();
    this.#timer = setInterval(() => this.tick(), this.settings.intervalMs);
    this.#timer.unref();
  }

  /**
   * The owners of the table in use: `targets` are probed; `owners` (server and data centre owners)
   * may be set by the operator. Owners that left lose their state; a probed owner whose address
   * or port changed starts afresh (up).
   */
  watch(targets: readonly ProbeTarget[], owners: ReadonlySet<string>): void {
    const byOwner = new Map(targets.map((t) => [t.owner, t]));
    for (const [owner, s] of this.#states) {
      const t = byOwner.get(owner);
      const moved = t !== undefined && s.target !== undefined && (t.port !== s.target.port || t.address.toString() !== s.target.address.toString());
      if (!owners.has(owner) || (t === undefined && s.operator === undefined) || moved) this.#states.delete(owner);
      else if (t === undefined) s.target = undefined;
    }
    for (const t of targets) {
      const s = this.#states.get(t.owner);
      if (s === undefined) this.#states.set(t.owner, this.#fresh(t));
      else s.target = t;
    }
  }

  /** One round: the probes still unanswered are lost, and every probed owner gets a new one. */
  tick(): void {
    if (this.#closed) return;
    for (const [owner, s] of this.#states) {
      const target = s.target;
      if (target === undefined) continue;
      if (s.outstanding !== undefined) this.#result(owner, s, false);
      const nonce = randomBytes(ABI.gue.probeNonceLen);
      s.outstanding = nonce.toString('hex');
      s.probes++;
      this.#transport.send(target, probeMessage(nonce), (error) => {
        if (error !== undefined) s.lastError = error.message;
      });
    }
  }

  /** A datagram on a probe socket: an answer when it is the reply to an owner's outstanding probe, from that owner. */
  reply(from: { address: string; port: number }, message: Uint8Array): void {
    const nonce = replyNonce(message);
    if (nonce === undefined || this.#closed) return;
    for (const [owner, s] of this.#states) {
      if (s.outstanding !== nonce || s.target === undefined) continue;
      if (s.target.port !== from.port || !sameAddress(s.target.address, from.address)) return;
      s.outstanding = undefined;
      s.lastError = undefined;
      s.replies++;
      this.#result(owner, s, true);
      return;
    }
  }

  /** The operator's word on `owner` ('auto': the probes decide again; an owner not probed is then up). */
  set(owner: string, setting: HealthSetting): void {
    let s = this.#states.get(owner);
    if (s === undefined) {
      if (setting === 'auto') return;
      s = this.#fresh(undefined);
      this.#states.set(owner, s);
    }
    const before = upOf(s);
    s.operator = setting === 'auto' ? undefined : setting;
    if (setting === 'auto' && s.target === undefined) this.#states.delete(owner);
    if (upOf(s) !== before) this.#changed(owner, s, setting === 'auto' ? `set to auto by the operator: the probes say ${s.probed ? 'up' : 'down'}` : 'set by the operator');
  }

  isDown(owner: string): boolean {
    const s = this.#states.get(owner);
    return s !== undefined && !upOf(s);
  }

  /** Every owner probed or set by the operator. */
  snapshot(): Record<string, OwnerHealth> {
    const out: Record<string, OwnerHealth> = {};
    for (const [owner, s] of this.#states) {
      out[owner] = { up: upOf(s), probes: s.probes, replies: s.replies, since: s.since.toISOString(), source: s.operator === undefined ? 'probes' : 'operator' };
    }
    return out;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#transport.close();
  }

  #fresh(target: ProbeTarget | undefined): State {
    return { target, probed: true, operator: undefined, misses: 0, hits: 0, probes: 0, replies: 0, since: this.#now(), outstanding: undefined, lastError: undefined };
  }

  #result(owner: string, s: State, answered: boolean): void {
    if (answered) {
      s.hits++;
      s.misses = 0;
    } else {
      s.misses++;
      s.hits = 0;
    }
    const before = upOf(s);
    if (s.probed && s.misses >= this.settings.downAfter) s.probed = false;
    else if (!s.probed && s.hits >= this.settings.upAfter) s.probed = true;
    if (upOf(s) === before) return;
    const n = answered ? s.hits : s.misses;
    const why = answered ? `${n} probe${n === 1 ? '' : 's'} answered` : `${n} probe${n === 1 ? '' : 's'} unanswered${s.lastError === undefined ? '' : ` (sending failed: ${s.lastError})`}`;
    this.#changed(owner, s, why);
  }

  #changed(owner: string, s: State, reason: string): void {
    s.since = this.#now();
    this.#onChange({ owner, up: upOf(s), reason });
  }
}
