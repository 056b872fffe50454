/* Fragments in the one core: a datagram's first piece (the only one with ports) is steered by
 * them and remembered; later pieces follow it. The identity of a datagram, as a reassembly queue
 * keys it (RFC 791 3.2, RFC 8200 4.5): family, protocol, identification, both addresses. Each
 * target keeps the memory itself (su_frag_find, su_frag_save): the workers a bounded, expiring
 * table per queue (frags.c; the pieces of one datagram share a queue, RSS hashing fragments on
 * the addresses alone), the XDP program an LRU map (bpf/maps.h). */
#ifndef SU_CORE_FRAGS_H
#define SU_CORE_FRAGS_H

#include "ip.h"

/* Linux keeps IPv4 reassembly queues 30 s (net.ipv4.ipfrag_time); later pieces come sooner. */
#define SU_FRAG_TTL_NS (30ull * 1000 * 1000 * 1000)

struct su_frag_key {
	uint8_t family;
	uint8_t protocol;
	uint16_t pad0;
	uint32_t id;
	uint8_t saddr[16];
	uint8_t daddr[16];
};

/* Where the first piece went: the owner of the table of `generation`, until `expires`. */
struct su_frag_value {
	uint64_t expires_ns;
	uint64_t generation;
	uint32_t owner;
	uint32_t pad0;
};

SU_INLINE void su_frag_key_of(const struct su_ip *p, struct su_frag_key *k)
{
	k->family = p->family;
	k->protocol = p->protocol;
	k->pad0 = 0;
	k->id = p->frag_id;
	su_memcpy(k->saddr, p->saddr, 16);
	su_memcpy(k->daddr, p->daddr, 16);
}

#endif /* SU_CORE_FRAGS_H */
