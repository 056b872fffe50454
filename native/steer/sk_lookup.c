/* See sk_lookup.h. The only writer of bpf/sk_lookup.bpf.c's maps: TypeScript (src/steer/) decides
 * the rule set and its layout, this file executes it. */
#include "sk_lookup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

struct su_skl {
	struct bpf_object *obj;
	int link_fd;
	int rules_fd;    /* skl_rules: the one-slot ARRAY_OF_MAPS */
	int sockets_fd;  /* skl_sockets */
	int counters_fd; /* skl_counters */
	int load_fd;     /* skl_load */
};

static int map_fd(struct su_skl *s, const char *path, const char *name, int *fd,
		  struct su_error *err)
{
	*fd = bpf_object__find_map_fd_by_name(s->obj, name);
	if (*fd < 0)
		return su_error_set(err, "ERR_BPF_LOAD", ENOENT, NULL,
				    "The sk_lookup object '%s' has no map '%s': it was built from "
				    "other sources than this addon", path, name);
	return 0;
}

/* The program's `skl_count_load` in .rodata, set before the verifier sees it. */
static int set_count_load(struct su_skl *s, const char *path, bool on, struct su_error *err)
{
	struct bpf_map *rodata = bpf_object__find_map_by_name(s->obj, ".rodata");
	uint32_t value = on;
	int ret;

	if (!rodata)
		return su_error_set(err, "ERR_BPF_LOAD", ENOENT, NULL,
				    "The sk_lookup object '%s' has no .rodata: it was built from other "
				    "sources than this addon", path);
	/* skl_count_load is the only constant of the program: .rodata is that one u32. */
	if ((ret = bpf_map__set_initial_value(rodata, &value, sizeof(value))))
		return su_error_set(err, "ERR_BPF_LOAD", ret, "bpf_map__set_initial_value",
				    "Setting skl_count_load in '%s' failed: %s", path, strerror(-ret));
	return 0;
}

static int load_object(struct su_skl *s, const char *path, bool count_load, struct su_error *err)
{
	int ret;

	s->obj = bpf_object__open_file(path, NULL);
	if (!s->obj) {
		ret = -errno;
		return su_error_set(err, "ERR_BPF_LOAD", ret, "bpf_object__open_file",
				    "Opening the sk_lookup object '%s' failed: %s", path,
				    strerror(-ret));
	}
	if ((ret = set_count_load(s, path, count_load, err)))
		return ret;
	ret = bpf_object__load(s->obj);
	if (ret == -EPERM || ret == -EACCES)
		return su_error_set(err, "ERR_PERMISSION_DENIED", ret, "bpf",
				    "Loading the sk_lookup program needs CAP_BPF and CAP_NET_ADMIN "
				    "(or CAP_SYS_ADMIN), and CAP_IPC_LOCK where the kernel charges "
				    "BPF maps to RLIMIT_MEMLOCK: loading '%s' failed", path);
	if (ret)
		return su_error_set(err, "ERR_BPF_LOAD", ret, "bpf_object__load",
				    "Loading the sk_lookup object '%s' failed: %s", path,
				    strerror(-ret));
	if ((ret = map_fd(s, path, "skl_rules", &s->rules_fd, err)) ||
	    (ret = map_fd(s, path, "skl_sockets", &s->sockets_fd, err)) ||
	    (ret = map_fd(s, path, "skl_counters", &s->counters_fd, err)) ||
	    (ret = map_fd(s, path, "skl_load", &s->load_fd, err)))
		return ret;
	return 0;
}

static int attach(struct su_skl *s, const char *netns_path, struct su_error *err)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(s->obj, "su_sk_lookup");
	int ns_fd, ret;

	if (!prog)
		return su_error_set(err, "ERR_BPF_LOAD", ENOENT, NULL,
				    "The sk_lookup object has no program su_sk_lookup");
	ns_fd = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0)
		return su_error_set(err, "ERR_INVALID_OPTION", errno, "open",
				    "Expected a network namespace file for netns but could not "
				    "open '%s': %s", netns_path, strerror(errno));
	s->link_fd = bpf_link_create(bpf_program__fd(prog), ns_fd, BPF_SK_LOOKUP, NULL);
	ret = s->link_fd < 0 ? s->link_fd : 0;
	close(ns_fd);
	if (ret == -EPERM)
		return su_error_set(err, "ERR_PERMISSION_DENIED", ret, "bpf_link_create",
				    "Attaching sk_lookup to '%s' needs CAP_NET_ADMIN", netns_path);
	if (ret)
		return su_error_set(err, "ERR_SYSCALL", ret, "bpf_link_create",
				    "Attaching sk_lookup to the namespace '%s' failed: %s",
				    netns_path, strerror(-ret));
	return 0;
}

int su_skl_open(const char *obj_path, const char *netns_path, bool count_load,
		struct su_skl **out, struct su_error *err)
{
	struct su_skl *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return su_error_set(err, "ERR_SYSCALL", ENOMEM, "calloc", "Out of memory");
	s->link_fd = -1;
	/* An empty trie first: the program never runs on a slot without one, and a namespace
	 * with the program attached but no rules behaves exactly as without it. */
	if ((ret = load_object(s, obj_path, count_load, err)) ||
	    (ret = su_skl_publish(s, NULL, NULL, 0, err)) || (ret = attach(s, netns_path, err))) {
		su_skl_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

static int new_trie(struct su_error *err)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	int fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "skl_trie", sizeof(struct su_skl_key),
				sizeof(struct su_skl_ranges), SU_SKL_PREFIXES_MAX, &opts);

	if (fd < 0)
		return su_error_set(err, "ERR_SYSCALL", fd, "bpf_map_create",
				    "Creating a rule trie for sk_lookup failed: %s", strerror(-fd));
	return fd;
}

int su_skl_publish(struct su_skl *s, const struct su_skl_key *keys,
		   const struct su_skl_ranges *values, uint32_t n, struct su_error *err)
{
	uint32_t zero = 0;
	int trie, ret = 0;

	if (n > SU_SKL_PREFIXES_MAX)
		return su_error_set(err, "ERR_TABLE_LIMIT", 0, NULL,
				    "Expected at most %d prefixes in the steering rules but received %u",
				    SU_SKL_PREFIXES_MAX, n);
	if ((trie = new_trie(err)) < 0)
		return trie;
	for (uint32_t i = 0; i < n && !ret; i++) {
		ret = bpf_map_update_elem(trie, &keys[i], &values[i], BPF_NOEXIST);
		if (ret)
			su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_update_elem",
				     "Filling the rule trie failed at prefix %u: %s", i, strerror(-ret));
	}
	/* Replacing the inner map makes this bpf() call wait for an RCU grace period
	 * (kernel/bpf/syscall.c, maybe_wait_bpf_programs): the old trie is unused afterwards. */
	if (!ret && (ret = bpf_map_update_elem(s->rules_fd, &zero, &trie, BPF_ANY)))
		su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_update_elem",
			     "Swapping in the new rule trie failed: %s", strerror(-ret));
	close(trie); /* the outer map holds it; the old one goes with its last reference */
	return ret;
}

int su_skl_socket_set(struct su_skl *s, uint32_t slot, int fd, struct su_error *err)
{
	uint64_t value = (uint64_t)fd;
	int ret = bpf_map_update_elem(s->sockets_fd, &slot, &value, BPF_ANY);

	if (ret == -EOPNOTSUPP)
		return su_error_set(err, "ERR_INVALID_RULE", ret, "bpf_map_update_elem",
				    "Expected a listening TCP or a bound UDP socket for the rule's "
				    "server but the kernel refused fd %d for a SOCKMAP", fd);
	if (ret)
		return su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_update_elem",
				    "Putting fd %d in socket slot %u failed: %s", fd, slot,
				    strerror(-ret));
	return 0;
}

int su_skl_socket_clear(struct su_skl *s, uint32_t slot, struct su_error *err)
{
	int ret = bpf_map_delete_elem(s->sockets_fd, &slot);

	/* A SOCKMAP answers -EINVAL for a slot that is empty already (sock_map_delete_elem). */
	if (ret && ret != -ENOENT && ret != -EINVAL)
		return su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_delete_elem",
				    "Emptying socket slot %u failed: %s", slot, strerror(-ret));
	return 0;
}

int su_skl_counters(struct su_skl *s, uint64_t out[SU_SKL_COUNTER_COUNT], struct su_error *err)
{
	int cpus = libbpf_num_possible_cpus();
	uint64_t *per_cpu;

	if (cpus <= 0)
		return su_error_set(err, "ERR_SYSCALL", cpus, "libbpf_num_possible_cpus",
				    "Could not count the possible CPUs");
	per_cpu = calloc(cpus, sizeof(*per_cpu));
	if (!per_cpu)
		return su_error_set(err, "ERR_SYSCALL", ENOMEM, "calloc", "Out of memory");
	for (uint32_t c = 0; c < SU_SKL_COUNTER_COUNT; c++) {
		int ret = bpf_map_lookup_elem(s->counters_fd, &c, per_cpu);

		if (ret) {
			free(per_cpu);
			return su_error_set(err, "ERR_SYSCALL", ret, "bpf_map_lookup_elem",
					    "Reading the sk_lookup counters failed: %s", strerror(-ret));
		}
		out[c] = 0;
		for (int i = 0; i < cpus; i++)
			out[c] += per_cpu[i];
	}
	free(per_cpu);
	return 0;
}

int su_skl_load(struct su_skl *s, struct su_skl_load_key *keys, uint64_t *counts, uint32_t max,
		uint32_t *n, struct su_error *err)
{
	struct su_skl_load_key key, prev;
	int have_prev = 0;

	(void)err;
	*n = 0;
	/* A snapshot of a live map, never a torn entry. When a key is evicted under us the kernel
	 * restarts the walk from the first key, so an entry can come twice (src/steer/ keeps one)
	 * and `max` bounds the walk. */
	while (*n < max && bpf_map_get_next_key(s->load_fd, have_prev ? &prev : NULL, &key) == 0) {
		if (bpf_map_lookup_elem(s->load_fd, &key, &counts[*n]) == 0)
			keys[(*n)++] = key;
		prev = key;
		have_prev = 1;
	}
	return 0;
}

int su_skl_prog_fd(struct su_skl *s)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(s->obj, "su_sk_lookup");

	return prog ? bpf_program__fd(prog) : -ENOENT;
}

void su_skl_close(struct su_skl *s)
{
	if (!s)
		return;
	if (s->link_fd >= 0)
		close(s->link_fd);
	bpf_object__close(s->obj);
	free(s);
}
