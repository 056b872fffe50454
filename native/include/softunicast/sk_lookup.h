/* Socket steering with sk_lookup (issue 17): the counters, map keys and values shared by
 * bpf/sk_lookup.bpf.c, its loader (native/steer/sk_lookup.c) and the ABI dump behind src/generated/abi.ts. */
#ifndef SOFTUNICAST_SK_LOOKUP_H
#define SOFTUNICAST_SK_LOOKUP_H

#include <linux/types.h>

/* Map `skl_counters` (BPF_MAP_TYPE_PERCPU_ARRAY, key: enum su_skl_counter, value: u64).
 * Writer: bpf/sk_lookup.bpf.c, exactly one counter per lookup besides skl_lookups. Reader: the
 * loader, summed over CPUs. */
#define SU_SKL_COUNTERS(X)                                                                        \
	X(skl_lookups, "socket lookups the sk_lookup program saw (TCP SYNs and UDP datagrams without a connected socket)") \
	X(skl_steered, "matched a rule and handed to the rule's socket")                              \
	X(skl_no_rule, "matched no rule (address, protocol or port): the kernel's normal lookup")     \
	X(skl_no_socket, "matched a rule whose socket is gone (closed): the kernel's normal lookup")  \
	X(skl_assign_failed, "matched a rule, but the kernel refused its socket (family or state): the kernel's normal lookup")

enum su_skl_counter {
#define SU_X(name, doc) SU_SKL_##name,
	SU_SKL_COUNTERS(SU_X)
#undef SU_X
	SU_SKL_COUNTER_COUNT
};

/* Families in keys: our own small numbers, not AF_* (which differ between headers). */
#define SU_SKL_FAMILY_V4 4
#define SU_SKL_FAMILY_V6 6

/* Map `skl_rules` (an ARRAY_OF_MAPS of one slot holding a BPF_MAP_TYPE_LPM_TRIE; key: struct
 * su_skl_key, value: struct su_skl_ranges). Writer: the loader builds a whole new trie for every
 * change and swaps it in with one update of the slot, so a lookup sees the old rules or the new
 * ones, never a mix. Reader: the program, one trie lookup per socket lookup.
 *
 * The trie matches (protocol, family, address) bits: prefixlen counts 16 bits of protocol and
 * family before the address bits. The value of a prefix lists every rule that can apply to an
 * address whose longest stored prefix it is: its own rules, then those of every shorter prefix
 * covering it, already in precedence order (src/steer/compile.ts). So one trie lookup and a
 * scan of at most SU_SKL_RANGES_MAX ranges decide, and "longest prefix, then narrowest port
 * range" holds even when the longest prefix has no range for the port. */
#define SU_SKL_PREFIXES_MAX 16384
#define SU_SKL_RANGES_MAX 32
#define SU_SKL_KEY_BITS_BEFORE_ADDR 16

struct su_skl_key {
	__u32 prefixlen;
	__u8 protocol; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;   /* SU_SKL_FAMILY_V4 or _V6 */
	__u8 addr[16]; /* network order; IPv4 in the first 4 bytes */
} __attribute__((packed));

struct su_skl_range {
	__u16 from; /* inclusive, host order */
	__u16 to;   /* inclusive, host order */
	__u32 slot; /* key in skl_sockets */
};

struct su_skl_ranges {
	__u32 count;
	struct su_skl_range range[SU_SKL_RANGES_MAX];
};

/* Map `skl_sockets` (BPF_MAP_TYPE_SOCKMAP, key: u32 slot, value: a socket). Writer: the loader
 * (a socket's fd put in a slot; removed when the socket closes, by the kernel and the loader).
 * Reader: the program. */
#define SU_SKL_SOCKETS_MAX 1024

/* Map `skl_load` (BPF_MAP_TYPE_LRU_HASH, key: struct su_skl_load_key, value: u64). Lookups that
 * matched a rule, per destination address and protocol: the per-address load. Bounded: the
 * least recently counted addresses are forgotten first. Writer: the program. Reader: the loader. */
#define SU_SKL_LOAD_MAX 65536

struct su_skl_load_key {
	__u8 family;
	__u8 protocol;
	__u8 pad[2];
	__u8 addr[16];
};

#endif /* SOFTUNICAST_SK_LOOKUP_H */
