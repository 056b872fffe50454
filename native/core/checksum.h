/* Internet checksums of GUE's outer headers: the IPv4 header's (RFC 791) and the UDP checksum
 * (RFC 768; mandatory over IPv6, RFC 8200 8.1), written by the encapsulator and verified by the
 * decapsulator (draft-ietf-intarea-gue-09 5.8). Header-only; used by gue.c. */
#ifndef SU_CORE_CHECKSUM_H
#define SU_CORE_CHECKSUM_H

#include <stdint.h>
#include <string.h>

/* Adds `len` bytes to a ones' complement sum (RFC 1071). The words are summed in the machine's
 * byte order: RFC 1071 2(B) shows the sum is byte-order independent, so the folded result, stored
 * as is, is already in network order. 32-bit loads are fine because 2^16 = 1 (mod 2^16 - 1).
 * Every chunk but the last must have an even length, or later bytes land in the wrong half of
 * their 16-bit word. The loop is bounded by `len` (at most a 64 KiB datagram). */
static inline uint64_t su_csum_add(uint64_t sum, const void *buf, uint32_t len)
{
	const uint8_t *p = buf;
	uint32_t w32;
	uint16_t w16;

	for (; len >= 4; p += 4, len -= 4) {
		memcpy(&w32, p, 4);
		sum += w32;
	}
	if (len >= 2) {
		memcpy(&w16, p, 2);
		sum += w16;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* The odd last byte is the high byte of a word padded with zero (RFC 768). */
		const uint8_t last[2] = { p[0], 0 };

		memcpy(&w16, last, 2);
		sum += w16;
	}
	return sum;
}

/* Folds a sum to 16 bits and complements it: the checksum, in network order as stored. */
static inline uint16_t su_csum_finish(uint64_t sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Fills in the checksum of the IPv4 header at `ip` (`ihl_bytes` long, checksum field at 10). */
static inline void su_ipv4_set_checksum(uint8_t *ip, uint32_t ihl_bytes)
{
	uint16_t csum;

	ip[10] = ip[11] = 0;
	csum = su_csum_finish(su_csum_add(0, ip, ihl_bytes));
	memcpy(ip + 10, &csum, 2);
}

/* Fills in the checksum of the UDP datagram at `udp` (`udp_len` bytes, header included) sent
 * from `saddr` to `daddr` over IPv6: the pseudo-header is both addresses, the upper-layer
 * length as 32 bits and the next header 17 (RFC 8200 8.1). A result of zero is sent as 0xffff,
 * zero meaning "no checksum" (RFC 768). */
static inline void su_udp6_set_checksum(uint8_t *udp, uint32_t udp_len, const uint8_t *saddr,
					const uint8_t *daddr)
{
	const uint8_t tail[8] = { (uint8_t)(udp_len >> 24), (uint8_t)(udp_len >> 16),
				  (uint8_t)(udp_len >> 8), (uint8_t)udp_len, 0, 0, 0, 17 };
	uint64_t sum = 0;
	uint16_t csum;

	udp[6] = udp[7] = 0;
	sum = su_csum_add(sum, saddr, 16);
	sum = su_csum_add(sum, daddr, 16);
	sum = su_csum_add(sum, tail, sizeof(tail));
	sum = su_csum_add(sum, udp, udp_len);
	csum = su_csum_finish(sum);
	if (csum == 0)
		csum = 0xffff;
	memcpy(udp + 6, &csum, 2);
}

/* Whether the UDP datagram at `udp` (`udp_len` bytes, as its length field says) carries a
 * correct non-zero checksum: summed with its pseudo-header (RFC 768 for IPv4, RFC 8200 8.1 for
 * IPv6) and the checksum field itself, a correct datagram sums to all ones. `family` is 4 or 6,
 * the addresses 4 or 16 bytes. Checks what the receiver of a zero checksum would skip too: the
 * caller decides what zero means. */
static inline int su_udp_checksum_ok(uint8_t family, const uint8_t *saddr, const uint8_t *daddr,
				     const uint8_t *udp, uint32_t udp_len)
{
	uint64_t sum = 0;

	if (family == 4) {
		const uint8_t tail[4] = { 0, 17, (uint8_t)(udp_len >> 8), (uint8_t)udp_len };

		sum = su_csum_add(sum, saddr, 4);
		sum = su_csum_add(sum, daddr, 4);
		sum = su_csum_add(sum, tail, sizeof(tail));
	} else {
		const uint8_t tail[8] = { (uint8_t)(udp_len >> 24), (uint8_t)(udp_len >> 16),
					  (uint8_t)(udp_len >> 8), (uint8_t)udp_len, 0, 0, 0, 17 };

		sum = su_csum_add(sum, saddr, 16);
		sum = su_csum_add(sum, daddr, 16);
		sum = su_csum_add(sum, tail, sizeof(tail));
	}
	return su_csum_finish(su_csum_add(sum, udp, udp_len)) == 0;
}

/* Whether the IPv4 header at `ip` (`ihl_bytes` long) has a correct checksum (RFC 791). */
static inline int su_ipv4_checksum_ok(const uint8_t *ip, uint32_t ihl_bytes)
{
	return su_csum_finish(su_csum_add(0, ip, ihl_bytes)) == 0;
}

#endif /* SU_CORE_CHECKSUM_H */
