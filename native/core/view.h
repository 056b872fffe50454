/* The inside of a compiled slice table (struct su_view): the checked image, its lookup index, and
 * per owner what forwarding to it takes, all worked out once when the table is built so that
 * each packet pays only for what depends on the packet. Private to native/core; everyone else
 * goes through softunicast/core.h. The lookup is inline here: route.c runs it once per packet. */
#ifndef SU_CORE_VIEW_H
#define SU_CORE_VIEW_H

#include <endian.h>
#include <netinet/in.h>
#include <stdint.h>

#include "flow_hash.h"
#include "softunicast/core.h"

/* The fast path is a handful of functions inlined into su_core_route: the compiler's size
 * heuristics would otherwise leave calls (and their spilled registers) on every packet. */
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* A slice key as the lookup reads it, built from the image's (struct su_slice_key) with what
 * its port ranges look like worked out: 32 bytes in a cache-aligned array, so that the lookup
 * touches one line per key. */
struct su_view_key {
	uint32_t meta;        /* family, prefix length, protocol, 0, as su_load32 reads them */
	uint32_t range_first; /* the key's first range in su_view.ranges */
	uint32_t range_count; /* at least 1 */
	/* The ranges' first port, and the power of two that the first range's width rounds down
	 * to: where a port's range would be if they all were that wide. `even` says whether they
	 * are: back to back from `base`, each exactly 1 << shift ports wide. */
	uint16_t base;
	uint8_t shift;
	uint8_t even;
	uint8_t addr[16]; /* network order, host bits zero */
};
_Static_assert(sizeof(struct su_view_key) == 32, "two keys to a cache line");

/* One slot of the open-addressing index. `key` is the slice key's index plus one (0: empty
 * slot); `tag` is the high half of the key's hash, compared before touching the key itself so
 * that a miss rarely costs a second cache line. Eight bytes, so that a million keys take 16 MiB. */
struct su_view_slot {
	uint32_t tag;
	uint32_t key;
};

#define SU_VIEW_IPV4_LENS 33  /* prefix lengths 0..32 */
#define SU_VIEW_IPV6_LENS 129 /* prefix lengths 0..128 */

/* A prefix length present in the table, with what a lookup at that length needs. */
struct su_view_len {
	uint64_t mask[2]; /* the prefix's bits of address bytes 0-7 and 8-15, loaded as words */
	uint32_t meta;    /* a key's first word with this family and length, protocol 0 */
};

/* The protocol's part of a key's first word (family, length, protocol, 0 as loaded). */
static inline uint32_t su_view_meta_protocol(uint8_t protocol)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (uint32_t)protocol << 16;
#else
	return (uint32_t)protocol << 8;
#endif
}

/* Outer Ethernet + IPv6 + UDP + GUE variant 0 header is 66 bytes; whole words hold it. */
#define SU_VIEW_HDR_MAX 72

/* Forwarding to one owner: the fates that do not depend on the packet, and for GUE the outer
 * headers as they will be sent, with the per-packet fields (lengths, checksums, source port,
 * GUE protocol) zero. */
struct su_view_owner {
	const struct su_owner *owner; /* the image's record */
	/* IPv4 outer: the header's ones' complement sum (RFC 1071), folded, in host order, with
	 * the outer headers' part of the total length (that is, all but the inner datagram's).
	 * IPv6 outer: the UDP pseudo-header's sum without the length (RFC 8200 8.1), as
	 * su_csum_add leaves it. */
	uint64_t csum;
	/* The longest IP datagram that fits the interface's MTU once sent this way. */
	uint32_t max_ip_len;
	/* enum su_route_counter of a packet that arrived as it is (`fate`) or in GUE from a peer
	 * (`fate_decapsulated`): the forward_* or encap_* it transmits with, or the drop that
	 * applies whatever the packet (drop_local, drop_loop, drop_no_neighbour,
	 * drop_no_source). */
	uint8_t fate;
	uint8_t fate_decapsulated;
	uint8_t hdr_len;   /* GUE: bytes written in front of the IP datagram: 42, 46, 62 or 66 */
	uint8_t udp_extra; /* GUE: UDP and GUE header bytes, which the UDP length adds */
	uint8_t ipv4;      /* GUE over IPv4 (else over IPv6) */
	/* GUE: Ethernet, IP, UDP and GUE headers, in that order, for an inner IPv4 [0] and IPv6
	 * [1] datagram (variant 0's Proto differs). L2: the first 12 bytes of [0] are the Ethernet
	 * destination and source. */
	uint8_t hdr[2][SU_VIEW_HDR_MAX];
};

struct su_view {
	/* The image's header, copied here so that the host settings lead back to their view
	 * (gue.c's su_gue_encap). The sections are a private copy of the image (malloc-aligned,
	 * every section 4-byte aligned). */
	struct su_table_header header_copy;
	const struct su_table_header *header; /* &header_copy */
	const struct su_prefix *trusted;
	const struct su_owner *owners;
	const struct su_port_range *ranges;
	void *image; /* the copy: header, trusted prefixes, owners and ranges (not the keys) */
	struct su_view_key *keys; /* the image's keys, in their lookup form */

	/* Owner i of the image forwards through fwd[i]. */
	struct su_view_owner *fwd;
	/* su_flow_hash_start(host seed, family, protocol): [inner IPv6][UDP], for TCP and UDP. */
	uint64_t flow_start[2][2];

	struct su_view_slot *slots;
	uint64_t slot_mask; /* capacity - 1, capacity a power of two >= 2 * key_count */
	uint32_t slot_shift; /* 64 - log2(capacity): a hash's top bits pick its home slot */
	/* The longest probe sequence any key needed at build time: lookups stop after this many
	 * slots, a bound known in advance (what a BPF port of the lookup would need). */
	uint32_t max_probe;

	/* Prefix lengths present per family, longest first: a lookup tries each once. */
	struct su_view_len ipv4_lens[SU_VIEW_IPV4_LENS];
	struct su_view_len ipv6_lens[SU_VIEW_IPV6_LENS];
	uint8_t ipv4_len_count;
	uint8_t ipv6_len_count;
};

/* Whether `addr` (4 or 16 bytes, network order) lies in one of the trusted GUE peer prefixes. */
int su_view_trusted(const struct su_view *view, uint8_t family, const uint8_t *addr);

/* The index hashes: a multiply by an odd constant, whose top bits pick the slot (multiply-shift,
 * Dietzfelbinger et al. 1997) and whose high half is the tag. Keys are chosen by the operator,
 * not by whoever sends packets, and a lookup probes at most max_probe slots, so a short hash is
 * enough; it must only spread the runs of neighbouring addresses operators hand out. Addresses
 * enter as the numbers they are (big-endian), so neighbours differ in the low bits: the golden
 * ratio then spreads a run evenly (Fibonacci hashing, Knuth 6.4), where machine order would
 * put the difference in the high bits and leave the top ones nearly alike (a model of
 * 125,000 neighbouring IPv4 keys: 1.4 slots per lookup against 5.9, longest probe 2 against
 * 20; random keys probe alike either way). */
#define SU_VIEW_HASH_MUL 0x9e3779b97f4a7c15ULL /* 2^64 / golden ratio, odd */
#define SU_VIEW_HASH_MUL6 0xbf58476d1ce4e5b9ULL

/* IPv4: the address and the key's first word fill one 64-bit word, which the multiply maps one
 * to one. `addr` as loaded. */
static inline uint64_t su_view_hash4(uint32_t addr, uint32_t meta)
{
	return ((uint64_t)meta << 32 | be32toh(addr)) * SU_VIEW_HASH_MUL;
}

/* IPv6: the first word's product brings its bits up to the top before the second joins. */
static inline uint64_t su_view_hash6(uint64_t w0, uint64_t w1, uint32_t meta)
{
	return (((be64toh(w0) ^ meta) * SU_VIEW_HASH_MUL6) ^ be64toh(w1)) * SU_VIEW_HASH_MUL;
}

/* Whether key `k` is (meta, address words): an IPv4 key's bytes 4-15 are zero (checked at
 * build), so its first four bytes are the whole address. */
static inline int su_view_key_is(const struct su_view_key *k, uint32_t meta, uint64_t w0,
				 uint64_t w1, int ipv4)
{
	if (k->meta != meta)
		return 0;
	if (ipv4)
		return su_load32(k->addr) == (uint32_t)w0;
	return su_load64(k->addr) == w0 && su_load64(k->addr + 8) == w1;
}

/* The key with hash `h` and contents (meta, w0, w1), or NULL. Bounded by the longest probe any
 * key needed: the BPF-friendly form of "until an empty slot", which it also is. */
static inline const struct su_view_key *su_view_probe(const struct su_view *v, uint64_t h,
						       uint32_t meta, uint64_t w0, uint64_t w1,
						       int ipv4)
{
	uint64_t slot = h >> v->slot_shift;
	uint32_t tag = (uint32_t)(h >> 32);

	for (uint32_t probe = 0; probe < v->max_probe; probe++) {
		const struct su_view_slot *s = &v->slots[slot];

		if (!s->key)
			return NULL;
		if (s->tag == tag) {
			const struct su_view_key *k = &v->keys[s->key - 1];

			/* Keys are unique: the one that matches is the only one. */
			if (su_view_key_is(k, meta, w0, w1, ipv4))
				return k;
		}
		slot = (slot + 1) & v->slot_mask;
	}
	return NULL;
}

/* The owner of `port` among a key's ranges (sorted, disjoint): the last range starting at or
 * below the port, if it reaches the port. Operators cut an address into even slices (16 of
 * 4096 ports, say), and then the port's offset from the first says which range it is in. Other
 * keys start with a guess that would be right if every range were as wide as the first: right
 * at once for those that are even but for a few, else a first split of the search like any
 * other; the rest halves a window that always holds the answer, with a select instead of a
 * branch (at most 16 steps for 65536 ranges). */
static inline const struct su_view_owner *su_view_range(const struct su_view *v,
							const struct su_view_key *k, uint16_t port)
{
	const struct su_port_range *r = &v->ranges[k->range_first];
	uint32_t n = k->range_count, guess;

	if (port < k->base)
		return NULL;
	guess = (uint32_t)(port - k->base) >> k->shift;
	if (k->even)
		return guess < n ? &v->fwd[r[guess].owner] : NULL;
	if (guess >= n)
		guess = n - 1;
	if (r[guess].first <= port) {
		if (port <= r[guess].last)
			return &v->fwd[r[guess].owner];
		r += guess;
		n -= guess;
	} else {
		n = guess; /* not 0: the first range starts at or below the port */
	}
	while (n > 1) {
		uint32_t half = n / 2;

		r = r[half].first <= port ? r + half : r;
		n -= half;
	}
	if (r->first <= port && port <= r->last)
		return &v->fwd[r->owner];
	return NULL;
}

/* su_view_lookup, handing out the owner's forwarding record. Longest prefix first; the first key
 * that has the port wins. TypeScript's validator guarantees that overlapping slices share an
 * owner, so which one does not matter. */
static __always_inline const struct su_view_owner *
su_view_find(const struct su_view *v, uint8_t family, const uint8_t *addr, uint8_t protocol,
	     uint16_t port)
{
	/* Any protocol but TCP and UDP finds no key: keys have no other (checked at build). */
	uint32_t proto = su_view_meta_protocol(protocol);

	if (family == SU_FAMILY_IPV4) {
		uint32_t a = su_load32(addr);

		for (uint32_t i = 0; i < v->ipv4_len_count; i++) {
			const struct su_view_len *l = &v->ipv4_lens[i];
			uint32_t w = a & (uint32_t)l->mask[0], meta = l->meta | proto;
			const struct su_view_key *k =
				su_view_probe(v, su_view_hash4(w, meta), meta, w, 0, 1);
			const struct su_view_owner *o = k ? su_view_range(v, k, port) : NULL;

			if (o)
				return o;
		}
	} else if (family == SU_FAMILY_IPV6) {
		uint64_t a0 = su_load64(addr), a1 = su_load64(addr + 8);

		for (uint32_t i = 0; i < v->ipv6_len_count; i++) {
			const struct su_view_len *l = &v->ipv6_lens[i];
			uint64_t w0 = a0 & l->mask[0], w1 = a1 & l->mask[1];
			uint32_t meta = l->meta | proto;
			const struct su_view_key *k =
				su_view_probe(v, su_view_hash6(w0, w1, meta), meta, w0, w1, 0);
			const struct su_view_owner *o = k ? su_view_range(v, k, port) : NULL;

			if (o)
				return o;
		}
	}
	return NULL;
}

/* The forwarding record of `owner`, one of `v`'s owners. */
static inline const struct su_view_owner *su_view_fwd(const struct su_view *v,
						      const struct su_owner *owner)
{
	return &v->fwd[owner - v->owners];
}

#endif /* SU_CORE_VIEW_H */
