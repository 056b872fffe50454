/* Drop capture of the router (softunicast/router.h): the worker lane copies dropped packets into
 * per-queue rings (capture.c) while a capture runs, and the XDP lane hands its drops to the
 * workers meanwhile (su_control.capture_drops), so that every lane's drops are written down. */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

int su_router_capture_start(struct su_router *r, uint32_t snaplen, struct su_error *err)
{
	if (snaplen < 1 || snaplen > SU_CAPTURE_SNAPLEN_MAX)
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected a snap length from 1 to %d bytes but received %u",
				    SU_CAPTURE_SNAPLEN_MAX, snaplen);
	if (!r->rings) {
		struct su_capture_ring *rings = calloc(r->queue_count, sizeof(*rings));

		for (uint32_t i = 0; rings && i < r->queue_count; i++) {
			if (su_capture_ring_init(&rings[i])) {
				while (i--)
					su_capture_ring_destroy(&rings[i]);
				free(rings);
				rings = NULL;
			}
		}
		if (!rings)
			return su_error_set(err, "ERR_SYSCALL", ENOMEM, "aligned_alloc",
					    "Out of memory for %u drop capture rings of %u bytes",
					    r->queue_count, SU_CAPTURE_RING_BYTES);
		r->rings = rings;
	}
	/* The workers read the snap length only after they see the flag set. */
	r->snaplen = snaplen;
	__atomic_store_n(&r->capturing, 1, __ATOMIC_SEQ_CST);
	return r->has_xdp ? su_xdp_tables_capture_drops(&r->xdp, true, err) : 0;
}

void su_router_capture_stop(struct su_router *r)
{
	struct su_error err;

	if (r->has_xdp)
		su_xdp_tables_capture_drops(&r->xdp, false, &err);
	__atomic_store_n(&r->capturing, 0, __ATOMIC_SEQ_CST);
}

uint32_t su_router_capture_drain(struct su_router *r, uint8_t *out, uint32_t size, uint64_t *lost)
{
	uint32_t copied = 0;

	*lost = 0;
	for (uint32_t i = 0; r->rings && i < r->queue_count; i++) {
		copied += su_capture_ring_drain(&r->rings[i], out + copied, size - copied);
		*lost += __atomic_load_n(&r->rings[i].lost, __ATOMIC_RELAXED);
	}
	return copied;
}
