/* See capture.h. Memory ordering as in softunicast/spsc_ring.h: the producer's release store of
 * `producer` publishes the bytes written before it; the consumer's release store of `consumer`
 * hands their room back only after it has copied them. */
#include "capture.h"

#include <stdlib.h>
#include <string.h>

#define RING_MASK (SU_CAPTURE_RING_BYTES - 1)
#define HDR ((uint32_t)sizeof(struct su_capture_record))

_Static_assert((SU_CAPTURE_RING_BYTES & RING_MASK) == 0, "the ring's size is a power of two");
_Static_assert(sizeof(struct su_capture_record) % 8 == 0, "records stay 8-byte aligned");

int su_capture_ring_init(struct su_capture_ring *ring)
{
	memset(ring, 0, sizeof(*ring));
	ring->data = aligned_alloc(64, SU_CAPTURE_RING_BYTES);
	return ring->data ? 0 : -1;
}

void su_capture_ring_destroy(struct su_capture_ring *ring)
{
	free(ring->data);
	ring->data = NULL;
}

static uint32_t padded(uint32_t n)
{
	return (n + 7u) & ~7u;
}

void su_capture_ring_push(struct su_capture_ring *ring, const struct su_capture_record *rec,
			  const uint8_t *packet, uint32_t cap_len)
{
	uint32_t producer = ring->producer;
	uint32_t used = producer - __atomic_load_n(&ring->consumer, __ATOMIC_ACQUIRE);
	uint32_t pos = producer & RING_MASK;
	uint32_t tail = SU_CAPTURE_RING_BYTES - pos;
	uint32_t need = HDR + padded(cap_len);
	struct su_capture_record *out;

	/* A record never straddles the end: the rest of the ring is skipped first (a wrap record
	 * says so; a tail shorter than a header says so by itself). */
	if (tail < need) {
		if (SU_CAPTURE_RING_BYTES - used < tail + need)
			goto lost;
		if (tail >= HDR) {
			struct su_capture_record wrap = { .record_len = tail, .fate = SU_CAPTURE_WRAP };

			memcpy(ring->data + pos, &wrap, HDR);
		}
		producer += tail;
		used += tail;
		pos = 0;
	}
	if (SU_CAPTURE_RING_BYTES - used < need)
		goto lost;
	out = (struct su_capture_record *)(ring->data + pos);
	*out = *rec;
	out->record_len = need;
	out->cap_len = cap_len;
	memcpy(ring->data + pos + HDR, packet, cap_len);
	__atomic_store_n(&ring->producer, producer + need, __ATOMIC_RELEASE);
	return;
lost:
	/* Only the producer writes `lost`; relaxed, as the other counters. */
	__atomic_store_n(&ring->lost, ring->lost + 1, __ATOMIC_RELAXED);
	/* A wrap decided above is not published: the next push decides again. */
}

uint32_t su_capture_ring_drain(struct su_capture_ring *ring, uint8_t *out, uint32_t size)
{
	uint32_t consumer = ring->consumer;
	uint32_t producer = __atomic_load_n(&ring->producer, __ATOMIC_ACQUIRE);
	uint32_t copied = 0;

	while (consumer != producer) {
		uint32_t pos = consumer & RING_MASK, tail = SU_CAPTURE_RING_BYTES - pos;
		const struct su_capture_record *rec = (const struct su_capture_record *)(ring->data + pos);

		if (tail < HDR || rec->fate == SU_CAPTURE_WRAP) {
			consumer += tail;
			continue;
		}
		if (copied + rec->record_len > size)
			break;
		memcpy(out + copied, rec, rec->record_len);
		copied += rec->record_len;
		consumer += rec->record_len;
	}
	__atomic_store_n(&ring->consumer, consumer, __ATOMIC_RELEASE);
	return copied;
}
