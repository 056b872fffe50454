/* Tests that a router frees the tables it replaces by itself: a port on a veth in a network
 * namespace of its own, its worker kept busy by a flood of frames, tables published one after
 * another; every replaced table must leave the retired list (su_router_retired_count) and hand
 * its final counters over (su_router_take_finished) without anybody calling su_router_reclaim,
 * also when the publish found the worker in a batch (the line "# N publishes returned while
 * ..." says how often that happened).
 * Run under valgrind by test/netns/router-reclaim-native.test.ts; needs root.
 *   router_reclaim_test PATH/TO/steer.bpf.o */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "image.h"
#include "softunicast/router.h"
#include "tap.h"

#define PUBLISHES 60

static int stop_flood;
static uint8_t sut_mac[6];

/* Owners 0 local and 1 a server over GUE; 198.51.100.10 UDP 1000-1999 local, 2000-2999 the
 * and 4000-4999 the server, 3000-3999 managed without an owner (the flood's: the worker drops
 * it). */
static struct su_view *table(uint64_t generation)
{
	struct su_view *v = NULL;
	struct su_error err;
	struct img m;

	img_init(&m);
	m.h.generation = generation;
	add_owner(&m, SU_OWNER_LOCAL, 0, SU_FAMILY_NONE, NULL, 0);
	add_owner(&m, SU_OWNER_SERVER, SU_ENCAP_GUE1, 4, "10.0.0.3", 0x33);
	add_key(&m, 4, "198.51.100.10", 32, IPPROTO_UDP);
	add_range(&m, 1000, 1999, 0);
	add_range(&m, 2000, 2999, 1);
	add_range(&m, 4000, 4999, 1);
	if (img_build(&m, &v, &err)) {
		fprintf(stderr, "table: %s\n", err.message);
		exit(2);
	}
	return v;
}

/* Frames to 198.51.100.10:3000 from peer0 until stop_flood: the worker is in a batch most of
 * the time, so a publish often finds it there. */
static void *flood(void *arg)
{
	int fd = *(int *)arg;
	uint8_t f[64] = { 0 };
	static const uint8_t ip[20] = { 0x45, 0, 0, 50, 0, 0, 0, 0, 64, 17, 0, 0, 203, 0, 113, 9,
					198, 51, 100, 10 };

	memcpy(f, sut_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	f[12] = 0x08;
	memcpy(f + 14, ip, 20);
	f[34] = 0x9c, f[35] = 0x40; /* source port 40000 */
	f[36] = 3000 >> 8, f[37] = 3000 & 0xff;
	f[39] = 30;
	while (!__atomic_load_n(&stop_flood, __ATOMIC_RELAXED))
		send(fd, f, sizeof(f), 0);
	return NULL;
}

static int open_router(const char *bpf, struct su_port **port, struct su_router **r)
{
	struct su_port_config cfg = {
		.ifname = "sut0", .queue_count = 1, .frame_size = 4096, .frame_count = 1024,
		.rx_size = 512, .tx_size = 512, .fill_size = 512, .completion_size = 512,
		.batch_size = 64, .bind = SU_BIND_COPY, .attach = SU_ATTACH_DRIVER,
		.need_wakeup = true, .bpf_object_path = bpf,
	};
	struct su_error err = { 0 };

	if (su_port_open(&cfg, port, &err) || su_router_create(*port, r, &err) ||
	    su_router_set_mode(*r, SU_MODE_AFXDP, &err) || su_port_start(*port, &err)) {
		printf("not ok - a router on sut0: %s: %s\n", err.code, err.message);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct su_router_finished finished[SU_ROUTER_FINISHED_MAX];
	struct su_error err = { 0 };
	struct su_port *port = NULL;
	struct su_router *r = NULL;
	uint32_t caught = 0, published = 0, retired = 0, n, in_order = 1;
	uint64_t taken = 0;
	uint64_t qc[SU_QUEUE_COUNTER_COUNT];
	pthread_t sender;
	int raw;

	if (argc != 2) {
		fprintf(stderr, "usage: %s steer.bpf.o\n", argv[0]);
		return 2;
	}
	/* A namespace of our own: nothing to name, nothing left behind when the process ends. */
	if (unshare(CLONE_NEWNET) ||
	    system("ip link add sut0 type veth peer name peer0 && ip link set sut0 up && "
		   "ip link set peer0 up && ip link set lo up")) {
		perror("network namespace setup");
		return 2;
	}
	if (open_router(argv[1], &port, &r))
		return 1;
	raw = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll peer = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				    .sll_ifindex = (int)if_nametoindex("peer0") };
	bind(raw, (struct sockaddr *)&peer, sizeof(peer));
	struct ifreq ifr = { .ifr_name = "sut0" };

	if (ioctl(raw, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(sut_mac, ifr.ifr_hwaddr.sa_data, 6);
	pthread_create(&sender, NULL, flood, &raw);
	/* The first table, then the flood must reach the worker before the publishes that count. */
	su_router_publish(r, table(1), &err);
	for (int waited = 0; waited < 10000; waited++) {
		su_queue_counters(su_port_queue(port, 0), qc);
		if (qc[SU_QUEUE_rx_packets] > 0)
			break;
		usleep(1000);
	}
	CHECK(qc[SU_QUEUE_rx_packets] > 0, "the flood reaches the worker");

	published = 1;
	for (uint64_t g = 2; g <= PUBLISHES && retired == 0; g++) {
		if (su_router_publish(r, table(g), &err) == 0)
			published++;
		/* A table the worker may still read when the publish returns. */
		if (su_router_retired_count(r) > 0)
			caught++;
		/* Nobody asks the router to reclaim: it must do so itself, the flood still running. */
		for (int waited = 0; waited < 2000 && (retired = su_router_retired_count(r)) > 0;
		     waited++)
			usleep(1000);
		n = su_router_take_finished(r, finished, SU_ROUTER_FINISHED_MAX);
		for (uint32_t i = 0; i < n; i++) {
			in_order &= finished[i].generation == ++taken;
			free(finished[i].counters);
		}
	}
	__atomic_store_n(&stop_flood, 1, __ATOMIC_RELAXED);
	pthread_join(sender, NULL);
	su_queue_counters(su_port_queue(port, 0), qc);

	CHECK(published == PUBLISHES, "%u tables published", published);
	CHECK(qc[SU_QUEUE_rx_packets] > 0, "the worker routed %llu flood frames meanwhile",
	      (unsigned long long)qc[SU_QUEUE_rx_packets]);
	printf("# %u publishes returned while the worker could still read the table replaced\n",
	       caught);
	CHECK(retired == 0, "every replaced table left the retired list without a call to reclaim");
	CHECK(taken == PUBLISHES - 1 && in_order,
	      "every replaced table finished, in order, its counters handed over: %llu of %u",
	      (unsigned long long)taken, PUBLISHES - 1);
	CHECK(su_router_generation(r) == PUBLISHES, "the last table is in use (generation %llu)",
	      (unsigned long long)su_router_generation(r));

	su_port_close(port);
	su_router_free(r);
	su_port_free(port);
	close(raw);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
