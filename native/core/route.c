/* su_core_route: one packet's fate, and its rewrite when it is forwarded (softunicast/core.h).
 * Runs on the worker threads for every received packet: no allocation, no logging, loops
 * bounded by header counts, so that it could later become an in-kernel express lane (DESIGN.md). */
#include <string.h>

#include "frags.h"
#include "gue.h"
#include "parse.h"
#include "view.h"

/* Sends `pkt` (the received packet, or the inner one of an unwrapped GUE packet) to the owner
 * of forwarding record `f`, whose `fate` (f->fate or f->fate_decapsulated) says how, or why not
 * whatever the packet (local slices, loops, owners this host cannot reach). */
static __always_inline enum su_route_counter
forward(const struct su_view *view, const struct su_view_owner *f, enum su_route_counter fate,
	const struct su_ip *pkt, int decapsulated, uint8_t **data, uint32_t *len, uint32_t headroom)
{
	/* Where the IP datagram starts in the buffer: everything before it may be overwritten. */
	uint32_t ip_off = (uint32_t)(pkt->ip - *data);
	uint8_t *frame;

	if (!SU_ROUTE_TRANSMITS(fate))
		return fate;
	/* Never truncate, never fragment: the IP packet, outer headers included, must fit the
	 * interface (VLAN tags and padding are not part of it). */
	if (pkt->ip_len > f->max_ip_len)
		return SU_ROUTE_drop_too_big;

	if (fate == SU_ROUTE_forward_server_l2) {
		if (!decapsulated) {
			/* Only the addresses change: tags, payload and padding stay as received. */
			memcpy(*data, f->hdr[0], 12);
			return fate;
		}
		/* A fresh untagged header over the end of the outer ones (at least Ethernet, IP and
		 * UDP lie before the inner packet, so no headroom is needed). */
		frame = *data + ip_off - SU_ETH_HLEN;
		memcpy(frame, f->hdr[0], 12);
		frame[12] = pkt->family == SU_FAMILY_IPV4 ? 0x08 : 0x86;
		frame[13] = pkt->family == SU_FAMILY_IPV4 ? 0x00 : 0xdd;
		*data = frame;
		*len = SU_ETH_HLEN + pkt->ip_len;
		return fate;
	}

	/* The worker guarantees at least 256 bytes of headroom (SU_CORE_MAX_GROWTH is 66), so
	 * this only happens to a caller that gave less; the packet could not grow, which is what
	 * drop_too_big says. */
	if (ip_off + headroom < f->hdr_len)
		return SU_ROUTE_drop_too_big;
	/* The headers end where the inner datagram starts: it is kept byte for byte, without
	 * any Ethernet padding that followed it. */
	frame = *data + ip_off - f->hdr_len;
	su_gue_write(f, pkt, su_gue_source_port(view, pkt), frame);
	*data = frame;
	*len = f->hdr_len + pkt->ip_len;
	return fate;
}

/* The owner of `pkt`: by its ports, or for a later fragment by its first (`*miss` says which
 * fate a miss has). A first fragment's owner is remembered for the pieces after it. */
static __always_inline const struct su_view_owner *
owner_of(const struct su_view *view, struct su_frag_table *frags, const struct su_ip *pkt,
	 enum su_route_counter *miss, uint32_t *owner_index)
{
	const struct su_view_owner *f;

	if (pkt->fragment == SU_FRAGMENT_LATER) {
		const struct su_owner *owner = frags ? su_frag_owner(frags, view, pkt) : NULL;

		*miss = SU_ROUTE_drop_fragment;
		f = owner ? su_view_fwd(view, owner) : NULL;
	} else {
		*miss = SU_ROUTE_drop_no_owner;
		f = su_view_find(view, pkt->family, pkt->daddr, pkt->protocol, pkt->dport);
		if (f && frags && pkt->fragment == SU_FRAGMENT_FIRST)
			su_frag_remember(frags, view, pkt, f->owner);
	}
	if (f)
		*owner_index = (uint32_t)(f - view->fwd);
	return f;
}

/* GUE from a peer, `outer` (for which su_gue_for_us holds): unwrapped and steered again, inside
 * this data centre only. Apart from the common path, which it would only crowd. */
static __attribute__((noinline)) enum su_route_counter
route_decapsulated(const struct su_view *view, struct su_frag_table *frags,
		   const struct su_ip *outer, uint8_t **data, uint32_t *len, uint32_t headroom,
		   uint32_t *owner)
{
	const struct su_view_owner *f;
	enum su_route_counter fate, miss;
	struct su_ip inner;

	/* A piece of a GUE datagram: we do not reassemble, and one piece cannot be unwrapped. */
	if (outer->fragment != SU_FRAGMENT_NONE)
		return SU_ROUTE_drop_fragment;
	fate = su_gue_decap(view, outer, &inner);
	if (fate != SU_PARSE_OK)
		return fate;
	f = owner_of(view, frags, &inner, &miss, owner);
	if (!f)
		return miss;
	/* Local slices arriving in GUE are the XDP program's to unwrap and pass (drop_local); a
	 * data centre sends only what belongs here (drop_loop). */
	return forward(view, f, f->fate_decapsulated, &inner, 1, data, len, headroom);
}

/* A parsed packet, `outer`, steered. */
static __always_inline enum su_route_counter
route_ip(const struct su_view *view, struct su_frag_table *frags, const struct su_ip *outer,
	 uint8_t **data, uint32_t *len, uint32_t headroom, uint32_t *owner)
{
	const struct su_view_owner *f;
	enum su_route_counter miss;

	if (su_gue_for_us(&view->header->host, outer)) {
		/* A copy, so that `outer` itself can live in registers. */
		struct su_ip copy = *outer;

		return route_decapsulated(view, frags, &copy, data, len, headroom, owner);
	}
	f = owner_of(view, frags, outer, &miss, owner);
	if (!f)
		return miss;
	return forward(view, f, f->fate, outer, 0, data, len, headroom);
}

/* Frames the inline parsers leave to the full one. */
static __attribute__((noinline)) enum su_route_counter
route_other(const struct su_view *view, struct su_frag_table *frags, uint8_t **data,
	    uint32_t *len, uint32_t headroom, uint32_t *owner)
{
	enum su_route_counter fate;
	struct su_ip outer;
	uint32_t l2_len;

	fate = su_parse_frame_full(*data, *len, &l2_len, &outer);
	if (fate != SU_PARSE_OK)
		return fate;
	return route_ip(view, frags, &outer, data, len, headroom, owner);
}

/* The common frames each get their own copy of route_ip, in which the compiler knows the
 * family and that the packet is whole: the rest of the fast path shrinks to what they need. */
static __always_inline enum su_route_counter
route(const struct su_view *view, struct su_frag_table *frags, uint8_t **data, uint32_t *len,
      uint32_t headroom, uint32_t *owner)
{
	struct su_ip outer;

	*owner = SU_OWNER_NONE;
	if (!view)
		return SU_ROUTE_drop_no_table;
	if (su_parse_ipv4_fast(*data, *len, &outer))
		return route_ip(view, frags, &outer, data, len, headroom, owner);
	if (su_parse_ipv6_fast(*data, *len, &outer))
		return route_ip(view, frags, &outer, data, len, headroom, owner);
	return route_other(view, frags, data, len, headroom, owner);
}

enum su_route_counter su_core_route_owner(const struct su_view *view, struct su_frag_table *frags,
					  uint8_t **data, uint32_t *len, uint32_t headroom,
					  uint32_t *owner)
{
	return route(view, frags, data, len, headroom, owner);
}

enum su_route_counter su_core_route_frags(const struct su_view *view, struct su_frag_table *frags,
					  uint8_t **data, uint32_t *len, uint32_t headroom)
{
	uint32_t owner;

	return route(view, frags, data, len, headroom, &owner);
}

enum su_route_counter su_core_route(const struct su_view *view, uint8_t **data, uint32_t *len,
				    uint32_t headroom)
{
	uint32_t owner;

	return route(view, NULL, data, len, headroom, &owner);
}
