/* Tests the flow-hash key kind in native/core without Node or root: the routing tests' table
 * (core_fixture.h) with a flow-hash section appended by hand (softunicast/table.h), one case per
 * rule of the section (view_check.c, view_flow.c) with its message, and a flow routed to the
 * owner of its row in both of the core's answers. Run under valgrind by
 * test/unit/core-native.test.ts. */
#include "core_fixture.h"

#include "../core/flow_hash.h"

#define ROWS 3
#define SERVICES 2
#define SECTION (sizeof(struct su_flow_head) + SERVICES * sizeof(struct su_flow_service) + \
		 SERVICES * ROWS * sizeof(struct su_flow_row))

/* The routing table's image with a flow-hash section: services TCP 192.0.2.80:443 and TCP
 * [2001:db8:80::1]:443, ROWS rows each; rows[i] = owners O_SRV_GUE1_4 / O_SRV_GUE0_6 in turn. */
struct flow_img {
	uint8_t bytes[sizeof(struct img) + SECTION + 64];
	size_t n;
	struct su_flow_head *head;
	struct su_flow_service *svc;
	struct su_flow_row *rows;
};

static void flow_image(struct flow_img *f)
{
	struct img m;
	struct su_table_header *h = (struct su_table_header *)f->bytes;
	size_t base;

	memset(f, 0, sizeof(*f));
	routing_table(&m);
	base = img_bytes(&m, f->bytes);
	h->section_count = 2;
	h->sections[1].kind = SU_KEY_KIND_FLOW_HASH;
	h->sections[1].offset = (uint32_t)base;
	h->sections[1].size = (uint32_t)SECTION;
	f->head = (struct su_flow_head *)(f->bytes + base);
	f->svc = (struct su_flow_service *)(f->head + 1);
	f->rows = (struct su_flow_row *)(f->svc + SERVICES);
	f->head->service_count = SERVICES;
	f->head->rows = ROWS;
	for (int s = 0; s < SERVICES; s++) {
		f->svc[s].family = s ? SU_FAMILY_IPV6 : SU_FAMILY_IPV4;
		f->svc[s].protocol = IPPROTO_TCP;
		f->svc[s].port = 443;
		parse_addr(f->svc[s].family, s ? "2001:db8:80::1" : "192.0.2.80", f->svc[s].addr);
		f->svc[s].row_first = (uint32_t)(s * ROWS);
	}
	for (int r = 0; r < SERVICES * ROWS; r++)
		f->rows[r].primary = f->rows[r].secondary = r % 2 ? O_SRV_GUE0_6 : O_SRV_GUE1_4;
	f->n = base + SECTION;
}

static void expect_flow_reject(const struct flow_img *f, size_t n, const char *what,
			       const char *message)
{
	struct su_error err = { 0 };
	struct su_view *v = NULL;
	int ret = su_view_build(f->bytes, n, &v, &err);

	CHECK(ret == -EINVAL && strcmp(err.message, message) == 0, "rejects %s: %s", what,
	      ret ? err.message : "(accepted)");
	if (ret && strcmp(err.message, message) != 0)
		printf("#   expected: %s\n", message);
	su_view_free(v);
}

static void test_rules(void)
{
	struct flow_img f;
	struct su_table_header *h;
	char msg[256];

	flow_image(&f);
	h = (struct su_table_header *)f.bytes;
	h->sections[1].size = 4;
	expect_flow_reject(&f, f.n - SECTION + 4, "a section shorter than its head",
			   "Invalid table image: section 1 (flow-hash) is 4 bytes, shorter than its "
			   "8-byte head");
	flow_image(&f);
	f.head->rows = 9;
	expect_flow_reject(&f, f.n, "rows that are not prime",
			   "Invalid table image: section 1 (flow-hash) has 9 rows per service, "
			   "expected a prime from 2 to 16777216");
	flow_image(&f);
	f.head->rows = 0;
	expect_flow_reject(&f, f.n, "no rows",
			   "Invalid table image: section 1 (flow-hash) has 0 rows per service, "
			   "expected a prime from 2 to 16777216");
	flow_image(&f);
	f.head->service_count = 1u << 25;
	expect_flow_reject(&f, f.n, "more rows than a section holds",
			   "Invalid table image: section 1 (flow-hash) has 33554432 services of 3 "
			   "rows, more than the 67108864 rows a section holds");
	flow_image(&f);
	f.head->service_count = 1;
	snprintf(msg, sizeof(msg),
		 "Invalid table image: section 1 (flow-hash) is %zu bytes, but service_count 1 and "
		 "rows 3 make %zu",
		 (size_t)SECTION, sizeof(struct su_flow_head) + sizeof(struct su_flow_service) +
					  ROWS * sizeof(struct su_flow_row));
	expect_flow_reject(&f, f.n, "counts that disagree with the section's size", msg);
	flow_image(&f);
	f.svc[0].family = 9;
	expect_flow_reject(&f, f.n, "a service of no family",
			   "Invalid table image: flow-hash service 0 has family 9, expected 4 (IPv4) "
			   "or 6 (IPv6)");
	flow_image(&f);
	f.svc[0].addr[7] = 1;
	expect_flow_reject(&f, f.n, "an IPv4 service with bytes past its address",
			   "Invalid table image: flow-hash service 0 (192.0.2.80/32) has host bits "
			   "set (bytes 4-15 of an IPv4 address must be zero)");
	flow_image(&f);
	f.svc[1].protocol = 1;
	expect_flow_reject(&f, f.n, "a service of another protocol",
			   "Invalid table image: flow-hash service 1 has protocol 1, expected 6 (TCP) "
			   "or 17 (UDP)");
	flow_image(&f);
	f.svc[1].row_first = 1;
	expect_flow_reject(&f, f.n, "rows that do not start a service's run",
			   "Invalid table image: flow-hash service 1 has row_first 1, expected a "
			   "multiple of 3 below 6");
	flow_image(&f);
	f.svc[1].row_first = 6;
	expect_flow_reject(&f, f.n, "rows past the section",
			   "Invalid table image: flow-hash service 1 has row_first 6, expected a "
			   "multiple of 3 below 6");
	flow_image(&f);
	f.svc[1] = f.svc[0];
	expect_flow_reject(&f, f.n, "a service twice",
			   "Invalid table image: flow-hash service 1 (port 443) does not sort after "
			   "service 0: services must be sorted by family, protocol, port and address, "
			   "each once");
	flow_image(&f);
	f.rows[4].secondary = 99;
	snprintf(msg, sizeof(msg),
		 "Invalid table image: flow-hash row 4 names owners %u and 99, but the image has "
		 "%u owners",
		 f.rows[4].primary, ((struct su_table_header *)f.bytes)->owner_count);
	expect_flow_reject(&f, f.n, "a row naming an owner that does not exist", msg);
}

/* A TCP flow to each service goes to its row's primary (by the core's own flow hash, with the
 * host's seed), in GUE; the service's address on another port is the kernel's. */
static void test_route(void)
{
	static const char *dst[2] = { "192.0.2.80", "2001:db8:80::1" };
	static const char *src[2] = { "198.51.100.7", "2001:db8:77::7" };
	struct flow_img f;
	struct su_view *v = NULL;
	struct su_error err;
	struct pkt k;

	flow_image(&f);
	CHECK(su_view_build(f.bytes, f.n, &v, &err) == 0, "accepts a table with a flow-hash "
							 "section: %s", v ? "" : err.message);
	if (!v)
		return;
	for (int s = 0; s < SERVICES; s++) {
		for (uint16_t port = 40000; port < 40008; port++) {
			uint8_t sa[16] = { 0 }, da[16] = { 0 };
			uint8_t family = s ? 6 : 4;
			uint32_t row, owner = SU_OWNER_NONE;
			enum su_route_counter fate;

			parse_addr(family, src[s], sa);
			parse_addr(family, dst[s], da);
			row = su_flow_hash(su_view_host(v)->flow_hash_seed, family, sa, da, IPPROTO_TCP,
					   port, 443) % ROWS;
			pkt_plain(&k, family, src[s], dst[s], IPPROTO_TCP, port, 443, 8);
			fate = su_core_route_owner(v, NULL, &k.data, &k.len,
						   (uint32_t)(k.data - k.buf), &owner);
			CHECK(fate == SU_ROUTE_forward_server_gue &&
				      owner == f.rows[s * ROWS + row].primary,
			      "IPv%u flow from port %u: row %u, owner %u (%s)", family, port, row,
			      owner, fate_name(fate));
		}
		pkt_plain(&k, s ? 6 : 4, src[s], dst[s], IPPROTO_TCP, 40000, 80, 8);
		CHECK(kernels(v, &k) == SU_ROUTE_pass_unmanaged,
		      "IPv%u to the service's address on another port is the kernel's", s ? 6 : 4);
	}
	su_view_free(v);
}

int main(void)
{
	test_rules();
	test_route();
	return summary();
}
