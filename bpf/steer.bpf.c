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

static __always_inline void su_frag_key_of(const struct su_pkt *pkt, struct su_frag_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->family = pkt->family;
	key->proto = pkt->proto;
	key->id = pkt->frag_id;
	__builtin_memcpy(key->saddr, pkt->saddr, sizeof(key->saddr));
	__builtin_memcpy(key->daddr, pkt->daddr, sizeof(key->daddr));
}

/* What was done with the first fragment of `pkt`'s datagram (SU_FRAG_*), or 0: never seen, or
 * longer ago than a reassembly queue would wait. */
__noinline __u32 su_frag_verdict(const struct su_pkt *pkt)
{
	const struct su_frag_verdict *v;
	struct su_frag_key key;

	if (!pkt)
		return 0;
	su_frag_key_of(pkt, &key);
	v = bpf_map_lookup_elem(&su_frags, &key);
	if (!v || bpf_ktime_get_ns() - v->seen_ns > SU_FRAG_TTL_NS)
		return 0;
	return v->verdict;
}

/* Records `verdict` for the later pieces when `pkt` is a first fragment. */
__noinline int su_frag_record(const struct su_pkt *pkt, __u32 verdict)
{
	struct su_frag_verdict v = { 0 };
	struct su_frag_key key;

	if (!pkt || !(pkt->flags & SU_PKT_FRAGMENT))
		return 0;
	su_frag_key_of(pkt, &key);
	v.seen_ns = bpf_ktime_get_ns();
	v.verdict = verdict;
	return bpf_map_update_elem(&su_frags, &key, &v, BPF_ANY);
}

/* Hands the packet to the queue's AF_XDP socket, counted as `counter`. bpf_redirect_map falls
 * back to the flags' action by itself when the slot is empty; the lookup is there to count that
 * case. A socket closed between the two still falls back to XDP_PASS, counted as redirected: a
 * rare, harmless miscount. */
static __always_inline int su_redirect(__u32 queue, __u32 counter)
{
	if (!bpf_map_lookup_elem(&su_xsks, &queue)) {
		su_count(SU_STEER_pass_no_socket);
		return XDP_PASS;
	}
	su_count(counter);
	return bpf_redirect_map(&su_xsks, queue, XDP_PASS);
}

/* The frame's headers into *pkt (su_parse). A function of its own so that the verifier walks
 * the parser's many paths once, not once for every path through su_steer after it. */
__noinline int su_parse_frame(struct xdp_md *ctx, struct su_pkt *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (!pkt)
		return -1;
	return su_parse(data, data_end, pkt);
}

SEC("xdp")
int su_steer(struct xdp_md *ctx)
{
	/* A helper's key must be on the stack (or in a map), not in the context. */
	__u32 queue = ctx->rx_queue_index;
	__u32 zero = 0;
	struct su_pkt pkt, inner;
	int inner_off;

	su_count(SU_STEER_packets);
	if (su_parse_frame(ctx, &pkt) < 0) {
		su_count(SU_STEER_pass_unparsed);
		return XDP_PASS;
	}

	/* A later piece goes where its datagram's first went; one whose first was not seen goes
	 * to the kernel (as every fragment did before: it may still reassemble it) and is counted. */
	if (pkt.flags & SU_PKT_LATER_FRAGMENT) {
		switch (su_frag_verdict(&pkt)) {
		case SU_FRAG_LOCAL:
			su_count(SU_STEER_pass_fragment_local);
			return XDP_PASS;
		case SU_FRAG_CAPTURED:
			return su_redirect(queue, SU_STEER_redirected_fragment);
		case SU_FRAG_UNMANAGED:
			su_count(SU_STEER_pass_unmanaged);
			return XDP_PASS;
		default:
			su_count(SU_STEER_pass_fragment_unplaced);
			return XDP_PASS;
		}
	}

	/* The bank index is read once: every later lookup of this packet uses the same view. */
	const __u32 *live = bpf_map_lookup_elem(&su_local_bank, &zero);
	__u32 bank = live ? *live & 1 : 0;
	const struct su_host *host = bpf_map_lookup_elem(&su_host, &bank);

	/* GUE for us: unwrapped here only when everything checks out and the inner packet is for a
	 * local slice (or a later piece of a datagram whose first was). Otherwise it is not a local
	 * packet of its own either; it goes to the capture rules, so that the fast path decides
	 * about it and counts why. */
	if (host && su_gue_for_us(&pkt, host)) {
		/* Cheapest refusals first; the checksums read the whole datagram. */
		if (su_trusted(&pkt, bank) && (inner_off = su_gue_inner(ctx, &pkt, &inner)) >= 0 &&
		    ((inner.flags & SU_PKT_LATER_FRAGMENT) ? su_frag_verdict(&inner) == SU_FRAG_LOCAL :
							       su_local(&inner, bank)) &&
		    su_gue_checksums_ok(ctx, &pkt) &&
		    su_gue_decap(ctx, (__u32)inner_off, inner.family) == 0) {
			su_frag_record(&inner, SU_FRAG_LOCAL);
			su_count(SU_STEER_decap_local);
			return XDP_PASS;
		}
	} else if (su_local(&pkt, bank)) {
		su_frag_record(&pkt, SU_FRAG_LOCAL);
		su_count(SU_STEER_pass_local);
		return XDP_PASS;
	}

	if (!su_captured(&pkt)) {
		su_frag_record(&pkt, SU_FRAG_UNMANAGED);
		su_count(SU_STEER_pass_unmanaged);
		return XDP_PASS;
	}
	su_frag_record(&pkt, SU_FRAG_CAPTURED);
	return su_redirect(queue, SU_STEER_redirected);
}
