/* Tests native/core's packet path without Node or root: plain packets routed byte for byte to
 * every kind of owner (golden packets built field by field), a host without source addresses,
 * and a round trip through encapsulation and back. Run under valgrind by
 * test/unit/core-native.test.ts. */
#include "core_fixture.h"

static void test_route_plain(const struct img *m, const struct su_view *v)
{
	struct pkt k, orig;
	uint8_t want[4096];
	uint32_t n;
	enum su_route_counter fate;

	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 2500, 30);
	CHECK(su_core_route(NULL, &k.data, &k.len, HEADROOM) == SU_ROUTE_drop_no_table,
	      "no table: drop_no_table");

	/* L2 with a QinQ tag pair and Ethernet padding: only the addresses change. */
	pkt_init(&k);
	n = put_eth(k.data, host_mac, peer_mac, 0x88a8);
	put16(k.data + n, 0x0064);
	put16(k.data + n + 2, 0x8100);
	put16(k.data + n + 4, 0x2065);
	put16(k.data + n + 6, 0x0800);
	n += 8;
	n += put_datagram(k.data + n, 4, "192.0.2.77", "198.51.100.10", IPPROTO_TCP, 40000, 2500, 0);
	memset(k.data + n, 0, 6); /* padding to 68 bytes */
	k.len = n + 6;
	pkt_save(&orig, &k);
	fate = route(v, &k);
	memcpy(want, orig.data, orig.len);
	memcpy(want, m->owners[O_L2].next_hop_mac, 6);
	memcpy(want + 6, host_mac, 6);
	CHECK(fate == SU_ROUTE_forward_server_l2 && k.data == k.buf + HEADROOM &&
		      bytes_equal("l2", k.data, k.len, want, orig.len),
	      "L2 server: MAC addresses rewritten, VLAN tags, payload and padding kept (%s)",
	      fate_name(fate));

	/* GUE0 over IPv4 to a data centre; 4 bytes of Ethernet padding after the datagram. */
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 5500, 17);
	memset(k.data + k.len, 0, 4);
	k.len += 4;
	pkt_save(&orig, &k);
	fate = route(v, &k);
	n = expect_gue(want, m, O_DC_GUE0_4, gue_sport(&k), orig.data + 14, orig.len - 18, 4);
	CHECK(fate == SU_ROUTE_encap_datacenter && bytes_equal("gue0 v4-in-v4", k.data, k.len, want, n),
	      "GUE0 v4-in-v4 to a data centre: exact bytes, padding dropped (%s)", fate_name(fate));
	CHECK(ref_sum(0, k.data + 14, 20) == 0xffff, "the outer IPv4 header checksum verifies");

	/* GUE1 over IPv4 to a server, inner IPv6 over TCP. */
	pkt_plain(&k, 6, "2001:db8:5::1", "2001:db8:100::10", IPPROTO_TCP, 40000, 3001, 100);
	pkt_save(&orig, &k);
	fate = route(v, &k);
	n = expect_gue(want, m, O_SRV_GUE1_4, gue_sport(&k), orig.data + 14, orig.len - 14, 6);
	CHECK(fate == SU_ROUTE_forward_server_gue && bytes_equal("gue1 v6-in-v4", k.data, k.len, want, n),
	      "GUE1 v6-in-v4 to a server: exact bytes (%s)", fate_name(fate));

	/* GUE0 over IPv6 to a data centre, inner IPv4: the UDP checksum is mandatory. An odd
	 * payload length exercises the checksum's last byte. */
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 6000, 33);
	pkt_save(&orig, &k);
	fate = route(v, &k);
	n = expect_gue(want, m, O_DC_GUE0_6, gue_sport(&k), orig.data + 14, orig.len - 14, 4);
	CHECK(fate == SU_ROUTE_encap_datacenter && bytes_equal("gue0 v4-in-v6", k.data, k.len, want, n),
	      "GUE0 v4-in-v6 to a data centre: exact bytes including the UDP checksum (%s)",
	      fate_name(fate));
	{
		uint8_t pseudo[40];
		const uint8_t *udp = k.data + 14 + 40;

		memcpy(pseudo, k.data + 14 + 8, 32);
		memset(pseudo + 32, 0, 8);
		put16(pseudo + 34, get16(udp + 4));
		pseudo[39] = 17;
		CHECK(get16(udp + 6) != 0 &&
			      ref_sum(ref_sum(0, pseudo, 40), udp, get16(udp + 4)) == 0xffff,
		      "the outer UDP checksum over IPv6 verifies (0x%04x)", get16(udp + 6));
	}

	/* GUE0 over IPv6 to a server on another port. */
	pkt_plain(&k, 6, "2001:db8:5::1", "2001:db8:100::10", IPPROTO_UDP, 1234, 4321, 0);
	pkt_save(&orig, &k);
	fate = route(v, &k);
	n = expect_gue(want, m, O_SRV_GUE0_6, gue_sport(&k), orig.data + 14, orig.len - 14, 6);
	CHECK(fate == SU_ROUTE_forward_server_gue && bytes_equal("gue0 v6-in-v6", k.data, k.len, want, n) &&
		      get16(k.data + 14 + 40 + 2) == 7777,
	      "GUE0 v6-in-v6 to a server on its own GUE port 7777 (%s)", fate_name(fate));

	/* Source ports: in 49152-65535, stable per flow, spread over flows. */
	{
		static uint8_t seen[65536];
		uint32_t distinct = 0, low = 0, unstable = 0;

		memset(seen, 0, sizeof(seen));
		for (uint32_t i = 0; i < 1024; i++) {
			uint16_t p1, p2;

			pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
				  (uint16_t)(20000 + i), 5000, 10);
			route(v, &k);
			p1 = gue_sport(&k);
			pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
				  (uint16_t)(20000 + i), 5000, 99);
			route(v, &k);
			p2 = gue_sport(&k);
			unstable += p1 != p2;
			low += p1 < SU_GUE_SOURCE_PORT_MIN;
			distinct += !seen[p1];
			seen[p1] = 1;
		}
		CHECK(unstable == 0 && low == 0 && distinct > 900,
		      "GUE source ports: stable per flow (%u changed), all >= 49152 (%u below), "
		      "spread (%u distinct of 1024 flows)",
		      unstable, low, distinct);
	}
	{
		uint16_t a, b, c;

		pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 5000, 0);
		route(v, &k);
		a = gue_sport(&k);
		pkt_plain(&k, 4, "192.0.2.78", "198.51.100.10", IPPROTO_UDP, 1, 5000, 0);
		route(v, &k);
		b = gue_sport(&k);
		pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 1, 5001, 0);
		route(v, &k);
		c = gue_sport(&k);
		CHECK(a != b && a != c && b != c,
		      "source address and destination port change the source port (%u %u %u)", a,
		      b, c);
	}

	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 1500, 0);
	fate = kernels(v, &k);
	CHECK(fate == SU_ROUTE_pass_local, "local slice: pass_local in XDP, drop_local in a worker (%s)",
	      fate_name(fate));
	/* Ports and addresses no slice covers are the kernel's (issue 13: passed in both lanes). */
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 999, 0);
	fate = kernels(v, &k);
	CHECK(fate == SU_ROUTE_pass_unmanaged, "port below every slice: pass_unmanaged (%s)",
	      fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.11", IPPROTO_UDP, 40000, 2000, 0);
	fate = kernels(v, &k);
	CHECK(fate == SU_ROUTE_pass_unmanaged, "another address: pass_unmanaged (%s)", fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 7000, 0);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_no_neighbour, "owner without next hop: drop_no_neighbour (%s)",
	      fate_name(fate));

	/* MTU 1500 counts the IP packet: GUE1 over IPv4 adds 28 bytes. */
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 3000, 1472 - 28);
	pkt_save(&orig, &k);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_forward_server_gue && k.len == 1514,
	      "a packet that fits the MTU exactly once encapsulated is sent (%u bytes, %s)", k.len,
	      fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 3000, 1473 - 28);
	pkt_save(&orig, &k);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_too_big && k.data == k.buf + HEADROOM && k.len == orig.len &&
		      memcmp(k.data, orig.data, k.len) == 0,
	      "one byte more: drop_too_big, packet untouched (%s)", fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 2000, 1500 - 28);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_forward_server_l2, "L2: a 1500-byte packet fits (%s)", fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 5000, 0);
	fate = su_core_route(v, &k.data, &k.len, 30);
	CHECK(fate == SU_ROUTE_drop_too_big,
	      "too little headroom (30 of the 32 bytes GUE0 over IPv4 needs): drop_too_big (%s)",
	      fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 5000, 0);
	fate = su_core_route(v, &k.data, &k.len, 32);
	CHECK(fate == SU_ROUTE_encap_datacenter && k.data == k.buf + HEADROOM - 32,
	      "exactly enough headroom: sent, starting at the buffer's edge (%s)", fate_name(fate));
}

static void test_route_no_source(struct img *m)
{
	struct su_view *v = NULL;
	struct su_error err;
	struct pkt k;
	enum su_route_counter fate;

	m->h.host.flags = SU_HOST_HAS_IPV4;
	if (img_build(m, &v, &err)) {
		CHECK(0, "builds the IPv4-only table: %s", err.message);
		return;
	}
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 6000, 0);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_no_source, "host without IPv6, endpoint IPv6: drop_no_source (%s)",
	      fate_name(fate));
	pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 5000, 0);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_encap_datacenter, "the same host still sends over IPv4 (%s)",
	      fate_name(fate));
	/* GUE to this host's IPv6 address is not for us when the host has none: plain lookup. */
	{
		const uint8_t hdr[4] = { 0, 4, 0, 0 };

		pkt_gue(&k, 6, "2001:db8:aaaa::9", hdr, 4, 4, "192.0.2.77", "198.51.100.10",
			IPPROTO_UDP, 1, 3000, 0);
		fate = kernels(v, &k);
		CHECK(fate == SU_ROUTE_pass_unmanaged,
		      "GUE to an address the host does not claim is looked up as is: the kernel's (%s)",
		      fate_name(fate));
	}
	su_view_free(v);
	m->h.host.flags = SU_HOST_HAS_IPV4 | SU_HOST_HAS_IPV6;
	m->h.host.gue_port = 0;
	if (img_build(m, &v, &err)) {
		CHECK(0, "builds the table without GUE port: %s", err.message);
		return;
	}
	{
		const uint8_t hdr[4] = { 0, 4, 0, 0 };

		pkt_gue(&k, 4, "203.0.113.9", hdr, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
			1, 3000, 0);
		fate = kernels(v, &k);
		CHECK(fate == SU_ROUTE_pass_unmanaged,
		      "GUE port 0 turns decapsulation off: looked up as is, the kernel's (%s)",
		      fate_name(fate));
	}
	su_view_free(v);
	m->h.host.gue_port = SU_GUE_DEFAULT_PORT;
}


static void test_round_trip(const struct su_view *v)
{
	struct img dc;
	struct su_view *dv = NULL;
	struct su_error err;
	uint32_t server;

	img_init(&dc);
	parse_addr(4, "203.0.113.5", dc.h.host.ipv4);
	parse_addr(6, "2001:db8:aaaa::6", dc.h.host.ipv6);
	add_trusted(&dc, 4, "192.0.2.0", 24);
	add_trusted(&dc, 6, "2001:db8:ffff::", 48);
	server = add_owner(&dc, SU_OWNER_SERVER, SU_ENCAP_L2, SU_FAMILY_NONE, NULL, 0x77);
	add_key(&dc, 4, "198.51.100.0", 24, IPPROTO_UDP);
	add_range(&dc, 5000, 6999, server);
	if (img_build(&dc, &dv, &err)) {
		CHECK(0, "builds the receiving data centre's table: %s", err.message);
		return;
	}
	for (int i = 0; i < 2; i++) {
		struct pkt k;
		uint8_t inner[2048];
		uint32_t inner_len;
		enum su_route_counter first, second;

		pkt_plain(&k, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000,
			  i ? 6100 : 5100, 101);
		inner_len = k.len - 14;
		memcpy(inner, k.data + 14, inner_len);
		first = route(v, &k);
		second = route(dv, &k);
		CHECK(first == SU_ROUTE_encap_datacenter && second == SU_ROUTE_forward_server_l2 &&
			      k.len == 14 + inner_len && memcmp(k.data + 14, inner, inner_len) == 0 &&
			      k.data[5] == 0x77,
		      "round trip over IPv%d: encapsulated here (%s), unwrapped there (%s), inner "
		      "packet intact",
		      i ? 6 : 4, fate_name(first), fate_name(second));
	}
	su_view_free(dv);
}

int main(void)
{
	struct img m;
	struct su_view *v = routing_view(&m);

	test_route_plain(&m, v);
	test_round_trip(v);
	su_view_free(v);
	test_route_no_source(&m);
	return summary();
}
