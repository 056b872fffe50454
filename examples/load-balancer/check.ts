// --check: validates the file and prints what the balancer of one host would run: each service
// of its data centre, its backends with weight, drain and share of the rows, and its health check.
import { balancedServicesFor, formatProblem, InvalidConfigError, loadConfig, tableFor, type Config } from 'softunicast';

/** The text --check prints for a valid file. */
export function checkText(config: Config, host: string, file: string): string {
  const table = tableFor(config, host);
  const services = balancedServicesFor(config, host);
  const lines = [`${file} is valid; services of ${host}: ${services.length}`];
  // tableFor adds the services balancedServicesFor lists, in the same order.
  const rowsOf = table.services().map((f) => f.maglev);
  for (const [i, s] of services.entries()) {
    const rows = rowsOf[i]!;
    const h = s.health;
    const check = h.check.kind === 'http' ? `http GET ${h.check.path} expecting ${h.check.status}` : 'tcp connect';
    lines.push(`  ${s.name}: ${s.protocol} ${s.address.toString()}:${s.port}, ${rows.size} rows (${s.moves ?? 'stateless'} rebuilds)`);
    lines.push(`    health: ${check} on port ${h.port} every ${h.intervalMs} ms (timeout ${h.timeoutMs} ms), up after ${h.rise}, down after ${h.fall}; drain deadline ${h.drainDeadlineMs} ms`);
    for (const b of s.backends) {
      const index = rows.names.indexOf(b.owner);
      let mine = 0;
      for (const p of rows.primary) if (p === index) mine++;
      const share = ((100 * mine) / rows.size).toFixed(2);
      lines.push(`    ${b.owner.padEnd(12)} ${b.address.padEnd(16)} weight ${String(b.weight ?? 1).padEnd(3)} ${b.drain === true ? 'draining' : `${share}% of new flows`}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Runs --check: 0 and the text on stdout, or 1 and every problem with its line on stderr. */
export async function runCheck(file: string, host: string): Promise<number> {
  try {
    const config = await loadConfig(file);
    process.stdout.write(checkText(config, host, file));
    for (const w of config.warnings) process.stderr.write(`${formatProblem(w, file)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof InvalidConfigError) {
      process.stderr.write(`load-balancer: ${file} is not valid (${error.problems.length} problem${error.problems.length === 1 ? '' : 's'}):\n`);
      for (const p of error.problems) process.stderr.write(`${formatProblem(p, file)}\n`);
      return 1;
    }
    process.stderr.write(`load-balancer: ${(error as Error).message}\n`);
    return 1;
  }
}
