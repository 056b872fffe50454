#!/usr/bin/env node
// load-balancer: a flow-hash load balancer on the public API of softunicast only (copy it to write
// your own). Runs the router of one server with the file's services, checks their backends
// (lb.Balancer) and rebuilds the rows with second chance; SIGHUP reloads, stats go to stdout.
import type { Server } from 'node:http';

import {
  balancedServicesFor, formatProblem, InvalidConfigError, lb, loadConfig, routerOptionsFor, Router, tableFor, type Config,
} from 'softunicast';

import { runCheck } from './check.js';
import { parseCli, USAGE, type Cli } from './cli.js';
import { createLog, type Log } from './log.js';
import { serveMetrics, snapshot, type Snapshot } from './stats.js';

/** Reads and validates the file; on a bad file logs every problem with its line. */
async function readConfig(file: string, log: Log): Promise<Config | undefined> {
  try {
    const config = await loadConfig(file);
    for (const w of config.warnings) log('warn', formatProblem(w, file));
    return config;
  } catch (error) {
    if (!(error instanceof InvalidConfigError)) throw error;
    log('error', `${file} is not valid; keeping what runs`, { problems: error.problems.length });
    for (const p of error.problems) log('error', formatProblem(p, file));
    return undefined;
  }
}

/** Logs every balancer event: health and drain changes, rebuilds, refused tables. */
function logEvents(balancer: lb.Balancer, log: Log): void {
  balancer.onEvent((e) => {
    const fields = e.change === undefined ? { service: e.service } : { service: e.service, backend: e.change.name, what: e.change.what, from: e.change.from, to: e.change.to };
    log(e.level, `${e.service}: ${e.message}`, fields);
  });
}

async function run(cli: Cli): Promise<void> {
  const log = createLog(cli.logFormat);
  const first = await readConfig(cli.config, log);
  if (first === undefined) process.exit(1);
  const options = routerOptionsFor(first, cli.host);
  const router = await Router.open({ ...options, lane: cli.lane });
  log('info', `router of ${cli.host} runs on ${options.port.interface}`, { driver: router.driver, lane: cli.lane });
  const balancer = new lb.Balancer({ publish: (table) => router.publish(table) });
  logEvents(balancer, log);
  await balancer.load(options.table, balancedServicesFor(first, cli.host));
  log('info', `serving ${first.services.length} service(s) from ${cli.config}`);

  let latest: Snapshot = snapshot(router.counters(), balancer);
  const every = (cli.statsInterval ?? first.stats.intervalSeconds) * 1000;
  const timer = setInterval(() => {
    latest = snapshot(router.counters(), balancer);
    process.stdout.write(`${JSON.stringify(latest)}\n`);
  }, every);
  let metrics: Server | undefined;
  const p = first.stats.prometheus;
  if (p !== undefined) {
    metrics = await serveMetrics(p.address.toString(), p.port, () => latest);
    log('info', `Prometheus metrics on http://${p.address.toString()}:${p.port}/metrics`);
  }

  let reloading = Promise.resolve();
  process.on('SIGHUP', () => {
    reloading = reloading.then(async () => {
      const config = await readConfig(cli.config, log);
      if (config === undefined) return;
      try {
        await balancer.load(tableFor(config, cli.host), balancedServicesFor(config, cli.host));
        log('info', `reloaded ${cli.config}`, { generation: router.counters().generation });
      } catch (error) {
        log('error', `reload of ${cli.config} refused: ${(error as Error).message}; keeping what runs`);
      }
    });
  });
  const stop = (signal: NodeJS.Signals): void => {
    log('info', `${signal}: stopping`);
    clearInterval(timer);
    metrics?.close();
    void balancer.close().finally(() => {
      router.close();
      process.exit(0);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function main(): Promise<number | undefined> {
  let cli: Cli;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`load-balancer: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (cli.check) return runCheck(cli.config, cli.host);
  await run(cli);
  return undefined;
}

main().then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`${new Date().toISOString()} error load-balancer: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
