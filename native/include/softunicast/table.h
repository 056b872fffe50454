/* The compiled slice table: the binary image TypeScript (src/slices/compile.ts) writes and the
 * native fast path (native/core/view.c) reads, plus the host settings the XDP program shares.
 * Included through softunicast/abi.h; compiles for -target bpf and for the host.
 *
 * Image layout, all counts and ports in host byte order (the image never leaves the machine that
 * built it), addresses in network order. First the parts every table has, back to back:
 *   struct su_table_header                                  with the list of key-kind sections
 *   struct su_prefix        trusted[header.trusted_count]   GUE peers we decapsulate from
 *   struct su_peer          peers[header.peer_count]        the servers of this data centre
 *   struct su_owner         owners[header.owner_count]
 * then one section per key kind the table uses (header.sections: kind, offset, size), which
 * tile the rest of the image without gap or overlap, each kind at most once:
 *   SU_KEY_KIND_PORT_SLICE:
 *     struct su_slice_key   keys[header.key_count]          unique (family, prefix, protocol, addr)
 *     struct su_port_range  ranges[header.range_count]      each key's run sorted, disjoint
 *   SU_KEY_KIND_FLOW_HASH (issue 15: a service's Maglev table over the flow hash):
 *     struct su_flow_head   head                            its own counts (no header field)
 *     struct su_flow_service services[head.service_count]   sorted by (family, protocol, port,
 *                                                           addr), unique
 *     struct su_flow_row    rows[head.service_count * head.rows]
 *   SU_KEY_KIND_ADDRESS_SLICE (issue 16: a service's IPv6 prefix cut into address slices):
 *     struct su_addr_head   head                            its own counts
 *     struct su_addr_service services[head.service_count]   disjoint prefixes
 *     struct su_flow_row    rows[head.row_count]            service i's 2^bits rows from its
 *                                                           row_first: its slices, by index
 * Every struct's size is a multiple of 4, so every section stays 4-byte aligned. */
#ifndef SOFTUNICAST_TABLE_H
#define SOFTUNICAST_TABLE_H

#include <linux/types.h>

#define SU_TABLE_MAGIC 0x42545553u /* "SUTB" read as a little-endian u32 */
#define SU_TRUSTED_PEERS_MAX 64
/* Local slices the XDP program checks per packet (a bounded loop, so kept small). */
#define SU_LOCAL_RULES_MAX 64

/* The host's own side of forwarding: what it writes as outer source and what it decapsulates.
 * Lives in the table image and, unchanged, in the XDP program's `su_host` map. */
#define SU_HOST_HAS_IPV4 (1u << 0)
#define SU_HOST_HAS_IPV6 (1u << 1)
struct su_host {
	__u8 mac[6];          /* the port interface's MAC: outer source MAC */
	__u16 mtu;            /* the port interface's MTU: larger encapsulated packets are dropped */
	__u16 gue_port;       /* UDP port we decapsulate GUE on; 0 disables decapsulation */
	__u8 flags;           /* SU_HOST_HAS_* */
	__u8 pad0;
	__u32 flow_hash_seed; /* seeds the GUE source port hash (draft-ietf-intarea-gue-09 5.11.2) */
	__u8 ipv4[4];         /* this host's unicast IPv4: outer source, GUE destination */
	__u8 ipv6[16];        /* this host's unicast IPv6 */
};

/* The key kinds: each a way of finding a packet's owner, with its own section of the image
 * (its layout above), its checks and index (native/core/view.c), and its lookup (a case of the
 * switch in native/core/route.h, su_kind_lookup). X(NAME, value, "name", doc): "name" is how
 * TypeScript and messages spell it (src/slices/kinds.ts lists the TypeScript modules). Value 0
 * is never a kind: an unused section entry is all zero. */
#define SU_KEY_KINDS(X)                                                                         \
	X(PORT_SLICE, 1, "port-slice",                                                         \
	  "destination address or prefix, protocol and port range (soft-unicast)")        \
	X(FLOW_HASH, 2, "flow-hash", "a service's Maglev table over the flow hash")             \
	X(ADDRESS_SLICE, 3, "address-slice",                                                   \
	  "a service's IPv6 prefix cut into slices by bits of the destination")
enum su_key_kind {
#define SU_X(name, value, text, doc) SU_KEY_KIND_##name = value,
	SU_KEY_KINDS(SU_X)
#undef SU_X
};

/* Sections an image may list: one per kind, with room for the kinds to come (flow-hash,
 * address-slice). The packet path tries each listed kind in this order. */
#define SU_SECTIONS_MAX 4

/* Where one key kind's section lies: `offset` bytes from the image's start, `size` bytes long. */
struct su_section {
	__u32 kind; /* enum su_key_kind */
	__u32 offset;
	__u32 size;
};

struct su_table_header {
	__u32 magic;       /* SU_TABLE_MAGIC */
	__u32 abi_version; /* SU_ABI_VERSION */
	__u64 generation;  /* chosen by the publisher, shown in the counters */
	__u32 trusted_count;
	__u32 owner_count;
	__u32 key_count;   /* the port-slice section's keys (0 without one) */
	__u32 range_count; /* the port-slice section's ranges (0 without one) */
	struct su_host host;
	__u32 peer_count;
	__u32 section_count; /* at most SU_SECTIONS_MAX; the entries past it are all zero */
	struct su_section sections[SU_SECTIONS_MAX];
	__u32 pad0;
};

/* A server of this data centre (every one the table defines, with slices or without): what a
 * packet forwarded by it looks like, so that it is never forwarded again (no loops, DESIGN.md).
 * It sends GUE from `addr`; an L2 server (SU_PEER_HAS_MAC) rewrites the Ethernet source to
 * `mac`. Sorted by (family, addr), unique. */
#define SU_PEER_HAS_MAC (1u << 0)
#define SU_PEERS_MAX 4096
struct su_peer {
	__u8 family; /* SU_FAMILY_IPV4 or SU_FAMILY_IPV6 */
	__u8 flags;  /* SU_PEER_* */
	__u8 mac[6];
	__u8 addr[16]; /* network order; IPv4 in the first 4 bytes, the rest zero */
};

/* An address prefix: trusted GUE peers (source addresses). */
struct su_prefix {
	__u8 family; /* SU_FAMILY_IPV4 or SU_FAMILY_IPV6 */
	__u8 prefix_len;
	__u8 pad0[2];
	__u8 addr[16]; /* network order, host bits zero */
};

/* Who owns a slice, and how packets reach it. */
#define SU_OWNERS(X)                                                              \
	X(LOCAL, 1, "this host: the XDP program passes its packets to the kernel")   \
	X(SERVER, 2, "another server of this data centre")                           \
	X(DATACENTER, 3, "another data centre, through its backbone endpoint")
enum su_owner_kind {
#define SU_X(name, value, doc) SU_OWNER_##name = value,
	SU_OWNERS(SU_X)
#undef SU_X
};

#define SU_ENCAPS(X)                                                                        \
	X(GUE0, 0, "GUE variant 0: a 4-byte header naming the inner protocol (4 or 41)")       \
	X(GUE1, 1, "GUE variant 1: no GUE header, the inner IP packet right after UDP")       \
	X(L2, 2, "no encapsulation: the Ethernet destination becomes the server's MAC address") \
	X(GLB, 3, "GUE variant 0 carrying GLB director's hop list (a flow-hash row's secondary as "  \
		  "alternate hop), to a server's IPv4 address")
enum su_encap {
#define SU_X(name, value, doc) SU_ENCAP_##name = value,
	SU_ENCAPS(SU_X)
#undef SU_X
};

#define SU_OWNER_NEXT_HOP_KNOWN (1u << 0) /* next_hop_mac is valid */
struct su_owner {
	__u8 kind;            /* enum su_owner_kind */
	__u8 encap;           /* enum su_encap; unused for LOCAL */
	__u8 family;          /* endpoint's family for GUE, SU_FAMILY_NONE otherwise */
	__u8 flags;           /* SU_OWNER_* */
	__u16 gue_port;       /* GUE destination port */
	__u8 next_hop_mac[6]; /* outer destination MAC (GUE), or the server's own MAC (L2) */
	__u8 endpoint[16];    /* GUE destination: the server's or data centre's address */
	__u32 pad0;
};

struct su_slice_key {
	__u8 family;      /* SU_FAMILY_IPV4 or SU_FAMILY_IPV6 */
	__u8 prefix_len;  /* 0..32 or 0..128 */
	__u8 protocol;    /* IPPROTO_TCP (6) or IPPROTO_UDP (17) */
	__u8 pad0;
	__u32 range_first; /* index of the key's first struct su_port_range */
	__u32 range_count; /* at least 1 */
	__u8 addr[16];     /* network order, host bits zero */
};

struct su_port_range {
	__u16 first; /* inclusive */
	__u16 last;  /* inclusive */
	__u32 owner; /* index into owners */
};

/* The flow-hash section's head: its own counts, so that the kind adds no header field. Every
 * service has `rows` rows (a prime: Maglev's table size, NSDI'16 3.4); a flow's row is its flow
 * hash (native/core/flow_hash.h, with the host's seed: the GUE source port's hash) mod rows. */
#define SU_FLOW_ROWS_MAX (1u << 24)     /* src/lb/maglev.ts MAGLEV_MAX_SIZE */
#define SU_FLOW_SECTION_ROWS_MAX (1u << 26) /* rows of all services together: 512 MiB at most */
struct su_flow_head {
	__u32 service_count;
	__u32 rows;
};

/* A service: (family, protocol, destination port, destination address) whose flows spread over
 * rows row_first .. row_first + head.rows - 1 (a multiple of head.rows: services may share). */
struct su_flow_service {
	__u8 family;   /* SU_FAMILY_IPV4 or SU_FAMILY_IPV6 */
	__u8 protocol; /* IPPROTO_TCP (6) or IPPROTO_UDP (17) */
	__u16 port;    /* host order */
	__u8 addr[16]; /* network order; IPv4 in the first 4 bytes, the rest zero */
	__u32 row_first;
};

/* A Maglev row: new flows go to `primary`; `secondary` is the row's previous primary, for second
 * chance (GLB director's rule, src/lb/second-chance.ts); equal to primary when there is none.
 * Both index owners. */
struct su_flow_row {
	__u32 primary;
	__u32 secondary;
};

/* The address-slice section's head (issue 16, docs/structured-addressing.md). A service is an
 * IPv6 prefix of at most /64 (SU_ADDR_PREFIX_MAX); the `bits` bits of the destination after it
 * index its 2^bits rows directly: one row per slice of the finest length (prefix + bits), a
 * coarser slice filling 2^(finest - its length) rows. One load per packet whatever the number
 * of slices (docs/design.md, "address-slice"); the cost is memory, capped at 2^20 rows (8 MiB) a
 * service. Few services (SU_ADDR_SERVICES_MAX): the view copies them into struct su_meta. */
#define SU_ADDR_SERVICES_MAX 4
#define SU_ADDR_PREFIX_MAX 64
#define SU_ADDR_BITS_MAX 20
struct su_addr_head {
	__u32 service_count; /* at most SU_ADDR_SERVICES_MAX */
	__u32 row_count;     /* the sum of the services' 2^bits */
};

/* What a packet to a source-derived service whose destination does not conform to its source
 * (flowhash-1, src/ssa/destination.ts conforms) meets: nothing checked, a drop (the route counter
 * drop_ssa_source), or a low-priority owner (`filter_owner`). */
#define SU_ADDR_FILTER_NONE 0
#define SU_ADDR_FILTER_DROP 1
#define SU_ADDR_FILTER_OWNER 2

/* A service: its prefix and how its destinations are cut and checked. */
struct su_addr_service {
	__u8 addr[16];     /* network order, host bits zero; only the first 8 bytes may be set */
	__u8 prefix_len;   /* 1 to SU_ADDR_PREFIX_MAX */
	__u8 bits;         /* 0 to SU_ADDR_BITS_MAX: the finest slice is /(prefix_len + bits) */
	__u8 filter;       /* SU_ADDR_FILTER_* */
	__u8 source_bits;  /* flowhash-1's source bits (1 to 128) when filter is set, else 0 */
	__u32 row_first;   /* this section's rows row_first .. row_first + 2^bits - 1 */
	__u32 filter_owner; /* SU_ADDR_FILTER_OWNER: owner of non-conforming packets, else 0 */
	__u32 pad0;
	__u8 key[16];      /* flowhash-1's key: k0 = first 8 bytes, k1 = last 8, big-endian */
};

#endif /* SOFTUNICAST_TABLE_H */
