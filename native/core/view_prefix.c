/* Prefixes in table images: host bits, lengths, and how messages name them. Shared by the
 * image's checks (view_check.c) and the key kinds' section checks (view_addr.c): a file of its
 * own, so that the kinds' checks and the header's check that calls them need not import each
 * other. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "view_error.h"
#include "view_prefix.h"
#include "wire.h"

static uint8_t addr_size(uint8_t family)
{
	return family == SU_FAMILY_IPV4 ? 4 : 16;
}

void su_mask_addr(uint8_t out[16], const uint8_t *addr, uint8_t family, uint8_t prefix_len)
{
	uint32_t full = prefix_len / 8, bits = prefix_len % 8;

	memset(out, 0, 16);
	memcpy(out, addr, full);
	if (bits && full < addr_size(family))
		out[full] = (uint8_t)(addr[full] & (0xff << (8 - bits)));
}

/* "10.0.0.0/24" or "2001:db8::/32" for messages; the address need not be valid. */
static const char *format_prefix(char *buf, size_t size, uint8_t family, const uint8_t *addr,
				 uint8_t prefix_len)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(family == SU_FAMILY_IPV4 ? AF_INET : AF_INET6, addr, text, sizeof(text));
	snprintf(buf, size, "%s/%u", text, prefix_len);
	return buf;
}

static const char *protocol_name(char *buf, size_t size, uint8_t protocol)
{
	if (protocol == SU_IPPROTO_TCP)
		return "TCP";
	if (protocol == SU_IPPROTO_UDP)
		return "UDP";
	snprintf(buf, size, "protocol %u", protocol);
	return buf;
}

const char *su_describe_key(char *buf, size_t size, const struct su_slice_key *k)
{
	char addr[80], proto[16];

	snprintf(buf, size, "%s %s", protocol_name(proto, sizeof(proto), k->protocol),
		 format_prefix(addr, sizeof(addr), k->family, k->addr, k->prefix_len));
	return buf;
}

int su_check_prefix(const char *what, uint32_t index, uint8_t family, uint8_t prefix_len,
		    const uint8_t *addr, struct su_error *err)
{
	uint8_t masked[16];
	char text[80];

	if (family != SU_FAMILY_IPV4 && family != SU_FAMILY_IPV6)
		return su_bad(err, "%s %u has family %u, expected 4 (IPv4) or 6 (IPv6)", what, index,
			      family);
	if (prefix_len > su_max_prefix(family))
		return su_bad(err, "%s %u has prefix length %u, longer than the %u bits of an IPv%u "
				   "address",
			      what, index, prefix_len, su_max_prefix(family), family);
	su_mask_addr(masked, addr, family, prefix_len);
	if (memcmp(masked, addr, 16) != 0)
		return su_bad(err, "%s %u (%s) has host bits set%s", what, index,
			      format_prefix(text, sizeof(text), family, addr, prefix_len),
			      family == SU_FAMILY_IPV4 && memcmp(masked, addr, 4) == 0 ?
				      " (bytes 4-15 of an IPv4 address must be zero)" :
				      "");
	return 0;
}
