/* su_error_set: the one way native code reports a failure (see softunicast/error.h). Used by
 * every native library (core, xsk, router, netlink) and the addon; depends on nothing of them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "softunicast/error.h"

int su_error_set(struct su_error *err, const char *code, int errnum, const char *syscall,
		 const char *fmt, ...)
{
	va_list ap;

	if (errnum < 0)
		errnum = -errnum;
	snprintf(err->code, sizeof(err->code), "%s", code);
	err->errnum = errnum;
	snprintf(err->syscall, sizeof(err->syscall), "%s", syscall ? syscall : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return errnum ? -errnum : -EINVAL;
}
