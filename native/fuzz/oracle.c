/* See oracle.h: what every part of the reference model shares, how it names a fate and how it
 * fails (to stderr, then abort, so that libFuzzer keeps the reproducer). Called by the model's
 * files (oracle_frames.c, oracle_route.c, oracle_table.c, oracle_parse.c, oracle_flow.c,
 * oracle_addr.c) and the fuzz targets; it calls none of them, so the model's files depend on
 * one another one way. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "model.h"

static const char *const fate_names[] = {
#define SU_X(name, doc) #name,
	SU_ROUTE_COUNTERS(SU_X)
#undef SU_X
};

const char *fz_fate_name(unsigned fate)
{
	return fate < SU_ROUTE_COUNTER_COUNT ? fate_names[fate] : "(not a fate)";
}

void fz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("oracle: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void fz_result_free(struct fz_result *r)
{
	free(r->bytes);
	r->bytes = NULL;
}
