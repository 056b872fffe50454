// Command line of the load-balancer example: which file, which host, --check, logs and stats.
// Used by main.ts; errors name the bad argument and what was expected.
import { InvalidOptionError } from 'softunicast';

export interface Cli {
  readonly config: string;
  readonly host: string;
  readonly check: boolean;
  readonly logFormat: 'text' | 'json';
  /** Seconds between stats lines on stdout; the file's stats.intervalSeconds unless set. */
  readonly statsInterval: number | undefined;
  readonly lane: 'auto' | 'afxdp';
}

export const USAGE = `Usage: load-balancer --config FILE --host NAME [--check] [--log-format text|json]
                     [--stats-interval SECONDS] [--lane auto|afxdp]

Runs the router of server NAME with the flow-hash services of FILE (YAML or JSON, the format of
soft-unicast-router with a services section), checks their backends and rebuilds the rows with
second chance on every change. SIGHUP reloads FILE. --check validates FILE and prints the
services of NAME instead.`;

function bad(what: string, expected: string, received: unknown): never {
  throw new InvalidOptionError(`Expected ${expected} for ${what} but received ${JSON.stringify(received)}`);
}

/** Parses `argv` (without node and the script); throws InvalidOptionError naming the argument. */
export function parseCli(argv: readonly string[]): Cli {
  const values = new Map<string, string>();
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--check') {
      check = true;
      continue;
    }
    if (!['--config', '--host', '--log-format', '--stats-interval', '--lane'].includes(arg)) bad('an argument', 'one of --config, --host, --check, --log-format, --stats-interval, --lane', arg);
    const value = argv[++i];
    if (value === undefined) bad(arg, 'a value', undefined);
    values.set(arg, value);
  }
  const config = values.get('--config') ?? bad('--config', 'the configuration file', undefined);
  const host = values.get('--host') ?? bad('--host', 'the name of a server of the file', undefined);
  const logFormat = values.get('--log-format') ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') bad('--log-format', "'text' or 'json'", logFormat);
  const lane = values.get('--lane') ?? 'auto';
  if (lane !== 'auto' && lane !== 'afxdp') bad('--lane', "'auto' or 'afxdp'", lane);
  const interval = values.get('--stats-interval');
  const statsInterval = interval === undefined ? undefined : Number(interval);
  if (statsInterval !== undefined && !(statsInterval > 0 && statsInterval <= 3600)) bad('--stats-interval', 'seconds above 0, at most 3600', interval);
  return { config, host, check, logFormat, statsInterval, lane };
}
