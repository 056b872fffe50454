/* What the router counts (softunicast/router.h): the table's generation, the fates of each
 * queue, and per owner the packets and bytes of both lanes, live and for finished tables. */
#include <stdlib.h>

#include "internal.h"

uint64_t su_router_generation(const struct su_router *r)
{
	const struct su_route_table *t = __atomic_load_n(&r->current, __ATOMIC_ACQUIRE);

	return t ? su_view_generation(t->view) : 0;
}

void su_route_table_sum(const struct su_router *r, const struct su_route_table *t, uint64_t *out)
{
	size_t per_queue = (size_t)t->owner_count * SU_OWNER_STATS;

	for (size_t i = 0; i < per_queue; i++) {
		uint64_t sum = t->xdp_final ? t->xdp_final[i] : 0;

		for (uint32_t q = 0; q < r->queue_count; q++)
			sum += __atomic_load_n(&t->owner_stats[q * per_queue + i], __ATOMIC_RELAXED);
		out[i] = sum;
	}
}

uint32_t su_router_owner_count(const struct su_router *r)
{
	return r->current ? r->current->owner_count : 0;
}

void su_router_owner_counters(const struct su_router *r, uint64_t *out)
{
	struct su_error err;

	if (!r->current)
		return;
	su_route_table_sum(r, r->current, out);
	/* The live bank of the XDP lane: the same table, the same owner indexes. */
	if (r->has_xdp)
		su_xdp_tables_owner_counters(&r->xdp, out, r->current->owner_count, &err);
}

uint32_t su_router_take_finished(struct su_router *r, struct su_router_finished *out, uint32_t max)
{
	uint32_t n = 0;

	pthread_mutex_lock(&r->lock);
	while (n < max && n < r->finished_count) {
		struct su_route_table *t = r->finished[n];

		out[n].generation = t->generation;
		out[n].owner_count = t->owner_count;
		out[n].counters = malloc((size_t)(t->owner_count ? t->owner_count : 1) *
					 SU_OWNER_STATS * sizeof(uint64_t));
		if (!out[n].counters)
			break;
		su_route_table_sum(r, t, out[n].counters);
		su_route_table_free(t);
		n++;
	}
	for (uint32_t i = n; i < r->finished_count; i++)
		r->finished[i - n] = r->finished[i];
	r->finished_count -= n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

void su_router_counters(const struct su_router *r, uint32_t index,
			uint64_t out[SU_ROUTE_COUNTER_COUNT])
{
	for (int c = 0; c < SU_ROUTE_COUNTER_COUNT; c++)
		out[c] = index < r->queue_count ?
				 __atomic_load_n(&r->queues[index].counters[c], __ATOMIC_RELAXED) :
				 0;
}

int su_router_xdp_counters(const struct su_router *r, uint64_t out[SU_ROUTE_COUNTER_COUNT],
			   struct su_error *err)
{
	if (!r->has_xdp) {
		for (int c = 0; c < SU_ROUTE_COUNTER_COUNT; c++)
			out[c] = 0;
		return 0;
	}
	return su_xdp_tables_route_counters(&r->xdp, out, err);
}
