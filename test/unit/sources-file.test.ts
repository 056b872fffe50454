// The TableSource seam without a router: FileSource's generations (one per table it yields, none
// for a refused or unchanged look), Serial's one-run-at-a-time merging, and TableFollower's
// publishing and its log of a source's health.
import { writeFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { FileSource, routerOptionsFor, TableFollower, parseConfig, type SourceHealth, type SourceSubscriber, type SourceUpdate, type TableSource } from '../../src/index.js';
import { Serial } from '../../src/sources/serial.js';
import { file, SMALL } from './router-fixtures.js';

describe('FileSource', () => {
  it('counts a generation per table yielded; an unchanged or refused look yields none', async () => {
    const path = file('source-1.yaml', SMALL);
    const source = new FileSource({ path, host: 'srv', debounceMs: 0 });
    const first = await source.load();
    expect(first.generation).toBe(1);
    expect(first.options.host.ipv4?.toString()).toBe('10.7.0.1');
    const updates: SourceUpdate[] = [];
    source.subscribe({ update: async (u) => void updates.push(u) });
    await source.refresh('file changed', false);
    await source.refresh('SIGHUP', true);
    writeFileSync(path, 'version: 2\n');
    await source.refresh('file changed', false);
    writeFileSync(path, SMALL.replace('10000-10999', '10000-10998'));
    await source.refresh('file changed', false);
    expect(updates.map((u) => [u.kind, u.reason, u.kind === 'table' ? u.table.generation : undefined])).toEqual([
      ['unchanged', 'file changed', undefined],
      ['table', 'SIGHUP', 2],
      ['refused', 'file changed', undefined],
      ['table', 'file changed', 3],
    ]);
    expect(source.health()).toMatchObject({ state: 'ok', generation: 3 });
    await source.close();
  });

  it('refuses options it cannot use, by name', () => {
    expect(() => new FileSource({ path: 'x.conf', host: 'srv' })).toThrow("Expected a file name ending in .json, .yaml or .yml for path but received 'x.conf'");
    expect(() => new FileSource({ path: 'x.yaml', host: '' })).toThrow("Expected the name of a server of the file for options.host but received ''");
  });
});

describe('Serial', () => {
  it('runs one at a time and merges what arrives meanwhile into one more run', async () => {
    const runs: string[] = [];
    let release: () => void = () => undefined;
    const serial = new Serial<string>(async (r) => {
      runs.push(r);
      if (r === 'first') await new Promise<void>((resolve) => (release = resolve));
    }, (waiting, next) => `${waiting}+${next}`);
    const first = serial.request('first');
    const more = [serial.request('a'), serial.request('b'), serial.request('c')];
    expect(runs).toEqual(['first']);
    release();
    await Promise.all([first, ...more]);
    expect(runs).toEqual(['first', 'a+b+c']);
    await serial.close();
    await serial.request('after close');
    expect(runs).toHaveLength(2);
  });
});

describe('TableFollower', () => {
  /** A source that hands over what the test tells it to. */
  class FakeSource implements TableSource {
    readonly kind = 'etcd';
    readonly name = 'etcd http://192.0.2.9:2379 /su/prod';
    subscriber: SourceSubscriber | undefined;
    load = () => Promise.reject(new Error('not used'));
    subscribe(s: SourceSubscriber) {
      this.subscriber = s;
    }
    watch() {}
    refresh = () => Promise.resolve();
    health = (): SourceHealth => ({ state: 'ok', since: 0, disconnects: 0, generation: 0, detail: '' });
    close = () => Promise.resolve();
  }

  it('publishes each table, logs the source\'s health, and says what waits for a restart', async () => {
    const config = parseConfig(SMALL, 'yaml', 'small.yaml');
    const opened = routerOptionsFor(config, 'srv');
    const published: number[] = [];
    let generation = 1;
    const router = {
      table: opened.table,
      publish: async () => ({ generation: ++generation }),
      counters: () => ({ generation }),
    };
    const logs: string[] = [];
    const log = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(`warn: ${m}`), error: (m: string) => logs.push(`error: ${m}`) };
    const source = new FakeSource();
    const healths: SourceHealth[] = [];
    new TableFollower({ source, router, opened, log, onResult: () => published.push(generation), onHealth: (h) => healths.push(h) });
    const moved = parseConfig(SMALL.replace('owner: srv', 'owner: peer').replace('attach: generic', 'attach: driver'), 'yaml');
    await source.subscriber!.update({ kind: 'table', reason: 'etcd revision 57', table: { generation: 57, config: moved, options: routerOptionsFor(moved, 'srv') } });
    const down: SourceHealth = { state: 'unreachable', since: 0, disconnects: 1, generation: 57, detail: 'connect ECONNREFUSED 192.0.2.9:2379' };
    source.subscriber!.health!(down);
    source.subscriber!.health!({ ...down, state: 'ok', detail: '' });
    expect(logs).toEqual([
      'reload (etcd revision 57): publishing 2 slices',
      expect.stringMatching(/^reloaded \(etcd revision 57\): generation 2 in use; 0 slices added, 0 removed, 1 moved \(\d+ ms\)$/),
      'slice 192.0.2.1 udp 10000-10999 moved from srv to peer',
      'warn: the deployment changes interface; that takes effect when the router restarts',
      'warn: line 5, column 12: warning: Server srv owns no slice of egress: an owner that no slice uses',
      'error: etcd http://192.0.2.9:2379 /su/prod unreachable; forwarding goes on with generation 2 (source generation 57): connect ECONNREFUSED 192.0.2.9:2379',
      'etcd http://192.0.2.9:2379 /su/prod reachable again; following it from source generation 57',
    ]);
    expect(published).toEqual([2]);
    expect(healths.map((h) => h.state)).toEqual(['unreachable', 'ok']);
  });
});
