// The router binary's command line for etcd: running from --etcd URL --prefix P, and the slices
// command (list, move, split, load), each flag checked and named when wrong. No etcd needed.
import { describe, expect, it } from 'vitest';

import { parseCli, USAGE, UsageError } from '../../examples/soft-unicast-router/cli.js';

const host = () => 'r1';
const ETCD = ['--etcd', 'http://10.9.0.1:2379', '--prefix', '/su/prod'];

describe('running from etcd', () => {
  it('reads --etcd and --prefix instead of --config', () => {
    expect(parseCli([...ETCD, '--check'], host)).toMatchObject({
      kind: 'run', cli: { config: '', etcd: { endpoints: ['http://10.9.0.1:2379'], prefix: '/su/prod' }, host: 'r1', check: true },
    });
    expect(parseCli(['--etcd', 'http://10.9.0.1:2379,http://10.9.0.2:2379', '--prefix', '/p'], host)).toMatchObject({
      cli: { etcd: { endpoints: ['http://10.9.0.1:2379', 'http://10.9.0.2:2379'] } },
    });
  });

  it.each([
    [['--config', 'a.yaml', ...ETCD], 'Options --config and --etcd exclude each other: the deployment comes from a file or from etcd'],
    [['--prefix', '/su/prod'], 'Option --prefix needs --etcd URL: the etcd holding the deployment'],
    [['--etcd', 'http://10.9.0.1:2379'], "Option --etcd needs --prefix PREFIX: the deployment's key prefix, e.g. /softunicast/prod"],
    [['--etcd', '10.9.0.1:2379', '--prefix', '/p'], "Expected an etcd client URL 'http://HOST:PORT' (plain HTTP, a port, no path) for --etcd[0] but received '10.9.0.1:2379'"],
    [['--etcd', 'http://10.9.0.1:2379', '--prefix', '/p/'], "Expected a key prefix such as '/softunicast/prod' (printable ASCII, starting with '/', not ending with one) for --prefix but received '/p/'"],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCli(argv, host)).toThrow(new UsageError(message));
  });
});

describe('the slices command', () => {
  const at = { endpoints: ['http://10.9.0.1:2379'], prefix: '/su/prod', json: false };

  it('reads list, move, split and load', () => {
    expect(parseCli(['slices', 'list', ...ETCD], host)).toEqual({ kind: 'slices', cli: { ...at, command: { action: 'list' } } });
    expect(parseCli(['slices', 'list', '--owner', 'r2', '--destination', '192.0.2.1', '--json', ...ETCD], host)).toEqual({
      kind: 'slices', cli: { ...at, json: true, command: { action: 'list', owner: 'r2', destination: '192.0.2.1' } },
    });
    expect(parseCli(['slices', 'move', '192.0.2.1', '2048-4095', '--to', 'r2', '--from', 'r1', '--protocols', 'udp', ...ETCD], host)).toEqual({
      kind: 'slices', cli: { ...at, command: { action: 'move', destination: '192.0.2.1', ports: '2048-4095', to: 'r2', from: 'r1', protocols: ['udp'] } },
    });
    expect(parseCli(['slices', 'split', '198.51.100.0/24', '53', '--at', '53', ...ETCD], host)).toMatchObject({ cli: { command: { action: 'split', ports: '53', at: 53 } } });
    expect(parseCli(['slices', 'load', '--config', 'd.yaml', '--replace', ...ETCD], host)).toEqual({
      kind: 'slices', cli: { ...at, command: { action: 'load', config: 'd.yaml', replace: true } },
    });
  });

  it.each([
    [['slices', 'list'], 'The command slices needs --etcd URL and --prefix PREFIX: where the deployment is'],
    [['slices', 'show', ...ETCD], "Expected an action 'list', 'move', 'split' or 'load' for the command slices but received 'show'"],
    [['slices', 'move', '192.0.2.1', '2048-4095', ...ETCD], 'The command slices move needs --to NAME: the server the slice goes to'],
    [['slices', 'move', '192.0.2.1', '--to', 'r2', ...ETCD], "Expected ADDRESS PORTS after move, e.g. 'slices move 192.0.2.1 2048-4095' for the command slices but received '192.0.2.1'"],
    [['slices', 'move', '192.0.2.1', 'all', '--to', 'r2', ...ETCD], "Expected PORTS as a port or a range such as '2048-4095' second for the command slices but received '192.0.2.1' 'all'"],
    [['slices', 'move', '192.0.2.1', '1-2', '--to', 'r2', '--protocols', 'icmp', ...ETCD], "Expected 'tcp', 'udp' or 'tcp,udp' for --protocols but received 'icmp'"],
    [['slices', 'split', '192.0.2.1', '1-2', '--at', '0', ...ETCD], "Expected a port from 1 to 65535 (where the second half starts) for --at but received '0'"],
    [['slices', 'list', '--to', 'r2', ...ETCD], 'Option --to does not apply to slices list (options: --etcd, --prefix, --json, --owner, --destination)'],
    [['slices', 'load', ...ETCD], 'The command slices load needs --config FILE: the configuration file to load'],
    [['slices', 'list', '--host', 'r1', ...ETCD], 'Option --host does not apply to the command slices (options: --etcd, --prefix, --json, --to, --from, --at, --protocols, --owner, --destination, --config, --replace)'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCli(argv, host)).toThrow(new UsageError(message));
  });

  it('is in --help, with its exit status for a conflict', () => {
    for (const line of ['slices list [--owner NAME]', 'slices move ADDRESS PORTS --to NAME', 'slices split ADDRESS PORTS --at PORT', 'slices load --config FILE [--replace]', '--etcd URL', '--prefix PREFIX']) {
      expect(USAGE).toContain(line);
    }
    expect(USAGE).toContain('3 (slices move, split) another writer changed the slice first');
  });
});
