/* libFuzzer target: su_core_route on arbitrary frames, under a realistic table (the golden one:
 * local, server and data-centre owners, IPv4 and IPv6, both GUE variants, L2, trusted peers),
 * built with ASan and UBSan by scripts/build-fuzz.sh. The input's first byte picks the headroom
 * (so the encapsulator also meets too little of it); the rest is the frame, copied to the very
 * end of its allocation so that ASan catches any read past it.
 * Invariants checked beyond the sanitizers': the fate is a route counter, and a packet to send
 * lies wholly inside the buffer. The table image comes from $SU_FUZZ_TABLE (written by
 * scripts/fuzz-seeds.ts). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softunicast/core.h"

static struct su_view *view;

static void *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	void *data = NULL;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) ||
	    !(data = malloc((size_t)n)) || fread(data, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "fuzz_route: cannot read the table image '%s'\n", path);
		exit(2);
	}
	fclose(f);
	*size = (size_t)n;
	return data;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("SU_FUZZ_TABLE");
	struct su_error err = { 0 };
	size_t size;
	void *image;

	(void)argc;
	(void)argv;
	if (!path) {
		fprintf(stderr, "fuzz_route: set SU_FUZZ_TABLE to a table image\n");
		exit(2);
	}
	image = read_file(path, &size);
	if (su_view_build(image, size, &view, &err)) {
		fprintf(stderr, "fuzz_route: %s\n", err.message);
		exit(2);
	}
	free(image);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
	enum su_route_counter fate;
	uint32_t headroom, len;
	uint8_t *buf, *data;

	if (size < 1 || size > 1 + 9216)
		return 0;
	/* 255 stands for the worker's 256 bytes; anything lower tests the shortfall path. */
	headroom = input[0] == 255 ? 256 : input[0];
	len = (uint32_t)(size - 1);
	buf = malloc(headroom + len + 1);
	if (!buf)
		abort();
	data = buf + headroom;
	memcpy(data, input + 1, len);
	fate = su_core_route(view, &data, &len, headroom);
	if ((unsigned)fate >= SU_ROUTE_COUNTER_COUNT)
		abort();
	if (SU_ROUTE_TRANSMITS(fate) &&
	    (data < buf || len == 0 || data + len > buf + headroom + (size - 1)))
		abort();
	free(buf);
	return 0;
}
