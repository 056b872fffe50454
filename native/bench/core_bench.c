/* Micro benchmark of the fast path's core (native/core) on in-memory frames: parse, lookup, GUE
 * encapsulation and whole su_core_route verdicts, and the router's batch handler around them
 * (native/router: per-owner counters, drop capture off and on). Driven by bench/micro.ts, which
 * also runs the `count` mode under callgrind for instructions per packet. Reports; never asserts.
 *
 *   core_bench time IMAGE [RUNS] [PACKETS]       one JSON line per phase and frame size: the
 *                                                median ns/packet of RUNS runs of PACKETS each
 *   core_bench count IMAGE PHASE SIZE BUILD RUN  builds BUILD frames, handles RUN (0..BUILD) once
 *                                                each: Ir(RUN = BUILD) - Ir(RUN = 0) is the
 *                                                phase's own cost, setup excluded */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static uint8_t *frame_at(const struct pool *p, uint32_t i)
{
	return p->buf + (size_t)i * p->stride + HEADROOM;
}

/* Frame `i` as the core sees it in a worker: its bytes and the headroom in front. */
static struct su_buf buf_at(const struct pool *p, uint32_t i)
{
	uint8_t *data = frame_at(p, i);

	return (struct su_buf){ .data = data, .end = data + p->len[i], .headroom = HEADROOM };
}

/* Each phase handles frames [from, from + n) of the pool and returns something derived from
 * every result, so that the compiler cannot drop the work. */
typedef uint64_t (*phase_fn)(const struct pool *p, uint32_t from, uint32_t n);

static uint64_t run_parse(const struct pool *p, uint32_t from, uint32_t n)
{
	uint64_t acc = 0;

	for (uint32_t i = from; i < from + n; i++) {
		struct su_buf b = buf_at(p, i);
		struct su_ip ip;
		enum su_route_counter fate = su_parse_frame(&b, &ip);

		/* Every bench frame parses: the ports are set. */
		acc += fate == SU_PARSE_OK ? ip.dport : fate;
	}
	return acc;
}

static uint64_t run_lookup(const struct pool *p, uint32_t from, uint32_t n)
{
	const struct su_view *v = p->img->view;
	uint64_t acc = 0;

	for (uint32_t i = from; i < from + n; i++) {
		const struct bench_probe *q = &p->probes[i];
		struct su_found found;

		/* The stage as the route runs it: the address as parsing copies it, 16 bytes. */
		su_lookup_port_slice(v, su_tbl_meta(v), q->family, q->addr, q->protocol, q->port,
				     &found);
		acc += found.owner;
	}
	return acc;
}

/* The rewrite of a forward as the route applies it: the owner's record, the GUE source port,
 * the frame moved into its headroom and the outer headers written. */
static uint64_t run_encap(const struct pool *p, uint32_t from, uint32_t n)
{
	const struct su_view *v = p->img->view;
	uint64_t acc = 0;

	for (uint32_t i = from; i < from + n; i++) {
		struct su_buf b = buf_at(p, i);
		struct su_verdict verdict = { .owner = p->owner[i], .from = SU_FROM_WIRE };
		enum su_route_counter fate = (enum su_route_counter)v->fwd[p->owner[i]].fate;

		acc += su_route_apply(v, &b, &p->ip[i], NULL, &verdict, fate);
		acc += b.data[SU_ETH_HLEN + 10]; /* the outer IPv4 checksum */
	}
	return acc;
}

static uint64_t run_route(const struct pool *p, uint32_t from, uint32_t n)
{
	uint64_t acc = 0;

	for (uint32_t i = from; i < from + n; i++) {
		uint8_t *data = frame_at(p, i);
		uint32_t len = p->len[i];

		acc += su_core_route(p->img->view, &data, &len, HEADROOM) + len;
	}
	return acc;
}

/* The router's batch handler over the pool as its UMEM, in worker-sized batches. */
static uint64_t run_batch(const struct pool *p, uint32_t from, uint32_t n)
{
	uint64_t acc = 0;

	for (uint32_t i = from; i < from + n; i += BATCH) {
		uint32_t k = from + n - i < BATCH ? from + n - i : BATCH;

		for (uint32_t j = 0; j < k; j++) {
			p->descs[j].addr = (uint64_t)(i + j) * FRAME_STRIDE + HEADROOM;
			p->descs[j].len = p->len[i + j];
			p->descs[j].action = SU_ACTION_RECYCLE;
		}
		su_router_route_batch(p->router, 0, p->descs, k);
		acc += p->descs[0].action + p->descs[0].len;
	}
	return acc;
}

#define NO_ROUTER 0
#define CAPTURE_OFF 1
#define CAPTURE_ON 2

struct phase {
	const char *name;
	uint8_t kind;  /* owner kind of the destinations */
	uint32_t pool; /* distinct frames in `time` mode */
	bool sized;    /* also with 1514-byte frames (else 64 only) */
	bool mutates;  /* writes over the Ethernet header: restore between passes */
	bool frames;   /* reads frames (lookup reads only the probes) */
	phase_fn fn;
	uint8_t router; /* NO_ROUTER, or a router with drop capture off or on */
};

/* The lookup at three working sets: lookup_hot's 16 destinations stay in L1 and the TLB,
 * lookup's 1024 in L2 (but touch more pages than the TLB maps), lookup_wide's 262,144 spread
 * over more lines than L2 holds (4 MiB here): the cost of a table that does not stay cached. */
static const struct phase phases[] = {
	{ "parse", SU_OWNER_SERVER, 1024, false, false, true, run_parse, NO_ROUTER },
	{ "lookup_hot", SU_OWNER_SERVER, 16, false, false, false, run_lookup, NO_ROUTER },
	{ "lookup", SU_OWNER_SERVER, 1024, false, false, false, run_lookup, NO_ROUTER },
	{ "lookup_wide", SU_OWNER_SERVER, 262144, false, false, false, run_lookup, NO_ROUTER },
	{ "encap", SU_OWNER_SERVER, 1024, true, true, true, run_encap, NO_ROUTER },
	{ "route_local", SU_OWNER_LOCAL, 1024, false, false, true, run_route, NO_ROUTER },
	{ "route_server", SU_OWNER_SERVER, 1024, true, true, true, run_route, NO_ROUTER },
	{ "route_datacenter", SU_OWNER_DATACENTER, 1024, true, true, true, run_route, NO_ROUTER },
	/* The router's handler: forwarding (nothing to capture) and dropping (a local slice that
	 * reaches the fast path is drop_local), each with drop capture off and on. */
	{ "batch_server", SU_OWNER_SERVER, 1024, false, true, true, run_batch, CAPTURE_OFF },
	{ "batch_server_capture", SU_OWNER_SERVER, 1024, false, true, true, run_batch, CAPTURE_ON },
	{ "batch_drop", SU_OWNER_LOCAL, 1024, false, false, true, run_batch, CAPTURE_OFF },
	{ "batch_drop_capture", SU_OWNER_LOCAL, 1024, false, false, true, run_batch, CAPTURE_ON },
};

static void pool_free(struct pool *p)
{
	su_router_free(p->router);
	free(p->descs);
	free(p->buf);
	free(p->len);
	free(p->eth);
	free(p->probes);
	free(p->ip);
	free(p->owner);
}

/* A router over the pool's frames, publishing its own view of the image (the router owns it). */
static int pool_router(struct pool *p, const struct phase *ph)
{
	struct su_error err = { 0 };
	struct su_view *view;

	p->descs = calloc(BATCH, sizeof(*p->descs));
	if (!p->descs)
		return -ENOMEM;
	if (su_router_create_unbound(p->buf, FRAME_STRIDE, 1, &p->router, &err) ||
	    su_view_build(p->img->data, p->img->size, &view, &err) ||
	    su_router_publish(p->router, view, &err) ||
	    (ph->router == CAPTURE_ON && su_router_capture_start(p->router, 512, &err))) {
		fprintf(stderr, "%s: %s\n", ph->name, err.message);
		return -EINVAL;
	}
	return 0;
}

/* What the capture rings hold, thrown away between passes as the JS side drains them: the
 * rings never fill, so every dropped packet is copied. */
static void pool_drain(const struct pool *p)
{
	static uint8_t sink[SU_CAPTURE_RING_BYTES];
	uint64_t lost;

	if (p->router)
		su_router_capture_drain(p->router, sink, sizeof(sink), &lost);
}

static int pool_build(struct pool *p, const struct bench_image *img, const struct phase *ph,
		      uint32_t count, uint32_t frame_len)
{
	memset(p, 0, sizeof(*p));
	p->img = img;
	p->count = count;
	p->stride = ph->frames ? FRAME_STRIDE : 0;
	p->buf = aligned_alloc(4096, ph->frames ? (size_t)count * FRAME_STRIDE : FRAME_STRIDE);
	p->len = calloc(count, sizeof(*p->len));
	p->eth = calloc(count, sizeof(*p->eth));
	p->probes = calloc(count, sizeof(*p->probes));
	p->ip = calloc(count, sizeof(*p->ip));
	p->owner = calloc(count, sizeof(*p->owner));
	if (!p->buf || !p->len || !p->eth || !p->probes || !p->ip || !p->owner)
		return -ENOMEM;
	if (bench_probes_pick(img, ph->kind, count, 0x5eed + count, p->probes))
		return -ENOENT;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *mac = su_view_host(img->view)->mac;
		const struct bench_probe *q = &p->probes[i];
		struct su_buf b;
		struct su_found found;

		p->len[i] = bench_frame_build(q, mac, frame_len, frame_at(p, i));
		memcpy(p->eth[i], frame_at(p, i), SU_ETH_HLEN);
		b = buf_at(p, i);
		if (su_parse_frame(&b, &p->ip[i]) != SU_PARSE_OK)
			return -EINVAL;
		su_lookup_port_slice(img->view, su_tbl_meta(img->view), q->family, q->addr,
				     q->protocol, q->port, &found);
		if (found.owner == SU_OWNER_NONE || img->owners[found.owner].kind != ph->kind)
			return -EINVAL;
		p->owner[i] = found.owner;
	}
	return ph->router == NO_ROUTER ? 0 : pool_router(p, ph);
}

static void pool_restore(const struct pool *p)
{
	for (uint32_t i = 0; i < p->count; i++)
		memcpy(frame_at(p, i), p->eth[i], SU_ETH_HLEN);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One run: whole passes over the pool until `packets` are done; only the passes are timed. */
static double time_run(const struct pool *p, const struct phase *ph, uint64_t packets,
		       uint64_t *sink)
{
	double spent = 0;
	uint64_t done = 0;

	while (done < packets) {
		double t0 = now_ns();

		*sink += ph->fn(p, 0, p->count);
		spent += now_ns() - t0;
		done += p->count;
		if (ph->mutates)
			pool_restore(p);
		pool_drain(p);
	}
	return spent / (double)done;
}

#define MAX_RUNS 31

static int time_phase(const struct bench_image *img, const struct phase *ph, uint32_t frame_len,
		      uint32_t runs, uint64_t packets)
{
	double ns[MAX_RUNS];
	uint64_t sink = 0;
	struct pool p;
	int ret = pool_build(&p, img, ph, ph->pool, frame_len);

	if (ret) {
		fprintf(stderr, "%s: could not build frames: %s\n", ph->name, strerror(-ret));
		pool_free(&p);
		return ret;
	}
	time_run(&p, ph, p.count, &sink); /* warm the caches and the branch predictors */
	for (uint32_t r = 0; r < runs; r++)
		ns[r] = time_run(&p, ph, packets, &sink);
	printf("{\"phase\":\"%s\",\"frame\":%u,\"pool\":%u,\"ns\":[", ph->name, frame_len, p.count);
	for (uint32_t r = 0; r < runs; r++)
		printf("%s%.2f", r ? "," : "", ns[r]);
	qsort(ns, runs, sizeof(ns[0]), compare_double);
	printf("],\"median_ns\":%.2f,\"sink\":%llu}\n", ns[runs / 2], (unsigned long long)(sink & 1));
	fflush(stdout);
	pool_free(&p);
	return 0;
}

static const struct phase *find_phase(const char *name)
{
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		if (!strcmp(phases[i].name, name))
			return &phases[i];
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: core_bench time IMAGE [RUNS] [PACKETS]\n"
			"       core_bench count IMAGE PHASE SIZE BUILD RUN\n"
			"phases:");
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		fprintf(stderr, " %s", phases[i].name);
	fprintf(stderr, "\n");
	return 2;
}

static int cmd_time(const struct bench_image *img, int argc, char **argv)
{
	uint32_t runs = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 5;
	uint64_t packets = argc > 4 ? strtoull(argv[4], NULL, 10) : 1000000;

	if (runs < 1 || runs > MAX_RUNS || packets < 1)
		return usage();
	printf("{\"keys\":%u,\"ranges\":%u}\n", img->header->key_count, img->header->range_count);
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
		if (time_phase(img, &phases[i], SMALL_FRAME, runs, packets) ||
		    (phases[i].sized && time_phase(img, &phases[i], LARGE_FRAME, runs, packets)))
			return 1;
	}
	return 0;
}

static int cmd_count(const struct bench_image *img, int argc, char **argv)
{
	const struct phase *ph = argc == 7 ? find_phase(argv[3]) : NULL;
	uint32_t size, build, run;
	struct pool p;
	int ret;

	if (!ph)
		return usage();
	size = (uint32_t)strtoul(argv[4], NULL, 10);
	build = (uint32_t)strtoul(argv[5], NULL, 10);
	run = (uint32_t)strtoul(argv[6], NULL, 10);
	if (size < SMALL_FRAME || size > FRAME_STRIDE - HEADROOM || build < 1 || run > build)
		return usage();
	ret = pool_build(&p, img, ph, build, size);
	if (!ret) {
		/* Each frame once: no restore pass is counted. */
		uint64_t sink = ph->fn(&p, 0, run);

		printf("{\"phase\":\"%s\",\"frame\":%u,\"packets\":%u,\"sink\":%llu}\n", ph->name,
		       size, run, (unsigned long long)(sink & 1));
	} else {
		fprintf(stderr, "%s: could not build frames: %s\n", ph->name, strerror(-ret));
	}
	pool_free(&p);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct bench_image img;
	int ret;

	if (argc < 3)
		return usage();
	ret = bench_image_load(argv[2], &img);
	if (ret) {
		fprintf(stderr, "%s: %s\n", argv[2], strerror(-ret));
		return 1;
	}
	if (!strcmp(argv[1], "time"))
		ret = cmd_time(&img, argc, argv);
	else if (!strcmp(argv[1], "count"))
		ret = cmd_count(&img, argc, argv);
	else
		ret = usage();
	bench_image_free(&img);
	return ret;
}
