/* The one core in the AF_XDP workers (softunicast/core.h): su_core_route and its variants run
 * route.h's stages against the view in memory (user.h). No allocation, no logging, loops bounded
 * by header counts: the same code the XDP program runs (bpf/steer.bpf.c). */
#include "user_route.h"

/* Decides and rewrites one packet; the fate as the worker lane sees it: a packet meant for the
 * kernel cannot be handed to it from here (drop_local). */
static inline __attribute__((always_inline)) enum su_route_counter
route(const struct su_view *view, struct su_frag_table *frags, uint8_t **data, uint32_t *len,
      uint32_t headroom, uint32_t *owner, int for_xdp)
{
	struct su_buf b = { .data = *data, .end = *data + *len, .headroom = headroom };
	struct su_ip outer, inner;
	struct su_verdict v;
	enum su_route_counter fate = su_route_decide(view, frags, &b, &outer, &inner, &v);

	*owner = v.owner;
	if (SU_ROUTE_PASSES(fate) || fate == SU_ROUTE_decap_local) {
		if (!for_xdp)
			return SU_ROUTE_drop_local;
	}
	fate = su_route_apply(view, &b, &outer, &inner, &v, fate);
	*data = b.data;
	*len = su_len(&b);
	return fate;
}

enum su_route_counter su_core_route_owner(const struct su_view *view, struct su_frag_table *frags,
					  uint8_t **data, uint32_t *len, uint32_t headroom,
					  uint32_t *owner)
{
	return route(view, frags, data, len, headroom, owner, 0);
}

enum su_route_counter su_core_route_frags(const struct su_view *view, struct su_frag_table *frags,
					  uint8_t **data, uint32_t *len, uint32_t headroom)
{
	uint32_t owner;

	return route(view, frags, data, len, headroom, &owner, 0);
}

enum su_route_counter su_core_route(const struct su_view *view, uint8_t **data, uint32_t *len,
				    uint32_t headroom)
{
	uint32_t owner;

	return route(view, NULL, data, len, headroom, &owner, 0);
}

enum su_route_counter su_core_route_as_xdp(const struct su_view *view, struct su_frag_table *frags,
					   uint8_t **data, uint32_t *len, uint32_t headroom,
					   uint32_t *owner)
{
	return route(view, frags, data, len, headroom, owner, 1);
}
