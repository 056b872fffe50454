/* Prefixes in table images (view_prefix.c): host bits, lengths, how messages name them. Used by
 * view_check.c, view_addr.c and view.c. */
#ifndef SU_CORE_VIEW_PREFIX_H
#define SU_CORE_VIEW_PREFIX_H

#include <stddef.h>
#include <stdint.h>

#include "tables.h"
#include "softunicast/core.h"

/* The bits of an address of `family`. */
static inline uint8_t su_max_prefix(uint8_t family)
{
	return family == SU_FAMILY_IPV4 ? 32 : 128;
}

/* Family, prefix length and host bits of a prefix (trusted peer, slice key, peer). `what` and
 * `index` name it for the message ("trusted prefix 3", "key 12"): messages are only formatted on
 * failure, since a million keys must check in well under a second. */
int su_check_prefix(const char *what, uint32_t index, uint8_t family, uint8_t prefix_len,
		    const uint8_t *addr, struct su_error *err);
/* "UDP 10.0.0.0/24": a key as messages name it. */
const char *su_describe_key(char *buf, size_t size, const struct su_slice_key *k);
/* Keeps the first `prefix_len` bits of `addr` (IPv4 in the first 4 of 16 bytes) in `out`. */
void su_mask_addr(uint8_t out[16], const uint8_t *addr, uint8_t family, uint8_t prefix_len);

#endif /* SU_CORE_VIEW_PREFIX_H */
