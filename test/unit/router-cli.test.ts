// The router binary without root: its command line, --check on good and broken files (output and
// exit status of the built binary), stats lines from two counter snapshots, Prometheus text, and
// live reload against a fake router. Runs dist/: build first (`npm test` does; or
// `flock /tmp/su-build.lock bash scripts/bootstrap.sh`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { parseCli, parseListen, USAGE, UsageError } from '../../examples/soft-unicast-router/cli.js';
import { renderMetrics } from '../../examples/soft-unicast-router/prometheus.js';
import { Reloader, readConfig, type Publisher } from '../../examples/soft-unicast-router/reload.js';
import { statsBetween, statsJson, statsLine, type Sample } from '../../examples/soft-unicast-router/stats.js';
import { ABI } from '../../src/generated/abi.js';
import { describeTable, formatTable, type RouterCounters, type SliceTable } from '../../src/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'dist/examples/soft-unicast-router/main.js');
const EXAMPLE = 'examples/soft-unicast-router/example.yaml';
const HELP_HINT = "soft-unicast-router: run 'soft-unicast-router --help' for usage\n";
const KNOWN = '--config, --host, --check, --json, --stats-interval, --prometheus, --no-watch, --help';

const dir = mkdtempSync(join(tmpdir(), 'su-router-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the built binary from the repository root. */
function router(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** A small deployment: one data centre, the router on srv, and peer. */
const SMALL = `version: 1
datacenters:
  dc1:
    servers:
      srv: { ipv4: 10.7.0.1, interface: { name: eth0, attach: generic } }
      peer: { ipv4: 10.7.0.2 }
egress:
  - address: 192.0.2.1
    protocols: [udp]
    tags: { country: de }
    slices:
      - { ports: 10000-10999, owner: srv }
      - { ports: 20000-20999, owner: peer }
stats: { intervalSeconds: 2, prometheus: '[::1]:9500' }
`;

describe('the command line', () => {
  const host = () => 'this-machine';

  it('reads every flag; the host defaults to the machine\'s name, the file stats section stays the default', () => {
    expect(parseCli(['--config', 'r.yaml'], host)).toEqual({
      kind: 'run',
      cli: { config: 'r.yaml', host: 'this-machine', check: false, json: false, watch: true },
    });
    expect(parseCli(['--config=r.json', '--host', 'fra1', '--check', '--json', '--stats-interval', '0.5', '--prometheus', '[::1]:9464', '--no-watch'], host)).toEqual({
      kind: 'run',
      cli: { config: 'r.json', host: 'fra1', check: true, json: true, watch: false, statsInterval: 0.5, prometheus: { address: '::1', port: 9464 } },
    });
    expect(parseCli(['--help'], host)).toEqual({ kind: 'help' });
    expect(parseCli(['--config', 'r.yml', '--help'], host)).toEqual({ kind: 'help' });
  });

  it.each([
    [[], 'Option --config is required: the configuration file to run'],
    [['--config'], 'Option --config needs a value'],
    [['--config', '--check'], 'Option --config needs a value but was followed by the option --check'],
    [['--config='], "Option --config needs a value but received ''"],
    [['--config', 'a.yaml', '--config', 'b.yaml'], 'Option --config given twice'],
    [['--config', 'a.yaml', '--check=yes'], "Option --check takes no value but received 'yes'"],
    [['--config', 'a.yaml', '--verbose'], `Unknown option --verbose (options: ${KNOWN})`],
    [['-c', 'a.yaml'], `Unknown option -c (options: ${KNOWN})`],
    [['--config', 'a.yaml', 'eth0'], `Unexpected argument 'eth0': every option is a flag (${KNOWN})`],
    [['--config', 'a.conf'], "Expected a file name ending in .json, .yaml or .yml for --config but received 'a.conf'"],
    [['--config', 'a.yaml', '--stats-interval', '0'], "Expected a number of seconds above 0, at most 3600 for --stats-interval but received '0'"],
    [['--config', 'a.yaml', '--stats-interval', '5s'], "Expected a number of seconds above 0, at most 3600 for --stats-interval but received '5s'"],
    [['--config', 'a.yaml', '--stats-interval', '3601'], "Expected a number of seconds above 0, at most 3600 for --stats-interval but received '3601'"],
  ])('refuses %j: %s', (argv, message) => {
    expect(() => parseCli(argv, host)).toThrow(new UsageError(message));
  });

  it('serves Prometheus on loopback only: a port alone, IPv4 127/8 or [::1]', () => {
    expect(parseListen('9464', 'x')).toEqual({ address: '127.0.0.1', port: 9464 });
    expect(parseListen('127.0.0.2:80', 'x')).toEqual({ address: '127.0.0.2', port: 80 });
    expect(parseListen('[::1]:9464', 'x')).toEqual({ address: '::1', port: 9464 });
    expect(parseListen('[0:0::1]:9464', 'x')).toEqual({ address: '0:0::1', port: 9464 });
    const expected = "Expected a port, or a loopback address and port such as '127.0.0.1:9464' or '[::1]:9464'";
    const loopbackOnly = ' (the endpoint has no authentication: loopback only)';
    for (const [text, extra] of [
      ['0.0.0.0:9464', loopbackOnly], ['[::]:9464', loopbackOnly], ['192.0.2.1:9464', loopbackOnly],
      ['::1:9464', ''], ['localhost:9464', ''], ['127.0.0.1', ''], ['127.0.0.1:0', ''], ['127.0.0.1:65536', ''], ['[127.0.0.1]:80', ''],
    ] as const) {
      expect(() => parseListen(text, '--prometheus'), text).toThrow(new UsageError(`${expected}${extra} for --prometheus but received '${text}'`));
    }
  });
});

describe('the binary: usage', () => {
  it('prints --help on stdout and exits 0', () => {
    expect(router('--help')).toEqual({ status: 0, stdout: `${USAGE}\n`, stderr: '' });
  });

  it.each([
    [['--check'], 'Option --config is required: the configuration file to run'],
    [['--config', EXAMPLE, '--check', '--bogus'], `Unknown option --bogus (options: ${KNOWN})`],
    [['--check', '--config'], 'Option --config needs a value'],
    [['--config', EXAMPLE, '--prometheus', '0.0.0.0:9464'], "Expected a port, or a loopback address and port such as '127.0.0.1:9464' or '[::1]:9464' (the endpoint has no authentication: loopback only) for --prometheus but received '0.0.0.0:9464'"],
  ])('exits 2 naming the flag for %j', (argv, message) => {
    expect(router(...argv)).toEqual({ status: 2, stdout: '', stderr: `soft-unicast-router: ${message}\n${HELP_HINT}` });
  });
});

describe('the binary: --check', () => {
  it('prints the compiled table of a small file, exactly', () => {
    const path = file('small.yaml', SMALL);
    expect(router('--check', '--config', path, '--host', 'srv')).toEqual({
      status: 0,
      stderr: '',
      stdout: [
        `${path} is valid. The table of srv, data centre dc1, on interface eth0 (attach generic):`,
        'DESTINATION  PROTOCOLS  PORTS        SERVER  OWNER  KIND    REACHED                     TAGS',
        '192.0.2.1    udp        10000-10999  srv     srv    local   kernel (this host)          country=de',
        '192.0.2.1    udp        20000-20999  peer    peer   server  gue0 to 10.7.0.2 port 6080  country=de',
        'compiled: 2 slices, 2 owners, 1 key, 2 ranges, 1 local rule, 2 capture rules, 2 trusted peers, 220 bytes',
        '',
      ].join('\n'),
    });
  });

  it('prints the example\'s table for each of its routers', async () => {
    const { config } = await readConfig(join(ROOT, EXAMPLE));
    for (const host of ['fra1', 'fra3', 'ams2']) {
      const r = router('--check', '--config', EXAMPLE, '--host', host);
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout.split('\n');
      expect(lines[0]).toMatch(new RegExp(`^${EXAMPLE} is valid\\. The table of ${host}, data centre (fra|ams), on interface eth0`));
      // The table is describeTable's, as formatTable prints it; then the compile stats.
      expect(lines.slice(1, -2).join('\n')).toBe(formatTable(describeTable(config, host)));
      expect(lines.at(-2)).toMatch(/^compiled: 11 slices, \d owners, 5 keys, \d+ ranges, \d local rules?, \d capture rules, 2 trusted peers, \d+ bytes$/);
    }
    expect(router('--check', '--config', EXAMPLE, '--host', 'fra1').stdout).toContain('\ncompiled: 11 slices, 4 owners, 5 keys, 15 ranges, 3 local rules, 5 capture rules, 2 trusted peers, 500 bytes\n');
  });

  it('prints one JSON document with --json: rows, compile stats, interface and stats settings', () => {
    const path = file('small-json.yaml', SMALL);
    const r = router('--check', '--json', '--config', path, '--host', 'srv');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      valid: true,
      file: path,
      host: 'srv',
      datacenter: 'dc1',
      interface: { interface: 'eth0', attach: 'generic' },
      stats: { intervalSeconds: 2, prometheus: '[::1]:9500' },
      compiled: { slices: 2, owners: 2, keys: 1, ranges: 2, trustedPeers: 2, localRules: 1, captureRules: 2, bytes: 220 },
      warnings: [],
      rows: [
        { destination: '192.0.2.1', protocols: ['udp'], ports: { from: 10000, to: 10999 }, server: 'srv', owner: 'srv', kind: 'local', reached: 'kernel (this host)', tags: { country: 'de' } },
        { destination: '192.0.2.1', protocols: ['udp'], ports: { from: 20000, to: 20999 }, server: 'peer', owner: 'peer', kind: 'server', reached: 'gue0 to 10.7.0.2 port 6080', tags: { country: 'de' } },
      ],
    });
  });

  it.each([
    [
      'a bad value, with its path, line and column',
      'bad-value.yaml', SMALL.replace('10000-10999', '10000-99999'),
      ["PATH:12:18: Expected ports from 0 to 65535 for egress[0].slices[0].ports but received '10000-99999'"],
    ],
    [
      'overlapping slices',
      'overlap.yaml', SMALL.replace('20000-20999', '10500-20999'),
      ["PATH:13:9: Slice 192.0.2.1 udp ports 10500-20999 of owner 'peer' (egress[0].slices[1]) overlaps slice 192.0.2.1 udp ports 10000-10999 of owner 'srv' (egress[0].slices[0]); slices of different owners must not cover the same packets"],
    ],
    [
      'an unknown key',
      'unknown-key.yaml', SMALL.replace('stats: {', 'stats: { every: 1, '),
      ['PATH:14:17: Expected no such key (known here: intervalSeconds, prometheus) for stats.every but received 1'],
    ],
    [
      'a non-loopback Prometheus address',
      'prometheus.yaml', SMALL.replace("'[::1]:9500'", '0.0.0.0:9500'),
      ["PATH:14:42: Expected a port, or a loopback address and port such as '127.0.0.1:9464' or '[::1]:9464' (the endpoint has no authentication: loopback only) for stats.prometheus but received '0.0.0.0:9500'"],
    ],
    [
      'a YAML syntax error',
      'syntax.yaml', SMALL.replace('    protocols: [udp]', '    protocols: [udp'),
      ['PATH:10:5: Expected valid YAML but received a syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]'],
    ],
    [
      'JSON cut short',
      'short.json', '{ "version": 1,\n  "datacenters": {',
      ["PATH:2:19: Expected valid JSON but received a syntax error: Expected property name or '}'"],
    ],
    [
      'three problems at once',
      'three.yaml', SMALL.replace('10000-10999', '10000-99999').replace('owner: peer', 'owner: nobody').replace('stats: {', 'stats: { every: 1, ').replace('    servers:\n', '    servers:\n      idle: { ipv4: 10.7.0.9 }\n'),
      [
        "PATH:13:18: Expected ports from 0 to 65535 for egress[0].slices[0].ports but received '10000-99999'",
        "PATH:14:38: Expected the name of a server of the configuration (idle, srv, peer) for egress[0].slices[1].owner but received 'nobody'",
        'PATH:15:17: Expected no such key (known here: intervalSeconds, prometheus) for stats.every but received 1',
      ],
    ],
  ])('exits 1 on %s, listing every problem on stderr', (_what, name, text, problems) => {
    const path = file(name, text);
    const r = router('--check', '--config', path, '--host', 'srv');
    const head = `soft-unicast-router: ${path} is not valid: ${problems.length} problem${problems.length === 1 ? '' : 's'}`;
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 1, stdout: '' });
    expect(r.stderr).toBe([head, ...problems.map((p) => p.replace('PATH', path))].join('\n') + '\n');
  });

  it('prints warnings on stderr and exits 0 when the file is valid', () => {
    const path = file('warning.yaml', SMALL.replace('    servers:\n', '    servers:\n      idle: { ipv4: 10.7.0.9 }\n'));
    const r = router('--check', '--config', path, '--host', 'srv');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe(`${path}:5:13: warning: Server idle owns no slice of egress: an owner that no slice uses\n`);
    expect(r.stdout).toContain(`${path} is valid.`);
  });

  it('exits 1 for a file it cannot read, a --host the file does not know, a server without an interface', () => {
    const missing = join(dir, 'missing.yaml');
    expect(router('--check', '--config', missing, '--host', 'srv')).toEqual({
      status: 1, stdout: '', stderr: `soft-unicast-router: Could not read the configuration file ${missing}: ENOENT: no such file or directory, open '${missing}'\n`,
    });
    const path = file('hosts.yaml', SMALL);
    expect(router('--check', '--config', path, '--host', 'nobody')).toEqual({
      status: 1, stdout: '', stderr: "soft-unicast-router: Expected the name of a server of the configuration (srv, peer) for --host but received 'nobody'\n",
    });
    expect(router('--check', '--config', path, '--host', 'peer')).toEqual({
      status: 1,
      stdout: '',
      stderr: `soft-unicast-router: ${path} is not valid for peer: Expected the interface the router of this server runs on for datacenters.dc1.servers.peer.interface but received undefined\n`,
    });
  });

  it('prints the error as JSON too with --json: every problem with its place', () => {
    const path = file('bad-json.yaml', SMALL.replace('10000-10999', '10000-99999'));
    const r = router('--check', '--json', '--config', path, '--host', 'srv');
    expect(r.status).toBe(1);
    const message = "Expected ports from 0 to 65535 for egress[0].slices[0].ports but received '10000-99999'";
    expect(JSON.parse(r.stdout)).toEqual({
      valid: false,
      file: path,
      host: 'srv',
      error: { name: 'InvalidConfigError', code: 'ERR_INVALID_CONFIG', message: `The configuration ${path} has 1 problem:\n${path}:12:18: ${message}` },
      problems: [{ path: 'egress[0].slices[0].ports', line: 12, column: 18, code: 'ERR_INVALID_OPTION', message, severity: 'error' }],
      warnings: [],
    });
    expect(r.stderr).toBe(`soft-unicast-router: ${path} is not valid: 1 problem\n${path}:12:18: ${message}\n`);
  });
});

/** A counter snapshot with every counter 0 but those given. */
function counters(values: {
  generation?: bigint; fates?: Partial<RouterCounters['fates']>; program?: Partial<RouterCounters['program']>;
  queues?: { queue: number; rx_packets?: number; rx_ring_full?: number }[]; unresolvedOwners?: Record<string, string>;
}): RouterCounters {
  const zeros = (list: readonly { name: string }[]) => Object.fromEntries(list.map((c) => [c.name, 0]));
  const fates = { ...zeros(ABI.routeCounters), ...values.fates } as RouterCounters['fates'];
  return {
    generation: values.generation ?? 1n,
    fates,
    program: { ...zeros(ABI.steerCounters), ...values.program } as RouterCounters['program'],
    queues: (values.queues ?? [{ queue: 0 }]).map((q) => ({
      ...(zeros(ABI.queueCounters) as Omit<RouterCounters['queues'][number], 'queue' | 'kernel' | 'fates'>),
      rx_packets: q.rx_packets ?? 0,
      queue: q.queue,
      kernel: { ...zeros(ABI.kernelXdpStats), rx_ring_full: q.rx_ring_full ?? 0 } as RouterCounters['queues'][number]['kernel'],
      fates,
    })),
    unresolvedOwners: values.unresolvedOwners ?? {},
    retiredTables: 0,
  };
}

describe('stats lines', () => {
  const before: Sample = {
    atMs: 10_000,
    counters: counters({
      program: { packets: 1000, pass_local: 100, decap_local: 50, pass_unmanaged: 10, redirected: 840 },
      fates: { forward_server_gue: 500, forward_server_l2: 100, encap_datacenter: 200, drop_no_owner: 40 },
    }),
  };
  const after: Sample = {
    atMs: 12_000,
    counters: counters({
      generation: 3n,
      program: { packets: 5000, pass_local: 600, decap_local: 250, pass_unmanaged: 30, pass_unparsed: 2 },
      fates: { forward_server_gue: 1500, forward_server_l2: 300, encap_datacenter: 1000, drop_no_owner: 48, drop_too_big: 2 },
      queues: [{ queue: 0, rx_ring_full: 3 }, { queue: 1, rx_ring_full: 1 }],
      unresolvedOwners: { ams: 'the kernel has no MAC address for 192.0.2.21 on eth0' },
    }),
  };

  it('computes rates from the two snapshots\' deltas, and drops by reason, non-zero only', () => {
    expect(statsBetween(before, after)).toEqual({
      seconds: 2,
      generation: 3n,
      // (5000-1000)/2; local (600+250-150)/2; forwarded (1800-600)/2; encapsulated 800/2; passed 22/2;
      // dropped (8 + 2 + 3 + 1)/2.
      pps: { rx: 2000, local: 350, forwarded: 600, encapsulated: 400, passed: 11, dropped: 7 },
      drops: { drop_no_owner: 8, drop_too_big: 2, rx_ring_full: 4 },
      unresolvedOwners: { ams: 'the kernel has no MAC address for 192.0.2.21 on eth0' },
    });
  });

  it('prints one text line', () => {
    expect(statsLine(statsBetween(before, after))).toBe(
      'generation 3: rx 2000 pps, local 350, forwarded 600, encapsulated 400, passed 11, dropped 7 pps; ' +
        'drops in 2.0 s: drop_no_owner 8, drop_too_big 2, rx_ring_full 4; unresolved: ams',
    );
    const quiet = statsBetween(before, { atMs: 15_000, counters: before.counters });
    expect(statsLine(quiet, true)).toBe('final: generation 1: rx 0 pps, local 0, forwarded 0, encapsulated 0, passed 0, dropped 0 pps');
  });

  it('prints one JSON object with --json, totals included', () => {
    const json = statsJson(statsBetween(before, after), after.counters, new Date('2025-01-02T03:04:05.678Z'));
    expect(JSON.parse(JSON.stringify(json))).toEqual({
      time: '2025-01-02T03:04:05.678Z',
      seconds: 2,
      generation: 3,
      pps: { rx: 2000, local: 350, forwarded: 600, encapsulated: 400, passed: 11, dropped: 7 },
      drops: { drop_no_owner: 8, drop_too_big: 2, rx_ring_full: 4 },
      unresolvedOwners: { ams: 'the kernel has no MAC address for 192.0.2.21 on eth0' },
      totals: { fates: after.counters.fates, program: after.counters.program },
      retiredTables: 0,
    });
    expect(statsJson(statsBetween(before, after), after.counters, new Date(0), true)).toMatchObject({ final: true });
  });
});

describe('Prometheus text', () => {
  const text = renderMetrics(counters({
    generation: 7n,
    fates: { forward_server_gue: 12, drop_no_owner: 3 },
    program: { packets: 99, pass_local: 40 },
    queues: [{ queue: 0, rx_packets: 5, rx_ring_full: 2 }, { queue: 3, rx_packets: 6 }],
    unresolvedOwners: { 'fra-2': 'no route to 192.0.2.12' },
  }));
  const lines = text.split('\n');

  it('has every fate and XDP counter as a label value, its doc in a comment above it', () => {
    expect(text).toContain([
      '# HELP softunicast_table_generation Generation of the slice table the fast path is using',
      '# TYPE softunicast_table_generation gauge',
      'softunicast_table_generation 7',
      '# HELP softunicast_route_packets_total Packets of the AF_XDP fast path by fate, summed over queues (SU_ROUTE_COUNTERS, abi.h)',
      '# TYPE softunicast_route_packets_total counter',
      '# fate="forward_server_gue": sent in GUE to the server of this data centre that owns the slice',
      'softunicast_route_packets_total{fate="forward_server_gue"} 12',
    ].join('\n'));
    expect(lines).toContain('softunicast_route_packets_total{fate="drop_no_owner"} 3');
    expect(lines).toContain('softunicast_xdp_packets_total{counter="packets"} 99');
    expect(lines).toContain('softunicast_xdp_packets_total{counter="pass_local"} 40');
    for (const c of ABI.routeCounters) expect(lines).toContain(`# fate="${c.name}": ${c.doc}`);
    for (const c of ABI.steerCounters) expect(lines).toContain(`# counter="${c.name}": ${c.doc}`);
  });

  it('has a family per queue counter with a queue label, HELP from its doc', () => {
    expect(text).toContain([
      '# HELP softunicast_queue_rx_packets_total Per RX queue: packets taken from the RX ring',
      '# TYPE softunicast_queue_rx_packets_total counter',
      'softunicast_queue_rx_packets_total{queue="0"} 5',
      'softunicast_queue_rx_packets_total{queue="3"} 6',
    ].join('\n'));
    expect(text).toContain([
      "# HELP softunicast_socket_rx_ring_full_total Per RX queue, the kernel's XDP_STATISTICS of its AF_XDP socket: dropped: the RX ring was full",
      '# TYPE softunicast_socket_rx_ring_full_total counter',
      'softunicast_socket_rx_ring_full_total{queue="0"} 2',
      'softunicast_socket_rx_ring_full_total{queue="3"} 0',
    ].join('\n'));
    for (const c of ABI.queueCounters) expect(lines).toContain(`# HELP softunicast_queue_${c.name}_total Per RX queue: ${c.doc}`);
    expect(lines).toContain('softunicast_unresolved_owner{owner="fra-2"} 1');
  });

  it('is well-formed: every sample belongs to the family HELP and TYPE announced last, names and labels valid', () => {
    let family = '';
    const seen = new Set<string>();
    for (const line of lines.slice(0, -1)) {
      const help = /^# HELP ([a-z_]+) \S/.exec(line);
      if (help !== null) {
        expect(seen.has(help[1]!), `${help[1]} announced twice`).toBe(false);
        seen.add(help[1]!);
        family = help[1]!;
        continue;
      }
      if (line.startsWith('# TYPE ')) {
        expect(line).toMatch(new RegExp(`^# TYPE ${family} (counter|gauge)$`));
        continue;
      }
      if (line.startsWith('# ')) continue;
      expect(line).toMatch(new RegExp(`^${family}(\\{[a-z_]+="[^"\\\\\\n]*"(,[a-z_]+="[^"\\\\\\n]*")*\\})? \\d+$`));
    }
    expect(text.endsWith('\n')).toBe(true);
  });
});

describe('live reload', () => {
  /** A Router stand-in: records publications, refuses two at once, can be told to fail. */
  class FakeRouter implements Publisher {
    table: SliceTable;
    generation = 1n;
    inFlight = 0;
    published: SliceTable[] = [];
    fail: Error | undefined;
    release: (() => void) | undefined;
    hold = false;

    constructor(table: SliceTable) {
      this.table = table;
    }

    async publish(table: SliceTable): Promise<{ generation: bigint }> {
      expect(this.inFlight, 'two publications at once').toBe(0);
      this.inFlight++;
      try {
        if (this.hold) await new Promise<void>((resolve) => (this.release = resolve));
        if (this.fail !== undefined) throw this.fail;
        this.table = table;
        this.published.push(table);
        return { generation: ++this.generation };
      } finally {
        this.inFlight--;
      }
    }

    counters() {
      return { generation: this.generation };
    }
  }

  async function setup(name: string) {
    const path = file(name, SMALL);
    const loaded = await readConfig(path);
    const { routerOptionsFor } = await import('../../src/index.js');
    const opened = routerOptionsFor(loaded.config, 'srv');
    const fake = new FakeRouter(opened.table);
    const logs: string[] = [];
    const configs: unknown[] = [];
    const reloader = new Reloader({ path, host: 'srv', router: fake, loaded, opened, log: (l) => logs.push(l), onConfig: (c) => configs.push(c), debounceMs: 20 });
    return { path, fake, logs, configs, reloader };
  }
  const waitForLog = async (logs: string[], re: RegExp) => {
    for (let i = 0; i < 500; i++) {
      if (logs.some((l) => re.test(l))) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no log line matching ${re}; got:\n${logs.join('\n')}`);
  };

  it('publishes a good file and logs the generation and the diff; a bad one keeps the table and says why', async () => {
    const { path, fake, logs, configs, reloader } = await setup('reload-1.yaml');
    writeFileSync(path, SMALL.replace('      - { ports: 20000-20999, owner: peer }', '      - { ports: 20000-20999, owner: peer }\n      - { ports: 30000-30999, owner: peer }'));
    await reloader.trigger('SIGHUP', true);
    expect(logs).toEqual([
      'reload (SIGHUP): publishing 3 slices',
      expect.stringMatching(/^reloaded \(SIGHUP\): generation 2 in use; 1 slice added, 0 removed, 0 moved \(\d+ ms\)$/),
    ]);
    expect(fake.published).toHaveLength(1);
    expect(fake.table.lookup((await import('ip-num')).IPv4.fromString('192.0.2.1'), 'udp', 30000)).toBe('peer');
    expect(configs).toHaveLength(1);

    logs.length = 0;
    writeFileSync(path, SMALL.replace('owner: peer', 'owner: nobody'));
    const kept = fake.table;
    await reloader.trigger('SIGHUP', true);
    expect(logs).toEqual([
      `reload (SIGHUP) failed; generation 2 stays in use: The configuration ${path} has 1 problem:`,
      `  ${path}:13:38: Expected the name of a server of the configuration (srv, peer) for egress[0].slices[1].owner but received 'nobody'`,
    ]);
    expect(fake.table).toBe(kept);

    // A publication the router refuses also leaves the table in place.
    logs.length = 0;
    writeFileSync(path, SMALL);
    fake.fail = new Error('Expected an image the fast path accepts');
    await reloader.trigger('SIGHUP', true);
    expect(logs).toEqual(['reload (SIGHUP): publishing 2 slices', 'reload (SIGHUP) failed; generation 2 stays in use: Expected an image the fast path accepts']);
    expect(fake.table).toBe(kept);
    await reloader.close();
  });

  it('says which settings wait for a restart, and publishes the table anyway', async () => {
    const { path, fake, logs, reloader } = await setup('reload-2.yaml');
    writeFileSync(path, SMALL.replace('attach: generic', 'attach: driver').replace('10.7.0.1,', '10.7.0.1, guePort: 7000,'));
    await reloader.trigger('SIGHUP', true);
    expect(logs.at(-2)).toMatch(/^reloaded \(SIGHUP\): generation 2 in use; no slice changed \(\d+ ms\)$/);
    expect(logs.at(-1)).toBe('note: the file changes interface, GUE port; that takes effect when the router restarts');
    expect(fake.published).toHaveLength(1);
    await reloader.close();
  });

  it('runs one reload at a time and merges requests that arrive meanwhile into one more', async () => {
    const { fake, logs, reloader } = await setup('reload-3.yaml');
    fake.hold = true;
    const first = reloader.trigger('SIGHUP', true);
    await waitForLog(logs, /publishing/);
    const more = [reloader.trigger('SIGHUP', true), reloader.trigger('file changed', false), reloader.trigger('SIGHUP', true)];
    fake.hold = false;
    fake.release!();
    await Promise.all([first, ...more]);
    expect(fake.published).toHaveLength(2);
    expect(logs.filter((l) => l.startsWith('reloaded'))).toEqual([
      expect.stringMatching(/^reloaded \(SIGHUP\): generation 2 in use; no slice changed/),
      expect.stringMatching(/^reloaded \(SIGHUP\): generation 3 in use; no slice changed/),
    ]);
    await reloader.close();
  });

  it('reloads when the file changes, also when an editor renames a new file over it; not when its text stays', async () => {
    const { path, fake, logs, reloader } = await setup('reload-4.yaml');
    // The same text again (a touch, a save without changes): nothing to do, nothing to say.
    await reloader.trigger('file changed', false);
    expect(logs).toEqual([]);
    reloader.watch();
    writeFileSync(path, SMALL.replace('10000-10999', '11000-11999'));
    await waitForLog(logs, /^reloaded \(file changed\): generation 2 in use; 1 slice added, 1 removed, 0 moved/);
    // Write aside, rename over: what vim and most configuration managers do.
    const aside = join(dir, '.reload-4.yaml.tmp');
    writeFileSync(aside, SMALL.replace('10000-10999', '12000-12999'));
    renameSync(aside, path);
    await waitForLog(logs, /^reloaded \(file changed\): generation 3 in use/);
    // A bad file is reported once, however many events its writing causes.
    writeFileSync(path, 'version: 2\n');
    await waitForLog(logs, /^reload \(file changed\) failed; generation 3 stays in use: The configuration .* has 2 problems:$/);
    await waitForLog(logs, /^ {2}.*:1:10: Expected version 1 \(the only format so far\) for version but received 2$/);
    writeFileSync(path, 'version: 2\n');
    writeFileSync(path, SMALL);
    await waitForLog(logs, /^reloaded \(file changed\): generation 4 in use/);
    expect(logs.filter((l) => l.includes('failed'))).toHaveLength(1);
    expect(fake.published).toHaveLength(3);
    await reloader.close();
  });
});
