/* Seeded integer hashes of the one core: the GUE source port's flow entropy
 * (draft-ietf-intarea-gue-09 5.11.2) and the workers' fragment table (frags.c; the slice index
 * of view_index.h has a cheaper one of its own). Multiplies and shifts on 64-bit words: the same
 * values in the XDP program and the workers. Also flowhash-1, the source-derived rule of
 * structured addressing. */
#ifndef SU_CORE_FLOW_HASH_H
#define SU_CORE_FLOW_HASH_H

#include "target.h"

/* One absorbing step: multiplying by the 64-bit golden ratio spreads the word's low bits upward,
 * the shift brings high bits back down for the next step. */
SU_INLINE uint64_t su_hash_step(uint64_t h, uint64_t word)
{
	h = (h ^ word) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 32);
}

/* The finalizer of SplitMix64 (Steele, Lea, Flood, OOPSLA 2014): every input bit reaches every
 * output bit, so the low bits (the index slot, the source port) are as good as the high ones. */
SU_INLINE uint64_t su_hash_finish(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

/* The flow hash's state after its first word (seed, family, protocol): the same for every packet
 * of a family and protocol, so the fast path works it out once per table (view.c). */
SU_INLINE uint64_t su_flow_hash_start(uint32_t seed, uint8_t family, uint8_t protocol)
{
	return su_hash_step(seed, (uint64_t)family << 8 | protocol);
}

/* The rest of su_flow_hash, from a su_flow_hash_start state. */
SU_INLINE uint32_t su_flow_hash_from(uint64_t h, uint8_t family, const uint8_t *saddr,
					 const uint8_t *daddr, uint16_t sport, uint16_t dport)
{
	if (family == 4) {
		h = su_hash_step(h, (uint64_t)su_load32(saddr) << 32 | su_load32(daddr));
	} else {
		h = su_hash_step(h, su_load64(saddr));
		h = su_hash_step(h, su_load64(saddr + 8));
		h = su_hash_step(h, su_load64(daddr));
		h = su_hash_step(h, su_load64(daddr + 8));
	}
	h = su_hash_step(h, (uint64_t)sport << 16 | dport);
	return (uint32_t)su_hash_finish(h);
}

/* The flow hash behind the GUE source port: the same 5-tuple always gives the same value for one
 * seed (so a flow keeps one outer source port and its packets one ECMP path), different flows
 * spread. Addresses are 4 or 16 bytes in network order, ports in host order. */
SU_INLINE uint32_t su_flow_hash(uint32_t seed, uint8_t family, const uint8_t *saddr,
				    const uint8_t *daddr, uint8_t protocol, uint16_t sport,
				    uint16_t dport)
{
	return su_flow_hash_from(su_flow_hash_start(seed, family, protocol), family, saddr, daddr,
				 sport, dport);
}

/* Addresses as big-endian numbers: a load and a byte swap on the little-endian targets. */
SU_INLINE uint64_t su_load_be64(const uint8_t *p)
{
	return __builtin_bswap64(su_load64(p));
}

/* flowhash-1, the ssa1 source-derived rule (src/ssa/destination.ts deriveLow64): the low 64
 * bits a conforming destination has, finish(step(step(step(k0, s_hi), s_lo), k1)) of the
 * source's first source-bits bits (the masks). The address-slice kind's filter compares it with
 * the destination (addr_slice_kind.h); test/unit/ssa/flowhash1.c runs it against TypeScript. */
SU_INLINE uint64_t su_flowhash1(uint64_t k0, uint64_t k1, uint64_t mask_hi, uint64_t mask_lo,
				const uint8_t *saddr)
{
	uint64_t h = su_hash_step(k0, su_load_be64(saddr) & mask_hi);

	h = su_hash_step(h, su_load_be64(saddr + 8) & mask_lo);
	h = su_hash_step(h, k1);
	return su_hash_finish(h);
}

#endif /* SU_CORE_FLOW_HASH_H */
