/* The fuzzers' reference model of the one core (native/fuzz): what su_view_build, su_view_lookup
 * and the two user-space entry points of the packet path (su_core_route_owner, the worker lane;
 * su_core_route_as_xdp, the XDP program's decisions) must do, worked out the slow and obvious
 * way (its own frame reader, a linear scan of the table image, output headers checked field by
 * field against the RFCs) and compared with what they did. Any disagreement abort()s, which
 * libFuzzer reports as a crash with the input that caused it. Used by fuzz_route.c and
 * fuzz_view.c; the model's insides are in model.h. */
#ifndef SU_FUZZ_ORACLE_H
#define SU_FUZZ_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#include "softunicast/core.h"

/* An accepted table image's sections, copied out of the (unaligned) input. */
struct fz_table {
	struct su_table_header h;
	struct su_prefix *trusted;
	struct su_peer *peers;
	struct su_owner *owners;
	struct su_slice_key *keys;
	struct su_port_range *ranges;
	/* The flow-hash section (oracle_flow.c): services and rows NULL without one. */
	struct su_flow_head flow;
	struct su_flow_service *services;
	struct su_flow_row *rows;
	/* The address-slice section (oracle_addr.c): services and rows NULL without one. */
	struct su_addr_head addr;
	struct su_addr_service *addr_services;
	struct su_flow_row *addr_rows;
	/* The kinds in the image's order: the lookup asks them in turn, the first owner decides. */
	uint32_t kinds[SU_SECTIONS_MAX];
	uint32_t kind_count;
};

/* What su_view_build must say of an image: accept it, refuse it as invalid (ERR_INVALID_TABLE),
 * or refuse it for a limit of the packet path (ERR_TABLE_LIMIT: more L2 servers than a frame's
 * source is checked against). */
#define FZ_IMAGE_INVALID 0
#define FZ_IMAGE_VALID 1
#define FZ_IMAGE_LIMIT 2

/* Checks `image` against every rule of softunicast/table.h (sizes, counts, families, prefix
 * lengths and host bits, peers sorted and unique, owner kinds and encapsulations, ranges inside
 * their section, each the right way round, sorted, disjoint, naming owners that exist, keys
 * unique) one by one; `why` names the first rule broken. */
int fz_image_check(const void *image, size_t size, char *why, size_t why_size);

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
/* Whether a key of `protocol` holds `addr` and spans `port` (from its first range's start to
 * its last's end): a managed port, never the kernel's. */
int fz_port_managed(const struct fz_table *t, uint8_t family, const uint8_t *addr,
		    uint8_t protocol, uint16_t port);
/* Whether any key, of either protocol, holds `addr`. */
int fz_addr_managed(const struct fz_table *t, uint8_t family, const uint8_t *addr);
/* Whether `addr` lies in a trusted GUE peer prefix; is a server of this data centre; `mac` is
 * an L2 server's. */
int fz_trusted(const struct fz_table *t, uint8_t family, const uint8_t *addr);
int fz_peer(const struct fz_table *t, uint8_t family, const uint8_t *addr);
int fz_mac_peer(const struct fz_table *t, const uint8_t *mac);

/* What the model remembers of first fragments, as the core's fragment table does: one per run of
 * frames that share a struct su_frag_table, so that a later piece's owner is known. */
#define FZ_FRAGS_MAX 16
struct fz_frag {
	uint8_t family, protocol;
	uint32_t id;
	uint8_t saddr[16], daddr[16];
	long owner;
	int32_t sport; /* the GUE source port the first piece was sent with, -1 if none */
	uint32_t saved_at; /* when the first piece was last remembered, in saves of the run */
};
struct fz_frags {
	unsigned count;
	uint32_t saves;
	struct fz_frag e[FZ_FRAGS_MAX];
};

/* The entry points under test. */
enum fz_lane {
	FZ_ALONE,  /* su_core_route: the worker lane without a fragment table */
	FZ_WORKER, /* su_core_route_owner: the worker lane */
	FZ_XDP,    /* su_core_route_as_xdp: as the XDP program decides */
};

/* What a route did: the fate, the owner, and for a frame that leaves (sent on, or handed to the
 * kernel by the XDP lane) its place in the buffer and a copy. */
struct fz_result {
	enum su_route_counter fate;
	uint32_t owner;
	uint32_t off, len;
	uint8_t *bytes; /* malloc'd when a frame leaves, else NULL; fz_result_free */
};
void fz_result_free(struct fz_result *r);

/* Routes the `len`-byte `frame` with `headroom` bytes before it, in a buffer of exactly that
 * size (ASan faults any read or write past either end), through `lane` (with the fragment table
 * `frags` and the model's `memory` of the same run, both NULL for FZ_ALONE). Checks that the
 * fate, the owner and every byte that leaves are the model's; aborts if not. */
void fz_route(const struct su_view *view, const struct fz_table *t, enum fz_lane lane,
	      struct su_frag_table *frags, struct fz_frags *memory, const uint8_t *frame,
	      uint32_t len, uint32_t headroom, struct fz_result *out);

/* flowhash-1 of `saddr` under service `a`'s key and source bits (src/ssa/destination.ts
 * deriveLow64): the low 64 bits of a destination that conforms to the service's source filter. */
uint64_t fz_addr_flowhash1(const struct su_addr_service *a, const uint8_t *saddr);

/* Says which invariant broke (stderr), then abort()s: a crash for libFuzzer. */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* A route counter's name, for messages. */
const char *fz_fate_name(unsigned fate);

/* A too-big packet answered in one lane and dropped in the other: both lanes share the worker
 * thread's answer budget (native/core/icmp.h), which may run dry between the two calls. */
static inline int fz_budget_apart(enum su_route_counter a, enum su_route_counter b)
{
	return (a == SU_ROUTE_reply_too_big && b == SU_ROUTE_drop_too_big) ||
	       (a == SU_ROUTE_drop_too_big && b == SU_ROUTE_reply_too_big);
}

#endif /* SU_FUZZ_ORACLE_H */
