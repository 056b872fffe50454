/* Drives the XDP program (bpf/steer.bpf.c) through BPF_PROG_TEST_RUN for golden-packet tests
 * written in TypeScript (test/bpf/local-view.test.ts): commands on stdin, one JSON line each on
 * stdout. Loads the object without attaching it; needs root.
 *   steer_run PATH/TO/steer.bpf.o
 * Commands, bytes as hex ("-" for none):
 *   view HOST RULES TRUSTED  su_prog_set_local_view (struct su_host, su_capture_rule[], su_prefix[])
 *   capture RULES            replaces the capture rules, unused slots zeroed
 *   run FRAME                one test run: {"retval", "out" (the frame after the program),
 *                            "counters" (the steer counters that moved, by name)} */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../xsk/internal.h"

/* Larger than any XDP test frame: the kernel limits them to a page minus head- and tailroom. */
#define FRAME_MAX 4096

static FILE *libbpf_log;

static int capture_libbpf_log(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	return vfprintf(libbpf_log, fmt, args);
}

static const char *const counter_names[] = {
#define SU_X(name, doc) #name,
	SU_STEER_COUNTERS(SU_X)
#undef SU_X
};

struct steer {
	struct bpf_object *obj;
	const char *path;
	int prog_fd, capture_fd, counters_fd;
	int ncpus;
};

/* ---- Output ------------------------------------------------------------------------------- */

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_error(const char *code, const char *message)
{
	printf("{\"ok\":false,\"code\":");
	print_json_string(code);
	printf(",\"message\":");
	print_json_string(message);
	printf("}\n");
}

static void print_errno(const char *what, int err)
{
	char message[256];

	snprintf(message, sizeof(message), "%s: %s", what, strerror(err < 0 ? -err : err));
	print_error("ERR_SYSCALL", message);
}

/* ---- Input -------------------------------------------------------------------------------- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes `text` ("-" is empty) into a new buffer; -1 on bad hex. */
static ssize_t unhex(const char *text, uint8_t **out)
{
	size_t len = strcmp(text, "-") == 0 ? 0 : strlen(text);
	uint8_t *bytes;

	if (len % 2)
		return -1;
	/* One spare byte: malloc(0) may return NULL, which reads like a failure. */
	bytes = malloc(len / 2 + 1);
	if (!bytes)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(bytes);
			return -1;
		}
		bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = bytes;
	return (ssize_t)(len / 2);
}

/* ---- Commands ----------------------------------------------------------------------------- */

static int read_counters(const struct steer *st, uint64_t out[SU_STEER_COUNTER_COUNT])
{
	/* Per-CPU values come back as one 8-byte slot per possible CPU; zeroed, because valgrind
	 * sees the kernel write only some of them. */
	uint64_t *percpu = calloc((size_t)st->ncpus, sizeof(*percpu));

	if (!percpu)
		return -ENOMEM;
	for (uint32_t key = 0; key < SU_STEER_COUNTER_COUNT; key++) {
		if (bpf_map_lookup_elem(st->counters_fd, &key, percpu)) {
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

static void cmd_run(const struct steer *st, const uint8_t *frame, size_t len)
{
	uint64_t before[SU_STEER_COUNTER_COUNT], after[SU_STEER_COUNTER_COUNT];
	static uint8_t out[FRAME_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int err;

	if (len > FRAME_MAX) {
		print_error("ERR_INVALID_OPTION", "frame longer than FRAME_MAX");
		return;
	}
	memset(out, 0, sizeof(out));
	if ((err = read_counters(st, before)) ||
	    (err = bpf_prog_test_run_opts(st->prog_fd, &opts)) ||
	    (err = read_counters(st, after))) {
		print_errno("test run", err);
		return;
	}
	printf("{\"ok\":true,\"retval\":%u,\"out\":\"", opts.retval);
	for (uint32_t i = 0; i < opts.data_size_out && i < sizeof(out); i++)
		printf("%02x", out[i]);
	printf("\",\"counters\":{");
	for (int c = 0, first = 1; c < SU_STEER_COUNTER_COUNT; c++) {
		if (after[c] == before[c])
			continue;
		printf("%s\"%s\":%llu", first ? "" : ",", counter_names[c],
		       (unsigned long long)(after[c] - before[c]));
		first = 0;
	}
	printf("}}\n");
}

static void cmd_view(const struct steer *st, const uint8_t *host, size_t host_len,
		     const uint8_t *rules, size_t rules_len, const uint8_t *trusted,
		     size_t trusted_len)
{
	struct su_host h;
	struct su_capture_rule *r = NULL;
	struct su_prefix *t = NULL;
	struct su_error err = { 0 };

	if (host_len != sizeof(h) || rules_len % sizeof(*r) || trusted_len % sizeof(*t)) {
		print_error("ERR_INVALID_OPTION", "view: sizes are not whole structs");
		return;
	}
	memcpy(&h, host, sizeof(h));
	/* Copies: the decoded bytes need not be aligned for the structs. */
	r = calloc(rules_len / sizeof(*r) + 1, sizeof(*r));
	t = calloc(trusted_len / sizeof(*t) + 1, sizeof(*t));
	if (!r || !t) {
		print_errno("view", ENOMEM);
	} else {
		memcpy(r, rules, rules_len);
		memcpy(t, trusted, trusted_len);
		if (su_prog_set_local_view(st->obj, st->path, &h, r,
					   (uint32_t)(rules_len / sizeof(*r)), t,
					   (uint32_t)(trusted_len / sizeof(*t)), &err))
			print_error(err.code, err.message);
		else
			printf("{\"ok\":true}\n");
	}
	free(r);
	free(t);
}

static void cmd_capture(const struct steer *st, const uint8_t *rules, size_t len)
{
	if (len % sizeof(struct su_capture_rule) ||
	    len / sizeof(struct su_capture_rule) > SU_CAPTURE_RULES_MAX) {
		print_error("ERR_INVALID_OPTION", "capture: not whole rules, or too many");
		return;
	}
	for (uint32_t i = 0; i < SU_CAPTURE_RULES_MAX; i++) {
		struct su_capture_rule rule = { 0 };

		if (i < len / sizeof(rule))
			memcpy(&rule, rules + i * sizeof(rule), sizeof(rule));
		if (bpf_map_update_elem(st->capture_fd, &i, &rule, BPF_ANY)) {
			print_errno("capture", errno);
			return;
		}
	}
	printf("{\"ok\":true}\n");
}

/* Splits `line` at spaces into at most `max` words; returns how many. */
static int split(char *line, char **words, int max)
{
	int n = 0;

	for (char *save = NULL, *w = strtok_r(line, " \t\r\n", &save); w && n < max;
	     w = strtok_r(NULL, " \t\r\n", &save))
		words[n++] = w;
	return n;
}

static void dispatch(const struct steer *st, char *line)
{
	char *words[5];
	uint8_t *bytes[3] = { NULL, NULL, NULL };
	ssize_t lens[3] = { 0, 0, 0 };
	int n = split(line, words, 5);
	int args = n - 1;

	if (n == 0)
		return;
	for (int i = 0; i < args && i < 3; i++) {
		lens[i] = unhex(words[i + 1], &bytes[i]);
		if (lens[i] < 0) {
			print_error("ERR_INVALID_OPTION", "bad hex");
			goto free_bytes;
		}
	}
	if (strcmp(words[0], "run") == 0 && args == 1)
		cmd_run(st, bytes[0], (size_t)lens[0]);
	else if (strcmp(words[0], "view") == 0 && args == 3)
		cmd_view(st, bytes[0], (size_t)lens[0], bytes[1], (size_t)lens[1], bytes[2],
			 (size_t)lens[2]);
	else if (strcmp(words[0], "capture") == 0 && args == 1)
		cmd_capture(st, bytes[0], (size_t)lens[0]);
	else
		print_error("ERR_INVALID_OPTION", "unknown command or wrong argument count");
free_bytes:
	for (int i = 0; i < 3; i++)
		free(bytes[i]);
}

int main(int argc, char **argv)
{
	struct steer st = { .path = argc == 2 ? argv[1] : NULL };
	struct bpf_program *prog;
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

	st.obj = bpf_object__open_file(st.path, NULL);
	if (!st.obj) {
		err = -errno;
		fprintf(stderr, "open %s: %s\n", st.path, strerror(-err));
		show_log = true;
		goto close_log;
	}
	err = bpf_object__load(st.obj);
	if (err) {
		fprintf(stderr, "load %s: %s\n", st.path, strerror(-err));
		show_log = true;
		goto close_obj;
	}
	prog = bpf_object__find_program_by_name(st.obj, "su_steer");
	st.capture_fd = bpf_object__find_map_fd_by_name(st.obj, "su_capture_rules");
	st.counters_fd = bpf_object__find_map_fd_by_name(st.obj, "su_steer_counters");
	st.ncpus = libbpf_num_possible_cpus();
	if (!prog || st.capture_fd < 0 || st.counters_fd < 0 || st.ncpus < 0) {
		fprintf(stderr, "%s lacks su_steer or one of its maps\n", st.path);
		err = -ENOENT;
		goto close_obj;
	}
	st.prog_fd = bpf_program__fd(prog);

	printf("{\"ok\":true,\"ready\":true}\n");
	fflush(stdout);
	while (getline(&line, &line_cap, stdin) >= 0) {
		dispatch(&st, line);
		fflush(stdout);
	}
	free(line);
	err = 0;
close_obj:
	bpf_object__close(st.obj);
close_log:
	libbpf_set_print(NULL);
	fclose(libbpf_log);
	if (show_log)
		fputs(log_text, stderr);
	free(log_text);
	return err ? 1 : 0;
}
