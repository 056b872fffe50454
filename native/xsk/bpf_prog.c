/* Our XDP program on the port's interface: loaded from bpf/steer.bpf.o, attached through a BPF
 * link (never libxdp's dispatcher, which fails to load on this kernel: FACTS.md), plus access to
 * its maps: capture rules and the local view in, counters out. */
#include <errno.h>
#include <linux/if_link.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"

static int load_error(struct su_error *err, int ret, const char *what, const char *path)
{
	const char *log = su_log_capture_end();

	if (ret == -EPERM || ret == -EACCES)
		return su_error_set(err, "ERR_PERMISSION_DENIED", ret, "bpf",
				    "Loading the XDP program needs CAP_BPF, CAP_NET_ADMIN and "
				    "CAP_PERFMON, or CAP_SYS_ADMIN: %s '%s' failed", what, path);
	return su_error_set(err, "ERR_BPF_LOAD", ret, "bpf", "%s '%s' failed: %s%s%s", what, path,
			    strerror(-ret), *log ? "\n" : "", log);
}

static int find_map_fd(struct bpf_object *obj, const char *path, const char *name, int *fd,
		       struct su_error *err)
{
	*fd = bpf_object__find_map_fd_by_name(obj, name);
	if (*fd < 0)
		return su_error_set(err, "ERR_BPF_LOAD", ENOENT, NULL,
				    "The XDP object '%s' has no map '%s': it was built from other "
				    "sources than this addon", path, name);
	return 0;
}

int su_prog_attach(struct su_port *port, struct su_error *err)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	struct bpf_program *prog;
	int ret;

	su_log_capture_begin();
	port->bpf_obj = bpf_object__open_file(port->cfg.bpf_object_path, NULL);
	if (!port->bpf_obj) {
		ret = -errno;
		return load_error(err, ret, "Opening", port->cfg.bpf_object_path);
	}
	ret = bpf_object__load(port->bpf_obj);
	if (ret)
		return load_error(err, ret, "Loading", port->cfg.bpf_object_path);

	prog = bpf_object__find_program_by_name(port->bpf_obj, "su_steer");
	if (!prog)
		return su_error_set(err, "ERR_BPF_LOAD", ENOENT, NULL,
				    "The XDP object '%s' has no program 'su_steer'",
				    port->cfg.bpf_object_path);
	port->prog_fd = bpf_program__fd(prog);
	if ((ret = find_map_fd(port->bpf_obj, port->cfg.bpf_object_path, "su_xsks",
			       &port->xsks_map_fd, err)) ||
	    (ret = find_map_fd(port->bpf_obj, port->cfg.bpf_object_path, "su_capture_rules",
			       &port->capture_map_fd, err)) ||
	    (ret = find_map_fd(port->bpf_obj, port->cfg.bpf_object_path, "su_steer_counters",
			       &port->counters_map_fd, err)))
		return ret;

	/* The mode flag is explicit: without it the kernel silently picks generic mode where the
	 * driver lacks native XDP, and the caller would not learn why it is slow. */
	opts.flags = port->cfg.attach == SU_ATTACH_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	port->link_fd = bpf_link_create(port->prog_fd, port->ifindex, BPF_XDP, &opts);
	if (port->link_fd < 0) {
		ret = port->link_fd;
		port->link_fd = -1;
		if (ret == -EOPNOTSUPP)
			return su_error_set(err, "ERR_MODE_UNSUPPORTED", ret, "bpf_link_create",
					    "Expected a driver with native XDP for attach: 'driver' "
					    "but '%s' has none; pass attach: 'generic'",
					    port->cfg.ifname);
		if (ret == -EBUSY || ret == -EEXIST)
			return su_error_set(err, "ERR_XDP_PROGRAM_PRESENT", ret, "bpf_link_create",
					    "Another XDP program was attached to '%s' while opening",
					    port->cfg.ifname);
		if (ret == -EPERM)
			return su_error_set(err, "ERR_PERMISSION_DENIED", ret, "bpf_link_create",
					    "Attaching XDP to '%s' needs CAP_NET_ADMIN",
					    port->cfg.ifname);
		return su_error_set(err, "ERR_SYSCALL", ret, "bpf_link_create",
				    "Could not attach the XDP program to '%s': %s%s",
				    port->cfg.ifname, strerror(-ret), su_log_capture_end());
	}
	return 0;
}

void su_prog_detach(struct su_port *port)
{
	/* Closing the last fd of the link detaches the program. */
	if (port->link_fd >= 0)
		close(port->link_fd);
	port->link_fd = -1;
	if (port->bpf_obj)
		bpf_object__close(port->bpf_obj);
	port->bpf_obj = NULL;
}

/* ---- Banked maps: capture rules and the local view (bpf/maps.h) --------------------------- */

/* Writes slots bank * max .. bank * max + max - 1 of an ARRAY map: the n values, then zeros. */
static int write_bank(int fd, const char *what, uint32_t bank, uint32_t max, const void *values,
		      uint32_t n, size_t size, struct su_error *err)
{
	static const uint8_t zeros[sizeof(struct su_capture_rule) > sizeof(struct su_prefix)
					   ? sizeof(struct su_capture_rule)
					   : sizeof(struct su_prefix)];

	for (uint32_t i = 0; i < max; i++) {
		uint32_t key = bank * max + i;
		const void *value = i < n ? (const uint8_t *)values + i * size : zeros;
		int ret = bpf_map_update_elem(fd, &key, value, BPF_ANY);

		if (ret)
			return su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_update_elem",
					    "Could not write %s %u of an XDP program map", what,
					    i);
	}
	return 0;
}

/* The bank (0 or 1) that `bank_fd`'s slot 0 does not name: the one no packet reads. */
static int idle_bank(int bank_fd, const char *what, uint32_t *next, struct su_error *err)
{
	uint32_t zero = 0, live;
	int ret = bpf_map_lookup_elem(bank_fd, &zero, &live);

	if (ret)
		return su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_lookup_elem",
				    "Could not read the XDP program's live %s bank", what);
	*next = (live & 1) ^ 1;
	return 0;
}

/* Makes bank `next` live, then waits until no run of the program that could have read the old
 * bank index is still going (the grace period behind `su_grace`, bpf/maps.h; about 10 ms here,
 * measured with strace). After it returns the old bank is free to be filled again. */
static int switch_bank(struct bpf_object *obj, const char *path, int bank_fd, uint32_t next,
		       const char *what, struct su_error *err)
{
	uint32_t zero = 0;
	int grace_fd, token_fd, ret;

	if ((ret = find_map_fd(obj, path, "su_grace", &grace_fd, err)) ||
	    (ret = find_map_fd(obj, path, "su_grace_token", &token_fd, err)))
		return ret;
	if ((ret = bpf_map_update_elem(bank_fd, &zero, &next, BPF_ANY)))
		return su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_update_elem",
				    "Could not switch the XDP program to its new %s", what);
	if ((ret = bpf_map_update_elem(grace_fd, &zero, &token_fd, BPF_ANY)))
		return su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_update_elem",
				    "The new %s is live, but waiting for packets still on the old "
				    "one failed", what);
	return 0;
}

int su_port_set_capture(struct su_port *port, const struct su_capture_rule *rules, uint32_t n,
			struct su_error *err)
{
	const char *path = port->cfg.bpf_object_path;
	uint32_t next = 0;
	int bank_fd, ret;

	if (port->closed)
		return su_error_set(err, "ERR_CLOSED", 0, NULL, "The port on '%s' is closed",
				    port->cfg.ifname);
	if (n > SU_CAPTURE_RULES_MAX)
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected at most %d capture rules but received %u",
				    SU_CAPTURE_RULES_MAX, n);
	/* As for the local view: fill the idle bank whole, flip, wait out the packets that may
	 * still read the old one. A packet matches either every old rule or every new one, so a
	 * slice covered by both is never missed while the Router publishes under traffic. */
	if ((ret = find_map_fd(port->bpf_obj, path, "su_capture_bank", &bank_fd, err)) ||
	    (ret = idle_bank(bank_fd, "capture rule", &next, err)) ||
	    (ret = write_bank(port->capture_map_fd, "capture rule", next, SU_CAPTURE_RULES_MAX,
			      rules, n, sizeof(*rules), err)))
		return ret;
	return switch_bank(port->bpf_obj, path, bank_fd, next, "capture rules", err);
}

/* Each entry's first byte is its family (struct su_capture_rule, struct su_prefix). */
static int check_families(const char *what, const void *entries, size_t size, uint32_t n,
			  struct su_error *err)
{
	for (uint32_t i = 0; i < n; i++) {
		uint8_t family = ((const uint8_t *)entries)[i * size];

		/* Family 0 would end the list early without a word: refuse it. */
		if (family != SU_FAMILY_IPV4 && family != SU_FAMILY_IPV6)
			return su_error_set(err, "ERR_INVALID_TABLE", 0, NULL,
					    "Expected family %d or %d for %s %u but received %u",
					    SU_FAMILY_IPV4, SU_FAMILY_IPV6, what, i, family);
	}
	return 0;
}

_Static_assert(offsetof(struct su_capture_rule, family) == 0 &&
		       offsetof(struct su_prefix, family) == 0,
	       "check_families reads the family from an entry's first byte");

int su_prog_set_local_view(struct bpf_object *obj, const char *path, const struct su_host *host,
			   const struct su_capture_rule *rules, uint32_t n_rules,
			   const struct su_prefix *trusted, uint32_t n_trusted, struct su_error *err)
{
	int bank_fd, host_fd, trusted_fd, rules_fd, ret;
	uint32_t next = 0;

	if (n_rules > SU_LOCAL_RULES_MAX)
		return su_error_set(err, "ERR_TABLE_LIMIT", 0, NULL,
				    "Expected at most %d local slices for the XDP program but "
				    "received %u", SU_LOCAL_RULES_MAX, n_rules);
	if (n_trusted > SU_TRUSTED_PEERS_MAX)
		return su_error_set(err, "ERR_TABLE_LIMIT", 0, NULL,
				    "Expected at most %d trusted peer prefixes but received %u",
				    SU_TRUSTED_PEERS_MAX, n_trusted);
	if ((ret = check_families("local rule", rules, sizeof(*rules), n_rules, err)) ||
	    (ret = check_families("trusted peer", trusted, sizeof(*trusted), n_trusted, err)))
		return ret;
	if ((ret = find_map_fd(obj, path, "su_local_bank", &bank_fd, err)) ||
	    (ret = find_map_fd(obj, path, "su_host", &host_fd, err)) ||
	    (ret = find_map_fd(obj, path, "su_trusted_peers", &trusted_fd, err)) ||
	    (ret = find_map_fd(obj, path, "su_local_rules", &rules_fd, err)) ||
	    (ret = idle_bank(bank_fd, "local view", &next, err)))
		return ret;

	/* The order is what keeps every packet on one whole view: su_steer reads the bank index
	 * once, then only that bank.
	 * 1. Fill the bank the index does not name, every slot (a shorter list than last time
	 *    must not leave old rules behind). No packet reads it: see 3.
	 * 2. Flip the index with one u32 store. Packets that start after it read the new bank;
	 *    packets already running finish on the old one, which nobody changes.
	 * 3. Wait out those packets (switch_bank). Then the old bank is free for the next call to
	 *    fill, and the caller knows that no packet uses the old view any more when this
	 *    returns (the Router swaps the fast path's table after).
	 * A failure before step 2 leaves the live view as it was. One caller at a time. */
	if ((ret = bpf_map_update_elem(host_fd, &next, host, BPF_ANY)))
		return su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_update_elem",
				    "Could not write the host of the XDP program's local view");
	if ((ret = write_bank(trusted_fd, "trusted peer", next, SU_TRUSTED_PEERS_MAX, trusted,
			      n_trusted, sizeof(*trusted), err)) ||
	    (ret = write_bank(rules_fd, "local rule", next, SU_LOCAL_RULES_MAX, rules, n_rules,
			      sizeof(*rules), err)))
		return ret;
	return switch_bank(obj, path, bank_fd, next, "local view", err);
}

int su_port_set_local_view(struct su_port *port, const struct su_host *host,
			   const struct su_capture_rule *rules, uint32_t n_rules,
			   const struct su_prefix *trusted, uint32_t n_trusted, struct su_error *err)
{
	if (port->closed)
		return su_error_set(err, "ERR_CLOSED", 0, NULL, "The port on '%s' is closed",
				    port->cfg.ifname);
	return su_prog_set_local_view(port->bpf_obj, port->cfg.bpf_object_path, host, rules,
				      n_rules, trusted, n_trusted, err);
}

int su_port_steer_counters(struct su_port *port, uint64_t out[SU_STEER_COUNTER_COUNT],
			   struct su_error *err)
{
	int cpus = libbpf_num_possible_cpus();

	if (port->closed)
		return su_error_set(err, "ERR_CLOSED", 0, NULL, "The port on '%s' is closed",
				    port->cfg.ifname);
	if (cpus <= 0)
		return su_error_set(err, "ERR_SYSCALL", cpus, "libbpf_num_possible_cpus",
				    "Could not count the possible CPUs");

	uint64_t per_cpu[cpus];

	for (uint32_t key = 0; key < SU_STEER_COUNTER_COUNT; key++) {
		int ret;

		/* valgrind marks only one CPU's value as written by the lookup */
		memset(per_cpu, 0, sizeof(per_cpu));
		ret = bpf_map_lookup_elem(port->counters_map_fd, &key, per_cpu);

		if (ret)
			return su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_lookup_elem",
					    "Could not read XDP counter %u", key);
		out[key] = 0;
		for (int c = 0; c < cpus; c++)
			out[key] += per_cpu[c];
	}
	return 0;
}
