/* The pps bench's traffic source and sink, one process in the namespace of the veth's far end
 * (driven by bench/pps/run.ts over stdin/stdout, one JSON line per command):
 *   pps_gen IFNAME REFLECT_OBJ CPU
 * attaches the reflector (reflect.bpf.c) to IFNAME, pins itself to CPU, then answers
 *   run SECONDS IN_FLIGHT HEXFRAME DUT_PIDS REFLECTOR_PIDS [HEADS_FILE]
 *                                   drains the loop, makes HEXFRAME the test frame, injects
 *                                   IN_FLIGHT copies of it (AF_PACKET), lets them circulate
 *                                   between the reflector and the device under test for a
 *                                   moment, then counts for SECONDS; replies with what the
 *                                   reflector offered and got back meanwhile, how many frames
 *                                   were still in flight at the end, the busy share of each CPU,
 *                                   and the CPU time the two groups of tasks (comma-separated
 *                                   pids, all their threads; "-" for none) spent meanwhile.
 *                                   With HEADS_FILE (N frame heads of REFLECT_HEAD bytes, N a
 *                                   power of two up to REFLECT_HEADS_MAX, loaded once per file),
 *                                   each frame sent back gets one of them at random
 *   quit                            (or end of input) detaches and exits
 * Why a closed loop: BPF_PROG_RUN with live frames, the generator this bench used first, is
 * refused (EPERM) by the kernel of the machine it now runs on, and a user-space sender reaches
 * only ~1 Mpps here, less than an XDP_TX bounce forwards. A BPF link holds the reflector: the
 * kernel detaches it when this process dies (FACTS.md). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "reflect.h"

#define MAX_FRAME 2048
#define CPUS_MAX 64
#define IN_FLIGHT_MAX 4096
/* Long enough for every frame of the previous measurement to come back and be dropped. */
#define DRAIN_NS 50000000L
/* Unmeasured: the loop fills up and the rings and caches warm. */
#define SETTLE_NS 100000000L

struct gen {
	int ifindex;
	int state_fd, counters_fd;
	int cpus;
	int packet_fd; /* AF_PACKET, bound to ifindex: injects the first frames */
	int heads_fd;
	char heads_path[256]; /* the heads file last loaded into reflect_heads ("" for none) */
	__u32 heads;          /* how many it held */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(long ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000L, .tv_nsec = ns % 1000000000L };

	nanosleep(&ts, NULL);
}

static int read_counters(const struct gen *g, unsigned long long out[REFLECT_COUNTER_COUNT])
{
	unsigned long long *per_cpu = calloc((size_t)g->cpus, sizeof(*per_cpu));

	if (!per_cpu)
		return -ENOMEM;
	for (unsigned int k = 0; k < REFLECT_COUNTER_COUNT; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(g->counters_fd, &k, per_cpu)) {
			free(per_cpu);
			return -errno;
		}
		for (int c = 0; c < g->cpus; c++)
			out[k] += per_cpu[c];
	}
	free(per_cpu);
	return 0;
}

/* Ticks of each CPU from /proc/stat: busy (neither idle nor waiting for I/O), stolen by the
 * hypervisor, and all of them. Returns how many CPUs were read. */
struct cpu_ticks {
	unsigned long long busy[CPUS_MAX], steal[CPUS_MAX], total[CPUS_MAX];
};

static int read_ticks(struct cpu_ticks *t)
{
	FILE *f = fopen("/proc/stat", "r");
	char line[512];
	int n = 0;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long v[8] = { 0 };
		int cpu;

		if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 9 ||
		    cpu < 0 || cpu >= CPUS_MAX)
			continue;
		t->total[cpu] = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
		t->busy[cpu] = t->total[cpu] - v[3] - v[4];
		t->steal[cpu] = v[7];
		n = cpu + 1 > n ? cpu + 1 : n;
	}
	if (f)
		fclose(f);
	return n;
}

/* The time on a CPU of every thread of the processes in `pids` (comma-separated, "-" for none),
 * from /proc/PID/task/TID/schedstat (its first field, ns): what the group cost, whatever share
 * of a CPU the scheduler gave it. */
static unsigned long long group_ns(const char *pids)
{
	unsigned long long sum = 0;
	char copy[256], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", pids);
	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char path[96];
		DIR *dir;
		struct dirent *e;

		snprintf(path, sizeof(path), "/proc/%d/task", atoi(p));
		dir = opendir(path);
		while (dir && (e = readdir(dir))) {
			unsigned long long ns = 0;
			FILE *f;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", atoi(p), e->d_name);
			f = fopen(path, "r");
			if (f && fscanf(f, "%llu", &ns) == 1)
				sum += ns;
			if (f)
				fclose(f);
		}
		if (dir)
			closedir(dir);
	}
	return sum;
}

/* ,"cpu_busy":[...],"cpu_steal":[...]: shares of each CPU's time between two readings. */
static void print_ticks(const struct cpu_ticks *a, const struct cpu_ticks *b, int n)
{
	const char *keys[] = { "cpu_busy", "cpu_steal" };

	for (int k = 0; k < 2; k++) {
		printf(",\"%s\":[", keys[k]);
		for (int c = 0; c < n; c++) {
			unsigned long long total = b->total[c] - a->total[c];
			unsigned long long part = k ? b->steal[c] - a->steal[c] : b->busy[c] - a->busy[c];

			printf("%s%.3f", c ? "," : "", total ? (double)part / (double)total : 0.0);
		}
		printf("]");
	}
}

static int parse_hex(const char *hex, unsigned char *out, size_t max)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 > max)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			return -EINVAL;
		out[i] = (unsigned char)byte;
	}
	return (int)(n / 2);
}

static int set_mode(const struct gen *g, struct reflect_state *st, __u32 mode)
{
	st->mode = mode;
	return bpf_map_update_elem(g->state_fd, &(unsigned int){ 0 }, st, BPF_ANY) ? -errno : 0;
}

/* Loads the heads of `path` into reflect_heads, unless they are there already. */
static int load_heads(struct gen *g, const char *path)
{
	static struct reflect_head heads[REFLECT_HEADS_MAX];
	FILE *f;
	long bytes;
	size_t n;

	if (!strcmp(path, g->heads_path))
		return 0;
	f = fopen(path, "rb");
	if (!f)
		return -errno;
	/* Whole heads only, and no more than the map holds: a short or long file is a mistake. */
	bytes = fseek(f, 0, SEEK_END) ? -1 : ftell(f);
	rewind(f);
	n = bytes > 0 && bytes % REFLECT_HEAD == 0 ? (size_t)bytes / REFLECT_HEAD : 0;
	if (!n || n > REFLECT_HEADS_MAX || (n & (n - 1)) || fread(heads, sizeof(heads[0]), n, f) != n) {
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	g->heads_path[0] = '\0';
	for (__u32 k = 0; k < n; k++)
		if (bpf_map_update_elem(g->heads_fd, &k, &heads[k], BPF_ANY))
			return -errno;
	snprintf(g->heads_path, sizeof(g->heads_path), "%s", path);
	g->heads = (__u32)n;
	return 0;
}

/* Drains, sets the frame, injects `in_flight` copies, settles, counts for `seconds`, drains.
 * `heads`: how many entries of reflect_heads the reflector rotates through (0: none). */
static int measure(const struct gen *g, double seconds, unsigned int in_flight,
		   const unsigned char *frame, int len, const char *dut, const char *reflector,
		   __u32 heads)
{
	unsigned long long dut0, dut1, refl0, refl1;
	unsigned long long before[REFLECT_COUNTER_COUNT], after[REFLECT_COUNTER_COUNT],
		end[REFLECT_COUNTER_COUNT];
	static struct cpu_ticks ticks0, ticks1;
	int cpus;
	struct reflect_state st = { .len = (__u32)len, .heads = heads };
	double start, stop;
	int err;

	memcpy(st.head, frame, REFLECT_HEAD);
	if ((err = set_mode(g, &st, REFLECT_DROP)))
		return err;
	nap(DRAIN_NS);
	if ((err = set_mode(g, &st, REFLECT_BOUNCE)))
		return err;
	for (unsigned int i = 0, tries = 0; i < in_flight; i++) {
		if (send(g->packet_fd, frame, (size_t)len, 0) == len)
			continue;
		/* The device's ring is full for now (veth refuses with ENOBUFS): wait, send again. */
		if ((errno != ENOBUFS && errno != EAGAIN) || ++tries > 10000)
			return -errno;
		nap(10000);
		i--;
	}
	nap(SETTLE_NS);
	if ((err = read_counters(g, before)))
		return err;
	read_ticks(&ticks0);
	dut0 = group_ns(dut);
	refl0 = group_ns(reflector);
	start = now_s();
	nap((long)(seconds * 1e9));
	if ((err = read_counters(g, after)))
		return err;
	stop = now_s();
	dut1 = group_ns(dut);
	refl1 = group_ns(reflector);
	cpus = read_ticks(&ticks1);
	if ((err = set_mode(g, &st, REFLECT_DROP)))
		return err;
	nap(DRAIN_NS);
	if ((err = read_counters(g, end)))
		return err;
	printf("{\"sent\":%llu,\"seconds\":%.6f,\"sink_packets\":%llu,\"sink_bytes\":%llu,"
	       "\"sink_gue\":%llu,\"injected\":%u,\"in_flight_end\":%llu,\"foreign\":%llu,"
	       "\"bad\":%llu",
	       after[REFLECT_reflected] - before[REFLECT_reflected], stop - start,
	       after[REFLECT_packets] - before[REFLECT_packets],
	       after[REFLECT_bytes] - before[REFLECT_bytes], after[REFLECT_gue] - before[REFLECT_gue],
	       in_flight, end[REFLECT_drained] - after[REFLECT_drained],
	       end[REFLECT_foreign] - before[REFLECT_foreign], end[REFLECT_bad] - before[REFLECT_bad]);
	print_ticks(&ticks0, &ticks1, cpus);
	printf(",\"dut_cpu_ns\":%llu,\"reflector_cpu_ns\":%llu}\n", dut1 - dut0, refl1 - refl0);
	return 0;
}

static void cmd_run(struct gen *g, const char *line)
{
	static char hex[2 * MAX_FRAME + 2];
	char dut[128], reflector[128], heads[256] = "";
	unsigned char frame[MAX_FRAME];
	unsigned int in_flight;
	double seconds;
	int len, err, fields;

	fields = sscanf(line, "run %lf %u %4097s %127s %127s %255s", &seconds, &in_flight, hex, dut,
			reflector, heads);
	if (fields < 5 ||
	    (len = parse_hex(hex, frame, sizeof(frame))) < REFLECT_HEAD ||
	    frame[len - 2] != REFLECT_MARK0 || frame[len - 1] != REFLECT_MARK1 || !in_flight ||
	    in_flight > IN_FLIGHT_MAX) {
		printf("{\"error\":\"expected run SECONDS IN_FLIGHT (1 to %d) HEXFRAME (%d to %d "
		       "bytes, ending in the mark %02x%02x) DUT_PIDS REFLECTOR_PIDS [HEADS_FILE]\"}\n",
		       IN_FLIGHT_MAX, REFLECT_HEAD, MAX_FRAME, REFLECT_MARK0, REFLECT_MARK1);
		return;
	}
	if (fields == 6 && (err = load_heads(g, heads))) {
		printf("{\"error\":\"expected a heads file of 1 to %d heads of %d bytes (a power of two) "
		       "for HEADS_FILE but received %s: %s\"}\n",
		       REFLECT_HEADS_MAX, REFLECT_HEAD, heads, strerror(-err));
		return;
	}
	err = measure(g, seconds, in_flight, frame, len, dut, reflector, fields == 6 ? g->heads : 0);
	if (err)
		printf("{\"error\":\"%s\"}\n", strerror(-err));
}

static int open_packet(struct gen *g)
{
	struct sockaddr_ll addr = { .sll_family = AF_PACKET, .sll_ifindex = g->ifindex,
				    .sll_protocol = htons(ETH_P_ALL) };
	int one = 1;

	/* Protocol 0: this socket sends only, it receives nothing. */
	g->packet_fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (g->packet_fd < 0)
		return -errno;
	addr.sll_protocol = 0;
	if (bind(g->packet_fd, (struct sockaddr *)&addr, sizeof(addr)))
		return -errno;
	/* Straight to the driver: veth has no queue worth going through. */
	setsockopt(g->packet_fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_program *prog;
	struct bpf_object *obj;
	struct bpf_link *link;
	struct gen g = { 0 };
	static char line[2 * MAX_FRAME + 64];
	cpu_set_t cpus;

	if (argc != 4) {
		fprintf(stderr, "usage: pps_gen IFNAME REFLECT_OBJ CPU\n");
		return 2;
	}
	CPU_ZERO(&cpus);
	CPU_SET(atoi(argv[3]), &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		perror("pps_gen: sched_setaffinity (running unpinned)");
	g.ifindex = (int)if_nametoindex(argv[1]);
	g.cpus = libbpf_num_possible_cpus();
	if (!g.ifindex || g.cpus <= 0 || open_packet(&g)) {
		fprintf(stderr, "pps_gen: no interface %s to send on: %s\n", argv[1], strerror(errno));
		return 1;
	}
	obj = bpf_object__open_file(argv[2], NULL);
	if (!obj || bpf_object__load(obj) ||
	    !(prog = bpf_object__find_program_by_name(obj, "pps_reflect"))) {
		fprintf(stderr, "pps_gen: could not load %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	g.state_fd = bpf_object__find_map_fd_by_name(obj, "reflect_state");
	g.counters_fd = bpf_object__find_map_fd_by_name(obj, "reflect_counters");
	g.heads_fd = bpf_object__find_map_fd_by_name(obj, "reflect_heads");
	link = bpf_program__attach_xdp(prog, g.ifindex);
	if (!link || g.state_fd < 0 || g.counters_fd < 0 || g.heads_fd < 0) {
		fprintf(stderr, "pps_gen: could not attach the reflector to %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	printf("{\"ready\":true}\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "run ", 4))
			cmd_run(&g, line);
		else if (!strncmp(line, "quit", 4))
			break;
		else
			printf("{\"error\":\"unknown command\"}\n");
		fflush(stdout);
	}
	bpf_link__destroy(link);
	bpf_object__close(obj);
	close(g.packet_fd);
	return 0;
}
