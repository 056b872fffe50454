/* The reference model's insides (native/fuzz/oracle*.c): its own reading of a frame and its
 * own statement of the routing rules, written from the RFCs and the issues (12, 13, 15, 16,
 * 19), not from native/core, so that a slip in the core disagrees with it. Private to the
 * oracle. */
#ifndef SU_FUZZ_MODEL_H
#define SU_FUZZ_MODEL_H

#include <netinet/in.h>
#include <stdint.h>

#include "oracle.h"

/* What reading a datagram gives (the core's parse fates, as the model names them). */
enum fz_read {
	FZ_READ_OK,
	FZ_READ_UNPARSED,  /* not the router's to look at: not IP, not TCP/UDP/ICMP error */
	FZ_READ_MALFORMED, /* lengths that lie, headers cut short */
	FZ_READ_CHAIN,     /* more than FZ_EXT_MAX IPv6 extension headers */
};

/* IPv6 extension headers the router walks (RFC 8200 4.1 has at most 8 in a proper chain). */
#define FZ_EXT_MAX 8

/* Whether a datagram carries a source route the kernel would follow (IPv4 LSRR/SSRR, an IPv6
 * routing header with segments left). EITHER: IPv4 options the kernel itself refuses
 * (ip_options_compile: an option shorter than 2 bytes or longer than what is left), where the
 * packet never reaches a relay whatever the router says. */
#define FZ_SR_NO 0
#define FZ_SR_YES 1
#define FZ_SR_EITHER 2

#define FZ_FRAG_NONE 0
#define FZ_FRAG_FIRST 1
#define FZ_FRAG_LATER 2

/* An IP datagram as the model reads it; offsets from the frame's first byte. */
struct fz_ip {
	uint32_t l3, ip_len; /* the IP header, the datagram's length (IPv6: 40 + payload) */
	uint32_t l4, l4_len; /* transport header (or ICMP, or a later piece's data), to the end */
	uint8_t addrs;       /* family and addresses were read */
	uint8_t family;      /* SU_FAMILY_IPV4 or SU_FAMILY_IPV6 */
	uint8_t protocol;    /* TCP or UDP: the packet's, or the packet an ICMP error quotes */
	uint8_t fragment;    /* FZ_FRAG_* */
	uint8_t icmp_error;
	uint8_t df;          /* IPv4 "don't fragment": the sender does path MTU discovery */
	uint8_t sr;          /* FZ_SR_* */
	uint16_t sport, dport; /* an ICMP error's: the quoted packet's, reversed */
	uint32_t frag_id;
	uint8_t saddr[16], daddr[16]; /* IPv4 in the first 4 bytes, the rest zero */
};

/* The Ethernet frame of `len` bytes: up to two VLAN tags, then IPv4 or IPv6. */
enum fz_read fz_read_frame(const uint8_t *frame, uint32_t len, struct fz_ip *ip);
/* The datagram of `family` at `l3`, of which `avail` bytes may be read (the frame's rest, or a
 * GUE payload's). */
enum fz_read fz_read_ip(const uint8_t *frame, uint32_t l3, uint32_t avail, uint8_t family,
			struct fz_ip *ip);

/* Big-endian fields and RFC 1071 sums, byte by byte: nothing shared with the core. */
static inline uint32_t fz_get16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static inline uint32_t fz_get32(const uint8_t *p)
{
	return fz_get16(p) << 16 | fz_get16(p + 2);
}

uint32_t fz_sum16(uint32_t sum, const uint8_t *p, uint32_t n);
/* Whether a sum over data and its checksum field comes to all ones, as a correct one does. */
int fz_sum_ok(uint32_t sum);

/* What the model decided for a frame, for checking the fate and the bytes sent. */
struct fz_expect {
	enum su_route_counter fate; /* as the XDP program decides (the worker: drop_local) */
	struct fz_ip outer, inner;  /* inner: when decap */
	uint8_t decap;              /* GUE for this host, unwrapped: inner is the packet */
	uint8_t from;               /* SU_FROM_* */
	uint8_t save;               /* a first piece: remember it with its owner */
	uint8_t later;              /* a later piece */
	long owner;                 /* -1: none found */
	uint32_t mtu;               /* reply_too_big: the largest IP packet the owner's way takes */
	uint32_t hops;              /* a 'glb' owner's hop list: 1 with the row's secondary */
	uint8_t hop[4];             /* that hop: the secondary's IPv4 endpoint */
	struct fz_frag *frag;       /* a later piece's record in the memory */
};

/* The fate of `frame` under table `t` with the fragment memory `mem` (NULL: none), given
 * `headroom` bytes before the frame. Source routes the model cannot call (FZ_SR_EITHER) are
 * taken as `either` says (0 or 1). Reads `mem`, never writes it. */
void fz_expect(const struct fz_table *t, const struct fz_frags *mem, const uint8_t *frame,
	       uint32_t len, uint32_t headroom, int either, struct fz_expect *e);
/* Whether the frame held a source route the model cannot call: then both answers are right. */
int fz_expect_either(const struct fz_expect *e);

/* The packet the fate acts on. */
static inline const struct fz_ip *fz_pkt(const struct fz_expect *e)
{
	return e->decap ? &e->inner : &e->outer;
}

/* The flow-hash kind (oracle_flow.c): its section's size rule (head, counts, rows prime), its
 * loading, the rules of its services and rows; a packet's owner by its service's row (-1: no
 * service; `*managed` set when there is one), and whether a service has the address. */
int fz_flow_section_valid(const uint8_t *image, const struct su_section *s);
void fz_flow_load(struct fz_table *t, const uint8_t *image, const struct su_section *s);
int fz_flow_valid(const struct fz_table *t);
long fz_flow_owner(const struct fz_table *t, const struct fz_ip *p, int *managed, long *secondary);
int fz_flow_addr(const struct fz_table *t, uint8_t family, const uint8_t *addr);

/* The address-slice kind (oracle_addr.c): its section's size rule, its loading, the rules of its
 * services and rows; a packet's owner (-1: none; `*managed` set when a service holds the
 * destination, `*filtered` when its source filter drops the packet, `*secondary` the row's), and
 * whether a service holds the address. */
int fz_addr_section_valid(const uint8_t *image, const struct su_section *s);
void fz_addr_load(struct fz_table *t, const uint8_t *image, const struct su_section *s);
int fz_addr_valid(const struct fz_table *t);
long fz_addr_owner(const struct fz_table *t, const struct fz_ip *p, int *managed, int *filtered,
		   long *secondary);
int fz_addr_service_holds(const struct fz_table *t, uint8_t family, const uint8_t *addr);

/* Outer Ethernet, IP, UDP and (variant 0) GUE header bytes of a GUE owner. */
uint32_t fz_gue_hdr_len(const struct su_owner *o, uint32_t hops);

#endif /* SU_FUZZ_MODEL_H */
