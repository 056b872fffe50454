/* Tests native/include/softunicast/spsc_ring.h: order, wrap-around, full and empty rings, and a two-thread run
 * that checks every descriptor arrives once and in order. Run under valgrind by npm test. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "softunicast/spsc_ring.h"

static int failed, passed;

#define CHECK(cond, name)                                                   \
	do {                                                                \
		if (cond) {                                                 \
			passed++;                                           \
			printf("ok - %s\n", name);                          \
		} else {                                                    \
			failed++;                                           \
			printf("not ok - %s (%s:%d)\n", name, __FILE__, __LINE__); \
		}                                                           \
	} while (0)

#define TOTAL 200000u

static void *producer(void *arg)
{
	struct su_spsc_ring *r = arg;
	struct su_desc batch[7];
	uint32_t next = 0;

	/* Odd batch size so that batches straddle the wrap point. */
	while (next < TOTAL) {
		uint32_t n = 0;

		for (; n < 7 && next + n < TOTAL; n++)
			batch[n] = (struct su_desc){ .addr = next + n, .len = (next + n) ^ 0x5a5a };
		uint32_t pushed = su_spsc_push(r, batch, n);

		next += pushed;
		if (!pushed)
			sched_yield(); /* valgrind runs one thread at a time: let the consumer in */
	}
	return NULL;
}

int main(void)
{
	struct su_spsc_ring r;
	struct su_desc in[8], out[8];
	pthread_t t;

	CHECK(su_spsc_init(&r, 5) == 0 && r.mask == 7, "capacity rounds up to a power of two");
	for (int i = 0; i < 8; i++)
		in[i] = (struct su_desc){ .addr = 100 + i, .len = i };
	CHECK(su_spsc_pop(&r, out, 8) == 0, "an empty ring pops nothing");
	CHECK(su_spsc_push(&r, in, 8) == 8, "a ring takes its capacity");
	CHECK(su_spsc_push(&r, in, 1) == 0, "a full ring takes nothing");
	CHECK(su_spsc_count(&r) == 8, "count of a full ring");
	CHECK(su_spsc_pop(&r, out, 3) == 3 && out[0].addr == 100 && out[2].addr == 102,
	      "pops in order");
	CHECK(su_spsc_push(&r, in, 8) == 3, "a partial push takes what fits");
	CHECK(su_spsc_pop(&r, out, 8) == 8 && out[4].addr == 107 && out[5].addr == 100 &&
		      out[7].addr == 102,
	      "order survives the wrap");
	su_spsc_destroy(&r);

	su_spsc_init(&r, 64);
	pthread_create(&t, NULL, producer, &r);
	uint32_t expect = 0, bad = 0;

	while (expect < TOTAL) {
		struct su_desc got[16];
		uint32_t n = su_spsc_pop(&r, got, 16);

		if (!n)
			sched_yield();
		for (uint32_t i = 0; i < n; i++, expect++)
			if (got[i].addr != expect || got[i].len != (expect ^ 0x5a5a))
				bad++;
	}
	pthread_join(t, NULL);
	CHECK(bad == 0 && su_spsc_count(&r) == 0, "two threads: every entry once, in order");
	su_spsc_destroy(&r);

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
