/* The XDP program's maps, each declared once with its key, value, writer and reader; included by
 * bpf/steer.bpf.c only. Native code finds them by these names (native/xsk/bpf_prog.c,
 * native/xsk/tables.c), so renaming one is an ABI change (softunicast/abi.h). All of them are
 * pinned when the port asks for it (a router restarted adopts them, traffic keeps flowing).
 *
 * Tables are double-banked: bank b of everything a packet reads, and su_control.bank naming the
 * live one. The writer fills the bank no packet reads, flips the index with one u32 store, then
 * waits out the packets still on the old bank (su_grace), so a packet sees one whole table, old
 * or new, never a mix. Per-table maps whose size follows the table (keys, ranges, forwarding
 * records, peers, per-owner counters, flow-hash services and rows) are inner maps of a 2-slot ARRAY_OF_MAPS, made anew for
 * each table. */
#ifndef SU_BPF_MAPS_H
#define SU_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "../native/core/frags.h"
#include "../native/core/tables.h"

/* Key: u32 0. Value: struct su_control. Writer: the addon (bank last, after the bank it names is
 * complete). Reader: su_steer, once per packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct su_control);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} su_control SEC(".maps");

/* Key: u32 bank. Value: struct su_meta (native/core/tables.h). Writer: the addon. Reader: the
 * core's stages (bpf/target.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct su_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} su_meta SEC(".maps");

/* Key: u32 bank * SU_TRUSTED_PEERS_MAX + index. Value: struct su_prefix, a source we accept GUE
 * from; a bank's list ends at its first family 0. Writer: the addon. Reader: su_tbl_trusted. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SU_TRUSTED_PEERS_MAX);
	__type(key, __u32);
	__type(value, struct su_prefix);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} su_trusted SEC(".maps");

/* Inner maps, one of each per table. Their sizes are the table's; these declarations are the
 * templates the outer maps are made with (BPF_F_INNER_MAP lets arrays differ in size). The
 * arrays are BPF_F_MMAPABLE: the writer fills them with one memcpy through mmap instead of a
 * bpf() copy per element (2,000,000 ranges: ~15 ms instead of ~1.1 s). */
struct su_keys_inner { /* key: struct su_key_id; value: struct su_key_ranges */
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct su_key_id);
	__type(value, struct su_key_ranges);
} su_keys_inner SEC(".maps");

struct su_ranges_inner { /* key: u32 index; value: struct su_port_range */
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct su_port_range);
} su_ranges_inner SEC(".maps");

struct su_fwd_inner { /* key: u32 owner; value: struct su_fwd */
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct su_fwd);
} su_fwd_inner SEC(".maps");

struct su_peers_inner { /* key: struct su_peer_key; value: u32 1 */
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct su_peer_key);
	__type(value, __u32);
} su_peers_inner SEC(".maps");

/* The flow-hash key kind (native/core/flow_hash_kind.h): its services and their addresses
 * (address entries: protocol 0, port 0, rows 0), and its rows. */
struct su_flow_services_inner { /* key: struct su_flow_key; value: struct su_flow_svc */
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct su_flow_key);
	__type(value, struct su_flow_svc);
} su_flow_services_inner SEC(".maps");

struct su_flow_rows_inner { /* key: u32 row; value: struct su_flow_row */
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct su_flow_row);
} su_flow_rows_inner SEC(".maps");

/* Per CPU; a hash, since per-CPU arrays cannot vary in size as inner maps: every owner's key
 * is inserted with the table. */
struct su_owner_stats_inner { /* key: u32 owner; value per CPU: struct su_owner_stats */
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct su_owner_stats);
} su_owner_stats_inner SEC(".maps");

/* Key: u32 bank. Value: the bank's inner map. Writer: the addon, into the idle bank before the
 * flip. Reader: the core's stages through bpf/target.h. */
#define SU_OUTER(name, inner)                                  \
	struct {                                               \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);       \
		__uint(max_entries, 2);                         \
		__type(key, __u32);                             \
		__uint(pinning, LIBBPF_PIN_BY_NAME);            \
		__array(values, struct inner);                  \
	} name SEC(".maps")
SU_OUTER(su_keys, su_keys_inner);
SU_OUTER(su_ranges, su_ranges_inner);
SU_OUTER(su_fwd, su_fwd_inner);
SU_OUTER(su_peers, su_peers_inner);
SU_OUTER(su_owner_stats, su_owner_stats_inner);
SU_OUTER(su_flow_services, su_flow_services_inner);
SU_OUTER(su_flow_rows, su_flow_rows_inner);

/* Fragments: where a datagram's first piece went, for its later pieces. LRU-bounded; entries
 * past their expiry count as absent. Writer and reader: the core (su_frag_save, su_frag_find). */
#define SU_FRAG_ENTRIES 65536
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SU_FRAG_ENTRIES);
	__type(key, struct su_frag_key);
	__type(value, struct su_frag_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} su_frags SEC(".maps");

/* The "too big" answers' token bucket of each CPU (native/core/icmp.h). Key: u32 0. Writer and
 * reader: the core, through su_icmp_tokens. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct su_icmp_tokens);
} su_icmp_budget SEC(".maps");

/* Key: u32 enum su_route_counter. Value: u64 per CPU. Writer: su_steer. Reader: the addon,
 * summed over CPUs, beside the workers' counts of the same names. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SU_ROUTE_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} su_route_counters SEC(".maps");

/* Key: u32 enum su_steer_counter. Value: u64 per CPU. Writer: su_steer. Reader: the addon. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SU_STEER_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} su_steer_counters SEC(".maps");

/* ---- The AF_XDP side: sockets, and the capture rules of a port without a table ------------- */

/* Key: u32 RX queue index. Value: u32 AF_XDP socket fd (the kernel keeps the socket).
 * Writer: the addon, when a socket is bound to a queue or closed. Reader: su_steer. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, SU_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} su_xsks SEC(".maps");

/* The capture rules of an XdpPort used without a table (custom handlers in TypeScript), in two
 * banks like the tables. Key: u32 bank * SU_CAPTURE_RULES_MAX + index. Value: struct
 * su_capture_rule; a bank's list ends at its first family 0. Writer: the addon
 * (su_port_set_capture). Reader: su_steer, when su_control.mode is SU_MODE_CAPTURE. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SU_CAPTURE_RULES_MAX);
	__type(key, __u32);
	__type(value, struct su_capture_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} su_capture_rules SEC(".maps");

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

#endif /* SU_BPF_MAPS_H */
