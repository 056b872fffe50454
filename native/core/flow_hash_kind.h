/* The flow-hash key kind's lookup (issue 15: a service's Maglev table over the flow hash; its
 * section: softunicast/table.h): the service of (family, protocol, destination port, destination
 * address), then its row by the flow hash mod the rows, and the row's primary owner (and its
 * secondary, the hop a 'glb' primary's packets carry: route.h, su_glb_hop). The lookup
 * stage (route.h, su_lookup_kinds) calls it as its case SU_KEY_KIND_FLOW_HASH. Table access
 * through the target's su_tbl_flow_service and su_tbl_flow_row (native/core/user.h,
 * bpf/target.h), which the includer defines first. */
#ifndef SU_CORE_FLOW_HASH_KIND_H
#define SU_CORE_FLOW_HASH_KIND_H

#include "flow_hash.h"
#include "ip.h"
#include "lookup.h"

/* flow-hash's case of the lookup stage. SU_LOOKUP_PORT: a packet to a service goes to its row's
 * primary (`managed` set: a service with no owner for the row would be a drop, never the
 * kernel's); SU_LOOKUP_ADDRESS: whether any service has the destination address. The row is
 * su_flow_hash of the 5-tuple with the host's seed (the GUE source port's hash, from the
 * per-table start in struct su_meta) mod the service's rows: the same function in both lanes,
 * and in TypeScript (src/lb/flow-hash.ts), so that every load-balancer host with the same
 * table and seed sends a flow to the same backend. */
SU_INLINE void su_flow_hash_find(su_tbl t, const struct su_meta *m, const struct su_ip *pkt,
				 uint32_t mode, struct su_found *out)
{
	struct su_flow_key k = { .family = pkt->family };
	const struct su_flow_svc *s;
	const struct su_flow_row *r;
	uint32_t hash, ipv6 = pkt->family == SU_FAMILY_IPV6;

	__builtin_memcpy(k.addr, pkt->daddr, 16);
	if (mode == SU_LOOKUP_ADDRESS) {
		out->managed |= su_tbl_flow_service(t, &k) != 0;
		return;
	}
	k.protocol = pkt->protocol;
	k.port = pkt->dport;
	s = su_tbl_flow_service(t, &k);
	if (!s || s->rows == 0)
		return;
	out->managed |= 1;
	hash = su_flow_hash_from(m->flow_start[ipv6][pkt->protocol == SU_IPPROTO_UDP],
				 pkt->family, pkt->saddr, pkt->daddr, pkt->sport, pkt->dport);
	r = su_tbl_flow_row(t, s->row_first + hash % s->rows);
	if (r) {
		out->owner = r->primary;
		out->secondary = r->secondary;
	}
}

#endif /* SU_CORE_FLOW_HASH_KIND_H */
