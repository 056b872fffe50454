// The router binary without root: its command line (running, commands, --version) and --check on
// good and broken files (output and exit status of the built binary). Runs dist/: build first
// (`npm test` does).
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { parseCli, parseListen, USAGE, UsageError } from '../../examples/soft-unicast-router/cli.js';
import { readConfig } from '../../examples/soft-unicast-router/reload.js';
import { describeTable, formatTable } from '../../src/index.js';
import { dir, file, SMALL } from './router-fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'dist/examples/soft-unicast-router/main.js');
const EXAMPLE = 'examples/soft-unicast-router/example.yaml';
const HELP_HINT = "soft-unicast-router: run 'soft-unicast-router --help' for usage\n";
const KNOWN =
  '--config, --etcd, --prefix, --host, --check, --json, --stats-interval, --prometheus, --no-watch, --log-format, --socket, --capture-drops, ' +
  '--capture-seconds, --capture-max-bytes, --lane, --pin-dir, --no-pin, --detach, --version, --help';

/** Runs the built binary from the repository root. */
function router(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the command line', () => {
  const host = () => 'this-machine';

  it('reads every flag; the host defaults to the machine\'s name, the file stats section stays the default', () => {
    expect(parseCli(['--config', 'r.yaml'], host)).toEqual({
      kind: 'run',
      cli: { config: 'r.yaml', host: 'this-machine', check: false, json: false, watch: true, logFormat: 'text', socket: '/run/softunicast/this-machine.sock', lane: 'auto', detach: false },
    });
    expect(parseCli([
      '--config=r.json', '--host', 'fra1', '--check', '--json', '--stats-interval', '0.5', '--prometheus', '[::1]:9464', '--no-watch',
      '--log-format', 'json', '--socket', '/tmp/r.sock', '--capture-drops', 'drops.pcapng', '--capture-seconds', '30', '--capture-max-bytes', '1000000',
      '--lane', 'afxdp', '--pin-dir', '/sys/fs/bpf/x',
    ], host)).toEqual({
      kind: 'run',
      cli: {
        config: 'r.json', host: 'fra1', check: true, json: true, watch: false, statsInterval: 0.5, prometheus: { address: '::1', port: 9464 },
        logFormat: 'json', socket: '/tmp/r.sock', captureDrops: resolve('drops.pcapng'), captureSeconds: 30, captureMaxBytes: 1000000,
        lane: 'afxdp', pinDir: '/sys/fs/bpf/x', detach: false,
      },
    });
    expect(parseCli(['--config', 'r.yaml', '--no-pin'], host)).toMatchObject({ cli: { pinDir: false } });
    expect(parseCli(['--config', 'r.yaml', '--detach'], host)).toMatchObject({ cli: { detach: true } });
    expect(parseCli(['--help'], host)).toEqual({ kind: 'help' });
    expect(parseCli(['--config', 'r.yml', '--help'], host)).toEqual({ kind: 'help' });
    expect(parseCli(['--version'], host)).toEqual({ kind: 'version' });
  });

  it('reads the commands for a running router; the socket follows --host unless given', () => {
    const control = (argv: string[]) => parseCli(argv, host);
    expect(control(['owner', '192.0.2.1', 'tcp', '5000'])).toEqual({
      kind: 'control', cli: { socket: '/run/softunicast/this-machine.sock', json: false, command: { cmd: 'owner', address: '192.0.2.1', protocol: 'tcp', port: 5000 } },
    });
    expect(control(['owner', '2001:db8::1', 'udp', '0', '--host', 'fra1', '--json'])).toMatchObject({ cli: { socket: '/run/softunicast/fra1.sock', json: true } });
    expect(control(['explain', '00ff', 'aabb', '--socket', '/tmp/s'])).toEqual({ kind: 'control', cli: { socket: '/tmp/s', json: false, command: { cmd: 'explain', frames: ['00ff', 'aabb'] } } });
    expect(control(['explain', '--pcap', 'x.pcap'])).toMatchObject({ cli: { command: { cmd: 'explain', pcap: 'x.pcap' } } });
    expect(control(['stats'])).toMatchObject({ cli: { command: { cmd: 'stats' } } });
    expect(control(['capture-drops', 'start', 'd.pcapng', '--seconds', '5', '--max-packets', '10'])).toMatchObject({
      cli: { command: { cmd: 'capture', action: 'start', path: resolve('d.pcapng'), seconds: 5, maxPackets: 10 } },
    });
    expect(control(['capture-drops', 'stop'])).toMatchObject({ cli: { command: { cmd: 'capture', action: 'stop' } } });
  });

  it.each([
    [['owner', '192.0.2.1', 'tcp'], "Expected ADDRESS tcp|udp PORT, e.g. 'owner 192.0.2.1 tcp 5000' for the command owner but received '192.0.2.1' 'tcp'"],
    [['owner', 'example.com', 'tcp', '5'], "Expected an IPv4 or IPv6 address first for the command owner but received 'example.com' 'tcp' '5'"],
    [['owner', '192.0.2.1', 'sctp', '5'], "Expected 'tcp' or 'udp' second for the command owner but received '192.0.2.1' 'sctp' '5'"],
    [['owner', '192.0.2.1', 'tcp', '65536'], "Expected a port from 0 to 65535 third for the command owner but received '192.0.2.1' 'tcp' '65536'"],
    [['explain'], 'Expected one or more frames as hex digits, or --pcap FILE for the command explain but received nothing'],
    [['explain', 'abc'], "Expected frames as an even number of hex digits each for the command explain but received 'abc'"],
    [['stats', 'now'], "Expected no arguments for the command stats but received 'now'"],
    [['capture-drops', 'begin'], "Expected 'start FILE', 'stop' or 'status' for the command capture-drops but received 'begin'"],
    [['capture-drops', 'start', 'f', '--seconds', '0'], "Expected a whole number from 1 to 9007199254740991 for --seconds but received '0'"],
    [['stats', '--config', 'a.yaml'], 'Option --config does not apply to the command stats (options: --host, --socket, --json)'],
    [['--config', 'a.yaml', '--pcap', 'x'], `Option --pcap does not apply to running the router (options: ${KNOWN})`],
    [['--config', 'a.yaml', '--log-format', 'xml'], "Expected 'text' or 'json' for --log-format but received 'xml'"],
    [['--config', 'a.yaml', '--capture-seconds', '5'], 'Option --capture-seconds needs --capture-drops FILE'],
  ])('refuses the command line %j: %s', (argv, message) => {
    expect(() => parseCli(argv, host)).toThrow(new UsageError(message));
  });

  it.each([
    [[], 'Option --config or --etcd is required: the configuration file to run, or the etcd holding the deployment'],
    [['--config'], 'Option --config needs a value'],
    [['--config', '--check'], 'Option --config needs a value but was followed by the option --check'],
    [['--config='], "Option --config needs a value but received ''"],
    [['--config', 'a.yaml', '--config', 'b.yaml'], 'Option --config given twice'],
    [['--config', 'a.yaml', '--check=yes'], "Option --check takes no value but received 'yes'"],
    [['--config', 'a.yaml', '--verbose'], `Unknown option --verbose (options: ${KNOWN})`],
    [['-c', 'a.yaml'], `Unknown option -c (options: ${KNOWN})`],
    [['--config', 'a.yaml', 'eth0'], `Unexpected argument 'eth0': a command is one of owner, explain, stats, capture-drops, health, slices, and every option is a flag (${KNOWN})`],
    [['--config', 'a.conf'], "Expected a file name ending in .json, .yaml or .yml for --config but received 'a.conf'"],
    [['--config', 'a.yaml', '--stats-interval', '0'], "Expected a number of seconds above 0, at most 3600 for --stats-interval but received '0'"],
    [['--config', 'a.yaml', '--stats-interval', '5s'], "Expected a number of seconds above 0, at most 3600 for --stats-interval but received '5s'"],
    [['--config', 'a.yaml', '--stats-interval', '3601'], "Expected a number of seconds above 0, at most 3600 for --stats-interval but received '3601'"],
    [['--config', 'a.yaml', '--lane', 'xdp'], "Expected 'auto' or 'afxdp' for --lane but received 'xdp'"],
    [['--config', 'a.yaml', '--pin-dir', 'bpf/x'], "Expected an absolute directory for --pin-dir but received 'bpf/x'"],
    [['--config', 'a.yaml', '--pin-dir', '/x', '--no-pin'], 'Options --pin-dir and --no-pin exclude each other'],
    [['--config', 'a.yaml', '--detach', '--no-pin'], 'Option --detach removes what was pinned: it does not go with --no-pin'],
    [['--config', 'a.yaml', '--detach', '--check'], 'Options --detach and --check exclude each other'],
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

  it('lists every flag and signal in --help', () => {
    for (const flag of KNOWN.split(', ')) expect(USAGE).toContain(`  ${flag}`);
    for (const signal of ['SIGHUP', 'SIGINT', 'SIGTERM']) expect(USAGE).toContain(signal);
  });

  it('prints its version: package, ABI, Node.js', () => {
    const r = router('--version');
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(/^softunicast \d+\.\d+\.\d+ \(ABI \d+, Node\.js v\d+\.\d+\.\d+\)\n$/);
  });

  it('says why a command cannot reach a router, exit 1', () => {
    const r = router('stats', '--socket', join(ROOT, 'no-such.sock'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^soft-unicast-router: Could not talk to the router on .*no-such\.sock: connect ENOENT .*\(is the router running, and with this --socket or --host\?\)\n$/);
  });

  it.each([
    [['--check'], 'Option --config or --etcd is required: the configuration file to run, or the etcd holding the deployment'],
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
        'compiled: 2 slices, 2 owners, 1 key, 2 ranges, 2 trusted peers, 1 server of this data centre, 300 bytes',
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
      expect(lines.at(-2)).toMatch(/^compiled: 11 slices, \d owners, 5 keys, \d+ ranges, 2 trusted peers, \d servers? of this data centre, \d+ bytes$/);
    }
    expect(router('--check', '--config', EXAMPLE, '--host', 'fra1').stdout).toContain('\ncompiled: 11 slices, 4 owners, 5 keys, 15 ranges, 2 trusted peers, 2 servers of this data centre, 628 bytes\n');
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
      compiled: { slices: 2, owners: 2, keys: 1, ranges: 2, trustedPeers: 2, peers: 1, bytes: 300 },
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

