/* Tests native/router's batch handler without a port (su_router_create_unbound): per-owner
 * counters that survive publishes (a finished table hands its final counts over once), and drop
 * capture (records in order with their packets, the ring's wrap, a full ring counted as lost,
 * nothing captured while off). Run under valgrind by test/unit/native-c.test.ts. */
#include <stdlib.h>
#include <string.h>

#include "../router/capture.h"
#include "image.h"
#include "softunicast/router.h"
#include "tap.h"

#define FRAME 2048
#define HEADROOM 256
#define FRAMES 8

/* Owners of the table: 0 local, 1 a server over GUE variant 1 (IPv4); slices of 198.51.100.10
 * UDP: 1000-1999 local, 2000-2999 and 4000-4999 the server (3000-3999: managed, no owner). */
static struct su_view *table(uint64_t generation)
{
	struct su_view *v = NULL;
	struct su_error err;
	struct img m;

	img_init(&m);
	m.h.generation = generation;
	add_owner(&m, SU_OWNER_LOCAL, 0, SU_FAMILY_NONE, NULL, 0);
	add_owner(&m, SU_OWNER_SERVER, SU_ENCAP_GUE1, 4, "10.0.0.3", 0x33);
	add_key(&m, 4, "198.51.100.10", 32, IPPROTO_UDP);
	add_range(&m, 1000, 1999, 0);
	add_range(&m, 2000, 2999, 1);
	add_range(&m, 4000, 4999, 1);
	if (img_build(&m, &v, &err)) {
		fprintf(stderr, "table: %s\n", err.message);
		exit(2);
	}
	return v;
}

/* A 64-byte UDP frame to 198.51.100.10:`port` in frame `i` of `umem`; returns its length. */
static uint32_t frame(uint8_t *umem, uint32_t i, uint16_t port)
{
	uint8_t *f = umem + (size_t)i * FRAME + HEADROOM;
	static const uint8_t ip[20] = { 0x45, 0, 0, 50, 0, 0, 0, 0, 64, 17, 0, 0, 203, 0, 113, 9,
					198, 51, 100, 10 };

	memset(f, 0, 64);
	memcpy(f, host_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	f[12] = 0x08;
	memcpy(f + 14, ip, 20);
	f[34] = 0x9c; /* source port 40000 */
	f[35] = 0x40;
	f[36] = (uint8_t)(port >> 8);
	f[37] = (uint8_t)port;
	f[39] = 30; /* UDP length: 8 + 22 */
	return 64;
}

/* Routes `n` frames to `ports` as one batch of queue 0. */
static void batch(struct su_router *r, uint8_t *umem, const uint16_t *ports, uint32_t n)
{
	struct su_desc d[FRAMES];

	for (uint32_t i = 0; i < n; i++) {
		d[i].addr = (uint64_t)i * FRAME + HEADROOM;
		d[i].len = frame(umem, i, ports[i]);
		d[i].action = SU_ACTION_RECYCLE;
	}
	su_router_route_batch(r, 0, d, n);
}

static uint64_t stat(const uint64_t *c, uint32_t owner, enum su_route_counter fate, int what)
{
	return c[(size_t)owner * SU_OWNER_STATS + (size_t)fate * 2 + what];
}

static void test_owner_counters(uint8_t *umem)
{
	struct su_router_finished fin[4];
	uint64_t now[2 * SU_OWNER_STATS];
	struct su_router *r = NULL;
	struct su_error err = { 0 };
	const uint16_t ports[4] = { 2000, 2001, 1000, 3000 }; /* server, server, local, no owner */

	CHECK(su_router_create_unbound(umem, FRAME, 1, &r, &err) == 0, "an unbound router: %s", err.message);
	CHECK(su_router_owner_count(r) == 0 && su_router_take_finished(r, fin, 4) == 0,
	      "no table: no owners, nothing finished");
	CHECK(su_router_publish(r, table(1), &err) == 0, "publishes generation 1");
	batch(r, umem, ports, 4);
	su_router_owner_counters(r, now);
	CHECK(su_router_owner_count(r) == 2 && stat(now, 1, SU_ROUTE_forward_server_gue, 0) == 2 &&
		      stat(now, 1, SU_ROUTE_forward_server_gue, 1) == 2 * (14 + 20 + 8 + 50) &&
		      stat(now, 0, SU_ROUTE_drop_local, 0) == 1 && stat(now, 0, SU_ROUTE_drop_local, 1) == 64,
	      "counts packets and bytes per owner: sent as sent (GUE around a 50-byte datagram), dropped as received");
	CHECK(su_router_publish(r, table(2), &err) == 0, "publishes generation 2");
	batch(r, umem, ports, 1);
	CHECK(su_router_take_finished(r, fin, 4) == 1 && fin[0].generation == 1 &&
		      fin[0].owner_count == 2 &&
		      stat(fin[0].counters, 1, SU_ROUTE_forward_server_gue, 0) == 2,
	      "hands over generation 1's final counts once no worker reads it");
	free(fin[0].counters);
	CHECK(su_router_take_finished(r, fin, 4) == 0, "each finished table once");
	su_router_owner_counters(r, now);
	CHECK(stat(now, 1, SU_ROUTE_forward_server_gue, 0) == 1, "generation 2 counts from zero");
	su_router_free(r);
}

/* Records of the drained bytes: fates and ports in order, and every record's packet intact. */
static uint32_t records(const uint8_t *buf, uint32_t size, uint16_t *ports, uint8_t *fates)
{
	uint32_t n = 0;

	for (uint32_t at = 0; at < size; n++) {
		const struct su_capture_record *rec = (const void *)(buf + at);

		ports[n] = (uint16_t)(buf[at + sizeof(*rec) + 36] << 8 | buf[at + sizeof(*rec) + 37]);
		fates[n] = (uint8_t)rec->fate;
		at += rec->record_len;
	}
	return n;
}

static void test_capture(uint8_t *umem)
{
	static uint8_t out[SU_CAPTURE_RING_BYTES];
	struct su_router *r = NULL;
	struct su_error err = { 0 };
	uint16_t got[FRAMES], sent[4] = { 3000, 2000, 1000, 3001 };
	uint8_t fates[FRAMES];
	uint64_t lost;
	uint32_t size;

	su_router_create_unbound(umem, FRAME, 1, &r, &err);
	su_router_publish(r, table(1), &err);
	batch(r, umem, sent, 4);
	CHECK(su_router_capture_drain(r, out, sizeof(out), &lost) == 0 && lost == 0,
	      "nothing is captured while capture is off");
	CHECK(su_router_capture_start(r, 0, &err) < 0 &&
		      strcmp(err.message, "Expected a snap length from 1 to 9216 bytes but received 0") == 0,
	      "refuses snap length 0: %s", err.message);
	CHECK(su_router_capture_start(r, 40, &err) == 0, "starts capturing, 40 bytes a packet");
	batch(r, umem, sent, 4);
	size = su_router_capture_drain(r, out, sizeof(out), &lost);
	CHECK(size == 3 * (sizeof(struct su_capture_record) + 40) &&
		      records(out, size, got, fates) == 3 && got[0] == 3000 && got[1] == 1000 &&
		      got[2] == 3001 && fates[0] == SU_ROUTE_drop_no_owner &&
		      fates[1] == SU_ROUTE_drop_local && lost == 0,
	      "captures the three drops in order, cut to 40 bytes; not the forwarded packet");
	{
		const struct su_capture_record *rec = (const void *)out;

		CHECK(rec->orig_len == 64 && rec->cap_len == 40 && rec->generation == 1 &&
			      rec->owner == SU_OWNER_NONE &&
			      ((const struct su_capture_record *)(out + rec->record_len))->owner == 0 &&
			      memcmp(out + sizeof(*rec), umem + HEADROOM, 40) == 0,
		      "a record: lengths, generation, owner (none, then the local one), the packet's bytes");
	}
	su_router_capture_stop(r);
	batch(r, umem, sent, 4);
	CHECK(su_router_capture_drain(r, out, sizeof(out), &lost) == 0, "stops capturing");
	su_router_free(r);
}

static void test_ring(void)
{
	static uint8_t out[SU_CAPTURE_RING_BYTES];
	struct su_capture_ring ring;
	struct su_capture_record rec = { .fate = SU_ROUTE_drop_no_owner };
	uint8_t packet[9216];
	uint32_t pushed = 0, drained = 0, ok = 1;

	for (size_t i = 0; i < sizeof(packet); i++)
		packet[i] = (uint8_t)i;
	CHECK(su_capture_ring_init(&ring) == 0, "a ring");
	/* Records of 3000 bytes never fit the ring's end exactly: the writer wraps many times. */
	for (int round = 0; round < 2000; round++) {
		rec.orig_len = (uint32_t)round;
		su_capture_ring_push(&ring, &rec, packet, 3000 - 40);
		pushed++;
		if (round % 7 == 6) {
			uint32_t size = su_capture_ring_drain(&ring, out, sizeof(out));

			for (uint32_t at = 0; at < size;) {
				const struct su_capture_record *r = (const void *)(out + at);

				ok &= r->orig_len == drained && r->cap_len == 2960 &&
				      memcmp(out + at + sizeof(*r), packet, 2960) == 0;
				drained++;
				at += r->record_len;
			}
		}
	}
	drained += su_capture_ring_drain(&ring, out, sizeof(out)) / 3000;
	CHECK(ok && drained == pushed && ring.lost == 0,
	      "2000 records through a wrapping ring arrive whole and in order (%u of %u)", drained, pushed);
	/* Nobody drains: the ring fills and the rest is counted lost. */
	for (int i = 0; i < 400; i++)
		su_capture_ring_push(&ring, &rec, packet, 9216);
	CHECK(su_capture_ring_drain(&ring, out, 100) == 0, "a drain with too little room takes nothing");
	{
		/* All but what fits (one record's room may go to the wrap) is counted lost. */
		uint32_t kept = su_capture_ring_drain(&ring, out, sizeof(out)) / (9216 + 40);

		CHECK(kept >= SU_CAPTURE_RING_BYTES / (9216 + 40) - 1 && kept + ring.lost == 400,
		      "a full ring keeps %u records and counts the other %lu lost", kept,
		      (unsigned long)ring.lost);
	}
	su_capture_ring_destroy(&ring);
}

/* A next hop's new MAC address reaches the table in use without a publish: the next packet for
 * the owner goes to it; a local owner or an index out of range is refused by name. */
static void test_next_hop(uint8_t *umem)
{
	static const uint8_t mac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
	const uint16_t port[1] = { 2000 };
	struct su_router *r = NULL;
	struct su_error err = { 0 };
	struct su_desc d;

	su_router_create_unbound(umem, FRAME, 1, &r, &err);
	CHECK(su_router_set_next_hop(r, 1, mac, &err) < 0 &&
		      strcmp(err.message, "Expected a published table before a next hop changes") == 0,
	      "refuses a next hop before any table: %s", err.message);
	su_router_publish(r, table(1), &err);
	d.addr = HEADROOM;
	d.len = frame(umem, 0, port[0]);
	d.action = SU_ACTION_RECYCLE;
	su_router_route_batch(r, 0, &d, 1);
	CHECK(umem[d.addr] == 0x02 && umem[d.addr + 5] == 0x33, "sends to the table's next hop first");
	CHECK(su_router_set_next_hop(r, 1, mac, &err) == 0, "takes owner 1's new next hop: %s", err.message);
	d.addr = HEADROOM;
	d.len = frame(umem, 0, port[0]);
	su_router_route_batch(r, 0, &d, 1);
	CHECK(d.action == SU_ACTION_TRANSMIT && memcmp(umem + d.addr, mac, 6) == 0,
	      "the next packet for owner 1 goes to the new MAC address, without a publish");
	CHECK(su_router_set_next_hop(r, 0, mac, &err) < 0 &&
		      strstr(err.message, "Expected the index of a GUE owner of the table in use (0 to 1) but received 0"),
	      "refuses the local owner: %s", err.message);
	CHECK(su_router_set_next_hop(r, 7, mac, &err) < 0, "refuses an owner out of range");
	su_router_free(r);
}

int main(void)
{
	uint8_t *umem = aligned_alloc(4096, FRAMES * FRAME);

	test_owner_counters(umem);
	test_capture(umem);
	test_ring();
	test_next_hop(umem);
	free(umem);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
