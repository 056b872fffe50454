// Peer health without sockets or timers (src/router/peer-health.ts): probes go to a fake
// transport, rounds are driven by tick(), answers are handed in as the sockets would; and the
// fallback table a router derives from it (src/router/fallback.ts, SliceTable.moveOwner).
import { IPv4, IPv6 } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { compileTable, InvalidOptionError, SliceTable, UnknownOwnerError } from '../../src/index.js';
import { ABI } from '../../src/generated/abi.js';
import { checkHealthSetting, fallbackTable, movedBetween, probeTargets } from '../../src/router/fallback.js';
import { healthSettings, PeerHealth, probeMessage, type HealthChange, type ProbeReplyHandler, type ProbeTarget } from '../../src/router/peer-health.js';

const A2 = IPv4.fromString('10.1.0.2');
const DC = IPv6.fromString('2001:db8:b::1');

interface Sent {
  target: ProbeTarget;
  message: Uint8Array;
  done: (error?: Error) => void;
}

/** A PeerHealth whose probes land in `sent`; `answer(i)` answers probe i as its owner's data plane would. */
function harness(options: Record<string, unknown> = {}) {
  const sent: Sent[] = [];
  const changes: HealthChange[] = [];
  let deliver: ProbeReplyHandler = () => undefined;
  let closed = false;
  let clock = Date.parse('2026-12-08T10:00:00.000Z');
  const health = new PeerHealth(
    healthSettings(options),
    (onReply) => {
      deliver = onReply;
      return { send: (target, message, done) => sent.push({ target, message, done }), close: () => (closed = true) };
    },
    (c) => changes.push(c),
    () => new Date((clock += 1000)),
  );
  const answer = (i: number, from?: { address: string; port: number }) => {
    const probe = sent[i]!;
    const reply = Uint8Array.from(probe.message);
    reply[1] = ABI.gue.ctypeProbeReply;
    deliver(from ?? { address: probe.target.address.toString(), port: probe.target.port }, reply);
  };
  const lastTo = (owner: string) => sent.map((s, i) => [s, i] as const).filter(([s]) => s.target.owner === owner).at(-1)![1];
  return { health, sent, changes, answer, lastTo, closed: () => closed, deliver: (f: { address: string; port: number }, m: Uint8Array) => deliver(f, m) };
}

const targets: ProbeTarget[] = [
  { owner: 'a2', address: A2, port: 6080 },
  { owner: 'dcB', address: DC, port: 6081 },
];
const owners = new Set(['a2', 'a3', 'dcB']);

describe('peer health', () => {
  it('sends each watched owner a GUE control message of the probe type with a fresh 8-byte nonce every round', () => {
    const h = harness();
    h.health.watch(targets, owners);
    h.health.tick();
    h.health.tick();
    expect(h.sent.map((s) => [s.target.owner, s.message.length, s.message[0], s.message[1], s.message[2], s.message[3]])).toEqual([
      ['a2', 12, 0x20, ABI.gue.ctypeProbe, 0, 0],
      ['dcB', 12, 0x20, ABI.gue.ctypeProbe, 0, 0],
      ['a2', 12, 0x20, ABI.gue.ctypeProbe, 0, 0],
      ['dcB', 12, 0x20, ABI.gue.ctypeProbe, 0, 0],
    ]);
    expect(new Set(h.sent.map((s) => Buffer.from(s.message.subarray(4)).toString('hex'))).size).toBe(4);
  });

  it('calls an owner down after downAfter probes in a row go unanswered, and up after upAfter answered', () => {
    const h = harness();
    h.health.watch(targets, owners);
    h.health.tick();
    h.answer(h.lastTo('dcB'));
    // Rounds 2-4 find a2's last probe unanswered: the third miss makes it down.
    for (let round = 0; round < 3; round++) {
      expect(h.health.isDown('a2')).toBe(false);
      h.health.tick();
      h.answer(h.lastTo('dcB'));
    }
    expect(h.health.isDown('a2')).toBe(true);
    expect(h.health.isDown('dcB')).toBe(false);
    expect(h.changes).toEqual([{ owner: 'a2', up: false, reason: '3 probes unanswered' }]);
    h.answer(h.lastTo('a2'));
    expect(h.health.isDown('a2')).toBe(true);
    h.health.tick();
    h.answer(h.lastTo('a2'));
    expect(h.changes.at(-1)).toEqual({ owner: 'a2', up: true, reason: '2 probes answered' });
    expect(h.health.isDown('a2')).toBe(false);
  });

  it('follows the thresholds it is given', () => {
    const h = harness({ downAfter: 1, upAfter: 1 });
    h.health.watch(targets.slice(0, 1), owners);
    h.health.tick();
    h.health.tick();
    expect(h.changes).toEqual([{ owner: 'a2', up: false, reason: '1 probe unanswered' }]);
    h.answer(h.lastTo('a2'));
    expect(h.changes.at(-1)).toEqual({ owner: 'a2', up: true, reason: '1 probe answered' });
  });

  it('takes an answer only to the probe outstanding, from the address and port it went to', () => {
    const h = harness({ downAfter: 1 });
    h.health.watch(targets, owners);
    h.health.tick();
    const first = h.lastTo('a2');
    h.health.tick(); // a2's first probe is lost: down
    expect(h.health.isDown('a2')).toBe(true);
    h.answer(first); // too late
    h.answer(h.lastTo('a2'), { address: '10.1.0.9', port: 6080 }); // someone else
    h.answer(h.lastTo('a2'), { address: '10.1.0.2', port: 6081 }); // another port
    const garbage = probeMessage(h.sent[h.lastTo('a2')]!.message.subarray(4)); // a probe, not a reply
    h.deliver({ address: '10.1.0.2', port: 6080 }, garbage);
    h.deliver({ address: '10.1.0.2', port: 6080 }, new Uint8Array(3));
    expect(h.health.snapshot().a2!.replies).toBe(0);
    // IPv6 as Node writes it (compressed) matches the target however ip-num writes it.
    h.answer(h.lastTo('dcB'), { address: '2001:db8:b::1', port: 6081 });
    expect(h.health.snapshot().dcB!.replies).toBe(1);
  });

  it('says why when probes could not be sent', () => {
    const h = harness({ downAfter: 2 });
    h.health.watch(targets.slice(0, 1), owners);
    h.health.tick();
    h.sent[0]!.done(new Error('send ENETUNREACH 10.1.0.2:6080'));
    h.health.tick();
    h.health.tick();
    expect(h.changes).toEqual([{ owner: 'a2', up: false, reason: '2 probes unanswered (sending failed: send ENETUNREACH 10.1.0.2:6080)' }]);
  });

  it("lets the operator's word win over the probes until 'auto'", () => {
    const h = harness({ downAfter: 1 });
    h.health.watch(targets.slice(0, 1), owners);
    h.health.set('a2', 'down');
    expect(h.changes).toEqual([{ owner: 'a2', up: false, reason: 'set by the operator' }]);
    h.health.set('a2', 'up');
    h.health.tick();
    h.health.tick(); // the probes say down; the operator says up
    expect(h.health.isDown('a2')).toBe(false);
    expect(h.health.snapshot().a2!.source).toBe('operator');
    h.health.set('a2', 'auto');
    expect(h.changes.at(-1)).toEqual({ owner: 'a2', up: false, reason: 'set to auto by the operator: the probes say down' });
    expect(h.health.snapshot().a2!.source).toBe('probes');
    // An owner nobody probes can be set too; 'auto' forgets it again.
    h.health.set('a3', 'down');
    expect(h.health.isDown('a3')).toBe(true);
    h.health.set('a3', 'auto');
    expect(h.health.isDown('a3')).toBe(false);
    expect(Object.keys(h.health.snapshot())).toEqual(['a2']);
  });

  it('reports plain values, when each owner last changed', () => {
    const h = harness({ downAfter: 1 });
    h.health.watch(targets.slice(0, 1), owners);
    h.health.tick();
    h.health.tick();
    const snapshot = h.health.snapshot();
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    expect(snapshot).toEqual({ a2: { up: false, probes: 2, replies: 0, since: '2026-12-08T10:00:02.000Z', source: 'probes' } });
  });

  it('forgets owners that leave the table, and starts afresh when an address changes', () => {
    const h = harness({ downAfter: 1 });
    h.health.watch(targets, owners);
    h.health.tick();
    h.health.tick();
    expect(h.health.isDown('a2')).toBe(true);
    h.health.watch([{ owner: 'a2', address: IPv4.fromString('10.1.0.22'), port: 6080 }], new Set(['a2']));
    expect(h.health.isDown('a2')).toBe(false);
    expect(Object.keys(h.health.snapshot())).toEqual(['a2']);
  });

  it('closes its transport and sends nothing after', () => {
    const h = harness();
    h.health.watch(targets, owners);
    h.health.close();
    h.health.tick();
    expect(h.closed()).toBe(true);
    expect(h.sent).toEqual([]);
  });

  it('fills in defaults and refuses settings it cannot use', () => {
    expect(healthSettings(undefined)).toEqual({ intervalMs: 1000, downAfter: 3, upAfter: 2, probeAll: false });
    expect(() => healthSettings({ downAfter: 1001 })).toThrow(new InvalidOptionError('Expected a whole number of probes from 1 to 1000 for options.health.downAfter but received 1001'));
  });
});

function table(): SliceTable {
  const shared = IPv4.fromString('192.0.2.1');
  return new SliceTable()
    .defineOwner('a1', { kind: 'local' })
    .defineOwner('a2', { kind: 'server', address: A2, fallback: 'a3' })
    .defineOwner('a3', { kind: 'server', address: IPv4.fromString('10.1.0.3'), fallback: 'a2' })
    .defineOwner('a4', { kind: 'server', address: IPv4.fromString('10.1.0.4'), encap: 'l2', mac: '02:00:00:00:01:04', fallback: 'a1' })
    .defineOwner('dcB', { kind: 'datacenter', endpoint: DC, guePort: 6081 })
    .assign({ destination: shared, ports: { from: 2048, to: 4095 }, owner: 'a1' })
    .assign({ destination: shared, ports: { from: 4096, to: 6143 }, owner: 'a2' })
    .assign({ destination: shared, protocols: ['udp'], ports: { from: 6144, to: 8191 }, owner: 'a2' })
    .assign({ destination: shared, protocols: ['tcp'], ports: { from: 6144, to: 8191 }, owner: 'a3' })
    .assign({ destination: shared, ports: { from: 8192, to: 10239 }, owner: 'a4' })
    .assign({ destination: IPv6.fromString('2001:db8:100::1'), ports: { from: 4096, to: 6143 }, owner: 'a2' })
    .assign({ destination: shared, ports: { from: 10240, to: 12287 }, owner: 'dcB' });
}

describe('fallback owners', () => {
  const shared = IPv4.fromString('192.0.2.1');

  it('gives every slice of a down owner to its fallback, in a copy', () => {
    const base = table();
    const { table: t, routes } = fallbackTable(base, (o) => o === 'a2');
    expect([...routes]).toEqual([['a2', 'a3']]);
    expect(t.lookup(shared, 'tcp', 4100)).toBe('a3');
    expect(t.lookup(shared, 'udp', 6200)).toBe('a3');
    expect(t.lookup(IPv6.fromString('2001:db8:100::1'), 'udp', 5000)).toBe('a3');
    expect(t.lookup(shared, 'tcp', 2050)).toBe('a1');
    expect(t.sliceCounts()).toEqual(new Map([['a1', 1], ['a2', 0], ['a3', 4], ['a4', 1], ['dcB', 1]]));
    expect(base.lookup(shared, 'tcp', 4100)).toBe('a2');
    // What the fast path gets compiles as any table.
    expect(compileTable(t, { mac: '02:00:00:00:01:01', mtu: 1500, ipv4: IPv4.fromString('10.1.0.1'), ipv6: IPv6.fromString('2001:db8:a::1') }, { generation: 1 }).stats.slices).toBe(base.size);
  });

  it('does not use a fallback that is down itself, nor copy a table where nothing moves', () => {
    const base = table();
    const both = fallbackTable(base, (o) => o === 'a2' || o === 'a3');
    expect([...both.routes]).toEqual([]);
    expect(both.table).toBe(base);
    expect(fallbackTable(base, (o) => o === 'dcB').table).toBe(base);
    // A local fallback takes the slices to this host.
    expect(fallbackTable(base, (o) => o === 'a4').table.lookup(shared, 'tcp', 9000)).toBe('a1');
  });

  it('names the owners whose slices went elsewhere', () => {
    expect(movedBetween(new Map(), new Map([['a2', 'a3']]))).toEqual([{ owner: 'a2', to: 'a3' }]);
    expect(movedBetween(new Map([['a2', 'a3']]), new Map())).toEqual([{ owner: 'a2', to: 'a2' }]);
    expect(movedBetween(new Map([['a2', 'a3']]), new Map([['a2', 'a3']]))).toEqual([]);
  });

  it('probes owners with a fallback (all with probeAll), l2 servers at this host\'s GUE port', () => {
    const { targets: some, owners: settable } = probeTargets(table(), false, 6090);
    expect(some.map((t) => [t.owner, t.address.toString(), t.port])).toEqual([['a2', '10.1.0.2', 6080], ['a3', '10.1.0.3', 6080], ['a4', '10.1.0.4', 6090]]);
    expect([...settable]).toEqual(['a2', 'a3', 'a4', 'dcB']);
    expect(probeTargets(table(), true, 6090).targets.map((t) => [t.owner, t.port])).toEqual([['a2', 6080], ['a3', 6080], ['a4', 6090], ['dcB', 6081]]);
  });

  it('lets the operator set server and data centre owners only, up, down or auto', () => {
    expect(() => checkHealthSetting(table(), 'a2', 'down')).not.toThrow();
    expect(() => checkHealthSetting(table(), 'a1', 'down')).toThrow(new InvalidOptionError("Expected a server or data centre owner of the table in use (a2, a3, a4, dcB) for owner but received 'a1'"));
    expect(() => checkHealthSetting(table(), 'a9', 'down')).toThrow("for owner but received 'a9'");
    expect(() => checkHealthSetting(table(), 'a2', 'dead')).toThrow(new InvalidOptionError("Expected 'up', 'down' or 'auto' for setting but received 'dead'"));
  });

  it('refuses a fallback that is the owner itself or that the table does not define', () => {
    expect(() => new SliceTable().defineOwner('a2', { kind: 'server', address: A2, fallback: 'a2' })).toThrow(
      new InvalidOptionError("Expected another owner than the owner itself for owners['a2'].fallback but received 'a2'"),
    );
    expect(() => new SliceTable().defineOwner('a2', { kind: 'server', address: A2, fallback: 7 } as never)).toThrow(
      new InvalidOptionError("Expected the name of another owner of the table for owners['a2'].fallback but received 7"),
    );
    expect(() => new SliceTable().defineOwner('a2', { kind: 'local', fallback: 'a3' } as never)).toThrow(
      "Expected no such option (known for this kind: kind) for owners['a2'].fallback but received 'a3'",
    );
    const t = new SliceTable().defineOwner('a1', { kind: 'local' }).defineOwner('dcB', { kind: 'datacenter', endpoint: DC, fallback: 'dcC' });
    expect(() => compileTable(t, { mac: '02:00:00:00:01:01', mtu: 1500, ipv6: IPv6.fromString('2001:db8:a::1') }, { generation: 1 })).toThrow(
      new UnknownOwnerError("Expected an owner defined with defineOwner() (a1) for owners['dcB'].fallback but received 'dcC'"),
    );
  });
});
