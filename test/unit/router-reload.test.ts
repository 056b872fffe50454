// The router binary's live reload, against a fake router: a good file is published and its
// changes logged slice by slice, a bad one is refused and the table kept, one reload at a time,
// file changes followed through editors' renames, and only a regular file read (never a FIFO).
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Reloader, readConfig, type Publisher } from '../../examples/soft-unicast-router/reload.js';
import type { SliceTable } from '../../src/index.js';
import { dir, file, SMALL } from './router-fixtures.js';

describe('live reload', () => {
  /** A Router stand-in: records publications, refuses two at once, can be told to fail. */
  class FakeRouter implements Publisher {
    table: SliceTable;
    generation = 1;
    inFlight = 0;
    published: SliceTable[] = [];
    hosts: Parameters<Publisher['publish']>[1]['host'][] = [];
    fail: Error | undefined;
    release: (() => void) | undefined;
    hold = false;

    constructor(table: SliceTable) {
      this.table = table;
    }

    async publish(table: SliceTable, options: Parameters<Publisher['publish']>[1]): Promise<{ generation: number }> {
      expect(this.inFlight, 'two publications at once').toBe(0);
      this.inFlight++;
      try {
        if (this.hold) await new Promise<void>((resolve) => (this.release = resolve));
        if (this.fail !== undefined) throw this.fail;
        this.table = table;
        this.published.push(table);
        this.hosts.push(options.host);
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
    const results: string[] = [];
    // Messages only, each with its level when it is not info.
    const log = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(`warn: ${m}`), error: (m: string) => logs.push(`error: ${m}`) };
    const reloader = new Reloader({ path, host: 'srv', router: fake, loaded, opened, log, onResult: (r) => results.push(r), onConfig: (c) => configs.push(c), debounceMs: 20 });
    return { path, fake, logs, configs, results, reloader };
  }
  const waitForLog = async (logs: string[], re: RegExp) => {
    for (let i = 0; i < 500; i++) {
      if (logs.some((l) => re.test(l))) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no log line matching ${re}; got:\n${logs.join('\n')}`);
  };

  it('publishes a good file and logs the generation and each change; a bad one keeps the table and says why', async () => {
    const { path, fake, logs, configs, results, reloader } = await setup('reload-1.yaml');
    writeFileSync(path, SMALL.replace('      - { ports: 20000-20999, owner: peer }', '      - { ports: 20000-20999, owner: peer }\n      - { ports: 30000-30999, owner: peer }'));
    await reloader.trigger('SIGHUP', true);
    expect(logs).toEqual([
      'reload (SIGHUP): publishing 3 slices',
      expect.stringMatching(/^reloaded \(SIGHUP\): generation 2 in use; 1 slice added, 0 removed, 0 moved \(\d+ ms\)$/),
      'slice 192.0.2.1 udp 30000-30999 added, owner peer',
    ]);
    expect(results).toEqual(['applied']);
    expect(fake.published).toHaveLength(1);
    expect(fake.table.lookup((await import('ip-num')).IPv4.fromString('192.0.2.1'), 'udp', 30000)).toBe('peer');
    expect(configs).toHaveLength(1);

    logs.length = 0;
    writeFileSync(path, SMALL.replace('owner: peer', 'owner: nobody'));
    const kept = fake.table;
    await reloader.trigger('SIGHUP', true);
    expect(logs).toEqual([
      `error: reload (SIGHUP) refused; generation 2 stays in use: The configuration ${path} has 1 problem:`,
      `error: ${path}:13:38: Expected the name of a server of the configuration (srv, peer) for egress[0].slices[1].owner but received 'nobody'`,
    ]);
    expect(fake.table).toBe(kept);
    expect(results).toEqual(['applied', 'refused']);

    // Moves are named slice by slice: from which owner to which.
    logs.length = 0;
    writeFileSync(path, SMALL.replace('{ ports: 10000-10999, owner: srv }', '{ ports: 10000-10999, owner: peer }'));
    await reloader.trigger('SIGHUP', true);
    expect(logs.slice(2)).toEqual([
      'slice 192.0.2.1 udp 10000-10999 moved from srv to peer',
      'slice 192.0.2.1 udp 30000-30999 removed, owner was peer',
      // The file's warnings come with every reload that applies it.
      `warn: ${path}:5:12: warning: Server srv owns no slice of egress: an owner that no slice uses`,
    ]);
    writeFileSync(path, SMALL);
    await reloader.trigger('SIGHUP', true);
    const restored = fake.table;

    // A publication the router refuses also leaves the table in place.
    logs.length = 0;
    fake.fail = new Error('Expected an image the fast path accepts');
    writeFileSync(path, SMALL.replace('10000-10999', '10000-10998'));
    await reloader.trigger('SIGHUP', true);
    expect(logs).toEqual(['reload (SIGHUP): publishing 2 slices', 'error: reload (SIGHUP) refused; generation 4 stays in use: Expected an image the fast path accepts']);
    expect(fake.table).toBe(restored);
    await reloader.close();
  });

  it('publishes host settings with the table, and says which settings wait for a restart', async () => {
    const { path, fake, logs, reloader } = await setup('reload-2.yaml');
    writeFileSync(path, SMALL.replace('attach: generic', 'attach: driver').replace('10.7.0.1,', '10.7.0.1, guePort: 7000,'));
    await reloader.trigger('SIGHUP', true);
    expect(logs.at(-3)).toMatch(/^reloaded \(SIGHUP\): generation 2 in use; no slice changed \(\d+ ms\)$/);
    expect(logs.at(-2)).toBe('GUE port now 7000 (was 6080)');
    expect(logs.at(-1)).toBe('warn: the file changes interface; that takes effect when the router restarts');
    expect(fake.published).toHaveLength(1);
    expect(fake.hosts[0]?.guePort).toBe(7000);
    await reloader.close();
  });

  it('refuses a FIFO put in place of the file without waiting on it, and reloads the file put back', async () => {
    const { path, fake, logs, results, reloader } = await setup('reload-fifo.yaml');
    const text = readFileSync(path, 'utf8');
    rmSync(path);
    execFileSync('mkfifo', [path]);
    await reloader.trigger('SIGHUP', true);
    expect(logs.at(-1)).toBe(`error: reload (SIGHUP) refused; generation 1 stays in use: Expected a regular file for the configuration file ${path} but it is a FIFO (named pipe)`);
    expect(results.at(-1)).toBe('refused');
    rmSync(path);
    writeFileSync(path, text.replace('10000-10999', '10000-10998'));
    await reloader.trigger('SIGHUP', true);
    expect(results.at(-1)).toBe('applied');
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
    await waitForLog(logs, /^error: reload \(file changed\) refused; generation 3 stays in use: The configuration .* has 2 problems:$/);
    await waitForLog(logs, /^error: .*:1:10: Expected version 1 \(the only format so far\) for version but received 2$/);
    writeFileSync(path, 'version: 2\n');
    writeFileSync(path, SMALL);
    await waitForLog(logs, /^reloaded \(file changed\): generation 4 in use/);
    expect(logs.filter((l) => l.includes(' refused; '))).toHaveLength(1);
    expect(fake.published).toHaveLength(3);
    await reloader.close();
  });
});

