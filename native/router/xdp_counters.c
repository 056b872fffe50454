/* The XDP lane's counters read back (bpf/maps.h): its fates per CPU, and the per-owner counters
 * of a bank, summed over CPUs. Used by router/stats.c and, for a retired bank's final counts,
 * by xdp_tables.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "xdp_maps.h"

/* Adds bank `bank`'s per-owner counters, summed over CPUs, into `out`. */
int su_xdp_add_stats(const struct su_xdp_tables *x, int fd, uint32_t owners, uint64_t *out,
		     struct su_error *err)
{
	struct su_owner_stats *v = calloc((size_t)x->cpus, sizeof(*v));

	if (!v)
		return su_error_set(err, "ERR_SYSCALL", ENOMEM, "calloc", "Out of memory");
	for (uint32_t o = 0; o < owners; o++) {
		int ret = bpf_map_lookup_elem(fd, &o, v);

		if (ret)
			continue; /* an owner without its key: nothing counted for it */
		for (int c = 0; c < x->cpus; c++)
			for (int i = 0; i < SU_OWNER_STATS; i++)
				out[(size_t)o * SU_OWNER_STATS + i] += v[c].v[i];
	}
	free(v);
	return 0;
}

int su_xdp_tables_route_counters(const struct su_xdp_tables *x,
				 uint64_t out[SU_ROUTE_COUNTER_COUNT], struct su_error *err)
{
	uint64_t per_cpu[x->cpus];

	for (uint32_t key = 0; key < SU_ROUTE_COUNTER_COUNT; key++) {
		int ret;

		memset(per_cpu, 0, sizeof(per_cpu));
		ret = bpf_map_lookup_elem(x->route_counters, &key, per_cpu);
		if (ret)
			return su_error_set(err, "ERR_SYSCALL", -ret, "bpf_map_lookup_elem",
					    "Could not read the XDP lane's counter %u", key);
		out[key] = 0;
		for (int c = 0; c < x->cpus; c++)
			out[key] += per_cpu[c];
	}
	return 0;
}

int su_xdp_tables_owner_counters(const struct su_xdp_tables *x, uint64_t *out, uint32_t owners,
				 struct su_error *err)
{
	int fd = x->stats_fd[x->bank & 1];

	if (fd < 0)
		return 0;
	if (owners > x->owner_count[x->bank & 1])
		owners = x->owner_count[x->bank & 1];
	return su_xdp_add_stats(x, fd, owners, out, err);
}
