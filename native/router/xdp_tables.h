/* The XDP program's tables (bpf/maps.h): a built view's forms (softunicast/tables.h) written into
 * the idle bank of the maps, the bank flipped with one store, the old one retired after an RCU
 * grace period; the XDP lane's counters read back. Used by router.c and the BPF_PROG_TEST_RUN
 * tool (native/test/steer_run.c). */
#ifndef SU_ROUTER_XDP_TABLES_H
#define SU_ROUTER_XDP_TABLES_H

#include <stdbool.h>
#include <stdint.h>

#include "softunicast/core.h"
#include "softunicast/router.h"

struct bpf_object;

/* The maps of one loaded steer object, and what this process knows of their banks. */
struct su_xdp_tables {
	int control, meta, trusted, keys, ranges, fwd, peers, owner_stats, route_counters, grace,
		grace_token, frags, flow_services, flow_rows;
	int cpus;
	uint32_t bank;    /* the live bank, as written last */
	uint32_t mode;    /* SU_MODE_* written last */
	uint32_t capture_drops;
	/* Per bank: the table's generation and owner count, and its per-owner counters' map
	 * (-1 when this process put no table there). */
	uint64_t generation[2];
	uint32_t owner_count[2];
	int stats_fd[2];
	/* Per bank: the forwarding records' map of this process's table (-1 when none). */
	int fwd_fd[2];
};

/* Finds the maps of `obj` (loaded). `path` names the object in errors. */
int su_xdp_tables_open(struct bpf_object *obj, const char *path, struct su_xdp_tables *x,
		       struct su_error *err);
void su_xdp_tables_close(struct su_xdp_tables *x);

/* Makes `view` the XDP program's table, in `mode` (SU_MODE_EXPRESS or SU_MODE_AFXDP): every
 * map of the idle bank made anew and filled, then the bank flipped, then the packets still on
 * the old bank waited out. A failure before the flip leaves the live table as it was. When the
 * flipped-out bank held a table of this process, `*retired` receives its final per-owner
 * counters (malloc'd; the caller frees `counters`), else retired->counters is NULL. */
int su_xdp_tables_publish(struct su_xdp_tables *x, const struct su_view *view, uint32_t mode,
			  struct su_router_finished *retired, struct su_error *err);
/* The live table's forwarding records replaced by `recs` (`n` of them: a next hop's new MAC
 * address): a new map, swapped in for the old one in one step. */
int su_xdp_tables_set_fwds(struct su_xdp_tables *x, const struct su_fwd *recs, uint32_t n,
			   struct su_error *err);
/* Drops go to the workers (whose drop capture writes them down) while `on`. */
int su_xdp_tables_capture_drops(struct su_xdp_tables *x, bool on, struct su_error *err);

/* The XDP lane's fates, summed over CPUs, indexed by enum su_route_counter. */
int su_xdp_tables_route_counters(const struct su_xdp_tables *x,
				 uint64_t out[SU_ROUTE_COUNTER_COUNT], struct su_error *err);
/* The live table's per-owner counters of the XDP lane, summed over CPUs, added into `out`
 * ([owner][SU_OWNER_STATS], owner_count of them). */
int su_xdp_tables_owner_counters(const struct su_xdp_tables *x, uint64_t *out, uint32_t owners,
				 struct su_error *err);

#endif /* SU_ROUTER_XDP_TABLES_H */
