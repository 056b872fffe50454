/* The XDP program's maps, each declared once; included by bpf/steer.bpf.c. Native code finds them
 * by these names, so renaming one is an ABI change (softunicast/abi.h). */
#ifndef SU_BPF_MAPS_H
#define SU_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <softunicast/abi.h>

/* Key: u32 RX queue index. Value: u32 AF_XDP socket fd (the kernel keeps the socket).
 * Writer: the addon, when a socket is bound to a queue or closed. Reader: su_steer. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, SU_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} su_xsks SEC(".maps");

/* The capture rules, in two banks like the local view below (and for the same reason: a table
 * published under traffic must never show a packet half of the old rules and half of the new).
 * Key: u32 bank * SU_CAPTURE_RULES_MAX + index. Value: struct su_capture_rule; a bank's list ends
 * at its first family 0. Writer: the addon (su_port_set_capture). Reader: su_steer. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SU_CAPTURE_RULES_MAX);
	__type(key, __u32);
	__type(value, struct su_capture_rule);
} su_capture_rules SEC(".maps");

/* Key: u32 0. Value: u32 the live capture bank, 0 or 1 (0 at load). Writer: the addon, after
 * the bank it names is complete. Reader: su_steer, once per packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} su_capture_bank SEC(".maps");

/* ---- The local view: what this host owns, so that its packets never leave the kernel ---------
 * Two banks of everything a packet reads, and a bank index: the writer fills the bank no packet
 * reads, then flips the index with one u32 store, so that a packet sees one whole view, old or
 * new, never a mix (native/xsk/bpf_prog.c, su_prog_set_local_view). Bank b of a map with MAX
 * entries per bank lives in slots b * MAX .. b * MAX + MAX - 1. */

/* Key: u32 0. Value: u32 the live bank, 0 or 1 (0 at load, when both banks are empty).
 * Writer: the addon, last, after the bank it names is complete. Reader: su_steer, once per packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} su_local_bank SEC(".maps");

/* Key: u32 bank. Value: struct su_host, this host's unicast addresses and GUE port (0: no
 * decapsulation). Writer: the addon. Reader: su_steer. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct su_host);
} su_host SEC(".maps");

/* Key: u32 bank * SU_TRUSTED_PEERS_MAX + index. Value: struct su_prefix, a source we accept GUE
 * from; a bank's list ends at its first family 0. Writer: the addon. Reader: su_steer. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SU_TRUSTED_PEERS_MAX);
	__type(key, __u32);
	__type(value, struct su_prefix);
} su_trusted_peers SEC(".maps");

/* Key: u32 bank * SU_LOCAL_RULES_MAX + index. Value: struct su_capture_rule, a slice this host
 * owns (same matcher as the capture rules); a bank's list ends at its first family 0.
 * Writer: the addon. Reader: su_steer, for the packet and for the inner packet of GUE. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SU_LOCAL_RULES_MAX);
	__type(key, __u32);
	__type(value, struct su_capture_rule);
} su_local_rules SEC(".maps");

/* Never read by the program: a grace period for the writer. Replacing the inner map of a
 * map-in-map makes the bpf() syscall wait for an RCU grace period (kernel/bpf/syscall.c,
 * maybe_wait_bpf_programs), and XDP runs inside RCU read-side sections; so after that update no
 * run of su_steer that could have read the old bank index is still going, and the retired bank
 * may be rewritten. Key: u32 0. Value: the fd of `su_grace_token`. Writer: the addon. */
struct su_grace_token_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} su_grace_token SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct su_grace_token_map);
} su_grace SEC(".maps");

/* ---- Fragments: later pieces follow their first ---------------------------------------------
 * Only a datagram's first fragment has ports; the program records what it did with it, keyed as
 * a reassembly queue is (RFC 791 3.2, RFC 8200 4.5), and later pieces do the same. LRU-bounded,
 * and entries older than SU_FRAG_TTL_NS count as absent. Writer and reader: su_steer. */
#define SU_FRAG_ENTRIES 16384
#define SU_FRAG_TTL_NS (30ull * 1000 * 1000 * 1000) /* net.ipv4.ipfrag_time */
#define SU_FRAG_LOCAL 1     /* passed to the kernel: a local slice */
#define SU_FRAG_CAPTURED 2  /* handed to the fast path, which keeps its own table */
#define SU_FRAG_UNMANAGED 3 /* passed to the kernel: no capture rule */

struct su_frag_key {
	__u8 family;
	__u8 proto; /* SU_PROTO_* */
	__u16 pad;
	__u32 id;
	__u8 saddr[16];
	__u8 daddr[16];
};

struct su_frag_verdict {
	__u64 seen_ns; /* bpf_ktime_get_ns() of the first fragment */
	__u32 verdict; /* SU_FRAG_* */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SU_FRAG_ENTRIES);
	__type(key, struct su_frag_key);
	__type(value, struct su_frag_verdict);
} su_frags SEC(".maps");

/* Key: u32 enum su_steer_counter. Value: u64 per CPU.
 * Writer: su_steer. Reader: the addon, summed over CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SU_STEER_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} su_steer_counters SEC(".maps");

#endif /* SU_BPF_MAPS_H */
