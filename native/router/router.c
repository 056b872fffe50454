/* The fast path as each queue's batch handler, and the table publication it reads: one atomic
 * pointer, old tables freed after a grace period (reclaim.c), so that an update never stops or
 * drops traffic (DESIGN.md "Updates never stop the fast path"). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

/* The dropped packet `data` (as received) into the queue's capture ring. */
static void capture(struct su_router *r, uint32_t qi, const struct su_desc *d, const uint8_t *data,
		    enum su_route_counter fate, uint32_t owner, uint64_t generation, uint64_t now)
{
	struct su_capture_record rec = {
		.orig_len = d->len,
		.time_ns = now,
		.generation = generation,
		.fate = (uint16_t)fate,
		.queue = (uint16_t)r->queues[qi].queue_id,
		.owner = owner,
	};

	su_capture_ring_push(&r->rings[qi], &rec, data, d->len < r->snaplen ? d->len : r->snaplen);
}

/* Adds to a counter this thread alone writes: relaxed stores suffice for readers taking
 * snapshots (no read-modify-write needed, no torn values). */
static inline void bump(uint64_t *counter, uint64_t by)
{
	__atomic_store_n(counter, *counter + by, __ATOMIC_RELAXED);
}

/* What one batch needs besides its descriptors. */
struct batch {
	struct su_router *r;
	struct su_route_queue *rq;
	uint32_t qi;
	const struct su_view *view;
	uint64_t *stats; /* this queue's per-owner counters of the table in use */
	uint64_t now;    /* capture only: the batch's time */
	uint32_t tally[SU_ROUTE_COUNTER_COUNT];
};

/* The per-packet loop, compiled twice: `capturing` is a constant in each copy, so the copy that
 * runs while capture is off has no capture code at all. */
static __attribute__((always_inline)) inline void route_descs(struct batch *b,
							       struct su_desc *descs, uint32_t n,
							       const int capturing)
{
	struct su_router *r = b->r;

	for (uint32_t i = 0; i < n; i++) {
		struct su_desc *d = &descs[i];
		uint8_t *data = r->umem + d->addr;
		uint32_t len = d->len, owner;
		/* Everything between the frame's start and the packet is ours to prepend into: the
		 * kernel leaves XDP_PACKET_HEADROOM plus the configured headroom there. */
		uint32_t headroom = (uint32_t)(d->addr & r->frame_mask);
		enum su_route_counter fate =
			su_core_route_owner(b->view, b->rq->frags, &data, &len, headroom, &owner);

		b->tally[fate]++;
		if (owner != SU_OWNER_NONE) {
			uint64_t *o = b->stats + (size_t)owner * SU_OWNER_STATS + (size_t)fate * 2;

			bump(&o[SU_OWNER_STAT_PACKETS], 1);
			bump(&o[SU_OWNER_STAT_BYTES], SU_ROUTE_TRANSMITS(fate) ? len : d->len);
		}
		if (SU_ROUTE_TRANSMITS(fate)) {
			d->addr = (uint64_t)(data - r->umem);
			d->len = len;
			d->action = SU_ACTION_TRANSMIT;
		} else if (capturing) {
			/* Dropped frames are left as received (the core rewrites only what it sends). */
			capture(r, b->qi, d, r->umem + d->addr, fate, owner,
				b->view ? su_view_generation(b->view) : 0, b->now);
		}
	}
}

static void route_batch(void *ctx, struct su_queue *queue, struct su_desc *descs, uint32_t n)
{
	struct su_route_queue *rq = ctx;
	struct su_router *r = rq->router;
	/* One load per batch: the whole batch sees one table. */
	const struct su_route_table *table = __atomic_load_n(&r->current, __ATOMIC_ACQUIRE);
	struct batch b = { .r = r, .rq = rq, .qi = (uint32_t)(rq - r->queues) };

	(void)queue;
	if (table) {
		b.view = table->view;
		b.stats = table->owner_stats + (size_t)b.qi * table->owner_count * SU_OWNER_STATS;
	}
	/* Capture costs this one load and branch per batch while it is off. (The benchmark builds
	 * a copy without it, SU_BENCH_NO_CAPTURE, to show that: native/bench/core_bench.c.) */
#ifndef SU_BENCH_NO_CAPTURE
	if (__atomic_load_n(&r->capturing, __ATOMIC_RELAXED)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		b.now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		route_descs(&b, descs, n, 1);
	} else
#endif
	{
		route_descs(&b, descs, n, 0);
	}
	for (int c = 0; c < SU_ROUTE_COUNTER_COUNT; c++)
		if (b.tally[c])
			bump(&rq->counters[c], b.tally[c]);
}

/* A router over `umem` without workers yet: fragment tables per queue, no table. */
static int router_new(uint8_t *umem, uint32_t frame_size, uint32_t queue_count,
		      struct su_router **out, struct su_error *err)
{
	struct su_router *r;
	int ret;

	if (queue_count < 1 || queue_count > SU_MAX_QUEUES || frame_size < 2 ||
	    (frame_size & (frame_size - 1)))
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected 1 to %d queues and a power-of-two frame size but "
				    "received %u queues of %u-byte frames",
				    SU_MAX_QUEUES, queue_count, frame_size);
	r = calloc(1, sizeof(*r));
	if (!r)
		return su_error_set(err, "ERR_SYSCALL", ENOMEM, "calloc",
				    "Out of memory for the router");
	ret = su_router_sync_init(r, err);
	if (ret) {
		free(r);
		return ret;
	}
	r->umem = umem;
	r->frame_mask = frame_size - 1;
	r->mode = SU_MODE_EXPRESS;
	r->queue_count = queue_count;
	for (uint32_t i = 0; i < queue_count; i++) {
		r->queues[i].router = r;
		r->queues[i].queue_id = i;
		r->queues[i].frags = su_frag_table_new(SU_ROUTER_FRAG_ENTRIES);
		if (!r->queues[i].frags) {
			su_router_free(r);
			return su_error_set(err, "ERR_SYSCALL", ENOMEM, "calloc",
					    "Out of memory for the router's fragment tables");
		}
	}
	*out = r;
	return 0;
}

int su_router_create(struct su_port *port, struct su_router **out, struct su_error *err)
{
	struct su_router *r = NULL;
	uint64_t size;
	int ret;

	if (su_port_is_closed(port))
		return su_error_set(err, "ERR_CLOSED", 0, NULL, "The port on '%s' is closed",
				    su_port_config(port)->ifname);
	ret = router_new(su_port_umem(port, &size), su_port_config(port)->frame_size,
			 su_port_queue_count(port), &r, err);
	if (ret)
		return ret;
	r->port = port;
	ret = su_xdp_tables_open(su_port_bpf_object(port), su_port_config(port)->bpf_object_path,
				 &r->xdp, err);
	if (ret) {
		su_router_free(r);
		return ret;
	}
	r->has_xdp = true;
	ret = su_router_reclaimer_start(r, err);
	if (ret) {
		su_router_free(r);
		return ret;
	}
	for (uint32_t i = 0; i < r->queue_count; i++) {
		r->queues[i].queue = su_port_queue(port, i);
		r->queues[i].queue_id = su_queue_id(r->queues[i].queue);
		su_queue_set_handler(r->queues[i].queue, route_batch, &r->queues[i]);
	}
	*out = r;
	return 0;
}

int su_router_create_unbound(uint8_t *umem, uint32_t frame_size, uint32_t queue_count,
			     struct su_router **out, struct su_error *err)
{
	return router_new(umem, frame_size, queue_count, out, err);
}

void su_router_route_batch(struct su_router *r, uint32_t index, struct su_desc *descs, uint32_t n)
{
	route_batch(&r->queues[index], NULL, descs, n);
}

int su_router_set_next_hop(struct su_router *r, uint32_t owner, const uint8_t mac[6],
			   struct su_error *err)
{
	struct su_route_table *t = r->current;
	struct su_fwd rec;

	if (!t || !t->view)
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected a published table before a next hop changes");
	if (su_view_set_next_hop(t->view, owner, mac, &rec))
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected the index of a GUE owner of the table in use (0 to %u) but "
				    "received %u", t->owner_count ? t->owner_count - 1 : 0, owner);
	if (!r->has_xdp)
		return 0;
	{
		uint32_t n;
		const struct su_fwd *recs = su_view_fwds(t->view, &n);

		return su_xdp_tables_set_fwds(&r->xdp, recs, n, err);
	}
}

int su_router_set_mode(struct su_router *r, uint32_t mode, struct su_error *err)
{
	if (mode != SU_MODE_EXPRESS && mode != SU_MODE_AFXDP)
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected lane mode %d (express) or %d (AF_XDP) but received %u",
				    SU_MODE_EXPRESS, SU_MODE_AFXDP, mode);
	r->mode = mode;
	return 0;
}

int su_router_publish(struct su_router *r, struct su_view *view, struct su_error *err)
{
	struct su_route_table *old = r->current, *table = calloc(1, sizeof(*table));
	struct su_retired *ret = old ? calloc(1, sizeof(*ret)) : NULL;
	uint32_t owners = su_view_owner_count(view);
	struct su_router_finished xdp_old = { 0 };
	int failed;

	if (table)
		table->owner_stats = calloc((size_t)r->queue_count * (owners ? owners : 1),
					    SU_OWNER_STATS * sizeof(uint64_t));
	if (!table || !table->owner_stats || (old && !ret)) {
		free(ret);
		if (table)
			free(table->owner_stats);
		free(table);
		su_view_free(view);
		return su_error_set(err, "ERR_SYSCALL", ENOMEM, "calloc",
				    "Out of memory for the counters of a table of %u owners", owners);
	}
	/* The XDP lane first: once it has flipped and the packets on its old bank are done, the
	 * workers get packets it decided by the new table, and take the new table themselves. */
	failed = r->has_xdp ? su_xdp_tables_publish(&r->xdp, view, r->mode, &xdp_old, err) : 0;
	if (failed) {
		free(ret);
		free(table->owner_stats);
		free(table);
		su_view_free(view);
		return failed;
	}
	if (old && xdp_old.counters && xdp_old.generation == old->generation)
		old->xdp_final = xdp_old.counters;
	else
		free(xdp_old.counters);
	table->view = view;
	table->generation = su_view_generation(view);
	table->owner_count = owners;
	/* seq_cst pairs with the worker's seq_cst wake-up (su_queue_grace_done). */
	__atomic_store_n(&r->current, table, __ATOMIC_SEQ_CST);
	if (old) {
		ret->table = old;
		for (uint32_t i = 0; i < r->queue_count; i++)
			if (r->queues[i].queue)
				ret->snapshots[i] = su_queue_grace_begin(r->queues[i].queue);
		su_router_retire(r, ret);
	}
	return 0;
}

void su_router_free(struct su_router *r)
{
	if (!r)
		return;
	su_router_sync_destroy(r);
	if (r->has_xdp)
		su_xdp_tables_close(&r->xdp);
	while (r->retired) {
		struct su_retired *ret = r->retired;

		r->retired = ret->next;
		su_route_table_free(ret->table);
		free(ret);
	}
	for (uint32_t i = 0; i < r->finished_count; i++)
		su_route_table_free(r->finished[i]);
	su_route_table_free(r->current);
	for (uint32_t i = 0; i < r->queue_count; i++)
		su_frag_table_free(r->queues[i].frags);
	for (uint32_t i = 0; r->rings && i < r->queue_count; i++)
		su_capture_ring_destroy(&r->rings[i]);
	free(r->rings);
	free(r);
}
