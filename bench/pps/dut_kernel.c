/* The in-kernel reference of the pps bench (fwd.bpf.c): loads it, fills its slice map from the
 * same compiled image the router runs on, attaches it with a BPF link, reads its counters. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dut.h"
#include "fwd.h"

static const char *fwd_names[] = {
#define FWD_X(name, doc) #name,
	FWD_COUNTERS(FWD_X)
#undef FWD_X
};

struct image {
	const struct su_table_header *h;
	const struct su_owner *owners;
	const struct su_slice_key *keys;
	const struct su_port_range *ranges;
};

static struct image sections(const void *data)
{
	const uint8_t *p = data;
	struct image im;

	im.h = data;
	p += sizeof(*im.h) + im.h->trusted_count * sizeof(struct su_prefix);
	im.owners = (const void *)p;
	p += im.h->owner_count * sizeof(struct su_owner);
	im.keys = (const void *)p;
	p += im.h->key_count * sizeof(struct su_slice_key);
	im.ranges = (const void *)p;
	return im;
}

static int fill(int slices_fd, int host_fd, const struct image *im, struct su_error *err)
{
	struct fwd_host host = { 0 };
	uint32_t zero = 0;

	memcpy(host.mac, im->h->host.mac, 6);
	memcpy(host.ipv4, im->h->host.ipv4, 4);
	host.seed = im->h->host.flow_hash_seed;
	if (bpf_map_update_elem(host_fd, &zero, &host, BPF_ANY))
		return su_error_set(err, "ERR_SYSCALL", errno, "bpf", "Could not set fwd_host");
	for (uint32_t k = 0; k < im->h->key_count; k++) {
		const struct su_slice_key *key = &im->keys[k];

		if (key->family != SU_FAMILY_IPV4 || key->prefix_len != 32)
			return su_error_set(err, "ERR_INVALID_TABLE", 0, NULL,
					    "The reference takes IPv4 /32 keys only (key %u)", k);
		for (uint32_t r = key->range_first; r < key->range_first + key->range_count; r++) {
			const struct su_port_range *range = &im->ranges[r];
			const struct su_owner *o = &im->owners[range->owner];
			struct fwd_owner value = { .kind = o->kind, .gue_port = htons(o->gue_port) };
			struct fwd_key fk = { .protocol = key->protocol };
			uint32_t mask = (1u << FWD_SLICE_SHIFT) - 1;

			if ((range->first & mask) || (range->last & mask) != mask)
				return su_error_set(err, "ERR_INVALID_TABLE", 0, NULL,
						    "The reference takes aligned %u-port slices only "
						    "(ports %u-%u)", mask + 1, range->first,
						    range->last);
			memcpy(value.next_hop_mac, o->next_hop_mac, 6);
			memcpy(value.endpoint, o->endpoint, 4);
			memcpy(fk.addr, key->addr, 4);
			for (uint32_t s = range->first >> FWD_SLICE_SHIFT;
			     s <= (uint32_t)range->last >> FWD_SLICE_SHIFT; s++) {
				fk.slice = (uint16_t)s;
				if (bpf_map_update_elem(slices_fd, &fk, &value, BPF_ANY))
					return su_error_set(err, "ERR_SYSCALL", errno, "bpf",
							    "Could not fill fwd_slices");
			}
		}
	}
	return 0;
}

int dut_kernel_start(struct dut *d, struct su_error *err)
{
	const struct dut_file *image = &d->files[DUT_FILE_image];
	struct bpf_program *prog;
	struct bpf_map *slices;
	struct su_view *view;
	struct image im;
	int ret, ifindex = (int)if_nametoindex(d->cfg.ifname);

	/* The image is checked whole before its sections are walked. */
	ret = su_view_build(image->data, image->size, &view, err);
	if (ret)
		return ret;
	su_view_free(view);
	im = sections(image->data);
	if (!ifindex)
		return su_error_set(err, "ERR_INTERFACE_NOT_FOUND", errno, "if_nametoindex",
				    "No interface '%s'", d->cfg.ifname);
	d->fwd_obj = bpf_object__open_file(d->fwd_path, NULL);
	if (!d->fwd_obj)
		return su_error_set(err, "ERR_BPF_LOAD", errno, "bpf", "Could not open %s",
				    d->fwd_path);
	slices = bpf_object__find_map_by_name(d->fwd_obj, "fwd_slices");
	prog = bpf_object__find_program_by_name(d->fwd_obj, "pps_fwd");
	/* One entry per 4096-port slice: 16 per key at most. */
	if (!slices || !prog || bpf_map__set_max_entries(slices, 16 * im.h->key_count + 1) ||
	    bpf_object__load(d->fwd_obj))
		return su_error_set(err, "ERR_BPF_LOAD", errno, "bpf", "Could not load %s",
				    d->fwd_path);
	ret = fill(bpf_map__fd(slices), bpf_object__find_map_fd_by_name(d->fwd_obj, "fwd_host"),
		   &im, err);
	if (ret)
		return ret;
	d->fwd_link = bpf_program__attach_xdp(prog, ifindex);
	if (!d->fwd_link)
		return su_error_set(err, "ERR_SYSCALL", errno, "bpf_link_create",
				    "Could not attach %s to '%s'", d->fwd_path, d->cfg.ifname);
	return 0;
}

void dut_kernel_stats(struct dut *d)
{
	int fd = bpf_object__find_map_fd_by_name(d->fwd_obj, "fwd_counters");
	int cpus = libbpf_num_possible_cpus();
	uint64_t total[FWD_COUNTER_COUNT] = { 0 };
	uint64_t *per_cpu = cpus > 0 ? calloc((size_t)cpus, sizeof(*per_cpu)) : NULL;

	for (uint32_t k = 0; per_cpu && k < FWD_COUNTER_COUNT; k++) {
		if (bpf_map_lookup_elem(fd, &k, per_cpu))
			continue;
		for (int c = 0; c < cpus; c++)
			total[k] += per_cpu[c];
	}
	free(per_cpu);
	dut_print_counters("fwd", fwd_names, total, FWD_COUNTER_COUNT);
}
