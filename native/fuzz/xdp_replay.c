/* Replays fuzz_route inputs (fuzz_route.c's format) through the XDP program itself, with
 * BPF_PROG_TEST_RUN in the express mode, and through su_core_route_as_xdp, frame by frame: the
 * route counter that moved, the verdict and every byte passed or sent must be the ones the core
 * says (issue 13: "the fuzz corpus runs through the XDP program too: a packet the program cannot
 * handle is counted, never mishandled"). Run by native/fuzz/xdp_replay.sh (root: it loads BPF).
 *   xdp_replay STEER_OBJECT TABLE_IMAGE INPUT...    INPUT: files or directories of them */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../router/xdp_tables.h"
#include "softunicast/core.h"

#define SEPARATOR "\xfa\xce\xb0\x0c"
#define FRAMES_MAX 8
/* BPF_PROG_TEST_RUN takes frames of an Ethernet header up to a page less the headroom and the
 * tail the kernel keeps (3,520 bytes on x86-64); longer ones the program never meets on veth. */
#define FRAME_MIN 14
#define FRAME_MAX 3500
#define HEADROOM 256 /* XDP_PACKET_HEADROOM: what the program has to grow into */

struct replay {
	struct su_xdp_tables tables;
	const struct su_view *view;
	struct su_frag_table *frags;
	int prog, frags_map;
	long frames, differ, skipped;
};

static const char *const fate_names[] = {
#define SU_X(name, doc) #name,
	SU_ROUTE_COUNTERS(SU_X)
#undef SU_X
};

static const char *fate_name(int fate)
{
	return fate >= 0 && fate < SU_ROUTE_COUNTER_COUNT ? fate_names[fate] : "(no single fate)";
}

static void *read_all(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	void *data = NULL;
	long n = -1;

	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (data = malloc(n ? (size_t)n : 1)) && fread(data, 1, (size_t)n, f) == (size_t)n) {
		fclose(f);
		*size = (size_t)n;
		return data;
	}
	fprintf(stderr, "xdp_replay: cannot read '%s'\n", path);
	exit(2);
}

/* The one route counter the program moved, or -1 (none, or more than one). */
static int fate_moved(const uint64_t *before, const uint64_t *after)
{
	int fate = -1;

	for (int i = 0; i < SU_ROUTE_COUNTER_COUNT; i++) {
		if (after[i] == before[i])
			continue;
		if (fate >= 0 || after[i] != before[i] + 1)
			return -1;
		fate = i;
	}
	return fate;
}

/* The verdict the XDP program returns for a fate of the express lane. */
static uint32_t verdict_of(enum su_route_counter fate)
{
	if (SU_ROUTE_PASSES(fate) || fate == SU_ROUTE_decap_local)
		return XDP_PASS;
	return SU_ROUTE_TRANSMITS(fate) ? XDP_TX : XDP_DROP;
}

/* One frame through both; 0 when they agree. */
static int replay_frame(struct replay *r, const uint8_t *frame, uint32_t len, char *why,
			size_t why_size)
{
	static uint8_t out[FRAME_MAX + SU_CORE_MAX_GROWTH], buf[HEADROOM + FRAME_MAX];
	uint64_t before[SU_ROUTE_COUNTER_COUNT], after[SU_ROUTE_COUNTER_COUNT];
	uint8_t *data = buf + HEADROOM;
	uint32_t core_len = len, owner;
	struct su_error err = { 0 };
	enum su_route_counter core;
	int xdp;
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	if (su_xdp_tables_route_counters(&r->tables, before, &err) ||
	    bpf_prog_test_run_opts(r->prog, &run) ||
	    su_xdp_tables_route_counters(&r->tables, after, &err)) {
		snprintf(why, why_size, "the test run failed: %s", err.message[0] ? err.message : "errno");
		return -1;
	}
	xdp = fate_moved(before, after);
	memcpy(data, frame, len);
	core = su_core_route_as_xdp(r->view, r->frags, &data, &core_len, HEADROOM, &owner);
	if (xdp != (int)core || run.retval != verdict_of(core))
		snprintf(why, why_size, "the program counted %s and returned %u, the core says %s",
			 fate_name(xdp), run.retval, fate_name(core));
	else if (run.retval != XDP_DROP &&
		 (run.data_size_out != core_len || memcmp(out, data, core_len) != 0))
		snprintf(why, why_size, "%s: the program's %u bytes are not the core's %u",
			 fate_name(core), run.data_size_out, core_len);
	else
		return 0;
	return -1;
}

/* Forgets every fragment: each input starts as fuzz_route's do, with empty tables. */
static void forget_fragments(struct replay *r)
{
	/* Room for a key of the map (struct su_frag_key, 40 bytes, private to native/core). */
	_Alignas(8) uint8_t key[64];

	while (bpf_map_get_next_key(r->frags_map, NULL, key) == 0)
		bpf_map_delete_elem(r->frags_map, key);
	su_frag_table_free(r->frags);
	r->frags = su_frag_table_new(1024);
	if (!r->frags)
		abort();
}

static void replay_input(struct replay *r, const char *path)
{
	size_t size;
	uint8_t *input = read_all(path, &size), *p = input + 1, *end = input + size;
	char why[256];

	forget_fragments(r);
	for (int n = 0; size > 0 && n < FRAMES_MAX; n++) {
		uint8_t *sep = memmem(p, (size_t)(end - p), SEPARATOR, 4);
		uint32_t len = (uint32_t)((sep ? sep : end) - p);

		if (len < FRAME_MIN || len > FRAME_MAX) {
			r->skipped++;
		} else {
			r->frames++;
			if (replay_frame(r, p, len, why, sizeof(why))) {
				r->differ++;
				printf("not ok - %s, frame %d (%u bytes): %s\n", path, n, len, why);
			}
		}
		if (!sep)
			break;
		p = sep + 4;
	}
	free(input);
}

static void replay_path(struct replay *r, const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;

	if (!dir) {
		replay_input(r, path);
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		char child[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
		replay_input(r, child);
	}
	closedir(dir);
}

/* Loads the program without pinning anything, and publishes the table in the express mode. */
static struct bpf_object *load(struct replay *r, const char *object, const char *image_path,
			       struct su_error *err)
{
	struct bpf_object *obj = bpf_object__open_file(object, NULL);
	struct su_router_finished retired = { 0 };
	struct su_view *view;
	struct bpf_map *map;
	size_t size;
	void *image = read_all(image_path, &size);
	int ret = obj ? 0 : su_error_set(err, "ERR_BPF", 0, NULL, "%s did not open", object);

	/* Maps of its own: a router's pinned maps are not this replay's to touch. */
	if (!ret)
		bpf_object__for_each_map(map, obj)
			bpf_map__set_pin_path(map, NULL);
	if (!ret && bpf_object__load(obj))
		ret = su_error_set(err, "ERR_BPF", 0, NULL, "%s did not load", object);
	if (!ret)
		ret = su_xdp_tables_open(obj, object, &r->tables, err);
	if (!ret)
		ret = su_view_build(image, size, &view, err);
	if (!ret) {
		r->view = view;
		ret = su_xdp_tables_publish(&r->tables, view, SU_MODE_EXPRESS, &retired, err);
	}
	free(image);
	free(retired.counters);
	if (ret)
		return NULL;
	r->prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "su_steer"));
	r->frags_map = bpf_object__find_map_fd_by_name(obj, "su_frags");
	return obj;
}

int main(int argc, char **argv)
{
	struct su_error err = { 0 };
	struct replay r = { 0 };
	struct bpf_object *obj;

	if (argc < 4) {
		fprintf(stderr, "usage: xdp_replay STEER_OBJECT TABLE_IMAGE INPUT...\n");
		return 2;
	}
	obj = load(&r, argv[1], argv[2], &err);
	if (!obj || r.prog < 0 || r.frags_map < 0) {
		fprintf(stderr, "xdp_replay: %s\n", err.message[0] ? err.message : "cannot load");
		return 2;
	}
	for (int i = 3; i < argc; i++)
		replay_path(&r, argv[i]);
	printf("xdp_replay: %ld frames, %ld differ, %ld skipped (shorter than %d or longer than %d "
	       "bytes)\n",
	       r.frames, r.differ, r.skipped, FRAME_MIN, FRAME_MAX);
	su_frag_table_free(r.frags);
	su_view_free((struct su_view *)r.view);
	su_xdp_tables_close(&r.tables);
	bpf_object__close(obj);
	return r.differ ? 1 : 0;
}
