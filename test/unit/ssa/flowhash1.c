/* The ssa1 source-derived check (flowhash-1) in C on packet bytes, through the core's own
 * su_flowhash1 (native/core/flow_hash.h, which the fast path's filter calls):
 * test/unit/ssa-destination.test.ts compiles it and checks that it agrees with
 * src/ssa/destination.ts. Input lines: `source-hex destination-hex source-bits key-hex`
 * (addresses as 16 bytes in network order); output: `d-hex conforms` per line. */
#include <stdio.h>
#include <string.h>

#include "../../../native/core/flow_hash.h"

/* The rule, worked out once per table: the key's two words and the source mask, as numbers. */
struct ssa_rule {
	uint64_t k0, k1, mask_hi, mask_lo;
};

/* The filter: the destination's low 64 bits must equal flowhash-1 of the source. */
static inline int ssa_conforms(const struct ssa_rule *r, const uint8_t *saddr, const uint8_t *daddr)
{
	return su_load_be64(daddr + 8) == su_flowhash1(r->k0, r->k1, r->mask_hi, r->mask_lo, saddr);
}

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
	char line[256], shex[64], dhex[64], khex[64];
	unsigned int bits;

	while (fgets(line, sizeof(line), stdin)) {
		uint8_t saddr[16], daddr[16], key[16];
		struct ssa_rule r;

		if (sscanf(line, "%63s %63s %u %63s", shex, dhex, &bits, khex) != 4 || bits < 1 || bits > 128 ||
		    parse_hex(shex, saddr, 16) || parse_hex(dhex, daddr, 16) || parse_hex(khex, key, 16)) {
			fprintf(stderr, "bad line: %s", line);
			return 2;
		}
		r.k0 = su_load_be64(key);
		r.k1 = su_load_be64(key + 8);
		r.mask_hi = bits >= 64 ? ~0ULL : ~0ULL << (64 - bits);
		r.mask_lo = bits >= 128 ? ~0ULL : bits <= 64 ? 0 : ~0ULL << (128 - bits);
		printf("%016llx %d\n", (unsigned long long)su_flowhash1(r.k0, r.k1, r.mask_hi, r.mask_lo, saddr), ssa_conforms(&r, saddr, daddr));
	}
	return 0;
}
