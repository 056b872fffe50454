// Small facts about a host in a namespace that every world needs: sysctls set in one call, a link's
// MAC address. Used by the demos' worlds (examples/*/world.ts) and test/netns/attack-world.ts.
import { mustExecIn } from './exec.js';

/** Sets sysctls in `ns` with one `sysctl -w` (fails naming `what`, or the keys, on the first refused). */
export async function sysctlIn(ns: string, settings: Record<string, string | number>, what = `sysctls ${Object.keys(settings).join(', ')} in ${ns}`): Promise<void> {
  await mustExecIn(ns, 'sysctl', ['-qw', ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)], { what });
}

/** The MAC address of `ifname` in `ns`, lower case. */
export async function macOf(ns: string, ifname: string): Promise<string> {
  const { stdout } = await mustExecIn(ns, 'ip', ['-j', 'link', 'show', 'dev', ifname], { what: `the MAC address of ${ifname} in ${ns}` });
  return (JSON.parse(stdout) as { address: string }[])[0]!.address.toLowerCase();
}
