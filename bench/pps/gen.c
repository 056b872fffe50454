/* The pps bench's generator and sink, one process in the generator's namespace (driven by
 * bench/pps/run.ts over stdin/stdout, one JSON line per command):
 *   pps_gen IFNAME GEN_OBJ SINK_OBJ CPU
 * attaches the counting sink (sink.bpf.c) to IFNAME, pins itself to CPU, then answers
 *   run SECONDS HEXFRAME   sends HEXFRAME into IFNAME as fast as BPF_PROG_RUN with live frames
 *                          can (gen.bpf.c) for SECONDS; replies with what was sent and what
 *                          the sink counted meanwhile
 *   quit                   (or end of input) detaches and exits
 * A BPF link holds the sink: the kernel detaches it when this process dies (FACTS.md). */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define SINK_COUNTERS 3 /* packets, bytes, GUE packets: as sink.bpf.c */
/* Frames per BPF_PROG_RUN call: tens of milliseconds, so a run ends close to its deadline. */
#define CHUNK 65536
#define MAX_FRAME 2048
#define GEN_HEAD 64 /* as gen.bpf.c */

struct gen {
	int ifindex;
	int gen_fd;
	int head_map_fd; /* the frame's first GEN_HEAD bytes, restored by gen.bpf.c on every run */
	int sink_map_fd;
	int cpus;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sink_read(const struct gen *g, unsigned long long out[SINK_COUNTERS])
{
	unsigned long long *per_cpu = calloc((size_t)g->cpus, sizeof(*per_cpu));

	if (!per_cpu)
		return -ENOMEM;
	for (unsigned int k = 0; k < SINK_COUNTERS; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(g->sink_map_fd, &k, per_cpu)) {
			free(per_cpu);
			return -errno;
		}
		for (int c = 0; c < g->cpus; c++)
			out[k] += per_cpu[c];
	}
	free(per_cpu);
	return 0;
}

static int parse_hex(const char *hex, unsigned char *out, size_t max)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 > max || n < 28)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			return -EINVAL;
		out[i] = (unsigned char)byte;
	}
	return (int)(n / 2);
}

static void cmd_run(const struct gen *g, double seconds, const char *hex)
{
	unsigned char frame[MAX_FRAME];
	unsigned long long before[SINK_COUNTERS], after[SINK_COUNTERS], sent = 0;
	struct xdp_md ctx = { .ingress_ifindex = (unsigned int)g->ifindex };
	int len = parse_hex(hex, frame, sizeof(frame));
	double start, end;
	int err = 0;

	if (len < GEN_HEAD) {
		printf("{\"error\":\"expected a frame of %d to %d bytes in hex\"}\n", GEN_HEAD,
		       MAX_FRAME);
		return;
	}
	/* The context describes the frame: data_end must be its length (net/bpf/test_run.c). */
	ctx.data_end = (unsigned int)len;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (unsigned int)len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = CHUNK,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
	if (bpf_map_update_elem(g->head_map_fd, &(unsigned int){ 0 }, frame, BPF_ANY) ||
	    sink_read(g, before))
		err = -errno;
	start = now_s();
	do {
		if (bpf_prog_test_run_opts(g->gen_fd, &opts)) {
			err = -errno;
			break;
		}
		sent += CHUNK;
	} while (now_s() - start < seconds);
	end = now_s();
	if (!err && sink_read(g, after))
		err = -errno;
	if (err) {
		printf("{\"error\":\"%s\"}\n", strerror(-err));
		return;
	}
	printf("{\"sent\":%llu,\"seconds\":%.6f,\"sink_packets\":%llu,\"sink_bytes\":%llu,"
	       "\"sink_gue\":%llu}\n",
	       sent, end - start, after[0] - before[0], after[1] - before[1], after[2] - before[2]);
}

static struct bpf_object *load(const char *path, const char *prog_name, struct bpf_program **prog)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);

	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "pps_gen: could not load %s: %s\n", path, strerror(errno));
		return NULL;
	}
	*prog = bpf_object__find_program_by_name(obj, prog_name);
	return *prog ? obj : NULL;
}

int main(int argc, char **argv)
{
	struct bpf_program *gen_prog, *sink_prog;
	struct bpf_object *gen_obj, *sink_obj;
	struct bpf_link *link;
	struct gen g = { 0 };
	char line[8192];
	cpu_set_t cpus;

	if (argc != 5) {
		fprintf(stderr, "usage: pps_gen IFNAME GEN_OBJ SINK_OBJ CPU\n");
		return 2;
	}
	CPU_ZERO(&cpus);
	CPU_SET(atoi(argv[4]), &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		perror("pps_gen: sched_setaffinity (running unpinned)");
	g.ifindex = (int)if_nametoindex(argv[1]);
	g.cpus = libbpf_num_possible_cpus();
	if (!g.ifindex || g.cpus <= 0) {
		fprintf(stderr, "pps_gen: no interface %s\n", argv[1]);
		return 1;
	}
	gen_obj = load(argv[2], "pps_gen", &gen_prog);
	sink_obj = load(argv[3], "pps_sink", &sink_prog);
	if (!gen_obj || !sink_obj)
		return 1;
	g.gen_fd = bpf_program__fd(gen_prog);
	g.head_map_fd = bpf_object__find_map_fd_by_name(gen_obj, "gen_head");
	g.sink_map_fd = bpf_object__find_map_fd_by_name(sink_obj, "sink_counters");
	link = bpf_program__attach_xdp(sink_prog, g.ifindex);
	if (!link || g.sink_map_fd < 0 || g.head_map_fd < 0) {
		fprintf(stderr, "pps_gen: could not attach the sink to %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	printf("{\"ready\":true}\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		char hex[sizeof(line)];
		double seconds;

		if (sscanf(line, "run %lf %8191s", &seconds, hex) == 2)
			cmd_run(&g, seconds, hex);
		else if (!strncmp(line, "quit", 4))
			break;
		else
			printf("{\"error\":\"unknown command\"}\n");
		fflush(stdout);
	}
	bpf_link__destroy(link);
	bpf_object__close(sink_obj);
	bpf_object__close(gen_obj);
	return 0;
}
