/* The express lane's cost in the kernel, for bench/xdp.ts (`npm run bench`): the real XDP program
 * (bpf/steer.bpf.c) under BPF_PROG_TEST_RUN beside a bare XDP_TX program on the same frames, and
 * the time a table takes to reach the program's maps. Commands on stdin, one JSON line each:
 *   xdp_bench STEER_OBJ BARE_OBJ
 *   table PATH        a compiled table image file: su_view_build, then su_xdp_tables_publish in
 *                     express mode, each timed -> {"build_ms","publish_ms","keys","ranges"}
 *   time CALLS HEX[,HEX...]
 *                     CALLS runs of each program, one run per call (the express lane rewrites
 *                     frames: a second repeat would run on its own output, FACTS.md), alternating
 *                     bare and steer, cycling through the frames -> per-call ns as the kernel
 *                     reports it (median and mean) for both, their actions, and the fates that
 *                     moved in the steer program's counters
 *   warm REPEAT HEX   5 calls of each program with `repeat` REPEAT, alternating: the kernel's ns
 *                     per repeat, caches warm and the per-call cost spread thin. Only for frames
 *                     the program leaves as they were or rewrites to the same verdict (a pass,
 *                     a drop, an L2 rewrite): a repeat runs on the previous one's output
 * Loads both objects without attaching them and with every pin path cleared; needs root. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "softunicast/core.h"
/* The drivers' JSON line helpers are static, and this tool prints no hex. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "../test/json_lines.h"
#include "../router/xdp_tables.h"
#include "../xsk/internal.h"

#define FRAMES_MAX 65536

static const char *const fate_names[] = {
#define SU_X(name, doc) #name,
	SU_ROUTE_COUNTERS(SU_X)
#undef SU_X
};

struct bench {
	struct bpf_object *steer, *bare;
	int steer_fd, bare_fd;
	struct su_xdp_tables tables;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Median and mean of `n` durations (sorts them). */
static void stats(uint32_t *v, uint32_t n, double *median, double *mean)
{
	double sum = 0;

	qsort(v, n, sizeof(*v), cmp_u32);
	for (uint32_t i = 0; i < n; i++)
		sum += v[i];
	*median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
	*mean = sum / n;
}

static void cmd_table(struct bench *b, const char *path)
{
	struct su_router_finished retired = { 0 };
	struct su_error err = { 0 };
	struct su_view *view = NULL;
	uint32_t ranges;
	double t0, t1, t2;
	FILE *in = fopen(path, "rb");
	uint8_t *image = NULL;
	long size = -1;

	if (in && !fseek(in, 0, SEEK_END) && (size = ftell(in)) > 0 && !fseek(in, 0, SEEK_SET) &&
	    (image = malloc((size_t)size)) && fread(image, 1, (size_t)size, in) != (size_t)size)
		size = -1;
	if (in)
		fclose(in);
	if (!image || size <= 0) {
		print_errno(path, errno ? errno : EIO);
		free(image);
		return;
	}
	t0 = now_ms();
	if (su_view_build(image, (size_t)size, &view, &err)) {
		print_error(err.code, err.message);
		free(image);
		return;
	}
	t1 = now_ms();
	if (su_xdp_tables_publish(&b->tables, view, SU_MODE_EXPRESS, &retired, &err)) {
		print_error(err.code, err.message);
	} else {
		t2 = now_ms();
		su_view_ranges(view, &ranges);
		printf("{\"ok\":true,\"build_ms\":%.1f,\"publish_ms\":%.1f,\"keys\":%u,\"ranges\":%u}\n",
		       t1 - t0, t2 - t1, su_view_key_count(view), ranges);
	}
	free(retired.counters);
	su_view_free(view);
	free(image);
}

/* One run of `fd` on `frame`: the kernel's duration, or -errno. */
static int64_t run_once(int fd, const uint8_t *frame, uint32_t len, uint32_t *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .repeat = 1);

	if (bpf_prog_test_run_opts(fd, &opts))
		return -errno;
	*retval = opts.retval;
	return opts.duration;
}

struct frames {
	uint8_t *bytes[FRAMES_MAX];
	uint32_t len[FRAMES_MAX];
	uint32_t n;
};

static int parse_frames(char *list, struct frames *f)
{
	f->n = 0;
	for (char *save = NULL, *h = strtok_r(list, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
		ssize_t len;

		if (f->n == FRAMES_MAX || (len = unhex(h, &f->bytes[f->n])) <= 0)
			return -EINVAL;
		f->len[f->n++] = (uint32_t)len;
	}
	return f->n ? 0 : -EINVAL;
}

static void print_fates(const uint64_t *before, const uint64_t *after)
{
	printf(",\"fates\":{");
	for (int c = 0, first = 1; c < SU_ROUTE_COUNTER_COUNT; c++) {
		if (after[c] == before[c])
			continue;
		printf("%s\"%s\":%llu", first ? "" : ",", fate_names[c],
		       (unsigned long long)(after[c] - before[c]));
		first = 0;
	}
	printf("}");
}

static void cmd_time(struct bench *b, uint32_t calls, char *list)
{
	static struct frames f;
	uint64_t fates0[SU_ROUTE_COUNTER_COUNT], fates1[SU_ROUTE_COUNTER_COUNT];
	uint32_t *bare = calloc(calls, sizeof(*bare)), *steer = calloc(calls, sizeof(*steer));
	uint32_t bare_ret = 0, steer_ret = 0;
	double bare_median, bare_mean, steer_median, steer_mean;
	struct su_error err = { 0 };
	int64_t ns = 0;

	if (!bare || !steer || !calls || parse_frames(list, &f)) {
		print_error("ERR_INVALID_OPTION", "time: expected CALLS > 0 and frames in hex");
		goto out;
	}
	if (su_xdp_tables_route_counters(&b->tables, fates0, &err)) {
		print_error(err.code, err.message);
		goto out;
	}
	for (uint32_t i = 0; i < calls && ns >= 0; i++) {
		uint32_t k = i % f.n;

		ns = run_once(b->bare_fd, f.bytes[k], f.len[k], &bare_ret);
		bare[i] = (uint32_t)ns;
		if (ns >= 0)
			ns = run_once(b->steer_fd, f.bytes[k], f.len[k], &steer_ret);
		steer[i] = (uint32_t)ns;
	}
	if (ns < 0 || su_xdp_tables_route_counters(&b->tables, fates1, &err)) {
		print_errno("test run", ns < 0 ? (int)-ns : err.errnum);
		goto out;
	}
	stats(bare, calls, &bare_median, &bare_mean);
	stats(steer, calls, &steer_median, &steer_mean);
	printf("{\"ok\":true,\"frames\":%u,\"bare_retval\":%u,\"steer_retval\":%u,"
	       "\"bare_median\":%.1f,\"bare_mean\":%.2f,\"steer_median\":%.1f,\"steer_mean\":%.2f",
	       f.n, bare_ret, steer_ret, bare_median, bare_mean, steer_median, steer_mean);
	print_fates(fates0, fates1);
	printf("}\n");
out:
	for (uint32_t i = 0; i < f.n; i++)
		free(f.bytes[i]);
	f.n = 0;
	free(bare);
	free(steer);
}

#define WARM_CALLS 5

static void cmd_warm(struct bench *b, uint32_t repeat, const char *text)
{
	uint64_t fates0[SU_ROUTE_COUNTER_COUNT], fates1[SU_ROUTE_COUNTER_COUNT];
	uint32_t bare[WARM_CALLS], steer[WARM_CALLS];
	double bare_median, steer_median, unused;
	struct su_error err = { 0 };
	uint8_t *frame = NULL;
	ssize_t len = unhex(text, &frame);
	int failed = 0;

	if (len <= 0 || !repeat) {
		print_error("ERR_INVALID_OPTION", "warm: expected REPEAT > 0 and a frame in hex");
		free(frame);
		return;
	}
	if (su_xdp_tables_route_counters(&b->tables, fates0, &err)) {
		print_error(err.code, err.message);
		free(frame);
		return;
	}
	for (int i = 0; i < WARM_CALLS && !failed; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (uint32_t)len,
			    .repeat = repeat);

		failed = bpf_prog_test_run_opts(b->bare_fd, &o) ? errno : 0;
		bare[i] = o.duration;
		o.duration = 0;
		if (!failed)
			failed = bpf_prog_test_run_opts(b->steer_fd, &o) ? errno : 0;
		steer[i] = o.duration;
	}
	free(frame);
	if (failed || su_xdp_tables_route_counters(&b->tables, fates1, &err)) {
		print_errno("test run", failed ? failed : err.errnum);
		return;
	}
	stats(bare, WARM_CALLS, &bare_median, &unused);
	stats(steer, WARM_CALLS, &steer_median, &unused);
	printf("{\"ok\":true,\"bare_median\":%.1f,\"steer_median\":%.1f", bare_median, steer_median);
	print_fates(fates0, fates1);
	printf("}\n");
}

static void dispatch(struct bench *b, char *line)
{
	char *words[3];
	int n = split(line, words, 3);

	if (n == 2 && strcmp(words[0], "table") == 0)
		cmd_table(b, words[1]);
	else if (n == 3 && strcmp(words[0], "time") == 0)
		cmd_time(b, (uint32_t)strtoul(words[1], NULL, 10), words[2]);
	else if (n == 3 && strcmp(words[0], "warm") == 0)
		cmd_warm(b, (uint32_t)strtoul(words[1], NULL, 10), words[2]);
	else if (n > 0)
		print_error("ERR_INVALID_OPTION",
			    "expected table PATH, time CALLS FRAMES or warm REPEAT FRAME");
}

/* Opens and loads `path` with no pin path; the fd of its program `name`. */
static int load(const char *path, const char *name, struct bpf_object **obj)
{
	struct su_error err = { 0 };
	struct bpf_program *prog;

	*obj = bpf_object__open_file(path, NULL);
	if (!*obj || su_pin_prepare(*obj, NULL, &err) || bpf_object__load(*obj) ||
	    !(prog = bpf_object__find_program_by_name(*obj, name))) {
		fprintf(stderr, "xdp_bench: could not load %s from %s: %s\n", name, path,
			err.message[0] ? err.message : strerror(errno));
		return -1;
	}
	return bpf_program__fd(prog);
}

int main(int argc, char **argv)
{
	struct bench b = { 0 };
	struct su_error err = { 0 };
	char *line = NULL;
	size_t cap = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: xdp_bench STEER_OBJ BARE_OBJ\n");
		return 2;
	}
	b.tables.stats_fd[0] = b.tables.stats_fd[1] = -1;
	if ((b.steer_fd = load(argv[1], "su_steer", &b.steer)) < 0 ||
	    (b.bare_fd = load(argv[2], "pps_xdp_bounce", &b.bare)) < 0)
		return 1;
	if (su_xdp_tables_open(b.steer, argv[1], &b.tables, &err)) {
		fprintf(stderr, "xdp_bench: %s\n", err.message);
		return 1;
	}
	printf("{\"ok\":true,\"ready\":true}\n");
	fflush(stdout);
	while (getline(&line, &cap, stdin) >= 0) {
		dispatch(&b, line);
		fflush(stdout);
	}
	free(line);
	su_xdp_tables_close(&b.tables);
	bpf_object__close(b.steer);
	bpf_object__close(b.bare);
	return 0;
}
