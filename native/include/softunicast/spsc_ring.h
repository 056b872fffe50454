/* A single-producer single-consumer ring of frame descriptors between a worker thread and one
 * other thread (the JS thread). Used by native/xsk (submissions, the allocation reserve) and by
 * the addon (batches on their way to JS). Header-only so that the hot functions inline. */
#ifndef SOFTUNICAST_SPSC_RING_H
#define SOFTUNICAST_SPSC_RING_H

#include <stdint.h>
#include <stdlib.h>

#include "softunicast/xsk_port.h"

/* The two indices live on separate cache lines: each is written by one side only, and sharing a
 * line would make every push bounce it between the cores. Indices run freely and wrap at 2^32;
 * `mask` picks the slot, so the capacity must be a power of two. */
struct su_spsc_ring {
	uint32_t producer __attribute__((aligned(64)));
	uint32_t cached_consumer; /* producer's last view of `consumer`: saves shared-line reads */
	uint32_t consumer __attribute__((aligned(64)));
	uint32_t cached_producer;
	uint32_t mask __attribute__((aligned(64)));
	struct su_desc *slots;
};

static inline int su_spsc_init(struct su_spsc_ring *r, uint32_t min_capacity)
{
	uint32_t cap = 1;

	while (cap < min_capacity)
		cap <<= 1;
	r->slots = (struct su_desc *)calloc(cap, sizeof(*r->slots));
	if (!r->slots)
		return -1;
	r->mask = cap - 1;
	r->producer = r->consumer = r->cached_consumer = r->cached_producer = 0;
	return 0;
}

static inline void su_spsc_destroy(struct su_spsc_ring *r)
{
	free(r->slots);
	r->slots = NULL;
}

/* Producer side. The release store of `producer` publishes the slots written before it; the
 * acquire load of `consumer` makes sure the consumer is done reading a slot before we reuse it. */
static inline uint32_t su_spsc_push(struct su_spsc_ring *r, const struct su_desc *d, uint32_t n)
{
	uint32_t cap = r->mask + 1;
	uint32_t free_slots = cap - (r->producer - r->cached_consumer);

	if (free_slots < n) {
		r->cached_consumer = __atomic_load_n(&r->consumer, __ATOMIC_ACQUIRE);
		free_slots = cap - (r->producer - r->cached_consumer);
		if (n > free_slots)
			n = free_slots;
	}
	for (uint32_t i = 0; i < n; i++)
		r->slots[(r->producer + i) & r->mask] = d[i];
	/* seq_cst rather than release: a sleeping consumer's flag is read right after this store
	 * (su_queue_submit), and only a total order keeps that Dekker-style check from missing. */
	__atomic_store_n(&r->producer, r->producer + n, __ATOMIC_SEQ_CST);
	return n;
}

/* Consumer side: mirror image of push. */
static inline uint32_t su_spsc_pop(struct su_spsc_ring *r, struct su_desc *d, uint32_t n)
{
	uint32_t avail = r->cached_producer - r->consumer;

	if (avail < n) {
		r->cached_producer = __atomic_load_n(&r->producer, __ATOMIC_ACQUIRE);
		avail = r->cached_producer - r->consumer;
		if (n > avail)
			n = avail;
	}
	for (uint32_t i = 0; i < n; i++)
		d[i] = r->slots[(r->consumer + i) & r->mask];
	__atomic_store_n(&r->consumer, r->consumer + n, __ATOMIC_RELEASE);
	return n;
}

/* Either side: a snapshot of how many entries wait. Exact for the consumer, a lower bound of
 * free space for the producer. */
static inline uint32_t su_spsc_count(struct su_spsc_ring *r)
{
	return __atomic_load_n(&r->producer, __ATOMIC_SEQ_CST) -
	       __atomic_load_n(&r->consumer, __ATOMIC_ACQUIRE);
}

#endif /* SOFTUNICAST_SPSC_RING_H */
