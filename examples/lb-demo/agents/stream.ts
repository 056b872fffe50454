// Long-lived TCP streams for the load-balancer demo (examples/lb-demo) and its netns test, run in
// namespaces through the kit's Agent (JSON lines on stdin, answers with the command's id):
//   serve NAME PORT: on every connection, "NAME\n", then a paced byte stream (byte k of it is
//     pattern(k)); {"cmd":"count"} -> { open }: connections open now.
//   client: {"cmd":"open", n, host, port} -> { opened, failed, byBackend }: n streams kept open;
//     {"cmd":"progress", timeoutMs} -> { alive, broken, stalled, byBackend, brokenByBackend }: every
//     stream alive must receive new bytes within timeoutMs (one that does not is stalled, and
//     broken from then on); {"cmd":"probe", n, host, port} -> { byBackend }: n short connections
//     that read the backend's name and close.
// A stream is broken on a reset, an early end, or a byte that is not pattern(k).
import { connect, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

const CHUNK = 256;
const PACE_MS = 100;
const TICK_MS = 500;

const say = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(event)}\n`);
const pattern = (k: number): number => (k * 131 + 17) & 255;

function chunkAt(offset: number): Buffer {
  const b = Buffer.allocUnsafe(CHUNK);
  for (let i = 0; i < CHUNK; i++) b[i] = pattern(offset + i);
  return b;
}

function serve(name: string, port: number): void {
  const open = new Map<Socket, number>();
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.on('close', () => open.delete(socket));
    socket.on('data', () => undefined); // the client's ticks
    socket.write(`${name}\n`);
    open.set(socket, 0);
  });
  setInterval(() => {
    for (const [socket, offset] of open) {
      if (socket.writableLength > 64 * CHUNK) continue; // a stalled peer gets no more
      socket.write(chunkAt(offset));
      open.set(socket, offset + CHUNK);
    }
  }, PACE_MS);
  server.listen(port, '0.0.0.0', () => say({ event: 'ready', name, port }));
  commands((cmd) => (cmd.cmd === 'count' ? { open: open.size } : undefined));
}

interface Stream {
  socket: Socket;
  backend: string | undefined;
  bytes: number;
  broken: string | undefined;
}

function openStream(host: string, port: number, streams: Set<Stream>): Promise<Stream> {
  return new Promise((resolve) => {
    const s: Stream = { socket: connect({ host, port }), backend: undefined, bytes: 0, broken: undefined };
    let head = '';
    const fail = (why: string): void => {
      if (s.broken !== undefined) return;
      s.broken = why;
      s.socket.destroy();
      resolve(s);
    };
    s.socket.setNoDelay(true);
    s.socket.on('error', (e) => fail(`error: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    s.socket.on('end', () => fail('ended by the server'));
    s.socket.on('close', () => fail('closed'));
    s.socket.on('data', (data: Buffer) => {
      let at = 0;
      if (s.backend === undefined) {
        const nl = data.indexOf(10);
        if (nl < 0) return void (head += data.toString('latin1'));
        s.backend = head + data.subarray(0, nl).toString('latin1');
        at = nl + 1;
        streams.add(s);
        resolve(s);
      }
      for (; at < data.length; at++, s.bytes++) if (data[at] !== pattern(s.bytes)) return fail(`byte ${s.bytes} wrong`);
    });
  });
}

function count(list: Iterable<Stream>, pick: (s: Stream) => boolean): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of list) if (pick(s)) out[s.backend ?? '?'] = (out[s.backend ?? '?'] ?? 0) + 1;
  return out;
}

async function inBatches<T>(n: number, batch: number, fn: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let done = 0; done < n; done += batch) out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - done) }, fn))));
  return out;
}

function client(): void {
  const streams = new Set<Stream>();
  setInterval(() => {
    for (const s of streams) if (s.broken === undefined) s.socket.write('.');
  }, TICK_MS);
  const alive = () => [...streams].filter((s) => s.broken === undefined);
  commands(async (cmd) => {
    if (cmd.cmd === 'open') {
      const opened = await inBatches(cmd.n as number, 50, () => openStream(cmd.host as string, cmd.port as number, streams));
      const ok = opened.filter((s) => s.broken === undefined);
      return { opened: ok.length, failed: opened.length - ok.length, byBackend: count(ok, () => true) };
    }
    if (cmd.cmd === 'progress') {
      const before = new Map(alive().map((s) => [s, s.bytes]));
      const deadline = Date.now() + (cmd.timeoutMs as number);
      while (Date.now() < deadline && [...before].some(([s, b]) => s.broken === undefined && s.bytes <= b)) await new Promise((r) => setTimeout(r, 100));
      const stalled = [...before].filter(([s, b]) => s.broken === undefined && s.bytes <= b).map(([s]) => s);
      for (const s of stalled) {
        s.broken = 'stalled';
        s.socket.destroy();
      }
      const all = [...streams];
      return {
        alive: alive().length, broken: all.length - alive().length, stalled: stalled.length,
        byBackend: count(all, (s) => s.broken === undefined), brokenByBackend: count(all, (s) => s.broken !== undefined),
        reasons: [...new Set(all.filter((s) => s.broken !== undefined).map((s) => s.broken))].slice(0, 5),
      };
    }
    if (cmd.cmd === 'probe') {
      const probes = new Set<Stream>();
      const seen = await inBatches(cmd.n as number, 25, async () => {
        const s = await openStream(cmd.host as string, cmd.port as number, probes);
        s.socket.destroy();
        return s;
      });
      return { byBackend: count(seen, (s) => s.backend !== undefined), failed: seen.filter((s) => s.backend === undefined).length };
    }
    return undefined;
  });
  say({ event: 'ready' });
}

type Handler = (cmd: Record<string, unknown>) => Record<string, unknown> | undefined | Promise<Record<string, unknown> | undefined>;

function commands(handle: Handler): void {
  createInterface({ input: process.stdin }).on('line', (line) => {
    const cmd = JSON.parse(line) as Record<string, unknown>;
    void Promise.resolve(handle(cmd)).then(
      (answer) => say(answer === undefined ? { event: 'error', id: cmd.id, error: { name: 'Error', message: `Expected a known command but received ${String(cmd.cmd)}` } } : { event: String(cmd.cmd), id: cmd.id, ...answer }),
      (e: Error) => say({ event: 'error', id: cmd.id, error: { name: e.name, message: e.message } }),
    );
  });
}

const [mode, name, port] = process.argv.slice(2);
if (mode === 'serve' && name !== undefined && port !== undefined) serve(name, Number(port));
else if (mode === 'client') client();
else {
  say({ event: 'error', error: { name: 'Error', message: `Expected 'serve NAME PORT' or 'client' but received ${JSON.stringify(process.argv.slice(2).join(' '))}` } });
  process.exit(2);
}
