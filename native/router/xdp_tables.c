/* See xdp_tables.h. Map layouts and roles: bpf/maps.h. Every table gets inner maps of its own
 * size (xdp_maps.c): filled aside, installed here in the idle bank's slots, and only then made
 * live by the bank flip, so that no packet reads a half-filled table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdp_maps.h"

static int map_fd(struct bpf_object *obj, const char *path, const char *name, int *fd,
		  struct su_error *err)
{
	*fd = bpf_object__find_map_fd_by_name(obj, name);
	if (*fd < 0)
		return su_error_set(err, "ERR_BPF_LOAD", ENOENT, NULL,
				    "The XDP object '%s' has no map '%s': it was built from other "
				    "sources than this addon",
				    path, name);
	return 0;
}

/* Where the program is now: a new object starts in capture mode on bank 0, one whose maps came
 * pinned from an earlier process (native/xsk/pin.c) on whatever that process published last,
 * which keeps forwarding until this one publishes into the other bank. That table's per-owner
 * counters belong to the earlier process: they are not counted here. */
static int read_control(struct su_xdp_tables *x, struct su_error *err)
{
	struct su_control c;
	uint32_t zero = 0;
	int ret = bpf_map_lookup_elem(x->control, &zero, &c);

	if (ret)
		return su_error_set(err, "ERR_SYSCALL", -ret, "bpf_map_lookup_elem",
				    "Could not read the XDP program's control word");
	x->bank = c.bank & 1;
	x->capture_drops = 0;
	return 0;
}

int su_xdp_tables_open(struct bpf_object *obj, const char *path, struct su_xdp_tables *x,
		       struct su_error *err)
{
	int ret;

	memset(x, 0, sizeof(*x));
	x->stats_fd[0] = x->stats_fd[1] = -1;
	x->fwd_fd[0] = x->fwd_fd[1] = -1;
	x->cpus = libbpf_num_possible_cpus();
	if (x->cpus <= 0)
		return su_error_set(err, "ERR_SYSCALL", -x->cpus, "libbpf_num_possible_cpus",
				    "Could not count the possible CPUs");
	if ((ret = map_fd(obj, path, "su_control", &x->control, err)) ||
	    (ret = map_fd(obj, path, "su_meta", &x->meta, err)) ||
	    (ret = map_fd(obj, path, "su_trusted", &x->trusted, err)) ||
	    (ret = map_fd(obj, path, "su_keys", &x->keys, err)) ||
	    (ret = map_fd(obj, path, "su_ranges", &x->ranges, err)) ||
	    (ret = map_fd(obj, path, "su_fwd", &x->fwd, err)) ||
	    (ret = map_fd(obj, path, "su_peers", &x->peers, err)) ||
	    (ret = map_fd(obj, path, "su_owner_stats", &x->owner_stats, err)) ||
	    (ret = map_fd(obj, path, "su_route_counters", &x->route_counters, err)) ||
	    (ret = map_fd(obj, path, "su_grace", &x->grace, err)) ||
	    (ret = map_fd(obj, path, "su_grace_token", &x->grace_token, err)) ||
	    (ret = map_fd(obj, path, "su_frags", &x->frags, err)) ||
	    (ret = map_fd(obj, path, "su_flow_services", &x->flow_services, err)) ||
	    (ret = map_fd(obj, path, "su_flow_rows", &x->flow_rows, err)))
		return ret;
	return read_control(x, err);
}

void su_xdp_tables_close(struct su_xdp_tables *x)
{
	for (int b = 0; b < 2; b++) {
		if (x->stats_fd[b] >= 0)
			close(x->stats_fd[b]);
		if (x->fwd_fd[b] >= 0)
			close(x->fwd_fd[b]);
		x->stats_fd[b] = x->fwd_fd[b] = -1;
	}
}

static int write_trusted(const struct su_xdp_tables *x, const struct su_view *view, uint32_t bank,
			 struct su_error *err)
{
	uint32_t n;
	const struct su_prefix *p = su_view_trusted_prefixes(view, &n);
	static const struct su_prefix none;

	/* Every slot of the bank: a shorter list than last time must not leave old prefixes. */
	for (uint32_t i = 0; i < SU_TRUSTED_PEERS_MAX; i++) {
		uint32_t key = bank * SU_TRUSTED_PEERS_MAX + i;
		int ret = bpf_map_update_elem(x->trusted, &key, i < n ? &p[i] : &none, BPF_ANY);

		if (ret)
			return su_error_set(err, "ERR_SYSCALL", -ret, "bpf_map_update_elem",
					    "Could not write trusted peer %u of the XDP program", i);
	}
	return 0;
}

/* Installs `m` in bank `bank`'s slots. */
static int install(const struct su_xdp_tables *x, uint32_t bank, const struct su_bank_maps *m,
		   struct su_error *err)
{
	const int outer[] = { x->keys,	      x->ranges,	x->fwd,	       x->peers,
			      x->owner_stats, x->flow_services, x->flow_rows };
	const int inner[] = { m->keys,	m->ranges,	  m->fwd,	m->peers,
			      m->stats, m->flow_services, m->flow_rows };

	for (size_t i = 0; i < sizeof(outer) / sizeof(outer[0]); i++) {
		int ret = bpf_map_update_elem(outer[i], &bank, &inner[i], BPF_ANY);

		if (ret)
			return su_error_set(err, "ERR_SYSCALL", -ret, "bpf_map_update_elem",
					    "Could not install a new table in the XDP program");
	}
	return 0;
}

/* Writes the control word, then waits until no run of the program that could have read the
 * old one is still going: replacing a map-in-map's inner map makes the bpf() call wait for an
 * RCU grace period (bpf/maps.h, su_grace). */
static int flip(struct su_xdp_tables *x, uint32_t bank, struct su_error *err)
{
	struct su_control c = { .bank = bank, .mode = x->mode, .capture_drops = x->capture_drops };
	uint32_t zero = 0;
	int ret = bpf_map_update_elem(x->control, &zero, &c, BPF_ANY);

	if (ret)
		return su_error_set(err, "ERR_SYSCALL", -ret, "bpf_map_update_elem",
				    "Could not switch the XDP program to its new table");
	ret = bpf_map_update_elem(x->grace, &zero, &x->grace_token, BPF_ANY);
	if (ret)
		return su_error_set(err, "ERR_SYSCALL", -ret, "bpf_map_update_elem",
				    "The new table is live, but waiting for packets still on the old "
				    "one failed");
	x->bank = bank;
	return 0;
}

int su_xdp_tables_publish(struct su_xdp_tables *x, const struct su_view *view, uint32_t mode,
			  struct su_router_finished *retired, struct su_error *err)
{
	uint32_t idle = (x->bank & 1) ^ 1, old = x->bank & 1, n_fwd;
	const struct su_meta *meta = su_view_meta(view);
	struct su_bank_maps m = { -1, -1, -1, -1, -1, -1, -1 };
	int ret;

	memset(retired, 0, sizeof(*retired));
	su_view_fwds(view, &n_fwd);
	if ((ret = su_bank_maps_make(x, view, &m, err)) ||
	    (ret = bpf_map_update_elem(x->meta, &idle, meta, BPF_ANY) ?
			   su_error_set(err, "ERR_SYSCALL", errno, "bpf_map_update_elem",
					"Could not write the XDP program's table header") :
			   0) ||
	    (ret = write_trusted(x, view, idle, err)) || (ret = install(x, idle, &m, err))) {
		su_bank_maps_close(&m);
		return ret;
	}
	x->mode = mode;
	ret = flip(x, idle, err);
	if (ret) {
		su_bank_maps_close(&m);
		return ret;
	}
	/* The old bank's counters are final now: no packet runs on it any more. */
	if (x->stats_fd[old] >= 0) {
		retired->generation = x->generation[old];
		retired->owner_count = x->owner_count[old];
		retired->counters = calloc((size_t)(x->owner_count[old] ? x->owner_count[old] : 1),
					   SU_OWNER_STATS * sizeof(uint64_t));
		if (retired->counters)
			su_xdp_add_stats(x, x->stats_fd[old], x->owner_count[old], retired->counters, err);
		close(x->stats_fd[old]);
		x->stats_fd[old] = -1;
	}
	x->generation[idle] = meta->generation;
	x->owner_count[idle] = n_fwd;
	x->stats_fd[idle] = m.stats;
	m.stats = -1;
	if (x->fwd_fd[old] >= 0)
		close(x->fwd_fd[old]);
	x->fwd_fd[old] = -1;
	x->fwd_fd[idle] = m.fwd;
	m.fwd = -1;
	/* The outer maps hold the rest; the kernel frees them when their slots are replaced. */
	su_bank_maps_close(&m);
	return 0;
}

int su_xdp_tables_set_fwds(struct su_xdp_tables *x, const struct su_fwd *recs, uint32_t n,
			   struct su_error *err)
{
	uint32_t live = x->bank & 1;
	int fd = -1, ret;

	if (x->fwd_fd[live] < 0 || n != x->owner_count[live])
		return 0; /* no table of this process is live: the next publish carries it */
	/* A map of its own, put in the live bank's slot in one step (the kernel swaps the inner
	 * map's pointer): a packet reads the old records or the new ones, never a mix. */
	ret = su_xdp_make_array("su_fwd_t", recs, sizeof(*recs), n, &fd, err);
	if (!ret && bpf_map_update_elem(x->fwd, &live, &fd, BPF_ANY))
		ret = su_error_set(err, "ERR_SYSCALL", errno, "bpf_map_update_elem",
				   "Could not give the XDP program its new forwarding records");
	if (ret) {
		if (fd >= 0)
			close(fd);
		return ret;
	}
	close(x->fwd_fd[live]);
	x->fwd_fd[live] = fd;
	return 0;
}

int su_xdp_tables_capture_drops(struct su_xdp_tables *x, bool on, struct su_error *err)
{
	struct su_control c = { .bank = x->bank, .mode = x->mode, .capture_drops = on };
	uint32_t zero = 0;
	int ret;

	/* Before the first table the mode is capture rules: nothing the XDP lane drops. */
	if (x->stats_fd[x->bank & 1] < 0) {
		x->capture_drops = on;
		return 0;
	}
	ret = bpf_map_update_elem(x->control, &zero, &c, BPF_ANY);
	if (ret)
		return su_error_set(err, "ERR_SYSCALL", -ret, "bpf_map_update_elem",
				    "Could not tell the XDP program about the drop capture");
	x->capture_drops = on;
	return 0;
}
