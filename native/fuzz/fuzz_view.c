/* libFuzzer target: su_view_build on arbitrary table images (untrusted input, layout in
 * softunicast/table.h), with ASan and UBSan (native/fuzz/build.sh). It must accept exactly the
 * images that follow the rules (oracle_table.c checks them one by one) and refuse the rest with
 * an ERR_INVALID_TABLE message (ERR_TABLE_LIMIT for more L2 servers than the packet path checks).
 * An accepted view must hand the XDP program's maps the image's own sections, answer lookups as
 * a scan of the image does, route packets to its owners (each port-slice key's first few, every
 * address-slice service's rows and edges) in both lanes as the reference model
 * says (so that fuzzed hosts, owners and peers, MTUs and all, reach the encapsulator and the
 * loop rules), and free without a leak. Seeds are real images (native/fuzz/seeds.ts), which the
 * fuzzer mutates. */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"

#define PROBE_KEYS 16   /* keys whose neighbourhood is looked up, spread over the table */
#define PROBE_RANGES 4  /* ranges per key whose edges are looked up */
#define ROUTE_KEYS 4    /* keys whose owners get packets */
#define FRAME_MAX (SU_CORE_MAX_GROWTH + 9216)
#define HEADROOM 256

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void ipv4_checksum(uint8_t *ip)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(ip + 10, ~sum & 0xffff);
}

/* An IP datagram of `ip_len` bytes (at least its headers) from `saddr` to `daddr`, carrying
 * `protocol` (TCP, UDP with `dport`; UDP with a GUE payload of `inner_len` bytes already in
 * place when `inner_len` is not 0). */
static void ip_datagram(uint8_t *ip, uint8_t family, const uint8_t *saddr, const uint8_t *daddr,
			uint8_t protocol, uint16_t sport, uint16_t dport, uint32_t ip_len)
{
	uint32_t hl = family == SU_FAMILY_IPV4 ? 20 : 40;
	uint8_t *l4 = ip + hl;

	memset(ip, 0, hl);
	memset(l4, 0, protocol == IPPROTO_TCP ? 20 : 8);
	if (family == SU_FAMILY_IPV4) {
		ip[0] = 0x45;
		put16(ip + 2, ip_len);
		ip[8] = 64;
		ip[9] = protocol;
		memcpy(ip + 12, saddr, 4);
		memcpy(ip + 16, daddr, 4);
		ipv4_checksum(ip);
	} else {
		ip[0] = 0x60;
		put16(ip + 4, ip_len - hl);
		ip[6] = protocol;
		ip[7] = 64;
		memcpy(ip + 8, saddr, 16);
		memcpy(ip + 24, daddr, 16);
	}
	put16(l4, sport);
	put16(l4 + 2, dport);
	if (protocol == IPPROTO_UDP)
		put16(l4 + 4, ip_len - hl); /* checksum 0: none (GUE over IPv6 too, from a peer) */
	else
		l4[12] = 0x50;
}

static uint32_t ethernet(uint8_t *frame, const struct su_host *host, uint8_t family)
{
	static const uint8_t gateway[6] = { 0x02, 0, 0, 0, 0x01, 0xfe };

	memcpy(frame, host->mac, 6);
	memcpy(frame + 6, gateway, 6);
	put16(frame + 12, family == SU_FAMILY_IPV4 ? 0x0800 : 0x86dd);
	return 14;
}

/* One frame through the worker lane and the XDP lane, which must agree (fuzz_route.c says how). */
static void route_frame(const struct su_view *view, const struct fz_table *t, const uint8_t *frame,
			uint32_t len)
{
	struct fz_result worker, xdp;

	fz_route(view, t, FZ_ALONE, NULL, NULL, frame, len, HEADROOM, &worker);
	fz_route(view, t, FZ_XDP, NULL, NULL, frame, len, HEADROOM, &xdp);
	if (fz_budget_apart(worker.fate, xdp.fate)) {
		/* Fine: the answer budget ran dry between the two calls (oracle.h). */
	} else if (SU_ROUTE_PASSES(xdp.fate) || xdp.fate == SU_ROUTE_decap_local ?
		    worker.fate != SU_ROUTE_drop_local :
		    worker.fate != xdp.fate || worker.len != xdp.len ||
			    (worker.bytes && memcmp(worker.bytes, xdp.bytes, worker.len) != 0))
		fz_fail("the worker lane (%s) and the XDP lane (%s) differ",
			fz_fate_name(worker.fate), fz_fate_name(xdp.fate));
	fz_result_free(&worker);
	fz_result_free(&xdp);
}

/* The GUE sources to try, at most one per family of each kind: a trusted prefix's first address
 * (another data centre, or a server when it is one) and a server of this data centre (trusted
 * or not). */
static int gue_sources(const struct fz_table *t, const struct su_host *host, uint8_t *family,
		       const uint8_t **addr)
{
	int n = 0, seen = 0;

	for (uint32_t i = 0; i < t->h.trusted_count + t->h.peer_count && n < 4; i++) {
		int peer = i >= t->h.trusted_count;
		uint8_t f = peer ? t->peers[i - t->h.trusted_count].family : t->trusted[i].family;
		int bit = 1 << ((f == SU_FAMILY_IPV6) + 2 * peer);

		if ((seen & bit) ||
		    !(host->flags & (f == SU_FAMILY_IPV4 ? SU_HOST_HAS_IPV4 : SU_HOST_HAS_IPV6)))
			continue;
		seen |= bit;
		family[n] = f;
		addr[n++] = peer ? t->peers[i - t->h.trusted_count].addr : t->trusted[i].addr;
	}
	return n;
}

/* The source of every probe: an address-slice service's filter is asked about it. */
static const uint8_t client[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0xff, [15] = 0x10 };

/* Sends a `ip_len`-byte TCP or UDP datagram to (addr, protocol, port) through the view: as it
 * is, from an L2 server's MAC, and in GUE (both variants) from trusted peers and servers. */
static void route_to(const struct su_view *view, const struct fz_table *t, uint8_t family,
		     const uint8_t *addr, uint8_t protocol, uint16_t port, uint32_t ip_len)
{
	const struct su_host *host = su_view_host(view);
	static uint8_t frame[FRAME_MAX];
	const uint8_t *sources[4];
	uint8_t families[4];
	int n;
	uint32_t l2;

	if (ip_len < (family == SU_FAMILY_IPV4 ? 20u : 40u) + 20 || ip_len > 9000)
		return;
	l2 = ethernet(frame, host, family);
	ip_datagram(frame + l2, family, client, addr, protocol, 40000, port, ip_len);
	route_frame(view, t, frame, l2 + ip_len);
	for (uint32_t i = 0; i < t->h.peer_count; i++) {
		if (t->peers[i].flags & SU_PEER_HAS_MAC) {
			memcpy(frame + 6, t->peers[i].mac, 6);
			route_frame(view, t, frame, l2 + ip_len);
			break;
		}
	}
	n = host->gue_port ? gue_sources(t, host, families, sources) : 0;
	for (int s = 0; s < n; s++) {
		uint8_t outer = families[s];
		const uint8_t *self = outer == SU_FAMILY_IPV4 ? host->ipv4 : host->ipv6;
		uint32_t ohl = outer == SU_FAMILY_IPV4 ? 20 : 40;

		for (int variant = 0; variant < 2; variant++) {
			uint32_t gue = variant == 0 ? 4 : 0, inner_at = 14 + ohl + 8 + gue;

			ethernet(frame, host, outer);
			ip_datagram(frame + inner_at, family, client, addr, protocol, 40000, port,
				    ip_len);
			/* The prefix's own address: inside the prefix, as any host of it. */
			ip_datagram(frame + 14, outer, sources[s], self, IPPROTO_UDP, 51000,
				    host->gue_port, ohl + 8 + gue + ip_len);
			if (variant == 0) {
				uint8_t *g = frame + 14 + ohl + 8;

				g[0] = g[2] = g[3] = 0;
				g[1] = family == SU_FAMILY_IPV4 ? SU_GUE_PROTO_IPV4 : SU_GUE_PROTO_IPV6;
			}
			route_frame(view, t, frame, inner_at + ip_len);
		}
	}
}

/* The owner's encapsulation overhead: where its packets meet the MTU. */
static uint32_t mtu_edge(const struct su_host *host, const struct su_owner *o)
{
	if (o->kind == SU_OWNER_LOCAL)
		return 0;
	if (o->encap == SU_ENCAP_L2)
		return host->mtu;
	if (o->encap == SU_ENCAP_GLB)
		return host->mtu + 14u - SU_GLB_HDR_LEN; /* a hop list of no hop */
	return host->mtu + 14u - (14 + (o->family == SU_FAMILY_IPV4 ? 20 : 40) + 8 +
				  (o->encap == SU_ENCAP_GUE0 ? 4 : 0));
}

/* Lookups around key `k`: its own address and the top of its prefix, each range's edges and
 * the ports just outside them, the other protocol; packets for the owners found. */
static void probe_key(const struct su_view *view, const struct fz_table *t,
		      const struct su_slice_key *k, int route)
{
	uint8_t addrs[2][16];
	uint32_t step = k->range_count > PROBE_RANGES ? k->range_count / PROBE_RANGES : 1;

	memcpy(addrs[0], k->addr, 16);
	memcpy(addrs[1], k->addr, 16);
	for (unsigned bit = k->prefix_len; bit < (k->family == SU_FAMILY_IPV4 ? 32u : 128u); bit++)
		addrs[1][bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	for (int a = 0; a < 2; a++) {
		fz_lookup(view, t, k->family, addrs[a], k->protocol, 0);
		fz_lookup(view, t, k->family, addrs[a], k->protocol, 65535);
		fz_lookup(view, t, k->family, addrs[a], k->protocol ^ (IPPROTO_TCP ^ IPPROTO_UDP),
			  t->ranges[k->range_first].first);
		for (uint32_t i = 0; i < k->range_count; i += step) {
			const struct su_port_range *r = &t->ranges[k->range_first + i];
			long owner;

			if (r->first > 0)
				fz_lookup(view, t, k->family, addrs[a], k->protocol, r->first - 1);
			if (r->last < 65535)
				fz_lookup(view, t, k->family, addrs[a], k->protocol, r->last + 1);
			fz_lookup(view, t, k->family, addrs[a], k->protocol, r->last);
			owner = fz_lookup(view, t, k->family, addrs[a], k->protocol, r->first);
			if (route && a == 0 && i == 0 && owner >= 0) {
				uint32_t edge = mtu_edge(su_view_host(view), &t->owners[owner]);

				route_to(view, t, k->family, addrs[a], k->protocol, r->first, 64);
				route_to(view, t, k->family, addrs[a], k->protocol, r->first, edge);
				route_to(view, t, k->family, addrs[a], k->protocol, r->first, edge + 1);
			}
		}
	}
}

/* Packets to address-slice service `a`: its first and last address, the first of each of a few
 * rows, the addresses just outside it on either side, and with a source filter a destination
 * that conforms to the client's source (flowhash-1) and one that does not. */
static void probe_service(const struct su_view *view, const struct fz_table *t,
			  const struct su_addr_service *a)
{
	uint8_t addr[16];
	uint32_t rows = 1u << a->bits, step = rows > PROBE_RANGES ? rows / PROBE_RANGES : 1;
	uint64_t low;

	for (uint32_t r = 0; r < rows; r += step) {
		memcpy(addr, a->addr, 16);
		for (unsigned b = 0; b < a->bits; b++)
			if (r >> (a->bits - 1 - b) & 1)
				addr[(a->prefix_len + b) / 8] |= (uint8_t)(0x80 >> ((a->prefix_len + b) % 8));
		route_to(view, t, SU_FAMILY_IPV6, addr, IPPROTO_TCP, 443, 64);
	}
	/* The last address, then one past it; the first less one. */
	memcpy(addr, a->addr, 16);
	for (unsigned bit = a->prefix_len; bit < 128; bit++)
		addr[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	route_to(view, t, SU_FAMILY_IPV6, addr, IPPROTO_UDP, 53, 64);
	for (int i = 15; i >= 0 && ++addr[i] == 0; i--)
		;
	route_to(view, t, SU_FAMILY_IPV6, addr, IPPROTO_TCP, 443, 64);
	memcpy(addr, a->addr, 16);
	for (int i = 15; i >= 0 && addr[i]-- == 0; i--)
		;
	route_to(view, t, SU_FAMILY_IPV6, addr, IPPROTO_TCP, 443, 64);
	if (a->filter == SU_ADDR_FILTER_NONE)
		return;
	memcpy(addr, a->addr, 8);
	low = fz_addr_flowhash1(a, client);
	for (int i = 0; i < 8; i++)
		addr[8 + i] = (uint8_t)(low >> (56 - 8 * i));
	route_to(view, t, SU_FAMILY_IPV6, addr, IPPROTO_TCP, 443, 64);
	addr[15] ^= 1;
	route_to(view, t, SU_FAMILY_IPV6, addr, IPPROTO_TCP, 443, 64);
}

/* The forms the XDP program's maps are filled from (softunicast/core.h): the image's sections as
 * they are, and each key where the image has it. */
static void check_exports(const struct su_view *view, const struct fz_table *t)
{
	uint32_t n;
	const struct su_prefix *trusted = su_view_trusted_prefixes(view, &n);

	if (n != t->h.trusted_count || memcmp(trusted, t->trusted, n * sizeof(*trusted)) != 0)
		fz_fail("su_view_trusted_prefixes is not the image's section");
	if (su_view_peers(view, &n) == NULL ||
	    n != t->h.peer_count || memcmp(su_view_peers(view, &n), t->peers, n * sizeof(*t->peers)))
		fz_fail("su_view_peers is not the image's section");
	if (su_view_ranges(view, &n) == NULL || n != t->h.range_count ||
	    memcmp(su_view_ranges(view, &n), t->ranges, n * sizeof(*t->ranges)) != 0)
		fz_fail("su_view_ranges is not the image's section");
	if (su_view_fwds(view, &n) == NULL || n != t->h.owner_count ||
	    su_view_owner_count(view) != n || su_view_key_count(view) != t->h.key_count ||
	    su_view_meta(view)->generation != t->h.generation ||
	    su_view_meta(view)->owner_count != n || su_view_meta(view)->peer_count != t->h.peer_count)
		fz_fail("the view's counts or generation are not the image's");
	for (uint32_t i = 0; i < t->h.key_count; i++) {
		const struct su_slice_key *k = &t->keys[i];
		const uint8_t want_meta[4] = { k->family, k->prefix_len, k->protocol, 0 };
		struct su_key_ranges r;
		struct su_key_id id;
		uint8_t addr[16] = { 0 };

		su_view_key(view, i, &id, &r);
		memcpy(addr, &id.w0, k->family == SU_FAMILY_IPV4 ? 4 : 8);
		if (k->family == SU_FAMILY_IPV6)
			memcpy(addr + 8, &id.w1, 8);
		if (memcmp(&id.meta, want_meta, 4) != 0 || memcmp(addr, k->addr, 16) != 0 ||
		    r.first != k->range_first || r.count != k->range_count ||
		    r.base != t->ranges[k->range_first].first)
			fz_fail("su_view_key %u is not the image's key", i);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
	struct su_error err = { 0 };
	struct su_view *view = NULL;
	struct fz_table t;
	char why[128] = "";
	int want = fz_image_check(input, size, why, sizeof(why));
	int ret = su_view_build(input, size, &view, &err);
	uint32_t step;

	if (ret == -ENOMEM)
		return 0;
	if (ret) {
		const char *code = want == FZ_IMAGE_LIMIT ? "ERR_TABLE_LIMIT" : "ERR_INVALID_TABLE";

		if (want == FZ_IMAGE_VALID)
			fz_fail("a valid image refused: %s", err.message);
		if (ret != -EINVAL || strcmp(err.code, code) != 0 ||
		    (want == FZ_IMAGE_INVALID && strncmp(err.message, "Invalid table image: ", 21) != 0))
			fz_fail("refused (%s) with %d, code '%s', message '%s'", why, ret, err.code,
				err.message);
		return 0;
	}
	if (want != FZ_IMAGE_VALID)
		fz_fail("an image accepted that must be refused (%s)", why);

	fz_table_load(&t, input, size);
	/* The view holds at least its copy of the image, keys aside (they live on in the index):
	 * what the addon tells the garbage collector. */
	if (su_view_generation(view) != t.h.generation ||
	    memcmp(su_view_host(view), &t.h.host, sizeof(t.h.host)) != 0 ||
	    su_view_memory(view) < size - (size_t)t.h.key_count * sizeof(struct su_slice_key))
		fz_fail("the view's generation, host or memory is not the image's");
	check_exports(view, &t);
	step = t.h.key_count > PROBE_KEYS ? t.h.key_count / PROBE_KEYS : 1;
	for (uint32_t i = 0, n = 0; i < t.h.key_count; i += step, n++)
		probe_key(view, &t, &t.keys[i], n < ROUTE_KEYS);
	for (uint32_t i = 0; t.addr_services && i < t.addr.service_count; i++)
		probe_service(view, &t, &t.addr_services[i]);
	fz_table_free(&t);
	su_view_free(view);
	return 0;
}
