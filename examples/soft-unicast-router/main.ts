#!/usr/bin/env node
// soft-unicast-router, the package's bin: runs the router of one server from the configuration
// file (--check validates and prints its table instead). Wiring only; the parts live beside it.
import type { Server } from 'node:http';

import { InvalidConfigError, Router, type Config, type RouterCounters, type RouterOptions, type SoftunicastError } from '../../src/index.js';
import { checkJson, checkText, compileFor, count, interfaceText, invalidLines, listenText, statsText, warningLines } from './check.js';
import { parseCli, PROGRAM, USAGE, UsageError, type Listen, type RouterCli } from './cli.js';
import { serveMetrics } from './prometheus.js';
import { readConfig, Reloader, type Loaded } from './reload.js';
import { statsBetween, statsJson, statsLine, type Sample } from './stats.js';

/** Progress and events go to stderr; stdout carries only the table (--check) and stats lines. */
const log = (line: string) => process.stderr.write(`${PROGRAM}: ${line}\n`);
const out = (line: string) => process.stdout.write(`${line}\n`);
const ms = (since: number) => `${Math.round(performance.now() - since)} ms`;

/** The library's messages name the API's `host` option; here it is the --host flag. */
function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/ for host but received /, ' for --host but received ');
}

async function check(cli: RouterCli): Promise<number> {
  let stage: 'read' | 'table' = 'read';
  try {
    const { config } = await readConfig(cli.config);
    stage = 'table';
    if (cli.json) out(JSON.stringify(checkJson(config, cli.host, cli.config), null, 2));
    else process.stdout.write(checkText(config, cli.host, cli.config));
    for (const line of warningLines(config.warnings, cli.config)) process.stderr.write(`${line}\n`);
    return 0;
  } catch (error) {
    if (error instanceof InvalidConfigError) {
      // Every problem and warning, one line each, as compilers print them.
      const { name, code, message: text, problems, warnings } = error;
      if (cli.json) out(JSON.stringify({ valid: false, file: cli.config, host: cli.host, error: { name, code, message: text }, problems, warnings }, null, 2));
      const [head, ...lines] = invalidLines(error, cli.config);
      log(head!);
      for (const line of lines) process.stderr.write(`${line}\n`);
      return 1;
    }
    const e = error as SoftunicastError;
    const text = message(e);
    if (cli.json) out(JSON.stringify({ valid: false, file: cli.config, host: cli.host, error: { name: e.name, code: e.code, message: text } }, null, 2));
    // A file that cannot be read, and a --host the file does not know, say so themselves; the
    // rest is about the file, as a whole or as the table of this server.
    if (e.code === 'ERR_SYSCALL' || text.includes(' for --host ')) log(text);
    else log(stage === 'read' ? `${cli.config} is not valid: ${text}` : `${cli.config} is not valid for ${cli.host}: ${text}`);
    return 1;
  }
}

function listenOf(cli: RouterCli, config: Config): Listen | undefined {
  if (cli.prometheus !== undefined) return cli.prometheus;
  const p = config.stats.prometheus;
  return p === undefined ? undefined : { address: p.address.toString(), port: p.port };
}

/** Runs until SIGINT/SIGTERM (resolves never: the process exits from stop() or fatal()). */
async function run(cli: RouterCli): Promise<never> {
  const started = performance.now();
  let router: Router | undefined;
  let reloader: Reloader | undefined;
  let metrics: Server | undefined;
  let timer: NodeJS.Timeout | undefined;
  let last: Sample | undefined;
  let unresolved = '{}';
  let stopping: NodeJS.Signals | undefined;
  let hangupEarly = false;
  let loaded: Loaded;
  let options: RouterOptions;

  const sample = (): Sample => ({ counters: router!.counters(), atMs: performance.now() });
  const report = (c: RouterCounters) => {
    // Owners without a next hop drop their packets (drop_no_neighbour): say so when it changes.
    const now = JSON.stringify(c.unresolvedOwners);
    if (now === unresolved) return;
    const before = JSON.parse(unresolved) as Record<string, string>;
    for (const [owner, why] of Object.entries(c.unresolvedOwners)) if (before[owner] !== why) log(`owner ${owner} unresolved: ${why}`);
    for (const owner of Object.keys(before)) if (!(owner in c.unresolvedOwners)) log(`owner ${owner} resolved`);
    unresolved = now;
  };
  const printStats = (final: boolean) => {
    if (router === undefined || router.closed || last === undefined) return;
    const next = sample();
    const s = statsBetween(last, next);
    last = next;
    report(next.counters);
    out(cli.json ? JSON.stringify(statsJson(s, next.counters, new Date(), final)) : statsLine(s, final));
  };
  let interval = 5;
  const startStats = (seconds: number) => {
    interval = seconds;
    clearInterval(timer);
    timer = setInterval(() => printStats(false), seconds * 1000);
  };

  const fatal = (error: unknown) => {
    log(`fatal: ${message(error)}`);
    try {
      router?.close();
    } catch {
      // Exiting anyway; the kernel detaches a BPF link whose process is gone.
    }
    process.exit(1);
  };
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping !== undefined) {
      // A second Ctrl-C: the user does not want to wait for a reload to finish.
      router?.close();
      log(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = signal;
    if (router === undefined) return; // open() is under way; run() stops once it returns
    clearInterval(timer);
    await reloader?.close();
    printStats(true);
    router.close();
    metrics?.close();
    log(`${signal}: detached from ${options.port.interface}, exiting`);
    process.exit(0);
  };

  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  process.on('SIGINT', (s) => void stop(s).catch(fatal));
  process.on('SIGTERM', (s) => void stop(s).catch(fatal));
  // Handled from the start: SIGHUP's default action would end the process.
  process.on('SIGHUP', () => {
    if (reloader === undefined) hangupEarly = true;
    else void reloader.trigger('SIGHUP', true);
  });

  try {
    log(`loading ${cli.config}`);
    let t = performance.now();
    loaded = await readConfig(cli.config);
    const c = loaded.config;
    log(`loaded in ${ms(t)}: ${count(c.datacenters.size, 'data centre')}, ${count(c.servers.size, 'server')}, ${count(c.egress.length, 'egress entry', 'egress entries')}`);
    for (const line of warningLines(c.warnings, cli.config)) log(line);
    t = performance.now();
    log(`compiling the table of ${cli.host}`);
    const compiled = compileFor(c, cli.host);
    options = compiled.options;
    log(`compiled in ${ms(t)}: ${statsText(compiled.stats)}`);
    const listen = listenOf(cli, c);
    if (listen !== undefined) {
      // Before attaching: a port in use fails the start without touching the interface.
      metrics = await serveMetrics(listen, () => (router !== undefined && !router.closed ? router.counters() : undefined));
      log(`serving Prometheus text at http://${listenText(listen.address, listen.port)}/metrics`);
    }
    log(`attaching to ${interfaceText(options.port)}`);
    t = performance.now();
    log(`publishing generation 1: ${count(options.table.size, 'slice')}`);
    router = await Router.open(options);
    const first = router.counters();
    log(`ready in ${ms(started)} (attached and published in ${ms(t)}): generation ${first.generation} on ${options.port.interface}, queues ${first.queues.map((q) => q.queue).join(', ')}`);
    report(first);
    last = { counters: first, atMs: performance.now() };
  } catch (error) {
    metrics?.close();
    log(message(error));
    process.exit(1);
  }
  if (stopping !== undefined) {
    const signal = stopping;
    stopping = undefined;
    await stop(signal);
  }

  startStats(cli.statsInterval ?? loaded.config.stats.intervalSeconds);
  let prometheusText = JSON.stringify(listenOf(cli, loaded.config) ?? null);
  reloader = new Reloader({
    path: cli.config,
    host: cli.host,
    router,
    loaded,
    opened: options,
    log,
    onConfig: (config) => {
      if (cli.statsInterval === undefined && config.stats.intervalSeconds !== interval) {
        log(`stats every ${config.stats.intervalSeconds} s from now on`);
        startStats(config.stats.intervalSeconds);
      }
      const p = JSON.stringify(listenOf(cli, config) ?? null);
      if (p !== prometheusText) {
        log('note: the file changes stats.prometheus; that takes effect when the router restarts');
        prometheusText = p;
      }
    },
  });
  if (cli.watch) {
    reloader.watch();
    // A change between reading the file and watching it would otherwise wait for the next one.
    void reloader.trigger('file changed', false);
  }
  if (hangupEarly) void reloader.trigger('SIGHUP', true);
  return new Promise<never>(() => undefined);
}

async function main(argv: readonly string[]): Promise<void> {
  let cli: RouterCli;
  try {
    const parsed = parseCli(argv);
    if (parsed.kind === 'help') {
      out(USAGE);
      return;
    }
    cli = parsed.cli;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    log(error.message);
    log(`run '${PROGRAM} --help' for usage`);
    process.exitCode = 2;
    return;
  }
  if (cli.check) process.exitCode = await check(cli);
  else await run(cli);
}

await main(process.argv.slice(2));
