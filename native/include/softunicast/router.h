/* The soft-unicast router: the fast path (softunicast/core.h) running as the batch handler of
 * every queue of a port, with tables published RCU-style. Plain C; used by the addon's
 * NativeRouter and by the C tests and benchmarks. */
#ifndef SOFTUNICAST_ROUTER_H
#define SOFTUNICAST_ROUTER_H

#include <stdint.h>

#include "softunicast/core.h"
#include "softunicast/xsk_port.h"

#ifdef __cplusplus
extern "C" {
#endif

struct su_router;

/* Installs the fast path as the handler of every queue of `port` (before or after
 * su_port_start). Until the first publish every packet counts as drop_no_table. The router
 * must be freed only after the port is closed (its workers read it). */
int su_router_create(struct su_port *port, struct su_router **out, struct su_error *err);

/* A router without a port, over `umem` (frames of `frame_size` bytes, a power of two, each
 * packet with its headroom inside its frame) with `queue_count` queues whose batches the caller
 * runs with su_router_route_batch on its own thread: for benchmarks and tests of the batch
 * handler itself. Publish, counters and drop capture work as with a port. */
int su_router_create_unbound(uint8_t *umem, uint32_t frame_size, uint32_t queue_count,
			     struct su_router **out, struct su_error *err);
/* Queue `index`'s batch handler, as a worker runs it on the descriptors it received. */
void su_router_route_batch(struct su_router *router, uint32_t index, struct su_desc *descs,
			   uint32_t n);

/* Which lane finishes packets (SU_MODE_EXPRESS: the XDP program where it can, the default;
 * SU_MODE_AFXDP: the workers), from the next publish on. */
int su_router_set_mode(struct su_router *router, uint32_t mode, struct su_error *err);

/* Owner `owner` (an index of the table in use) is reached through a next hop with the MAC
 * address `mac` from now on, in both lanes, without a publish: its forwarding record is
 * worked out anew and written over the live one (su_view_set_next_hop), in the workers' view and
 * in the XDP program's map. The neighbour follower's fast way; a table published later carries
 * the MAC address in its image. The publishing thread. */
int su_router_set_next_hop(struct su_router *router, uint32_t owner, const uint8_t mac[6],
			   struct su_error *err);

/* Makes `view` the table of both lanes: the XDP program's maps (a bank flip) and then every
 * worker's, from its next batch on (one atomic pointer store). The router owns `view` from now
 * on, also when it fails (the previous table stays in use in both lanes then). The previous one
 * is retired: the router frees it itself once no worker can still be reading it (a thread of
 * its own waits for the workers), keeping its per-owner counters for su_router_take_finished.
 * Call from one thread (the JS thread). */
int su_router_publish(struct su_router *router, struct su_view *view, struct su_error *err);
/* Frees at once the retired tables no worker can still read (the router's thread would, soon).
 * Returns how many remain retired. */
uint32_t su_router_reclaim(struct su_router *router);
/* How many replaced tables wait for a worker to leave them; frees nothing. */
uint32_t su_router_retired_count(struct su_router *router);

/* Per-owner counters (softunicast/abi.h, SU_OWNER_STATS per owner) of the table in use, summed
 * over queues: `out` holds su_router_owner_count() * SU_OWNER_STATS values. */
uint32_t su_router_owner_count(const struct su_router *router);
void su_router_owner_counters(const struct su_router *router, uint64_t *out);

/* Tables no worker reads any more, with their final per-owner counters: at most this many
 * wait to be taken; beyond that the oldest one's counts are given up. */
#define SU_ROUTER_FINISHED_MAX 64
struct su_router_finished {
	uint64_t generation;
	uint32_t owner_count;
	uint64_t *counters; /* owner_count * SU_OWNER_STATS values, malloc'd: the caller frees */
};
/* Moves up to `max` finished tables' counters to `out`, oldest first; returns how many. */
uint32_t su_router_take_finished(struct su_router *router, struct su_router_finished *out,
				 uint32_t max);

/* Drop capture: from the next batch on, every packet the fast path drops is copied (at most
 * `snaplen` bytes) into its queue's ring, until su_router_capture_stop. */
int su_router_capture_start(struct su_router *router, uint32_t snaplen, struct su_error *err);
void su_router_capture_stop(struct su_router *router);
/* Copies waiting records (struct su_capture_record + data) into `out` (at most `size` bytes),
 * frees their room; `*lost` is every record that found no room so far. Returns bytes copied. */
uint32_t su_router_capture_drain(struct su_router *router, uint8_t *out, uint32_t size,
				 uint64_t *lost);

/* Generation of the table in use; 0 before the first publish. */
uint64_t su_router_generation(const struct su_router *router);
/* Fates the XDP lane finished, summed over CPUs (zeros without an XDP program). */
int su_router_xdp_counters(const struct su_router *router, uint64_t out[SU_ROUTE_COUNTER_COUNT],
			   struct su_error *err);
/* Fate counters of the queue at `index` (position in the port, not the RX queue id). */
void su_router_counters(const struct su_router *router, uint32_t index,
			uint64_t out[SU_ROUTE_COUNTER_COUNT]);

/* What the router would do with the frame at buf + headroom of *len bytes (headroom at least
 * SU_CORE_MAX_GROWTH): the one core under the table in use, as the XDP program decides, with the
 * XDP program's fragment memory (read, never written). The frame is rewritten in place: on
 * return it starts at buf + *offset and is *len bytes (what is sent, or what the kernel gets);
 * *owner as su_core_route_owner. The caller's thread, the one that publishes. */
enum su_route_counter su_router_explain(struct su_router *router, uint8_t *buf, uint32_t headroom,
					uint32_t *len, uint32_t *offset, uint32_t *owner);

/* The port must be closed (workers joined). Frees every table. */
void su_router_free(struct su_router *router);

#ifdef __cplusplus
}
#endif

#endif /* SOFTUNICAST_ROUTER_H */
