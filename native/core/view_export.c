/* What a built view hands the XDP program's maps (softunicast/core.h, su_view_meta and friends):
 * the same forms the workers read, so that both lanes decide alike. */
#include <string.h>

#include "view_index.h"

const struct su_meta *su_view_meta(const struct su_view *view)
{
	return &view->meta;
}

uint32_t su_view_key_count(const struct su_view *view)
{
	return view->header->key_count;
}

void su_view_key(const struct su_view *view, uint32_t index, struct su_key_id *id,
		 struct su_key_ranges *ranges)
{
	const struct su_view_key *k = &view->keys[index];

	memset(id, 0, sizeof(*id));
	id->meta = k->meta;
	/* The masked address as the lookup loads it (lookup.h, su_lookup_init): an IPv4 key's
	 * bytes 4-15 are zero, so its first word alone is the address. The key's first word
	 * starts with its family byte. */
	if (((const uint8_t *)&k->meta)[0] == SU_FAMILY_IPV4) {
		id->w0 = su_load32(k->addr);
	} else {
		id->w0 = su_load64(k->addr);
		id->w1 = su_load64(k->addr + 8);
	}
	*ranges = k->r;
}

const struct su_port_range *su_view_ranges(const struct su_view *view, uint32_t *count)
{
	*count = view->header->range_count;
	return view->ranges;
}

const struct su_fwd *su_view_fwds(const struct su_view *view, uint32_t *count)
{
	*count = view->header->owner_count;
	return view->fwd;
}

const struct su_prefix *su_view_trusted_prefixes(const struct su_view *view, uint32_t *count)
{
	*count = view->header->trusted_count;
	return view->trusted;
}

const struct su_peer *su_view_peers(const struct su_view *view, uint32_t *count)
{
	*count = view->header->peer_count;
	return view->peers;
}

void su_view_flow_entries(const struct su_view *view, uint32_t index, uint32_t *count,
			  const struct su_flow_key **key, const struct su_flow_svc **svc)
{
	if (count)
		*count = view->flow_count;
	if (key && index < view->flow_count) {
		*key = &view->flow[index].key;
		*svc = &view->flow[index].svc;
	}
}

const struct su_flow_row *su_view_flow_rows(const struct su_view *view, uint64_t *count)
{
	*count = view->flow_row_count;
	return view->flow_rows;
}
