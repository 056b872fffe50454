/* Internals of the XDP program's tables shared by xdp_tables.c (publishing), xdp_maps.c (making
 * one table's inner maps) and xdp_counters.c (reading counters back). Nothing outside
 * native/router includes this. */
#ifndef SU_ROUTER_XDP_MAPS_H
#define SU_ROUTER_XDP_MAPS_H

#include "xdp_tables.h"

/* The inner maps of one table, made and filled; fds -1 until made. */
struct su_bank_maps {
	int keys, ranges, fwd, peers, stats, flow_services, flow_rows;
};

/* Makes and fills every inner map of `view`'s table; on failure closes what it made. */
int su_bank_maps_make(const struct su_xdp_tables *x, const struct su_view *view,
		      struct su_bank_maps *m, struct su_error *err);
void su_bank_maps_close(struct su_bank_maps *m);
/* An ARRAY inner map of `n` values of `value_size` bytes, written through a shared mapping. */
int su_xdp_make_array(const char *name, const void *values, uint32_t value_size, uint32_t n,
		      int *fd, struct su_error *err);
/* Adds the per-owner counters of the map `fd` (a bank's), summed over CPUs, into `out`. */
int su_xdp_add_stats(const struct su_xdp_tables *x, int fd, uint32_t owners, uint64_t *out,
		     struct su_error *err);

#endif /* SU_ROUTER_XDP_MAPS_H */
