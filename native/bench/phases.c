/* The phases core_bench times and counts: parse, lookup at three working sets, GUE
 * encapsulation, whole routes, and the router's batch handler with drop capture off and on. Each
 * returns something derived from every result, so that the compiler cannot drop the work. */
#include "core_bench.h"

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

/* The lookup at three working sets: lookup_hot's 16 destinations stay in L1 and the TLB,
 * lookup's 1024 in L2 (but touch more pages than the TLB maps), lookup_wide's 262,144 spread
 * over more lines than L2 holds (4 MiB here): the cost of a table that does not stay cached. */
const struct phase bench_phases[] = {
	{ "parse", SU_OWNER_SERVER, 1024, false, false, true, run_parse, NO_ROUTER },
	{ "lookup_hot", SU_OWNER_SERVER, 16, false, false, false, run_lookup, NO_ROUTER },
	{ "lookup", SU_OWNER_SERVER, 1024, false, false, false, run_lookup, NO_ROUTER },
	{ "lookup_wide", SU_OWNER_SERVER, 262144, false, false, false, run_lookup, NO_ROUTER },
	{ "encap", SU_OWNER_SERVER, 1024, true, true, true, run_encap, NO_ROUTER },
	{ "route_local", SU_OWNER_LOCAL, 1024, false, false, true, run_route, NO_ROUTER },
	{ "route_server", SU_OWNER_SERVER, 1024, true, true, true, run_route, NO_ROUTER },
	{ "route_datacenter", SU_OWNER_DATACENTER, 1024, true, true, true, run_route, NO_ROUTER },
	/* Flows to a flow-hash service (issue 15; bench/images.ts writes its images): su_core_route
	 * whole, the row found by the seeded flow hash, GUE or GLB's hop list to the backend. */
	{ "route_flow", BENCH_FLOWS, 1024, true, true, true, run_route, NO_ROUTER },
	/* Packets to an address-slice service (issue 16; bench/images.ts writes its images): the
	 * slice's row by the destination's bits, with or without the source filter. */
	{ "route_addr", BENCH_ADDRS, 1024, true, true, true, run_route, NO_ROUTER },
	/* The router's handler: forwarding (nothing to capture) and dropping (a local slice that
	 * reaches the fast path is drop_local), each with drop capture off and on. */
	{ "batch_server", SU_OWNER_SERVER, 1024, false, true, true, run_batch, CAPTURE_OFF },
	{ "batch_server_capture", SU_OWNER_SERVER, 1024, false, true, true, run_batch, CAPTURE_ON },
	{ "batch_drop", SU_OWNER_LOCAL, 1024, false, false, true, run_batch, CAPTURE_OFF },
	{ "batch_drop_capture", SU_OWNER_LOCAL, 1024, false, false, true, run_batch, CAPTURE_ON },
};

const size_t bench_phase_count = sizeof(bench_phases) / sizeof(bench_phases[0]);
