/* Prints su_flow_hash (native/core/flow_hash.h) for each 5-tuple read from stdin, so that
 * test/unit/lb-flow-hash.test.ts can check the TypeScript copy (src/lb/flow-hash.ts) against it.
 * Input lines: `seed family protocol saddr-hex daddr-hex sport dport`; output: the hash, decimal. */
#include <stdio.h>
#include <string.h>

#include "../core/flow_hash.h"

/* Reads `hex` (2 * len hex digits) into `out`; 0 on success. */
static int parse_hex(const char *hex, uint8_t *out, size_t len)
{
	if (strlen(hex) != 2 * len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned int byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			return -1;
		out[i] = (uint8_t)byte;
	}
	return 0;
}

int main(void)
{
	char line[512], shex[64], dhex[64];
	unsigned int seed, family, protocol, sport, dport;

	while (fgets(line, sizeof(line), stdin)) {
		uint8_t saddr[16], daddr[16];
		size_t len;

		if (sscanf(line, "%u %u %u %63s %63s %u %u", &seed, &family, &protocol, shex, dhex,
			   &sport, &dport) != 7) {
			fprintf(stderr, "bad line: %s", line);
			return 2;
		}
		len = family == 4 ? 4 : 16;
		if (parse_hex(shex, saddr, len) || parse_hex(dhex, daddr, len)) {
			fprintf(stderr, "bad address in line: %s", line);
			return 2;
		}
		printf("%u\n", su_flow_hash(seed, (uint8_t)family, saddr, daddr, (uint8_t)protocol,
					    (uint16_t)sport, (uint16_t)dport));
	}
	return 0;
}
