/* Prints native/include/softunicast/abi.h and error.h as JSON: names, values, struct layouts.
 * scripts/gen-abi.mjs turns it into src/generated/abi.ts; a unit test checks that file is current. */
#include <stddef.h>
#include <stdio.h>

#include "softunicast/abi.h"
#include "softunicast/error.h"

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
	printf("}}}\n");
	return 0;
}
