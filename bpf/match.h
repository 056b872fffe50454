/* Matching a parsed packet (bpf/parse.h) against rule and prefix lists kept in ARRAY maps: the
 * capture rules, the local view's rules and its trusted GUE peers. Used by bpf/steer.bpf.c. */
#ifndef SU_BPF_MATCH_H
#define SU_BPF_MATCH_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <softunicast/abi.h>

#include "parse.h"

_Static_assert(__builtin_offsetof(struct su_capture_rule, addr) % 4 == 0 &&
		       __builtin_offsetof(struct su_prefix, addr) % 4 == 0 &&
		       __builtin_offsetof(struct su_pkt, daddr) % 4 == 0 &&
		       __builtin_offsetof(struct su_pkt, saddr) % 4 == 0,
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

/* Whether a struct su_capture_rule in slots [first, first + max) of the ARRAY map `rules` matches
 * the packet's destination, protocol and port; the list ends at the first slot with family 0. */
static __always_inline int su_rules_match(void *rules, __u32 first, __u32 max,
					  const struct su_pkt *pkt)
{
	for (__u32 i = 0; i < max; i++) {
		/* The key gets its own stack slot: were the counter itself spilled, the verifier would
		 * lose its value and see an infinite loop. */
		__u32 key = first + i;
		const struct su_capture_rule *rule = bpf_map_lookup_elem(rules, &key);

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

/* Whether the packet's source lies in a struct su_prefix in slots [first, first + max) of the
 * ARRAY map `prefixes`; the list ends at the first slot with family 0. */
static __always_inline int su_source_match(void *prefixes, __u32 first, __u32 max,
					   const struct su_pkt *pkt)
{
	for (__u32 i = 0; i < max; i++) {
		__u32 key = first + i;
		const struct su_prefix *prefix = bpf_map_lookup_elem(prefixes, &key);

		if (!prefix || prefix->family == SU_FAMILY_NONE)
			return 0;
		if (prefix->family == pkt->family &&
		    su_prefix_match((const __u32 *)pkt->saddr, (const __u32 *)prefix->addr,
				    prefix->prefix_len))
			return 1;
	}
	return 0;
}

#endif /* SU_BPF_MATCH_H */
