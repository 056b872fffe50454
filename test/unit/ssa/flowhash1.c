/* The ssa1 source-derived check (flowhash-1) in C on packet bytes, as a fast-path filter would do
 * it with native/core/flow_hash.h: test/unit/ssa-destination.test.ts compiles it and checks that
 * it agrees with src/ssa/destination.ts. Input lines: `source-hex destination-hex source-bits key-hex`
 * (addresses as 16 bytes in network order); output: `d-hex conforms` per line. */
#include <stdio.h>
#include <string.h>

#include "../../../native/core/flow_hash.h"

/* The rule, worked out once per table: the key's two words and the source mask, as numbers. */
struct ssa_rule {
	uint64_t k0, k1, mask_hi, mask_lo;
};

/* Addresses are read as big-endian numbers: one load and one byte swap per word on the
 * little-endian targets the project builds for (x86-64, arm64, BPF on them). */
static inline uint64_t load_be64(const uint8_t *p)
{
	return __builtin_bswap64(su_load64(p));
}

/* d = finish(step(step(step(k0, s_hi), s_lo), k1)), s = the source's first source-bits bits. */
static inline uint64_t ssa_derive(const struct ssa_rule *r, const uint8_t *saddr)
{
	uint64_t h = su_hash_step(r->k0, load_be64(saddr) & r->mask_hi);

	h = su_hash_step(h, load_be64(saddr + 8) & r->mask_lo);
	h = su_hash_step(h, r->k1);
	return su_hash_finish(h);
}

/* The filter: the destination's low 64 bits must equal d. */
static inline int ssa_conforms(const struct ssa_rule *r, const uint8_t *saddr, const uint8_t *daddr)
{
	return load_be64(daddr + 8) == ssa_derive(r, saddr);
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
		r.k0 = load_be64(key);
		r.k1 = load_be64(key + 8);
		r.mask_hi = bits >= 64 ? ~0ULL : ~0ULL << (64 - bits);
		r.mask_lo = bits >= 128 ? ~0ULL : bits <= 64 ? 0 : ~0ULL << (128 - bits);
		printf("%016llx %d\n", (unsigned long long)ssa_derive(&r, saddr), ssa_conforms(&r, saddr, daddr));
	}
	return 0;
}
