/* End to end for the XDP program's local view on a real attach path: a network namespace this
 * program unshares for itself, a veth pair, a port on sut0 with su_port_set_local_view, frames
 * sent raw from peer0 and what the kernel's own UDP sockets then receive. Driven by
 * test/netns/local-view.test.ts (frames from test/fixtures/packets.ts), under valgrind; root.
 *   local_view_driver PATH/TO/steer.bpf.o
 * Setup: sut0 02:00:00:00:00:01 with 192.0.2.1/24 and 2001:db8::1/64 (this host), the shared
 * addresses 198.51.100.7/32 and 2001:db8:100::7/128 on lo, UDP sockets on port 1500 of both
 * families; peer0 02:00:00:00:00:02, IPv6 off so that it sends nothing of its own.
 * Commands on stdin, one JSON line each on stdout ("-" for no bytes):
 *   view HOST RULES TRUSTED  su_port_set_local_view
 *   send FRAME               sends on peer0, returns once the XDP program has seen it
 *   recv                     the next datagram on either socket: {"family", "payload"}, or
 *                            family 0 when none came within two seconds
 *   pending                  datagrams waiting on the sockets, without waiting
 *   counters                 the XDP program's counters, by name
 *   close                    closes the port (later commands answer ERR_CLOSED) */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "softunicast/xsk_port.h"

#define LOCAL_PORT 1500
#define WAIT_MS 2000

static const char *const counter_names[] = {
#define SU_X(name, doc) #name,
	SU_STEER_COUNTERS(SU_X)
#undef SU_X
};

struct driver {
	struct su_port *port;
	int raw;       /* AF_PACKET on peer0 */
	int udp[2];    /* the kernel's sockets: IPv4, IPv6 */
	int peer_index;
};

/* ---- Output and input (as in steer_run.c) ------------------------------------------------- */

static void print_error(const char *code, const char *message)
{
	printf("{\"ok\":false,\"code\":\"%s\",\"message\":\"", code);
	for (const char *s = message; *s; s++)
		printf(*s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
	printf("\"}\n");
}

static void print_hex(const uint8_t *bytes, size_t len)
{
	for (size_t i = 0; i < len; i++)
		printf("%02x", bytes[i]);
}

static ssize_t unhex(const char *text, uint8_t *out, size_t cap)
{
	size_t len = strcmp(text, "-") == 0 ? 0 : strlen(text);

	if (len % 2 || len / 2 > cap)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned byte;

		if (sscanf(text + 2 * i, "%2x", &byte) != 1)
			return -1;
		out[i] = (uint8_t)byte;
	}
	return (ssize_t)(len / 2);
}

static int now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* ---- Commands ----------------------------------------------------------------------------- */

static int steer_counters(struct driver *d, uint64_t out[SU_STEER_COUNTER_COUNT])
{
	struct su_error err = { 0 };

	if (su_port_steer_counters(d->port, out, &err)) {
		print_error(err.code, err.message);
		return -1;
	}
	return 0;
}

static void cmd_view(struct driver *d, char **args)
{
	static uint8_t host[sizeof(struct su_host)];
	static struct su_capture_rule rules[2 * SU_LOCAL_RULES_MAX];
	static struct su_prefix trusted[2 * SU_TRUSTED_PEERS_MAX];
	ssize_t host_len = unhex(args[0], host, sizeof(host));
	ssize_t rules_len = unhex(args[1], (uint8_t *)rules, sizeof(rules));
	ssize_t trusted_len = unhex(args[2], (uint8_t *)trusted, sizeof(trusted));
	struct su_error err = { 0 };

	if (host_len != sizeof(host) || rules_len < 0 || trusted_len < 0 ||
	    rules_len % sizeof(rules[0]) || trusted_len % sizeof(trusted[0])) {
		print_error("ERR_INVALID_OPTION", "view: bad hex or sizes");
		return;
	}
	if (su_port_set_local_view(d->port, (const struct su_host *)host, rules,
				   (uint32_t)(rules_len / sizeof(rules[0])), trusted,
				   (uint32_t)(trusted_len / sizeof(trusted[0])), &err))
		print_error(err.code, err.message);
	else
		printf("{\"ok\":true}\n");
}

static void cmd_send(struct driver *d, const char *hex)
{
	static uint8_t frame[4096];
	ssize_t len = unhex(hex, frame, sizeof(frame));
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = d->peer_index,
				  .sll_halen = ETH_ALEN };
	uint64_t before[SU_STEER_COUNTER_COUNT], now[SU_STEER_COUNTER_COUNT];

	if (len < ETH_HLEN) {
		print_error("ERR_INVALID_OPTION", "send: bad hex");
		return;
	}
	memcpy(to.sll_addr, frame, ETH_ALEN);
	if (steer_counters(d, before))
		return;
	if (sendto(d->raw, frame, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to)) != len) {
		print_error("ERR_SYSCALL", strerror(errno));
		return;
	}
	/* veth hands the frame to sut0's NAPI: the program runs a little later, on another CPU
	 * maybe. Nothing else reaches sut0 (peer0 has IPv6 off), so one more packet is ours. */
	for (int start = now_ms(); now_ms() - start < WAIT_MS; usleep(1000)) {
		if (steer_counters(d, now))
			return;
		if (now[SU_STEER_packets] > before[SU_STEER_packets]) {
			printf("{\"ok\":true}\n");
			return;
		}
	}
	print_error("ERR_TIMEOUT", "the XDP program never saw the frame");
}

static void cmd_recv(struct driver *d, int timeout_ms)
{
	struct pollfd fds[2] = { { .fd = d->udp[0], .events = POLLIN },
				 { .fd = d->udp[1], .events = POLLIN } };
	static uint8_t buf[4096];
	int ready = poll(fds, 2, timeout_ms);

	if (ready < 0) {
		print_error("ERR_SYSCALL", strerror(errno));
		return;
	}
	for (int i = 0; i < 2; i++) {
		if (!(fds[i].revents & POLLIN))
			continue;
		ssize_t n = recv(d->udp[i], buf, sizeof(buf), 0);

		if (n < 0) {
			print_error("ERR_SYSCALL", strerror(errno));
			return;
		}
		printf("{\"ok\":true,\"family\":%d,\"payload\":\"", i == 0 ? 4 : 6);
		print_hex(buf, (size_t)n);
		printf("\"}\n");
		return;
	}
	printf("{\"ok\":true,\"family\":0}\n");
}

static void cmd_pending(struct driver *d)
{
	int total = 0;

	for (int i = 0; i < 2; i++) {
		int bytes = 0;

		/* FIONREAD on UDP gives the next datagram's size: drain to count them all. */
		while (ioctl(d->udp[i], FIONREAD, &bytes) == 0 && bytes > 0 &&
		       recv(d->udp[i], &bytes, sizeof(bytes), MSG_DONTWAIT) >= 0)
			total++;
	}
	printf("{\"ok\":true,\"pending\":%d}\n", total);
}

static void cmd_counters(struct driver *d)
{
	uint64_t c[SU_STEER_COUNTER_COUNT];

	if (steer_counters(d, c))
		return;
	printf("{\"ok\":true,\"counters\":{");
	for (int i = 0; i < SU_STEER_COUNTER_COUNT; i++)
		printf("%s\"%s\":%llu", i ? "," : "", counter_names[i], (unsigned long long)c[i]);
	printf("}}\n");
}

/* ---- Setup -------------------------------------------------------------------------------- */

static int udp_socket(int family)
{
	int fd = socket(family, SOCK_DGRAM, 0), one = 1;
	struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons(LOCAL_PORT) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(LOCAL_PORT),
				    .sin6_addr = IN6ADDR_ANY_INIT };

	if (fd < 0)
		return -1;
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		goto fail;
	if (family == AF_INET ? bind(fd, (struct sockaddr *)&in4, sizeof(in4))
			      : bind(fd, (struct sockaddr *)&in6, sizeof(in6)))
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

int main(int argc, char **argv)
{
	struct su_port_config cfg = {
		.ifname = "sut0", .queue_count = 1, .frame_size = 4096, .frame_count = 256,
		.rx_size = 128, .tx_size = 128, .fill_size = 128, .completion_size = 128,
		.batch_size = 32, .bind = SU_BIND_COPY, .attach = SU_ATTACH_DRIVER,
		.need_wakeup = true,
	};
	struct driver d = { .raw = -1, .udp = { -1, -1 } };
	struct su_error err = { 0 };
	char *line = NULL;
	size_t cap = 0;
	bool closed = false;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH/TO/steer.bpf.o\n", argv[0]);
		return 2;
	}
	cfg.bpf_object_path = argv[1];
	/* A namespace of our own: nothing to name, nothing left behind when the process ends. */
	if (unshare(CLONE_NEWNET) ||
	    system("ip link add sut0 address 02:00:00:00:00:01 type veth peer name peer0 "
		   "address 02:00:00:00:00:02 && sysctl -qw net.ipv6.conf.peer0.disable_ipv6=1 && "
		   "ip link set lo up && ip addr add 198.51.100.7/32 dev lo && "
		   "ip addr add 2001:db8:100::7/128 dev lo && "
		   "ip addr add 192.0.2.1/24 dev sut0 && "
		   "ip addr add 2001:db8::1/64 dev sut0 nodad && "
		   "ip link set sut0 up && ip link set peer0 up")) {
		perror("network namespace setup");
		return 2;
	}
	d.peer_index = (int)if_nametoindex("peer0");
	d.raw = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: sends only, receives nothing */
	d.udp[0] = udp_socket(AF_INET);
	d.udp[1] = udp_socket(AF_INET6);
	if (d.raw < 0 || d.udp[0] < 0 || d.udp[1] < 0 || !d.peer_index) {
		perror("sockets");
		return 2;
	}
	cfg.queue_ids[0] = 0;
	if (su_port_open(&cfg, &d.port, &err) || su_port_start(d.port, &err)) {
		fprintf(stderr, "open: %s: %s\n", err.code, err.message);
		su_port_free(d.port);
		return 2;
	}

	printf("{\"ok\":true,\"ready\":true}\n");
	fflush(stdout);
	while (getline(&line, &cap, stdin) >= 0) {
		char *words[4], *save = NULL;
		int n = 0;

		for (char *w = strtok_r(line, " \n", &save); w && n < 4; w = strtok_r(NULL, " \n", &save))
			words[n++] = w;
		if (n == 0)
			continue;
		if (!strcmp(words[0], "view") && n == 4)
			cmd_view(&d, words + 1);
		else if (!strcmp(words[0], "send") && n == 2 && !closed)
			cmd_send(&d, words[1]);
		else if (!strcmp(words[0], "recv") && n == 1)
			cmd_recv(&d, WAIT_MS);
		else if (!strcmp(words[0], "pending") && n == 1)
			cmd_pending(&d);
		else if (!strcmp(words[0], "counters") && n == 1)
			cmd_counters(&d);
		else if (!strcmp(words[0], "close") && n == 1) {
			su_port_close(d.port);
			closed = true;
			printf("{\"ok\":true}\n");
		} else
			print_error("ERR_INVALID_OPTION", "unknown command or wrong argument count");
		fflush(stdout);
	}
	free(line);
	su_port_free(d.port);
	close(d.raw);
	close(d.udp[0]);
	close(d.udp[1]);
	return 0;
}
