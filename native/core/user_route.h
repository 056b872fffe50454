/* The one core's packet path (route.h) with the workers' stages: each inline, where the XDP
 * program makes each a function of its own (bpf/steer.bpf.c). Included by route.c and by the
 * tools that run single stages of the path in user space (native/bench/core_bench.c). */
#ifndef SU_CORE_USER_ROUTE_H
#define SU_CORE_USER_ROUTE_H

#include "user.h"

#include "route.h"

SU_INLINE enum su_route_counter su_stage_parse_frame(const struct su_buf *b, struct su_ip *out)
{
	return su_parse_frame(b, out);
}

SU_INLINE enum su_route_counter su_stage_unwrap(su_tbl t, const struct su_buf *b,
						const struct su_ip *outer, struct su_ip *inner)
{
	return su_gue_unwrap(t, b, outer, inner);
}

SU_INLINE uint32_t su_stage_owner_of(su_tbl t, su_frag_state f, const struct su_ip *pkt, int decap,
				     uint32_t *hop, enum su_route_counter *miss)
{
	return su_owner_of(t, f, su_tbl_meta(t), pkt, decap, hop, miss);
}

SU_INLINE void su_stage_kind(su_tbl t, const struct su_meta *m, uint32_t kind,
			     const struct su_ip *pkt, uint32_t mode, struct su_found *out)
{
	su_kind_lookup(t, m, kind, pkt, mode, out);
}

SU_INLINE void su_stage_flow_hash(su_tbl t, const struct su_meta *m, const struct su_ip *pkt,
				  uint32_t mode, struct su_found *out)
{
	su_flow_hash_find(t, m, pkt, mode, out);
}

SU_INLINE void su_stage_addr_slice(su_tbl t, const struct su_meta *m, const struct su_ip *pkt,
				   uint32_t mode, struct su_found *out)
{
	su_addr_slice_find(t, m, pkt, mode, out);
}

#endif /* SU_CORE_USER_ROUTE_H */
