/* Checks of table images for su_view_build (view.c), in view_check.c. */
#ifndef SU_CORE_VIEW_CHECK_H
#define SU_CORE_VIEW_CHECK_H

#include <stddef.h>
#include <string.h>

#include "tables.h"
#include "wire.h"
#include "softunicast/core.h"
#include "view_error.h"


/* The header (a copy, into `out`), its key-kind sections (known kinds, each once, inside the
 * image, apart, together the rest of it), and that the image is exactly as long as they say. */
int su_check_header(const void *image, size_t size, struct su_table_header *out,
		    struct su_error *err);
int su_check_host(const struct su_host *host, struct su_error *err);
int su_check_owner(uint32_t index, const struct su_owner *o, struct su_error *err);
int su_check_peers(const struct su_peer *peers, uint32_t count, struct su_error *err);
/* A key's run of port ranges: inside the range section, each the right way round, sorted by
 * first port without overlap (so lookup can halve it), owners that exist. */
int su_check_ranges(const struct su_table_header *h, const struct su_port_range *ranges,
		    uint32_t index, const struct su_slice_key *k, struct su_error *err);

/* The address-slice section's size rule (view_addr.c): its head's counts make its size. */
int su_check_addr_section(const uint8_t *image, uint32_t index, const struct su_section *s,
			  struct su_error *err);

/* Key kind `kind`'s name ("port-slice"), or NULL for a kind this build does not know. */
const char *su_key_kind_name(uint32_t kind);
/* The image's section of `kind`, or NULL when it has none (after su_check_header). */
static inline const struct su_section *su_find_section(const struct su_table_header *h,
						       uint32_t kind)
{
	for (uint32_t i = 0; i < h->section_count && i < SU_SECTIONS_MAX; i++)
		if (h->sections[i].kind == kind)
			return &h->sections[i];
	return NULL;
}

/* Peers sort by family, then address bytes: <0, 0 or >0 as `p` sorts before, at or after. */
static inline int su_peer_compare(const struct su_peer *p, uint8_t family, const uint8_t *addr)
{
	if (p->family != family)
		return p->family < family ? -1 : 1;
	return memcmp(p->addr, addr, 16);
}

#endif /* SU_CORE_VIEW_CHECK_H */
