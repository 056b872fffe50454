/* libFuzzer target: the one core's two user-space entry points, su_core_route_owner (the worker
 * lane) and su_core_route_as_xdp (the XDP program's decisions), and su_core_route, on arbitrary
 * frames under a fixed, realistic table (the golden one of test/fixtures/golden.ts: local,
 * server and data-centre owners, IPv4 and IPv6, GUE variants 0 and 1 and L2, trusted peers,
 * servers of this data centre, an owner without a next hop), with ASan and UBSan
 * (native/fuzz/build.sh). Every fate, owner and byte that leaves is checked against the
 * reference model (oracle.h), the lookup on the parsed fields against a scan of the image.
 *
 * Input: one byte of headroom, then up to FRAMES_MAX frames separated by SEPARATOR.
 *   headroom: below 80, that many bytes (around the 42-66 the encapsulator needs, so that its
 *   shortfall path runs); anything else, the worker's 256.
 * Each frame runs through su_core_route alone, and through each lane with a fragment table of
 * its own per input (so that a later fragment can follow its first). The lanes must agree but
 * where the worker cannot hand a packet to the kernel (drop_local); alone and the worker agree
 * but where the table places a later fragment.
 * The table image: --table=PATH, else $SU_FUZZ_TABLE, else golden.img next to this binary (all
 * written by native/fuzz/seeds.ts). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"

#define SEPARATOR "\xfa\xce\xb0\x0c"
#define SEPARATOR_LEN 4
#define FRAMES_MAX 8
#define HEADROOM_WORKER 256 /* what native/xsk's worker leaves in front of every frame */
#define HEADROOM_SMALL 80

static struct su_view *view;
static struct fz_table table;

static void *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	void *data = NULL;
	long n = -1;

	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (data = malloc((size_t)n)) && fread(data, 1, (size_t)n, f) == (size_t)n) {
		fclose(f);
		*size = (size_t)n;
		return data;
	}
	fprintf(stderr, "fuzz_route: cannot read the table image '%s'\n", path);
	exit(2);
}

/* The image's path: the flag (libFuzzer leaves flags starting with "--" alone), the
 * environment, or the seeds script's output beside the binary. */
static const char *table_path(int argc, char **argv, char *buf, size_t size)
{
	const char *env = getenv("SU_FUZZ_TABLE"), *slash;

	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "--table=", 8) == 0)
			return argv[i] + 8;
	if (env && *env)
		return env;
	slash = strrchr(argv[0], '/');
	snprintf(buf, size, "%.*sgolden.img", slash ? (int)(slash - argv[0] + 1) : 0, argv[0]);
	return buf;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct su_error err = { 0 };
	char buf[4096];
	const char *path = table_path(*argc, *argv, buf, sizeof(buf));
	size_t size;
	void *image = read_file(path, &size);

	if (su_view_build(image, size, &view, &err)) {
		fprintf(stderr, "fuzz_route: %s: %s\n", path, err.message);
		exit(2);
	}
	fz_table_load(&table, image, size);
	free(image);
	return 0;
}

/* One memmem per frame: libFuzzer hooks it, learns the separator from it, and pays for one
 * call where a memcmp at every byte cost it one each. */
static const uint8_t *find_separator(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *sep = memmem(p, (size_t)(end - p), SEPARATOR, SEPARATOR_LEN);

	return sep ? sep : end;
}

static int same_result(const struct fz_result *a, const struct fz_result *b)
{
	return a->fate == b->fate && a->off == b->off && a->len == b->len &&
	       (!a->bytes) == (!b->bytes) && (!a->bytes || memcmp(a->bytes, b->bytes, a->len) == 0);
}

/* Before the first table is published, every entry point drops, the frame untouched. */
static void check_no_table(uint8_t *frame, const uint8_t *input, uint32_t len)
{
	const enum su_route_counter none = SU_ROUTE_drop_no_table;
	uint8_t *data = frame;
	uint32_t data_len = len, worker = 0, xdp = 0;

	if (su_core_route(NULL, &data, &data_len, 0) != none ||
	    su_core_route_owner(NULL, NULL, &data, &data_len, 0, &worker) != none ||
	    su_core_route_as_xdp(NULL, NULL, &data, &data_len, 0, &xdp) != none ||
	    worker != SU_OWNER_NONE || xdp != SU_OWNER_NONE || data != frame || data_len != len ||
	    memcmp(frame, input, len) != 0)
		fz_fail("without a table, a frame was not simply dropped");
}

/* The two lanes decide alike: what the XDP program hands the kernel, the worker drops. */
static void check_lanes(int n, const struct fz_result *worker, const struct fz_result *xdp)
{
	if (worker->owner != xdp->owner)
		fz_fail("frame %d: owner %u in the worker lane, %u in the XDP lane", n,
			worker->owner, xdp->owner);
	if (SU_ROUTE_PASSES(xdp->fate) || xdp->fate == SU_ROUTE_decap_local) {
		if (worker->fate != SU_ROUTE_drop_local)
			fz_fail("frame %d: %s in the XDP lane, %s in the worker lane", n,
				fz_fate_name(xdp->fate), fz_fate_name(worker->fate));
	} else if (!same_result(worker, xdp) && !fz_budget_apart(worker->fate, xdp->fate)) {
		fz_fail("frame %d: the worker lane (%s) and the XDP lane (%s) differ", n,
			fz_fate_name(worker->fate), fz_fate_name(xdp->fate));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
	const uint8_t *p, *end = input + size;
	struct su_frag_table *frags_worker, *frags_xdp;
	struct fz_frags memory_worker = { 0 }, memory_xdp = { 0 };
	uint32_t headroom;

	if (size < 1)
		return 0;
	headroom = input[0] < HEADROOM_SMALL ? input[0] : HEADROOM_WORKER;
	/* Four entries: two keys' worth of slots, so that datagrams also evict each other. */
	frags_worker = su_frag_table_new(4);
	frags_xdp = su_frag_table_new(4);
	if (!frags_worker || !frags_xdp)
		abort();
	p = input + 1;
	for (int n = 0; n < FRAMES_MAX; n++) {
		const uint8_t *sep = find_separator(p, end);
		uint32_t len = (uint32_t)(sep - p);
		struct fz_result alone, worker, xdp;
		/* Each frame in an allocation of its own size: the model's reads past the frame
		 * are ASan's to catch here too, not only the core's in the routed copy. */
		uint8_t *frame = malloc(len ? len : 1);

		if (!frame)
			abort();
		memcpy(frame, p, len);
		if (n == 0)
			check_no_table(frame, p, len);
		fz_route(view, &table, FZ_ALONE, NULL, NULL, frame, len, headroom, &alone);
		fz_route(view, &table, FZ_WORKER, frags_worker, &memory_worker, frame, len,
			 headroom, &worker);
		fz_route(view, &table, FZ_XDP, frags_xdp, &memory_xdp, frame, len, headroom, &xdp);
		/* Without a table every later fragment is dropped; with one, nothing else changes. */
		if (alone.fate != SU_ROUTE_drop_fragment && !same_result(&alone, &worker) &&
		    !fz_budget_apart(alone.fate, worker.fate))
			fz_fail("frame %d: routed alone and with a fragment table, results differ", n);
		check_lanes(n, &worker, &xdp);
		fz_result_free(&alone);
		fz_result_free(&worker);
		fz_result_free(&xdp);
		free(frame);
		if (sep == end)
			break;
		p = sep + SEPARATOR_LEN;
	}
	su_frag_table_free(frags_worker);
	su_frag_table_free(frags_xdp);
	return 0;
}
