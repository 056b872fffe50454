/* The fast path as each queue's batch handler, and the table publication it reads: one atomic
 * pointer, old tables freed after a grace period (su_queue_grace_*), so that an update never
 * stops or drops traffic (DESIGN.md "Updates never stop the fast path"). */
#include <errno.h>
#include <stdlib.h>

#include "softunicast/router.h"

/* Per-queue state, written by that queue's worker only. */
struct su_route_queue {
	struct su_router *router;
	struct su_queue *queue;
	/* Where this queue's fragmented datagrams went (their pieces share a queue: RSS hashes
	 * fragments on the addresses alone). */
	struct su_frag_table *frags;
	uint64_t counters[SU_ROUTE_COUNTER_COUNT];
};

/* Fragmented datagrams in flight a queue keeps track of: 4096 entries, 256 KiB per queue. */
#define SU_ROUTER_FRAG_ENTRIES 4096

/* A table taken out of service, and where every worker was when that happened. */
struct su_retired {
	struct su_retired *next;
	struct su_view *view;
	uint64_t snapshots[SU_MAX_QUEUES];
};

struct su_router {
	struct su_port *port;
	uint8_t *umem;
	uint64_t frame_mask; /* frame_size - 1: a frame's start from any offset in it (aligned UMEM) */
	struct su_view *current; /* written by the publisher, loaded (acquire) once per batch */
	struct su_retired *retired;
	uint32_t queue_count;
	struct su_route_queue queues[SU_MAX_QUEUES];
};

static void route_batch(void *ctx, struct su_queue *queue, struct su_desc *descs, uint32_t n)
{
	struct su_route_queue *rq = ctx;
	struct su_router *r = rq->router;
	/* One load per batch: the whole batch sees one table. */
	const struct su_view *view = __atomic_load_n(&r->current, __ATOMIC_ACQUIRE);
	uint32_t tally[SU_ROUTE_COUNTER_COUNT] = { 0 };

	(void)queue;
	for (uint32_t i = 0; i < n; i++) {
		struct su_desc *d = &descs[i];
		uint8_t *data = r->umem + d->addr;
		uint32_t len = d->len;
		/* Everything between the frame's start and the packet is ours to prepend into: the
		 * kernel leaves XDP_PACKET_HEADROOM plus the configured headroom there. */
		uint32_t headroom = (uint32_t)(d->addr & r->frame_mask);
		enum su_route_counter fate = su_core_route_frags(view, rq->frags, &data, &len, headroom);

		tally[fate]++;
		if (SU_ROUTE_TRANSMITS(fate)) {
			d->addr = (uint64_t)(data - r->umem);
			d->len = len;
			d->action = SU_ACTION_TRANSMIT;
		}
	}
	/* Single writer: relaxed stores are enough for readers taking snapshots. */
	for (int c = 0; c < SU_ROUTE_COUNTER_COUNT; c++)
		if (tally[c])
			__atomic_store_n(&rq->counters[c], rq->counters[c] + tally[c], __ATOMIC_RELAXED);
}

int su_router_create(struct su_port *port, struct su_router **out, struct su_error *err)
{
	struct su_router *r;
	uint64_t size;

	if (su_port_is_closed(port))
		return su_error_set(err, "ERR_CLOSED", 0, NULL, "The port on '%s' is closed",
				    su_port_config(port)->ifname);
	r = calloc(1, sizeof(*r));
	if (!r)
		return su_error_set(err, "ERR_SYSCALL", ENOMEM, "calloc",
				    "Out of memory for the router");
	r->port = port;
	r->umem = su_port_umem(port, &size);
	r->frame_mask = su_port_config(port)->frame_size - 1;
	r->queue_count = su_port_queue_count(port);
	for (uint32_t i = 0; i < r->queue_count; i++) {
		r->queues[i].frags = su_frag_table_new(SU_ROUTER_FRAG_ENTRIES);
		if (!r->queues[i].frags) {
			su_router_free(r);
			return su_error_set(err, "ERR_SYSCALL", ENOMEM, "calloc",
					    "Out of memory for the router's fragment tables");
		}
	}
	for (uint32_t i = 0; i < r->queue_count; i++) {
		r->queues[i].router = r;
		r->queues[i].queue = su_port_queue(port, i);
		su_queue_set_handler(r->queues[i].queue, route_batch, &r->queues[i]);
	}
	*out = r;
	return 0;
}

void su_router_publish(struct su_router *r, struct su_view *view)
{
	struct su_view *old = r->current;

	/* seq_cst pairs with the worker's seq_cst wake-up (su_queue_grace_done). */
	__atomic_store_n(&r->current, view, __ATOMIC_SEQ_CST);
	if (old) {
		struct su_retired *ret = calloc(1, sizeof(*ret));

		if (!ret) {
			/* Cannot track it: leaking one table beats freeing it under a reader. */
			su_router_reclaim(r);
			return;
		}
		ret->view = old;
		for (uint32_t i = 0; i < r->queue_count; i++)
			ret->snapshots[i] = su_queue_grace_begin(r->queues[i].queue);
		ret->next = r->retired;
		r->retired = ret;
	}
	su_router_reclaim(r);
}

uint32_t su_router_reclaim(struct su_router *r)
{
	struct su_retired **link = &r->retired;
	uint32_t remaining = 0;

	while (*link) {
		struct su_retired *ret = *link;
		bool done = true;

		for (uint32_t i = 0; i < r->queue_count && done; i++)
			done = su_queue_grace_done(r->queues[i].queue, ret->snapshots[i]);
		if (done) {
			*link = ret->next;
			su_view_free(ret->view);
			free(ret);
		} else {
			link = &ret->next;
			remaining++;
		}
	}
	return remaining;
}

uint64_t su_router_generation(const struct su_router *r)
{
	const struct su_view *view = __atomic_load_n(&r->current, __ATOMIC_ACQUIRE);

	return view ? su_view_generation(view) : 0;
}

void su_router_counters(const struct su_router *r, uint32_t index,
			uint64_t out[SU_ROUTE_COUNTER_COUNT])
{
	for (int c = 0; c < SU_ROUTE_COUNTER_COUNT; c++)
		out[c] = index < r->queue_count ?
				 __atomic_load_n(&r->queues[index].counters[c], __ATOMIC_RELAXED) :
				 0;
}

void su_router_free(struct su_router *r)
{
	if (!r)
		return;
	while (r->retired) {
		struct su_retired *ret = r->retired;

		r->retired = ret->next;
		su_view_free(ret->view);
		free(ret);
	}
	su_view_free(r->current);
	for (uint32_t i = 0; i < r->queue_count; i++)
		su_frag_table_free(r->queues[i].frags);
	free(r);
}
