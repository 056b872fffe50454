/* What core_bench.c (the timing and counting driver) and phases.c (the phases it times) share:
 * the pool of frames, the phases' shape and their list. */
#ifndef SU_BENCH_CORE_BENCH_H
#define SU_BENCH_CORE_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/user_route.h"
#include "probes.h"
#include "softunicast/router.h"

/* Frames sit in 2048-byte chunks with the worker's headroom in front, as in a UMEM. */
#define FRAME_STRIDE 2048
#define HEADROOM 256
#define SMALL_FRAME 64
#define LARGE_FRAME 1514 /* a 1500-byte IP packet */

struct pool {
	const struct bench_image *img;
	uint8_t *buf;
	size_t stride; /* FRAME_STRIDE, or 0 where one scratch frame serves (lookup) */
	uint32_t count;
	uint32_t *len;
	uint8_t (*eth)[SU_ETH_HLEN]; /* restored after phases that write over it */
	struct bench_probe *probes;
	struct su_ip *ip;  /* parsed once, for `encap` */
	uint32_t *owner;   /* looked up once, for `encap` */
	struct su_router *router;      /* the batch phases' router over `buf` */
	struct su_desc *descs;
};

/* Batches as a worker hands them to its handler (the port's default batch size). */
#define BATCH 64

static inline uint8_t *frame_at(const struct pool *p, uint32_t i)
{
	return p->buf + (size_t)i * p->stride + HEADROOM;
}

/* Frame `i` as the core sees it in a worker: its bytes and the headroom in front. */
static inline struct su_buf buf_at(const struct pool *p, uint32_t i)
{
	uint8_t *data = frame_at(p, i);

	return (struct su_buf){ .data = data, .end = data + p->len[i], .headroom = HEADROOM };
}

/* Each phase handles frames [from, from + n) of the pool and returns something derived from
 * every result, so that the compiler cannot drop the work. */
typedef uint64_t (*phase_fn)(const struct pool *p, uint32_t from, uint32_t n);

#define NO_ROUTER 0
#define CAPTURE_OFF 1
#define CAPTURE_ON 2

/* A phase's `kind` for flows to a flow-hash service (their owners are servers). */
#define BENCH_FLOWS 0
/* ... and for packets to an address-slice service (issue 16; their owners are servers too). */
#define BENCH_ADDRS 254
struct phase {
	const char *name;
	uint8_t kind;  /* owner kind of the destinations, or BENCH_FLOWS */
	uint32_t pool; /* distinct frames in `time` mode */
	bool sized;    /* also with 1514-byte frames (else 64 only) */
	bool mutates;  /* writes over the Ethernet header: restore between passes */
	bool frames;   /* reads frames (lookup reads only the probes) */
	phase_fn fn;
	uint8_t router; /* NO_ROUTER, or a router with drop capture off or on */
};

/* Every phase, in the order `time` runs them. */
extern const struct phase bench_phases[];
extern const size_t bench_phase_count;

#endif /* SU_BENCH_CORE_BENCH_H */
