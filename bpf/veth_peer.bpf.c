/* For the far end of a veth whose near end runs the router: passes every packet, and by being
 * there makes the veth deliver what the router's XDP program sends back out (XDP_TX). A veth
 * hands such frames to its peer's queue and wakes the peer's NAPI only when the peer has an XDP
 * program (drivers/net/veth.c, veth_xdp_flush); without one they wait until other traffic
 * happens to wake it. Physical NICs need nothing of the kind. Attached by the demo and the
 * benchmarks; docs/deploying.md says when a deployment needs it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int su_veth_peer(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
