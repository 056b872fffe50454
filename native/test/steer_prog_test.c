/* Golden-packet test of the XDP program (bpf/steer.bpf.c) through BPF_PROG_TEST_RUN: each case
 * checks the verdict, the counter that moved and that the packet passed unchanged. Needs root.
 * Usage: steer_prog_test PATH/TO/steer.bpf.o
 *
 * Redirection to a bound AF_XDP socket is not covered here: test runs see an empty XSKMAP on the
 * loopback device's queue 0, so captured packets end in pass_no_socket. The network-namespace
 * tests (test/netns) bind real sockets for that path. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>

#include <softunicast/abi.h>

/* ---- libbpf's log: kept quiet, shown when loading fails ----------------------------------- */

static FILE *libbpf_log;

static int capture_libbpf_log(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	return vfprintf(libbpf_log, fmt, args);
}

/* ---- Frame builders: append one header at a time, network byte order --------------------- */

struct frame {
	uint8_t b[512];
	size_t len;
};

static uint8_t *put(struct frame *f, size_t n)
{
	uint8_t *p = f->b + f->len;

	memset(p, 0, n);
	f->len += n;
	return p;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_addr(uint8_t *p, int af, const char *text)
{
	if (inet_pton(af, text, p) != 1) {
		fprintf(stderr, "bad address in test: %s\n", text);
		exit(2);
	}
}

static void eth(struct frame *f, uint16_t type)
{
	uint8_t *p = put(f, ETH_HLEN);

	memcpy(p, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 2 * ETH_ALEN);
	put16(p + 12, type);
}

/* A tag whose TPID the previous header's EtherType named; `type` is what follows the tag. */
static void vlan(struct frame *f, uint16_t vid, uint16_t type)
{
	uint8_t *p = put(f, 4);

	put16(p, vid);
	put16(p + 2, type);
}

/* IHL above 5 pads with NOP options (type 1, RFC 791). frag is the whole flags+offset field. */
static void ipv4(struct frame *f, uint8_t proto, const char *dst, unsigned ihl, uint16_t frag)
{
	uint8_t *p = put(f, ihl * 4);

	p[0] = (uint8_t)(0x40 | ihl);
	put16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	put_addr(p + 12, AF_INET, "203.0.113.200");
	put_addr(p + 16, AF_INET, dst);
	memset(p + 20, 1, ihl * 4 - 20);
}

static void ipv6(struct frame *f, uint8_t next, const char *dst)
{
	uint8_t *p = put(f, 40);

	p[0] = 0x60;
	p[6] = next;
	p[7] = 64;
	put_addr(p + 8, AF_INET6, "2001:db8:ffff::1");
	put_addr(p + 24, AF_INET6, dst);
}

/* Hop-by-hop, routing or destination options: (units + 1) * 8 bytes, contents zero (Pad1). */
static void ext6(struct frame *f, uint8_t next, uint8_t units)
{
	uint8_t *p = put(f, (units + 1u) * 8);

	p[0] = next;
	p[1] = units;
}

/* offset in 8-byte units; the M flag set, as in every fragment but the last. */
static void frag6(struct frame *f, uint8_t next, uint16_t offset)
{
	uint8_t *p = put(f, 8);

	p[0] = next;
	put16(p + 2, (uint16_t)(offset << 3 | 1));
}

static void udp(struct frame *f, uint16_t dport)
{
	uint8_t *p = put(f, 8);

	put16(p, 40000);
	put16(p + 2, dport);
	put16(p + 4, 8);
}

static void tcp(struct frame *f, uint16_t dport)
{
	uint8_t *p = put(f, 20);

	put16(p, 40000);
	put16(p + 2, dport);
	p[12] = 5 << 4;
	p[13] = 0x02; /* SYN */
}

static void payload(struct frame *f, size_t n)
{
	memset(put(f, n), 0xab, n);
}

/* ---- Running cases ------------------------------------------------------------------------ */

static int prog_fd, counters_fd;
static int ncpus;
static unsigned passed, failed;

static const char *const counter_names[] = {
#define SU_X(name, doc) #name,
	SU_STEER_COUNTERS(SU_X)
#undef SU_X
};

static int read_counters(uint64_t out[SU_STEER_COUNTER_COUNT])
{
	/* Per-CPU values come back as one 8-byte slot per possible CPU. */
	uint64_t *percpu = calloc((size_t)ncpus, sizeof(*percpu));

	if (!percpu)
		return -ENOMEM;
	for (uint32_t key = 0; key < SU_STEER_COUNTER_COUNT; key++) {
		if (bpf_map_lookup_elem(counters_fd, &key, percpu)) {
			int err = -errno;

			free(percpu);
			return err;
		}
		out[key] = 0;
		for (int cpu = 0; cpu < ncpus; cpu++)
			out[key] += percpu[cpu];
	}
	free(percpu);
	return 0;
}

static void run(const char *name, const struct frame *f, enum su_steer_counter expect)
{
	uint64_t before[SU_STEER_COUNTER_COUNT], after[SU_STEER_COUNTER_COUNT];
	uint8_t out[sizeof(f->b)];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = (uint32_t)f->len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	char why[160] = "";
	int err;

	err = read_counters(before);
	if (!err)
		err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (!err)
		err = read_counters(after);

	if (err)
		snprintf(why, sizeof(why), "%s", strerror(-err));
	else if (opts.retval != XDP_PASS)
		snprintf(why, sizeof(why), "returned %u, expected XDP_PASS", opts.retval);
	else if (opts.data_size_out != f->len || memcmp(out, f->b, f->len))
		snprintf(why, sizeof(why), "the packet changed (%u bytes out, %zu in)",
			 opts.data_size_out, f->len);
	else
		for (int c = 0; c < SU_STEER_COUNTER_COUNT; c++) {
			uint64_t want = c == SU_STEER_packets || c == (int)expect;

			if (after[c] - before[c] != want) {
				snprintf(why, sizeof(why), "%s moved by %llu, expected %llu (expected %s)",
					 counter_names[c], (unsigned long long)(after[c] - before[c]),
					 (unsigned long long)want, counter_names[expect]);
				break;
			}
		}

	if (why[0]) {
		printf("not ok - %s: %s\n", name, why);
		failed++;
	} else {
		printf("ok - %s\n", name);
		passed++;
	}
}

/* ---- The rule set all cases run against --------------------------------------------------- */

static struct su_capture_rule rule(uint8_t family, const char *addr, uint8_t prefix_len,
				   uint8_t protocols, uint16_t first, uint16_t last)
{
	struct su_capture_rule r = { .family = family, .prefix_len = prefix_len,
				     .protocols = protocols, .port_first = first, .port_last = last };

	put_addr(r.addr, family == SU_FAMILY_IPV4 ? AF_INET : AF_INET6, addr);
	return r;
}

static int install_rules(int fd)
{
	const struct su_capture_rule rules[] = {
		rule(SU_FAMILY_IPV4, "192.0.2.0", 24, SU_PROTO_UDP, 5000, 5999),
		rule(SU_FAMILY_IPV6, "2001:db8:1::", 48, SU_PROTO_TCP, 443, 443),
		/* /31 ends inside the fourth byte: .10 and .11 are in, .9 and .12 out. */
		rule(SU_FAMILY_IPV4, "198.51.100.10", 31, SU_PROTO_TCP | SU_PROTO_UDP, 80, 80),
		rule(SU_FAMILY_IPV4, "0.0.0.0", 0, SU_PROTO_UDP, 9999, 9999),
		{ .family = SU_FAMILY_NONE },
		/* After the end marker: must never match. */
		rule(SU_FAMILY_IPV4, "192.0.2.0", 24, SU_PROTO_UDP, 7000, 7000),
	};

	for (uint32_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (bpf_map_update_elem(fd, &i, &rules[i], BPF_ANY))
			return -errno;
	}
	return 0;
}

/* ---- Cases -------------------------------------------------------------------------------- */

static void udp4(struct frame *f, const char *dst, uint16_t dport)
{
	eth(f, ETH_P_IP);
	ipv4(f, IPPROTO_UDP, dst, 5, 0);
	udp(f, dport);
	payload(f, 18);
}

static void tcp6_chain(struct frame *f, const char *dst, unsigned hops)
{
	eth(f, ETH_P_IPV6);
	ipv6(f, hops ? IPPROTO_HOPOPTS : IPPROTO_TCP, dst);
	for (unsigned i = 0; i < hops; i++)
		ext6(f, i + 1 < hops ? IPPROTO_DSTOPTS : IPPROTO_TCP, 0);
	tcp(f, 443);
}

static void run_cases(void)
{
	struct frame f;

#define CASE(name, build, expect)                 \
	do {                                      \
		f.len = 0;                        \
		build;                            \
		run(name, &f, SU_STEER_##expect); \
	} while (0)

	CASE("unmanaged udp", udp4(&f, "203.0.113.1", 5000), pass_unmanaged);
	CASE("captured udp, no socket", udp4(&f, "192.0.2.200", 5500), pass_no_socket);
	CASE("port range first", udp4(&f, "192.0.2.7", 5000), pass_no_socket);
	CASE("port range last", udp4(&f, "192.0.2.7", 5999), pass_no_socket);
	CASE("port just below range", udp4(&f, "192.0.2.7", 4999), pass_unmanaged);
	CASE("port just above range", udp4(&f, "192.0.2.7", 6000), pass_unmanaged);
	CASE("protocol not in rule (tcp to a udp rule)",
	     (eth(&f, ETH_P_IP), ipv4(&f, IPPROTO_TCP, "192.0.2.7", 5, 0), tcp(&f, 5000)),
	     pass_unmanaged);
	CASE("rule after the end marker ignored", udp4(&f, "192.0.2.7", 7000), pass_unmanaged);

	CASE("ipv6 tcp via hop-by-hop + destination options",
	     (eth(&f, ETH_P_IPV6), ipv6(&f, IPPROTO_HOPOPTS, "2001:db8:1::5"),
	      ext6(&f, IPPROTO_DSTOPTS, 1), ext6(&f, IPPROTO_TCP, 0), tcp(&f, 443)),
	     pass_no_socket);
	CASE("ipv6 tcp, no extension headers", tcp6_chain(&f, "2001:db8:1:ffff::1", 0),
	     pass_no_socket);
	CASE("ipv6 outside prefix", tcp6_chain(&f, "2001:db8:2::1", 0), pass_unmanaged);
	CASE("ipv6 routing + first fragment",
	     (eth(&f, ETH_P_IPV6), ipv6(&f, IPPROTO_ROUTING, "2001:db8:1::5"),
	      ext6(&f, IPPROTO_FRAGMENT, 2), frag6(&f, IPPROTO_TCP, 0), tcp(&f, 443)),
	     pass_no_socket);
	/* A later piece of the datagram whose first piece (same addresses and identification) the
	 * case above captured: it follows, to the fast path (no socket bound here). */
	CASE("ipv6 non-first fragment, following its captured first",
	     (eth(&f, ETH_P_IPV6), ipv6(&f, IPPROTO_FRAGMENT, "2001:db8:1::5"),
	      frag6(&f, IPPROTO_TCP, 185), tcp(&f, 443)),
	     pass_no_socket);
	CASE("ipv6 8 extension headers", tcp6_chain(&f, "2001:db8:1::5", 8), pass_no_socket);
	CASE("ipv6 9 extension headers", tcp6_chain(&f, "2001:db8:1::5", 9), pass_unparsed);
	CASE("ipv6 icmpv6", (eth(&f, ETH_P_IPV6), ipv6(&f, IPPROTO_ICMPV6, "2001:db8:1::5"),
			     payload(&f, 8)),
	     pass_unparsed);

	CASE("802.1Q tagged",
	     (eth(&f, ETH_P_8021Q), vlan(&f, 100, ETH_P_IP), ipv4(&f, IPPROTO_UDP, "192.0.2.7", 5, 0),
	      udp(&f, 5000)),
	     pass_no_socket);
	CASE("802.1Q tagged ipv6",
	     (eth(&f, ETH_P_8021Q), vlan(&f, 100, ETH_P_IPV6), ipv6(&f, IPPROTO_TCP, "2001:db8:1::5"),
	      tcp(&f, 443)),
	     pass_no_socket);
	CASE("QinQ (802.1ad + 802.1Q)",
	     (eth(&f, ETH_P_8021AD), vlan(&f, 10, ETH_P_8021Q), vlan(&f, 100, ETH_P_IP),
	      ipv4(&f, IPPROTO_UDP, "192.0.2.7", 5, 0), udp(&f, 5000)),
	     pass_no_socket);
	CASE("three tags",
	     (eth(&f, ETH_P_8021AD), vlan(&f, 10, ETH_P_8021Q), vlan(&f, 100, ETH_P_8021Q),
	      vlan(&f, 200, ETH_P_IP), ipv4(&f, IPPROTO_UDP, "192.0.2.7", 5, 0), udp(&f, 5000)),
	     pass_unparsed);

	CASE("ipv4 options (IHL 6)",
	     (eth(&f, ETH_P_IP), ipv4(&f, IPPROTO_UDP, "192.0.2.7", 6, 0), udp(&f, 5000)),
	     pass_no_socket);
	CASE("ipv4 options (IHL 15)",
	     (eth(&f, ETH_P_IP), ipv4(&f, IPPROTO_UDP, "192.0.2.7", 15, 0), udp(&f, 5000)),
	     pass_no_socket);
	CASE("ipv4 IHL 4", (eth(&f, ETH_P_IP), ipv4(&f, IPPROTO_UDP, "192.0.2.7", 5, 0),
			    f.b[ETH_HLEN] = 0x44, udp(&f, 5000)),
	     pass_unparsed);
	CASE("ipv4 first fragment (MF set)",
	     (eth(&f, ETH_P_IP), ipv4(&f, IPPROTO_UDP, "192.0.2.7", 5, 0x2000), udp(&f, 5000)),
	     pass_no_socket);
	/* A later piece whose first was never seen: passed to the kernel, counted. */
	CASE("ipv4 non-first fragment, first unseen",
	     (eth(&f, ETH_P_IP), ipv4(&f, IPPROTO_UDP, "192.0.2.8", 5, 185), udp(&f, 5000)),
	     pass_fragment_unplaced);
	CASE("arp", (eth(&f, ETH_P_ARP), payload(&f, 28)), pass_unparsed);

	/* The kernel refuses test frames shorter than ETH_HLEN (on 6.18 even with XDP metadata in
	 * front), so a frame that ends right after the Ethernet header is as short as we can go. */
	CASE("ethernet header only", eth(&f, ETH_P_IP), pass_unparsed);
	CASE("truncated vlan tag", (eth(&f, ETH_P_8021Q), vlan(&f, 100, ETH_P_IP), f.len -= 1),
	     pass_unparsed);
	CASE("truncated inner vlan tag",
	     (eth(&f, ETH_P_8021AD), vlan(&f, 10, ETH_P_8021Q), vlan(&f, 100, ETH_P_IP), f.len -= 2),
	     pass_unparsed);
	CASE("truncated ipv4 header", (eth(&f, ETH_P_IP), ipv4(&f, IPPROTO_UDP, "192.0.2.7", 5, 0),
				       f.len -= 1),
	     pass_unparsed);
	CASE("truncated ipv4 options",
	     (eth(&f, ETH_P_IP), ipv4(&f, IPPROTO_UDP, "192.0.2.7", 6, 0), f.len -= 2),
	     pass_unparsed);
	CASE("truncated ipv6 header",
	     (eth(&f, ETH_P_IPV6), ipv6(&f, IPPROTO_TCP, "2001:db8:1::5"), f.len -= 1),
	     pass_unparsed);
	CASE("truncated ipv6 extension header",
	     (eth(&f, ETH_P_IPV6), ipv6(&f, IPPROTO_HOPOPTS, "2001:db8:1::5"),
	      ext6(&f, IPPROTO_TCP, 1), f.len -= 15),
	     pass_unparsed);
	CASE("truncated udp header", (udp4(&f, "192.0.2.7", 5000), f.len = ETH_HLEN + 20 + 7),
	     pass_unparsed);
	CASE("truncated tcp header",
	     (eth(&f, ETH_P_IP), ipv4(&f, IPPROTO_TCP, "198.51.100.10", 5, 0), tcp(&f, 80),
	      f.len -= 1),
	     pass_unparsed);

	CASE("/0 ipv4 rule matches any ipv4 (a)", udp4(&f, "10.1.2.3", 9999), pass_no_socket);
	CASE("/0 ipv4 rule matches any ipv4 (b)", udp4(&f, "255.255.255.255", 9999),
	     pass_no_socket);
	CASE("/0 ipv4 rule does not match ipv6",
	     (eth(&f, ETH_P_IPV6), ipv6(&f, IPPROTO_UDP, "2001:db8:1::5"), udp(&f, 9999)),
	     pass_unmanaged);
	CASE("/31 lower address inside", udp4(&f, "198.51.100.10", 80), pass_no_socket);
	CASE("/31 upper address inside", udp4(&f, "198.51.100.11", 80), pass_no_socket);
	CASE("/31 address above outside", udp4(&f, "198.51.100.12", 80), pass_unmanaged);
	CASE("/31 address below outside", udp4(&f, "198.51.100.9", 80), pass_unmanaged);
#undef CASE
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	char *log_text = NULL;
	size_t log_len = 0;
	bool show_log = false;
	int rules_fd, err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH/TO/steer.bpf.o\n", argv[0]);
		return 2;
	}
	libbpf_log = open_memstream(&log_text, &log_len);
	if (!libbpf_log) {
		perror("open_memstream");
		return 1;
	}
	libbpf_set_print(capture_libbpf_log);

	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		err = -errno;
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(-err));
		show_log = true;
		goto close_log;
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "load %s: %s\n", argv[1], strerror(-err));
		show_log = true;
		goto close_obj;
	}
	prog = bpf_object__find_program_by_name(obj, "su_steer");
	rules_fd = bpf_object__find_map_fd_by_name(obj, "su_capture_rules");
	counters_fd = bpf_object__find_map_fd_by_name(obj, "su_steer_counters");
	ncpus = libbpf_num_possible_cpus();
	if (!prog || rules_fd < 0 || counters_fd < 0 ||
	    bpf_object__find_map_fd_by_name(obj, "su_xsks") < 0 || ncpus < 0) {
		fprintf(stderr, "%s lacks su_steer or one of its maps\n", argv[1]);
		err = -ENOENT;
		goto close_obj;
	}
	prog_fd = bpf_program__fd(prog);
	err = install_rules(rules_fd);
	if (err) {
		fprintf(stderr, "install rules: %s\n", strerror(-err));
		goto close_obj;
	}

	run_cases();
	printf("%u passed, %u failed\n", passed, failed);
	err = failed ? -1 : 0;
close_obj:
	bpf_object__close(obj);
close_log:
	libbpf_set_print(NULL);
	fclose(libbpf_log);
	if (show_log)
		fputs(log_text, stderr);
	free(log_text);
	return err ? 1 : 0;
}
