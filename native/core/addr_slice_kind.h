/* The address-slice key kind's lookup (issue 16; its section: softunicast/table.h): the service
 * whose IPv6 prefix holds the destination, the source filter of a source-derived service, then
 * the slice's row by the destination's bits after the prefix. route.h calls it as its case
 * SU_KEY_KIND_ADDRESS_SLICE; the services are in struct su_meta, the rows behind su_tbl_flow_row. */
#ifndef SU_CORE_ADDR_SLICE_KIND_H
#define SU_CORE_ADDR_SLICE_KIND_H

#include "flow_hash.h"
#include "ip.h"
#include "lookup.h"

/* su_found.managed's bit for "a source-derived service's filter refused the packet": su_owner_of
 * counts it as drop_ssa_source instead of drop_no_owner. */
#define SU_FOUND_FILTERED 2u

/* flowhash-1 (src/ssa/destination.ts deriveLow64, test/unit/ssa/flowhash1.c): the destination's
 * low 64 bits must be finish(step(step(step(k0, s_hi), s_lo), k1)) of the source's first
 * source-bits bits. Stateless: every packet is checked on its own. */
SU_INLINE int su_addr_conforms(const struct su_addr_meta *a, const struct su_ip *pkt,
			       uint64_t dlo)
{
	return su_flowhash1(a->k0, a->k1, a->src_mask_hi, a->src_mask_lo, pkt->saddr) == dlo;
}

/* The row index of a destination under service `a`: its `bits` bits after the prefix. The
 * prefix is at most /64, so the window starts in the first word; bits <= 20 never runs off. */
SU_INLINE uint32_t su_addr_index(const struct su_addr_meta *a, uint64_t hi, uint64_t lo)
{
	uint64_t w = a->prefix_len < 64 ? hi << a->prefix_len | lo >> (64 - a->prefix_len) : lo;

	return a->bits ? (uint32_t)(w >> (64 - a->bits)) : 0;
}

/* The service whose prefix holds the IPv6 destination `hi` (its first 64 bits), or NULL. Services
 * are disjoint (view_addr.c), so the first match decides. A loop of its own, apart from the row's
 * lookup: fewer values live at once, which keeps the XDP stage's frame small (512 bytes of stack
 * for the deepest chain of stages). */
SU_INLINE const struct su_addr_meta *su_addr_service_of(const struct su_meta *m, uint64_t hi)
{
	uint32_t count = m->addr_count;

	for (uint32_t i = 0; i < SU_ADDR_SERVICES_MAX; i++) {
		if (i >= count)
			return 0;
		if ((hi & m->addr[i].mask) == m->addr[i].prefix)
			return &m->addr[i];
	}
	return 0;
}

/* address-slice's case of the lookup stage. SU_LOOKUP_ADDRESS: whether a service holds the
 * destination. SU_LOOKUP_PORT: the slice's row's primary (and secondary: the old owner of a
 * slice in a move window, the hop of a 'glb' primary, route.h su_glb_hop), unless the service
 * filters sources and this destination does not conform: then its low-priority owner, or no
 * owner with SU_FOUND_FILTERED. */
SU_INLINE void su_addr_slice_find(su_tbl t, const struct su_meta *m, const struct su_ip *pkt,
				  uint32_t mode, struct su_found *out)
{
	const struct su_addr_meta *a;
	const struct su_flow_row *r;
	uint64_t lo;

	if (pkt->family != SU_FAMILY_IPV6)
		return;
	a = su_addr_service_of(m, su_load_be64(pkt->daddr));
	if (!a)
		return;
	out->managed |= 1;
	if (mode == SU_LOOKUP_ADDRESS)
		return;
	lo = su_load_be64(pkt->daddr + 8);
	if (a->filter != SU_ADDR_FILTER_NONE && !su_addr_conforms(a, pkt, lo)) {
		if (a->filter == SU_ADDR_FILTER_OWNER)
			out->owner = a->filter_owner;
		else
			out->managed |= SU_FOUND_FILTERED;
		return;
	}
	r = su_tbl_flow_row(t, a->row_first + su_addr_index(a, su_load_be64(pkt->daddr), lo));
	if (r) {
		out->owner = r->primary;
		out->secondary = r->secondary;
	}
}

#endif /* SU_CORE_ADDR_SLICE_KIND_H */
