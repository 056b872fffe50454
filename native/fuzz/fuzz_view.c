/* libFuzzer target: su_view_build on arbitrary table images (untrusted input: the image format
 * is native/include/softunicast/table.h). It must refuse or accept cleanly, never read outside
 * the image; an accepted view must answer lookups and free without a leak (ASan, UBSan). Seeds
 * are real images (scripts/fuzz-seeds.ts), which the fuzzer mutates. */
#include <stdint.h>
#include <stdlib.h>

#include "softunicast/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
	static const uint8_t probes[][16] = {
		{ 192, 0, 2, 1 },
		{ 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, [15] = 1 },
		{ 0 },
	};
	struct su_error err = { 0 };
	struct su_view *view;

	if (su_view_build(input, size, &view, &err))
		return 0;
	for (unsigned p = 0; p < sizeof(probes) / sizeof(probes[0]); p++) {
		for (uint32_t port = 0; port < 65536; port += 4099) {
			su_view_lookup(view, SU_FAMILY_IPV4, probes[p], 6, (uint16_t)port);
			su_view_lookup(view, SU_FAMILY_IPV6, probes[p], 17, (uint16_t)port);
		}
	}
	su_view_free(view);
	return 0;
}
