/* What the router would do with one frame (su_router_explain, softunicast/router.h): the one core,
 * under the table both lanes use now, as the XDP program decides, with the XDP program's
 * fragment memory, read and never written: a later fragment follows its first exactly as the
 * data path would send it. Runs on the caller's thread (the addon's), never on a worker's. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "../core/user_route.h"
#include "internal.h"

static uint64_t monotonic(void)
{
	struct timespec ts;

	/* The clock of bpf_ktime_get_ns(), which dated the entries. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A table of one entry: where the XDP program sent the first piece of `pkt`'s datagram, if it
 * remembers (the entry as it would find it: unexpired, of this table). */
static void remembered(const struct su_router *r, const struct su_ip *pkt, uint64_t generation,
		       struct su_frag_table *into)
{
	struct su_frag_value v;
	struct su_frag_key k;

	if (!r->has_xdp || r->xdp.frags < 0 || pkt->fragment != SU_FRAGMENT_LATER)
		return;
	su_frag_key_of(pkt, &k);
	if (bpf_map_lookup_elem(r->xdp.frags, &k, &v) || v.expires_ns <= monotonic() ||
	    v.generation != generation)
		return;
	su_frag_table_save(into, &k, generation, v.owner);
}

enum su_route_counter su_router_explain(struct su_router *r, uint8_t *buf, uint32_t headroom,
					uint32_t *len, uint32_t *offset, uint32_t *owner)
{
	const struct su_route_table *t = __atomic_load_n(&r->current, __ATOMIC_ACQUIRE);
	struct su_frag_table *frags = su_frag_table_new(2);
	struct su_buf b = { .data = buf + headroom, .end = buf + headroom + *len, .headroom = headroom };
	struct su_ip outer, inner;
	struct su_verdict v;
	enum su_route_counter fate;
	uint8_t *data = buf + headroom;

	*owner = SU_OWNER_NONE;
	*offset = headroom;
	if (!t) {
		su_frag_table_free(frags);
		return SU_ROUTE_drop_no_table;
	}
	/* Decided once without fragment memory to learn which datagram it is about (the inner one
	 * of GUE for this host); then for real, with what the XDP program remembers of it. */
	fate = su_route_decide(t->view, NULL, &b, &outer, &inner, &v);
	/* (Without memory for the table, later fragments are explained as unplaced.) */
	if (fate == SU_ROUTE_drop_fragment && frags)
		remembered(r, v.decap ? &inner : &outer, t->generation, frags);
	fate = su_core_route_as_xdp(t->view, frags, &data, len, headroom, owner);
	*offset = (uint32_t)(data - buf);
	su_frag_table_free(frags);
	return fate;
}
