/* Generic UDP Encapsulation (draft-ietf-intarea-gue-09) for the fast path: recognising and
 * unwrapping GUE sent to this host, and writing the outer headers in front of a packet.
 * Constants come from softunicast/gue.h (shared with the XDP program). Used by route.c. */
#ifndef SU_CORE_GUE_H
#define SU_CORE_GUE_H

#include <stdint.h>

#include "parse.h"
#include "view.h"

/* Whether `outer` is GUE for this host to unwrap: UDP to one of the host's own unicast
 * addresses, on the host's GUE port (0 turns decapsulation off). */
int su_gue_for_us(const struct su_host *host, const struct su_ip *outer);

/* Unwraps `outer` (for which su_gue_for_us holds): checks the sender is a trusted peer and the
 * GUE header is one we accept, then parses the inner IP datagram into `inner`. SU_PARSE_OK or
 * the packet's fate (drop_untrusted_gue, drop_gue_*, drop_fragment, drop_malformed). */
enum su_route_counter su_gue_decap(const struct su_view *view, const struct su_ip *outer,
				   struct su_ip *inner);

/* Bytes su_gue_encap writes: Ethernet, outer IPv4 or IPv6, UDP, and for variant 0 the GUE header. */
uint32_t su_gue_encap_len(const struct su_owner *owner);

/* Writes the outer headers for sending `inner` to the GUE owner `owner` into the
 * su_gue_encap_len(owner) bytes at `frame`, which end where the inner datagram starts. The
 * caller has checked that the host has a source address of the owner's family and that the
 * result fits the MTU (so every length fits its 16-bit field). */
void su_gue_encap(const struct su_host *host, const struct su_owner *owner,
		  const struct su_ip *inner, uint8_t *frame);

#endif /* SU_CORE_GUE_H */
