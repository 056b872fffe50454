/* The XDP program: passes packets of slices this host owns to the kernel (unwrapping them first
 * when they come in GUE from a trusted peer), hands TCP/UDP packets that match a capture rule to
 * the AF_XDP socket of the receiving queue and passes everything else to the kernel. Loaded by
 * the addon (native/xsk/). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <softunicast/abi.h>
#include "maps.h"
#include "parse.h"
#include "match.h"
#include "gue.h"

/* The project is MIT; the object is dual-licensed so that the kernel grants it GPL-only helpers. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";

static __always_inline void su_count(__u32 counter)
{
	__u64 *value = bpf_map_lookup_elem(&su_steer_counters, &counter);

	/* Per-CPU slot and XDP runs with migration disabled: nobody else writes it, no atomics. */
	if (value)
		*value += 1;
}

/* Whether the packet is UDP to this host's own address and GUE port (gue_port 0: none). */
static __always_inline int su_gue_for_us(const struct su_pkt *pkt, const struct su_host *host)
{
	const __u32 *dst = (const __u32 *)pkt->daddr;

	if (pkt->proto != SU_PROTO_UDP || host->gue_port == 0 || pkt->dport != host->gue_port ||
	    pkt->flags & SU_PKT_ICMP_ERROR)
		return 0;
	if (pkt->family == SU_FAMILY_IPV4)
		return (host->flags & SU_HOST_HAS_IPV4) && dst[0] == *(const __u32 *)host->ipv4;
	const __u32 *own = (const __u32 *)host->ipv6;

	return (host->flags & SU_HOST_HAS_IPV6) &&
	       ((dst[0] ^ own[0]) | (dst[1] ^ own[1]) | (dst[2] ^ own[2]) | (dst[3] ^ own[3])) == 0;
}

_Static_assert(__builtin_offsetof(struct su_host, ipv4) % 4 == 0 &&
		       __builtin_offsetof(struct su_host, ipv6) % 4 == 0,
	       "su_gue_for_us reads the host's addresses as aligned 32-bit words");

/* The steps below are global functions, each verified once on its own: inlined, every way
 * through one loop multiplied the states the verifier walks through the next, and the program
 * went past the verifier's million instructions. The caller learns only the int they return;
 * pointer arguments are the caller's stack (checked for NULL, as the verifier demands). */

/* Whether the packet's destination lies in a local slice of `bank`. */
__noinline int su_local(const struct su_pkt *pkt, __u32 bank)
{
	if (!pkt)
		return 0;
	return su_rules_match(&su_local_rules, (bank & 1) * SU_LOCAL_RULES_MAX, SU_LOCAL_RULES_MAX,
			      pkt);
}

/* Whether the packet's source lies in a trusted GUE peer prefix of `bank`. */
__noinline int su_trusted(const struct su_pkt *pkt, __u32 bank)
{
	if (!pkt)
		return 0;
	return su_source_match(&su_trusted_peers, (bank & 1) * SU_TRUSTED_PEERS_MAX,
			       SU_TRUSTED_PEERS_MAX, pkt);
}

/* Whether a capture rule of the live capture bank matches the packet. */
__noinline int su_captured(const struct su_pkt *pkt)
{
	__u32 zero = 0;
	const __u32 *live = bpf_map_lookup_elem(&su_capture_bank, &zero);

	if (!pkt)
		return 0;
	return su_rules_match(&su_capture_rules, (live ? *live & 1 : 0) * SU_CAPTURE_RULES_MAX,
			      SU_CAPTURE_RULES_MAX, pkt);
}

/* The offset of the inner IP header of a GUE datagram we can decapsulate, its headers parsed
 * into *inner; -1 for anything else (su_gue_parse). */
__noinline int su_gue_inner(struct xdp_md *ctx, const struct su_pkt *outer, struct su_pkt *inner)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 off;

	if (!outer || !inner || su_gue_parse(data, data_end, outer, inner, &off))
		return -1;
	return (int)off;
}

SEC("xdp")
int su_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	/* A helper's key must be on the stack (or in a map), not in the context. */
	__u32 queue = ctx->rx_queue_index;
	__u32 zero = 0;
	struct su_pkt pkt, inner;
	int inner_off;

	su_count(SU_STEER_packets);
	if (su_parse(data, data_end, &pkt) < 0) {
		su_count(SU_STEER_pass_unparsed);
		return XDP_PASS;
	}

	/* The bank index is read once: every later lookup of this packet uses the same view. */
	const __u32 *live = bpf_map_lookup_elem(&su_local_bank, &zero);
	__u32 bank = live ? *live & 1 : 0;
	const struct su_host *host = bpf_map_lookup_elem(&su_host, &bank);

	/* GUE for us: unwrapped here only when everything checks out and the inner packet is for a
	 * local slice. Otherwise it is not a local packet of its own either; it goes to the capture
	 * rules, so that the fast path decides about it and counts why. */
	if (host && su_gue_for_us(&pkt, host)) {
		/* Cheapest refusals first; the checksums read the whole datagram. */
		if (su_trusted(&pkt, bank) && (inner_off = su_gue_inner(ctx, &pkt, &inner)) >= 0 &&
		    su_local(&inner, bank) && su_gue_checksums_ok(ctx, &pkt) &&
		    su_gue_decap(ctx, (__u32)inner_off, inner.family) == 0) {
			su_count(SU_STEER_decap_local);
			return XDP_PASS;
		}
	} else if (su_local(&pkt, bank)) {
		su_count(SU_STEER_pass_local);
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
