/* "ok - ..." / "not ok - ..." lines and the "N passed, M failed" summary that the vitest
 * wrappers (test/native-run.ts) read; shared by the C test programs. */
#ifndef SU_TEST_TAP_H
#define SU_TEST_TAP_H

#include <stdio.h>

static int failed, passed;

#define CHECK(cond, ...)                                   \
	do {                                               \
		if (cond) {                                \
			passed++;                          \
			printf("ok - " __VA_ARGS__);       \
		} else {                                   \
			failed++;                          \
			printf("not ok - " __VA_ARGS__);   \
		}                                          \
		printf("\n");                              \
	} while (0)

#endif /* SU_TEST_TAP_H */
