/* See oracle.h: a frame through one entry point of the core, its fate and owner compared with the
 * model's (oracle_route.c), and every byte that leaves checked: sent frames field by field
 * against the RFCs (RFC 791, RFC 8200, RFC 768, draft-ietf-intarea-gue-09), frames for the
 * kernel as received or exactly unwrapped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* SU_FUZZ_TRACE=1 prints every frame's fate: for reading what a reproducer does. */
static int trace(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("SU_FUZZ_TRACE") && *getenv("SU_FUZZ_TRACE") == '1';
	return on;
}

/* The outer IP and UDP headers of GUE to owner `o` from `host`, `out_len` bytes in all. */
static void check_gue_headers(const struct su_host *host, const struct su_owner *o,
			      const char *name, const uint8_t *out, uint32_t out_len)
{
	const uint8_t *ip = out + 14, *udp;
	uint32_t iphl = o->family == SU_FAMILY_IPV4 ? 20 : 40, udp_len = out_len - 14 - iphl;

	if (o->family == SU_FAMILY_IPV4) {
		if (fz_get16(out + 12) != 0x0800 || ip[0] != 0x45 || ip[1] != 0 ||
		    fz_get16(ip + 2) != out_len - 14 || fz_get16(ip + 4) != 0 ||
		    fz_get16(ip + 6) != 0x4000 || ip[8] != SU_GUE_OUTER_TTL ||
		    ip[9] != IPPROTO_UDP || memcmp(ip + 12, host->ipv4, 4) != 0 ||
		    memcmp(ip + 16, o->endpoint, 4) != 0)
			fz_fail("%s: outer IPv4 header is not the model's", name);
		if (!fz_sum_ok(fz_sum16(0, ip, 20)))
			fz_fail("%s: outer IPv4 header checksum is wrong", name);
	} else if (fz_get16(out + 12) != 0x86dd || fz_get16(ip) != 0x6000 || fz_get16(ip + 2) != 0 ||
		   fz_get16(ip + 4) != udp_len || ip[6] != IPPROTO_UDP ||
		   ip[7] != SU_GUE_OUTER_TTL || memcmp(ip + 8, host->ipv6, 16) != 0 ||
		   memcmp(ip + 24, o->endpoint, 16) != 0) {
		fz_fail("%s: outer IPv6 header is not the model's", name);
	}
	udp = ip + iphl;
	if (fz_get16(udp) < SU_GUE_SOURCE_PORT_MIN || fz_get16(udp + 2) != o->gue_port ||
	    fz_get16(udp + 4) != udp_len)
		fz_fail("%s: outer UDP header is not the model's (ports %u > %u, length %u)", name,
			fz_get16(udp), fz_get16(udp + 2), fz_get16(udp + 4));
	if (o->family == SU_FAMILY_IPV4) {
		/* Zero: no checksum, allowed over IPv4 (draft 5.8). */
		if (fz_get16(udp + 6) != 0)
			fz_fail("%s: UDP checksum over IPv4 is not zero", name);
	} else {
		/* Mandatory over IPv6 (RFC 8200 8.1): pseudo-header, then the whole datagram. */
		uint32_t sum = fz_sum16(0, ip + 8, 32) + (udp_len >> 16) + (udp_len & 0xffff) +
			       IPPROTO_UDP;

		if (fz_get16(udp + 6) == 0 || !fz_sum_ok(fz_sum16(sum, udp, udp_len)))
			fz_fail("%s: UDP checksum over IPv6 is wrong", name);
	}
}

/* `out` (`out_len` bytes at `out_off` of the buffer) is what was sent for `e` of `frame`. */
static void check_sent(const struct fz_table *t, const struct fz_expect *e,
		       enum su_route_counter fate, const uint8_t *frame, uint32_t len, uint32_t headroom, uint32_t out_off,
		       const uint8_t *out, uint32_t out_len)
{
	const struct su_host *host = &t->h.host;
	const struct su_owner *o = &t->owners[e->owner];
	const struct fz_ip *p = fz_pkt(e);
	const char *name = fz_fate_name(fate);
	uint32_t hdr_len;
	const uint8_t *udp;

	if (memcmp(out + 6, host->mac, 6) != 0 || memcmp(out, o->next_hop_mac, 6) != 0)
		fz_fail("%s: Ethernet addresses are not the host's and owner %ld's next hop", name,
			e->owner);
	if (fate == SU_ROUTE_forward_server_l2 && !e->decap) {
		/* Only the addresses change: tags, payload and padding stay as received. */
		if (out_off != headroom || out_len != len || memcmp(out + 12, frame + 12, len - 12))
			fz_fail("L2 rewrite changed more than the MAC addresses (at %u, %u bytes of %u)",
				out_off, out_len, len);
		return;
	}
	hdr_len = fate == SU_ROUTE_forward_server_l2 ? 14 : fz_gue_hdr_len(o, e->hops);
	/* The datagram itself is never touched, nor moved; what followed it is not sent. */
	if (out_off != headroom + p->l3 - hdr_len || out_len != hdr_len + p->ip_len)
		fz_fail("%s: %u bytes at %u, the model %u at %u", name, out_len, out_off,
			hdr_len + p->ip_len, headroom + p->l3 - hdr_len);
	if (memcmp(out + hdr_len, frame + p->l3, p->ip_len) != 0)
		fz_fail("%s: the datagram changed", name);
	if (fate == SU_ROUTE_forward_server_l2) {
		if (fz_get16(out + 12) != (p->family == SU_FAMILY_IPV4 ? 0x0800u : 0x86ddu))
			fz_fail("L2 after decapsulation: EtherType 0x%04x", fz_get16(out + 12));
		return;
	}
	check_gue_headers(host, o, name, out, out_len);
	udp = out + 14 + (o->family == SU_FAMILY_IPV4 ? 20 : 40);
	if (o->encap == SU_ENCAP_GUE0 &&
	    (udp[8] != 0 || udp[10] != 0 || udp[11] != 0 ||
	     udp[9] != (p->family == SU_FAMILY_IPV4 ? SU_GUE_PROTO_IPV4 : SU_GUE_PROTO_IPV6)))
		fz_fail("%s: GUE variant 0 header %02x %02x %02x %02x", name, udp[8], udp[9],
			udp[10], udp[11]);
	/* GLB (src/lb/hop-list.ts): Hlen 1 + hops, C = 0, Proto, no flags; private type 0, next
	 * hop index 0, hop count; the hop. */
	if (o->encap == SU_ENCAP_GLB &&
	    (udp[8] != 1 + e->hops || udp[10] != 0 || udp[11] != 0 ||
	     udp[9] != (p->family == SU_FAMILY_IPV4 ? SU_GUE_PROTO_IPV4 : SU_GUE_PROTO_IPV6) ||
	     udp[12] != 0 || udp[13] != 0 || udp[14] != 0 || udp[15] != e->hops ||
	     (e->hops && memcmp(udp + 16, e->hop, 4) != 0)))
		fz_fail("%s: GLB header %02x %02x %02x %02x, private %02x %02x %02x %02x, model %u hops",
			name, udp[8], udp[9], udp[10], udp[11], udp[12], udp[13], udp[14], udp[15],
			e->hops);
	/* All pieces of a datagram take one outer source port (one ECMP path). */
	if (e->frag && e->frag->sport >= 0 && (uint32_t)e->frag->sport != fz_get16(udp))
		fz_fail("%s: a fragment's source port %u differs from its first's %d", name,
			fz_get16(udp), e->frag->sport);
}

/* The answer to a peer's health probe: the frame turned round where it stands (MAC and IP
 * addresses and UDP ports swapped, TTL 64), the reply type (129) in place of the probe's (128),
 * everything else of the datagram as received, nothing after it; checksums right (UDP 0 over
 * IPv4). */
static void check_probe_reply(const struct fz_expect *e, const uint8_t *frame, const uint8_t *out,
			      uint32_t out_len)
{
	const struct fz_ip *o = &e->outer;
	int v4 = o->family == SU_FAMILY_IPV4;
	uint32_t n = v4 ? 4 : 16, udp_len = o->l4_len;
	const uint8_t *h = out + o->l3, *udp = out + o->l4;

	if (out_len != o->l3 + o->ip_len)
		fz_fail("reply_probe: %u bytes, the model %u", out_len, o->l3 + o->ip_len);
	if (memcmp(out, frame + 6, 6) || memcmp(out + 6, frame, 6) || memcmp(out + 12, frame + 12, o->l3 - 12))
		fz_fail("reply_probe: the link header is not the received one turned round");
	if (memcmp(h + (v4 ? 12 : 8), o->daddr, n) || memcmp(h + (v4 ? 12 : 8) + n, o->saddr, n) ||
	    h[v4 ? 8 : 7] != 64)
		fz_fail("reply_probe: IP addresses or TTL");
	if (fz_get16(udp) != o->dport || fz_get16(udp + 2) != o->sport || fz_get16(udp + 4) != udp_len ||
	    udp[8 + 1] != 129 || udp[8] != frame[o->l4 + 8] || memcmp(udp + 10, frame + o->l4 + 10, udp_len - 10))
		fz_fail("reply_probe: UDP ports, length or the GUE header and payload");
	if (v4) {
		if (!fz_sum_ok(fz_sum16(0, h, o->l4 - o->l3)) || fz_get16(udp + 6) != 0)
			fz_fail("reply_probe: IPv4 header checksum, or a UDP checksum over IPv4");
	} else {
		uint32_t sum = fz_sum16(fz_sum16(0, o->daddr, n), o->saddr, n) + IPPROTO_UDP + udp_len;

		if (!fz_sum_ok(fz_sum16(sum, udp, udp_len)))
			fz_fail("reply_probe: UDP checksum over IPv6");
	}
}

/* The answer to a packet too big for its owner's way (RFC 792/1191, RFC 4443 3.2): the link
 * header as received with the MAC addresses swapped (the last EtherType the answer's), an IP
 * header from the packet's destination to its source, the ICMP message with the MTU, and as much
 * of the packet as fits 576 (IPv4) or 1,280 (IPv6) bytes; every checksum right. */
static void check_answer(const struct fz_expect *e, const uint8_t *frame, const uint8_t *out,
			 uint32_t out_len)
{
	const struct fz_ip *p = fz_pkt(e);
	int v4 = p->family == SU_FAMILY_IPV4;
	uint32_t l2 = e->outer.l3, ip = v4 ? 20 : 40, quote = p->ip_len < (v4 ? 548u : 1232u) ? p->ip_len : (v4 ? 548u : 1232u);
	const uint8_t *h = out + l2, *icmp = h + ip;
	uint32_t sum;

	if (out_len != l2 + ip + 8 + quote)
		fz_fail("reply_too_big: %u bytes, the model %u", out_len, l2 + ip + 8 + quote);
	if (memcmp(out, frame + 6, 6) || memcmp(out + 6, frame, 6) || memcmp(out + 12, frame + 12, l2 - 14) ||
	    fz_get16(out + l2 - 2) != (v4 ? 0x0800u : 0x86ddu))
		fz_fail("reply_too_big: the link header is not the received one turned round");
	if (memcmp(icmp + 8, frame + p->l3, quote))
		fz_fail("reply_too_big: the quote is not the packet's first %u bytes", quote);
	if (v4) {
		if (h[0] != 0x45 || fz_get16(h + 2) != ip + 8 + quote || h[9] != 1 || memcmp(h + 12, p->daddr, 4) ||
		    memcmp(h + 16, p->saddr, 4) || !fz_sum_ok(fz_sum16(0, h, 20)))
			fz_fail("reply_too_big: IPv4 header");
		if (icmp[0] != 3 || icmp[1] != 4 || fz_get16(icmp + 4) != 0 || fz_get16(icmp + 6) != e->mtu)
			fz_fail("reply_too_big: ICMP type %u code %u MTU %u, the model 3 4 %u", icmp[0], icmp[1], fz_get16(icmp + 6), e->mtu);
		sum = fz_sum16(0, icmp, 8 + quote);
	} else {
		uint8_t pseudo[40];

		if (h[0] >> 4 != 6 || fz_get16(h + 4) != 8 + quote || h[6] != 58 || memcmp(h + 8, p->daddr, 16) ||
		    memcmp(h + 24, p->saddr, 16))
			fz_fail("reply_too_big: IPv6 header");
		if (icmp[0] != 2 || icmp[1] != 0 || fz_get32(icmp + 4) != e->mtu)
			fz_fail("reply_too_big: ICMPv6 type %u code %u MTU %u, the model 2 0 %u", icmp[0], icmp[1], fz_get32(icmp + 4), e->mtu);
		memcpy(pseudo, h + 8, 32);
		memset(pseudo + 32, 0, 8);
		pseudo[34] = (uint8_t)((8 + quote) >> 8);
		pseudo[35] = (uint8_t)(8 + quote);
		pseudo[39] = 58;
		sum = fz_sum16(fz_sum16(0, pseudo, 40), icmp, 8 + quote);
	}
	if (!fz_sum_ok(sum))
		fz_fail("reply_too_big: the ICMP checksum is wrong");
}

/* What the XDP lane hands the kernel: the frame as received, or the inner datagram unwrapped
 * behind the received Ethernet addresses, without tags. */
static void check_passed(const struct fz_expect *e, enum su_route_counter fate,
			 const uint8_t *frame, uint32_t len, uint32_t headroom, uint32_t out_off,
			 const uint8_t *out, uint32_t out_len)
{
	const struct fz_ip *in = &e->inner;

	if (fate != SU_ROUTE_decap_local) {
		if (out_off != headroom || out_len != len || memcmp(out, frame, len) != 0)
			fz_fail("%s: the frame for the kernel is not the frame received", fz_fate_name(fate));
		return;
	}
	if (out_off != headroom + in->l3 - 14 || out_len != 14 + in->ip_len ||
	    memcmp(out, frame, 12) != 0 ||
	    fz_get16(out + 12) != (in->family == SU_FAMILY_IPV4 ? 0x0800u : 0x86ddu) ||
	    memcmp(out + 14, frame + in->l3, in->ip_len) != 0)
		fz_fail("decap_local: %u bytes at %u are not the inner datagram (%u bytes at %u)",
			out_len, out_off, in->ip_len, in->l3);
}

/* The model's fate as `lane` reports it: the worker cannot hand a packet to the kernel. */
static enum su_route_counter as_lane(enum su_route_counter fate, enum fz_lane lane)
{
	if (lane != FZ_XDP && (SU_ROUTE_PASSES(fate) || fate == SU_ROUTE_decap_local))
		return SU_ROUTE_drop_local;
	return fate;
}

/* Runs `lane`; *owner is SU_OWNER_NONE where the entry point does not say. */
static enum su_route_counter run(const struct su_view *view, enum fz_lane lane,
				 struct su_frag_table *frags, uint8_t **data, uint32_t *len,
				 uint32_t headroom, uint32_t *owner)
{
	*owner = SU_OWNER_NONE;
	if (lane == FZ_ALONE)
		return su_core_route(view, data, len, headroom);
	if (lane == FZ_WORKER)
		return su_core_route_owner(view, frags, data, len, headroom, owner);
	return su_core_route_as_xdp(view, frags, data, len, headroom, owner);
}

/* The model's expectation that matches what the core did, among those of the source routes it
 * cannot call; the first when none does. */
static void expect_for(const struct fz_table *t, const struct fz_frags *memory,
		       const uint8_t *frame, uint32_t len, uint32_t headroom, enum fz_lane lane,
		       enum su_route_counter got, struct fz_expect *e)
{
	struct fz_expect other;

	fz_expect(t, memory, frame, len, headroom, 0, e);
	if (!fz_expect_either(e) || as_lane(e->fate, lane) == got)
		return;
	fz_expect(t, memory, frame, len, headroom, 1, &other);
	if (as_lane(other.fate, lane) == got)
		*e = other;
}

/* Remembers a first piece the model steered, as the core's table does (the latest wins). */
static void remember(struct fz_frags *m, struct fz_expect *e)
{
	const struct fz_ip *p = fz_pkt(e);
	uint32_t size = p->family == SU_FAMILY_IPV4 ? 4 : 16;
	struct fz_frag *r = NULL;

	for (unsigned i = 0; i < m->count && !r; i++)
		if (m->e[i].family == p->family && m->e[i].protocol == p->protocol &&
		    m->e[i].id == p->frag_id && memcmp(m->e[i].saddr, p->saddr, size) == 0 &&
		    memcmp(m->e[i].daddr, p->daddr, size) == 0)
			r = &m->e[i];
	if (!r) {
		if (m->count == FZ_FRAGS_MAX)
			fz_fail("more than %u fragmented datagrams in one run", FZ_FRAGS_MAX);
		r = &m->e[m->count++];
		memset(r, 0, sizeof(*r));
		r->family = p->family;
		r->protocol = p->protocol;
		r->id = p->frag_id;
		memcpy(r->saddr, p->saddr, size);
		memcpy(r->daddr, p->daddr, size);
	}
	r->owner = e->owner;
	r->sport = -1;
	r->saved_at = ++m->saves;
	e->frag = r;
}

/* Whether the core's table may have forgotten `r`: it keeps two datagrams per bucket, the newer
 * ones, so a datagram is evicted only once two others have been remembered after it. */
static int may_forget(const struct fz_frags *m, const struct fz_frag *r)
{
	unsigned newer = 0;

	for (unsigned i = 0; i < m->count; i++)
		newer += m->e[i].saved_at > r->saved_at;
	return newer >= 2;
}

/* Checks the frame that leaves (`data`, `out_len` bytes, in the buffer `buf` of `size`) and
 * keeps a copy in `out`. */
static void check_leaving(const struct fz_table *t, struct fz_expect *e, enum su_route_counter got,
			  const uint8_t *frame, uint32_t len, uint32_t headroom, const uint8_t *buf,
			  size_t size, const uint8_t *data, uint32_t out_len, struct fz_result *out)
{
	/* Inside the buffer before anything is read from it, and of a sane length. */
	if (data < buf || data > buf + size || out_len > (size_t)(buf + size - data) ||
	    (SU_ROUTE_TRANSMITS(got) && out_len < 14 + 20))
		fz_fail("%s: %u bytes at offset %td of a %zu-byte buffer", fz_fate_name(got), out_len,
			data - buf, size);
	out->off = (uint32_t)(data - buf);
	out->len = out_len;
	if (got == SU_ROUTE_reply_probe) {
		check_probe_reply(e, frame, data, out_len);
	} else if (got == SU_ROUTE_reply_too_big) {
		check_answer(e, frame, data, out_len);
	} else if (SU_ROUTE_TRANSMITS(got)) {
		check_sent(t, e, got, frame, len, headroom, out->off, data, out_len);
		/* The first piece's port, which the later ones must take. */
		if (e->frag && got != SU_ROUTE_forward_server_l2)
			e->frag->sport = (int32_t)fz_get16(
				data + 14 + (t->owners[e->owner].family == SU_FAMILY_IPV4 ? 20 : 40));
	} else {
		check_passed(e, got, frame, len, headroom, out->off, data, out_len);
	}
	out->bytes = malloc(out_len ? out_len : 1);
	if (!out->bytes)
		abort();
	memcpy(out->bytes, data, out_len);
}

void fz_route(const struct su_view *view, const struct fz_table *t, enum fz_lane lane,
	      struct su_frag_table *frags, struct fz_frags *memory, const uint8_t *frame,
	      uint32_t len, uint32_t headroom, struct fz_result *out)
{
	size_t size = (size_t)headroom + len;
	uint8_t *buf = malloc(size ? size : 1), *data;
	enum su_route_counter want, got;
	uint32_t out_len = len, owner;
	struct fz_expect e;
	int forgot;

	/* Exactly the frame and its headroom: any access past either end is ASan's to report. */
	if (!buf)
		abort();
	memcpy(buf + headroom, frame, len);
	data = buf + headroom;
	got = run(view, lane, frags, &data, &out_len, headroom, &owner);
	expect_for(t, memory, frame, len, headroom, lane, got, &e);
	want = as_lane(e.fate, lane);
	if (trace())
		fprintf(stderr, "fz_route: lane %d, %u-byte frame, headroom %u: %s (model: %s)\n",
			lane, len, headroom, fz_fate_name(got), fz_fate_name(want));
	/* The core's fragment table is small and forgets (two slots per key); the model does not. */
	forgot = got != want && e.later && e.frag && got == SU_ROUTE_drop_fragment &&
		 may_forget(memory, e.frag);
	/* An answer the core could not send (its rate spent, or no headroom for the headers) is
	 * the drop it answers for. */
	if (got == SU_ROUTE_drop_too_big && want == SU_ROUTE_reply_too_big)
		want = got;
	if (got != want && !forgot)
		fz_fail("fate %s (%u), the model says %s (%u)", fz_fate_name(got), got,
			fz_fate_name(want), want);
	if (lane != FZ_ALONE && owner != (forgot || e.owner < 0 ? SU_OWNER_NONE : (uint32_t)e.owner))
		fz_fail("%s: owner %u, the model says %ld", fz_fate_name(got), owner,
			forgot ? -1 : e.owner);
	if (e.save && memory)
		remember(memory, &e);
	memset(out, 0, sizeof(*out));
	out->fate = got;
	out->owner = owner;
	if (SU_ROUTE_TRANSMITS(got) ||
	    (lane == FZ_XDP && (SU_ROUTE_PASSES(got) || got == SU_ROUTE_decap_local)))
		check_leaving(t, &e, got, frame, len, headroom, buf, size, data, out_len, out);
	free(buf);
}
