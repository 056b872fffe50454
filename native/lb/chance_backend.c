/* Loads bpf/backend.bpf.o (second chance on a backend), attaches it to an interface for as long
 * as this process lives, and answers commands on stdin with JSON lines: next hops in, counters
 * out, frames run through BPF_PROG_TEST_RUN. Driven by src/lb/backend.ts and test/bpf/.
 *
 *   chance_backend OBJECT [IFNAME driver|generic]
 *   hop A.B.C.D MAC | forget A.B.C.D | counters | run HEX      (EOF detaches and exits) */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "softunicast/chance.h"

#define FRAME_MAX 4096

static const char *const counter_names[] = {
#define SU_X(name, doc) #name,
	SU_CHANCE_COUNTERS(SU_X)
#undef SU_X
};

struct backend {
	struct bpf_object *obj;
	int prog_fd, counters_fd, hops_fd, link_fd;
};

static void fail(const char *what, int err)
{
	printf("{\"ok\":false,\"message\":\"%s: %s\"}\n", what, strerror(err < 0 ? -err : err));
	fflush(stdout);
}

static int load(struct backend *b, const char *path)
{
	struct bpf_program *prog;
	int ret;

	b->obj = bpf_object__open_file(path, NULL);
	if (!b->obj)
		return -errno;
	if ((ret = bpf_object__load(b->obj)))
		return ret;
	prog = bpf_object__find_program_by_name(b->obj, "su_backend");
	b->prog_fd = prog ? bpf_program__fd(prog) : -ENOENT;
	b->counters_fd = bpf_object__find_map_fd_by_name(b->obj, "chance_counters");
	b->hops_fd = bpf_object__find_map_fd_by_name(b->obj, "chance_next_hops");
	if (b->prog_fd < 0 || b->counters_fd < 0 || b->hops_fd < 0)
		return -ENOENT;
	return 0;
}

static int attach(struct backend *b, const char *ifname, const char *mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	unsigned int ifindex = if_nametoindex(ifname);

	if (!ifindex)
		return -ENODEV;
	if (strcmp(mode, "driver") && strcmp(mode, "generic"))
		return -EINVAL;
	/* The mode is explicit: left to itself the kernel falls back to generic mode silently. */
	opts.flags = strcmp(mode, "driver") ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	b->link_fd = bpf_link_create(b->prog_fd, (int)ifindex, BPF_XDP, &opts);
	return b->link_fd < 0 ? b->link_fd : 0;
}

static int parse_mac(const char *text, __u8 mac[6])
{
	unsigned int m[6];

	if (sscanf(text, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (m[i] > 0xff)
			return -EINVAL;
		mac[i] = (__u8)m[i];
	}
	return 0;
}

static void hop(struct backend *b, const char *addr, const char *mac)
{
	struct su_chance_hop value = { 0 };
	struct in_addr a;

	if (!addr || !mac || inet_pton(AF_INET, addr, &a) != 1 || parse_mac(mac, value.mac))
		return fail("hop: expected an IPv4 address and a MAC address", EINVAL);
	if (bpf_map_update_elem(b->hops_fd, &a.s_addr, &value, BPF_ANY))
		return fail("hop: updating chance_next_hops", errno);
	printf("{\"ok\":true}\n");
}

static void forget(struct backend *b, const char *addr)
{
	struct in_addr a;

	if (!addr || inet_pton(AF_INET, addr, &a) != 1)
		return fail("forget: expected an IPv4 address", EINVAL);
	if (bpf_map_delete_elem(b->hops_fd, &a.s_addr) && errno != ENOENT)
		return fail("forget: updating chance_next_hops", errno);
	printf("{\"ok\":true}\n");
}

static void counters(struct backend *b)
{
	int cpus = libbpf_num_possible_cpus();
	__u64 *values;

	if (cpus <= 0 || !(values = calloc((size_t)cpus, sizeof(*values))))
		return fail("counters", ENOMEM);
	printf("{\"ok\":true,\"counters\":{");
	for (__u32 i = 0; i < SU_CHANCE_COUNTER_COUNT; i++) {
		__u64 sum = 0;

		if (bpf_map_lookup_elem(b->counters_fd, &i, values) == 0)
			for (int c = 0; c < cpus; c++)
				sum += values[c];
		printf("%s\"%s\":%llu", i ? "," : "", counter_names[i], (unsigned long long)sum);
	}
	printf("}}\n");
	free(values);
}

static void run(struct backend *b, const char *text)
{
	static __u8 in[FRAME_MAX], out[FRAME_MAX + 256];
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	size_t len = text ? strlen(text) / 2 : 0;
	unsigned int byte;

	if (!text || strlen(text) % 2 || len < 14 || len > FRAME_MAX)
		return fail("run: expected a frame in hex, 14 to 4096 bytes", EINVAL);
	for (size_t i = 0; i < len; i++) {
		if (sscanf(text + 2 * i, "%2x", &byte) != 1)
			return fail("run: expected hex digits", EINVAL);
		in[i] = (__u8)byte;
	}
	opts.data_in = in;
	opts.data_size_in = (__u32)len;
	opts.data_out = out;
	opts.data_size_out = sizeof(out);
	opts.repeat = 1;
	if (bpf_prog_test_run_opts(b->prog_fd, &opts))
		return fail("run: BPF_PROG_TEST_RUN", errno);
	printf("{\"ok\":true,\"retval\":%u,\"out\":\"", opts.retval);
	for (__u32 i = 0; i < opts.data_size_out; i++)
		printf("%02x", out[i]);
	printf("\"}\n");
}

int main(int argc, char **argv)
{
	struct backend b = { .link_fd = -1 };
	static char line[2 * FRAME_MAX + 64];
	int ret;

	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: %s OBJECT [IFNAME driver|generic]\n", argv[0]);
		return 2;
	}
	if ((ret = load(&b, argv[1])))
		return fail("loading the XDP object", ret), 1;
	if (argc == 4 && (ret = attach(&b, argv[2], argv[3])))
		return fail("attaching the XDP program", ret), 1;
	printf("{\"event\":\"ready\"}\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		char *cmd = strtok(line, " \n"), *a = strtok(NULL, " \n"), *c = strtok(NULL, " \n");

		if (!cmd)
			continue;
		if (!strcmp(cmd, "hop"))
			hop(&b, a, c);
		else if (!strcmp(cmd, "forget"))
			forget(&b, a);
		else if (!strcmp(cmd, "counters"))
			counters(&b);
		else if (!strcmp(cmd, "run"))
			run(&b, a);
		else
			fail("expected hop, forget, counters or run", EINVAL);
		fflush(stdout);
	}
	bpf_object__close(b.obj);
	return 0;
}
