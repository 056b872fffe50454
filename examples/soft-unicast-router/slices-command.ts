// Carries out `slices list|move|split|load` against etcd (src/sources/etcd/store.ts) and prints
// the answer as text or JSON. Used by main.ts; the exit status says how it went (3: conflict).
import { EtcdTableStore, InvalidConfigError, type SoftunicastError, type StoredSlice } from '../../src/index.js';
import type { SlicesCli } from './slices-cli.js';

const portsText = (p: { from: number; to: number }) => (p.from === p.to ? String(p.from) : `${p.from}-${p.to}`);
const sliceText = (s: StoredSlice) => `${s.destination} ${s.protocols.join('+')} ${portsText(s.ports)}`;

/** Aligned columns, as `ls -l` would. */
function columns(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

const sliceJson = (s: StoredSlice) => ({ destination: s.destination, protocols: s.protocols, ports: s.ports, owner: s.owner, key: s.key, modRevision: s.modRevision });

/** Runs the command; `out` takes the answer, `say` the problems. Resolves with the exit status. */
export async function runSlices(cli: SlicesCli, out: (line: string) => void, say: (line: string) => void): Promise<number> {
  const store = new EtcdTableStore({ endpoints: cli.endpoints, prefix: cli.prefix });
  const c = cli.command;
  try {
    if (c.action === 'list') {
      const { revision, slices } = await store.list({ ...(c.owner !== undefined && { owner: c.owner }), ...(c.destination !== undefined && { destination: c.destination }) });
      if (cli.json) out(JSON.stringify({ revision, slices: slices.map(sliceJson) }, null, 2));
      else {
        out(`${cli.prefix} at revision ${revision}: ${slices.length} slice${slices.length === 1 ? '' : 's'}`);
        if (slices.length > 0) {
          out(columns([['DESTINATION', 'PROTOCOLS', 'PORTS', 'OWNER', 'CHANGED'], ...slices.map((s) => [s.destination, s.protocols.join('+'), portsText(s.ports), s.owner, `revision ${s.modRevision}`])]));
        }
      }
      return 0;
    }
    if (c.action === 'load') {
      const r = await store.load(c.config, { replace: c.replace });
      if (cli.json) out(JSON.stringify({ ...r, prefix: cli.prefix, file: c.config }, null, 2));
      else out(`loaded ${c.config} into ${cli.prefix}: ${r.keys} destination keys, ${r.slices} slices${r.removed > 0 ? `, ${r.removed} keys of the earlier deployment removed` : ''}; revision ${r.revision}`);
      return 0;
    }
    const ref = { destination: c.destination, ports: c.ports, ...(c.protocols !== undefined && { protocols: c.protocols }) };
    const options = c.from !== undefined ? { from: c.from } : {};
    const r = c.action === 'move' ? await store.move(ref, c.to, options) : await store.split(ref, c.at, options);
    if (cli.json) out(JSON.stringify({ action: c.action, revision: r.revision, changed: r.changed, previousOwner: r.previousOwner, slices: r.slices.map(sliceJson) }, null, 2));
    else if (!r.changed) out(`${sliceText(r.slices[0]!)} is owned by ${r.previousOwner} already; nothing written (revision ${r.revision})`);
    else if (c.action === 'move') out(`moved ${sliceText(r.slices[0]!)} from ${r.previousOwner} to ${r.slices[0]!.owner}; revision ${r.revision}`);
    else out(`split ${c.destination} ${r.slices[0]!.protocols.join('+')} ${c.ports} (owner ${r.previousOwner}) into ${r.slices.map((s) => portsText(s.ports)).join(' and ')}; revision ${r.revision}`);
    return 0;
  } catch (error) {
    const e = error as SoftunicastError;
    if (cli.json) out(JSON.stringify({ error: { name: e.name, code: e.code, message: e.message, ...(e instanceof InvalidConfigError && { problems: e.problems }) } }, null, 2));
    for (const line of e.message.split('\n')) say(line);
    return e.code === 'ERR_SLICE_CONFLICT' ? 3 : 1;
  } finally {
    store.close();
  }
}
