/* The pps bench's in-kernel reference (configuration 2 of bench/pps/run.ts): the fast path's job
 * done in XDP: the steer program's parser (bpf/parse.h), a slice lookup (simplified: fwd.h), the
 * GUE source-port hash of native/core/flow_hash.h, GUE variant 0 over IPv4, then XDP_TX.
 * Loaded and filled by bench/pps/dut.c. */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "../../bpf/parse.h"
#include "../../native/core/flow_hash.h"
#include "fwd.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Key: struct fwd_key. Value: struct fwd_owner. Writer: dut.c before attaching. Reader: fwd.
 * max_entries is set by dut.c to the table's slice count. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct fwd_key);
	__type(value, struct fwd_owner);
} fwd_slices SEC(".maps");

/* Key: 0. Value: struct fwd_host. Writer: dut.c. Reader: fwd. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fwd_host);
} fwd_host SEC(".maps");

/* Key: enum fwd_counter. Value: u64 per CPU. Writer: fwd. Reader: dut.c, summed. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FWD_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} fwd_counters SEC(".maps");

#define OUTER_LEN (sizeof(struct iphdr) + sizeof(struct udphdr) + 4) /* + GUE v0 header */

static __always_inline int count(__u32 counter, int verdict)
{
	__u64 *v = bpf_map_lookup_elem(&fwd_counters, &counter);

	if (v)
		*v += 1;
	return verdict;
}

static __always_inline __u16 ipv4_checksum(const __u16 *w)
{
	__u32 sum = 0;

	for (int i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int pps_fwd(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const struct fwd_owner *owner;
	const struct fwd_host *host;
	struct fwd_key key = { 0 };
	struct su_pkt pkt;
	__u32 zero = 0, hash;
	__u16 ip_len, sport;

	if (su_parse(data, data_end, &pkt) < 0 || pkt.family != SU_FAMILY_IPV4 ||
	    pkt.l3_off != sizeof(struct ethhdr))
		return count(FWD_pass_other, XDP_PASS);
	__builtin_memcpy(key.addr, pkt.daddr, 4);
	key.protocol = pkt.proto == SU_PROTO_TCP ? IPPROTO_TCP : IPPROTO_UDP;
	key.slice = pkt.dport >> FWD_SLICE_SHIFT;
	owner = bpf_map_lookup_elem(&fwd_slices, &key);
	host = bpf_map_lookup_elem(&fwd_host, &zero);
	if (!owner || !host)
		return count(FWD_drop_no_owner, XDP_DROP);
	if (owner->kind == SU_OWNER_LOCAL)
		return count(FWD_pass_local, XDP_PASS);

	{
		struct iphdr *ip = data + sizeof(struct ethhdr);
		__u16 *ports = data + (pkt.l4_off & SU_PARSE_OFF_MAX);

		if ((void *)(ip + 1) > data_end || (void *)(ports + 2) > data_end)
			return count(FWD_pass_other, XDP_PASS);
		ip_len = bpf_ntohs(ip->tot_len);
		sport = bpf_ntohs(ports[0]);
	}
	hash = su_flow_hash(host->seed, SU_FAMILY_IPV4, pkt.saddr, pkt.daddr, key.protocol, sport,
			    pkt.dport);

	/* Room for outer IPv4 + UDP + GUE; the old Ethernet header becomes the new one's tail. */
	if (bpf_xdp_adjust_head(ctx, -(int)OUTER_LEN))
		return count(FWD_drop_no_room, XDP_DROP);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	{
		struct ethhdr *eth = data;
		struct iphdr *ip = (void *)(eth + 1);
		struct udphdr *udp = (void *)(ip + 1);
		__u8 *gue = (void *)(udp + 1);

		if ((void *)(gue + 4) > data_end)
			return count(FWD_drop_no_room, XDP_DROP);
		__builtin_memcpy(eth->h_dest, owner->next_hop_mac, 6);
		__builtin_memcpy(eth->h_source, host->mac, 6);
		eth->h_proto = bpf_htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->tos = 0;
		ip->tot_len = bpf_htons(OUTER_LEN + ip_len);
		ip->id = 0;
		ip->frag_off = bpf_htons(0x4000); /* DF */
		ip->ttl = SU_GUE_OUTER_TTL;
		ip->protocol = IPPROTO_UDP;
		ip->check = 0;
		__builtin_memcpy(&ip->saddr, host->ipv4, 4);
		__builtin_memcpy(&ip->daddr, owner->endpoint, 4);
		ip->check = ipv4_checksum((const __u16 *)ip);
		udp->source = bpf_htons(SU_GUE_SOURCE_PORT_MIN + (hash & SU_GUE_SOURCE_PORT_MASK));
		udp->dest = owner->gue_port;
		udp->len = bpf_htons(sizeof(*udp) + 4 + ip_len);
		udp->check = 0; /* zero over IPv4 (draft-ietf-intarea-gue-09 5.8) */
		gue[0] = 0;
		gue[1] = SU_GUE_PROTO_IPV4;
		gue[2] = gue[3] = 0;
	}
	return count(FWD_tx, XDP_TX);
}
