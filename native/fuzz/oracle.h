/* The fuzzers' reference model of the C core (native/fuzz): what su_view_lookup and
 * su_core_route must do, worked out the slow and obvious way (a linear scan of the table image,
 * output headers checked field by field against the RFCs), compared with what they did. Any
 * disagreement abort()s, which libFuzzer reports as a crash with the input that caused it. Used
 * by fuzz_route.c and fuzz_view.c; reaches into native/core's private headers (parse.h, gue.h)
 * for the parser and GUE unwrapping, which the model shares with the code under test. */
#ifndef SU_FUZZ_ORACLE_H
#define SU_FUZZ_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#include "softunicast/core.h"

/* An accepted table image's sections, copied out of the (unaligned) input. */
struct fz_table {
	struct su_table_header h;
	struct su_prefix *trusted;
	struct su_owner *owners;
	struct su_slice_key *keys;
	struct su_port_range *ranges;
};

/* Whether `image` follows every rule of softunicast/table.h (the ones su_view_build documents:
 * sizes, counts, families, prefix lengths and host bits, owner kinds and encapsulations, ranges
 * inside their section, each the right way round, sorted, disjoint, naming owners that exist,
 * keys unique), checked one by one; when not, `why` names the first rule broken. */
int fz_image_valid(const void *image, size_t size, char *why, size_t why_size);

/* Copies the sections of `image`, which su_view_build has accepted (so its counts add up). */
void fz_table_load(struct fz_table *t, const void *image, size_t size);
void fz_table_free(struct fz_table *t);

/* The owner of (family, addr, protocol, port) by scanning every key: among the keys whose prefix
 * holds `addr` and one of whose ranges holds `port`, the longest prefix's. -1 when none. */
long fz_lookup_naive(const struct fz_table *t, uint8_t family, const uint8_t *addr,
		     uint8_t protocol, uint16_t port);

/* su_view_lookup, which must agree with fz_lookup_naive; the owner's index, or -1. */
long fz_lookup(const struct su_view *view, const struct fz_table *t, uint8_t family,
	       const uint8_t *addr, uint8_t protocol, uint16_t port);

/* What the model remembers of first fragments, as the core's fragment table does: one per run of
 * frames that share a struct su_frag_table, so that a later piece's owner is known. */
#define FZ_FRAGS_MAX 16
struct fz_frag {
	uint8_t family, protocol;
	uint32_t id;
	uint8_t saddr[16], daddr[16];
	long owner;
	int32_t sport; /* the GUE source port the first piece was sent with, -1 if none */
};
struct fz_frags {
	unsigned count;
	struct fz_frag e[FZ_FRAGS_MAX];
};

/* What a route did: the fate, and for a transmitted packet its place in the buffer and a copy. */
struct fz_result {
	enum su_route_counter fate;
	uint32_t off, len;
	uint8_t *bytes; /* malloc'd when the fate transmits, else NULL; fz_result_free */
};
void fz_result_free(struct fz_result *r);

/* Routes the `len`-byte `frame` with `headroom` bytes before it, in a buffer of exactly that
 * size (ASan faults any read or write past either end), through su_core_route, or through
 * su_core_route_frags when `frags` is given (then `model` is the same run's memory of first
 * fragments). Checks the parsers agree, the fate is the model's, and a transmitted packet is
 * exactly what the model expects; aborts if not. */
void fz_route(const struct su_view *view, const struct fz_table *t, struct su_frag_table *frags,
	      struct fz_frags *model, const uint8_t *frame, uint32_t len, uint32_t headroom,
	      struct fz_result *out);

/* Says which invariant broke (stderr), then abort()s: a crash for libFuzzer. */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif /* SU_FUZZ_ORACLE_H */
