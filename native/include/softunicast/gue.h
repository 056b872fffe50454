/* Generic UDP Encapsulation as we speak it (draft-ietf-intarea-gue-09): constants shared by the
 * XDP program's decapsulation (bpf/gue.h) and the fast path (native/core/gue.c). Compiles for
 * -target bpf and for the host. */
#ifndef SOFTUNICAST_GUE_H
#define SOFTUNICAST_GUE_H

/* IANA "gue" (draft section 5.11.1). */
#define SU_GUE_DEFAULT_PORT 6080
/* The source port carries flow entropy and SHOULD lie in the ephemeral range (5.11.2). */
#define SU_GUE_SOURCE_PORT_MIN 49152
#define SU_GUE_SOURCE_PORT_MASK 0x3fff /* 49152 + (hash & mask) stays within 49152..65535 */

/* Variant 0 header, first 32-bit word (section 3.1):
 *   byte 0: version (2 bits) | C (1 bit) | Hlen (5 bits, 32-bit words after this one)
 *   byte 1: Proto/ctype (IANA protocol number of the payload when C is 0)
 *   bytes 2-3: flags
 * Variant 1 (section 4) has no header: the first nibble of the payload is the IP version, whose
 * top two bits (01 for 4 and 6) are the variant. */
#define SU_GUE_V0_HEADER_LEN 4
#define SU_GUE_VARIANT(byte0) ((byte0) >> 6)
#define SU_GUE_CONTROL(byte0) (((byte0) >> 5) & 1)
#define SU_GUE_HLEN(byte0) ((byte0)&0x1f)
#define SU_GUE_PROTO_IPV4 4  /* IPPROTO_IPIP */
#define SU_GUE_PROTO_IPV6 41 /* IPPROTO_IPV6 */

/* Control messages (C bit set, section 3.2.2): Proto/ctype holds the control type. Ours come
 * from the range the draft's IANA considerations leave to private use ("user defined",
 * 128-255), so that no future standard type is taken for them. A health probe is a variant 0
 * control message with no flags and no optional fields, followed by a nonce; the peer's data
 * plane sends it back where it came from with the reply type and the nonce unchanged
 * (native/core/gue.h; the prober is src/router/peer-health.ts). */
#define SU_GUE_CTYPE_PROBE 128
#define SU_GUE_CTYPE_PROBE_REPLY 129
#define SU_GUE_PROBE_NONCE_LEN 8

/* Outer headers written by the encapsulator. */
#define SU_GUE_OUTER_TTL 64

#endif /* SOFTUNICAST_GUE_H */
