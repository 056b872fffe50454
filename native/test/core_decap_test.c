/* Tests native/core's GUE unwrapping without Node or root: what arrives in GUE for this host,
 * from trusted peers or not, unwrapped, forwarded on or dropped, byte for byte. Run under
 * valgrind by test/unit/core-native.test.ts. */
#include "core_fixture.h"

static void test_route_decap(const struct img *m, const struct su_view *v)
{
	struct pkt k, orig;
	uint8_t want[4096], inner[2048];
	uint32_t n, inner_len;
	enum su_route_counter fate;
	const uint8_t v0_ipv4[4] = { 0x00, 4, 0, 0 }, v0_ipv6[4] = { 0x00, 41, 0, 0 };

	/* Variant 0, IPv4 in IPv4, inner for a GUE1 server: re-encapsulated around the same inner. */
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 21);
	inner_len = put_datagram(inner, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP, 40000, 3500, 21);
	fate = route(v, &k);
	n = expect_gue(want, m, O_SRV_GUE1_4, gue_sport(&k), inner, inner_len, 4);
	CHECK(fate == SU_ROUTE_forward_server_gue && bytes_equal("decap v0", k.data, k.len, want, n),
	      "decap variant 0 (v4 in v4) from a trusted peer, re-encapsulated to the server (%s)",
	      fate_name(fate));

	/* Variant 0 with Hlen 2: eight bytes of optional fields skipped uninterpreted (3.4). */
	{
		const uint8_t hdr[12] = { 0x02, 41, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4 };

		pkt_gue(&k, 6, "2001:db8:aaaa::9", hdr, 12, 6, "2001:db8:5::1", "2001:db8:100::10",
			IPPROTO_TCP, 40000, 4500, 5);
		inner_len = put_datagram(inner, 6, "2001:db8:5::1", "2001:db8:100::10", IPPROTO_TCP,
					 40000, 4500, 5);
		fate = route(v, &k);
		n = expect_gue(want, m, O_SRV_GUE0_6, gue_sport(&k), inner, inner_len, 6);
		CHECK(fate == SU_ROUTE_forward_server_gue &&
			      bytes_equal("decap v0 hlen", k.data, k.len, want, n),
		      "decap variant 0 with Hlen 2 over IPv6, v6 inner, to a GUE0 server (%s)",
		      fate_name(fate));
	}

	/* Variant 1, IPv6 inside IPv4, for an L2 server: a fresh Ethernet header in front of the
	 * inner packet; the outer frame's Ethernet padding dropped. */
	pkt_gue(&k, 4, "203.0.113.200", NULL, 0, 6, "2001:db8:5::1", "2001:db8:100::10",
		IPPROTO_UDP, 40000, 2222, 3);
	memset(k.data + k.len, 0, 5);
	k.len += 5;
	inner_len = put_datagram(inner, 6, "2001:db8:5::1", "2001:db8:100::10", IPPROTO_UDP, 40000,
				 2222, 3);
	fate = route(v, &k);
	n = put_eth(want, m->owners[O_L2].next_hop_mac, host_mac, 0x86dd);
	memcpy(want + n, inner, inner_len);
	n += inner_len;
	CHECK(fate == SU_ROUTE_forward_server_l2 && bytes_equal("decap v1 l2", k.data, k.len, want, n),
	      "decap variant 1 (v6 in v4) to an L2 server: fresh Ethernet header (%s)",
	      fate_name(fate));

	/* Variant 1 with an inner IPv4 behind a tagged outer frame. */
	pkt_gue(&k, 4, "203.0.113.200", NULL, 0, 4, "192.0.2.77", "198.51.100.10", IPPROTO_TCP,
		40000, 2999, 0);
	memmove(k.data + 18, k.data + 14, k.len - 14);
	put16(k.data + 12, 0x8100);
	put16(k.data + 14, 5);
	put16(k.data + 16, 0x0800);
	k.len += 4;
	inner_len = put_datagram(inner, 4, "192.0.2.77", "198.51.100.10", IPPROTO_TCP, 40000, 2999, 0);
	fate = route(v, &k);
	n = put_eth(want, m->owners[O_L2].next_hop_mac, host_mac, 0x0800);
	memcpy(want + n, inner, inner_len);
	n += inner_len;
	CHECK(fate == SU_ROUTE_forward_server_l2 &&
		      bytes_equal("decap v1 vlan", k.data, k.len, want, n),
	      "decap variant 1 from a VLAN: the fresh header has no tag (%s)", fate_name(fate));

	/* Outer checksums: a non-zero UDP checksum is verified (draft 5.8), over either family,
	 * and so is the outer IPv4 header's. */
	{
		const struct {
			uint8_t outer;
			const char *src;
			int corrupt; /* 0: none, 1: UDP checksum, 2: IPv4 header checksum */
			enum su_route_counter fate;
			const char *what;
		} cases[] = {
			{ 4, "203.0.113.9", 0, SU_ROUTE_forward_server_gue,
			  "a correct UDP checksum over IPv4: forwarded" },
			{ 4, "203.0.113.9", 1, SU_ROUTE_drop_malformed,
			  "a wrong UDP checksum over IPv4: drop_malformed" },
			{ 4, "203.0.113.9", 2, SU_ROUTE_drop_malformed,
			  "a wrong outer IPv4 header checksum: drop_malformed" },
			{ 6, "2001:db8:aaaa::9", 0, SU_ROUTE_forward_server_gue,
			  "a correct UDP checksum over IPv6: forwarded" },
			{ 6, "2001:db8:aaaa::9", 1, SU_ROUTE_drop_malformed,
			  "a wrong UDP checksum over IPv6: drop_malformed" },
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			pkt_gue(&k, cases[i].outer, cases[i].src, v0_ipv4, 4, 4, "192.0.2.77",
				"198.51.100.10", IPPROTO_UDP, 40000, 3500, 31);
			set_outer_udp_csum(&k);
			if (cases[i].corrupt == 1)
				k.data[k.len - 1] ^= 0x40;
			if (cases[i].corrupt == 2)
				k.data[14 + 8] ^= 1; /* TTL */
			fate = route(v, &k);
			CHECK(fate == cases[i].fate, "GUE with %s (%s)", cases[i].what, fate_name(fate));
		}
	}

	/* The drops of decapsulation. */
	pkt_gue(&k, 4, "198.18.0.1", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 0);
	pkt_save(&orig, &k);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_untrusted_gue && memcmp(k.data, orig.data, k.len) == 0,
	      "GUE from an untrusted source: drop_untrusted_gue (%s)", fate_name(fate));
	pkt_gue(&k, 6, "2001:db8:aaab::1", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10",
		IPPROTO_UDP, 40000, 3500, 0);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_untrusted_gue,
	      "GUE over IPv6 from outside the trusted /48: drop_untrusted_gue (%s)", fate_name(fate));
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 5500, 0);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_loop, "GUE for another data centre: drop_loop (%s)",
	      fate_name(fate));
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 1500, 0);
	fate = kernels(v, &k);
	CHECK(fate == SU_ROUTE_decap_local,
	      "GUE for a local slice: decap_local in XDP, drop_local in a worker (%s)", fate_name(fate));
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.99", IPPROTO_UDP,
		40000, 3500, 0);
	fate = route(v, &k);
	/* Never an open relay (issue 12): only slices we manage are taken out of a tunnel. */
	CHECK(fate == SU_ROUTE_drop_gue_not_managed,
	      "GUE for an address no slice covers: drop_gue_not_managed (%s)", fate_name(fate));
	{
		const uint8_t flags[4] = { 0x00, 4, 0x80, 0 }, control[4] = { 0x20, 0, 0, 0 },
			      variant2[4] = { 0x80, 4, 0, 0 }, variant3[4] = { 0xc0, 4, 0, 0 },
			      udp_proto[4] = { 0x00, 17, 0, 0 }, long_hlen[4] = { 0x1f, 4, 0, 0 };

		pkt_gue(&k, 4, "203.0.113.9", flags, 4, 4, "192.0.2.77", "198.51.100.10",
			IPPROTO_UDP, 40000, 3500, 0);
		fate = route(v, &k);
		CHECK(fate == SU_ROUTE_drop_gue_flags, "GUE with a flag set: drop_gue_flags (%s)",
		      fate_name(fate));
		pkt_gue(&k, 4, "203.0.113.9", control, 4, 4, "192.0.2.77", "198.51.100.10",
			IPPROTO_UDP, 40000, 3500, 0);
		fate = route(v, &k);
		CHECK(fate == SU_ROUTE_drop_gue_control,
		      "GUE control message (C bit): drop_gue_control (%s)", fate_name(fate));
		pkt_gue(&k, 4, "203.0.113.9", variant2, 4, 4, "192.0.2.77", "198.51.100.10",
			IPPROTO_UDP, 40000, 3500, 0);
		fate = route(v, &k);
		pkt_gue(&k, 4, "203.0.113.9", variant3, 4, 4, "192.0.2.77", "198.51.100.10",
			IPPROTO_UDP, 40000, 3500, 0);
		CHECK(fate == SU_ROUTE_drop_gue_variant && route(v, &k) == SU_ROUTE_drop_gue_variant,
		      "GUE variants 2 and 3: drop_gue_variant (%s)", fate_name(fate));
		pkt_gue(&k, 4, "203.0.113.9", v0_ipv6, 4, 4, "192.0.2.77", "198.51.100.10",
			IPPROTO_UDP, 40000, 3500, 0);
		fate = route(v, &k);
		CHECK(fate == SU_ROUTE_drop_gue_proto,
		      "GUE Proto 41 around an IPv4 packet: drop_gue_proto (%s)", fate_name(fate));
		pkt_gue(&k, 4, "203.0.113.9", udp_proto, 4, 4, "192.0.2.77", "198.51.100.10",
			IPPROTO_UDP, 40000, 3500, 0);
		fate = route(v, &k);
		CHECK(fate == SU_ROUTE_drop_gue_proto, "GUE Proto 17: drop_gue_proto (%s)",
		      fate_name(fate));
		pkt_gue(&k, 4, "203.0.113.9", long_hlen, 4, 4, "192.0.2.77", "198.51.100.10",
			IPPROTO_UDP, 40000, 3500, 0);
		fate = route(v, &k);
		CHECK(fate == SU_ROUTE_drop_malformed,
		      "GUE Hlen past the end of the payload: drop_malformed (%s)", fate_name(fate));
	}
	/* Variant 1 whose first nibble is 5: neither IPv4 nor IPv6. */
	pkt_gue(&k, 4, "203.0.113.9", NULL, 0, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 0);
	k.data[14 + 20 + 8] = 0x55;
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_gue_proto, "GUE variant 1 with version 5: drop_gue_proto (%s)",
	      fate_name(fate));
	/* A fragmented inner packet. */
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 0);
	put16(k.data + 14 + 20 + 8 + 4 + 6, 0x2000);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_forward_server_gue,
	      "GUE around a first fragment: steered by its ports (%s)", fate_name(fate));
	/* Lengths that disagree (issue 19): the UDP length with the IP length, the inner length
	 * with the UDP payload; each is drop_gue_length. */
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 0);
	put16(k.data + 14 + 20 + 4, (uint16_t)(get16(k.data + 14 + 20 + 4) - 1));
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_gue_length,
	      "UDP length one short of the IP datagram: drop_gue_length (%s)", fate_name(fate));
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 0);
	put16(k.data + 14 + 20 + 4, 0xffff);
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_gue_length,
	      "UDP length longer than the IP datagram: drop_gue_length (%s)", fate_name(fate));
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 0);
	put16(k.data + 14 + 20 + 8 + 4 + 2, (uint16_t)(get16(k.data + 14 + 20 + 8 + 4 + 2) + 1));
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_gue_length,
	      "inner length one past the UDP payload: drop_gue_length (%s)", fate_name(fate));
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 4);
	put16(k.data + 14 + 20 + 8 + 4 + 2, (uint16_t)(get16(k.data + 14 + 20 + 8 + 4 + 2) - 1));
	fate = route(v, &k);
	CHECK(fate == SU_ROUTE_drop_gue_length,
	      "inner length one short of the UDP payload: drop_gue_length (%s)", fate_name(fate));
	/* GUE to this host but another port: an ordinary packet, to an address no slice covers. */
	pkt_gue(&k, 4, "203.0.113.9", v0_ipv4, 4, 4, "192.0.2.77", "198.51.100.10", IPPROTO_UDP,
		40000, 3500, 0);
	put16(k.data + 14 + 20 + 2, 6081);
	fate = kernels(v, &k);
	CHECK(fate == SU_ROUTE_pass_unmanaged, "UDP to the host on another port: pass_unmanaged (%s)",
	      fate_name(fate));
}

/* Our own encapsulation, received by the data centre it was sent to: that data centre's fast
 * path unwraps it (checksums and all) and hands the untouched inner packet to its server. */

int main(void)
{
	struct img m;
	struct su_view *v = routing_view(&m);

	test_route_decap(&m, v);
	su_view_free(v);
	return summary();
}
