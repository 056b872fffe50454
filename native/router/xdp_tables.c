/* See xdp_tables.h. Map layouts and roles: bpf/maps.h. Every table gets inner maps of its own
 * size (BPF_F_INNER_MAP for the arrays): filled aside, installed in the idle bank's slots, and
 * only then made live by the bank flip, so that no packet reads a half-filled table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdp_tables.h"

/* Batch updates in chunks: the kernel copies each batch into a buffer of its own. */
#define SU_BATCH 65536

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
	    (ret = map_fd(obj, path, "su_frags", &x->frags, err)))
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

/* A new inner map for a table of `entries` (at least 1: a map cannot be empty). */
static int inner_map(enum bpf_map_type type, const char *name, uint32_t key_size,
		     uint32_t value_size, uint32_t entries, uint32_t flags, struct su_error *err)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
	int fd = bpf_map_create(type, name, key_size, value_size, entries ? entries : 1, &opts);

	if (fd < 0)
		su_error_set(err, "ERR_SYSCALL", -fd, "bpf_map_create",
			     "Could not make the XDP program's map %s of %u entries", name, entries);
	return fd;
}

/* Writes `n` entries, keys and values back to back in the two arrays, in batches. */
static int fill(int fd, const char *name, const void *keys, uint32_t key_size, const void *values,
		uint32_t value_size, uint32_t n, struct su_error *err)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	for (uint32_t at = 0; at < n;) {
		uint32_t count = n - at < SU_BATCH ? n - at : SU_BATCH;
		int ret = bpf_map_update_batch(fd, (const uint8_t *)keys + (size_t)at * key_size,
					       (const uint8_t *)values + (size_t)at * value_size,
					       &count, &opts);

		if (ret)
			return su_error_set(err, "ERR_SYSCALL", -ret, "bpf_map_update_batch",
					    "Could not fill the XDP program's map %s (%u of %u written)",
					    name, at, n);
		at += count;
	}
	return 0;
}

/* The maps of one table, made and filled; fds -1 until made. */
struct bank_maps {
	int keys, ranges, fwd, peers, stats;
};

static void close_maps(struct bank_maps *m)
{
	int *fds[] = { &m->keys, &m->ranges, &m->fwd, &m->peers, &m->stats };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static int make_keys(const struct su_view *view, struct bank_maps *m, struct su_error *err)
{
	uint32_t n = su_view_key_count(view);
	struct su_key_id *ids = calloc(n ? n : 1, sizeof(*ids));
	struct su_key_ranges *r = calloc(n ? n : 1, sizeof(*r));
	int ret = -ENOMEM;

	if (!ids || !r) {
		su_error_set(err, "ERR_SYSCALL", ENOMEM, "calloc", "Out of memory for %u keys", n);
		goto out;
	}
	for (uint32_t i = 0; i < n; i++)
		su_view_key(view, i, &ids[i], &r[i]);
	m->keys = inner_map(BPF_MAP_TYPE_HASH, "su_keys_t", sizeof(*ids), sizeof(*r), n, 0, err);
	ret = m->keys < 0 ? m->keys :
			    fill(m->keys, "su_keys", ids, sizeof(*ids), r, sizeof(*r), n, err);
out:
	free(ids);
	free(r);
	return ret;
}

/* An ARRAY inner map (BPF_F_INNER_MAP: its size may differ from the template's) of `n` values,
 * written through a shared mapping of the map (BPF_F_MMAPABLE, as the templates in bpf/maps.h):
 * the kernel lays its elements out at a stride of value_size rounded up to 8 (arraymap.c). */
static int make_array(const char *name, const void *values, uint32_t value_size, uint32_t n,
		      int *fd, struct su_error *err)
{
	size_t stride = ((size_t)value_size + 7) & ~(size_t)7, bytes = stride * (n ? n : 1);
	uint8_t *mem;

	*fd = inner_map(BPF_MAP_TYPE_ARRAY, name, sizeof(uint32_t), value_size, n,
			BPF_F_INNER_MAP | BPF_F_MMAPABLE, err);
	if (*fd < 0)
		return *fd;
	mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (mem == MAP_FAILED)
		return su_error_set(err, "ERR_SYSCALL", errno, "mmap",
				    "Could not map the XDP program's map %s of %u entries to fill it",
				    name, n);
	if (stride == value_size) {
		memcpy(mem, values, (size_t)value_size * n);
	} else {
		for (uint32_t i = 0; i < n; i++)
			memcpy(mem + i * stride, (const uint8_t *)values + (size_t)i * value_size,
			       value_size);
	}
	munmap(mem, bytes);
	return 0;
}

static int make_peers(const struct su_view *view, struct bank_maps *m, struct su_error *err)
{
	uint32_t n, one = 1;
	const struct su_peer *peers = su_view_peers(view, &n);

	m->peers = inner_map(BPF_MAP_TYPE_HASH, "su_peers_t", sizeof(struct su_peer_key),
			     sizeof(uint32_t), n, 0, err);
	if (m->peers < 0)
		return m->peers;
	for (uint32_t i = 0; i < n; i++) {
		struct su_peer_key k = { .family = peers[i].family };
		int ret;

		memcpy(k.addr, peers[i].addr, 16);
		ret = bpf_map_update_elem(m->peers, &k, &one, BPF_ANY);
		if (ret)
			return su_error_set(err, "ERR_SYSCALL", -ret, "bpf_map_update_elem",
					    "Could not fill the XDP program's map su_peers");
	}
	return 0;
}

/* Per-owner counters of the XDP lane: a per-CPU hash with every owner's key in it, zeroed. */
static int make_stats(const struct su_xdp_tables *x, uint32_t owners, struct bank_maps *m,
		      struct su_error *err)
{
	size_t per_cpu = sizeof(struct su_owner_stats);
	uint8_t *zeros = calloc((size_t)x->cpus, per_cpu);

	m->stats = inner_map(BPF_MAP_TYPE_PERCPU_HASH, "su_owner_stats_t", sizeof(uint32_t),
			     (uint32_t)per_cpu, owners, 0, err);
	for (uint32_t o = 0; zeros && m->stats >= 0 && o < owners; o++) {
		int ret = bpf_map_update_elem(m->stats, &o, zeros, BPF_ANY);

		if (ret) {
			free(zeros);
			return su_error_set(err, "ERR_SYSCALL", -ret, "bpf_map_update_elem",
					    "Could not fill the XDP program's per-owner counters");
		}
	}
	free(zeros);
	return m->stats < 0 ? m->stats : 0;
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
static int install(const struct su_xdp_tables *x, uint32_t bank, const struct bank_maps *m,
		   struct su_error *err)
{
	const int outer[] = { x->keys, x->ranges, x->fwd, x->peers, x->owner_stats };
	const int inner[] = { m->keys, m->ranges, m->fwd, m->peers, m->stats };

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

/* Adds bank `bank`'s per-owner counters, summed over CPUs, into `out`. */
static int add_stats(const struct su_xdp_tables *x, int fd, uint32_t owners, uint64_t *out,
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

int su_xdp_tables_publish(struct su_xdp_tables *x, const struct su_view *view, uint32_t mode,
			  struct su_router_finished *retired, struct su_error *err)
{
	uint32_t idle = (x->bank & 1) ^ 1, old = x->bank & 1, n_ranges, n_fwd;
	const struct su_port_range *ranges = su_view_ranges(view, &n_ranges);
	const struct su_fwd *fwd = su_view_fwds(view, &n_fwd);
	const struct su_meta *meta = su_view_meta(view);
	struct bank_maps m = { -1, -1, -1, -1, -1 };
	int ret;

	memset(retired, 0, sizeof(*retired));
	if ((ret = make_keys(view, &m, err)) ||
	    (ret = make_array("su_ranges_t", ranges, sizeof(*ranges), n_ranges, &m.ranges, err)) ||
	    (ret = make_array("su_fwd_t", fwd, sizeof(*fwd), n_fwd, &m.fwd, err)) ||
	    (ret = make_peers(view, &m, err)) || (ret = make_stats(x, n_fwd, &m, err)) ||
	    (ret = bpf_map_update_elem(x->meta, &idle, meta, BPF_ANY) ?
			   su_error_set(err, "ERR_SYSCALL", errno, "bpf_map_update_elem",
					"Could not write the XDP program's table header") :
			   0) ||
	    (ret = write_trusted(x, view, idle, err)) || (ret = install(x, idle, &m, err))) {
		close_maps(&m);
		return ret;
	}
	x->mode = mode;
	ret = flip(x, idle, err);
	if (ret) {
		close_maps(&m);
		return ret;
	}
	/* The old bank's counters are final now: no packet runs on it any more. */
	if (x->stats_fd[old] >= 0) {
		retired->generation = x->generation[old];
		retired->owner_count = x->owner_count[old];
		retired->counters = calloc((size_t)(x->owner_count[old] ? x->owner_count[old] : 1),
					   SU_OWNER_STATS * sizeof(uint64_t));
		if (retired->counters)
			add_stats(x, x->stats_fd[old], x->owner_count[old], retired->counters, err);
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
	close_maps(&m);
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
	ret = make_array("su_fwd_t", recs, sizeof(*recs), n, &fd, err);
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
	return add_stats(x, fd, owners, out, err);
}
