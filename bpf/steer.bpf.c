/* The XDP program: hands TCP/UDP packets that match a capture rule to the AF_XDP socket of the
 * receiving queue and passes everything else to the kernel. Loaded by the addon (native/xsk/). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <softunicast/abi.h>
#include "maps.h"
#include "parse.h"

/* The project is MIT; the object is dual-licensed so that the kernel grants it GPL-only helpers. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";

static __always_inline void su_count(__u32 counter)
{
	__u64 *value = bpf_map_lookup_elem(&su_steer_counters, &counter);

	/* Per-CPU slot and XDP runs with migration disabled: nobody else writes it, no atomics. */
	if (value)
		*value += 1;
}

_Static_assert(__builtin_offsetof(struct su_capture_rule, addr) % 4 == 0 &&
		       __builtin_offsetof(struct su_pkt, daddr) % 4 == 0,
	       "su_prefix_match reads addresses as aligned 32-bit words");

/* Both addresses in network byte order, compared a 32-bit word at a time: the words wholly inside
 * the prefix, then the remaining bits under a mask. Four branch-free steps at constant offsets; a
 * byte loop with an early exit cost sixteen, and clang made it a variable-offset stack read. */
static __always_inline int su_prefix_match(const __u32 *addr, const __u32 *prefix, __u32 prefix_len)
{
	__u32 diff = 0;

#pragma unroll
	for (__u32 w = 0; w < 4; w++) {
		__u32 bits = prefix_len > w * 32 ? prefix_len - w * 32 : 0;

		if (bits > 32)
			bits = 32;
		/* A 64-bit shift: bits == 0 must give mask 0, and a 32-bit shift by 32 is undefined. */
		diff |= (addr[w] ^ prefix[w]) & bpf_htonl((__u32)(0xffffffffULL << (32 - bits)));
	}
	return diff == 0;
}

static __always_inline int su_captured(const struct su_pkt *pkt)
{
	for (__u32 i = 0; i < SU_CAPTURE_RULES_MAX; i++) {
		/* The key gets its own stack slot: were the counter itself spilled, the verifier would
		 * lose its value and see an infinite loop. */
		__u32 key = i;
		const struct su_capture_rule *rule = bpf_map_lookup_elem(&su_capture_rules, &key);

		if (!rule || rule->family == SU_FAMILY_NONE)
			return 0;
		if (rule->family == pkt->family && (rule->protocols & pkt->proto) &&
		    pkt->dport >= rule->port_first && pkt->dport <= rule->port_last &&
		    su_prefix_match((const __u32 *)pkt->daddr, (const __u32 *)rule->addr,
				    rule->prefix_len))
			return 1;
	}
	return 0;
}

SEC("xdp")
int su_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	/* A helper's key must be on the stack (or in a map), not in the context. */
	__u32 queue = ctx->rx_queue_index;
	struct su_pkt pkt;

	su_count(SU_STEER_packets);
	if (su_parse(data, data_end, &pkt) < 0) {
		su_count(SU_STEER_pass_unparsed);
		return XDP_PASS;
	}
	if (!su_captured(&pkt)) {
		su_count(SU_STEER_pass_unmanaged);
		return XDP_PASS;
	}
	/* bpf_redirect_map falls back to the flags' action by itself when the slot is empty; the
	 * lookup is there to count that case. A socket closed between the two still falls back to
	 * XDP_PASS, counted as redirected: a rare, harmless miscount. */
	if (!bpf_map_lookup_elem(&su_xsks, &queue)) {
		su_count(SU_STEER_pass_no_socket);
		return XDP_PASS;
	}
	su_count(SU_STEER_redirected);
	return bpf_redirect_map(&su_xsks, queue, XDP_PASS);
}
