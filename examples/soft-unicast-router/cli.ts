// Command line of the soft-unicast router: flags -> RouterCli, usage text, and the loopback
// listen address of the Prometheus endpoint. Pure (no I/O); main.ts and its unit test use it.
import { isIPv4, isIPv6 } from 'node:net';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';

import { IPv6 } from 'ip-num';

import { describe } from '../../src/errors.js';

export const PROGRAM = 'soft-unicast-router';

/** Where the Prometheus endpoint listens: always a loopback address. */
export interface Listen {
  /** '127.0.0.1', '::1', ...: as node:http's listen() takes it. */
  address: string;
  port: number;
}

export interface RouterCli {
  config: string;
  /** The server of the file this router runs on. */
  host: string;
  check: boolean;
  json: boolean;
  /** Set only when given on the command line: the file's stats section is the default. */
  statsInterval?: number;
  prometheus?: Listen;
  /** Reload when the file changes (SIGHUP always reloads). */
  watch: boolean;
}

export type CliResult = { kind: 'help' } | { kind: 'run'; cli: RouterCli };

/** A bad command line: main.ts prints the message and exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `Usage: ${PROGRAM} --config FILE [--host NAME] [options]

Runs the soft-unicast router of one server: attaches to the interface the configuration file
gives that server, steers packets of shared addresses by port slice, and reloads the file on
SIGHUP and when it changes. SIGINT or SIGTERM detaches and exits.

Options:
  --config FILE              the configuration file (.yaml, .yml or .json)
  --host NAME                the server of the file this router runs on
                             (default: this machine's host name)
  --check                    validate the whole file and print this server's compiled table;
                             touches no interface, needs no privileges
  --json                     machine output: one JSON document for --check, one JSON object a
                             line per stats interval when running
  --stats-interval SECONDS   seconds between stats lines (default: the file's
                             stats.intervalSeconds, else 5)
  --prometheus ADDR:PORT     serve Prometheus text at http://ADDR:PORT/metrics; loopback only,
                             e.g. 127.0.0.1:9464, [::1]:9464 or a port alone (default: the
                             file's stats.prometheus, else off)
  --no-watch                 reload on SIGHUP only, not when the file changes
  --help                     show this text

Exit status: 0 success (and --check: the file is valid), 1 an invalid file or a failure,
2 a bad command line.`;

const OPTIONS = {
  config: { type: 'string' },
  host: { type: 'string' },
  check: { type: 'boolean' },
  json: { type: 'boolean' },
  'stats-interval': { type: 'string' },
  prometheus: { type: 'string' },
  'no-watch': { type: 'boolean' },
  help: { type: 'boolean' },
} as const;
type Name = keyof typeof OPTIONS;

const KNOWN = Object.keys(OPTIONS).map((n) => `--${n}`).join(', ');
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

/**
 * Reads the command line (without node and the script). Throws UsageError naming the flag for
 * unknown flags, missing or stray values, flags given twice and bad values.
 */
export function parseCli(argv: readonly string[], defaultHost: () => string = hostname): CliResult {
  // strict: false and tokens: our own checks name the flag in the house style, where node's
  // messages would suggest '--' tricks; a string flag followed by another flag is a missing value.
  const { tokens } = parseArgs({ args: [...argv], options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const values: Partial<Record<Name, string | true>> = {};
  for (const t of tokens) {
    if (t.kind === 'positional') throw new UsageError(`Unexpected argument ${describe(t.value)}: every option is a flag (${KNOWN})`);
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
  if (values.help === true) return { kind: 'help' };
  if (values.config === undefined) throw new UsageError('Option --config is required: the configuration file to run');
  // The format comes from the extension: a wrong one is a bad flag, found before any reading.
  if (!/\.(json|ya?ml)$/i.test(values.config as string)) {
    throw new UsageError(`Expected a file name ending in .json, .yaml or .yml for --config but received ${describe(values.config)}`);
  }
  const cli: RouterCli = {
    config: values.config as string,
    host: (values.host as string | undefined) ?? defaultHost(),
    check: values.check === true,
    json: values.json === true,
    watch: values['no-watch'] !== true,
  };
  if (values['stats-interval'] !== undefined) cli.statsInterval = parseInterval(values['stats-interval'] as string);
  if (values.prometheus !== undefined) cli.prometheus = parseListen(values.prometheus as string, '--prometheus');
  return { kind: 'run', cli };
}
