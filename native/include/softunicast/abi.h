/* The one definition of everything that crosses a boundary: BPF map layouts, counters, limits.
 * Included by the XDP program (bpf/), the native fast path (native/) and the ABI dump tool that
 * generates src/generated/abi.ts; the TypeScript side never hand-copies a number from here.
 *
 * Rules for this file: it must compile for `-target bpf` and for the host (only <linux/types.h>),
 * every struct has explicit padding, and every layout change bumps SU_ABI_VERSION. */
#ifndef SOFTUNICAST_ABI_H
#define SOFTUNICAST_ABI_H

#include <linux/types.h>

/* Bumped on any change below; the addon refuses to run with TypeScript built for another value. */
#define SU_ABI_VERSION 10

/* ---- Limits ------------------------------------------------------------------------------- */

/* XSKMAP size: the highest RX queue index a socket can be bound to, plus one. */
#define SU_MAX_QUEUES 64
/* Capture rules the XDP program walks per packet; a bounded loop, so kept small. */
#define SU_CAPTURE_RULES_MAX 64

/* ---- Capture rules: which packets the XDP program hands to the AF_XDP sockets --------------
 * Map `su_capture_rules` (BPF_MAP_TYPE_ARRAY, key: u32 bank * SU_CAPTURE_RULES_MAX + index,
 * value: struct su_capture_rule), two banks; map `su_capture_bank` (key 0) names the live one.
 * Writer: the addon, from TypeScript's validated rules: every slot of the other bank (unused
 * ones zeroed), then the bank index (bpf/maps.h). Reader: bpf/steer.bpf.c, in index order,
 * stopping at the first slot with family 0.
 * A packet matches a rule when its destination lies in addr/prefix_len, its L4 protocol is in
 * `protocols` and its destination port lies in [port_first, port_last]. */
#define SU_FAMILY_NONE 0 /* unused slot: ends the rule list */
#define SU_FAMILY_IPV4 4
#define SU_FAMILY_IPV6 6

#define SU_PROTO_TCP (1u << 0)
#define SU_PROTO_UDP (1u << 1)

struct su_capture_rule {
	__u8 family;     /* SU_FAMILY_* */
	__u8 prefix_len; /* 0..32 for IPv4, 0..128 for IPv6 */
	__u8 protocols;  /* SU_PROTO_* bit set, never 0 in a used slot */
	__u8 pad0;
	__u16 port_first; /* host byte order, inclusive */
	__u16 port_last;  /* host byte order, inclusive */
	__u8 addr[16];    /* network byte order; IPv4 uses the first 4 bytes, the rest zero */
};

/* ---- The XDP program's mode and live bank -------------------------------------------------
 * Map `su_control` (BPF_MAP_TYPE_ARRAY, key 0). Writer: the addon. Reader: bpf/steer.bpf.c,
 * once per packet.
 *   SU_MODE_CAPTURE  a port without a table (XdpPort with TypeScript handlers): the capture
 *                    rules hand packets to the AF_XDP sockets, everything else to the kernel.
 *   SU_MODE_EXPRESS  a router's table: the one core decides in XDP and finishes every packet
 *                    it can there (passes, GUE, L2 rewrites, drops); the rest goes to the workers.
 *   SU_MODE_AFXDP    a router's table, the workers doing the forwarding: XDP finishes only what
 *                    goes to the kernel (local slices, unmanaged traffic) and hands the rest on.
 * `capture_drops` set: packets the XDP program would drop go to the workers, whose drop capture
 * writes them down (only while a capture runs: nothing per packet otherwise). */
#define SU_MODE_CAPTURE 0
#define SU_MODE_EXPRESS 1
#define SU_MODE_AFXDP 2
struct su_control {
	__u32 bank; /* the live table bank, 0 or 1 */
	__u32 mode; /* SU_MODE_* */
	__u32 capture_drops;
	__u32 pad0;
};

/* ---- XDP program counters -----------------------------------------------------------------
 * Map `su_steer_counters` (BPF_MAP_TYPE_PERCPU_ARRAY, key: enum su_steer_counter, value: u64).
 * Writer: bpf/steer.bpf.c. Reader: the addon, summed over CPUs. The fates of packets the XDP
 * program finishes itself are route counters (below), in map `su_route_counters`. */
#define SU_STEER_COUNTERS(X)                                                                      \
	X(packets, "packets the XDP program saw")                                                    \
	X(redirected, "handed to the AF_XDP socket of the receiving queue")                          \
	X(pass_unmatched, "a port without a table: matched no capture rule, passed to the kernel")   \
	X(pass_no_socket, "a port without a table: captured, but no socket on the queue: passed")    \
	X(drop_no_socket, "a router's packet for the workers, but no socket on the queue: dropped (never the kernel's)")

enum su_steer_counter {
#define SU_X(name, doc) SU_STEER_##name,
	SU_STEER_COUNTERS(SU_X)
#undef SU_X
	SU_STEER_COUNTER_COUNT
};

/* ---- Per-queue counters of the native worker ------------------------------------------------
 * Written only by the queue's worker thread (single writer, relaxed atomic stores); read by the
 * addon as snapshots (relaxed atomic loads). Laid out as an array of u64 in this order. */
#define SU_QUEUE_COUNTERS(X)                                                                     \
	X(rx_packets, "packets taken from the RX ring")                                             \
	X(rx_bytes, "bytes taken from the RX ring")                                                 \
	X(tx_packets, "packets the kernel completed transmitting")                                  \
	X(tx_bytes, "bytes the kernel completed transmitting")                                      \
	X(rx_dropped_no_handler, "received packets recycled because no batch handler was set")      \
	X(fill_ring_empty, "times the fill ring was left empty because no free frame was left")     \
	X(tx_ring_full, "times a packet waited for room on the TX ring")                            \
	X(tx_kicks, "sendto() calls made to start transmission")                                    \
	X(tx_dropped_kicks, "sendto() calls answered EBUSY: the device dropped a frame (copy mode)") \
	X(tx_kick_errors, "sendto() calls that failed with an error other than EAGAIN/EBUSY/ENOBUFS") \
	X(wakeups, "times the worker woke from poll()")                                             \
	X(batches, "RX batches handed to the batch handler")

enum su_queue_counter {
#define SU_X(name, doc) SU_QUEUE_##name,
	SU_QUEUE_COUNTERS(SU_X)
#undef SU_X
	SU_QUEUE_COUNTER_COUNT
};

/* The kernel's own per-socket statistics (getsockopt SOL_XDP/XDP_STATISTICS, <linux/if_xdp.h>
 * struct xdp_statistics), in the kernel struct's field order. Listed here so that the names
 * reach TypeScript from the same place as ours. */
#define SU_KERNEL_XDP_STATS(X)                                                    \
	X(rx_dropped, "dropped by the kernel for other reasons")                     \
	X(rx_invalid_descs, "dropped: invalid fill descriptor")                      \
	X(tx_invalid_descs, "dropped: invalid TX descriptor")                        \
	X(rx_ring_full, "dropped: the RX ring was full")                             \
	X(rx_fill_ring_empty_descs, "times the kernel found the fill ring empty")    \
	X(tx_ring_empty_descs, "times the kernel found the TX ring empty")

/* ---- Actions a batch handler gives each received frame -----------------------------------
 * Written by the handler (C or, through the exchange buffer, TypeScript) per frame. */
#define SU_ACTIONS(X)                                                        \
	X(RECYCLE, 0, "return the frame to the fill ring: the packet is dropped") \
	X(TRANSMIT, 1, "put the frame on the TX ring with its (possibly new) length") \
	X(KEEP, 2, "the handler keeps the frame and gives it back later through submit")

enum su_action {
#define SU_X(name, value, doc) SU_ACTION_##name = value,
	SU_ACTIONS(SU_X)
#undef SU_X
};

/* ---- The exchange buffer between a queue and TypeScript -----------------------------------
 * One per queue, owned by JS (an ArrayBuffer), read and written by the addon on the JS thread
 * only. Two areas of batch_size entries each: SU_EXCHANGE_RX for the batch being handled, and
 * SU_EXCHANGE_TX for allocation, so that a handler may allocate and send without overwriting
 * its own batch. Entry i of area a lives at (a * batch_size + i) * sizeof(struct
 * su_exchange_entry). Offsets are UMEM offsets (the UMEM is limited to 4 GiB so that they fit in
 * 32 bits for JS). */
#define SU_EXCHANGE_RX 0
#define SU_EXCHANGE_TX 1
struct su_exchange_entry {
	__u32 addr;   /* UMEM offset of the packet's first byte */
	__u32 len;    /* packet length in bytes */
	__u32 action; /* enum su_action */
	__u32 pad0;
};

/* ---- The fate of each packet (native/core, the one core of both lanes) ----------------------
 * One counter per fate, in this order: per CPU in the XDP program, per queue in the workers;
 * written by their single writer, read as snapshots. forward_*, encap_* and reply_* send a packet,
 * pass_* and decap_local hand it to the kernel (in the XDP lane: a worker cannot, and counts
 * drop_local instead), every other one drops it. */
#define SU_ROUTE_COUNTERS(X)                                                                      \
	X(forward_server_gue, "sent in GUE to the server of this data centre that owns the slice")   \
	X(forward_server_l2, "sent to the owning server by rewriting the Ethernet destination")      \
	X(encap_datacenter, "sent in GUE to the backbone endpoint of the owning data centre")        \
	X(reply_too_big, "answered with ICMP fragmentation needed or ICMPv6 packet too big: too big once encapsulated") \
	X(reply_probe, "a peer's health probe (GUE control message) answered where it came from")     \
	X(pass_local, "passed to the kernel: a slice this host owns")                                \
	X(decap_local, "GUE from a trusted peer for a slice this host owns: unwrapped and passed")   \
	X(pass_unmanaged, "passed to the kernel: no slice's ports or address cover it")              \
	X(pass_unparsed, "passed to the kernel: not TCP, UDP or an ICMP error about a managed slice") \
	X(drop_no_table, "dropped: no slice table published yet")                                    \
	X(drop_malformed, "dropped: truncated or inconsistent headers, to a managed address or in GUE for this host") \
	X(drop_fragment, "dropped: a later fragment whose first was not seen, or GUE in pieces")     \
	X(drop_no_owner, "dropped: a managed port (between slices of its key) that no slice owns")   \
	X(drop_local, "dropped: a packet for this host's kernel reached a worker (only while an update lands)") \
	X(drop_loop, "dropped: came from another data centre, owned by a data centre: never sent on twice") \
	X(drop_loop_server, "dropped: came from a server of this data centre, owned by another: never sent on twice") \
	X(drop_untrusted_gue, "dropped: GUE from a source outside the trusted peer prefixes")        \
	X(drop_gue_variant, "dropped: GUE variant 2 or 3, reserved (draft section 3)")               \
	X(drop_gue_control, "dropped: GUE control message (C bit set) other than a health probe")   \
	X(drop_gue_flags, "dropped: GUE flags we do not implement (draft section 5.4)")              \
	X(drop_gue_proto, "dropped: GUE payload neither IPv4 nor IPv6, or not what Proto says")     \
	X(drop_gue_length, "dropped: GUE whose UDP length, IP length and inner length disagree")     \
	X(drop_gue_not_managed, "dropped: GUE whose inner destination is no slice we manage (no open relay)") \
	X(drop_source_routed, "dropped: a source route (IPv4 LSRR/SSRR, IPv6 segments left) the kernel would follow") \
	X(drop_tunnel_control, "dropped: GUE carrying link-local, multicast or loopback addresses (tunnel control traffic)") \
	X(drop_ipv6_chain, "dropped: more than 8 IPv6 extension headers, to a managed address")      \
	X(drop_too_big, "dropped: too big once encapsulated, unanswered (IPv4 without DF, GUE received, or answers over their rate)") \
	X(drop_no_neighbour, "dropped: the next hop's MAC address is not known")                     \
	X(drop_no_source, "dropped: this host has no unicast address of the endpoint's family")      \
	X(drop_ssa_source, "dropped: to a source-derived address-slice service, a destination its source does not derive (flowhash-1)")

enum su_route_counter {
#define SU_X(name, doc) SU_ROUTE_##name,
	SU_ROUTE_COUNTERS(SU_X)
#undef SU_X
	SU_ROUTE_COUNTER_COUNT
};
/* The fates that send the packet on, and those that hand it to the kernel. */
#define SU_ROUTE_TRANSMITS(c) ((c) <= SU_ROUTE_reply_probe)
#define SU_ROUTE_PASSES(c) ((c) >= SU_ROUTE_pass_local && (c) <= SU_ROUTE_pass_unparsed)

/* An owner index that names no owner: the lookup found none (or never ran). */
#define SU_OWNER_NONE 0xffffffffu

/* ---- Per-owner counters of the fast path ----------------------------------------------------
 * For every owner of the table in use, per queue, packets and bytes by fate: what was sent to
 * each server and data centre (bytes as sent, outer headers included) and what was dropped after
 * its owner was known (bytes as received). Laid out as u64 [owner][fate][SU_OWNER_STAT_*];
 * written by the queue's worker (single writer, relaxed stores), read by the addon. */
#define SU_OWNER_STAT_PACKETS 0
#define SU_OWNER_STAT_BYTES 1
#define SU_OWNER_STATS (SU_ROUTE_COUNTER_COUNT * 2)
/* One owner's counters, as the XDP program's per-CPU map holds them. */
struct su_owner_stats {
	__u64 v[SU_OWNER_STATS];
};

/* ---- Drop capture: dropped packets copied out of the fast path, on request -------------------
 * Per queue, a ring of SU_CAPTURE_RING_BYTES written by the worker while capture is on (one
 * flag, read once per batch: nothing is copied or checked per packet while it is off) and read
 * by the addon. A record is struct su_capture_record and `cap_len` packet bytes, padded to 8;
 * a record with fate SU_CAPTURE_WRAP says the rest of the ring is unused: go back to its start.
 * A record that finds no room is not written and counted as lost. */
#define SU_CAPTURE_RING_BYTES (1u << 20)
#define SU_CAPTURE_SNAPLEN_MAX 9216
#define SU_CAPTURE_WRAP 0xffffu
struct su_capture_record {
	__u32 record_len; /* header and padded data: the next record starts this far on */
	__u32 orig_len;   /* the packet's length as received */
	__u64 time_ns;    /* CLOCK_REALTIME when the batch was handled */
	__u64 generation; /* of the table that decided */
	__u16 fate;       /* enum su_route_counter, or SU_CAPTURE_WRAP */
	__u16 queue;      /* RX queue index */
	__u32 cap_len;    /* packet bytes that follow: at most the snap length */
	__u32 owner;      /* the owner's index in that table, SU_OWNER_NONE (~0) when not known */
	__u32 pad0;
};

#include "softunicast/table.h"
#include "softunicast/tables.h"
#include "softunicast/gue.h"

#endif /* SOFTUNICAST_ABI_H */
