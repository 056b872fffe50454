/* The port-slice key kind's lookup (soft-unicast: an address or prefix, a protocol, port
 * ranges; its section: softunicast/table.h): who owns (destination address, protocol, port).
 * It tries the prefix lengths present, longest first, and the first key whose ranges hold the
 * port decides. The lookup stage (route.h, su_lookup_kinds) calls it as its case
 * SU_KEY_KIND_PORT_SLICE. Table access through the target's su_tbl_* functions, the walk over the
 * lengths through its su_each_len (native/core/user.h, bpf/target.h), which the includer
 * defines first. Used by route.h. */
#ifndef SU_CORE_LOOKUP_H
#define SU_CORE_LOOKUP_H

#include "tables.h"

/* The protocol's part of a key's first word (family, length, protocol, 0 as loaded). */
SU_INLINE uint32_t su_meta_protocol(uint8_t protocol)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (uint32_t)protocol << 16;
#else
	return (uint32_t)protocol << 8;
#endif
}

/* What a lookup found. */
struct su_found {
	uint32_t owner;   /* the owner's index, or SU_OWNER_NONE */
	uint32_t managed; /* without an owner: whether some key's span holds the port (a gap in
			   * managed ports, dropped) or none does (the kernel's, passed) */
	uint32_t secondary; /* flow-hash: the row's secondary owner (second chance, a GLB hop);
			     * SU_OWNER_NONE for every other kind */
};

/* The owner of `port` among key `k`'s ranges (sorted, disjoint): the last range starting at or
 * below the port, if it reaches the port. Even keys: the port's offset from the first says
 * which range. Others start with the guess that would be right were every range as wide as the
 * first, then halve a window that always holds the answer (at most 16 steps for 65536 ranges),
 * with an add rather than a branch: one way through each step for the verifier.
 * `*in_span` says whether the port lies between the first range's start and the last's end. */
SU_INLINE uint32_t su_range_owner(su_tbl t, const struct su_key_ranges *k, uint32_t port,
				  uint32_t *in_span)
{
	const struct su_port_range *r, *last;
	uint32_t lo = k->first, n = k->count, guess;

	*in_span = 0;
	if (port < k->base || n == 0)
		return SU_OWNER_NONE;
	guess = (port - k->base) >> k->shift;
	if (k->even && guess < n) {
		r = su_tbl_range(t, lo + guess);
		*in_span = 1;
		return r ? r->owner : SU_OWNER_NONE;
	}
	if (guess >= n)
		guess = n - 1;
	r = su_tbl_range(t, lo + guess);
	if (!r)
		return SU_OWNER_NONE;
	if (r->first <= port) {
		lo += guess;
		n -= guess;
	} else {
		n = guess; /* not 0: the first range starts at or below the port */
	}
	for (int i = 0; i < 17 && n > 1; i++) {
		uint32_t half = n / 2;
		const struct su_port_range *mid = su_tbl_range(t, lo + half);

		if (!mid)
			return SU_OWNER_NONE;
		lo += half & (0u - (uint32_t)(mid->first <= port));
		n -= half;
	}
	r = su_tbl_range(t, lo);
	last = su_tbl_range(t, k->first + k->count - 1);
	if (!r || !last)
		return SU_OWNER_NONE;
	*in_span = port <= last->last;
	return r->first <= port && port <= r->last ? r->owner : SU_OWNER_NONE;
}

/* The key of (protocol, address) at prefix length `l`: the address masked to the length. */
SU_INLINE const struct su_key_ranges *su_key_at(su_tbl t, const struct su_len *l, uint32_t proto,
						uint64_t a0, uint64_t a1, uint32_t ipv4)
{
	return su_tbl_key(t, l->meta | proto, a0 & l->mask[0], a1 & l->mask[1], (int)ipv4);
}

/* A lookup under way: what each prefix length's step reads, and what they found. */
#define SU_LOOKUP_PORT 0    /* the owner of (address, protocol, port) */
#define SU_LOOKUP_ADDRESS 1 /* whether any key, of either protocol, covers the address */
struct su_lookup {
	uint64_t a0, a1;  /* the address as loaded: IPv4 in a0, a1 zero */
	su_tbl t;
	uint32_t proto;   /* su_meta_protocol(protocol) */
	uint32_t port;
	uint32_t ipv4;
	uint32_t mode;    /* SU_LOOKUP_* */
	uint32_t owner;   /* found: an owner index, or SU_OWNER_NONE */
	uint32_t managed; /* as struct su_found; by address: whether a key covers it */
};

/* One prefix length `l` of a lookup of an IPv4 (`ipv4` 1) or IPv6 address: the key there, and the
 * port among its ranges. 1 when the lookup is done. Lengths come longest first, so the first key
 * whose ranges hold the port decides; TypeScript's validator guarantees that overlapping slices
 * share an owner. A target that knows the family passes it as a constant (user.h). */
SU_INLINE int su_lookup_step_as(struct su_lookup *s, const struct su_len *l, uint32_t ipv4)
{
	const struct su_key_ranges *k;
	uint32_t in_span;

	if (s->mode == SU_LOOKUP_ADDRESS) {
		s->managed =
			su_key_at(s->t, l, su_meta_protocol(SU_IPPROTO_TCP), s->a0, s->a1, ipv4) ||
			su_key_at(s->t, l, su_meta_protocol(SU_IPPROTO_UDP), s->a0, s->a1, ipv4);
		return (int)s->managed;
	}
	k = su_key_at(s->t, l, s->proto, s->a0, s->a1, ipv4);
	if (!k)
		return 0;
	s->owner = su_range_owner(s->t, k, s->port, &in_span);
	s->managed |= in_span;
	return s->owner != SU_OWNER_NONE;
}

SU_INLINE int su_lookup_step(struct su_lookup *s, const struct su_len *l)
{
	return su_lookup_step_as(s, l, s->ipv4);
}

/* Prefix length `i` of the lookup's family, or NULL past the last. */
SU_INLINE const struct su_len *su_len_at(const struct su_meta *m, uint32_t ipv4, uint32_t i)
{
	uint64_t j = i;

	SU_KEEP(j);
	if (ipv4)
		return j < SU_LENS_IPV4 && j < m->ipv4_len_count ? &m->ipv4_lens[j] : 0;
	return j < SU_LENS_IPV6 && j < m->ipv6_len_count ? &m->ipv6_lens[j] : 0;
}

SU_INLINE void su_lookup_init(struct su_lookup *s, su_tbl t, uint8_t family, const uint8_t *addr,
			      uint32_t mode)
{
	s->t = t;
	s->ipv4 = family == SU_FAMILY_IPV4;
	s->a0 = s->ipv4 ? su_load32(addr) : su_load64(addr);
	s->a1 = s->ipv4 ? 0 : su_load64(addr + 8);
	s->mode = mode;
	s->owner = SU_OWNER_NONE;
	s->managed = 0;
	s->proto = 0;
	s->port = 0;
}

/* The target's walk over the lengths present (su_lookup_step on each until one says done): a
 * loop in the workers (user.h), bpf_loop in the kernel (bpf/target.h), whose verifier would
 * otherwise walk every way through up to 129 of them. Defined after this header. */
SU_INLINE void su_each_len(struct su_lookup *s, const struct su_meta *m);

/* port-slice's case of the lookup stage (route.h, su_lookup_kinds): in SU_LOOKUP_PORT mode the
 * owner of (address, protocol, port), and whether a key's span holds the port; in
 * SU_LOOKUP_ADDRESS mode whether any key, of either protocol, covers the address (a packet to
 * it is managed even when its ports cannot be read, and must not reach the kernel of a host
 * that does not own it: asked of malformed packets and unplaced fragments only). `addr` is 16
 * bytes (IPv4 in the first 4, the rest zero). */
SU_INLINE void su_port_slice_find(su_tbl t, const struct su_meta *m, uint8_t family,
				  const uint8_t *addr, uint8_t protocol, uint32_t port, uint32_t mode,
				  struct su_found *out)
{
	struct su_lookup s;

	su_lookup_init(&s, t, family, addr, mode);
	s.proto = su_meta_protocol(protocol);
	s.port = port;
	su_each_len(&s, m);
	if (s.owner != SU_OWNER_NONE)
		out->owner = s.owner;
	out->managed |= s.managed;
}

/* port-slice alone: the owner of (address, protocol, port) (su_view_lookup, benchmarks). */
SU_INLINE void su_lookup_port_slice(su_tbl t, const struct su_meta *m, uint8_t family,
				    const uint8_t *addr, uint8_t protocol, uint32_t port,
				    struct su_found *out)
{
	out->owner = SU_OWNER_NONE;
	out->managed = 0;
	out->secondary = SU_OWNER_NONE;
	su_port_slice_find(t, m, family, addr, protocol, port, SU_LOOKUP_PORT, out);
}

#endif /* SU_CORE_LOOKUP_H */
