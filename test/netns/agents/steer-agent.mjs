// Socket steering in namespaces for test/netns/sk-lookup.test.ts and bench/sk-lookup.ts, JSON lines
// in and out (the kit's Agent). Imports the built package (dist/), as a user would. argv[2]:
//   server: named servers ({"cmd":"listen","name","kind":"http"|"udp","host","port"}; HTTP answers
//           "NAME LOCALADDRESS", UDP echoes "NAME DATA"), and SocketSteering on command:
//           attach {perAddressLoad?}, replace {rules:[{protocol,prefix,ports,target}]}, add, remove, counters, load,
//           rules, close-target {name}, detach. Prefixes are text ('10.20.0.0/20'). Beside it a
//           soft-unicast Router: router {interface, ipv4, slices: [{destination, protocols,
//           ports}]} owned by this host (kind local), router-counters, router-close.
//   client: http {host,port,count} and udp {host,port,count} (each answer's text), and a load
//           loop: loop-start {hosts,port}, loop-stop -> {ok, failed, errors}.
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import { createInterface } from 'node:readline';

import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';

import { Router, SliceTable, SocketSteering } from '../../../dist/src/index.js';

const say = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const errorOf = (e) => ({ name: e.name, code: e.code, message: e.message });
const prefixOf = (text) => {
  if (!text.includes('/')) return text.includes(':') ? IPv6.fromString(text) : IPv4.fromString(text);
  return text.includes(':') ? IPv6CidrRange.fromCidr(text) : IPv4CidrRange.fromCidr(text);
};

// ---- server --------------------------------------------------------------------------------

const targets = new Map();
let steering = null;

function listen(c) {
  return new Promise((resolve, reject) => {
    if (c.kind === 'http') {
      const server = http.createServer((req, res) => res.end(`${c.name} ${req.socket.localAddress}`));
      server.once('error', reject);
      server.listen({ host: c.host, port: c.port }, () => resolve(server));
    } else {
      const socket = dgram.createSocket({ type: c.host.includes(':') ? 'udp6' : 'udp4', ipv6Only: false });
      socket.on('message', (msg, rinfo) => socket.send(`${c.name} ${msg}`, rinfo.port, rinfo.address));
      socket.once('error', reject);
      socket.bind(c.port, c.host, () => resolve(socket));
    }
  }).then((t) => targets.set(c.name, t));
}

const canonical = (a) => (a.includes(':') ? new URL(`http://[${a}]/`).hostname.slice(1, -1) : a);
const ruleOf = (r) => ({ protocol: r.protocol, prefix: prefixOf(r.prefix), ports: r.ports });

let router = null;

async function openRouter(c) {
  const table = new SliceTable();
  table.defineOwner('me', { kind: 'local' });
  for (const sl of c.slices) table.assign({ destination: prefixOf(sl.destination), protocols: sl.protocols, ports: sl.ports, owner: 'me' });
  router = await Router.open({
    port: { interface: c.interface, queues: 'all', attach: 'driver' },
    host: { ipv4: IPv4.fromString(c.ipv4), guePort: 6080, trustedPeers: [] },
    table,
  });
  return {};
}

const server = {
  router: openRouter,
  'router-counters': async () => ({ xdp: router.counters().xdp }),
  'router-close': async () => (await router.close(), {}),
  listen: async (c) => (await listen(c), {}),
  attach: async (c) => ((steering = await SocketSteering.attach(c.perAddressLoad === undefined ? {} : { perAddressLoad: c.perAddressLoad })), {}),
  replace: async (c) => (steering.replaceRules(c.rules.map((r) => ({ rule: ruleOf(r), target: targets.get(r.target) }))), {}),
  add: async (c) => (steering.addRule(ruleOf(c.rule), c.target === undefined ? undefined : targets.get(c.target)), {}),
  // A rule with raw values, to see the typed error a caller gets.
  'add-raw': async (c) => (steering.addRule(c.rule, targets.get(c.target) ?? c.target), {}),
  remove: async (c) => ({ removed: steering.removeRule(ruleOf(c.rule)) }),
  counters: async () => ({ counters: steering.counters() }),
  // Addresses as the client wrote them (ip-num prints IPv6 uncompressed; URL compresses).
  load: async () => ({ load: steering.load().map((l) => ({ address: canonical(l.address.toString()), protocol: l.protocol, count: l.count })) }),
  rules: async () => ({ rules: steering.rules().map((r) => ({ rule: r.rule, socketOpen: r.socketOpen })) }),
  'close-target': async (c) => {
    const t = targets.get(c.name);
    await new Promise((resolve) => (t instanceof http.Server ? (t.close(), t.closeAllConnections(), t.once('close', resolve)) : t.close(resolve)));
    return {};
  },
  detach: async () => (steering.close(), {}),
};

// ---- client --------------------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: false });

function get(host, port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent, timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout to ${host}`)));
    req.on('error', reject);
  });
}

function udp(host, port, data) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => (socket.close(), reject(new Error(`no UDP answer from ${host}`))), 5_000);
    socket.on('message', (msg) => (clearTimeout(timer), socket.close(), resolve(String(msg))));
    socket.send(data, port, host);
  });
}

let loop = null;

async function runLoop(state, hosts, port) {
  for (let i = 0; !state.stop; i++) {
    const host = hosts[i % hosts.length];
    try {
      await get(host, port);
      state.ok++;
    } catch (e) {
      state.failed++;
      if (state.errors.length < 5) state.errors.push(`${host}: ${e.message}`);
    }
  }
}

const client = {
  http: async (c) => {
    const answers = [];
    for (let i = 0; i < (c.count ?? 1); i++) answers.push(await get(c.host, c.port));
    return { answers };
  },
  udp: async (c) => {
    const answers = [];
    for (let i = 0; i < (c.count ?? 1); i++) answers.push(await udp(c.host, c.port, `ping${i}`));
    return { answers };
  },
  'loop-start': async (c) => {
    loop = { stop: false, ok: 0, failed: 0, errors: [] };
    // Four requests in flight at a time.
    loop.done = Promise.all([0, 1, 2, 3].map(() => runLoop(loop, c.hosts, c.port)));
    return {};
  },
  'loop-progress': async () => ({ ok: loop.ok, failed: loop.failed }),
  'loop-stop': async () => {
    loop.stop = true;
    await loop.done;
    return { ok: loop.ok, failed: loop.failed, errors: loop.errors };
  },
};

const commands = process.argv[2] === 'server' ? server : client;
createInterface({ input: process.stdin }).on('line', async (line) => {
  const c = JSON.parse(line);
  try {
    say({ event: 'done', id: c.id, ...(await commands[c.cmd](c)) });
  } catch (e) {
    say({ event: 'failed', id: c.id, error: errorOf(e) });
  }
});
say({ event: 'ready' });
