/* Drives the real XDP program (bpf/steer.bpf.c) through BPF_PROG_TEST_RUN for tests written in
 * TypeScript (test/bpf: golden-xdp, capture-rules, table-swap and fuzz-corpus-xdp tests):
 * commands on stdin, one JSON line each on stdout. Loads the object without attaching it and
 * with every pin path cleared (nothing shared with a running router); needs root.
 *   steer_run PATH/TO/steer.bpf.o
 * Commands, bytes as hex ("-" for none):
 *   table IMAGE    a compiled table image (src/slices/compile.ts): su_view_build, then
 *                  su_xdp_tables_publish in the current mode -> {"generation"}
 *   mode NAME      express or afxdp: the control word names the last table's bank in that mode
 *                  (also the mode of later tables; express until told otherwise)
 *   capture RULES  struct su_capture_rule[] (compileCaptureRules): a port without a table
 *   run FRAME      one test run -> {"retval", "out" (the frame after the program), "fates" (route
 *                  counters that moved, by name), "steer" (steer counters that moved, by name),
 *                  and once a table was published "core": {"fate", "out"}, the user-space core's
 *                  answer as the XDP program decides (su_core_route_as_xdp) under the same table,
 *                  with a fragment table of its own that has seen the same frames, "out" the
 *                  frame sent on or passed, null for drops} */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "softunicast/core.h"
#include "json_lines.h"
#include "../router/xdp_tables.h"
#include "../xsk/internal.h"

/* Larger than any XDP test frame: the kernel limits them to a page minus head- and tailroom. */
#define FRAME_MAX 4096
/* What BPF_PROG_TEST_RUN leaves in front of the frame (XDP_PACKET_HEADROOM): the twin gets the
 * same, so that both can grow a frame alike. */
#define HEADROOM 256
/* Fragments the twin remembers: as many as the XDP program's map (bpf/maps.h, SU_FRAG_ENTRIES). */
#define TWIN_FRAGS 65536

static FILE *libbpf_log;

static int capture_libbpf_log(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	return vfprintf(libbpf_log, fmt, args);
}

static const char *const steer_names[] = {
#define SU_X(name, doc) #name,
	SU_STEER_COUNTERS(SU_X)
#undef SU_X
};

static const char *const fate_names[] = {
#define SU_X(name, doc) #name,
	SU_ROUTE_COUNTERS(SU_X)
#undef SU_X
};

struct steer {
	struct bpf_object *obj;
	const char *path;
	struct su_xdp_tables tables;
	/* The last table published, and the fragments its user-space twin has seen (all tables'). */
	struct su_view *view;
	struct su_frag_table *frags;
	int prog_fd, steer_fd, ncpus;
	uint32_t mode; /* SU_MODE_EXPRESS or SU_MODE_AFXDP, for the `mode` and `table` commands */
};

/* The counters that moved between `before` and `after`, as "name":delta pairs. */
static void print_moved(const char *key, const char *const *names, int n, const uint64_t *before,
			const uint64_t *after)
{
	printf(",\"%s\":{", key);
	for (int c = 0, first = 1; c < n; c++) {
		if (after[c] == before[c])
			continue;
		printf("%s\"%s\":%llu", first ? "" : ",", names[c],
		       (unsigned long long)(after[c] - before[c]));
		first = 0;
	}
	printf("}");
}

/* ---- Commands ----------------------------------------------------------------------------- */

static int read_steer(const struct steer *st, uint64_t out[SU_STEER_COUNTER_COUNT])
{
	/* Per-CPU values come back as one 8-byte slot per possible CPU; zeroed, because valgrind
	 * sees the kernel write only some of them. */
	uint64_t *percpu = calloc((size_t)st->ncpus, sizeof(*percpu));

	if (!percpu)
		return -ENOMEM;
	for (uint32_t key = 0; key < SU_STEER_COUNTER_COUNT; key++) {
		if (bpf_map_lookup_elem(st->steer_fd, &key, percpu)) {
			int err = -errno;

			free(percpu);
			return err;
		}
		out[key] = 0;
		for (int cpu = 0; cpu < st->ncpus; cpu++)
			out[key] += percpu[cpu];
	}
	free(percpu);
	return 0;
}

static int read_all(const struct steer *st, uint64_t steer[SU_STEER_COUNTER_COUNT],
		    uint64_t fates[SU_ROUTE_COUNTER_COUNT])
{
	struct su_error err = { 0 };

	if (su_xdp_tables_route_counters(&st->tables, fates, &err))
		return -(err.errnum ? err.errnum : EIO);
	return read_steer(st, steer);
}

/* The user-space core's answer for the same frame, as the XDP program decides. */
static void print_twin(const struct steer *st, const uint8_t *frame, size_t len)
{
	static uint8_t buf[HEADROOM + FRAME_MAX];
	uint8_t *data = buf + HEADROOM;
	uint32_t n = (uint32_t)len, owner;
	enum su_route_counter fate;

	if (!st->view)
		return;
	memcpy(data, frame, len);
	fate = su_core_route_as_xdp(st->view, st->frags, &data, &n, HEADROOM, &owner);
	printf(",\"core\":{\"fate\":\"%s\",\"out\":", fate_names[fate]);
	if (SU_ROUTE_TRANSMITS(fate) || SU_ROUTE_PASSES(fate) || fate == SU_ROUTE_decap_local) {
		printf("\"");
		print_hex(data, n);
		printf("\"}");
	} else {
		printf("null}");
	}
}

static void cmd_run(const struct steer *st, const uint8_t *frame, size_t len)
{
	uint64_t steer0[SU_STEER_COUNTER_COUNT], steer1[SU_STEER_COUNTER_COUNT];
	uint64_t fates0[SU_ROUTE_COUNTER_COUNT], fates1[SU_ROUTE_COUNTER_COUNT];
	static uint8_t out[FRAME_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int err;

	if (len > FRAME_MAX) {
		print_error("ERR_INVALID_OPTION", "frame longer than FRAME_MAX");
		return;
	}
	memset(out, 0, sizeof(out));
	if ((err = read_all(st, steer0, fates0))) {
		print_errno("counters", err);
		return;
	}
	if (bpf_prog_test_run_opts(st->prog_fd, &opts)) {
		print_errno("test run", errno);
		return;
	}
	if ((err = read_all(st, steer1, fates1))) {
		print_errno("counters", err);
		return;
	}
	printf("{\"ok\":true,\"retval\":%u,\"out\":\"", opts.retval);
	print_hex(out, opts.data_size_out < sizeof(out) ? opts.data_size_out : sizeof(out));
	printf("\"");
	print_moved("fates", fate_names, SU_ROUTE_COUNTER_COUNT, fates0, fates1);
	print_moved("steer", steer_names, SU_STEER_COUNTER_COUNT, steer0, steer1);
	print_twin(st, frame, len);
	printf("}\n");
}

static void cmd_table(struct steer *st, const uint8_t *image, size_t len)
{
	struct su_router_finished retired = { 0 };
	struct su_error err = { 0 };
	struct su_view *view = NULL;

	if (su_view_build(image, len, &view, &err)) {
		print_error(err.code, err.message);
		return;
	}
	if (su_xdp_tables_publish(&st->tables, view, st->mode, &retired, &err)) {
		print_error(err.code, err.message);
		su_view_free(view);
	} else {
		printf("{\"ok\":true,\"generation\":%llu}\n",
		       (unsigned long long)su_view_generation(view));
		/* The twin's fragments stay, as the program's do: an entry answers for the
		 * generation that made it (a table published again under it follows them). */
		su_view_free(st->view);
		st->view = view;
	}
	free(retired.counters);
}

/* The control word, as su_xdp_tables_publish writes it: the last table's bank, in `mode`. */
static void cmd_mode(struct steer *st, const char *name)
{
	struct su_control c = { .bank = st->tables.bank };
	uint32_t zero = 0;

	if (strcmp(name, "express") == 0)
		c.mode = SU_MODE_EXPRESS;
	else if (strcmp(name, "afxdp") == 0)
		c.mode = SU_MODE_AFXDP;
	else {
		print_error("ERR_INVALID_OPTION", "mode: expected express or afxdp");
		return;
	}
	if (bpf_map_update_elem(st->tables.control, &zero, &c, BPF_ANY)) {
		print_errno("mode", errno);
		return;
	}
	st->mode = c.mode;
	st->tables.mode = c.mode;
	printf("{\"ok\":true}\n");
}

static void cmd_capture(const struct steer *st, const uint8_t *rules, size_t len)
{
	struct su_capture_rule *r;
	struct su_error err = { 0 };

	if (len % sizeof(*r)) {
		print_error("ERR_INVALID_OPTION", "capture: not whole rules");
		return;
	}
	/* A copy: the decoded bytes need not be aligned for the struct. */
	r = calloc(len / sizeof(*r) + 1, sizeof(*r));
	if (!r) {
		print_errno("capture", ENOMEM);
		return;
	}
	memcpy(r, rules, len);
	if (su_prog_set_capture(st->obj, st->path, r, (uint32_t)(len / sizeof(*r)), &err))
		print_error(err.code, err.message);
	else
		printf("{\"ok\":true}\n");
	free(r);
}

static void dispatch(struct steer *st, char *line)
{
	char *words[3];
	uint8_t *bytes = NULL;
	ssize_t len = 0;
	int n = split(line, words, 3);

	if (n == 0)
		return;
	if (n != 2) {
		print_error("ERR_INVALID_OPTION", "expected a command and one argument");
		return;
	}
	if (strcmp(words[0], "mode") == 0) {
		cmd_mode(st, words[1]);
		return;
	}
	len = unhex(words[1], &bytes);
	if (len < 0) {
		print_error("ERR_INVALID_OPTION", "bad hex");
		return;
	}
	if (strcmp(words[0], "run") == 0)
		cmd_run(st, bytes, (size_t)len);
	else if (strcmp(words[0], "table") == 0)
		cmd_table(st, bytes, (size_t)len);
	else if (strcmp(words[0], "capture") == 0)
		cmd_capture(st, bytes, (size_t)len);
	else
		print_error("ERR_INVALID_OPTION", "unknown command");
	free(bytes);
}

/* Opens and loads the object with no pin path (su_pin_prepare without a directory), finds the
 * program and the maps. 0, or -errno with the reason printed. */
static int load(struct steer *st, bool *show_log)
{
	struct bpf_program *prog;
	struct su_error err = { 0 };
	int ret;

	st->obj = bpf_object__open_file(st->path, NULL);
	if (!st->obj) {
		ret = -errno;
		fprintf(stderr, "open %s: %s\n", st->path, strerror(-ret));
		*show_log = true;
		return ret;
	}
	if ((ret = su_pin_prepare(st->obj, NULL, &err))) {
		fprintf(stderr, "%s\n", err.message);
		return ret;
	}
	if ((ret = bpf_object__load(st->obj))) {
		fprintf(stderr, "load %s: %s\n", st->path, strerror(-ret));
		*show_log = true;
		return ret;
	}
	prog = bpf_object__find_program_by_name(st->obj, "su_steer");
	st->steer_fd = bpf_object__find_map_fd_by_name(st->obj, "su_steer_counters");
	st->ncpus = libbpf_num_possible_cpus();
	if (!prog || st->steer_fd < 0 || st->ncpus <= 0) {
		fprintf(stderr, "%s lacks su_steer or its counters\n", st->path);
		return -ENOENT;
	}
	st->prog_fd = bpf_program__fd(prog);
	if ((ret = su_xdp_tables_open(st->obj, st->path, &st->tables, &err))) {
		fprintf(stderr, "%s\n", err.message);
		return ret;
	}
	st->frags = su_frag_table_new(TWIN_FRAGS);
	return st->frags ? 0 : -ENOMEM;
}

int main(int argc, char **argv)
{
	struct steer st = { .path = argc == 2 ? argv[1] : NULL, .mode = SU_MODE_EXPRESS };
	char *log_text = NULL, *line = NULL;
	size_t log_len = 0, line_cap = 0;
	bool show_log = false;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH/TO/steer.bpf.o\n", argv[0]);
		return 2;
	}
	libbpf_log = open_memstream(&log_text, &log_len);
	if (!libbpf_log) {
		perror("open_memstream");
		return 1;
	}
	libbpf_set_print(capture_libbpf_log);
	st.tables.stats_fd[0] = st.tables.stats_fd[1] = -1;
	err = load(&st, &show_log);
	if (!err) {
		printf("{\"ok\":true,\"ready\":true}\n");
		fflush(stdout);
		while (getline(&line, &line_cap, stdin) >= 0) {
			dispatch(&st, line);
			fflush(stdout);
		}
		free(line);
	}
	su_xdp_tables_close(&st.tables);
	su_view_free(st.view);
	su_frag_table_free(st.frags);
	bpf_object__close(st.obj);
	libbpf_set_print(NULL);
	fclose(libbpf_log);
	if (show_log)
		fputs(log_text, stderr);
	free(log_text);
	return err ? 1 : 0;
}
