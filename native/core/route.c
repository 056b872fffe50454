/* su_core_route: one packet's fate, and its rewrite when it is forwarded (softunicast/core.h).
 * Runs on the worker threads for every received packet: no allocation, no logging, loops
 * bounded by header counts, so that it could later become an in-kernel express lane (DESIGN.md). */
#include <string.h>

#include "gue.h"
#include "parse.h"
#include "view.h"

/* Sends `pkt` (the received packet, or the inner one of an unwrapped GUE packet) to `owner`, a
 * server or data centre. */
static enum su_route_counter forward(const struct su_host *host, const struct su_owner *owner,
				     const struct su_ip *pkt, int decapsulated, uint8_t **data,
				     uint32_t *len, uint32_t headroom)
{
	/* Where the IP datagram starts in the buffer: everything before it may be overwritten. */
	uint32_t ip_off = (uint32_t)(pkt->ip - *data);
	uint32_t hdr_len;
	uint8_t *frame;

	if (!(owner->flags & SU_OWNER_NEXT_HOP_KNOWN))
		return SU_ROUTE_drop_no_neighbour;

	if (owner->encap == SU_ENCAP_L2) {
		/* The MTU counts the IP packet: VLAN tags and padding are not part of it. */
		if (pkt->ip_len > host->mtu)
			return SU_ROUTE_drop_too_big;
		if (!decapsulated) {
			/* Only the addresses change: tags, payload and padding stay as received. */
			memcpy(*data, owner->next_hop_mac, 6);
			memcpy(*data + 6, host->mac, 6);
			return SU_ROUTE_forward_server_l2;
		}
		/* A fresh untagged header over the end of the outer ones (at least Ethernet, IP and
		 * UDP lie before the inner packet, so no headroom is needed). */
		frame = *data + ip_off - SU_ETH_HLEN;
		memcpy(frame, owner->next_hop_mac, 6);
		memcpy(frame + 6, host->mac, 6);
		frame[12] = pkt->family == SU_FAMILY_IPV4 ? 0x08 : 0x86;
		frame[13] = pkt->family == SU_FAMILY_IPV4 ? 0x00 : 0xdd;
		*data = frame;
		*len = SU_ETH_HLEN + pkt->ip_len;
		return SU_ROUTE_forward_server_l2;
	}

	if (owner->family == SU_FAMILY_IPV4 ? !(host->flags & SU_HOST_HAS_IPV4) :
					      !(host->flags & SU_HOST_HAS_IPV6))
		return SU_ROUTE_drop_no_source;
	hdr_len = su_gue_encap_len(owner);
	/* Never truncate, never fragment: the outer IP packet must fit the interface. */
	if (hdr_len - SU_ETH_HLEN + pkt->ip_len > host->mtu)
		return SU_ROUTE_drop_too_big;
	/* The worker guarantees at least 256 bytes of headroom (SU_CORE_MAX_GROWTH is 66), so
	 * this only happens to a caller that gave less; the packet could not grow, which is what
	 * drop_too_big says. */
	if (ip_off + headroom < hdr_len)
		return SU_ROUTE_drop_too_big;
	/* The headers end where the inner datagram starts: it is kept byte for byte, without
	 * any Ethernet padding that followed it. */
	frame = *data + ip_off - hdr_len;
	su_gue_encap(host, owner, pkt, frame);
	*data = frame;
	*len = hdr_len + pkt->ip_len;
	return owner->kind == SU_OWNER_SERVER ? SU_ROUTE_forward_server_gue :
						SU_ROUTE_encap_datacenter;
}

enum su_route_counter su_core_route(const struct su_view *view, uint8_t **data, uint32_t *len,
				    uint32_t headroom)
{
	const struct su_host *host;
	const struct su_owner *owner;
	struct su_ip outer, inner;
	enum su_route_counter fate;
	uint32_t l2_len;

	if (!view)
		return SU_ROUTE_drop_no_table;
	fate = su_parse_frame(*data, *len, &l2_len, &outer);
	if (fate != SU_PARSE_OK)
		return fate;
	host = su_view_host(view);

	if (su_gue_for_us(host, &outer)) {
		fate = su_gue_decap(view, &outer, &inner);
		if (fate != SU_PARSE_OK)
			return fate;
		owner = su_view_lookup(view, inner.family, inner.daddr, inner.protocol, inner.dport);
		if (!owner)
			return SU_ROUTE_drop_no_owner;
		/* Local slices arriving in GUE are the XDP program's to unwrap and pass. */
		if (owner->kind == SU_OWNER_LOCAL)
			return SU_ROUTE_drop_local;
		/* A data centre sends only what belongs here: sending it on to yet another data
		 * centre could loop between two with disagreeing tables. */
		if (owner->kind == SU_OWNER_DATACENTER)
			return SU_ROUTE_drop_loop;
		return forward(host, owner, &inner, 1, data, len, headroom);
	}

	owner = su_view_lookup(view, outer.family, outer.daddr, outer.protocol, outer.dport);
	if (!owner)
		return SU_ROUTE_drop_no_owner;
	if (owner->kind == SU_OWNER_LOCAL)
		return SU_ROUTE_drop_local;
	return forward(host, owner, &outer, 0, data, len, headroom);
}
