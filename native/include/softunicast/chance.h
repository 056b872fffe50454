/* Second chance on a backend (issue 15): the counters and maps of bpf/backend.bpf.c, the XDP
 * program that unwraps GLB-style GUE or sends it on to the next hop. Read by the program, by its
 * loader (native/lb/chance_backend.c) and by the ABI dump behind src/generated/abi.ts. */
#ifndef SOFTUNICAST_CHANCE_H
#define SOFTUNICAST_CHANCE_H

#include <linux/types.h>

/* GLB director's GUE port ('LB' + 1): src/lb/hop-list.ts GLB_GUE_PORT. */
#define SU_CHANCE_GUE_PORT 19523

/* Map `chance_counters` (BPF_MAP_TYPE_PERCPU_ARRAY, key: enum su_chance_counter, value: u64).
 * Writer: bpf/backend.bpf.c, one counter per packet. Reader: the loader, summed over CPUs. */
#define SU_CHANCE_COUNTERS(X)                                                                     \
	X(chance_local_syn, "a TCP SYN: unwrapped and passed to this host's kernel")                  \
	X(chance_local_socket, "a TCP packet of a connection of this host: unwrapped and passed")     \
	X(chance_local_cookie, "the ACK of a SYN cookie this host's listener sent: unwrapped and passed") \
	X(chance_local_other, "not TCP (UDP, ICMP): unwrapped and passed, no second chance applies")  \
	X(chance_forwarded, "TCP of no connection here: sent on to the next hop of the list (XDP_TX)") \
	X(chance_last_hop, "TCP of no connection here and no hop left: unwrapped and passed (the kernel answers RST)") \
	X(chance_no_neighbour, "a next hop with no MAC address, from the loader or the kernel's neighbours on this link: dropped") \
	X(chance_malformed, "UDP to the GLB port that is no GUE hop list this program reads: dropped") \
	X(chance_not_gue, "not UDP over IPv4 to the GLB port: passed untouched")

enum su_chance_counter {
#define SU_X(name, doc) SU_CHANCE_##name,
	SU_CHANCE_COUNTERS(SU_X)
#undef SU_X
	SU_CHANCE_COUNTER_COUNT
};

/* Map `chance_next_hops` (BPF_MAP_TYPE_HASH, key: the hop's IPv4 address in network order,
 * value: struct su_chance_hop). Writer: the loader. A hop must be on the link the packet came
 * in on: the program sends it back out there (XDP_TX) to this MAC address. A hop not in the map
 * is looked up in the kernel's routes and neighbour table (bpf_fib_lookup). */
#define SU_CHANCE_HOPS_MAX 1024
struct su_chance_hop {
	__u8 mac[6];
	__u8 pad[2];
};

#endif /* SOFTUNICAST_CHANCE_H */
