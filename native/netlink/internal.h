/* Shared by the files of native/netlink: what they need of each other beyond the public header. */
#ifndef SU_NETLINK_INTERNAL_H
#define SU_NETLINK_INTERNAL_H

#include <stddef.h>

#include "softunicast/netlink.h"

/* Bytes of an address of `family`: 4, 16, or 0 for a family we do not follow. */
size_t su_nl_key_len(int family);

#endif /* SU_NETLINK_INTERNAL_H */
