/* The flow-hash key kind's part of su_view_build (view.c): its section's services and rows
 * checked (sorted, unique, rows inside the section, owners that exist) and copied into the
 * index the workers' lookup halves (view_index.h, su_view_flow_find), one entry per service and one
 * per service address (for packets whose ports cannot be read). The size rule is view_check.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "view_index.h"
#include "view_check.h"
#include "view_prefix.h"

/* The image's order of services: family, protocol, port (as a number), address bytes. */
static int service_cmp(const struct su_flow_service *a, const struct su_flow_service *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->protocol != b->protocol)
		return a->protocol < b->protocol ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

static int entry_cmp(const void *a, const void *b)
{
	return su_flow_key_cmp(&((const struct su_view_flow *)a)->key,
			       &((const struct su_view_flow *)b)->key);
}

/* Service `i` (a local copy): family and address, protocol, rows, order after `prev`. */
static int check_service(const struct su_flow_service *s, const struct su_flow_service *prev,
			 uint32_t i, const struct su_flow_head *head, struct su_error *err)
{
	int ret = su_check_prefix("flow-hash service", i, s->family,
				  s->family == SU_FAMILY_IPV4 ? 32 : 128, s->addr, err);

	if (ret)
		return ret;
	if (s->protocol != SU_IPPROTO_TCP && s->protocol != SU_IPPROTO_UDP)
		return su_bad(err, "flow-hash service %u has protocol %u, expected 6 (TCP) or 17 "
				   "(UDP)",
			      i, s->protocol);
	if (s->row_first % head->rows ||
	    (uint64_t)s->row_first + head->rows > (uint64_t)head->service_count * head->rows)
		return su_bad(err, "flow-hash service %u has row_first %u, expected a multiple of %u "
				   "below %llu",
			      i, s->row_first, head->rows,
			      (unsigned long long)head->service_count * head->rows);
	if (prev && service_cmp(prev, s) >= 0)
		return su_bad(err, "flow-hash service %u (port %u) does not sort after service %u: "
				   "services must be sorted by family, protocol, port and address, "
				   "each once",
			      i, s->port, i - 1);
	return 0;
}

/* The rows, copied, each owner checked. */
static int copy_rows(struct su_view *v, const uint8_t *src, struct su_error *err)
{
	uint32_t owners = v->header->owner_count;

	v->flow_rows = malloc((v->flow_row_count ? v->flow_row_count : 1) * sizeof(*v->flow_rows));
	if (!v->flow_rows)
		return su_error_set(err, "ERR_INVALID_TABLE", ENOMEM, NULL,
				    "Could not allocate %llu flow-hash rows",
				    (unsigned long long)v->flow_row_count);
	memcpy(v->flow_rows, src, v->flow_row_count * sizeof(*v->flow_rows));
	for (uint64_t r = 0; r < v->flow_row_count; r++)
		if (v->flow_rows[r].primary >= owners || v->flow_rows[r].secondary >= owners)
			return su_bad(err, "flow-hash row %llu names owners %u and %u, but the image "
					   "has %u owners",
				      (unsigned long long)r, v->flow_rows[r].primary,
				      v->flow_rows[r].secondary, owners);
	return 0;
}

/* Sorts the entries and drops repeated address entries (services are unique already). */
static void sort_entries(struct su_view *v)
{
	uint32_t n = 0;

	qsort(v->flow, v->flow_count, sizeof(*v->flow), entry_cmp);
	for (uint32_t i = 0; i < v->flow_count; i++)
		if (n == 0 || su_flow_key_cmp(&v->flow[n - 1].key, &v->flow[i].key) != 0)
			v->flow[n++] = v->flow[i];
	v->flow_count = n;
}

int su_view_index_flow(struct su_view *v, const uint8_t *image, const struct su_section *s,
		       struct su_error *err)
{
	const uint8_t *at = image + s->offset;
	struct su_flow_service svc, prev;
	struct su_flow_head head;
	int ret;

	/* Read once each, into local copies: the caller's buffer may change under us. */
	memcpy(&head, at, sizeof(head));
	v->flow_service_count = head.service_count;
	v->flow_row_count = (uint64_t)head.service_count * head.rows;
	v->flow = calloc(2 * (size_t)head.service_count + 1, sizeof(*v->flow));
	if (!v->flow)
		return su_error_set(err, "ERR_INVALID_TABLE", ENOMEM, NULL,
				    "Could not allocate the index of %u flow-hash services",
				    head.service_count);
	at += sizeof(head);
	for (uint32_t i = 0; i < head.service_count; i++, at += sizeof(svc)) {
		struct su_view_flow *e = &v->flow[v->flow_count++];
		struct su_view_flow *a = &v->flow[v->flow_count++];

		memcpy(&svc, at, sizeof(svc));
		ret = check_service(&svc, i ? &prev : NULL, i, &head, err);
		if (ret)
			return ret;
		e->key.family = a->key.family = svc.family;
		memcpy(e->key.addr, svc.addr, 16);
		memcpy(a->key.addr, svc.addr, 16);
		e->key.protocol = svc.protocol;
		e->key.port = svc.port;
		e->svc.row_first = svc.row_first;
		e->svc.rows = head.rows;
		prev = svc;
	}
	sort_entries(v);
	return copy_rows(v, at, err);
}
