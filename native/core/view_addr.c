/* The address-slice key kind's part of the view (issue 16): the section's size rule (for
 * view_check.c), its services checked (prefixes, disjoint, bits, rows, filter) and copied into
 * struct su_meta, its rows checked and appended to the view's rows (after flow-hash's). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flow_hash.h"
#include "view_check.h"
#include "view_error.h"
#include "view_prefix.h"
#include "view_index.h"

int su_check_addr_section(const uint8_t *image, uint32_t index, const struct su_section *s,
			  struct su_error *err)
{
	struct su_addr_head head;
	uint64_t expected;

	if (s->size < sizeof(head))
		return su_bad(err, "section %u (address-slice) is %u bytes, shorter than its "
				   "%zu-byte head",
			      index, s->size, sizeof(head));
	memcpy(&head, image + s->offset, sizeof(head));
	if (head.service_count > SU_ADDR_SERVICES_MAX)
		return su_bad(err, "section %u (address-slice) has %u services, expected at most %u",
			      index, head.service_count, SU_ADDR_SERVICES_MAX);
	expected = sizeof(head) + (uint64_t)head.service_count * sizeof(struct su_addr_service) +
		   (uint64_t)head.row_count * sizeof(struct su_flow_row);
	if (s->size != expected)
		return su_bad(err, "section %u (address-slice) is %u bytes, but service_count %u "
				   "and row_count %u make %llu",
			      index, s->size, head.service_count, head.row_count,
			      (unsigned long long)expected);
	return 0;
}

/* Service `i` (a local copy): an IPv6 prefix of at most /64, bits, rows in order, filter. */
static int check_service(const struct su_addr_service *a, uint32_t i, uint32_t row_first,
			 uint32_t owners, struct su_error *err)
{
	int ret = su_check_prefix("address-slice service", i, SU_FAMILY_IPV6, a->prefix_len,
				  a->addr, err);

	if (ret)
		return ret;
	if (a->prefix_len == 0 || a->prefix_len > SU_ADDR_PREFIX_MAX)
		return su_bad(err, "address-slice service %u is a /%u, expected a prefix of /1 to "
				   "/%u",
			      i, a->prefix_len, SU_ADDR_PREFIX_MAX);
	if (a->bits > SU_ADDR_BITS_MAX)
		return su_bad(err, "address-slice service %u has %u index bits, expected at most %u "
				   "(2^%u rows)",
			      i, a->bits, SU_ADDR_BITS_MAX, SU_ADDR_BITS_MAX);
	if (a->row_first != row_first)
		return su_bad(err, "address-slice service %u has row_first %u, expected %u (the "
				   "rows of the services before it)",
			      i, a->row_first, row_first);
	if (a->filter > SU_ADDR_FILTER_OWNER)
		return su_bad(err, "address-slice service %u has filter %u, expected 0 (none), 1 "
				   "(drop) or 2 (owner)",
			      i, a->filter);
	if (a->filter && (a->source_bits == 0 || a->source_bits > 128))
		return su_bad(err, "address-slice service %u has source_bits %u, expected 1 to 128",
			      i, a->source_bits);
	if (a->filter == SU_ADDR_FILTER_OWNER && a->filter_owner >= owners)
		return su_bad(err, "address-slice service %u sends non-conforming packets to owner "
				   "%u, but the image has %u owners",
			      i, a->filter_owner, owners);
	return 0;
}

/* The service as the lookup reads it (tables.h, struct su_addr_meta). */
static void meta_of(const struct su_addr_service *a, uint64_t rows_before,
		    struct su_addr_meta *out)
{
	uint32_t sb = a->source_bits;

	memset(out, 0, sizeof(*out));
	out->mask = ~0ULL << (64 - a->prefix_len);
	out->prefix = su_load_be64(a->addr) & out->mask;
	out->prefix_len = a->prefix_len;
	out->bits = a->bits;
	out->row_first = (uint32_t)(rows_before + a->row_first);
	out->filter = a->filter;
	out->filter_owner = a->filter_owner;
	out->k0 = su_load_be64(a->key);
	out->k1 = su_load_be64(a->key + 8);
	out->src_mask_hi = sb >= 64 ? ~0ULL : sb ? ~0ULL << (64 - sb) : 0;
	out->src_mask_lo = sb >= 128 ? ~0ULL : sb <= 64 ? 0 : ~0ULL << (128 - sb);
}

/* Whether services `a` and `b` overlap: the shorter prefix holds the longer's network. */
static int overlaps(const struct su_addr_meta *a, const struct su_addr_meta *b)
{
	uint64_t mask = a->prefix_len < b->prefix_len ? a->mask : b->mask;

	return (a->prefix & mask) == (b->prefix & mask);
}

/* The rows, appended to the view's (flow-hash's first), each owner checked. */
static int append_rows(struct su_view *v, const uint8_t *src, uint32_t count,
		       struct su_error *err)
{
	uint32_t owners = v->header->owner_count;
	uint64_t first = v->flow_row_count;
	struct su_flow_row *rows = realloc(v->flow_rows, (first + count + 1) * sizeof(*rows));

	if (!rows)
		return su_error_set(err, "ERR_INVALID_TABLE", ENOMEM, NULL,
				    "Could not allocate %u address-slice rows", count);
	v->flow_rows = rows;
	memcpy(rows + first, src, (size_t)count * sizeof(*rows));
	v->flow_row_count = first + count;
	for (uint32_t r = 0; r < count; r++)
		if (rows[first + r].primary >= owners || rows[first + r].secondary >= owners)
			return su_bad(err, "address-slice row %u names owners %u and %u, but the "
					   "image has %u owners",
				      r, rows[first + r].primary, rows[first + r].secondary, owners);
	return 0;
}

int su_view_index_addr(struct su_view *v, const uint8_t *image, const struct su_section *s,
		       struct su_error *err)
{
	const uint8_t *at = image + s->offset;
	struct su_addr_service svc;
	struct su_addr_head head;
	uint64_t rows = 0;
	int ret;

	memcpy(&head, at, sizeof(head));
	at += sizeof(head);
	for (uint32_t i = 0; i < head.service_count; i++, at += sizeof(svc)) {
		memcpy(&svc, at, sizeof(svc));
		ret = check_service(&svc, i, (uint32_t)rows, v->header->owner_count, err);
		if (ret)
			return ret;
		meta_of(&svc, v->flow_row_count, &v->meta.addr[i]);
		for (uint32_t j = 0; j < i; j++)
			if (overlaps(&v->meta.addr[j], &v->meta.addr[i]))
				return su_bad(err, "address-slice service %u overlaps service %u: "
						   "services must be disjoint",
					      i, j);
		rows += 1ULL << svc.bits;
	}
	if (rows != head.row_count)
		return su_bad(err, "address-slice section has row_count %u, but its services' "
				   "2^bits rows make %llu",
			      head.row_count, (unsigned long long)rows);
	v->meta.addr_count = (uint8_t)head.service_count;
	return append_rows(v, at, head.row_count, err);
}
