/* The XDP program's half of the one core's target layer (native/core/tables.h lists it): the
 * table is the live bank of the maps in bpf/maps.h, fragments an LRU map, packet sums the
 * kernel's bpf_csum_diff in chunks, and the frame moves with bpf_xdp_adjust_head/tail. Included
 * by bpf/steer.bpf.c before the core's stages. */
#ifndef SU_BPF_TARGET_H
#define SU_BPF_TARGET_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"

SU_INLINE const struct su_meta *su_tbl_meta(su_tbl bank)
{
	return bpf_map_lookup_elem(&su_meta, &bank);
}

SU_INLINE const struct su_key_ranges *su_tbl_key(su_tbl bank, uint32_t meta, uint64_t w0,
						 uint64_t w1, int ipv4)
{
	struct su_key_id id = { .meta = meta, .w0 = w0, .w1 = ipv4 ? 0 : w1 };
	void *keys = bpf_map_lookup_elem(&su_keys, &bank);

	return keys ? bpf_map_lookup_elem(keys, &id) : 0;
}

SU_INLINE const struct su_port_range *su_tbl_range(su_tbl bank, uint32_t index)
{
	void *ranges = bpf_map_lookup_elem(&su_ranges, &bank);

	return ranges ? bpf_map_lookup_elem(ranges, &index) : 0;
}

SU_INLINE const struct su_flow_svc *su_tbl_flow_service(su_tbl bank, const struct su_flow_key *k)
{
	void *services = bpf_map_lookup_elem(&su_flow_services, &bank);

	return services ? bpf_map_lookup_elem(services, k) : 0;
}

SU_INLINE const struct su_flow_row *su_tbl_flow_row(su_tbl bank, uint32_t index)
{
	void *rows = bpf_map_lookup_elem(&su_flow_rows, &bank);

	return rows ? bpf_map_lookup_elem(rows, &index) : 0;
}

SU_INLINE const struct su_fwd *su_tbl_fwd(su_tbl bank, uint32_t owner)
{
	void *fwd = bpf_map_lookup_elem(&su_fwd, &bank);

	return fwd ? bpf_map_lookup_elem(fwd, &owner) : 0;
}

SU_INLINE int su_tbl_peer(su_tbl bank, uint8_t family, const uint8_t *addr)
{
	struct su_peer_key k = { .family = family };
	void *peers = bpf_map_lookup_elem(&su_peers, &bank);

	if (!peers)
		return 0;
	__builtin_memcpy(k.addr, addr, 16);
	return bpf_map_lookup_elem(peers, &k) != 0;
}

SU_INLINE int su_tbl_peer_mac(su_tbl bank, const uint8_t *mac)
{
	const struct su_meta *m = su_tbl_meta(bank);

	return m && m->mac_peer_count && su_meta_peer_mac(m, mac);
}

/* The first `bits` (0..64) bits of a word in memory order, as a machine-order mask. */
SU_INLINE uint64_t su_word_mask(uint32_t bits)
{
	if (bits == 0)
		return 0;
	if (bits >= 64)
		return ~0ULL;
	return __builtin_bswap64(~0ULL << (64 - bits));
}

/* Whether `addr` lies in the prefix `prefix`/`len` (16 bytes each, network order): two masked
 * 64-bit compares, little stack for a bpf_loop callback. */
SU_INLINE int su_prefix_match(const uint8_t *addr, const uint8_t *prefix, uint32_t len)
{
	uint64_t m0 = su_word_mask(len), m1 = su_word_mask(len > 64 ? len - 64 : 0);

	return ((su_load64(addr) ^ su_load64(prefix)) & m0) == 0 &&
	       ((su_load64(addr + 8) ^ su_load64(prefix + 8)) & m1) == 0;
}

/* A trusted-peer check under way, for bpf_loop. */
struct su_trust {
	uint8_t addr[16];
	uint32_t bank;
	uint32_t family;
	uint32_t trusted;
};

static long su_trust_cb(__u64 i, void *ctx)
{
	struct su_trust *s = ctx;
	uint32_t key = (s->bank & 1) * SU_TRUSTED_PEERS_MAX + (uint32_t)(i & (SU_TRUSTED_PEERS_MAX - 1));
	const struct su_prefix *p = bpf_map_lookup_elem(&su_trusted, &key);

	if (!p || p->family == SU_FAMILY_NONE)
		return 1;
	s->trusted = p->family == s->family && su_prefix_match(s->addr, p->addr, p->prefix_len);
	return s->trusted;
}

/* Whether `addr` lies in a trusted peer prefix of the bank: a bank's list ends at its first
 * family 0. bpf_loop, so that the verifier checks one prefix, not every way through 64. */
SU_INLINE int su_tbl_trusted(su_tbl bank, uint8_t family, const uint8_t *addr)
{
	struct su_trust s = { .bank = bank, .family = family };

	__builtin_memcpy(s.addr, addr, 16);
	bpf_loop(SU_TRUSTED_PEERS_MAX, su_trust_cb, &s, 0);
	return (int)s.trusted;
}

SU_INLINE int su_frag_find(su_frag_state f, const struct su_ip *p, uint64_t generation,
			   uint32_t *owner)
{
	struct su_frag_key k;
	const struct su_frag_value *v;

	(void)f;
	su_frag_key_of(p, &k);
	v = bpf_map_lookup_elem(&su_frags, &k);
	if (!v || v->expires_ns <= bpf_ktime_get_ns() || v->generation != generation)
		return 0;
	*owner = v->owner;
	return 1;
}

SU_INLINE void su_frag_save(su_frag_state f, const struct su_ip *p, uint64_t generation, uint32_t owner)
{
	struct su_frag_key k;
	struct su_frag_value v = { .generation = generation, .owner = owner };

	(void)f;
	su_frag_key_of(p, &k);
	v.expires_ns = bpf_ktime_get_ns() + SU_FRAG_TTL_NS;
	bpf_map_update_elem(&su_frags, &k, &v, BPF_ANY);
}

/* The sum of `len` packet bytes from `off`, started from `seed`: a function of its own, verified
 * once (inlined, its ways through the chunks would multiply the states of every caller). */
__attribute__((noinline)) int su_csum_packet(struct xdp_md *ctx, uint32_t off, uint32_t len,
					     uint32_t seed);

SU_INLINE uint32_t su_csum_range(const struct su_buf *b, uint32_t off, uint32_t len, uint32_t seed)
{
	int sum = su_csum_packet(b->ctx, off, len, seed);

	/* -1: the bytes are not all there; a sum no correct checksum folds to. */
	return sum < 0 ? 0x5a5a5a5a : (uint32_t)sum;
}

/* This CPU's bucket (the map always has its one slot; NULL would mean no answer). */
SU_INLINE struct su_icmp_tokens *su_icmp_tokens(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&su_icmp_budget, &zero);
}

SU_INLINE uint64_t su_now_ns(void)
{
	return bpf_ktime_get_ns();
}

#include "frame.h"
#include "../native/core/lookup.h"

/* bpf_loop's callback: one prefix length (the verifier checks it once, whatever the count). */
static long su_len_cb(__u64 i, void *ctx)
{
	struct su_lookup *s = ctx;
	const struct su_meta *m = su_tbl_meta(s->t);
	const struct su_len *l = m ? su_len_at(m, s->ipv4, (uint32_t)i) : 0;

	return !l || su_lookup_step(s, l);
}

SU_INLINE void su_each_len(struct su_lookup *s, const struct su_meta *m)
{
	bpf_loop(s->ipv4 ? m->ipv4_len_count : m->ipv6_len_count, su_len_cb, s, 0);
}

#endif /* SU_BPF_TARGET_H */
