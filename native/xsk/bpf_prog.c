/* Our XDP program on the port's interface: loaded from bpf/steer.bpf.o, attached through a BPF
 * link (never libxdp's dispatcher, which fails to load on this kernel: FACTS.md), or put into
 * the pinned link an earlier process left (pin.c); plus the maps a port without a router uses:
 * capture rules in, counters out. A router's tables: native/router/xdp_tables.c. */
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

/* Attaches with a new link (after refusing or replacing a foreign program), and pins it when
 * the port has a pin directory. */
static int attach_new(struct su_port *port, struct su_error *err)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	int ret;

	if ((ret = su_iface_check_foreign_prog(&port->cfg, port->ifindex, err)))
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
	return port->cfg.pin_dir ? su_pin_link(port->cfg.pin_dir, port->link_fd, err) : 0;
}

/* A pinned link of an earlier process: this process's program replaces its program in one
 * step (bpf_link_update), and the pinned maps it was loaded with are the ones the old program
 * used, so no packet finds the interface without a program or the tables empty. */
static int attach_adopted(struct su_port *port, struct su_error *err)
{
	int ret = bpf_link_update(port->link_fd, port->prog_fd, NULL);

	if (ret)
		return su_error_set(err, "ERR_SYSCALL", ret, "bpf_link_update",
				    "Could not put the new XDP program in the pinned link on '%s'",
				    port->cfg.ifname);
	port->adopted = true;
	return 0;
}

int su_prog_attach(struct su_port *port, struct su_error *err)
{
	const char *path = port->cfg.bpf_object_path;
	struct bpf_program *prog;
	int ret;

	su_log_capture_begin();
	port->bpf_obj = bpf_object__open_file(path, NULL);
	if (!port->bpf_obj) {
		ret = -errno;
		return load_error(err, ret, "Opening", path);
	}
	if ((ret = su_pin_prepare(port->bpf_obj, port->cfg.pin_dir, err)))
		return ret;
	ret = bpf_object__load(port->bpf_obj);
	if (ret && port->cfg.pin_dir)
		return su_error_set(err, "ERR_BPF_LOAD", ret, "bpf",
				    "Loading '%s' with the maps pinned in '%s' failed (a program "
				    "of another build left maps of another layout there: remove "
				    "them with --detach first): %s", path, port->cfg.pin_dir,
				    su_log_capture_end());
	if (ret)
		return load_error(err, ret, "Loading", path);

	prog = bpf_object__find_program_by_name(port->bpf_obj, "su_steer");
	if (!prog)
		return su_error_set(err, "ERR_BPF_LOAD", ENOENT, NULL,
				    "The XDP object '%s' has no program 'su_steer'", path);
	port->prog_fd = bpf_program__fd(prog);
	if ((ret = find_map_fd(port->bpf_obj, path, "su_xsks", &port->xsks_map_fd, err)) ||
	    (ret = find_map_fd(port->bpf_obj, path, "su_capture_rules", &port->capture_map_fd,
			       err)) ||
	    (ret = find_map_fd(port->bpf_obj, path, "su_control", &port->control_map_fd, err)) ||
	    (ret = find_map_fd(port->bpf_obj, path, "su_steer_counters", &port->counters_map_fd,
			       err)))
		return ret;
	if (port->cfg.pin_dir) {
		ret = su_pin_adopt_link(port->cfg.pin_dir, port->ifindex, &port->link_fd, err);
		if (ret < 0)
			return ret;
		if (ret == 1)
			return attach_adopted(port, err);
	}
	return attach_new(port, err);
}

void su_prog_detach(struct su_port *port)
{
	/* Closing the last fd of the link detaches the program; a pinned link is one more
	 * reference, and keeps it attached for the next process. */
	if (port->link_fd >= 0)
		close(port->link_fd);
	port->link_fd = -1;
	if (port->bpf_obj)
		bpf_object__close(port->bpf_obj);
	port->bpf_obj = NULL;
}

/* ---- Capture rules (bpf/maps.h, su_capture_rules) ------------------------------------------ */

int su_prog_set_capture(struct bpf_object *obj, const char *path,
			const struct su_capture_rule *rules, uint32_t n, struct su_error *err)
{
	static const struct su_capture_rule none;
	struct su_control c;
	uint32_t zero = 0, next;
	int control_fd, rules_fd, ret;

	if (n > SU_CAPTURE_RULES_MAX)
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected at most %d capture rules but received %u",
				    SU_CAPTURE_RULES_MAX, n);
	for (uint32_t i = 0; i < n; i++)
		/* Family 0 would end the list early without a word: refuse it. */
		if (rules[i].family != SU_FAMILY_IPV4 && rules[i].family != SU_FAMILY_IPV6)
			return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
					    "Expected family %d or %d for capture rule %u but "
					    "received %u",
					    SU_FAMILY_IPV4, SU_FAMILY_IPV6, i, rules[i].family);
	if ((ret = find_map_fd(obj, path, "su_control", &control_fd, err)) ||
	    (ret = find_map_fd(obj, path, "su_capture_rules", &rules_fd, err)))
		return ret;
	if ((ret = bpf_map_lookup_elem(control_fd, &zero, &c)))
		return su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_lookup_elem",
				    "Could not read the XDP program's control word");
	/* As for a router's tables: fill the idle bank whole (a shorter list must not leave old
	 * rules behind), flip the index, wait out the packets that may still read the old one. A
	 * packet matches every old rule or every new one, never a mix. */
	next = (c.bank & 1) ^ 1;
	for (uint32_t i = 0; i < SU_CAPTURE_RULES_MAX; i++) {
		uint32_t key = next * SU_CAPTURE_RULES_MAX + i;

		if ((ret = bpf_map_update_elem(rules_fd, &key, i < n ? &rules[i] : &none, BPF_ANY)))
			return su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_update_elem",
					    "Could not write capture rule %u of the XDP program", i);
	}
	/* A port adopted from a router's pinned state leaves the router's mode here. */
	c.bank = next;
	c.mode = SU_MODE_CAPTURE;
	if ((ret = bpf_map_update_elem(control_fd, &zero, &c, BPF_ANY)))
		return su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_update_elem",
				    "Could not switch the XDP program to its new capture rules");
	return su_prog_grace(obj, path, err);
}

int su_port_set_capture(struct su_port *port, const struct su_capture_rule *rules, uint32_t n,
			struct su_error *err)
{
	if (port->closed)
		return su_error_set(err, "ERR_CLOSED", 0, NULL, "The port on '%s' is closed",
				    port->cfg.ifname);
	return su_prog_set_capture(port->bpf_obj, port->cfg.bpf_object_path, rules, n, err);
}

/* Replacing the inner map of a map-in-map makes the bpf() call wait for an RCU grace period
 * (bpf/maps.h, su_grace): after it no run of su_steer that read the old control word is left. */
int su_prog_grace(struct bpf_object *obj, const char *path, struct su_error *err)
{
	uint32_t zero = 0;
	int grace_fd, token_fd, ret;

	if ((ret = find_map_fd(obj, path, "su_grace", &grace_fd, err)) ||
	    (ret = find_map_fd(obj, path, "su_grace_token", &token_fd, err)))
		return ret;
	if ((ret = bpf_map_update_elem(grace_fd, &zero, &token_fd, BPF_ANY)))
		return su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_update_elem",
				    "Waiting for packets still on the XDP program's old tables failed");
	return 0;
}

struct bpf_object *su_port_bpf_object(struct su_port *port)
{
	return port->closed ? NULL : port->bpf_obj;
}

bool su_port_adopted(const struct su_port *port)
{
	return port->adopted;
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
