/* The reference model's routing rules (model.h, fz_expect): a frame's fate as the XDP program
 * decides it, stated from the route counters (softunicast/abi.h), draft-ietf-intarea-gue-09 and
 * issues 12, 13, 16 and 19: what is not ours goes to the kernel, and a managed address's packet
 * never does unless this host owns it; a tunnel is no relay (trusted sources, whole outer
 * datagrams, lengths that agree exactly, managed unicast inner destinations, no source routes);
 * loops are impossible (from a server of this data centre only this host's slices are taken,
 * from another data centre no data centre's); nothing leaves bigger than the MTU. */
#include <string.h>

#include "model.h"

uint32_t fz_gue_hdr_len(const struct su_owner *o, uint32_t hops)
{
	/* GLB (src/lb/hop-list.ts): GUE's first word, GLB's private word, 4 bytes a hop. */
	if (o->encap == SU_ENCAP_GLB)
		return 14 + 20 + 8 + 8 + 4 * hops;
	return 14 + (o->family == SU_FAMILY_IPV4 ? 20 : 40) + 8 +
	       (o->encap == SU_ENCAP_GUE0 ? SU_GUE_V0_HEADER_LEN : 0);
}

/* Whether owner `i` is reached by GLB's hop list (a server: the image check's rule). */
static int glb(const struct fz_table *t, long i)
{
	return i >= 0 && (uint32_t)i < t->h.owner_count && t->owners[i].kind == SU_OWNER_SERVER &&
	       t->owners[i].encap == SU_ENCAP_GLB;
}

/* A source route, with the ones the model cannot call taken as `either`. */
static int routed(uint8_t sr, int either)
{
	return sr == FZ_SR_YES || (sr == FZ_SR_EITHER && either);
}

/* A packet whose headers could not be read to the ports: the kernel's, unless its address is
 * managed (another server may own it; the kernel would answer in its name). */
static enum su_route_counter unreadable(const struct fz_table *t, const struct fz_ip *ip,
					enum fz_read r)
{
	if (r == FZ_READ_UNPARSED || !ip->addrs || !fz_addr_managed(t, ip->family, ip->daddr))
		return SU_ROUTE_pass_unparsed;
	return r == FZ_READ_CHAIN ? SU_ROUTE_drop_ipv6_chain : SU_ROUTE_drop_malformed;
}

/* UDP to the host's GUE port on one of its own addresses (never an ICMP error, never a piece
 * without ports). */
static int gue_for_us(const struct su_host *host, const struct fz_ip *ip)
{
	if (ip->protocol != IPPROTO_UDP || ip->icmp_error || ip->fragment == FZ_FRAG_LATER ||
	    !host->gue_port || ip->dport != host->gue_port)
		return 0;
	if (ip->family == SU_FAMILY_IPV4)
		return (host->flags & SU_HOST_HAS_IPV4) && memcmp(ip->daddr, host->ipv4, 4) == 0;
	return (host->flags & SU_HOST_HAS_IPV6) && memcmp(ip->daddr, host->ipv6, 16) == 0;
}

/* Addresses no slice has and a tunnel must not carry: unspecified, loopback, link-local and
 * multicast (and IPv4's class E and broadcast above 224/4): tunnel control traffic, such as the
 * router solicitation a Linux peer sends into its own GUE tunnel (issue 19). */
static int not_unicast(uint8_t family, const uint8_t *a)
{
	static const uint8_t zero[16], one[16] = { [15] = 1 };

	if (family == SU_FAMILY_IPV4)
		return a[0] >= 224 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
		       memcmp(a, zero, 4) == 0;
	return a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
	       memcmp(a, zero, 16) == 0 || memcmp(a, one, 16) == 0;
}

/* The outer UDP checksum (RFC 768, RFC 8200 8.1) over what it covers: pseudo-header and the
 * UDP datagram, `udp_len` bytes. */
static int udp_sum_ok(const uint8_t *frame, const struct fz_ip *o, uint32_t udp_len)
{
	uint32_t n = o->family == SU_FAMILY_IPV4 ? 4 : 16;
	uint32_t sum = fz_sum16(fz_sum16(0, o->saddr, n), o->daddr, n);

	sum += IPPROTO_UDP + (udp_len & 0xffff) + (udp_len >> 16);
	return fz_sum_ok(fz_sum16(sum, frame + o->l4, udp_len));
}

/* The GUE header at `*at` (draft sections 3 and 4), before `end`: the inner family, with *at
 * moved past the header; 0 and the fate when it is not one we take. */
static uint8_t gue_header(const uint8_t *frame, uint32_t *at, uint32_t end,
			  enum su_route_counter *fate)
{
	const uint8_t *g = frame + *at;
	uint32_t hlen;
	uint8_t family;

	switch (g[0] >> 6) {
	case 0:
		if (end - *at < 4) {
			*fate = SU_ROUTE_drop_malformed;
			return 0;
		}
		hlen = 4 + 4 * (uint32_t)(g[0] & 0x1f);
		/* A control message: a trusted peer's health probe (ctype 128, no flags, its
		 * header inside the datagram) is answered, any other dropped. */
		if (g[0] & 0x20) {
			*fate = g[1] != 128 ? SU_ROUTE_drop_gue_control :
				(g[2] | g[3]) ? SU_ROUTE_drop_gue_flags :
				hlen > end - *at ? SU_ROUTE_drop_malformed : SU_ROUTE_reply_probe;
			return 0;
		}
		/* Flags we do not implement are dropped (5.4); optional fields that no flag asks
		 * for are skipped, not read (3.4). */
		*fate = (g[2] | g[3]) ? SU_ROUTE_drop_gue_flags : SU_ROUTE_drop_malformed;
		if ((g[0] & 0x20) || (g[2] | g[3]) || end - *at <= hlen)
			return 0;
		family = g[1] == 4 ? SU_FAMILY_IPV4 : g[1] == 41 ? SU_FAMILY_IPV6 : 0;
		*at += hlen;
		break;
	case 1:
		/* No header: the variant bits are the top of the IP version. */
		family = g[0] >> 4;
		break;
	default:
		*fate = SU_ROUTE_drop_gue_variant;
		return 0;
	}
	*fate = SU_ROUTE_drop_gue_proto;
	return (family == SU_FAMILY_IPV4 || family == SU_FAMILY_IPV6) && frame[*at] >> 4 == family ?
		       family :
		       0;
}

/* GUE for this host, checked as strictly as anything from the wire, then unwrapped into
 * e->inner. SU_ROUTE_COUNTER_COUNT when it is taken, else its fate. */
static enum su_route_counter unwrap(const struct fz_table *t, const uint8_t *frame, uint32_t len,
				    int either, struct fz_expect *e)
{
	const struct fz_ip *o = &e->outer;
	uint32_t udp_len = fz_get16(frame + o->l4 + 4), at = o->l4 + 8, end = o->l4 + udp_len;
	enum su_route_counter fate;
	enum fz_read r;
	uint8_t family;

	if (!fz_trusted(t, o->family, o->saddr))
		return SU_ROUTE_drop_untrusted_gue;
	if (o->fragment != FZ_FRAG_NONE)
		return SU_ROUTE_drop_fragment; /* never reassembled here */
	if (routed(o->sr, either))
		return SU_ROUTE_drop_source_routed;
	/* The inner packet ends where the outer UDP length says, which is the IP payload's. */
	if (udp_len != o->l4_len || udp_len <= 8)
		return SU_ROUTE_drop_gue_length;
	if (o->family == SU_FAMILY_IPV4 && !fz_sum_ok(fz_sum16(0, frame + o->l3, o->l4 - o->l3)))
		return SU_ROUTE_drop_malformed;
	/* Zero: no checksum, which trusted peers may send over IPv4 and IPv6 alike (RFC 6936). */
	if (fz_get16(frame + o->l4 + 6) != 0 && !udp_sum_ok(frame, o, udp_len))
		return SU_ROUTE_drop_malformed;
	family = gue_header(frame, &at, end, &fate);
	if (!family)
		return fate;
	/* The length the inner header states must be what the UDP datagram leaves, before anything
	 * else of it is read (an unreadable stated length counts as 0: a mismatch too). */
	{
		uint32_t stated = at + 6 > len ? 0 :
				  family == SU_FAMILY_IPV4 ? fz_get16(frame + at + 2) :
							     40 + fz_get16(frame + at + 4);

		if (stated != end - at)
			return SU_ROUTE_drop_gue_length;
	}
	r = fz_read_ip(frame, at, end - at, family, &e->inner);
	/* Tunnel control traffic is counted as what it is as soon as its addresses say so: the
	 * router solicitation a Linux peer sends (issue 19) is ICMPv6 that no reader takes. */
	if (e->inner.addrs &&
	    (not_unicast(family, e->inner.saddr) || not_unicast(family, e->inner.daddr)))
		return SU_ROUTE_drop_tunnel_control;
	/* Inside a tunnel nothing is the kernel's: what cannot be read is malformed. */
	if (r != FZ_READ_OK)
		return SU_ROUTE_drop_malformed;
	if (at + e->inner.ip_len != end)
		return SU_ROUTE_drop_gue_length;
	if (routed(e->inner.sr, either))
		return SU_ROUTE_drop_source_routed;
	return SU_ROUTE_COUNTER_COUNT;
}

/* How an owner is reached from where the packet came from, whatever the packet; an owner this
 * host cannot send to is dropped before size matters. */
static enum su_route_counter owner_fate(const struct su_host *host, const struct su_owner *o,
					uint8_t from)
{
	if (o->kind == SU_OWNER_LOCAL)
		return SU_ROUTE_pass_local;
	if (from == SU_FROM_SERVER)
		return SU_ROUTE_drop_loop_server; /* sent on once already, inside this data centre */
	if (from == SU_FROM_DC && o->kind == SU_OWNER_DATACENTER)
		return SU_ROUTE_drop_loop; /* never from one data centre to a third */
	if (!(o->flags & SU_OWNER_NEXT_HOP_KNOWN))
		return SU_ROUTE_drop_no_neighbour;
	if (o->encap == SU_ENCAP_L2)
		return SU_ROUTE_forward_server_l2;
	if (!(host->flags & (o->family == SU_FAMILY_IPV4 ? SU_HOST_HAS_IPV4 : SU_HOST_HAS_IPV6)))
		return SU_ROUTE_drop_no_source;
	return o->kind == SU_OWNER_SERVER ? SU_ROUTE_forward_server_gue :
					    SU_ROUTE_encap_datacenter;
}

static struct fz_frag *memory_find(const struct fz_frags *m, const struct fz_ip *p)
{
	uint32_t size = p->family == SU_FAMILY_IPV4 ? 4 : 16;

	for (unsigned i = 0; m && i < m->count; i++) {
		const struct fz_frag *r = &m->e[i];

		if (r->family == p->family && r->protocol == p->protocol && r->id == p->frag_id &&
		    memcmp(r->saddr, p->saddr, size) == 0 && memcmp(r->daddr, p->daddr, size) == 0)
			return (struct fz_frag *)r;
	}
	return NULL;
}

/* What one key kind says of a packet: its owner (-1: none) and, when it found one by a row, the
 * row's secondary (-1: none). */
struct kind_answer {
	long owner, secondary;
};

/* Kind `kind`'s answer for `p`; whether it manages the destination (and port) or'd into
 * `*managed`, a source filter's refusal into `*filtered`. */
static struct kind_answer ask_kind(const struct fz_table *t, uint32_t kind, const struct fz_ip *p,
				   int *managed, int *filtered)
{
	struct kind_answer a = { -1, -1 };

	switch (kind) {
	case SU_KEY_KIND_PORT_SLICE:
		a.owner = fz_lookup_naive(t, p->family, p->daddr, p->protocol, p->dport);
		*managed |= fz_port_managed(t, p->family, p->daddr, p->protocol, p->dport);
		break;
	case SU_KEY_KIND_FLOW_HASH:
		a.owner = fz_flow_owner(t, p, managed, &a.secondary);
		break;
	case SU_KEY_KIND_ADDRESS_SLICE:
		a.owner = fz_addr_owner(t, p, managed, filtered, &a.secondary);
		break;
	default:
		fz_fail("an accepted image lists key kind %u", kind);
	}
	return a;
}

/* The owner of the packet (by its ports, a later piece by its first), or -1 and the fate. */
static long owner_of(const struct fz_table *t, const struct fz_frags *mem, struct fz_expect *e,
		     enum su_route_counter *miss)
{
	const struct fz_ip *p = fz_pkt(e);
	struct kind_answer found = { -1, -1 };
	int managed = 0, filtered = 0;

	if (p->fragment == FZ_FRAG_LATER) {
		e->later = 1;
		e->frag = memory_find(mem, p);
		/* Unplaced: passing it would fill the kernel's reassembly memory with orphans. */
		*miss = e->decap || fz_addr_managed(t, p->family, p->daddr) ?
				SU_ROUTE_drop_fragment :
				SU_ROUTE_pass_unmanaged;
		return e->frag ? e->frag->owner : -1;
	}
	/* The kinds in the image's order: the first that finds an owner decides. Every kind is
	 * asked (what the later ones manage matters only when none finds an owner). */
	for (uint32_t i = 0; i < t->kind_count; i++) {
		struct kind_answer a = ask_kind(t, t->kinds[i], p, &managed, &filtered);

		if (found.owner < 0)
			found = a;
	}
	/* A 'glb' primary's packets name the row's secondary (a flow-hash row's second chance,
	 * issue 15; an address slice's old owner in a move window, issue 16), if it is another
	 * 'glb' owner: never the primary itself. */
	if (found.secondary != found.owner && glb(t, found.owner) && glb(t, found.secondary)) {
		e->hops = 1;
		memcpy(e->hop, t->owners[found.secondary].endpoint, 4);
	}
	/* An unwrapped packet is for a slice we manage or nobody's: no open relay. A source
	 * filter's refusal is counted as what it is. */
	*miss = filtered ? SU_ROUTE_drop_ssa_source :
		managed  ? SU_ROUTE_drop_no_owner :
		e->decap ? SU_ROUTE_drop_gue_not_managed :
			   SU_ROUTE_pass_unmanaged;
	e->save = found.owner >= 0 && p->fragment == FZ_FRAG_FIRST;
	return found.owner;
}

static enum su_route_counter decide(const struct fz_table *t, const struct fz_frags *mem,
				    const uint8_t *frame, uint32_t len, uint32_t headroom,
				    int either, struct fz_expect *e)
{
	const struct su_host *host = &t->h.host;
	const struct su_owner *o;
	enum su_route_counter fate;
	enum fz_read r = fz_read_frame(frame, len, &e->outer);
	const struct fz_ip *p;

	if (r != FZ_READ_OK)
		return unreadable(t, &e->outer, r);
	if (gue_for_us(host, &e->outer)) {
		fate = unwrap(t, frame, len, either, e);
		if (fate != SU_ROUTE_COUNTER_COUNT)
			return fate;
		e->decap = 1;
		e->from = fz_peer(t, e->outer.family, e->outer.saddr) ? SU_FROM_SERVER : SU_FROM_DC;
	} else {
		e->from = fz_mac_peer(t, frame + 6) ? SU_FROM_SERVER : SU_FROM_WIRE;
	}
	e->owner = owner_of(t, mem, e, &fate);
	if (e->owner < 0)
		return fate;
	p = fz_pkt(e);
	o = &t->owners[e->owner];
	fate = owner_fate(host, o, e->from);
	if (fate == SU_ROUTE_pass_local) {
		/* The kernel would send a source-routed packet on, with the source it carries. */
		if (routed(p->sr, either))
			return SU_ROUTE_drop_source_routed;
		return e->decap ? SU_ROUTE_decap_local : SU_ROUTE_pass_local;
	}
	if (!SU_ROUTE_TRANSMITS(fate))
		return fate;
	/* Never fragment: the outer IP packet fits the MTU. A sender doing path MTU discovery
	 * (IPv6, IPv4 with DF) is answered with what fits (RFC 1191, RFC 4443), unless it is an ICMP
	 * error itself, a later piece, or came from a server of this data centre. */
	{
		uint32_t over = fate == SU_ROUTE_forward_server_l2 ? 14u : fz_gue_hdr_len(o, e->hops);

		/* What fits after the headers: none when the headers alone exceed the MTU. */
		e->mtu = host->mtu + 14u > over ? host->mtu + 14u - over : 0;
	}
	if (p->ip_len > e->mtu)
		return e->from != SU_FROM_SERVER && !p->icmp_error && p->fragment != FZ_FRAG_LATER &&
				       (p->family == SU_FAMILY_IPV6 || p->df) ?
			       SU_ROUTE_reply_too_big :
			       SU_ROUTE_drop_too_big;
	/* The headers must fit in front of the datagram, over what preceded it and the headroom. */
	if (fate != SU_ROUTE_forward_server_l2 && p->l3 + headroom < fz_gue_hdr_len(o, e->hops))
		return SU_ROUTE_drop_too_big;
	return fate;
}

void fz_expect(const struct fz_table *t, const struct fz_frags *mem, const uint8_t *frame,
	       uint32_t len, uint32_t headroom, int either, struct fz_expect *e)
{
	memset(e, 0, sizeof(*e));
	e->owner = -1;
	e->fate = decide(t, mem, frame, len, headroom, either, e);
}

int fz_expect_either(const struct fz_expect *e)
{
	return e->outer.sr == FZ_SR_EITHER || e->inner.sr == FZ_SR_EITHER;
}
