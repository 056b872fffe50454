/* Internet checksums (RFC 1071) for both targets of the core: GUE's outer IPv4 header (RFC 791)
 * and UDP checksum (RFC 768; mandatory over IPv6, RFC 8200 8.1), written by the encapsulator and
 * verified by the decapsulator (draft-ietf-intarea-gue-09 5.8). Sums over bytes the core holds
 * (headers it built, pseudo-headers) are plain loops here; sums over packet bytes go through the
 * target's su_csum_range (native/core/user.h, bpf/target.h), since BPF reads packets in chunks.
 * Sums are in the machine's byte order: RFC 1071 2(B) shows the sum is byte-order independent,
 * so the folded result, stored as is, is already in network order. */
#ifndef SU_CORE_CHECKSUM_H
#define SU_CORE_CHECKSUM_H

#include "target.h"

/* Adds `len` bytes at `buf` (not packet memory in BPF) to a ones' complement sum. 32-bit loads
 * are fine because 2^16 = 1 (mod 2^16 - 1). Every chunk but the last must have an even length,
 * or later bytes land in the wrong half of their 16-bit word. Bounded by `len`. */
SU_INLINE uint64_t su_csum_add(uint64_t sum, const void *buf, uint32_t len)
{
	const uint8_t *p = (const uint8_t *)buf;

	for (; len >= 4; p += 4, len -= 4)
		sum += su_load32(p);
	if (len >= 2) {
		sum += su_load16(p);
		p += 2;
		len -= 2;
	}
	if (len) {
		/* The odd last byte is the high byte of a word padded with zero (RFC 768). */
		const uint8_t last[2] = { p[0], 0 };

		sum += su_load16(last);
	}
	return sum;
}

/* A 64-bit sum folded to 32 bits without losing carries: what the targets' range sums return. */
SU_INLINE uint32_t su_csum_fold32(uint64_t sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	return (uint32_t)sum;
}

/* Folds a sum to 16 bits and complements it: the checksum, in network order as stored. A
 * correct header or datagram, its checksum included, gives 0. */
SU_INLINE uint16_t su_csum_finish(uint64_t sum)
{
	sum = su_csum_fold32(sum);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The UDP pseudo-header's sum for `udp_len` bytes from `saddr` to `daddr` (4 or 16 bytes). */
SU_INLINE uint64_t su_pseudo_sum(uint8_t family, const uint8_t *saddr, const uint8_t *daddr,
				 uint32_t udp_len)
{
	if (family == SU_FAMILY_IPV4) {
		const uint8_t tail[4] = { 0, 17, (uint8_t)(udp_len >> 8), (uint8_t)udp_len };

		return su_csum_add(su_csum_add(su_csum_add(0, saddr, 4), daddr, 4), tail, 4);
	} else {
		const uint8_t tail[8] = { (uint8_t)(udp_len >> 24), (uint8_t)(udp_len >> 16),
					  (uint8_t)(udp_len >> 8), (uint8_t)udp_len, 0, 0, 0, 17 };

		return su_csum_add(su_csum_add(su_csum_add(0, saddr, 16), daddr, 16), tail, 8);
	}
}

#endif /* SU_CORE_CHECKSUM_H */
