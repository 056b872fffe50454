/* Tests native/core's parsing without Node or root: fragments followed to their first piece,
 * and frames truncated or inconsistent at every length, each with the fate the XDP program
 * gives it. Run under valgrind by test/unit/core-native.test.ts. */
#include "core_fixture.h"

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

/* A piece of a fragmented UDP datagram to 198.51.100.10:2000 (an L2 owner): IPv4 with `id` and
 * the flags/offset word `frag`; a later piece (offset) carries payload where the ports were. */
static void pkt_piece4(struct pkt *k, uint16_t id, uint16_t frag)
{
	pkt_plain(k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 2000, 16);
	put16(k->data + 14 + 4, id);
	put16(k->data + 14 + 6, frag);
}

/* The same over IPv6: a fragment header with `id` and `frag`, then the UDP header or payload. */
static void pkt_piece6(struct pkt *k, uint32_t id, uint16_t frag)
{
	uint32_t n;
	uint8_t *e;

	pkt_init(k);
	n = put_eth(k->data, host_mac, peer_mac, 0x86dd);
	put_ip(k->data + n, 6, "2001:db8:5::1", "2001:db8:100::10", 44, 8 + 8 + 16);
	e = k->data + n + 40;
	memset(e, 0, 8);
	e[0] = IPPROTO_UDP;
	put16(e + 2, frag);
	put16(e + 4, (uint16_t)(id >> 16));
	put16(e + 6, (uint16_t)id);
	put_l4(e + 8, IPPROTO_UDP, 1, 2000, 16);
	k->len = n + 40 + 8 + 8 + 16;
}

static enum su_route_counter route_frags(const struct su_view *v, struct su_frag_table *t,
					 struct pkt *k)
{
	return su_core_route_frags(v, t, &k->data, &k->len, (uint32_t)(k->data - k->buf));
}

/* Later pieces follow their first through the fragment table; unseen or expired ones do not. */
static void test_fragments(const struct su_view *v)
{
	/* In order, on one table: family, identification, flags/offset word (IPv4) or fragment
	 * header word (IPv6), seconds to let pass first, and the fate. */
	static const struct {
		uint8_t family;
		uint32_t id;
		uint16_t frag;
		uint32_t wait_s;
		enum su_route_counter fate;
		const char *what;
	} steps[] = {
		{ 4, 77, 0x2000, 0, SU_ROUTE_forward_server_l2, "IPv4 first piece: steered by its ports" },
		{ 4, 77, 0x2003, 0, SU_ROUTE_forward_server_l2, "IPv4 later piece: follows its first" },
		{ 4, 77, 0x0006, 0, SU_ROUTE_forward_server_l2, "IPv4 last piece (MF clear) too" },
		{ 4, 78, 0x0003, 0, SU_ROUTE_drop_fragment, "a piece whose first was not seen: dropped" },
		{ 4, 77, 0x0006, 31, SU_ROUTE_drop_fragment, "a piece 31 s later: expired, dropped" },
		{ 6, 0x12345678, 0x0001, 0, SU_ROUTE_forward_server_l2, "IPv6 first piece: by its ports" },
		{ 6, 0x12345678, 0x0010, 0, SU_ROUTE_forward_server_l2, "IPv6 later piece follows" },
		{ 6, 0x12345679, 0x0010, 0, SU_ROUTE_drop_fragment, "IPv6 piece of another datagram" },
	};
	struct su_frag_table *t = su_frag_table_new_clock(8, fake_clock);
	enum su_route_counter fate;
	struct pkt k;

	CHECK(su_frag_table_new(6) == NULL, "a fragment table needs a power of two of entries");
	fake_now = 1000;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		fake_now += steps[i].wait_s * 1000000000ull;
		if (steps[i].family == 4)
			pkt_piece4(&k, (uint16_t)steps[i].id, steps[i].frag);
		else
			pkt_piece6(&k, steps[i].id, steps[i].frag);
		fate = route_frags(v, t, &k);
		/* Forwarded pieces go to the L2 owner's MAC address. */
		CHECK(fate == steps[i].fate &&
			      (fate != SU_ROUTE_forward_server_l2 || k.data[5] == 0x22),
		      "%s (%s)", steps[i].what, fate_name(fate));
	}
	/* More datagrams than entries: the table stays bounded, the newest are kept. */
	for (uint16_t id = 100; id < 140; id++) {
		pkt_piece4(&k, id, 0x2000);
		route_frags(v, t, &k);
	}
	pkt_piece4(&k, 139, 0x0003);
	fate = route_frags(v, t, &k);
	CHECK(fate == SU_ROUTE_forward_server_l2,
	      "after 40 datagrams through 8 entries, the newest still followed (%s)", fate_name(fate));
	su_frag_table_free(t);
}

/* `frame` cut to `cut` bytes in a buffer of exactly that size (its IPv4 total length cut too
 * when `fix_length`): the XDP program's fate, when a worker says drop_local for the kernel's
 * packets and the same fate for the rest; else SU_ROUTE_COUNTER_COUNT. */
static enum su_route_counter truncated(const struct su_view *v, const uint8_t *frame, uint32_t cut,
				       int fix_length)
{
	uint8_t *a = malloc(HEADROOM + cut), *b = malloc(HEADROOM + cut);
	uint8_t *da = a + HEADROOM, *db = b + HEADROOM;
	uint32_t la = cut, lb = cut, owner;
	enum su_route_counter xdp, worker;

	memcpy(da, frame, cut);
	if (fix_length)
		put16(da + 14 + 2, (uint16_t)(cut - 14));
	memcpy(db, da, cut);
	xdp = su_core_route_as_xdp(v, NULL, &da, &la, HEADROOM, &owner);
	worker = su_core_route(v, &db, &lb, HEADROOM);
	free(a);
	free(b);
	if (SU_ROUTE_PASSES(xdp) || xdp == SU_ROUTE_decap_local)
		return worker == SU_ROUTE_drop_local ? xdp : SU_ROUTE_COUNTER_COUNT;
	return worker == xdp ? xdp : SU_ROUTE_COUNTER_COUNT;
}

static void test_route_parse(const struct su_view *v)
{
	struct pkt k;
	enum su_route_counter fate;
	uint32_t n;

	/* IPv4 with options: IHL 7. */
	pkt_init(&k);
	n = put_eth(k.data, host_mac, peer_mac, 0x0800);
	put_ip(k.data + n, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 8 + 8);
	k.data[n] = 0x47;
	put16(k.data + n + 2, 28 + 8 + 8);
	memset(k.data + n + 20, 1, 8); /* NOPs */
	put_l4(k.data + n + 28, IPPROTO_UDP, 1, 5000, 8);
	k.len = n + 28 + 16;
	{
		uint8_t inner[64];
		uint8_t want[256];
		uint32_t inner_len = k.len - 14, wn;
		struct img m;

		memcpy(inner, k.data + 14, inner_len);
		fate = route(v, &k);
		routing_table(&m);
		wn = expect_gue(want, &m, O_DC_GUE0_4, gue_sport(&k), inner, inner_len, 4);
		CHECK(fate == SU_ROUTE_encap_datacenter && bytes_equal("options", k.data, k.len, want, wn),
		      "IPv4 with options: ports found after IHL, options kept (%s)", fate_name(fate));
	}

	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 2000, 0);
	put16(k.data + 14 + 6, 0x2000);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_forward_server_l2, "IPv4 first fragment (MF): steered by its ports (%s)",
	      fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 2000, 0);
	put16(k.data + 14 + 6, 0x0001);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_fragment,
	      "IPv4 later fragment (offset), no fragment table: drop_fragment (%s)", fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 2000, 0);
	put16(k.data + 14 + 6, 0x4000);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_forward_server_l2, "IPv4 with DF only is whole (%s)", fate_name(fate));

	/* IPv6: hop-by-hop, destination options, routing header, then UDP. */
	pkt_init(&k);
	n = put_eth(k.data, host_mac, peer_mac, 0x86dd);
	put_ip(k.data + n, 6, "2001:db8:5::1", "2001:db8:100::10", 0, 8 + 16 + 24 + 8);
	{
		uint8_t *e = k.data + n + 40;

		memset(e, 0, 48);
		e[0] = 60; /* hop-by-hop, 8 bytes, next: destination options */
		e[8] = 43; /* destination options, 16 bytes, next: routing */
		e[9] = 1;
		e[24] = 17; /* routing, 24 bytes, next: UDP */
		e[25] = 2;
		put_l4(e + 48, IPPROTO_UDP, 1, 2000, 0);
	}
	k.len = n + 40 + 48 + 8;
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_forward_server_l2,
	      "IPv6 extension headers walked to the UDP port (%s)", fate_name(fate));
	/* Fragment headers: an atomic fragment is whole (RFC 6946), others are pieces. */
	for (int i = 0; i < 3; i++) {
		static const uint16_t offsets[3] = { 0x0000, 0x0001, 0x0008 };
		static const enum su_route_counter fates[3] = { SU_ROUTE_forward_server_l2,
							       SU_ROUTE_forward_server_l2,
							       SU_ROUTE_drop_fragment };
		static const char *what[3] = { "atomic fragment: forwarded",
					       "first fragment (M): steered by its ports",
					       "later fragment (offset), no table: drop_fragment" };
		uint8_t *e;

		pkt_init(&k);
		n = put_eth(k.data, host_mac, peer_mac, 0x86dd);
		put_ip(k.data + n, 6, "2001:db8:5::1", "2001:db8:100::10", 44, 8 + 20);
		e = k.data + n + 40;
		memset(e, 0, 8);
		e[0] = IPPROTO_TCP;
		put16(e + 2, offsets[i]);
		put_l4(e + 8, IPPROTO_TCP, 1, 2000, 0);
		k.len = n + 40 + 8 + 20;
		fate = route(v, &k);
		CHECK(fate == fates[i], "IPv6 %s (%s)", what[i], fate_name(fate));
	}
	/* Nine destination options headers: more than the walk allows. */
	pkt_init(&k);
	n = put_eth(k.data, host_mac, peer_mac, 0x86dd);
	put_ip(k.data + n, 6, "2001:db8:5::1", "2001:db8:100::10", 60, 9 * 8 + 8);
	memset(k.data + n + 40, 0, 9 * 8);
	for (int i = 0; i < 9; i++)
		k.data[n + 40 + i * 8] = i < 8 ? 60 : 17;
	put_l4(k.data + n + 40 + 72, IPPROTO_UDP, 1, 2000, 0);
	k.len = n + 40 + 72 + 8;
	fate = route(v, &k);
	/* Past the walk the kernel would answer for the owner (issue 12): dropped, by name. */
	CHECK(fate == SU_ROUTE_drop_ipv6_chain, "nine IPv6 extension headers: drop_ipv6_chain (%s)",
	      fate_name(fate));
	/* An extension header running past the datagram. */
	pkt_init(&k);
	n = put_eth(k.data, host_mac, peer_mac, 0x86dd);
	put_ip(k.data + n, 6, "2001:db8:5::1", "2001:db8:100::10", 0, 16);
	memset(k.data + n + 40, 0, 16);
	k.data[n + 40] = 17;
	k.data[n + 41] = 2; /* 24 bytes claimed, 16 present */
	k.len = n + 40 + 16;
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_malformed,
	      "IPv6 extension header longer than the datagram: drop_malformed (%s)", fate_name(fate));

	/* Malformed frames, each one field off: to a managed address they are dropped; what ends
	 * before the addresses, or is no IP, TCP or UDP, is the kernel's (pass_unparsed). */
	struct {
		const char *what;
		uint32_t off;  /* byte to change in a plain IPv4/UDP frame */
		int value;     /* new byte value, or -1 to cut the frame to `off` bytes */
		enum su_route_counter fate; /* as the XDP program decides */
	} bad[] = {
		{ "a frame shorter than Ethernet", 13, -1, SU_ROUTE_pass_unparsed },
		{ "an ARP frame", 13, 0x06, SU_ROUTE_pass_unparsed },
		{ "an IPv4 EtherType around IPv6", 14, 0x65, SU_ROUTE_pass_unparsed },
		{ "IHL 4", 14, 0x44, SU_ROUTE_drop_malformed },
		{ "IHL beyond the total length", 14, 0x4f, SU_ROUTE_drop_malformed },
		{ "a total length beyond the frame", 16, 0x01, SU_ROUTE_drop_malformed },
		{ "a total length shorter than the header", 17, 19, SU_ROUTE_drop_malformed },
		{ "a truncated IPv4 header", 14 + 19, -1, SU_ROUTE_pass_unparsed },
		{ "ICMP", 14 + 9, 1, SU_ROUTE_pass_unparsed },
		{ "a truncated UDP header", 14 + 20 + 7, -1, SU_ROUTE_drop_malformed },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 2000, 0);
		if (bad[i].value < 0) {
			k.len = bad[i].off;
			/* keep the IP length consistent so that only the cut is wrong */
			if (k.len > 17)
				put16(k.data + 16, (uint16_t)(k.len - 14));
		} else {
			k.data[bad[i].off] = (uint8_t)bad[i].value;
		}
		fate = bad[i].fate == SU_ROUTE_pass_unparsed ? kernels(v, &k) : route(v, &k);
		CHECK(fate == bad[i].fate, "%s: %s (%s)", bad[i].what, fate_name(bad[i].fate),
		      fate_name(fate));
	}
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_TCP, 1, 2000, 0);
	put16(k.data + 16, 20 + 19);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_malformed,
	      "a TCP header cut short by the IP total length: drop_malformed (%s)", fate_name(fate));
	pkt_plain(&k, 6, "2001:db8:5::1", "2001:db8:100::10", IPPROTO_UDP, 1, 2000, 0);
	put16(k.data + 14 + 4, 0);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_malformed, "IPv6 payload length 0 (jumbogram): drop_malformed (%s)",
	      fate_name(fate));
	pkt_plain(&k, 6, "2001:db8:5::1", "2001:db8:100::10", IPPROTO_UDP, 1, 2000, 0);
	put16(k.data + 14 + 4, 9);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_malformed,
	      "IPv6 payload length beyond the frame: drop_malformed (%s)", fate_name(fate));
	/* Three VLAN tags: the third is not IP. */
	pkt_init(&k);
	n = put_eth(k.data, host_mac, peer_mac, 0x88a8);
	for (int i = 0; i < 3; i++) {
		put16(k.data + n, 1);
		put16(k.data + n + 2, i < 2 ? 0x8100 : 0x0800);
		n += 4;
	}
	n += put_datagram(k.data + n, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 2000, 0);
	k.len = n;
	fate = kernels(v, &k);
	CHECK(fate == SU_ROUTE_pass_unparsed, "three VLAN tags: not IP to us, pass_unparsed (%s)",
	      fate_name(fate));
	/* Every truncation of a valid GUE frame is decided without reading past it (valgrind
	 * watches the reads: the frame is copied to a buffer of exactly its length) and never
	 * unwrapped. Cut as it is, its IP length says more than is there and its destination is
	 * this host's own address: the kernel's, which drops it. With the IP length cut to match,
	 * the UDP header is whole from 42 bytes on, and its length disagrees. */
	{
		const uint8_t hdr[8] = { 0x01, 4, 0, 0, 9, 9, 9, 9 };
		uint32_t bad_fates = 0, bad_fixed = 0;

		pkt_gue(&k, 4, "203.0.113.9", hdr, 8, 4, "192.0.2.77", "198.51.100.10", IPPROTO_TCP,
			1, 3000, 0);
		for (uint32_t cut = 0; cut < k.len; cut++) {
			enum su_route_counter fixed = cut < 14 + 20 + 8 ? SU_ROUTE_pass_unparsed :
									  SU_ROUTE_drop_gue_length;

			bad_fates += truncated(v, k.data, cut, 0) != SU_ROUTE_pass_unparsed;
			if (cut >= 14 + 20)
				bad_fixed += truncated(v, k.data, cut, 1) != fixed;
		}
		CHECK(bad_fates == 0 && bad_fixed == 0,
		      "all %u truncations of a GUE frame: the kernel's (%u not), and with the IP "
		      "length cut too, pass_unparsed or drop_gue_length (%u not)",
		      k.len, bad_fates, bad_fixed);
	}
}

int main(void)
{
	struct img m;
	struct su_view *v = routing_view(&m);

	test_route_parse(v);
	test_fragments(v);
	su_view_free(v);
	return summary();
}
