/* TCP connections and UDP datagrams per second into one socket, with and without the sk_lookup
 * program of socket steering, in alternating rounds; run by bench/sk-lookup.ts inside a fresh
 * namespace whose lo holds `local 10.20.0.0/20`. Prints one JSON line per round.
 *
 *   sk_lookup_bench OBJECT tcp|udp ROUNDS SECONDS
 *   sk_lookup_bench OBJECT run REPEAT     the program alone under BPF_PROG_TEST_RUN: ns per lookup
 *                                         that matches the rule, and one that matches none
 *
 * Two sockets live through the whole run: one bound to INADDR_ANY:PORT, found by the kernel's
 * normal lookup, and one bound to 127.0.0.1:OTHER, reachable only through the program's rule for
 * 10.20.0.0/20 PORT. The rounds differ only in whether the program is attached (whether it
 * counts per address, whether its rule matches), so "without" is exactly the kernel's own lookup
 * into one socket. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "../steer/sk_lookup.h"

#define PORT 80
#define OTHER_PORT 8080
#define BATCH 64

static volatile bool stopping;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* The i-th address of 10.20.0.0/20: lookups spread over the pool as a DNS answer would. */
static struct sockaddr_in pool_address(uint32_t i)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT) };

	a.sin_addr.s_addr = htonl((10u << 24) | (20u << 16) | (i & 0xfff));
	if ((i & 0xff) == 0 || (i & 0xff) == 255)
		a.sin_addr.s_addr = htonl((10u << 24) | (20u << 16) | ((i & 0xf00) | 1));
	return a;
}

static int bound_socket(int type, uint32_t addr, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd = socket(AF_INET, type, 0);

	a.sin_addr.s_addr = htonl(addr);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || (type == SOCK_STREAM && listen(fd, 4096))) {
		perror("socket/bind/listen");
		exit(1);
	}
	return fd;
}

static void *accept_loop(void *arg)
{
	int lfd = *(int *)arg;

	while (!stopping) {
		int fd = accept(lfd, NULL, NULL);

		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

/* Connections opened in `seconds`: connect over lo, then close with RST (linger 0) so that no
 * TIME_WAIT fills the port space. */
static uint64_t tcp_round(double seconds, uint64_t *failed)
{
	struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	double end = now() + seconds;
	uint64_t n = 0;

	for (uint32_t i = 0;; i++) {
		struct sockaddr_in a = pool_address(i);
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			n++;
		else
			(*failed)++;
		close(fd);
		if ((i & 63) == 0 && now() >= end)
			return n;
	}
}

/* Datagrams sent in `seconds`, BATCH per sendmmsg, each to the next pool address. */
static uint64_t udp_round(double seconds, uint64_t *failed)
{
	static struct sockaddr_in to[BATCH];
	static struct mmsghdr msgs[BATCH];
	static struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	double end = now() + seconds;
	uint64_t n = 0;

	for (uint32_t i = 0;; i += BATCH) {
		for (int j = 0; j < BATCH; j++) {
			to[j] = pool_address(i + j);
			msgs[j].msg_hdr = (struct msghdr){ .msg_name = &to[j], .msg_namelen = sizeof(to[j]),
							   .msg_iov = &iov, .msg_iovlen = 1 };
		}
		int sent = sendmmsg(fd, msgs, BATCH, 0);

		if (sent > 0)
			n += sent;
		else
			(*failed)++;
		if (now() >= end)
			break;
	}
	close(fd);
	return n;
}

/* Udp InDatagrams + RcvbufErrors (a socket was found; the second when its buffer was full)
 * and NoPorts (none was) of this namespace, from /proc/net/snmp. */
static void udp_snmp(uint64_t *found, uint64_t *no_ports)
{
	char names[512], values[512];
	FILE *f = fopen("/proc/net/snmp", "r");
	unsigned long long v[8] = { 0 };

	*found = *no_ports = 0;
	while (f && fgets(names, sizeof(names), f) && fgets(values, sizeof(values), f)) {
		/* Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors ... */
		if (strncmp(names, "Udp:", 4) == 0 &&
		    sscanf(values, "Udp: %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4]) == 5) {
			*found = v[0] + v[4];
			*no_ports = v[1];
		}
	}
	if (f)
		fclose(f);
}

/* The program with one rule: PROTOCOL 10.SECOND.0.0/20 PORT -> slot 0 (the 127.0.0.1 socket);
 * SECOND 20 is the pool the rounds send to, 99 a pool they never reach (no rule matches). */
static struct su_skl *steer(const char *obj, int protocol, int fd, bool count_load, uint8_t second)
{
	struct su_skl_key key = { .prefixlen = SU_SKL_KEY_BITS_BEFORE_ADDR + 20,
				  .protocol = (uint8_t)protocol, .family = SU_SKL_FAMILY_V4,
				  .addr = { 10, second, 0, 0 } };
	struct su_skl_ranges ranges = { .count = 1, .range = { { PORT, PORT, 0 } } };
	struct su_error err = { 0 };
	struct su_skl *s = NULL;

	if (su_skl_open(obj, "/proc/self/ns/net", count_load, &s, &err) || su_skl_socket_set(s, 0, fd, &err) ||
	    su_skl_publish(s, &key, &ranges, 1, &err)) {
		fprintf(stderr, "sk_lookup: %s\n", err.message);
		exit(1);
	}
	return s;
}

/* ns per run of the program on a TCP lookup for `addr` (host order), 0 on failure. */
static double prog_run_ns(int prog_fd, uint32_t addr, int repeat)
{
	struct bpf_sk_lookup ctx = { .family = AF_INET, .protocol = IPPROTO_TCP,
				     .remote_ip4 = htonl(0xc6120001), .remote_port = htons(40000),
				     .local_ip4 = htonl(addr), .local_port = PORT };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = repeat);
	int ret = bpf_prog_test_run_opts(prog_fd, &opts);

	if (ret) {
		fprintf(stderr, "BPF_PROG_TEST_RUN: %s\n", strerror(-ret));
		return 0;
	}
	return opts.duration;
}

static int run_alone(const char *obj, int repeat)
{
	int fd = bound_socket(SOCK_STREAM, INADDR_LOOPBACK, OTHER_PORT);
	struct su_skl *s = steer(obj, IPPROTO_TCP, fd, true, 20);
	struct su_skl *bare = steer(obj, IPPROTO_TCP, fd, false, 20);

	printf("{\"mode\":\"run\",\"repeat\":%d,\"matchNs\":%.1f,\"matchNoLoadNs\":%.1f,"
	       "\"noRuleNs\":%.1f}\n", repeat,
	       prog_run_ns(su_skl_prog_fd(s), 0x0a140a0a, repeat),
	       prog_run_ns(su_skl_prog_fd(bare), 0x0a140a0a, repeat),
	       prog_run_ns(su_skl_prog_fd(s), 0xc0a80101, repeat));
	su_skl_close(bare);
	su_skl_close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[2], "run") == 0)
		return run_alone(argv[1], atoi(argv[3]));
	if (argc != 5) {
		fprintf(stderr, "usage: %s OBJECT tcp|udp ROUNDS SECONDS\n", argv[0]);
		return 2;
	}
	bool tcp = strcmp(argv[2], "tcp") == 0;
	int rounds = atoi(argv[3]), type = tcp ? SOCK_STREAM : SOCK_DGRAM;
	double seconds = atof(argv[4]);
	int normal = bound_socket(type, INADDR_ANY, PORT);
	int steered = bound_socket(type, INADDR_LOOPBACK, OTHER_PORT);
	pthread_t threads[2];

	if (tcp) {
		pthread_create(&threads[0], NULL, accept_loop, &normal);
		pthread_create(&threads[1], NULL, accept_loop, &steered);
	}
	/* Four sides in turn: the kernel's lookup; the program steering, counting per address;
	 * steering without the count; attached but matching no rule (the kernel's lookup decides,
	 * after the program's miss: what steering costs the traffic it does not steer). */
	for (int r = 0; r < 4 * rounds; r++) {
		int side = r % 4;
		bool with = side != 0, count_load = side == 1;
		struct su_skl *s = with ? steer(argv[1], tcp ? IPPROTO_TCP : IPPROTO_UDP, steered,
						count_load, side == 3 ? 99 : 20)
					: NULL;
		uint64_t counters[SU_SKL_COUNTER_COUNT] = { 0 }, failed = 0;
		struct su_error err = { 0 };
		uint64_t found0, no_ports0, found1, no_ports1;
		udp_snmp(&found0, &no_ports0);
		double t0 = now();
		uint64_t n = tcp ? tcp_round(seconds, &failed) : udp_round(seconds, &failed);
		double took = now() - t0;
		udp_snmp(&found1, &no_ports1);

		if (s && su_skl_counters(s, counters, &err))
			fprintf(stderr, "counters: %s\n", err.message);
		printf("{\"protocol\":\"%s\",\"side\":%d,\"steering\":%s,\"countLoad\":%s,\"count\":%llu,"
		       "\"failed\":%llu,\"seconds\":%.4f,\"steered\":%llu,\"udpFound\":%llu,"
		       "\"udpNoPorts\":%llu}\n",
		       argv[2], side, with ? "true" : "false", count_load ? "true" : "false", (unsigned long long)n,
		       (unsigned long long)failed, took,
		       (unsigned long long)counters[SU_SKL_skl_steered],
		       (unsigned long long)(found1 - found0), (unsigned long long)(no_ports1 - no_ports0));
		fflush(stdout);
		su_skl_close(s);
	}
	stopping = true;
	/* The accept threads block in accept(): the process ends with them. */
	return 0;
}
