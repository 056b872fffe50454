/* One packet's fate, and its rewrite when it is sent on or unwrapped: the one core's packet path,
 * the same code in the XDP program (bpf/steer.bpf.c) and in the AF_XDP workers
 * (native/core/route.c). Steps: parse; GUE for this host is checked and unwrapped (a peer's
 * health probe is answered instead: reply_probe, gue.h); the owner is found (by ports, or for
 * a later fragment by its first); the owner's fate for a packet from where this one came from;
 * the rewrite. The target half (su_tbl_*, su_frag_*, su_csum_range,
 * su_move_head, su_set_len, su_icmp_tokens, su_now_ns) is defined by the includer first (native/core/user.h, bpf/target.h).
 *
 * Loops are ruled out by construction (DESIGN.md): a packet that came from a server of this
 * data centre (in GUE, or L2-forwarded) is delivered here or dropped, never sent on; one from
 * another data centre goes to this host or a server of this data centre, never to a data
 * centre. So a packet is forwarded at most twice: wire -> data centre -> server. */
#ifndef SU_CORE_ROUTE_H
#define SU_CORE_ROUTE_H

#include "addr_slice_kind.h"
#include "flow_hash_kind.h"
#include "frags.h"
#include "glb.h"
#include "gue.h"
#include "icmp.h"
#include "lookup.h"
#include "parse.h"

/* The heaviest steps, each a stage of its own in the XDP program (a global function the
 * verifier checks once, bpf/steer.bpf.c), inline in the workers (route.c): su_parse_frame,
 * su_gue_unwrap and su_owner_of. Defined by the target after this header. */
SU_INLINE enum su_route_counter su_stage_parse_frame(const struct su_buf *b, struct su_ip *out);
SU_INLINE enum su_route_counter su_stage_unwrap(su_tbl t, const struct su_buf *b,
						const struct su_ip *outer, struct su_ip *inner);
SU_INLINE uint32_t su_stage_owner_of(su_tbl t, su_frag_state f, const struct su_ip *pkt, int decap,
				     uint32_t *hop, enum su_route_counter *miss);
/* One key kind's lookup (su_kind_lookup below), a stage of its own in the XDP program too: the
 * verifier then walks the kinds' loop without walking every kind's lookup once per turn. */
SU_INLINE void su_stage_kind(su_tbl t, const struct su_meta *m, uint32_t kind,
			     const struct su_ip *pkt, uint32_t mode, struct su_found *out);
/* The flow-hash kind's lookup (flow_hash_kind.h), a stage of its own in the XDP program: inline
 * in su_stage_key_kind, its key and hash state added to that stage's frame pushed the deepest
 * chain of calls past the verifier's 512 bytes of stack. */
SU_INLINE void su_stage_flow_hash(su_tbl t, const struct su_meta *m, const struct su_ip *pkt,
				  uint32_t mode, struct su_found *out);
/* The address-slice kind's lookup (addr_slice_kind.h), a stage of its own in the XDP program for
 * the same reason. */
SU_INLINE void su_stage_addr_slice(su_tbl t, const struct su_meta *m, const struct su_ip *pkt,
				   uint32_t mode, struct su_found *out);

/* What su_route_decide found: the fate, and what su_route_apply needs to carry it out. */
struct su_verdict {
	uint32_t owner; /* the owner's index, SU_OWNER_NONE when no lookup found one */
	uint8_t fate;   /* enum su_route_counter */
	uint8_t decap;  /* the packet acted on is the inner one of GUE for this host */
	uint8_t from;   /* SU_FROM_* */
	uint8_t pad0;
	uint16_t mtu;   /* reply_too_big: the largest IP packet the owner's encapsulation takes */
	uint16_t pad1;
	/* A 'glb' owner's hop (glb.h, su_glb_hop), an IPv4 address as loaded (network order in
	 * memory); 0 for an empty hop list, and for every other owner. */
	uint32_t hop;
};

/* Key kind `kind`'s lookup of `pkt` (mode SU_LOOKUP_PORT: its owner; SU_LOOKUP_ADDRESS: only
 * whether the kind manages its destination): its owner into `out->owner` (left alone when it
 * finds none), whether it manages the destination or'd into `out->managed`. A `switch`,
 * not a table of functions: the XDP program has no function pointers. A new kind adds its case
 * here and its lookup in a header of its own (docs/design.md, "Key kinds"). */
SU_INLINE void su_kind_lookup(su_tbl t, const struct su_meta *m, uint32_t kind,
			      const struct su_ip *pkt, uint32_t mode, struct su_found *out)
{
	switch (kind) {
	case SU_KEY_KIND_PORT_SLICE:
		su_port_slice_find(t, m, pkt->family, pkt->daddr, pkt->protocol, pkt->dport, mode,
				   out);
		break;
	case SU_KEY_KIND_FLOW_HASH:
		su_stage_flow_hash(t, m, pkt, mode, out);
		break;
	case SU_KEY_KIND_ADDRESS_SLICE:
		su_stage_addr_slice(t, m, pkt, mode, out);
		break;
	default: /* never: su_view_build refuses kinds it does not know */
		break;
	}
}

#if defined(SU_TARGET_BPF)
#define SU_UNROLL_KINDS /* each turn is a call of the su_stage_key_kind stage */
#elif defined(__clang__)
#define SU_UNROLL_KINDS _Pragma("clang loop unroll(full)")
#else
#define SU_UNROLL_KINDS _Pragma("GCC unroll 4") /* SU_SECTIONS_MAX */
#endif

/* The lookup stage: the table's key kinds in turn (struct su_meta's kinds, in the image's
 * order); the first kind that finds an owner decides, and `managed` gathers whether any kind
 * manages the destination (SU_LOOKUP_ADDRESS asks only that). In the workers the loop is
 * unrolled and every turn inline: a call anywhere on the path (even one not taken) made the
 * compiler save registers around it, which cost more than the turns (docs/design.md). In the
 * XDP program each turn calls the su_stage_key_kind stage, so that the verifier walks each
 * kind's lookup once. */
SU_INLINE void su_lookup_kinds(su_tbl t, const struct su_meta *m, const struct su_ip *pkt,
			       uint32_t mode, struct su_found *out)
{
	uint32_t count = m->kind_count;

	out->owner = SU_OWNER_NONE;
	out->managed = 0;
	out->secondary = SU_OWNER_NONE;
	SU_UNROLL_KINDS
	for (uint32_t i = 0; i < SU_SECTIONS_MAX; i++) {
		if (i >= count)
			return;
		su_stage_kind(t, m, m->kinds[i], pkt, mode, out);
		if (out->owner != SU_OWNER_NONE)
			return;
	}
}

/* Whether some key kind manages the destination of `pkt`, whatever its ports. */
SU_INLINE int su_address_managed(su_tbl t, const struct su_meta *m, const struct su_ip *pkt)
{
	struct su_found found;

	su_lookup_kinds(t, m, pkt, SU_LOOKUP_ADDRESS, &found);
	return (int)found.managed;
}

/* The fate of a packet whose headers could not be read to the ports: what is not ours goes to
 * the kernel, but a packet to a managed address never does (another server may own it; the
 * kernel would answer in its name with a reset). */
SU_INLINE enum su_route_counter su_unreadable(su_tbl t, const struct su_meta *m,
					      const struct su_ip *ip, enum su_route_counter fate)
{
	if (fate == SU_ROUTE_pass_unparsed || ip->family == SU_FAMILY_NONE)
		return SU_ROUTE_pass_unparsed;
	return su_address_managed(t, m, ip) ? fate : SU_ROUTE_pass_unparsed;
}

/* The owner of `pkt` (by its ports; a later fragment by its first, remembered when it passed),
 * or SU_OWNER_NONE with the fate that has: unmanaged (the kernel's), or a drop. `*hop`: the
 * hop of a 'glb' owner's list (glb.h, su_glb_hop: a flow-hash row's secondary), 0 for anything
 * else (a later fragment too: only its owner is remembered). */
SU_INLINE uint32_t su_owner_of(su_tbl t, su_frag_state f, const struct su_meta *m,
			       const struct su_ip *pkt, int decap, uint32_t *hop,
			       enum su_route_counter *miss)
{
	struct su_found found;

	*hop = 0;
	if (pkt->fragment == SU_FRAGMENT_LATER) {
		uint32_t owner;

		if (su_frag_find(f, pkt, m->generation, &owner))
			return owner;
		/* First never seen, expired, or of another table: the datagram cannot be placed.
		 * Passing it would fill the kernel's reassembly memory for a flood of orphans. */
		*miss = decap || su_address_managed(t, m, pkt) ? SU_ROUTE_drop_fragment :
								 SU_ROUTE_pass_unmanaged;
		return SU_OWNER_NONE;
	}
	su_lookup_kinds(t, m, pkt, SU_LOOKUP_PORT, &found);
	if (found.owner == SU_OWNER_NONE) {
		/* Unwrapped packets are for slices we manage, or nobody's: never an open relay. */
		*miss = found.managed & SU_FOUND_FILTERED ? SU_ROUTE_drop_ssa_source :
			found.managed ? SU_ROUTE_drop_no_owner :
			decap ? SU_ROUTE_drop_gue_not_managed : SU_ROUTE_pass_unmanaged;
		return SU_OWNER_NONE;
	}
	if (pkt->fragment == SU_FRAGMENT_FIRST)
		su_frag_save(f, pkt, m->generation, found.owner);
	*hop = su_glb_hop(t, found.owner, found.secondary);
	return found.owner;
}

/* Decides the fate of the frame in `b`: parsed into `outer`, and for GUE for this host unwrapped
 * into `inner` (v->decap). Reads the table, and the fragment state (first fragments are
 * remembered); writes nothing into the packet. */
SU_INLINE enum su_route_counter su_route_decide(su_tbl t, su_frag_state f, const struct su_buf *b,
						struct su_ip *outer, struct su_ip *inner,
						struct su_verdict *v)
{
	const struct su_meta *m = su_tbl_meta(t);
	const struct su_ip *pkt = outer;
	const struct su_fwd *fwd;
	enum su_route_counter fate;

	v->owner = SU_OWNER_NONE;
	v->mtu = 0;
	v->hop = 0;
	v->decap = 0;
	v->from = SU_FROM_WIRE;
	if (!m)
		return SU_ROUTE_drop_no_table;
	fate = su_stage_parse_frame(b, outer);
	if (fate != SU_PARSE_OK)
		return su_unreadable(t, m, outer, fate);
	if (su_gue_for_us(&m->host, outer)) {
		fate = su_stage_unwrap(t, b, outer, inner);
		if (fate != SU_PARSE_OK)
			return fate;
		v->decap = 1;
		v->from = su_tbl_peer(t, outer->family, outer->saddr) ? SU_FROM_SERVER : SU_FROM_DC;
		pkt = inner;
	} else {
		const uint8_t *eth = su_at(b, 0, SU_ETH_HLEN);

		if (eth && su_tbl_peer_mac(t, eth + 6))
			v->from = SU_FROM_SERVER;
	}
	v->owner = su_stage_owner_of(t, f, pkt, v->decap, &v->hop, &fate);
	if (v->owner == SU_OWNER_NONE)
		return fate;
	fwd = su_tbl_fwd(t, v->owner);
	if (!fwd)
		return SU_ROUTE_drop_no_owner;
	fate = (enum su_route_counter)(v->from == SU_FROM_WIRE ? fwd->fate :
				       v->from == SU_FROM_DC ? fwd->fate_from_dc :
							       fwd->fate_from_server);
	if (fate == SU_ROUTE_pass_local) {
		/* The kernel would send a source-routed packet on, with the source it carries. */
		if (pkt->flags & SU_IP_SOURCE_ROUTED)
			return SU_ROUTE_drop_source_routed;
		return v->decap ? SU_ROUTE_decap_local : SU_ROUTE_pass_local;
	}
	/* Never truncate, never fragment: the IP packet, outer headers included, must fit the
	 * interface (VLAN tags and padding are not part of it). A sender doing path MTU discovery
	 * is told what fits, also when another data centre sent its packet on in GUE (the
	 * answer goes back the way the tunnel packet came, towards the router that routes to the
	 * sender). A packet a server of this data centre sent on gets no answer: it is dropped for
	 * the loop rules before it could be too big. */
	if (!SU_ROUTE_TRANSMITS(fate))
		return fate;
	/* A 'glb' owner's hop list grows the header by its hop. */
	if (pkt->ip_len + (v->hop ? SU_GLB_HOP_LEN : 0) > fwd->max_ip_len) {
		/* Not below 0: the image's host MTU has no floor (view_check.c), so a 'glb' owner's
		 * headers may leave less than a hop (fuzz_view found a host MTU of a few bytes
		 * announcing 65532). */
		uint32_t hop_len = v->hop ? SU_GLB_HOP_LEN : 0;

		v->mtu = (uint16_t)(fwd->max_ip_len > hop_len ? fwd->max_ip_len - hop_len : 0);
		return v->from != SU_FROM_SERVER && su_icmp_too_big_wanted(pkt) ?
			       SU_ROUTE_reply_too_big :
			       SU_ROUTE_drop_too_big;
	}
	return fate;
}

/* A new untagged Ethernet header in front of the IP datagram `ip`, which becomes the whole
 * frame: the outer headers (or the received tags) go, and so does anything after the datagram.
 * `macs` are the 12 address bytes to write (copied before the move overwrites them). */
SU_INLINE int su_reframe(struct su_buf *b, const struct su_ip *ip, const uint8_t *macs)
{
	uint8_t mac[12];
	uint8_t *eth;

	su_memcpy(mac, macs, 12);
	if (su_move_head(b, (int32_t)ip->l3 - SU_ETH_HLEN) ||
	    su_set_len(b, SU_ETH_HLEN + ip->ip_len))
		return -1;
	eth = su_at(b, 0, SU_ETH_HLEN);
	if (!eth)
		return -1;
	su_memcpy(eth, mac, 12);
	su_put16(eth + 12, ip->family == SU_FAMILY_IPV4 ? SU_ETH_P_IPV4 : SU_ETH_P_IPV6);
	return 0;
}

/* Carries out a verdict that changes the packet: unwraps it for the kernel, or rewrites it for
 * its owner. The fate that results: `fate` itself, or drop_too_big when the frame cannot grow
 * (a worker's headroom is always enough; a caller of su_core_route may give less). */
SU_INLINE enum su_route_counter su_route_apply(su_tbl t, struct su_buf *b, const struct su_ip *outer,
					       const struct su_ip *inner, const struct su_verdict *v,
					       enum su_route_counter fate)
{
	const struct su_ip *pkt = v->decap ? inner : outer;
	const struct su_fwd *fwd;
	const uint8_t *eth;

	if (fate == SU_ROUTE_decap_local) {
		eth = su_at(b, 0, SU_ETH_HLEN);
		/* The received frame's addresses, no tags (they belonged to the outer path). */
		return eth && su_reframe(b, inner, eth) == 0 ? fate : SU_ROUTE_drop_malformed;
	}
	if (fate == SU_ROUTE_reply_probe)
		return su_gue_probe_reply(b, outer) == 0 ? fate : SU_ROUTE_drop_malformed;
	if (fate == SU_ROUTE_reply_too_big) {
		/* Over the rate: dropped as the packet would have been without an answer. */
		if (!su_icmp_take(su_icmp_tokens(), su_now_ns()))
			return SU_ROUTE_drop_too_big;
		return su_icmp_too_big(b, pkt, outer->l3, v->mtu) == 0 ? fate : SU_ROUTE_drop_too_big;
	}
	if (!SU_ROUTE_TRANSMITS(fate))
		return fate;
	fwd = su_tbl_fwd(t, v->owner);
	if (!fwd)
		return SU_ROUTE_drop_no_owner;
	if (fate == SU_ROUTE_forward_server_l2) {
		uint8_t *frame;

		if (v->decap)
			return su_reframe(b, inner, fwd->hdr[0]) == 0 ? fate : SU_ROUTE_drop_too_big;
		/* Only the addresses change: tags, payload and padding stay as received. */
		frame = su_at(b, 0, 12);
		if (!frame)
			return SU_ROUTE_drop_malformed;
		su_memcpy(frame, fwd->hdr[0], 12);
		return fate;
	}
	{
		const struct su_meta *m = su_tbl_meta(t);
		uint32_t sport = m ? su_gue_source_port(m, pkt) : SU_GUE_SOURCE_PORT_MIN;
		uint32_t len = (uint32_t)fwd->hdr_len + (v->hop ? SU_GLB_HOP_LEN : 0);

		/* The headers end where the datagram starts: it is kept byte for byte, without any
		 * Ethernet padding or trailer that followed it. */
		if (su_move_head(b, (int32_t)pkt->l3 - (int32_t)len))
			return SU_ROUTE_drop_too_big;
		if (su_set_len(b, len + pkt->ip_len))
			return SU_ROUTE_drop_malformed;
		if (fwd->glb ? su_glb_write(fwd, pkt, sport, v->hop, b) :
			       su_gue_write(fwd, pkt, sport, b))
			return SU_ROUTE_drop_malformed;
	}
	return fate;
}

#endif /* SU_CORE_ROUTE_H */
