/* The kernel's floor for the pps bench and the BPF_PROG_TEST_RUN bench: swaps the Ethernet
 * addresses and sends the frame back out (XDP_TX). No packet logic of ours: the baseline the
 * express lane (bpf/steer.bpf.c) is compared with, attached by bench/pps/dut.c, run by
 * native/bench/xdp_bench.c. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("xdp")
int pps_xdp_bounce(struct xdp_md *ctx)
{
	unsigned char *p = (void *)(long)ctx->data;
	unsigned char mac[6];

	if ((void *)(p + 12) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	__builtin_memcpy(mac, p, 6);
	__builtin_memcpy(p, p + 6, 6);
	__builtin_memcpy(p + 6, mac, 6);
	return XDP_TX;
}
