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

/* Makes `view` the table every worker uses from its next batch on: one atomic pointer store.
 * The router owns `view` from now on; the previous one is freed once no worker can still be
 * reading it (su_router_reclaim). Call from one thread (the JS thread). */
void su_router_publish(struct su_router *router, struct su_view *view);
/* Frees the retired tables no worker can still read. Returns how many remain retired. */
uint32_t su_router_reclaim(struct su_router *router);

/* Generation of the table in use; 0 before the first publish. */
uint64_t su_router_generation(const struct su_router *router);
/* Fate counters of the queue at `index` (position in the port, not the RX queue id). */
void su_router_counters(const struct su_router *router, uint32_t index,
			uint64_t out[SU_ROUTE_COUNTER_COUNT]);

/* The port must be closed (workers joined). Frees every table. */
void su_router_free(struct su_router *router);

#ifdef __cplusplus
}
#endif

#endif /* SOFTUNICAST_ROUTER_H */
