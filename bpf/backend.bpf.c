/* Second chance on a backend (issue 15), as an XDP program: GLB-style GUE from a load balancer
 * is unwrapped for this host's kernel when the packet is a SYN or belongs to a local socket,
 * and otherwise sent on to the next hop of its list (XDP_TX). Loaded by native/lb/chance_backend.c
 * (src/lb/backend.ts); the packet logic is native/core/hop_list.h. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "../native/core/target.h"
#include "softunicast/chance.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SU_CHANCE_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} chance_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SU_CHANCE_HOPS_MAX);
	__type(key, __u32);
	__type(value, struct su_chance_hop);
} chance_next_hops SEC(".maps");

#include "frame.h"
#include "../native/core/hop_list.h"

SU_INLINE void count(__u32 counter)
{
	__u64 *n = bpf_map_lookup_elem(&chance_counters, &counter);

	if (n)
		*n += 1;
}

/* Whether the kernel has a connection for the inner TCP packet: an established or half-open
 * socket (local_socket), or a listener whose SYN cookie this ACK carries (local_cookie: with
 * cookies the kernel keeps no state until the ACK comes back). A bare listener is not one: it
 * would match every packet to the service's port. SU_HOPS_OK when there is none. */
SU_INLINE __u32 local_connection(struct xdp_md *ctx, const struct su_hops *h)
{
	struct bpf_sock_tuple t = {};
	struct su_buf b = { .ctx = ctx };
	struct bpf_sock *sk;
	__u32 size, verdict = SU_HOPS_OK;
	const uint8_t *ip, *tcp;

	if (h->inner.family == SU_FAMILY_IPV4) {
		su_memcpy(&t.ipv4.saddr, h->inner.saddr, 4);
		su_memcpy(&t.ipv4.daddr, h->inner.daddr, 4);
		t.ipv4.sport = SU_BE16(h->inner.sport);
		t.ipv4.dport = SU_BE16(h->inner.dport);
		size = sizeof(t.ipv4);
	} else {
		su_memcpy(t.ipv6.saddr, h->inner.saddr, 16);
		su_memcpy(t.ipv6.daddr, h->inner.daddr, 16);
		t.ipv6.sport = SU_BE16(h->inner.sport);
		t.ipv6.dport = SU_BE16(h->inner.dport);
		size = sizeof(t.ipv6);
	}
	sk = bpf_skc_lookup_tcp(ctx, &t, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return SU_HOPS_OK;
	if (sk->state != BPF_TCP_LISTEN) {
		verdict = SU_CHANCE_chance_local_socket;
	} else {
		/* The helper reads the fixed IP header (the addresses) and the TCP header. */
		size = h->inner.family == SU_FAMILY_IPV4 ? SU_IPV4_HLEN : SU_IPV6_HLEN;
		su_buf_reload(&b);
		ip = su_at(&b, h->inner.l3, SU_IPV6_HLEN);
		if (h->inner.family == SU_FAMILY_IPV4)
			ip = su_at(&b, h->inner.l3, SU_IPV4_HLEN);
		tcp = su_at(&b, h->inner.l4, SU_TCP_HLEN);
		if (ip && tcp && (h->tcp_flags & SU_TCP_FLAG_ACK) &&
		    bpf_tcp_check_syncookie(sk, (void *)ip, size, (void *)tcp, SU_TCP_HLEN) == 0)
			verdict = SU_CHANCE_chance_local_cookie;
	}
	bpf_sk_release(sk);
	return verdict;
}

/* The MAC address of `hop` (network order) from the kernel's routes and neighbours, for a hop the
 * loader named none for: an output lookup (the packet leaves from this host's own address, so no
 * forwarding switch applies) restricted to the link the packet came in on, where XDP_TX sends it.
 * -1 when the kernel would send it elsewhere or has not resolved the neighbour (no ARP here),
 * and on a link without IPv4 forwarding: the helper answers only where forwarding is on. */
SU_INLINE int kernel_mac(struct xdp_md *ctx, const struct su_hops *h, __u32 hop, struct su_chance_hop *out)
{
	struct bpf_fib_lookup p = {};

	p.family = 2; /* AF_INET */
	p.l4_protocol = SU_IPPROTO_UDP;
	p.tot_len = h->outer.ip_len;
	p.ifindex = ctx->ingress_ifindex;
	su_memcpy(&p.ipv4_src, h->outer.daddr, 4);
	p.ipv4_dst = hop;
	if (bpf_fib_lookup(ctx, &p, sizeof(p), BPF_FIB_LOOKUP_OUTPUT) != BPF_FIB_LKUP_RET_SUCCESS ||
	    p.ifindex != ctx->ingress_ifindex)
		return -1;
	su_memcpy(out->mac, p.dmac, 6);
	return 0;
}

/* What to do with a hop list read whole: the counter of the outcome; the frame is rewritten. */
SU_INLINE __u32 second_chance(struct xdp_md *ctx, struct su_buf *b, const struct su_hops *h)
{
	const struct su_chance_hop *next;
	struct su_chance_hop found;
	__u32 verdict = su_hops_triage(h), hop;

	if (verdict == SU_HOPS_OK)
		verdict = local_connection(ctx, h);
	if (verdict != SU_HOPS_OK)
		return su_hops_unwrap(b, h) ? SU_CHANCE_chance_malformed : verdict;
	su_buf_reload(b);
	hop = su_hops_next(b, h);
	if (!hop)
		return su_hops_unwrap(b, h) ? SU_CHANCE_chance_malformed : SU_CHANCE_chance_last_hop;
	next = bpf_map_lookup_elem(&chance_next_hops, &hop);
	if (!next) {
		if (kernel_mac(ctx, h, hop, &found))
			return SU_CHANCE_chance_no_neighbour;
		next = &found;
	}
	su_buf_reload(b);
	return su_hops_forward(b, h, hop, next->mac) ? SU_CHANCE_chance_malformed :
						       SU_CHANCE_chance_forwarded;
}

SEC("xdp")
int su_backend(struct xdp_md *ctx)
{
	struct su_buf b = { .ctx = ctx };
	struct su_hops h;
	__u32 verdict;

	su_buf_reload(&b);
	verdict = su_hops_parse(&b, &h);
	if (verdict == SU_HOPS_OK)
		verdict = second_chance(ctx, &b, &h);
	count(verdict);
	switch (verdict) {
	case SU_CHANCE_chance_forwarded:
		return XDP_TX;
	case SU_CHANCE_chance_malformed:
	case SU_CHANCE_chance_no_neighbour:
		return XDP_DROP;
	default:
		return XDP_PASS;
	}
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
