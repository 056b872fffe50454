/* Internals of native/router shared by its files: the router, its tables and queues. Nothing
 * outside native/router includes this. */
#ifndef SU_ROUTER_INTERNAL_H
#define SU_ROUTER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "softunicast/router.h"
#include "xdp_tables.h"

/* Per-queue state, written by that queue's worker only. */
struct su_route_queue {
	struct su_router *router;
	struct su_queue *queue; /* NULL in an unbound router */
	uint32_t queue_id;      /* the RX queue index, for capture records */
	/* Where this queue's fragmented datagrams went (their pieces share a queue: RSS hashes
	 * fragments on the addresses alone). */
	struct su_frag_table *frags;
	uint64_t counters[SU_ROUTE_COUNTER_COUNT];
};

/* Fragmented datagrams in flight a queue keeps track of: 4096 entries, 256 KiB per queue. */
#define SU_ROUTER_FRAG_ENTRIES 4096

/* A table in service: the view, and its per-owner counters, [queue][owner][SU_OWNER_STATS].
 * The counters live and die with the table, so that an owner's index always means the owner of
 * the table that counted it; the addon adds them up by name across tables. */
struct su_route_table {
	struct su_view *view; /* NULL once finished */
	uint64_t generation;
	uint32_t owner_count;
	uint64_t *owner_stats;
	/* The XDP lane's final per-owner counters of this table, [owner][SU_OWNER_STATS], once
	 * its bank was flipped out; NULL before (or without an XDP program). */
	uint64_t *xdp_final;
};

/* A table taken out of service, and where every worker was when that happened. */
struct su_retired {
	struct su_retired *next;
	struct su_route_table *table;
	uint64_t snapshots[SU_MAX_QUEUES];
};

struct su_router {
	struct su_port *port;
	uint8_t *umem;
	uint64_t frame_mask; /* frame_size - 1: a frame's start from any offset in it (aligned UMEM) */
	/* Written by the publisher, loaded (acquire) once per batch. */
	struct su_route_table *current;
	/* `lock` guards `retired` and `finished`: the publisher retires tables, the reclaimer thread
	 * (reclaim.c) finishes them, the addon takes their counters. */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* a table was retired, or the router stops */
	pthread_t reclaimer;
	bool sync_ready, reclaimer_running, stopping;
	struct su_retired *retired;
	/* Tables every worker has left, with their final counters, until su_router_take_finished. */
	struct su_route_table *finished[SU_ROUTER_FINISHED_MAX];
	uint32_t finished_count;
	uint32_t queue_count;
	/* Drop capture: `capturing` is loaded once per batch; the rings exist from the first
	 * su_router_capture_start on. */
	uint32_t capturing;
	uint32_t snaplen;
	struct su_capture_ring *rings;
	/* The XDP program's tables, when the port has one (not an unbound router). */
	bool has_xdp;
	uint32_t mode; /* SU_MODE_EXPRESS or SU_MODE_AFXDP */
	struct su_xdp_tables xdp;
	struct su_route_queue queues[SU_MAX_QUEUES];
};

void su_route_table_free(struct su_route_table *t);
/* Sums a table's counters of both lanes into out[owner][SU_OWNER_STATS]: the workers' per-queue
 * counts, and the XDP lane's final ones when its bank has been flipped out. */
void su_route_table_sum(const struct su_router *r, const struct su_route_table *t, uint64_t *out);

/* reclaim.c: the lock and the reclaimer thread (a bound router's only: an unbound router's
 * batches run on the caller's thread, so its retired tables are free at once). */
int su_router_sync_init(struct su_router *r, struct su_error *err);
int su_router_reclaimer_start(struct su_router *r, struct su_error *err);
/* Stops the reclaimer; then nothing but the caller touches the router. */
void su_router_sync_destroy(struct su_router *r);
/* Puts `ret` (its table and snapshots filled in) on the retired list and frees what it can;
 * the reclaimer frees the rest as the workers move on. */
void su_router_retire(struct su_router *r, struct su_retired *ret);

#endif /* SU_ROUTER_INTERNAL_H */
