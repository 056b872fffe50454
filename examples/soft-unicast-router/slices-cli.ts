// The `slices` command line: list, move, split and load the slices of a deployment in etcd.
// Pure (no I/O): cli.ts hands it the words and flags; slices-command.ts carries it out.
import { describe } from '../../src/errors.js';
import { UsageError } from './usage-error.js';

export type SlicesCommand =
  | { action: 'list'; owner?: string; destination?: string }
  | { action: 'move'; destination: string; ports: string; to: string; from?: string; protocols?: ('tcp' | 'udp')[] }
  | { action: 'split'; destination: string; ports: string; at: number; from?: string; protocols?: ('tcp' | 'udp')[] }
  | { action: 'load'; config: string; replace: boolean };

export interface SlicesCli {
  endpoints: string[];
  prefix: string;
  json: boolean;
  command: SlicesCommand;
}

/** Flags the slices command takes (cli.ts refuses others by name). */
export const SLICES_FLAGS = ['etcd', 'prefix', 'json', 'to', 'from', 'at', 'protocols', 'owner', 'destination', 'config', 'replace'] as const;

/** Per action, the flags that apply besides --etcd, --prefix and --json. */
const ACTION_FLAGS: Record<SlicesCommand['action'], readonly string[]> = {
  list: ['owner', 'destination'],
  move: ['to', 'from', 'protocols'],
  split: ['at', 'from', 'protocols'],
  load: ['config', 'replace'],
};

export const SLICES_USAGE = `Commands for a deployment in etcd (each with --etcd URL --prefix PREFIX [--json]):
  slices list [--owner NAME] [--destination ADDRESS]
                                 every slice with its owner and the revision of its key
  slices move ADDRESS PORTS --to NAME [--from NAME] [--protocols tcp,udp]
                                 give one slice (PORTS exactly, e.g. 2048-4095) to server
                                 NAME, if it is still owned by --from (default: the owner
                                 read first): a compare-and-swap; exit 3 if another writer
                                 moved it first
  slices split ADDRESS PORTS --at PORT [--from NAME] [--protocols tcp,udp]
                                 cut one slice in two; the second half starts at PORT
  slices load --config FILE [--replace]
                                 put a configuration file's deployment under PREFIX (refused
                                 if it holds keys, unless --replace); routers take it whole`;

type Values = Partial<Record<string, string | true>>;

const usage = (expected: string, args: readonly string[]): never => {
  throw new UsageError(`Expected ${expected} for the command slices but received ${args.length === 0 ? 'nothing' : args.map((a) => describe(a)).join(' ')}`);
};

function protocolsOf(text: string | true | undefined): ('tcp' | 'udp')[] | undefined {
  if (text === undefined) return undefined;
  const list = String(text).split(',');
  if (list.length === 0 || list.length > 2 || new Set(list).size !== list.length || list.some((p) => p !== 'tcp' && p !== 'udp')) {
    throw new UsageError(`Expected 'tcp', 'udp' or 'tcp,udp' for --protocols but received ${describe(text)}`);
  }
  return list as ('tcp' | 'udp')[];
}

const text = (v: string | true | undefined): string | undefined => (v === undefined ? undefined : String(v));

/**
 * Reads `slices ACTION ...`: `words` after 'slices', `values` the flags given; `etcdOf` checks
 * --etcd and --prefix (cli.ts). Throws UsageError naming what is wrong.
 */
export function parseSlices(words: readonly string[], values: Values, etcdOf: (values: Values) => { endpoints: string[]; prefix: string } | undefined): SlicesCli {
  const [action, ...args] = words;
  if (action !== 'list' && action !== 'move' && action !== 'split' && action !== 'load') return usage("an action 'list', 'move', 'split' or 'load'", words);
  for (const flag of Object.keys(values)) {
    if (!['etcd', 'prefix', 'json', ...ACTION_FLAGS[action]].includes(flag)) {
      throw new UsageError(`Option --${flag} does not apply to slices ${action} (options: --etcd, --prefix, --json${ACTION_FLAGS[action].map((f) => `, --${f}`).join('')})`);
    }
  }
  const etcd = etcdOf(values);
  if (etcd === undefined) throw new UsageError('The command slices needs --etcd URL and --prefix PREFIX: where the deployment is');
  const at = { ...etcd, json: values.json === true };
  if (action === 'list' || action === 'load') {
    if (args.length > 0) usage(`no arguments after ${action} (flags only)`, args);
    if (action === 'list') {
      const owner = text(values.owner);
      const destination = text(values.destination);
      return { ...at, command: { action, ...(owner !== undefined && { owner }), ...(destination !== undefined && { destination }) } };
    }
    if (values.config === undefined) throw new UsageError('The command slices load needs --config FILE: the configuration file to load');
    return { ...at, command: { action, config: String(values.config), replace: values.replace === true } };
  }
  if (args.length !== 2) usage(`ADDRESS PORTS after ${action}, e.g. 'slices ${action} 192.0.2.1 2048-4095'`, args);
  const [destination, ports] = args as [string, string];
  if (!/^\d{1,5}(-\d{1,5})?$/.test(ports)) usage("PORTS as a port or a range such as '2048-4095' second", args);
  const from = text(values.from);
  const protocols = protocolsOf(values.protocols);
  const common = { destination, ports, ...(from !== undefined && { from }), ...(protocols !== undefined && { protocols }) };
  if (action === 'move') {
    if (values.to === undefined) throw new UsageError('The command slices move needs --to NAME: the server the slice goes to');
    return { ...at, command: { action, ...common, to: String(values.to) } };
  }
  const port = /^\d{1,5}$/.test(String(values.at)) ? Number(values.at) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new UsageError(`Expected a port from 1 to 65535 (where the second half starts) for --at but received ${describe(values.at)}`);
  return { ...at, command: { action, ...common, at: port } };
}
