/* A published table's lifetime ends here: its view, its per-owner counters and its final XDP
 * counts. Apart from router.c so that the reclaimer (reclaim.c), the statistics (stats.c) and
 * the router free tables through one function without depending on one another. */
#include <stdlib.h>

#include "internal.h"

void su_route_table_free(struct su_route_table *t)
{
	if (!t)
		return;
	su_view_free(t->view);
	free(t->owner_stats);
	free(t->xdp_final);
	free(t);
}
