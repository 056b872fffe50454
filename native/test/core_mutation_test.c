/* Tests native/core with random bytes changed, without Node or root: valid frames and table images
 * (core_fixture.h) mutated, then routed and built (built or refused, never read outside their
 * buffers). Run under valgrind by test/unit/core-native.test.ts. */
#include "core_fixture.h"

/* Valid frames and images with random bytes changed, routed and built from buffers of their
 * exact size: valgrind (or ASan) reports any read outside them. Every fate must be a real one,
 * and a transmitted frame must lie within the buffer. Deterministic: a fixed xorshift seed. */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void test_mutations(const struct img *m, const struct su_view *v)
{
	static const uint8_t v0_hdr[8] = { 0x01, 4, 0, 0, 1, 2, 3, 4 }, v0_6[4] = { 0, 41, 0, 0 };
	struct pkt seeds[5];
	uint32_t bad_fate = 0, out_of_bounds = 0, runs = 0, sent = 0, accepted = 0, bad_code = 0;

	pkt_plain(&seeds[0], 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 5000, 20);
	pkt_plain(&seeds[1], 6, "2001:db8:5::1", "2001:db8:100::10", IPPROTO_TCP, 1, 4000, 20);
	pkt_gue(&seeds[2], 4, "203.0.113.9", v0_hdr, 8, 4, "192.0.2.77", "198.51.100.10",
		IPPROTO_UDP, 1, 3000, 20);
	pkt_gue(&seeds[3], 6, "2001:db8:aaaa::1", v0_6, 4, 6, "2001:db8:5::1", "2001:db8:100::10",
		IPPROTO_UDP, 1, 2000, 20);
	pkt_gue(&seeds[4], 4, "203.0.113.9", NULL, 0, 6, "2001:db8:5::1", "2001:db8:100::10",
		IPPROTO_TCP, 1, 4500, 20);
	for (uint32_t i = 0; i < 20000; i++) {
		const struct pkt *seed = &seeds[i % 5];
		uint32_t len = seed->len - (rng() % 4 == 0 ? rng() % seed->len : 0), given = len;
		uint8_t *copy = malloc(HEADROOM + len), *data = copy + HEADROOM;
		enum su_route_counter fate;

		memcpy(data, seed->data, len);
		for (uint32_t n = 1 + rng() % 3; n > 0 && len > 0; n--)
			data[rng() % len] = (uint8_t)rng();
		fate = su_core_route(v, &data, &len, HEADROOM);
		bad_fate += (unsigned)fate >= SU_ROUTE_COUNTER_COUNT;
		if (SU_ROUTE_TRANSMITS(fate)) {
			sent++;
			out_of_bounds += data < copy || data + len > copy + HEADROOM + given;
		}
		runs++;
		free(copy);
	}
	CHECK(bad_fate == 0 && out_of_bounds == 0,
	      "%u mutated frames: every fate real (%u not), every output inside its buffer (%u "
	      "not; %u sent)",
	      runs, bad_fate, out_of_bounds, sent);

	{
		static uint8_t image[sizeof(struct img)];
		size_t n = img_bytes(m, image);

		runs = 0;
		for (uint32_t i = 0; i < 5000; i++) {
			uint8_t *copy = malloc(n);
			struct su_view *mv = NULL;
			struct su_error err;

			memcpy(copy, image, n);
			/* Past the header's counts, which would only ever fail the size check. */
			for (uint32_t k = 1 + rng() % 2; k > 0; k--) {
				size_t at = rng() % n;

				if (at < 16 || at >= 32)
					copy[at] = (uint8_t)rng();
			}
			if (su_view_build(copy, n, &mv, &err) == 0) {
				accepted++;
				for (uint32_t s = 0; s < 5; s++) {
					struct pkt k;

					pkt_save(&k, &seeds[s]);
					route(mv, &k);
				}
				su_view_free(mv);
			} else if (strcmp(err.code, "ERR_INVALID_TABLE") != 0) {
				bad_code++;
			}
			runs++;
			free(copy);
		}
		CHECK(bad_code == 0, "%u mutated images: each built (%u) or refused as "
				     "ERR_INVALID_TABLE (%u not), accepted ones route",
		      runs, accepted, bad_code);
	}
}

int main(void)
{
	struct img m;
	struct su_view *v;

	v = routing_view(&m);
	test_mutations(&m, v);
	su_view_free(v);
	return summary();
}
