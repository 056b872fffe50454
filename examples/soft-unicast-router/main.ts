#!/usr/bin/env node
// soft-unicast-router, the package's bin: runs the router of one server from the configuration
// file or from etcd (--check validates and prints its table instead; the commands talk to a
// running one, `slices` to etcd). Wiring only; the parts live beside it.
import type { Server } from 'node:http';
import type { Server as NetServer } from 'node:net';

import { existsSync } from 'node:fs';

import { InvalidConfigError, Router, vethPeerObjectPath, XdpPort, type Config, type RouterCounters, type RouterOptions, type SoftunicastError, type SourceHealth } from '../../src/index.js';
import { checkJson, checkText, compileFor, count, interfaceText, invalidLines, listenText, statsText, warningLines } from './check.js';
import { parseCli, pinDirFor, PROGRAM, USAGE, UsageError, type Listen, type RouterCli } from './cli.js';
import { runCommand } from './client.js';
import { closeControl, serveControl } from './control.js';
import { healthLines } from './health-log.js';
import { createLogger, type Logger } from './log.js';
import { RouterMetrics } from './metrics.js';
import { serveMetrics } from './prometheus.js';
import { follow, loadFirst, type First, type Following } from './following.js';
import { runSlices } from './slices-command.js';
import { statsBetween, statsJson, statsLine, type Sample } from './stats.js';
import { versionText } from './version.js';

/** stdout carries only the table (--check), command answers and stats lines. */
const out = (line: string) => process.stdout.write(`${line}\n`);
/** Before a logger exists (usage errors, --check): plain lines on stderr. */
const say = (line: string) => process.stderr.write(`${PROGRAM}: ${line}\n`);
const ms = (since: number) => `${Math.round(performance.now() - since)} ms`;
/** How long SIGTERM waits for a running reload: the process is gone within a second. */
const STOP_WAIT_MS = 500;

/** The library's messages name the API's `host` option; here it is the --host flag. */
function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/ for host but received /, ' for --host but received ');
}

async function check(cli: RouterCli): Promise<number> {
  let stage: 'read' | 'table' = 'read';
  let where = cli.etcd === undefined ? cli.config : `etcd ${cli.etcd.endpoints.join(',')} ${cli.etcd.prefix}`;
  try {
    const first = await loadFirst(cli);
    await first.etcd?.close();
    where = first.name;
    const { config } = first;
    stage = 'table';
    if (cli.json) out(JSON.stringify(checkJson(config, cli.host, where), null, 2));
    else process.stdout.write(checkText(config, cli.host, where));
    for (const line of warningLines(config.warnings, where)) process.stderr.write(`${line}\n`);
    return 0;
  } catch (error) {
    if (error instanceof InvalidConfigError) {
      // Every problem and warning, one line each, as compilers print them.
      const { name, code, message: text, problems, warnings } = error;
      if (cli.json) out(JSON.stringify({ valid: false, file: cli.config || undefined, host: cli.host, error: { name, code, message: text }, problems, warnings }, null, 2));
      const [head, ...lines] = invalidLines(error, where);
      say(head!);
      for (const line of lines) process.stderr.write(`${line}\n`);
      return 1;
    }
    const e = error as SoftunicastError;
    const text = message(e);
    if (cli.json) out(JSON.stringify({ valid: false, file: cli.config || undefined, host: cli.host, error: { name: e.name, code: e.code, message: text } }, null, 2));
    // A file that cannot be read, etcd out of reach, and a --host the file does not know, say so
    // themselves; the rest is about the deployment, as a whole or as the table of this server.
    if (e.code === 'ERR_SYSCALL' || e.code === 'ERR_STORE_UNAVAILABLE' || text.includes(' for --host ')) say(text);
    else say(stage === 'read' ? `${where} is not valid: ${text}` : `${where} is not valid for ${cli.host}: ${text}`);
    return 1;
  }
}

/** --detach: removes what a router pinned on this server's interface; the program leaves it. */
async function detach(cli: RouterCli): Promise<number> {
  try {
    const first = await loadFirst(cli);
    await first.etcd?.close();
    const ifname = compileFor(first.config, cli.host, first.options).options.port.interface;
    const dir = cli.pinDir || pinDirFor(cli.host, ifname);
    if (!existsSync(dir)) {
      say(`nothing pinned in ${dir}: no router left its XDP program on ${ifname}`);
      return 0;
    }
    XdpPort.removePinned(dir);
    say(`removed ${dir}: the XDP program left ${ifname} (unless a running router still holds it)`);
    return 0;
  } catch (error) {
    say(message(error));
    return 1;
  }
}

function listenOf(cli: RouterCli, config: Config): Listen | undefined {
  if (cli.prometheus !== undefined) return cli.prometheus;
  const p = config.stats.prometheus;
  return p === undefined ? undefined : { address: p.address.toString(), port: p.port };
}

/** Owners that lost or regained a next hop since the last report, logged once each. */
function unresolvedReporter(log: Logger): (c: RouterCounters) => void {
  let last: Record<string, string> = {};
  return (c) => {
    for (const [owner, why] of Object.entries(c.unresolvedOwners)) if (last[owner] !== why) log.warn(`owner ${owner} unresolved: ${why}`, { owner });
    for (const owner of Object.keys(last)) if (!(owner in c.unresolvedOwners)) log.info(`owner ${owner} resolved`, { owner });
    last = { ...c.unresolvedOwners };
  };
}

/** Runs until SIGINT/SIGTERM (resolves never: the process exits from stop() or fatal()). */
async function run(cli: RouterCli): Promise<never> {
  const log = createLogger(cli.logFormat);
  const started = performance.now();
  let router: Router | undefined;
  let following: Following | undefined;
  let http: Server | undefined;
  let control: NetServer | undefined;
  let timer: NodeJS.Timeout | undefined;
  let last: Sample | undefined;
  let stopping: NodeJS.Signals | undefined;
  let hangupEarly = false;
  let loaded: First | undefined;
  let options: RouterOptions;
  /** options as the router was opened with them: this binary's lane and pin directory added. */
  let opened: RouterOptions;
  const report = unresolvedReporter(log);
  const metrics = new RouterMetrics(() => (router !== undefined && !router.closed ? router.counters() : undefined));

  const printStats = (final: boolean) => {
    if (router === undefined || router.closed || last === undefined) return;
    const next: Sample = { counters: router.counters(), atMs: performance.now() };
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
  const shutdown = () => {
    if (control !== undefined) closeControl(control, cli.socket);
    http?.close();
  };
  const fatal = (error: unknown) => {
    log.error(`fatal: ${message(error)}`);
    void loaded?.etcd?.close();
    try {
      router?.close();
    } catch {
      // Exiting anyway; the kernel detaches a BPF link whose process is gone.
    }
    shutdown();
    process.exit(1);
  };
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping !== undefined) {
      // A second Ctrl-C: the user does not want to wait for a reload to finish.
      router?.close();
      shutdown();
      log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = signal;
    if (router === undefined) return; // open() is under way; run() stops once it returns
    clearInterval(timer);
    // A reload under way may publish still (its table then is the one left behind); one stuck
    // on its file or its router is not waited for beyond this: the signal ends the process.
    await Promise.race([following?.close(), new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    printStats(true);
    router.close();
    shutdown();
    const pinned = opened.port.pinDir;
    if (pinned === undefined) log.info(`${signal}: detached from ${options.port.interface}, exiting`);
    else log.info(`${signal}: exiting; the XDP program stays on ${options.port.interface}, pinned in ${pinned}, and keeps forwarding in the kernel until the next start (--detach removes it)`);
    process.exit(0);
  };

  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  process.on('SIGINT', (s) => void stop(s).catch(fatal));
  process.on('SIGTERM', (s) => void stop(s).catch(fatal));
  // Handled from the start: SIGHUP's default action would end the process.
  process.on('SIGHUP', () => {
    if (following === undefined) hangupEarly = true;
    else following.hangup();
  });

  try {
    log.info(`loading ${cli.etcd === undefined ? cli.config : `the deployment from etcd ${cli.etcd.endpoints.join(',')} ${cli.etcd.prefix}`}`);
    let t = performance.now();
    loaded = await loadFirst(cli);
    const c = loaded.config;
    const revision = loaded.etcd !== undefined ? `revision ${loaded.generation}, ` : '';
    log.info(`loaded in ${ms(t)}: ${revision}${count(c.datacenters.size, 'data centre')}, ${count(c.servers.size, 'server')}, ${count(c.egress.length, 'egress entry', 'egress entries')}${c.addressServices.length > 0 ? `, ${count(c.addressServices.length, 'address service')}` : ''}`);
    for (const line of warningLines(c.warnings, loaded.name)) log.warn(line);
    t = performance.now();
    log.info(`compiling the table of ${cli.host}`);
    const compiled = compileFor(c, cli.host, loaded.options);
    options = compiled.options;
    log.info(`compiled in ${ms(t)}: ${statsText(compiled.stats)}`);
    const listen = listenOf(cli, c);
    if (listen !== undefined) {
      // Before attaching: a port in use fails the start without touching the interface.
      http = await serveMetrics(listen, metrics.registry);
      log.info(`serving Prometheus text at http://${listenText(listen.address, listen.port)}/metrics`);
    }
    control = await serveControl(cli.socket, { router: () => router, log });
    log.info(`answering commands on ${cli.socket}`);
    const pinDir = cli.pinDir === false ? undefined : cli.pinDir ?? pinDirFor(cli.host, options.port.interface);
    opened = { ...options, lane: cli.lane, port: { ...options.port, ...(pinDir !== undefined && { pinDir }) } };
    log.info(`attaching to ${interfaceText(opened.port)}, lane ${cli.lane}`);
    t = performance.now();
    log.info(`publishing generation 1: ${count(options.table.size, 'slice')}`);
    router = await Router.open(opened);
    router.onHealthChange((event) => {
      for (const line of healthLines(event)) log[line.level](line.msg, line.fields);
    });
    if (router.driver === 'veth' && cli.lane === 'auto') {
      log.warn(`${options.port.interface} is a veth: what the XDP program sends back out reaches the far end only if that end carries an XDP program (e.g. ${vethPeerObjectPath}; docs/deploying.md), or run with --lane afxdp`);
    }
    if (router.adopted) log.info(`took over the XDP program and tables pinned in ${pinDir} by an earlier router: no gap on ${options.port.interface}`);
    metrics.tableInUse(options.table);
    const at = loaded;
    const initial: SourceHealth = { state: 'ok', since: Date.now(), disconnects: 0, generation: at.generation, detail: '' };
    metrics.source(at.etcd !== undefined ? 'etcd' : 'file', () => following?.source.health() ?? at.etcd?.health() ?? initial);
    const first = router.counters();
    log.info(`ready in ${ms(started)} (attached and published in ${ms(t)}): generation ${first.generation} on ${options.port.interface}, queues ${first.queues.map((q) => q.queue).join(', ')}`);
    report(first);
    last = { counters: first, atMs: performance.now() };
    if (cli.captureDrops !== undefined) {
      const capture = router.startDropCapture({
        path: cli.captureDrops,
        ...(cli.captureSeconds !== undefined && { seconds: cli.captureSeconds }),
        ...(cli.captureMaxBytes !== undefined && { maxBytes: cli.captureMaxBytes }),
      });
      log.info('drop capture started', { path: capture.path });
      void capture.done.then((s) => log.info('drop capture ended', { ...s }));
    }
  } catch (error) {
    log.error(message(error));
    router?.close();
    await loaded?.etcd?.close();
    shutdown();
    process.exit(1);
  }
  if (stopping !== undefined) {
    const signal = stopping;
    stopping = undefined;
    await stop(signal);
  }

  const deployment = loaded!;
  startStats(cli.statsInterval ?? deployment.config.stats.intervalSeconds);
  let prometheusText = JSON.stringify(listenOf(cli, deployment.config) ?? null);
  const kind = deployment.etcd !== undefined ? 'etcd' : 'file';
  following = follow({
    cli,
    first: deployment,
    router,
    opened: options,
    log,
    onResult: (result, table) => metrics.reloaded(result, table),
    onConfig: (config) => {
      if (cli.statsInterval === undefined && config.stats.intervalSeconds !== interval) {
        log.info(`stats every ${config.stats.intervalSeconds} s from now on`);
        startStats(config.stats.intervalSeconds);
      }
      const p = JSON.stringify(listenOf(cli, config) ?? null);
      if (p !== prometheusText) {
        log.warn(`the ${kind === 'file' ? 'file' : 'deployment'} changes stats.prometheus; that takes effect when the router restarts`);
        prometheusText = p;
      }
    },
  });
  if (cli.watch) following.watch();
  if (hangupEarly) following.hangup();
  return new Promise<never>(() => undefined);
}

async function main(argv: readonly string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseCli(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    say(error.message);
    say(`run '${PROGRAM} --help' for usage`);
    process.exitCode = 2;
    return;
  }
  switch (parsed.kind) {
    case 'help':
      out(USAGE);
      return;
    case 'version':
      out(versionText());
      return;
    case 'slices':
      process.exitCode = await runSlices(parsed.cli, out, say);
      return;
    case 'control':
      try {
        process.exitCode = await runCommand(parsed.cli, out, say);
      } catch (error) {
        say((error as Error).message);
        process.exitCode = 1;
      }
      return;
    case 'run':
      if (parsed.cli.check) process.exitCode = await check(parsed.cli);
      else if (parsed.cli.detach) process.exitCode = await detach(parsed.cli);
      else await run(parsed.cli);
  }
}

await main(process.argv.slice(2));
