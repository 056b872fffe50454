/* Building forwarding records (tables.h, struct su_fwd) from an image's owners: user space only
 * (view.c); the packet path reads the records. */
#ifndef SU_CORE_ENCAP_H
#define SU_CORE_ENCAP_H

#include "checksum.h"
#include "wire.h"
#include "tables.h"

/* Owner `o`'s record for `host`: its fates from each origin, and for GUE its outer headers. */
void su_fwd_prepare(const struct su_host *host, const struct su_owner *o, struct su_fwd *f);

#endif /* SU_CORE_ENCAP_H */
