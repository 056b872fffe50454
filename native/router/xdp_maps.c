/* Making and filling the inner maps of one table of the XDP program (bpf/maps.h): keys,
 * ranges, forwarding records, peers, per-owner counters, flow-hash services and rows. Each table gets maps of its own size
 * (BPF_F_INNER_MAP for the arrays), filled aside before xdp_tables.c installs them in the idle
 * bank. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdp_maps.h"

/* Batch updates in chunks: the kernel copies each batch into a buffer of its own. */
#define SU_BATCH 65536

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

void su_bank_maps_close(struct su_bank_maps *m)
{
	int *fds[] = { &m->keys,  &m->ranges,	     &m->fwd,	   &m->peers,
		       &m->stats, &m->flow_services, &m->flow_rows };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static int make_keys(const struct su_view *view, struct su_bank_maps *m, struct su_error *err)
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
int su_xdp_make_array(const char *name, const void *values, uint32_t value_size, uint32_t n,
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

static int make_peers(const struct su_view *view, struct su_bank_maps *m, struct su_error *err)
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

/* The flow-hash kind's services (with their address entries) and rows: the view's own index,
 * so that both lanes find the same services. */
static int make_flow(const struct su_view *view, struct su_bank_maps *m, struct su_error *err)
{
	uint32_t n;
	uint64_t rows;
	const struct su_flow_key *keys;
	const struct su_flow_svc *svcs;
	static const struct su_flow_row none;
	const struct su_flow_row *r = su_view_flow_rows(view, &rows);
	struct su_flow_key *k = NULL;
	struct su_flow_svc *v = NULL;
	int ret;

	su_view_flow_entries(view, 0, &n, NULL, NULL);
	k = calloc(n ? n : 1, sizeof(*k));
	v = calloc(n ? n : 1, sizeof(*v));
	if (!k || !v) {
		ret = su_error_set(err, "ERR_SYSCALL", ENOMEM, "calloc",
				   "Out of memory for %u flow-hash services", n);
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		su_view_flow_entries(view, i, NULL, &keys, &svcs);
		k[i] = *keys;
		v[i] = *svcs;
	}
	m->flow_services = inner_map(BPF_MAP_TYPE_HASH, "su_flow_svc_t", sizeof(*k), sizeof(*v),
				     n, 0, err);
	ret = m->flow_services < 0 ? m->flow_services :
				     fill(m->flow_services, "su_flow_services", k, sizeof(*k), v,
					  sizeof(*v), n, err);
	if (!ret)
		ret = su_xdp_make_array("su_flow_rows_t", r ? r : &none, sizeof(*r), (uint32_t)rows,
					&m->flow_rows, err);
out:
	free(k);
	free(v);
	return ret;
}

/* Per-owner counters of the XDP lane: a per-CPU hash with every owner's key in it, zeroed. */
static int make_stats(const struct su_xdp_tables *x, uint32_t owners, struct su_bank_maps *m,
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

int su_bank_maps_make(const struct su_xdp_tables *x, const struct su_view *view,
		      struct su_bank_maps *m, struct su_error *err)
{
	uint32_t n_ranges, n_fwd;
	const struct su_port_range *ranges = su_view_ranges(view, &n_ranges);
	const struct su_fwd *fwd = su_view_fwds(view, &n_fwd);
	int ret;

	if ((ret = make_keys(view, m, err)) ||
	    (ret = su_xdp_make_array("su_ranges_t", ranges, sizeof(*ranges), n_ranges, &m->ranges,
				     err)) ||
	    (ret = su_xdp_make_array("su_fwd_t", fwd, sizeof(*fwd), n_fwd, &m->fwd, err)) ||
	    (ret = make_peers(view, m, err)) || (ret = make_stats(x, n_fwd, m, err)) ||
	    (ret = make_flow(view, m, err)))
		su_bank_maps_close(m);
	return ret;
}
