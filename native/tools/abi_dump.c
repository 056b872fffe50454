/* Prints native/include/softunicast/abi.h, chance.h, sk_lookup.h and error.h as JSON: names, values, layouts.
 * scripts/gen-abi.mjs turns it into src/generated/abi.ts; a unit test checks that file is current. */
#include <stddef.h>
#include <stdio.h>

#include "softunicast/abi.h"
#include "softunicast/chance.h"
#include "softunicast/error.h"
#include "softunicast/sk_lookup.h"

#define FIELD(type, field) \
	printf("%s\"%s\":{\"offset\":%zu,\"size\":%zu}", first++ ? "," : "", #field, \
	       offsetof(struct type, field), sizeof(((struct type *)0)->field))

static void names_begin(const char *key)
{
	printf(",\"%s\":[", key);
}

int main(void)
{
	int first;

	printf("{\"abiVersion\":%d", SU_ABI_VERSION);
	printf(",\"limits\":{\"maxQueues\":%d,\"captureRulesMax\":%d}", SU_MAX_QUEUES,
	       SU_CAPTURE_RULES_MAX);
	printf(",\"modes\":{\"capture\":%d,\"express\":%d,\"afxdp\":%d}", SU_MODE_CAPTURE,
	       SU_MODE_EXPRESS, SU_MODE_AFXDP);
	printf(",\"family\":{\"none\":%d,\"ipv4\":%d,\"ipv6\":%d}", SU_FAMILY_NONE, SU_FAMILY_IPV4,
	       SU_FAMILY_IPV6);
	printf(",\"protocol\":{\"tcp\":%u,\"udp\":%u}", SU_PROTO_TCP, SU_PROTO_UDP);

	first = 0;
	names_begin("steerCounters");
#define SU_X(name, doc) printf("%s{\"name\":\"%s\",\"doc\":\"%s\"}", first++ ? "," : "", #name, doc);
	SU_STEER_COUNTERS(SU_X)
	printf("]");
	first = 0;
	names_begin("queueCounters");
	SU_QUEUE_COUNTERS(SU_X)
	printf("]");
	first = 0;
	names_begin("kernelXdpStats");
	SU_KERNEL_XDP_STATS(SU_X)
	printf("]");
	first = 0;
	names_begin("errorCodes");
	SU_ERROR_CODES(SU_X)
	printf("]");
#undef SU_X
	first = 0;
	printf(",\"actions\":{");
#define SU_X(name, value, doc) printf("%s\"%s\":%d", first++ ? "," : "", #name, value);
	SU_ACTIONS(SU_X)
#undef SU_X
	printf("}");

	first = 0;
	printf(",\"exchangeArea\":{\"rx\":%d,\"tx\":%d}", SU_EXCHANGE_RX, SU_EXCHANGE_TX);
	printf(",\"captureRule\":{\"size\":%zu,\"fields\":{", sizeof(struct su_capture_rule));
	FIELD(su_capture_rule, family);
	FIELD(su_capture_rule, prefix_len);
	FIELD(su_capture_rule, protocols);
	FIELD(su_capture_rule, port_first);
	FIELD(su_capture_rule, port_last);
	FIELD(su_capture_rule, addr);
	printf("}}");
	first = 0;
	printf(",\"exchangeEntry\":{\"size\":%zu,\"fields\":{", sizeof(struct su_exchange_entry));
	FIELD(su_exchange_entry, addr);
	FIELD(su_exchange_entry, len);
	FIELD(su_exchange_entry, action);
	printf("}}");

	printf(",\"table\":{\"magic\":%u,\"trustedPeersMax\":%d", SU_TABLE_MAGIC,
	       SU_TRUSTED_PEERS_MAX);
	printf(",\"hostFlags\":{\"ipv4\":%u,\"ipv6\":%u}", SU_HOST_HAS_IPV4, SU_HOST_HAS_IPV6);
	printf(",\"ownerFlags\":{\"nextHopKnown\":%u}", SU_OWNER_NEXT_HOP_KNOWN);
	printf(",\"peerFlags\":{\"hasMac\":%u},\"peersMax\":%d", SU_PEER_HAS_MAC, SU_PEERS_MAX);
	first = 0;
	printf(",\"ownerKinds\":{");
#define SU_X(name, value, doc) printf("%s\"%s\":%d", first++ ? "," : "", #name, value);
	SU_OWNERS(SU_X)
	printf("}");
	first = 0;
	printf(",\"encaps\":{");
	SU_ENCAPS(SU_X)
#undef SU_X
	printf("}");
	first = 0;
	printf(",\"sectionsMax\":%d,\"keyKinds\":{", SU_SECTIONS_MAX);
#define SU_X(name, value, text, doc) printf("%s\"%s\":%d", first++ ? "," : "", text, value);
	SU_KEY_KINDS(SU_X)
#undef SU_X
	printf("}}");
	printf(",\"gue\":{\"defaultPort\":%d,\"sourcePortMin\":%d,\"sourcePortMask\":%d,"
	       "\"ctypeProbe\":%d,\"ctypeProbeReply\":%d,\"probeNonceLen\":%d}",
	       SU_GUE_DEFAULT_PORT, SU_GUE_SOURCE_PORT_MIN, SU_GUE_SOURCE_PORT_MASK,
	       SU_GUE_CTYPE_PROBE, SU_GUE_CTYPE_PROBE_REPLY, SU_GUE_PROBE_NONCE_LEN);
	first = 0;
	names_begin("routeCounters");
#define SU_X(name, doc) printf("%s{\"name\":\"%s\",\"doc\":\"%s\"}", first++ ? "," : "", #name, doc);
	SU_ROUTE_COUNTERS(SU_X)
	printf("]");
	first = 0;
	names_begin("chanceCounters");
	SU_CHANCE_COUNTERS(SU_X)
	printf("]");
	first = 0;
	names_begin("skLookupCounters");
	SU_SKL_COUNTERS(SU_X)
#undef SU_X
	printf("]");
	printf(",\"skLookup\":{\"keySize\":%zu,\"rangeSize\":%zu,\"rangesSize\":%zu,"
	       "\"rangesMax\":%d,\"prefixesMax\":%d,\"socketsMax\":%d,\"loadKeySize\":%zu,"
	       "\"loadMax\":%d,\"bitsBeforeAddress\":%d,\"familyV4\":%d,\"familyV6\":%d}",
	       sizeof(struct su_skl_key), sizeof(struct su_skl_range), sizeof(struct su_skl_ranges),
	       SU_SKL_RANGES_MAX, SU_SKL_PREFIXES_MAX, SU_SKL_SOCKETS_MAX,
	       sizeof(struct su_skl_load_key), SU_SKL_LOAD_MAX, SU_SKL_KEY_BITS_BEFORE_ADDR,
	       SU_SKL_FAMILY_V4, SU_SKL_FAMILY_V6);

	first = 0;
	printf(",\"host\":{\"size\":%zu,\"fields\":{", sizeof(struct su_host));
	FIELD(su_host, mac);
	FIELD(su_host, mtu);
	FIELD(su_host, gue_port);
	FIELD(su_host, flags);
	FIELD(su_host, flow_hash_seed);
	FIELD(su_host, ipv4);
	FIELD(su_host, ipv6);
	printf("}}");
	first = 0;
	printf(",\"tableHeader\":{\"size\":%zu,\"fields\":{", sizeof(struct su_table_header));
	FIELD(su_table_header, magic);
	FIELD(su_table_header, abi_version);
	FIELD(su_table_header, generation);
	FIELD(su_table_header, trusted_count);
	FIELD(su_table_header, owner_count);
	FIELD(su_table_header, key_count);
	FIELD(su_table_header, range_count);
	FIELD(su_table_header, host);
	FIELD(su_table_header, peer_count);
	FIELD(su_table_header, section_count);
	FIELD(su_table_header, sections);
	printf("}}");
	first = 0;
	printf(",\"section\":{\"size\":%zu,\"fields\":{", sizeof(struct su_section));
	FIELD(su_section, kind);
	FIELD(su_section, offset);
	FIELD(su_section, size);
	printf("}}");
	first = 0;
	printf(",\"peer\":{\"size\":%zu,\"fields\":{", sizeof(struct su_peer));
	FIELD(su_peer, family);
	FIELD(su_peer, flags);
	FIELD(su_peer, mac);
	FIELD(su_peer, addr);
	printf("}}");
	first = 0;
	printf(",\"prefix\":{\"size\":%zu,\"fields\":{", sizeof(struct su_prefix));
	FIELD(su_prefix, family);
	FIELD(su_prefix, prefix_len);
	FIELD(su_prefix, addr);
	printf("}}");
	first = 0;
	printf(",\"owner\":{\"size\":%zu,\"fields\":{", sizeof(struct su_owner));
	FIELD(su_owner, kind);
	FIELD(su_owner, encap);
	FIELD(su_owner, family);
	FIELD(su_owner, flags);
	FIELD(su_owner, gue_port);
	FIELD(su_owner, next_hop_mac);
	FIELD(su_owner, endpoint);
	printf("}}");
	first = 0;
	printf(",\"sliceKey\":{\"size\":%zu,\"fields\":{", sizeof(struct su_slice_key));
	FIELD(su_slice_key, family);
	FIELD(su_slice_key, prefix_len);
	FIELD(su_slice_key, protocol);
	FIELD(su_slice_key, range_first);
	FIELD(su_slice_key, range_count);
	FIELD(su_slice_key, addr);
	printf("}}");
	first = 0;
	printf(",\"portRange\":{\"size\":%zu,\"fields\":{", sizeof(struct su_port_range));
	FIELD(su_port_range, first);
	FIELD(su_port_range, last);
	FIELD(su_port_range, owner);
	printf("}}");
	first = 0;
	printf(",\"flowHead\":{\"size\":%zu,\"fields\":{", sizeof(struct su_flow_head));
	FIELD(su_flow_head, service_count);
	FIELD(su_flow_head, rows);
	printf("}}");
	first = 0;
	printf(",\"flowService\":{\"size\":%zu,\"fields\":{", sizeof(struct su_flow_service));
	FIELD(su_flow_service, family);
	FIELD(su_flow_service, protocol);
	FIELD(su_flow_service, port);
	FIELD(su_flow_service, addr);
	FIELD(su_flow_service, row_first);
	printf("}}");
	first = 0;
	printf(",\"flowRow\":{\"size\":%zu,\"fields\":{", sizeof(struct su_flow_row));
	FIELD(su_flow_row, primary);
	FIELD(su_flow_row, secondary);
	printf("}}");
	first = 0;
	printf(",\"addrHead\":{\"size\":%zu,\"fields\":{", sizeof(struct su_addr_head));
	FIELD(su_addr_head, service_count);
	FIELD(su_addr_head, row_count);
	printf("}}");
	first = 0;
	printf(",\"addrService\":{\"size\":%zu,\"fields\":{", sizeof(struct su_addr_service));
	FIELD(su_addr_service, addr);
	FIELD(su_addr_service, prefix_len);
	FIELD(su_addr_service, bits);
	FIELD(su_addr_service, filter);
	FIELD(su_addr_service, source_bits);
	FIELD(su_addr_service, row_first);
	FIELD(su_addr_service, filter_owner);
	FIELD(su_addr_service, key);
	printf("}}");
	first = 0;
	printf(",\"addr\":{\"servicesMax\":%d,\"prefixMax\":%d,\"bitsMax\":%d}",
	       SU_ADDR_SERVICES_MAX, SU_ADDR_PREFIX_MAX, SU_ADDR_BITS_MAX);
	printf(",\"ownerStats\":{\"packets\":%d,\"bytes\":%d,\"perOwner\":%d}",
	       SU_OWNER_STAT_PACKETS, SU_OWNER_STAT_BYTES, SU_OWNER_STATS);
	printf(",\"capture\":{\"ringBytes\":%u,\"snaplenMax\":%d,\"wrap\":%u,\"ownerNone\":%u",
	       SU_CAPTURE_RING_BYTES, SU_CAPTURE_SNAPLEN_MAX, SU_CAPTURE_WRAP, 0xffffffffu);
	printf(",\"record\":{\"size\":%zu,\"fields\":{", sizeof(struct su_capture_record));
	FIELD(su_capture_record, record_len);
	FIELD(su_capture_record, orig_len);
	FIELD(su_capture_record, time_ns);
	FIELD(su_capture_record, generation);
	FIELD(su_capture_record, fate);
	FIELD(su_capture_record, queue);
	FIELD(su_capture_record, cap_len);
	FIELD(su_capture_record, owner);
	printf("}}}}\n");
	return 0;
}
