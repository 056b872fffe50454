// Command line of the soft-unicast router: flags -> RouterCli, usage text, and the loopback
// listen address of the Prometheus endpoint. Pure (no I/O); main.ts and its unit test use it.
import { isIPv4, isIPv6 } from 'node:net';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { IPv6 } from 'ip-num';

import { describe } from '../../src/errors.js';
import { checkEndpoints, layoutOf } from '../../src/index.js';
import { parseSlices, SLICES_FLAGS, type SlicesCli } from './slices-cli.js';
import { PROGRAM, USAGE } from './usage.js';
import { UsageError } from './usage-error.js';

export { PROGRAM, USAGE };

/** Where the Prometheus endpoint listens: always a loopback address. */
export interface Listen {
  /** '127.0.0.1', '::1', ...: as node:http's listen() takes it. */
  address: string;
  port: number;
}

export type LogFormat = 'text' | 'json';

/** Where the deployment comes from when it is not a file: etcd's client URLs and the key prefix. */
export interface EtcdCli {
  endpoints: string[];
  prefix: string;
}

export interface RouterCli {
  /** The configuration file; '' when the deployment comes from etcd. */
  config: string;
  /** Set when the deployment comes from etcd (--etcd, --prefix) instead of a file. */
  etcd?: EtcdCli;
  /** The server of the file this router runs on. */
  host: string;
  check: boolean;
  json: boolean;
  /** Set only when given on the command line: the file's stats section is the default. */
  statsInterval?: number;
  prometheus?: Listen;
  /** Reload when the file changes (SIGHUP always reloads). */
  watch: boolean;
  logFormat: LogFormat;
  /** The control socket's path (controlSocketPath(host) unless given). */
  socket: string;
  /** Start a drop capture into this pcapng file at once. */
  captureDrops?: string;
  captureSeconds?: number;
  captureMaxBytes?: number;
  /** Which lane finishes packets (Router option `lane`). */
  lane: 'auto' | 'afxdp';
  /**
   * Where the XDP program is pinned (pinDir(interface) unless given), or false with --no-pin:
   * then it leaves the interface with the process.
   */
  pinDir?: string | false;
  /** Unpin and detach what an earlier router left on the interface, then exit. */
  detach: boolean;
}

/** The directory a router pins its XDP program in unless told otherwise: one per server and interface (the host name keeps routers of one machine apart, as in the demo). */
export function pinDirFor(host: string, ifname: string): string {
  return `/sys/fs/bpf/softunicast/${host}/${ifname}`;
}

/** A command for a running router, sent over its control socket. */
export type ControlCommand =
  | { cmd: 'owner'; address: string; protocol: string; port: number }
  | { cmd: 'explain'; frames: string[] }
  | { cmd: 'explain'; pcap: string }
  | { cmd: 'stats' }
  | { cmd: 'capture'; action: 'start'; path: string; seconds?: number; maxBytes?: number; maxPackets?: number; snaplen?: number }
  | { cmd: 'capture'; action: 'stop' | 'status' }
  | { cmd: 'health' }
  | { cmd: 'health'; owner: string; setting: 'up' | 'down' | 'auto' };

export interface ControlCli {
  socket: string;
  json: boolean;
  command: ControlCommand;
}

export type CliResult =
  | { kind: 'help' } | { kind: 'version' } | { kind: 'run'; cli: RouterCli } | { kind: 'control'; cli: ControlCli } | { kind: 'slices'; cli: SlicesCli };

export { UsageError };

/** Where a router listens for commands unless told otherwise: one socket per server name. */
export function controlSocketPath(host: string): string {
  return `/run/softunicast/${host}.sock`;
}

const OPTIONS = {
  config: { type: 'string' },
  etcd: { type: 'string' },
  prefix: { type: 'string' },
  host: { type: 'string' },
  check: { type: 'boolean' },
  json: { type: 'boolean' },
  'stats-interval': { type: 'string' },
  prometheus: { type: 'string' },
  'no-watch': { type: 'boolean' },
  'log-format': { type: 'string' },
  socket: { type: 'string' },
  'capture-drops': { type: 'string' },
  'capture-seconds': { type: 'string' },
  'capture-max-bytes': { type: 'string' },
  lane: { type: 'string' },
  'pin-dir': { type: 'string' },
  'no-pin': { type: 'boolean' },
  detach: { type: 'boolean' },
  version: { type: 'boolean' },
  help: { type: 'boolean' },
  // Arguments of the commands.
  pcap: { type: 'string' },
  seconds: { type: 'string' },
  'max-bytes': { type: 'string' },
  'max-packets': { type: 'string' },
  snaplen: { type: 'string' },
  to: { type: 'string' },
  from: { type: 'string' },
  at: { type: 'string' },
  protocols: { type: 'string' },
  owner: { type: 'string' },
  destination: { type: 'string' },
  replace: { type: 'boolean' },
} as const;
type Name = keyof typeof OPTIONS;

/** Flags each mode takes; anything else is refused by name. */
const RUN_FLAGS: readonly Name[] = [
  'config', 'etcd', 'prefix', 'host', 'check', 'json', 'stats-interval', 'prometheus', 'no-watch', 'log-format', 'socket', 'capture-drops',
  'capture-seconds', 'capture-max-bytes', 'lane', 'pin-dir', 'no-pin', 'detach', 'version', 'help',
];
const COMMAND_FLAGS: Readonly<Record<string, readonly Name[]>> = {
  owner: ['host', 'socket', 'json'],
  explain: ['host', 'socket', 'json', 'pcap'],
  stats: ['host', 'socket', 'json'],
  'capture-drops': ['host', 'socket', 'json', 'seconds', 'max-bytes', 'max-packets', 'snaplen'],
  health: ['host', 'socket', 'json'],
};

const KNOWN = RUN_FLAGS.map((n) => `--${n}`).join(', ');
const LISTEN_EXPECTED = "a port, or a loopback address and port such as '127.0.0.1:9464' or '[::1]:9464'";

/** 127.0.0.0/8 or ::1: the endpoint has no authentication, so it never leaves this host. */
export function isLoopback(address: string): boolean {
  if (isIPv4(address)) return address.startsWith('127.');
  return isIPv6(address) && IPv6.fromString(address).getValue() === 1n;
}

/** '9464', '127.0.0.1:9464' or '[::1]:9464' -> a Listen; `what` names the flag in errors. */
export function parseListen(text: string, what: string): Listen {
  const fail = (extra = ''): never => {
    throw new UsageError(`Expected ${LISTEN_EXPECTED}${extra} for ${what} but received ${describe(text)}`);
  };
  const m = /^(?:(?:\[([^\]]+)\]|([^:[\]]+)):)?(\d{1,5})$/.exec(text);
  if (m === null) return fail();
  const address = m[1] ?? m[2] ?? '127.0.0.1';
  if (m[1] !== undefined ? !isIPv6(address) : !isIPv4(address)) return fail();
  if (!isLoopback(address)) return fail(' (the endpoint has no authentication: loopback only)');
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return fail();
  return { address, port };
}

/** Seconds between stats lines, as the file's stats.intervalSeconds allows them. */
function parseInterval(text: string): number {
  const seconds = /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : NaN;
  if (!(seconds > 0) || seconds > 3600) throw new UsageError(`Expected a number of seconds above 0, at most 3600 for --stats-interval but received ${describe(text)}`);
  return seconds;
}

/** A whole number from 1 to `max` given to flag `name`. */
function count(text: string, name: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= max)) throw new UsageError(`Expected a whole number from 1 to ${max} for --${name} but received ${describe(text)}`);
  return n;
}

type Values = Partial<Record<Name, string | true>>;

/** The flags and positional words of argv, each flag checked for its type and given once. */
function tokenize(argv: readonly string[]): { values: Values; words: string[] } {
  // strict: false and tokens: our own checks name the flag in the house style, where node's
  // messages would suggest '--' tricks; a string flag followed by another flag is a missing value.
  const { tokens } = parseArgs({ args: [...argv], options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const values: Values = {};
  const words: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') {
      words.push(t.value);
      continue;
    }
    if (t.kind === 'option-terminator') continue;
    // Short flags are not defined: '-c' would be a guess at what the user meant.
    if (!Object.hasOwn(OPTIONS, t.name) || !t.rawName.startsWith('--')) throw new UsageError(`Unknown option ${t.rawName} (options: ${KNOWN})`);
    const name = t.name as Name;
    if (values[name] !== undefined) throw new UsageError(`Option --${name} given twice`);
    if (OPTIONS[name].type === 'boolean') {
      if (t.value !== undefined) throw new UsageError(`Option --${name} takes no value but received ${describe(t.value)}`);
      values[name] = true;
    } else {
      if (t.value === undefined || (!t.inlineValue && t.value.startsWith('--'))) {
        throw new UsageError(`Option --${name} needs a value${t.value === undefined ? '' : ` but was followed by the option ${t.value}`}`);
      }
      if (t.value === '') throw new UsageError(`Option --${name} needs a value but received ''`);
      values[name] = t.value;
    }
  }
  return { values, words };
}

function onlyFlags(values: Values, allowed: readonly Name[], mode: string): void {
  for (const name of Object.keys(values) as Name[]) {
    if (!allowed.includes(name)) throw new UsageError(`Option --${name} does not apply to ${mode} (options: ${allowed.map((n) => `--${n}`).join(', ')})`);
  }
}

function controlCommand(word: string, args: string[], values: Values): ControlCommand {
  const usage = (expected: string): never => {
    throw new UsageError(`Expected ${expected} for the command ${word} but received ${args.length === 0 ? 'nothing' : args.map((a) => describe(a)).join(' ')}`);
  };
  if (word === 'owner') {
    if (args.length !== 3) usage("ADDRESS tcp|udp PORT, e.g. 'owner 192.0.2.1 tcp 5000'");
    const [address, protocol, port] = args as [string, string, string];
    if (!isIPv4(address) && !isIPv6(address)) usage('an IPv4 or IPv6 address first');
    if (protocol !== 'tcp' && protocol !== 'udp') usage("'tcp' or 'udp' second");
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) usage('a port from 0 to 65535 third');
    return { cmd: 'owner', address, protocol, port: Number(port) };
  }
  if (word === 'explain') {
    if (values.pcap !== undefined) {
      if (args.length > 0) usage('no frames besides --pcap');
      return { cmd: 'explain', pcap: values.pcap as string };
    }
    if (args.length === 0) usage('one or more frames as hex digits, or --pcap FILE');
    for (const a of args) if (!/^([0-9a-fA-F]{2})+$/.test(a)) usage('frames as an even number of hex digits each');
    return { cmd: 'explain', frames: args };
  }
  if (word === 'stats') {
    if (args.length > 0) usage('no arguments');
    return { cmd: 'stats' };
  }
  if (word === 'health') {
    if (args.length === 0) return { cmd: 'health' };
    const [owner, setting] = args;
    if (args.length !== 2 || (setting !== 'up' && setting !== 'down' && setting !== 'auto')) usage("nothing, or OWNER up|down|auto, e.g. 'health fra2 down'");
    return { cmd: 'health', owner: owner!, setting: setting as 'up' | 'down' | 'auto' };
  }
  const [action, path, ...rest] = args;
  if (action === 'stop' || action === 'status') {
    if (path !== undefined) usage(`no arguments after ${action}`);
    return { cmd: 'capture', action };
  }
  if (action !== 'start' || path === undefined || rest.length > 0) usage("'start FILE', 'stop' or 'status'");
  return {
    cmd: 'capture', action: 'start', path: resolve(path!),
    ...(values.seconds !== undefined && { seconds: count(values.seconds as string, 'seconds') }),
    ...(values['max-bytes'] !== undefined && { maxBytes: count(values['max-bytes'] as string, 'max-bytes') }),
    ...(values['max-packets'] !== undefined && { maxPackets: count(values['max-packets'] as string, 'max-packets') }),
    ...(values.snaplen !== undefined && { snaplen: count(values.snaplen as string, 'snaplen', 9216) }),
  };
}

/** --etcd and --prefix, each checked, or undefined when neither is given. */
function etcdOf(values: Values): EtcdCli | undefined {
  if (values.etcd === undefined && values.prefix === undefined) return undefined;
  if (values.etcd === undefined) throw new UsageError('Option --prefix needs --etcd URL: the etcd holding the deployment');
  if (values.prefix === undefined) throw new UsageError("Option --etcd needs --prefix PREFIX: the deployment's key prefix, e.g. /softunicast/prod");
  // The library's checks, their messages naming the flags.
  try {
    const endpoints = checkEndpoints(values.etcd, '--etcd');
    layoutOf(values.prefix, '--prefix');
    return { endpoints, prefix: values.prefix as string };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Where the deployment comes from: --config FILE, or --etcd and --prefix (then returned). */
function deploymentOf(values: Values): EtcdCli | undefined {
  const etcd = etcdOf(values);
  if (etcd !== undefined && values.config !== undefined) throw new UsageError('Options --config and --etcd exclude each other: the deployment comes from a file or from etcd');
  if (values.config === undefined && etcd === undefined) throw new UsageError('Option --config or --etcd is required: the configuration file to run, or the etcd holding the deployment');
  // The format comes from the extension: a wrong one is a bad flag, found before any reading.
  if (values.config !== undefined && !/\.(json|ya?ml)$/i.test(values.config as string)) {
    throw new UsageError(`Expected a file name ending in .json, .yaml or .yml for --config but received ${describe(values.config)}`);
  }
  return etcd;
}

/**
 * Reads the command line (without node and the script). Throws UsageError naming the flag for
 * unknown flags, missing or stray values, flags given twice and bad values.
 */
export function parseCli(argv: readonly string[], defaultHost: () => string = hostname): CliResult {
  const { values, words } = tokenize(argv);
  const host = (values.host as string | undefined) ?? defaultHost();
  const socket = (values.socket as string | undefined) ?? controlSocketPath(host);
  const first = words[0];
  if (first === 'slices') {
    onlyFlags(values, SLICES_FLAGS as readonly Name[], 'the command slices');
    return { kind: 'slices', cli: parseSlices(words.slice(1), values, (v) => etcdOf(v as Values)) };
  }
  if (first !== undefined && Object.hasOwn(COMMAND_FLAGS, first)) {
    onlyFlags(values, COMMAND_FLAGS[first]!, `the command ${first}`);
    return { kind: 'control', cli: { socket, json: values.json === true, command: controlCommand(first, words.slice(1), values) } };
  }
  if (first !== undefined) throw new UsageError(`Unexpected argument ${describe(first)}: a command is one of ${[...Object.keys(COMMAND_FLAGS), 'slices'].join(', ')}, and every option is a flag (${KNOWN})`);
  onlyFlags(values, RUN_FLAGS, 'running the router');
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };
  const etcd = deploymentOf(values);
  const format = (values['log-format'] as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`Expected 'text' or 'json' for --log-format but received ${describe(format)}`);
  const cli: RouterCli = {
    config: (values.config as string | undefined) ?? '',
    ...(etcd !== undefined && { etcd }),
    host,
    check: values.check === true,
    json: values.json === true,
    watch: values['no-watch'] !== true,
    logFormat: format,
    socket,
    lane: 'auto',
    detach: values.detach === true,
  };
  const lane = values.lane as string | undefined;
  if (lane !== undefined) {
    if (lane !== 'auto' && lane !== 'afxdp') throw new UsageError(`Expected 'auto' or 'afxdp' for --lane but received ${describe(lane)}`);
    cli.lane = lane;
  }
  if (values['pin-dir'] !== undefined && values['no-pin'] !== undefined) throw new UsageError('Options --pin-dir and --no-pin exclude each other');
  if (values['pin-dir'] !== undefined) {
    const dir = values['pin-dir'] as string;
    if (!dir.startsWith('/')) throw new UsageError(`Expected an absolute directory for --pin-dir but received ${describe(dir)}`);
    cli.pinDir = dir;
  }
  if (values['no-pin'] === true) {
    if (cli.detach) throw new UsageError('Option --detach removes what was pinned: it does not go with --no-pin');
    cli.pinDir = false;
  }
  if (cli.detach && cli.check) throw new UsageError('Options --detach and --check exclude each other');
  if (values['stats-interval'] !== undefined) cli.statsInterval = parseInterval(values['stats-interval'] as string);
  if (values.prometheus !== undefined) cli.prometheus = parseListen(values.prometheus as string, '--prometheus');
  if (values['capture-drops'] !== undefined) cli.captureDrops = resolve(values['capture-drops'] as string);
  for (const [flag, key] of [['capture-seconds', 'captureSeconds'], ['capture-max-bytes', 'captureMaxBytes']] as const) {
    if (values[flag] === undefined) continue;
    if (cli.captureDrops === undefined) throw new UsageError(`Option --${flag} needs --capture-drops FILE`);
    cli[key] = count(values[flag] as string, flag);
  }
  return { kind: 'run', cli };
}
