// What `--check` prints: one server's compiled table as text or one JSON document, built from a
// validated Config without touching any interface. main.ts uses it for --check and for the
// startup progress lines.
import {
  compileTable, describeTable, formatProblem, formatTable, routerOptionsFor, rowJson,
  type CompileStats, type Config, type ConfigProblem, type InvalidConfigError, type RouterOptions,
} from '../../src/index.js';

export interface CheckReport {
  options: RouterOptions;
  stats: CompileStats;
  /** Milliseconds spent building and compiling the table. */
  compileMs: number;
}

/**
 * Builds `host`'s table and compiles it as its router would. The compile stats (keys, ranges,
 * rules) do not depend on the interface's MAC address and MTU, so placeholders stand in for
 * them here; what they would reject (the XDP program's limits, a peer of a family this host has
 * no address of) fails the same way. `built`: routerOptionsFor(config, host) when made already.
 */
export function compileFor(config: Config, host: string, built?: RouterOptions): CheckReport {
  const start = performance.now();
  // The etcd source built the table already: not twice for a million slices.
  const options = built ?? routerOptionsFor(config, host);
  const { stats } = compileTable(options.table, { ...options.host, mac: '02:00:00:00:00:00', mtu: 1500 }, { generation: 0 });
  return { options, stats, compileMs: performance.now() - start };
}

/** "1 slice", "2 slices". */
export const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** "40 slices, 4 owners, 6 keys, 40 ranges, 3 trusted peers, 2 peers, 1234 bytes". */
export function statsText(s: CompileStats): string {
  const n = count;
  return [
    n(s.slices, 'slice'), n(s.owners, 'owner'), n(s.keys, 'key'), n(s.ranges, 'range'), n(s.trustedPeers, 'trusted peer'),
    n(s.peers, 'server', 'servers') + ' of this data centre', n(s.bytes, 'byte'),
  ].join(', ');
}

/** "eth0 (queues all, attach driver)": the interface and the options the file sets for it. */
export function interfaceText(port: RouterOptions['port']): string {
  const { interface: name, ...rest } = port;
  const set = Object.entries(rest).map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return set.length === 0 ? name : `${name} (${set.join(', ')})`;
}

/** The text --check prints for a valid file. */
export function checkText(config: Config, host: string, file: string): string {
  const { options, stats } = compileFor(config, host);
  const dc = config.servers.get(host)!.datacenter;
  return [
    `${file} is valid. The table of ${host}, data centre ${dc}, on interface ${interfaceText(options.port)}:`,
    formatTable(describeTable(config, host)),
    `compiled: ${statsText(stats)}`,
    '',
  ].join('\n');
}

/** The document --check --json prints for a valid file. */
export function checkJson(config: Config, host: string, file: string): Record<string, unknown> {
  const { options, stats } = compileFor(config, host);
  const prometheus = config.stats.prometheus;
  return {
    valid: true,
    file,
    host,
    datacenter: config.servers.get(host)!.datacenter,
    interface: options.port,
    stats: {
      intervalSeconds: config.stats.intervalSeconds,
      // RFC 5952 text, as a URL would carry it.
      ...(prometheus !== undefined && { prometheus: listenText(prometheus.address.toString(), prometheus.port) }),
    },
    compiled: stats,
    warnings: config.warnings,
    rows: describeTable(config, host).map(rowJson),
  };
}

/** One line per warning, as compilers print them: "FILE:LINE:COL: warning: ...". */
export function warningLines(warnings: readonly ConfigProblem[], file: string): string[] {
  return warnings.map((w) => formatProblem(w, file));
}

/**
 * What --check prints for a file with problems: a head line, then every problem (not only the
 * 50 the error's message lists) and every warning, one line each.
 */
export function invalidLines(error: InvalidConfigError, file: string): string[] {
  const total = error.problems.length + error.omitted;
  const lines = [`${file} is not valid: ${count(total, 'problem')}`, ...error.problems.map((p) => formatProblem(p, file))];
  if (error.omitted > 0) lines.push(`... and ${error.omitted} more`);
  return [...lines, ...warningLines(error.warnings, file)];
}

/** '127.0.0.1:9464' or '[::1]:9464'. */
export function listenText(address: string, port: number): string {
  const short = address.includes(':') ? shortIPv6(address) : address;
  return short.includes(':') ? `[${short}]:${port}` : `${short}:${port}`;
}

/** ip-num prints '0:0:0:0:0:0:0:1'; people and URLs write '::1'. */
function shortIPv6(text: string): string {
  // URL's host parser gives the RFC 5952 form.
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}
