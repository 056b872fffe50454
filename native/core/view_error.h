/* How every check of a table image fails (view_check.c, view_prefix.c, view_flow.c, view_addr.c,
 * view.c): one macro in a header no .c file pairs with, so that the checks of each part can
 * share it without depending on each other. */
#ifndef SU_CORE_VIEW_ERROR_H
#define SU_CORE_VIEW_ERROR_H

#include "softunicast/core.h"

/* Every message starts the same way so that a user sees where it came from. */
#define su_bad(err, fmt, ...) \
	su_error_set(err, "ERR_INVALID_TABLE", 0, NULL, "Invalid table image: " fmt, ##__VA_ARGS__)

#endif /* SU_CORE_VIEW_ERROR_H */
