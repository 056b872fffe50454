/* The compiled table as the packet path reads it, one layout for both targets of the one core:
 * the workers' view (native/core/view.c, in memory) and the XDP program's maps (bpf/maps.h,
 * filled by native/router/xdp_tables.c from the same view). Derived from the image
 * (softunicast/table.h) by su_view_build, never written by TypeScript. Included through
 * softunicast/abi.h; compiles for -target bpf and for the host. */
#ifndef SOFTUNICAST_TABLES_H
#define SOFTUNICAST_TABLES_H

#include <linux/types.h>

#include "softunicast/table.h"

#define SU_LENS_IPV4 33  /* prefix lengths 0..32 */
/* Servers of this data centre reached by L2: a segment's worth, checked per packet. */
#define SU_MAC_PEERS_MAX 32
#define SU_LENS_IPV6 129 /* prefix lengths 0..128 */

/* A prefix length present in the table, with what a lookup at that length needs. */
struct su_len {
	__u64 mask[2]; /* the prefix's bits of address bytes 0-7 and 8-15, loaded as words */
	__u32 meta;    /* a key's first word with this family and length, protocol 0 */
	__u32 pad0;
};

/* A key's port ranges as the lookup reads them: where they are in the range section, and what
 * they look like. `base` is the first range's first port, `shift` the power of two its width
 * rounds down to: where a port's range would be if they all were that wide; `even` says they
 * are, back to back from `base`, each 1 << shift ports wide (operators cut addresses so). */
struct su_key_ranges {
	__u32 first;
	__u32 count; /* at least 1 */
	__u16 base;
	__u8 shift;
	__u8 even;
};

/* What the XDP program looks a key up by: its first word (family, prefix length, protocol, 0)
 * and the masked address as two machine-order words (an IPv4 address in w0, w1 zero). */
struct su_key_id {
	__u32 meta;
	__u32 pad0;
	__u64 w0;
	__u64 w1;
};

/* What a flow-hash service is looked up by (native/core/flow_hash_kind.h): the packet's family,
 * protocol, destination port (host order) and destination address. An address alone (protocol 0,
 * port 0) asks whether any service has that address (a packet to it is managed even when its
 * ports cannot be read). 20 bytes, no padding: the XDP program's hash key as it stands. */
struct su_flow_key {
	__u8 family;
	__u8 protocol;
	__u16 port;
	__u8 addr[16];
};

/* A service as the lookup reads it: its rows start at `row_first`, `rows` of them (0: an
 * address-only entry). */
struct su_flow_svc {
	__u32 row_first;
	__u32 rows;
};

/* Where a packet came from, as far as forwarding is concerned (struct su_fwd's fates). */
#define SU_FROM_WIRE 0   /* anyone else: the Internet, a client */
#define SU_FROM_DC 1     /* in GUE from a trusted peer that is not a server of this data centre */
#define SU_FROM_SERVER 2 /* from a server of this data centre: in GUE, or L2-forwarded */

/* What the XDP program looks a peer up by (the workers halve the image's sorted list). */
struct su_peer_key {
	__u8 family;
	__u8 pad0[3];
	__u8 addr[16];
};

/* Outer Ethernet + IPv6 + UDP + GUE variant 0 header is 66 bytes; whole words hold it. */
#define SU_FWD_HDR_MAX 72
/* GLB's outer headers (SU_ENCAP_GLB): Ethernet, IPv4, UDP, GUE's first word and GLB's private
 * word (type, next hop index, hop count), before any hop: 14 + 20 + 8 + 4 + 4. */
#define SU_GLB_HDR_LEN 50
#define SU_GLB_PRIVATE_LEN 4u /* GLB's private word, which Hlen counts */
#define SU_GLB_HOP_LEN 4u    /* one IPv4 hop of the list */

/* Forwarding to one owner: what does not depend on the packet, worked out once per table.
 * The fates are the route counter of a packet for this owner when it came from the wire, in
 * GUE from another data centre, or from a server of this data centre (in GUE or by L2): a
 * forward, or the drop that applies whatever the packet (local, loop, no next hop, no source).
 * For GUE owners, the outer headers as they will be sent, the per-packet fields (lengths,
 * checksums, source port, Proto) zero. */
struct su_fwd {
	/* IPv4 outer: the header's ones' complement sum (RFC 1071), folded, in host order, with
	 * the outer headers' part of the total length. IPv6 outer: the UDP pseudo-header's sum
	 * without the length (RFC 8200 8.1), as su_csum_add leaves it. */
	__u64 csum;
	/* The longest IP datagram that fits the interface's MTU once sent this way. */
	__u32 max_ip_len;
	__u8 fate;
	__u8 fate_from_dc;
	__u8 fate_from_server;
	__u8 kind;      /* enum su_owner_kind */
	__u8 hdr_len;   /* GUE: bytes written in front of the IP datagram: 42, 46, 50, 62 or 66 */
	__u8 udp_extra; /* GUE: UDP and GUE header bytes, which the UDP length adds */
	__u8 ipv4;      /* GUE over IPv4 (else over IPv6) */
	/* SU_ENCAP_GLB (a server, whatever its fates): its headers carry a hop list of no hop
	 * (hdr_len 50), to which a flow-hash row's secondary adds one (route.h, su_glb_write);
	 * `glb_addr` is its IPv4 endpoint, the hop a row whose secondary it is writes. */
	__u8 glb;
	__u8 glb_addr[4];
	/* GUE: Ethernet, IP, UDP and GUE headers for an inner IPv4 [0] and IPv6 [1] datagram
	 * (variant 0's Proto differs). L2: the first 12 bytes of [0] are the Ethernet destination
	 * and source. Each starts on an 8-byte boundary, so that a new next hop's MAC address is
	 * one 8-byte store for a reader of the live record (su_view_set_next_hop). */
	__u8 hdr[2][SU_FWD_HDR_MAX];
};

/* An address-slice service as the lookup reads it (native/core/addr_slice_kind.h), worked out
 * once per table from struct su_addr_service: the prefix as a number and its mask, where its
 * rows start among the view's rows (after the flow-hash rows), and the source filter's words. */
struct su_addr_meta {
	__u64 prefix;   /* the destination's first 64 bits, big-endian as a number, masked */
	__u64 mask;
	__u64 k0;       /* flowhash-1's key words and the source's masks (filter set) */
	__u64 k1;
	__u64 src_mask_hi;
	__u64 src_mask_lo;
	__u32 row_first;    /* index into the view's rows (su_tbl_flow_row) */
	__u32 filter_owner;
	__u8 prefix_len;
	__u8 bits;
	__u8 filter;        /* SU_ADDR_FILTER_* */
	__u8 pad0[5];
};

/* Everything per table that is not per key, range or owner. */
struct su_meta {
	__u64 generation;
	/* su_flow_hash_start(host seed, family, protocol): [inner IPv6][UDP], for TCP and UDP. */
	__u64 flow_start[2][2];
	__u32 owner_count;
	__u32 peer_count;     /* servers of this data centre */
	__u32 mac_peer_count; /* of them reached by L2: a frame from their MAC was forwarded */
	__u8 ipv4_len_count;
	__u8 ipv6_len_count;
	__u8 kind_count; /* key kinds in kinds[], at most SU_SECTIONS_MAX */
	__u8 addr_count; /* address-slice services in addr[] */
	/* The key kinds the table has sections of (enum su_key_kind), in the image's order: the
	 * lookup stage asks each in turn (native/core/route.h). */
	__u8 kinds[SU_SECTIONS_MAX];
	struct su_host host;
	/* The L2 peers' MAC addresses (8 bytes each, the last 2 zero), mac_peer_count of them. */
	__u8 macs[SU_MAC_PEERS_MAX][8];
	/* Prefix lengths present per family, longest first: a lookup tries each once. */
	struct su_len ipv4_lens[SU_LENS_IPV4];
	struct su_len ipv6_lens[SU_LENS_IPV6];
	struct su_addr_meta addr[SU_ADDR_SERVICES_MAX];
};

#endif /* SOFTUNICAST_TABLES_H */
