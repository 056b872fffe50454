/* The capture rules of a port without a table (SU_MODE_CAPTURE: an XdpPort whose packets
 * TypeScript handlers take): which parsed packets go to the AF_XDP sockets. The packet is parsed
 * by the core's parser (native/core/parse.h); prefixes compare as bpf/target.h's. Used by
 * bpf/steer.bpf.c. */
#ifndef SU_BPF_MATCH_H
#define SU_BPF_MATCH_H

#include "target.h"

/* Whether a rule of the live capture bank matches the packet's destination, protocol and port;
 * the list ends at the first slot with family 0. */
SU_INLINE int su_captured(uint32_t bank, const struct su_ip *ip)
{
	uint8_t bit = ip->protocol == SU_IPPROTO_TCP ? SU_PROTO_TCP : SU_PROTO_UDP;

	for (uint32_t i = 0; i < SU_CAPTURE_RULES_MAX; i++) {
		/* The key gets its own stack slot: were the counter itself spilled, the verifier would
		 * lose its value and see an infinite loop. */
		uint32_t key = (bank & 1) * SU_CAPTURE_RULES_MAX + i;
		const struct su_capture_rule *r = bpf_map_lookup_elem(&su_capture_rules, &key);

		if (!r || r->family == SU_FAMILY_NONE)
			return 0;
		if (r->family == ip->family && (r->protocols & bit) && ip->dport >= r->port_first &&
		    ip->dport <= r->port_last && su_prefix_match(ip->daddr, r->addr, r->prefix_len))
			return 1;
	}
	return 0;
}

#endif /* SU_BPF_MATCH_H */
