// Second chance on a backend (issue 15): bpf/backend.bpf.c on the interface GUE from the load
// balancers arrives on, through build/native/chance_backend, which holds the attachment while it runs.
// Used by test/netns/lb-second-chance.test.ts and test/bpf/lb-backend-golden.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { BpfLoadError, ClosedError, invalid, SyscallError } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { packageRoot } from '../package.js';

const buildDir = join(packageRoot(), 'build', 'native');
/** The backend's XDP program (bpf/backend.bpf.c) and its loader (native/lb/chance_backend.c). */
export const backendObjectPath = join(buildDir, 'bpf', 'backend.bpf.o');
const loaderPath = join(buildDir, 'chance_backend');

export type ChanceCounter = (typeof ABI.chanceCounters)[number]['name'];
export type ChanceCounters = Record<ChanceCounter, number>;
/** The counters' names, in the order of native/include/softunicast/chance.h. */
export const CHANCE_COUNTERS: readonly ChanceCounter[] = ABI.chanceCounters.map((c) => c.name);

export interface NextHop {
  /** The hop's IPv4 address, as hop lists carry it. */
  readonly address: string;
  /** Its MAC address on the link GUE arrives on: forwarded packets go back out there (XDP_TX). */
  readonly mac: string;
}

export interface SecondChanceOptions {
  /** The interface to attach to; without one the program is loaded only, for testRun. */
  readonly ifname?: string;
  /** 'driver' (native XDP, the default) or 'generic'. */
  readonly attach?: 'driver' | 'generic';
  /** The other backends a packet may be sent on to. A hop not named here is looked up in the
   * kernel's routes and neighbour table: it must be on the same link, resolved, and the link must
   * forward IPv4 (net.ipv4.conf.IF.forwarding=1; the kernel's helper answers nothing otherwise). */
  readonly nextHops?: readonly NextHop[];
  /** Runs the loader in this network namespace (`ip netns exec`): for tests and demos. */
  readonly netns?: string;
}

interface Answer {
  ok?: boolean;
  event?: string;
  message?: string;
  counters?: Record<string, number>;
  retval?: number;
  out?: string;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

function checkHop(hop: NextHop, path: string): void {
  if (typeof hop?.address !== 'string' || isIP(hop.address) !== 4) invalid(`${path}.address`, 'an IPv4 address (GLB hop lists hold IPv4 only)', hop?.address);
  if (typeof hop.mac !== 'string' || !MAC_RE.test(hop.mac)) invalid(`${path}.mac`, 'a MAC address like 02:00:00:00:00:01', hop.mac);
}

/**
 * The backend half of second chance: GLB-style GUE (src/lb/hop-list.ts) is unwrapped for this
 * host's kernel when it carries a SYN or a packet of a local TCP socket, and otherwise sent on to
 * the next hop of its list; the kernel answers the client from the service address (direct server
 * return: the address on lo, rp_filter off or loose on the interface). Counters by name.
 */
export class SecondChanceBackend {
  readonly #child: ChildProcess;
  readonly #waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void }[] = [];
  #closed: Error | undefined;
  #stderr = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.stderr!.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-8192);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const next = this.#waiting.shift();
      if (next) next.resolve(JSON.parse(line) as Answer);
    });
    child.on('close', (code, signal) => {
      this.#closed = new ClosedError(`Expected the second-chance loader to keep running but it exited (${String(code ?? signal)}): ${this.#stderr.trim().slice(-2000)}`);
      for (const w of this.#waiting.splice(0)) w.reject(this.#closed);
    });
    child.stdin!.on('error', () => undefined); // EPIPE after an exit: the close handler says why
  }

  /** Loads the program, attaches it when `ifname` is given, and installs the next hops. */
  static async open(options: SecondChanceOptions = {}): Promise<SecondChanceBackend> {
    const mode = options.attach ?? 'driver';
    if (mode !== 'driver' && mode !== 'generic') invalid('attach', "'driver' or 'generic'", mode);
    if (options.ifname !== undefined && (typeof options.ifname !== 'string' || options.ifname === '')) invalid('ifname', 'an interface name', options.ifname);
    (options.nextHops ?? []).forEach((hop, i) => checkHop(hop, `nextHops[${i}]`));
    const args = [backendObjectPath, ...(options.ifname === undefined ? [] : [options.ifname, mode])];
    const argv = options.netns === undefined ? [loaderPath, ...args] : ['ip', 'netns', 'exec', options.netns, loaderPath, ...args];
    const backend = new SecondChanceBackend(spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] }));
    const ready = await backend.#answer();
    if (ready.event !== 'ready') {
      await backend.close();
      throw new BpfLoadError(`Expected ${backendObjectPath} to load${options.ifname ? ` and attach to ${options.ifname}` : ''} but the loader said: ${ready.message ?? JSON.stringify(ready)}`);
    }
    for (const hop of options.nextHops ?? []) await backend.setNextHop(hop);
    return backend;
  }

  #answer(): Promise<Answer> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  async #ask(command: string): Promise<Answer> {
    const answer = this.#answer();
    this.#child.stdin!.write(`${command}\n`);
    const a = await answer;
    if (!a.ok) throw new SyscallError(`Expected the loader to accept '${command.slice(0, 80)}' but it said: ${a.message ?? '?'}`);
    return a;
  }

  /** Adds or replaces a next hop: packets whose next hop is `address` go to `mac`. */
  async setNextHop(hop: NextHop): Promise<void> {
    checkHop(hop, 'hop');
    await this.#ask(`hop ${hop.address} ${hop.mac}`);
  }

  /** Removes a next hop: its MAC address comes from the kernel's neighbour table from now on,
   * and packets for it are dropped (chance_no_neighbour) while the kernel has none. */
  async forgetNextHop(address: string): Promise<void> {
    if (typeof address !== 'string' || isIP(address) !== 4) invalid('address', 'an IPv4 address', address);
    await this.#ask(`forget ${address}`);
  }

  /** Every counter, summed over CPUs, by the name native/include/softunicast/chance.h gives it. */
  async counters(): Promise<ChanceCounters> {
    const raw = (await this.#ask('counters')).counters ?? {};
    const out = {} as ChanceCounters;
    for (const name of CHANCE_COUNTERS) {
      if (typeof raw[name] !== 'number') throw new BpfLoadError(`Expected counter ${name} from the loader but it sent ${JSON.stringify(raw)}: loader and TypeScript built from other sources`);
      out[name] = raw[name];
    }
    return out;
  }

  /** Runs `frame` through the program (BPF_PROG_TEST_RUN): its XDP action and the frame after. */
  async testRun(frame: Uint8Array): Promise<{ action: number; frame: Uint8Array }> {
    const a = await this.#ask(`run ${Buffer.from(frame).toString('hex')}`);
    return { action: a.retval!, frame: new Uint8Array(Buffer.from(a.out ?? '', 'hex')) };
  }

  /** Detaches the program (the loader's link goes with it) and ends the loader. */
  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('close', () => resolve()));
    this.#child.stdin!.end();
    await exited;
  }
}
