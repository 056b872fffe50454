/* Drop capture rings (record layout: struct su_capture_record, softunicast/abi.h): one per queue,
 * the queue's worker the only writer, the JS thread the only reader. Private to native/router. */
#ifndef SU_ROUTER_CAPTURE_H
#define SU_ROUTER_CAPTURE_H

#include <stdint.h>

#include "softunicast/abi.h"

/* Byte offsets run freely and wrap at 2^32; the ring's size is a power of two that divides 2^32,
 * so `offset & (size - 1)` stays right across the wrap. Producer and consumer offsets sit on
 * lines of their own: each is written by one side only. */
struct su_capture_ring {
	uint32_t producer __attribute__((aligned(64)));
	uint64_t lost; /* records that found no room; written by the producer only */
	uint32_t consumer __attribute__((aligned(64)));
	uint8_t *data __attribute__((aligned(64)));
};

int su_capture_ring_init(struct su_capture_ring *ring);
void su_capture_ring_destroy(struct su_capture_ring *ring);

/* Producer: appends one record (header fields from `rec`, record_len and cap_len filled in here)
 * and `cap_len` bytes of `packet`. Counts it lost when the ring has no room. */
void su_capture_ring_push(struct su_capture_ring *ring, const struct su_capture_record *rec,
			  const uint8_t *packet, uint32_t cap_len);

/* Consumer: copies whole records, in order and without wrap markers, into `out` (at most
 * `size` bytes) and frees their room. Returns the bytes copied. */
uint32_t su_capture_ring_drain(struct su_capture_ring *ring, uint8_t *out, uint32_t size);

#endif /* SU_ROUTER_CAPTURE_H */
