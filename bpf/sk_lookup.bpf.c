/* Socket steering (issue 17): an sk_lookup program attached to a network namespace hands a TCP SYN
 * or a UDP datagram to the socket of the rule (protocol, destination prefix, port range) that
 * matches it, so one socket serves a whole pool. Loaded by native/steer/sk_lookup.c (src/steer/). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "softunicast/sk_lookup.h"

/* Linux's values (linux/socket.h), which this header set does not reach without libc. */
#define SKL_AF_INET 2
#define SKL_AF_INET6 10

/* softunicast/sk_lookup.h, SU_SKL_COUNTERS. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SU_SKL_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} skl_counters SEC(".maps");

/* The template of the rule tries; the loader makes one per rule set (softunicast/sk_lookup.h). */
struct skl_trie {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SU_SKL_PREFIXES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	/* Sizes, not types: libbpf 1.1 cannot size the packed key's BTF inside an inner map. */
	__uint(key_size, sizeof(struct su_skl_key));
	__uint(value_size, sizeof(struct su_skl_ranges));
};

/* Slot 0: the live rule trie (softunicast/sk_lookup.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct skl_trie);
} skl_rules SEC(".maps");

/* softunicast/sk_lookup.h: slot -> socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, SU_SKL_SOCKETS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} skl_sockets SEC(".maps");

/* softunicast/sk_lookup.h: lookups that matched a rule, per destination address. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SU_SKL_LOAD_MAX);
	__type(key, struct su_skl_load_key);
	__type(value, __u64);
} skl_load SEC(".maps");

/* Set by the loader before loading (.rodata): 0 leaves the per-address count out, and the
 * verifier removes its code, so a host that does not want it pays nothing for it. */
const volatile __u32 skl_count_load = 1;

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&skl_counters, &which);

	if (c)
		*c += 1; /* per-CPU: no other writer */
}

/* The destination as a trie key; 0 for a family we do not steer. */
static __always_inline int key_of(struct bpf_sk_lookup *ctx, struct su_skl_key *key)
{
	key->protocol = (__u8)ctx->protocol;
	if (ctx->family == SKL_AF_INET) {
		key->family = SU_SKL_FAMILY_V4;
		__builtin_memcpy(key->addr, &ctx->local_ip4, 4);
		key->prefixlen = SU_SKL_KEY_BITS_BEFORE_ADDR + 32;
		return 1;
	}
	if (ctx->family == SKL_AF_INET6) {
		__u32 a[4] = { ctx->local_ip6[0], ctx->local_ip6[1], ctx->local_ip6[2], ctx->local_ip6[3] };

		key->family = SU_SKL_FAMILY_V6;
		__builtin_memcpy(key->addr, a, 16);
		key->prefixlen = SU_SKL_KEY_BITS_BEFORE_ADDR + 128;
		return 1;
	}
	return 0;
}

/* The slot of the first range holding `port`: the ranges are in precedence order already. */
static __always_inline int slot_for(const struct su_skl_ranges *r, __u32 port, __u32 *slot)
{
	for (__u32 i = 0; i < SU_SKL_RANGES_MAX; i++) {
		if (i >= r->count)
			break;
		if (port >= r->range[i].from && port <= r->range[i].to) {
			*slot = r->range[i].slot;
			return 1;
		}
	}
	return 0;
}

static __always_inline void count_load(const struct su_skl_key *key)
{
	struct su_skl_load_key lk = { .family = key->family, .protocol = key->protocol };
	__u64 one = 1, *n;

	__builtin_memcpy(lk.addr, key->addr, 16);
	n = bpf_map_lookup_elem(&skl_load, &lk);
	if (n)
		__sync_fetch_and_add(n, 1); /* shared between CPUs */
	else
		bpf_map_update_elem(&skl_load, &lk, &one, BPF_NOEXIST);
}

/* Always SK_PASS: a lookup we do not steer goes on to the kernel's normal lookup. */
SEC("sk_lookup")
int su_sk_lookup(struct bpf_sk_lookup *ctx)
{
	struct su_skl_key key = {};
	struct su_skl_ranges *ranges;
	struct bpf_sock *sk;
	__u32 zero = 0, slot;
	void *trie;
	long err;

	count(SU_SKL_skl_lookups);
	trie = bpf_map_lookup_elem(&skl_rules, &zero);
	if (!trie || !key_of(ctx, &key)) {
		count(SU_SKL_skl_no_rule);
		return SK_PASS;
	}
	ranges = bpf_map_lookup_elem(trie, &key);
	if (!ranges || !slot_for(ranges, ctx->local_port, &slot)) {
		count(SU_SKL_skl_no_rule);
		return SK_PASS;
	}
	if (skl_count_load)
		count_load(&key);
	sk = bpf_map_lookup_elem(&skl_sockets, &slot);
	if (!sk) {
		count(SU_SKL_skl_no_socket);
		return SK_PASS;
	}
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	count(err ? SU_SKL_skl_assign_failed : SU_SKL_skl_steered);
	return SK_PASS;
}

/* GPL-compatible: the kernel gives GPL-only helpers to GPL-compatible programs (docs/deploying.md). */
char LICENSE[] SEC("license") = "Dual MIT/GPL";
