/* See oracle.h. The model follows the rules the counters document (softunicast/abi.h) and the
 * header layouts of RFC 791, RFC 8200, RFC 768 and draft-ietf-intarea-gue-09; it never reads the
 * view's private index or forwarding records, so that an optimisation of those (view.h) that
 * changes an answer disagrees with it. */
#include "oracle.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gue.h"
#include "parse.h"

static const char *const fate_names[] = {
#define SU_X(name, doc) #name,
	SU_ROUTE_COUNTERS(SU_X)
#undef SU_X
};

static const char *fate_name(unsigned fate)
{
	return fate < SU_ROUTE_COUNTER_COUNT ? fate_names[fate] : "(not a fate)";
}

void fz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("oracle: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* ---- The table, scanned ---------------------------------------------------------------- */

static void *section(const uint8_t **p, size_t n)
{
	void *copy = malloc(n ? n : 1);

	if (!copy)
		abort();
	memcpy(copy, *p, n);
	*p += n;
	return copy;
}

void fz_table_load(struct fz_table *t, const void *image, size_t size)
{
	const uint8_t *p = image;

	if (size < sizeof(t->h))
		fz_fail("an accepted image of %zu bytes has no header", size);
	memcpy(&t->h, p, sizeof(t->h));
	p += sizeof(t->h);
	if (sizeof(t->h) + (uint64_t)t->h.trusted_count * sizeof(*t->trusted) +
		    (uint64_t)t->h.owner_count * sizeof(*t->owners) +
		    (uint64_t)t->h.key_count * sizeof(*t->keys) +
		    (uint64_t)t->h.range_count * sizeof(*t->ranges) != size)
		fz_fail("an accepted image of %zu bytes disagrees with its counts", size);
	t->trusted = section(&p, t->h.trusted_count * sizeof(*t->trusted));
	t->owners = section(&p, t->h.owner_count * sizeof(*t->owners));
	t->keys = section(&p, t->h.key_count * sizeof(*t->keys));
	t->ranges = section(&p, t->h.range_count * sizeof(*t->ranges));
}

void fz_table_free(struct fz_table *t)
{
	free(t->trusted);
	free(t->owners);
	free(t->keys);
	free(t->ranges);
}

/* Bit by bit: nothing shared with the lookup's word masks. */
static int prefix_holds(const uint8_t *prefix, unsigned len, const uint8_t *addr)
{
	for (unsigned bit = 0; bit < len; bit++)
		if ((prefix[bit / 8] ^ addr[bit / 8]) & (0x80 >> (bit % 8)))
			return 0;
	return 1;
}

long fz_lookup_naive(const struct fz_table *t, uint8_t family, const uint8_t *addr,
		     uint8_t protocol, uint16_t port)
{
	long best = -1;
	int best_len = -1;

	for (uint32_t i = 0; i < t->h.key_count; i++) {
		const struct su_slice_key *k = &t->keys[i];

		if (k->family != family || k->protocol != protocol || k->prefix_len <= best_len ||
		    !prefix_holds(k->addr, k->prefix_len, addr))
			continue;
		for (uint32_t r = k->range_first; r < k->range_first + k->range_count; r++) {
			if (t->ranges[r].first <= port && port <= t->ranges[r].last) {
				best = t->ranges[r].owner;
				best_len = k->prefix_len;
				break;
			}
		}
	}
	return best;
}

static const char *addr_text(char *buf, uint8_t family, const uint8_t *addr)
{
	if (family != SU_FAMILY_IPV4 && family != SU_FAMILY_IPV6)
		return "(no address)";
	return inet_ntop(family == SU_FAMILY_IPV4 ? AF_INET : AF_INET6, addr, buf,
			 INET6_ADDRSTRLEN);
}

long fz_lookup(const struct su_view *view, const struct fz_table *t, uint8_t family,
	       const uint8_t *addr, uint8_t protocol, uint16_t port)
{
	const struct su_owner *got = su_view_lookup(view, family, addr, protocol, port);
	long want = fz_lookup_naive(t, family, addr, protocol, port);
	char text[INET6_ADDRSTRLEN];

	/* The view hands out its own copy of the owner: the same bytes as the image's. */
	if (want < 0 ? got != NULL : !got || memcmp(got, &t->owners[want], sizeof(*got)) != 0)
		fz_fail("lookup of protocol %u %s port %u: the view found %s, a scan of the image "
			"owner %ld",
			protocol, addr_text(text, family, addr), port, got ? "an owner" : "none",
			want);
	return want;
}

/* ---- Packets, checked ------------------------------------------------------------------ */

static uint32_t get16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

/* RFC 1071, big-endian words one at a time: nothing shared with checksum.h. */
static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += get16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static int sum_is_ok(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* Whether every field of two parses is the same (the fast parsers' promise, parse.h). */
static int same_parse(const struct su_ip *a, const struct su_ip *b)
{
	return a->ip == b->ip && a->ip_len == b->ip_len && a->saddr == b->saddr &&
	       a->daddr == b->daddr && a->l4 == b->l4 && a->l4_len == b->l4_len &&
	       a->sport == b->sport && a->dport == b->dport && a->family == b->family &&
	       a->protocol == b->protocol && a->icmp_error == b->icmp_error &&
	       a->fragment == b->fragment && a->frag_id == b->frag_id;
}

static struct fz_frag *frag_find(struct fz_frags *m, const struct su_ip *p)
{
	uint32_t size = p->family == SU_FAMILY_IPV4 ? 4 : 16;

	for (unsigned i = 0; i < m->count; i++) {
		struct fz_frag *e = &m->e[i];

		if (e->family == p->family && e->protocol == p->protocol && e->id == p->frag_id &&
		    memcmp(e->saddr, p->saddr, size) == 0 && memcmp(e->daddr, p->daddr, size) == 0)
			return e;
	}
	return NULL;
}

/* The latest first piece of a datagram wins, as in the core's table. */
static struct fz_frag *frag_put(struct fz_frags *m, const struct su_ip *p, long owner)
{
	uint32_t size = p->family == SU_FAMILY_IPV4 ? 4 : 16;
	struct fz_frag *e = frag_find(m, p);

	if (!e) {
		if (m->count == FZ_FRAGS_MAX)
			fz_fail("more than %u fragmented datagrams in one run", FZ_FRAGS_MAX);
		e = &m->e[m->count++];
		memset(e, 0, sizeof(*e));
		e->family = p->family;
		e->protocol = p->protocol;
		e->id = p->frag_id;
		memcpy(e->saddr, p->saddr, size);
		memcpy(e->daddr, p->daddr, size);
	}
	e->owner = owner;
	e->sport = -1;
	return e;
}

/* How an owner is reached whatever the packet: the order of the checks is the counters' own
 * precedence (an owner this host cannot send to is dropped before size matters). */
static enum su_route_counter owner_fate(const struct su_host *host, const struct su_owner *o,
					int decapsulated)
{
	if (o->kind == SU_OWNER_LOCAL)
		return SU_ROUTE_drop_local;
	if (decapsulated && o->kind == SU_OWNER_DATACENTER)
		return SU_ROUTE_drop_loop;
	if (!(o->flags & SU_OWNER_NEXT_HOP_KNOWN))
		return SU_ROUTE_drop_no_neighbour;
	if (o->encap == SU_ENCAP_L2)
		return SU_ROUTE_forward_server_l2;
	if (!(host->flags & (o->family == SU_FAMILY_IPV4 ? SU_HOST_HAS_IPV4 : SU_HOST_HAS_IPV6)))
		return SU_ROUTE_drop_no_source;
	return o->kind == SU_OWNER_SERVER ? SU_ROUTE_forward_server_gue :
					    SU_ROUTE_encap_datacenter;
}

/* Outer Ethernet, IP, UDP and (variant 0) GUE header. */
static uint32_t gue_hdr_len(const struct su_owner *o)
{
	return SU_ETH_HLEN + (o->family == SU_FAMILY_IPV4 ? 20 : 40) + 8 +
	       (o->encap == SU_ENCAP_GUE0 ? 4 : 0);
}

/* What the model decided, for checking the output. */
struct expectation {
	struct su_ip pkt;   /* the datagram steered: the received one, or the one unwrapped */
	int decapsulated;
	int later;          /* pkt is a later fragment */
	long owner;
	struct fz_frag *frag; /* the model's record of pkt's datagram, if fragmented and kept */
};

static enum su_route_counter expect(const struct su_view *view, const struct fz_table *t,
				    struct su_frag_table *frags, struct fz_frags *model,
				    const uint8_t *frame, uint32_t len, uint32_t headroom,
				    struct expectation *e)
{
	const struct su_host *host = su_view_host(view);
	enum su_route_counter fate;
	struct su_ip outer, fast;
	const struct su_owner *o;
	uint32_t l2_len, l2_fast, hdr_len;

	memset(e, 0, sizeof(*e));
	e->owner = -1;
	fate = su_parse_frame_full(frame, len, &l2_len, &outer);
	/* The inline parsers take the common frames; for those they must say what the full one
	 * says, field by field (parse.h). */
	if (su_parse_ipv4_fast(frame, len, &fast) || su_parse_ipv6_fast(frame, len, &fast)) {
		if (fate != SU_PARSE_OK || l2_len != SU_ETH_HLEN || !same_parse(&fast, &outer))
			fz_fail("a fast parser took a frame the full parser %s",
				fate != SU_PARSE_OK ? "refuses" : "reads otherwise");
	}
	/* su_parse_frame is the two together: the same answer again. */
	if (su_parse_frame(frame, len, &l2_fast, &fast) != fate ||
	    (fate == SU_PARSE_OK && (l2_fast != l2_len || !same_parse(&fast, &outer))))
		fz_fail("su_parse_frame and su_parse_frame_full disagree");
	if (fate != SU_PARSE_OK)
		return fate;
	e->pkt = outer;
	if (su_gue_for_us(host, &outer)) {
		if (outer.fragment != SU_FRAGMENT_NONE)
			return SU_ROUTE_drop_fragment;
		fate = su_gue_decap(view, &outer, &e->pkt);
		if (fate != SU_PARSE_OK)
			return fate;
		e->decapsulated = 1;
	}
	if (e->pkt.fragment == SU_FRAGMENT_LATER) {
		e->later = 1;
		e->frag = frags ? frag_find(model, &e->pkt) : NULL;
		if (!e->frag)
			return SU_ROUTE_drop_fragment;
		e->owner = e->frag->owner;
	} else {
		e->owner = fz_lookup(view, t, e->pkt.family, e->pkt.daddr, e->pkt.protocol,
				     e->pkt.dport);
		if (e->owner < 0)
			return SU_ROUTE_drop_no_owner;
		if (frags && e->pkt.fragment == SU_FRAGMENT_FIRST)
			e->frag = frag_put(model, &e->pkt, e->owner);
	}
	o = &t->owners[e->owner];
	fate = owner_fate(host, o, e->decapsulated);
	if (!SU_ROUTE_TRANSMITS(fate))
		return fate;
	/* Never fragment: the IP packet that leaves, outer headers and all, fits the MTU. */
	if (fate == SU_ROUTE_forward_server_l2)
		return e->pkt.ip_len > host->mtu ? SU_ROUTE_drop_too_big : fate;
	hdr_len = gue_hdr_len(o);
	if (e->pkt.ip_len + hdr_len > host->mtu + (uint32_t)SU_ETH_HLEN)
		return SU_ROUTE_drop_too_big;
	/* The outer headers go in front of the datagram, over what preceded it and the headroom. */
	if ((uint32_t)(e->pkt.ip - frame) + headroom < hdr_len)
		return SU_ROUTE_drop_too_big;
	return fate;
}

/* `out` (`out_len` bytes) is what was sent for `e` of `frame`: the model's packet exactly. */
static void check_output(const struct su_host *host, const struct fz_table *t,
			 const struct expectation *e, enum su_route_counter fate,
			 const uint8_t *frame, uint32_t len, uint32_t headroom, uint32_t out_off,
			 const uint8_t *out, uint32_t out_len)
{
	const struct su_owner *o = &t->owners[e->owner];
	uint32_t ip_off = (uint32_t)(e->pkt.ip - frame), ip_len = e->pkt.ip_len, hdr_len;
	const uint8_t *ip, *udp;
	uint32_t iphl, sport;

	if (memcmp(out + 6, host->mac, 6) != 0)
		fz_fail("%s: Ethernet source is not the host's MAC", fate_name(fate));
	if (memcmp(out, o->next_hop_mac, 6) != 0)
		fz_fail("%s: Ethernet destination is not owner %ld's next hop", fate_name(fate),
			e->owner);
	if (fate == SU_ROUTE_forward_server_l2 && !e->decapsulated) {
		/* Only the addresses change: tags, payload and padding stay as received. */
		if (out_off != headroom || out_len != len || memcmp(out + 12, frame + 12, len - 12))
			fz_fail("L2 rewrite changed more than the MAC addresses (at %u, %u bytes of %u)",
				out_off, out_len, len);
		return;
	}
	hdr_len = fate == SU_ROUTE_forward_server_l2 ? SU_ETH_HLEN : gue_hdr_len(o);
	if (out_off != headroom + ip_off - hdr_len || out_len != hdr_len + ip_len)
		fz_fail("%s: %u bytes at %u, the model %u at %u", fate_name(fate), out_len, out_off,
			hdr_len + ip_len, headroom + ip_off - hdr_len);
	/* The datagram itself is never touched, nor moved. */
	if (memcmp(out + hdr_len, frame + ip_off, ip_len) != 0)
		fz_fail("%s: the inner datagram changed", fate_name(fate));
	if (fate == SU_ROUTE_forward_server_l2) {
		if (get16(out + 12) != (e->pkt.family == SU_FAMILY_IPV4 ? 0x0800u : 0x86ddu))
			fz_fail("L2 after decapsulation: EtherType 0x%04x", get16(out + 12));
		return;
	}

	ip = out + SU_ETH_HLEN;
	if (o->family == SU_FAMILY_IPV4) {
		iphl = 20;
		if (get16(out + 12) != 0x0800 || ip[0] != 0x45 || ip[1] != 0 ||
		    get16(ip + 2) != out_len - SU_ETH_HLEN || get16(ip + 4) != 0 ||
		    get16(ip + 6) != 0x4000 || ip[8] != SU_GUE_OUTER_TTL || ip[9] != IPPROTO_UDP ||
		    memcmp(ip + 12, host->ipv4, 4) != 0 || memcmp(ip + 16, o->endpoint, 4) != 0)
			fz_fail("%s: outer IPv4 header is not the model's", fate_name(fate));
		if (!sum_is_ok(sum16(0, ip, iphl)))
			fz_fail("%s: outer IPv4 header checksum is wrong", fate_name(fate));
	} else {
		iphl = 40;
		if (get16(out + 12) != 0x86dd || get16(ip) != 0x6000 || get16(ip + 2) != 0 ||
		    get16(ip + 4) != out_len - SU_ETH_HLEN - iphl || ip[6] != IPPROTO_UDP ||
		    ip[7] != SU_GUE_OUTER_TTL || memcmp(ip + 8, host->ipv6, 16) != 0 ||
		    memcmp(ip + 24, o->endpoint, 16) != 0)
			fz_fail("%s: outer IPv6 header is not the model's", fate_name(fate));
	}
	udp = ip + iphl;
	sport = get16(udp);
	if (sport < SU_GUE_SOURCE_PORT_MIN || get16(udp + 2) != o->gue_port ||
	    get16(udp + 4) != out_len - SU_ETH_HLEN - iphl)
		fz_fail("%s: outer UDP header is not the model's (ports %u > %u, length %u)",
			fate_name(fate), sport, get16(udp + 2), get16(udp + 4));
	if (o->family == SU_FAMILY_IPV4) {
		/* Zero: no checksum, allowed over IPv4 (draft 5.8). */
		if (get16(udp + 6) != 0)
			fz_fail("%s: UDP checksum over IPv4 is not zero", fate_name(fate));
	} else {
		/* Mandatory over IPv6 (RFC 8200 8.1): pseudo-header, then the whole datagram. */
		uint32_t udp_len = out_len - SU_ETH_HLEN - iphl;
		uint8_t tail[8] = { (uint8_t)(udp_len >> 24), (uint8_t)(udp_len >> 16),
				    (uint8_t)(udp_len >> 8), (uint8_t)udp_len, 0, 0, 0, IPPROTO_UDP };
		uint32_t sum = sum16(sum16(0, ip + 8, 32), tail, sizeof(tail));

		if (get16(udp + 6) == 0 || !sum_is_ok(sum16(sum, udp, udp_len)))
			fz_fail("%s: UDP checksum over IPv6 is wrong", fate_name(fate));
	}
	if (o->encap == SU_ENCAP_GUE0 &&
	    (udp[8] != 0 || udp[10] != 0 || udp[11] != 0 ||
	     udp[9] != (e->pkt.family == SU_FAMILY_IPV4 ? SU_GUE_PROTO_IPV4 : SU_GUE_PROTO_IPV6)))
		fz_fail("%s: GUE variant 0 header %02x %02x %02x %02x", fate_name(fate), udp[8],
			udp[9], udp[10], udp[11]);
	/* All pieces of a datagram take one outer source port (one ECMP path): ports stay out
	 * of the flow hash for every fragment. */
	if (e->frag) {
		if (e->frag->sport >= 0 && (uint32_t)e->frag->sport != sport)
			fz_fail("%s: a fragment's source port %u differs from its first's %d",
				fate_name(fate), sport, e->frag->sport);
		e->frag->sport = (int32_t)sport;
	}
}

void fz_result_free(struct fz_result *r)
{
	free(r->bytes);
	r->bytes = NULL;
}

/* SU_FUZZ_TRACE=1 prints every frame's fate: for reading what a reproducer does. */
static int trace(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("SU_FUZZ_TRACE") && *getenv("SU_FUZZ_TRACE") == '1';
	return on;
}

void fz_route(const struct su_view *view, const struct fz_table *t, struct su_frag_table *frags,
	      struct fz_frags *model, const uint8_t *frame, uint32_t len, uint32_t headroom,
	      struct fz_result *out)
{
	size_t size = (size_t)headroom + len;
	struct expectation e;
	enum su_route_counter want, got;
	uint32_t out_len = len;
	uint8_t *buf, *data;

	/* Exactly the frame and its headroom: any access past either end is ASan's to report. */
	buf = malloc(size);
	if (!buf && size)
		abort();
	memcpy(buf + headroom, frame, len);
	data = buf + headroom;

	want = expect(view, t, frags, model, frame, len, headroom, &e);
	got = frags ? su_core_route_frags(view, frags, &data, &out_len, headroom) :
		      su_core_route(view, &data, &out_len, headroom);
	/* The core's fragment table is small and forgets (two slots per key); the model does not. */
	if (got != want && !(e.later && got == SU_ROUTE_drop_fragment))
		fz_fail("fate %s (%u), the model says %s (%u)", fate_name(got), got, fate_name(want),
			want);

	if (trace())
		fprintf(stderr, "fz_route: %u-byte frame, headroom %u%s: %s (model: %s)\n", len,
			headroom, frags ? ", fragment table" : "", fate_name(got), fate_name(want));
	memset(out, 0, sizeof(*out));
	out->fate = got;
	if (SU_ROUTE_TRANSMITS(got)) {
		/* Inside the buffer before anything is read from it, and of a sane length. */
		if (data < buf || data > buf + size || out_len > (size_t)(buf + size - data) ||
		    out_len < SU_ETH_HLEN + 20)
			fz_fail("%s: %u bytes at offset %td of a %zu-byte buffer", fate_name(got),
				out_len, data - buf, size);
		out->off = (uint32_t)(data - buf);
		out->len = out_len;
		check_output(su_view_host(view), t, &e, got, frame, len, headroom, out->off, data,
			     out_len);
		out->bytes = malloc(out_len);
		if (!out->bytes)
			abort();
		memcpy(out->bytes, data, out_len);
	}
	free(buf);
}

/* ---- Table images, validated ----------------------------------------------------------- */

static int bad(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return 0;
}

/* A prefix's family, length and host bits; an IPv4 address's bytes 4-15 count as host bits. */
static int prefix_valid(uint8_t family, uint8_t prefix_len, const uint8_t *addr)
{
	unsigned bits = family == SU_FAMILY_IPV4 ? 32 : family == SU_FAMILY_IPV6 ? 128 : 0;

	if (!bits || prefix_len > bits)
		return 0;
	for (unsigned bit = prefix_len; bit < 128; bit++)
		if (addr[bit / 8] & (0x80 >> (bit % 8)))
			return 0;
	return 1;
}

int fz_image_valid(const void *image, size_t size, char *why, size_t why_size)
{
	struct fz_table t;
	uint64_t want;
	int ok = 1;

	if (size < sizeof(t.h))
		return bad(why, why_size, "shorter than the header");
	memcpy(&t.h, image, sizeof(t.h));
	if (t.h.magic != SU_TABLE_MAGIC || t.h.abi_version != SU_ABI_VERSION)
		return bad(why, why_size, "magic or ABI version");
	if (t.h.trusted_count > SU_TRUSTED_PEERS_MAX)
		return bad(why, why_size, "too many trusted prefixes");
	want = sizeof(t.h) + (uint64_t)t.h.trusted_count * sizeof(struct su_prefix) +
	       (uint64_t)t.h.owner_count * sizeof(struct su_owner) +
	       (uint64_t)t.h.key_count * sizeof(struct su_slice_key) +
	       (uint64_t)t.h.range_count * sizeof(struct su_port_range);
	if (want != size)
		return bad(why, why_size, "size disagrees with the counts");
	if (t.h.host.flags & ~(SU_HOST_HAS_IPV4 | SU_HOST_HAS_IPV6))
		return bad(why, why_size, "unknown host flags");
	fz_table_load(&t, image, size);

	for (uint32_t i = 0; ok && i < t.h.trusted_count; i++)
		if (!prefix_valid(t.trusted[i].family, t.trusted[i].prefix_len, t.trusted[i].addr))
			ok = bad(why, why_size, "trusted prefix %u", i);
	for (uint32_t i = 0; ok && i < t.h.owner_count; i++) {
		const struct su_owner *o = &t.owners[i];

		if (o->kind < SU_OWNER_LOCAL || o->kind > SU_OWNER_DATACENTER ||
		    (o->flags & ~SU_OWNER_NEXT_HOP_KNOWN))
			ok = bad(why, why_size, "owner %u: kind or flags", i);
		else if (o->kind == SU_OWNER_LOCAL)
			continue; /* its encapsulation is never used */
		else if (o->encap == SU_ENCAP_L2)
			ok = o->kind == SU_OWNER_SERVER && (o->flags & SU_OWNER_NEXT_HOP_KNOWN) ?
				     1 :
				     bad(why, why_size, "owner %u: L2 needs a server with a MAC", i);
		else if (o->encap != SU_ENCAP_GUE0 && o->encap != SU_ENCAP_GUE1)
			ok = bad(why, why_size, "owner %u: encapsulation", i);
		else if ((o->family != SU_FAMILY_IPV4 && o->family != SU_FAMILY_IPV6) ||
			 o->gue_port == 0)
			ok = bad(why, why_size, "owner %u: GUE endpoint family or port", i);
	}
	for (uint32_t i = 0; ok && i < t.h.key_count; i++) {
		const struct su_slice_key *k = &t.keys[i];

		if (!prefix_valid(k->family, k->prefix_len, k->addr) ||
		    (k->protocol != IPPROTO_TCP && k->protocol != IPPROTO_UDP)) {
			ok = bad(why, why_size, "key %u: prefix or protocol", i);
			break;
		}
		if (k->range_count == 0 ||
		    (uint64_t)k->range_first + k->range_count > t.h.range_count) {
			ok = bad(why, why_size, "key %u: no ranges, or outside the section", i);
			break;
		}
		for (uint32_t r = k->range_first; ok && r < k->range_first + k->range_count; r++) {
			const struct su_port_range *x = &t.ranges[r];

			if (x->first > x->last || x->owner >= t.h.owner_count ||
			    (r > k->range_first && x->first <= t.ranges[r - 1].last))
				ok = bad(why, why_size, "key %u: range %u", i, r - k->range_first);
		}
		for (uint32_t j = 0; ok && j < i; j++)
			if (t.keys[j].family == k->family && t.keys[j].prefix_len == k->prefix_len &&
			    t.keys[j].protocol == k->protocol &&
			    memcmp(t.keys[j].addr, k->addr, 16) == 0)
				ok = bad(why, why_size, "key %u repeats key %u", i, j);
	}
	fz_table_free(&t);
	return ok;
}
