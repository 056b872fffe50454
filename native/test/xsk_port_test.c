/* Tests native/xsk end to end without Node: in a network namespace of its own (unshare), a veth
 * pair, a port on one end with a C batch handler that bounces packets, and raw frames injected
 * and read back on the other end. Run under valgrind by npm test; needs root.
 *   xsk_port_test PATH/TO/steer.bpf.o */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <unistd.h>

#include "softunicast/xsk_port.h"

#include "mac_swap.h"
#include "tap.h"

#define FRAMES 2000
#define BURST 50
#define CAPTURED_PORT 9000

static const uint8_t sut_ip[4] = { 198, 18, 0, 1 };
static uint32_t bounced; /* written by the worker, read after it joined or via atomics */

/* The C fast path's shape: a handler on the worker thread turns packets around in place. */
static void bounce(void *ctx, struct su_queue *q, struct su_desc *descs, uint32_t n)
{
	(void)q;
	su_swap_macs_and_transmit(ctx, descs, n);
	__atomic_add_fetch(&bounced, n, __ATOMIC_RELAXED);
}

static size_t build_frame(uint8_t *f, const uint8_t *dst_mac, const uint8_t *src_mac, uint32_t seq)
{
	size_t payload = 4 + seq % 100;

	memcpy(f, dst_mac, 6);
	memcpy(f + 6, src_mac, 6);
	f[12] = 0x08, f[13] = 0x00;
	memset(f + 14, 0, 28);
	f[14] = 0x45;
	*(uint16_t *)(f + 16) = htons(28 + payload);
	f[22] = 64, f[23] = 17;
	memcpy(f + 26, (uint8_t[]){ 198, 18, 0, 2 }, 4);
	memcpy(f + 30, sut_ip, 4);
	*(uint16_t *)(f + 34) = htons(40000);
	*(uint16_t *)(f + 36) = htons(CAPTURED_PORT);
	*(uint16_t *)(f + 38) = htons(8 + payload);
	for (size_t i = 0; i < payload; i++)
		f[42 + i] = (uint8_t)(seq >> (8 * (i % 4)));
	return 42 + payload;
}

static int mac_of(int fd, const char *ifname, uint8_t *mac)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

/* Reads the next test frame that came *in* on the raw socket. Our own outgoing copies are skipped,
 * and so is anything else the kernel sends on a fresh link (IPv6 router solicitations, MLD
 * reports): one stray frame would shift every comparison after it. */
static ssize_t recv_incoming(int fd, uint8_t *buf, size_t size)
{
	for (;;) {
		struct sockaddr_ll from;
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, size, 0, (struct sockaddr *)&from, &len);

		if (n < 0)
			return n;
		if (from.sll_pkttype == PACKET_OUTGOING || n < 42 || buf[12] != 0x08 ||
		    buf[13] != 0x00 || buf[23] != 17 || buf[36] != CAPTURED_PORT >> 8 ||
		    buf[37] != (CAPTURED_PORT & 0xff))
			continue;
		return n;
	}
}

int main(int argc, char **argv)
{
	struct su_port_config cfg = {
		.ifname = "sut0", .queue_count = 1, .frame_size = 4096, .frame_count = 1024,
		.rx_size = 512, .tx_size = 512, .fill_size = 512, .completion_size = 512,
		.batch_size = 64, .bind = SU_BIND_COPY, .attach = SU_ATTACH_DRIVER,
		.need_wakeup = true,
	};
	struct su_capture_rule rule = { .family = SU_FAMILY_IPV4, .prefix_len = 32,
					.protocols = SU_PROTO_UDP, .port_first = CAPTURED_PORT,
					.port_last = CAPTURED_PORT };
	struct su_error err = { 0 };
	struct su_port *port = NULL;
	uint8_t sut_mac[6], peer_mac[6], frame[256], back[2048];
	struct timeval timeout = { .tv_sec = 2 };
	int raw;

	if (argc != 2) {
		fprintf(stderr, "usage: %s steer.bpf.o\n", argv[0]);
		return 2;
	}
	cfg.bpf_object_path = argv[1];
	memcpy(rule.addr, sut_ip, 4);
	/* A namespace of our own: nothing to name, nothing left behind when the process ends. */
	if (unshare(CLONE_NEWNET) ||
	    system("ip link add sut0 type veth peer name peer0 && ip link set sut0 up && "
		   "ip link set peer0 up && ip link set lo up")) {
		perror("network namespace setup");
		return 2;
	}

	cfg.queue_ids[0] = 1;
	CHECK(su_port_open(&cfg, &port, &err) == -EINVAL && !strcmp(err.code, "ERR_QUEUE_NOT_FOUND"),
	      "a missing queue is refused: %s", err.message);
	cfg.queue_ids[0] = 0;
	cfg.frame_size = 3000;
	CHECK(su_port_open(&cfg, &port, &err) < 0 && !strcmp(err.code, "ERR_INVALID_OPTION"),
	      "a frame size that is no power of two is refused: %s", err.message);
	cfg.frame_size = 4096;

	if (su_port_open(&cfg, &port, &err)) {
		printf("not ok - open: %s: %s\n1 failed\n", err.code, err.message);
		return 1;
	}
	uint64_t umem_size;
	uint8_t *umem = su_port_umem(port, &umem_size);
	struct su_queue *q = su_port_queue(port, 0);

	CHECK(!su_port_zerocopy(port) && umem_size == 4096 * 1024, "copy mode on veth, UMEM mapped");
	su_queue_set_handler(q, bounce, umem);
	CHECK(su_port_set_capture(port, &rule, 1, &err) == 0 && su_port_start(port, &err) == 0,
	      "capture rule set, worker started");

	raw = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll peer = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				    .sll_ifindex = (int)if_nametoindex("peer0") };
	bind(raw, (struct sockaddr *)&peer, sizeof(peer));
	setsockopt(raw, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	mac_of(raw, "sut0", sut_mac);
	mac_of(raw, "peer0", peer_mac);

	uint32_t matched = 0;

	for (uint32_t seq = 0; seq < FRAMES; seq += BURST) {
		for (uint32_t i = seq; i < seq + BURST; i++) {
			size_t len = build_frame(frame, sut_mac, peer_mac, i);

			send(raw, frame, len, 0);
		}
		for (uint32_t i = seq; i < seq + BURST; i++) {
			size_t len = build_frame(frame, peer_mac, sut_mac, i); /* MACs swapped back */
			ssize_t n = recv_incoming(raw, back, sizeof(back));

			if (n == (ssize_t)len && !memcmp(back, frame, len))
				matched++;
		}
	}
	CHECK(matched == FRAMES, "%u of %u frames bounced by the C handler, byte for byte", matched,
	      FRAMES);

	/* Frames built by the submitting thread: allocate, fill, submit. */
	uint64_t addrs[8];
	uint32_t got = 0;

	for (int tries = 0; tries < 200 && got == 0; tries++) {
		got = su_queue_alloc(q, addrs, 8);
		if (!got)
			usleep(1000);
	}
	struct su_desc tx[8];

	for (uint32_t i = 0; i < got; i++) {
		size_t len = build_frame(umem + addrs[i], peer_mac, sut_mac, 100000 + i);

		tx[i] = (struct su_desc){ .addr = addrs[i], .len = (uint32_t)len,
					  .action = SU_ACTION_TRANSMIT };
	}
	CHECK(got == 8 && su_queue_submit(q, tx, got) == got, "allocated and submitted %u frames", got);
	uint32_t arrived = 0;

	for (uint32_t i = 0; i < got; i++) {
		size_t len = build_frame(frame, peer_mac, sut_mac, 100000 + i);
		ssize_t n = recv_incoming(raw, back, sizeof(back));

		if (n == (ssize_t)len && !memcmp(back, frame, len))
			arrived++;
	}
	CHECK(arrived == got, "%u of %u submitted frames arrived at the peer", arrived, got);

	uint64_t steer[SU_STEER_COUNTER_COUNT], qc[SU_QUEUE_COUNTER_COUNT], ks[6];

	usleep(20000); /* the last completions */
	su_queue_counters(q, qc);
	CHECK(su_port_steer_counters(port, steer, &err) == 0 && steer[SU_STEER_redirected] == FRAMES,
	      "XDP program redirected %llu", (unsigned long long)steer[SU_STEER_redirected]);
	CHECK(qc[SU_QUEUE_rx_packets] == FRAMES && qc[SU_QUEUE_tx_packets] == FRAMES + got,
	      "worker counted rx %llu, tx %llu", (unsigned long long)qc[SU_QUEUE_rx_packets],
	      (unsigned long long)qc[SU_QUEUE_tx_packets]);
	CHECK(su_queue_kernel_stats(q, ks, &err) == 0 && ks[0] == 0 && ks[3] == 0,
	      "kernel dropped nothing (rx_dropped %llu, rx_ring_full %llu)",
	      (unsigned long long)ks[0], (unsigned long long)ks[3]);

	su_port_close(port);
	CHECK(su_port_is_closed(port) && su_port_set_capture(port, &rule, 1, &err) < 0 &&
		      !strcmp(err.code, "ERR_CLOSED"),
	      "a closed port answers ERR_CLOSED");
	su_port_free(port);
	close(raw);

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
