/* Our XDP program on the port's interface: loaded from bpf/steer.bpf.o, attached through a BPF
 * link (never libxdp's dispatcher, which fails to load on this kernel: FACTS.md), plus access to
 * its maps: capture rules in, counters out. */
#include <errno.h>
#include <linux/if_link.h>
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
				    "CAP_SYS_ADMIN (run as root): %s '%s' failed", what, path);
	return su_error_set(err, "ERR_BPF_LOAD", ret, "bpf", "%s '%s' failed: %s%s%s", what, path,
			    strerror(-ret), *log ? "\n" : "", log);
}

static int find_map_fd(struct su_port *port, const char *name, int *fd, struct su_error *err)
{
	*fd = bpf_object__find_map_fd_by_name(port->bpf_obj, name);
	if (*fd < 0)
		return su_error_set(err, "ERR_BPF_LOAD", ENOENT, NULL,
				    "The XDP object '%s' has no map '%s': it was built from other "
				    "sources than this addon", port->cfg.bpf_object_path, name);
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
	if ((ret = find_map_fd(port, "su_xsks", &port->xsks_map_fd, err)) ||
	    (ret = find_map_fd(port, "su_capture_rules", &port->capture_map_fd, err)) ||
	    (ret = find_map_fd(port, "su_steer_counters", &port->counters_map_fd, err)))
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

int su_port_set_capture(struct su_port *port, const struct su_capture_rule *rules, uint32_t n,
			struct su_error *err)
{
	if (port->closed)
		return su_error_set(err, "ERR_CLOSED", 0, NULL, "The port on '%s' is closed",
				    port->cfg.ifname);
	if (n > SU_CAPTURE_RULES_MAX)
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected at most %d capture rules but received %u",
				    SU_CAPTURE_RULES_MAX, n);
	/* Slot by slot: a packet racing the update may match a mix of old and new rules. Capture
	 * rules are set up before traffic is expected; tables that change under load are swapped
	 * whole (the slice tables). */
	for (uint32_t i = 0; i < SU_CAPTURE_RULES_MAX; i++) {
		struct su_capture_rule empty = { 0 };
		const struct su_capture_rule *r = i < n ? &rules[i] : &empty;
		int ret = bpf_map_update_elem(port->capture_map_fd, &i, r, BPF_ANY);

		if (ret)
			return su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_update_elem",
					    "Could not write capture rule %u", i);
	}
	return 0;
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
