/* The pps bench's traffic source and sink in one: attached by bench/pps/gen.c to the far end of
 * the veth, it counts what the device under test sends back (all of it, and the GUE part), then
 * turns each test frame back into the original frame and sends it to the device again (XDP_TX).
 * A few frames injected once circulate between the two ends: a closed loop whose rate is the
 * slower end's. Being an XDP program, it also makes the veth deliver the device's XDP_TX frames
 * (bpf/veth_peer.bpf.c says why). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "reflect.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Key: 0. Value: what to do and the frame to restore. Writer: gen.c, between measurements.
 * Reader: pps_reflect. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct reflect_state);
} reflect_state SEC(".maps");

/* Key: 0 to reflect_state.heads - 1. Value: a frame's head. Writer: gen.c, before the measurements
 * that rotate through them. Reader: pps_reflect, when reflect_state.heads is not 0. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, REFLECT_HEADS_MAX);
	__type(key, __u32);
	__type(value, struct reflect_head);
} reflect_heads SEC(".maps");

/* Key: enum reflect_counter. Value: u64 per CPU. Writer: pps_reflect. Reader: gen.c, summed. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, REFLECT_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} reflect_counters SEC(".maps");

static __always_inline void count(__u32 key, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&reflect_counters, &key);

	if (v)
		*v += n; /* per CPU, and XDP runs with migration disabled: no atomics */
}

/* The UDP header after an IPv4 header without options or a bare IPv6 header, or NULL. */
static __always_inline struct udphdr *udp_of(struct ethhdr *eth, void *data_end)
{
	if ((void *)(eth + 1) > data_end)
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
			return 0;
		return (void *)(ip + 1);
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP)
			return 0;
		return (void *)(ip6 + 1);
	}
	return 0;
}

/* Whether the frame ends in the test frames' mark (the device changes headers, never the end). */
static __always_inline int marked(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 at = (__u32)(data_end - data) - 2;
	__u8 *mark;

	if (at > 4094)
		return 0;
	mark = data + (at & 4095);
	if ((void *)(mark + 2) > data_end)
		return 0;
	return mark[0] == REFLECT_MARK0 && mark[1] == REFLECT_MARK1;
}

SEC("xdp")
int pps_reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct udphdr *udp = udp_of(data, data_end);
	__u32 zero = 0, len = (__u32)(data_end - data);
	struct reflect_state *st;

	count(REFLECT_packets, 1);
	count(REFLECT_bytes, len);
	if (udp && (void *)(udp + 1) <= data_end && udp->dest == bpf_htons(6080))
		count(REFLECT_gue, 1);
	if (!marked(ctx)) {
		count(REFLECT_foreign, 1);
		return XDP_PASS;
	}
	st = bpf_map_lookup_elem(&reflect_state, &zero);
	if (!st || st->mode != REFLECT_BOUNCE) {
		count(REFLECT_drained, 1);
		return XDP_DROP;
	}
	/* Back to the test frame's length: drop the outer headers the device put in front. */
	if (len != st->len && bpf_xdp_adjust_head(ctx, (int)(len - st->len))) {
		count(REFLECT_bad, 1);
		return XDP_DROP;
	}
	data = (void *)(long)ctx->data;
	if (data + REFLECT_HEAD > (void *)(long)ctx->data_end) {
		count(REFLECT_bad, 1);
		return XDP_DROP;
	}
	if (st->heads) {
		/* A random head: which frame comes back to a slot of the loop must not repeat in step
		 * with the loop's length (256 frames), or a few heads would carry all the traffic. */
		__u32 key = bpf_get_prandom_u32() & (st->heads - 1);
		struct reflect_head *h = bpf_map_lookup_elem(&reflect_heads, &key);

		if (!h) {
			count(REFLECT_bad, 1);
			return XDP_DROP;
		}
		__builtin_memcpy(data, h->bytes, REFLECT_HEAD);
	} else {
		__builtin_memcpy(data, st->head, REFLECT_HEAD);
	}
	count(REFLECT_reflected, 1);
	return XDP_TX;
}
