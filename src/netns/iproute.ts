// src/netns/iproute.ts: `ip` of iproute2 as the kit calls it (in a namespace or not, as JSON) and
// the checks on what it prints. Used by the namespace, veth, teardown and probe modules.
import { execArgv, section, type ExecResult } from './exec.js';

/** `ip [-n NS] ARGS`, must succeed. */
export function ip(ns: string | null, args: readonly string[], what: string): Promise<ExecResult> {
  return execArgv(['ip', ...(ns === null ? [] : ['-n', ns]), ...args], { what, throwOnError: true });
}

/** `ip [-n NS] -j ARGS`, parsed. iproute2 prints nothing at all for some empty lists. */
export async function ipJson(ns: string | null, args: readonly string[], what: string): Promise<unknown> {
  const r = await ip(ns, ['-j', ...args], what);
  const text = r.stdout.trim();
  if (text === '') return [];
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${what}: could not parse the JSON of \`ip -j ${args.join(' ')}\`: ${String(err)}` + section('stdout', text));
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asArray(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${what}: expected a JSON array from ip, got ${JSON.stringify(v)}`);
  return v as unknown[];
}

/** The one link `ip -j [-d] link show dev IFNAME` in `ns` prints; `what` starts the error messages. */
export async function readLink(ns: string, ifname: string, what: string, detailed = false): Promise<Record<string, unknown>> {
  const list = asArray(await ipJson(ns, [...(detailed ? ['-d'] : []), 'link', 'show', 'dev', ifname], what), what);
  const link = list[0];
  if (!isObject(link)) throw new Error(`${what}: ip printed no link`);
  return link;
}
