// The far end of a veth whose near end runs a router: bpf/veth_peer.bpf.c attached there, so that
// what the router's XDP program sends back out (XDP_TX: forwards, GUE) is delivered at once. A
// veth wakes its peer for such frames only when the peer has an XDP program (drivers/net/veth.c,
// veth_xdp_flush); without one they wait, unseen, until other traffic comes by. Used by the demo's
// world and every namespace test whose router sits on a veth.
import { vethPeerObjectPath } from '../native.js';
import { mustExecIn } from './exec.js';

export async function xdpOnVethPeer(ns: string, ifname: string): Promise<void> {
  await mustExecIn(ns, 'ip', ['link', 'set', 'dev', ifname, 'xdpdrv', 'obj', vethPeerObjectPath, 'sec', 'xdp'], {
    what: `attaching veth_peer.bpf.o to ${ifname} in ${ns}`,
  });
}
