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

#include "core_bench.h"

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
	if (ph->kind == BENCH_FLOWS   ? bench_flow_probes(img, count, 0x5eed + count, p->probes) :
	    ph->kind == BENCH_ADDRS ? bench_addr_probes(img, count, 0x5eed + count, p->probes) :
				      bench_probes_pick(img, ph->kind, count, 0x5eed + count, p->probes))
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
		/* The lookup stage as the route runs it, every kind of the image. */
		su_lookup_kinds(img->view, su_tbl_meta(img->view), &p->ip[i], SU_LOOKUP_PORT, &found);
		if (found.owner == SU_OWNER_NONE ||
		    img->owners[found.owner].kind !=
			    (ph->kind == BENCH_FLOWS || ph->kind == BENCH_ADDRS ? SU_OWNER_SERVER : ph->kind))
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

	if (ret == -ENOENT) {
		/* The image has none of the phase's destinations (a port-slice table and the flow
		 * phases, or the other way round): nothing to time. */
		fprintf(stderr, "%s: skipped: the image has none of its destinations\n", ph->name);
		pool_free(&p);
		return 0;
	}
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
	for (size_t i = 0; i < bench_phase_count; i++)
		if (!strcmp(bench_phases[i].name, name))
			return &bench_phases[i];
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: core_bench time IMAGE [RUNS] [PACKETS]\n"
			"       core_bench count IMAGE PHASE SIZE BUILD RUN\n"
			"phases:");
	for (size_t i = 0; i < bench_phase_count; i++)
		fprintf(stderr, " %s", bench_phases[i].name);
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
	for (size_t i = 0; i < bench_phase_count; i++) {
		const struct phase *ph = &bench_phases[i];

		if (time_phase(img, ph, SMALL_FRAME, runs, packets) ||
		    (ph->sized && time_phase(img, ph, LARGE_FRAME, runs, packets)))
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
