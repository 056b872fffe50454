/* Test traffic for the benchmarks, drawn from a compiled table image (layout: softunicast/table.h):
 * destinations whose owner is of a given kind, and the frames that carry them. Used by
 * native/bench/core_bench.c. */
#ifndef SU_BENCH_PROBES_H
#define SU_BENCH_PROBES_H

#include <stddef.h>
#include <stdint.h>

#include "softunicast/core.h"

/* A table image read from a file (bench/images.ts writes them) and its view. The sections are
 * read only after su_view_build has checked the whole image. */
struct bench_image {
	void *data;
	size_t size;
	const struct su_table_header *header;
	const struct su_owner *owners;
	const struct su_slice_key *keys;
	const struct su_port_range *ranges;
	struct su_view *view;
};

/* 0 or -errno; a bad image is reported on stderr with su_view_build's message. */
int bench_image_load(const char *path, struct bench_image *img);
void bench_image_free(struct bench_image *img);

/* One destination: what su_view_lookup takes, and the flow's source port (0: 40000). */
struct bench_probe {
	uint8_t family; /* SU_FAMILY_IPV4 or SU_FAMILY_IPV6 */
	uint8_t protocol;
	uint16_t port;
	uint8_t addr[16];
	uint16_t sport;
};

/* Fills `out` with `n` destinations owned by an owner of `kind` (enum su_owner_kind), each a
 * random key, range, port and host part; the same `seed` gives the same probes. -ENOENT when
 * the image has no slice of that kind. */
int bench_probes_pick(const struct bench_image *img, uint8_t kind, uint32_t n, uint64_t seed,
		      struct bench_probe *out);

/* Fills `out` with `n` flows to the image's flow-hash services (issue 15), each a random service
 * and source port, so that the flows spread over the rows; the same `seed` gives the same flows.
 * -ENOENT when the image has no flow-hash section. */
int bench_flow_probes(const struct bench_image *img, uint32_t n, uint64_t seed,
		      struct bench_probe *out);

/* Fills `out` with `n` TCP probes to the image's first address-slice service (issue 16): random
 * bits after its prefix (a random slice each), or with its source filter on, the destination
 * bench_frame_build's IPv6 source derives (flowhash-1). -ENOENT without the section. */
int bench_addr_probes(const struct bench_image *img, uint32_t n, uint64_t seed,
		      struct bench_probe *out);

/* Writes an Ethernet/IP/TCP-or-UDP frame to `p` into `out` (room for `frame_len` bytes, at least
 * the headers) with correct IPv4 header checksum; returns its length: `frame_len`, or the headers'
 * length if that is larger. The transport checksum is left zero (nothing on this path reads it). */
uint32_t bench_frame_build(const struct bench_probe *p, const uint8_t dst_mac[6], uint32_t frame_len,
			   uint8_t *out);

#endif /* SU_BENCH_PROBES_H */
