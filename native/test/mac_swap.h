/* The smallest AF_XDP job: turn every received frame around in place by swapping its Ethernet
 * addresses. Shared by the native xsk test (native/test/xsk_port_test.c) and the pps bench's bare
 * bounce (bench/pps/dut.c), so that the test checks the very handler the bench measures. */
#ifndef SU_TEST_MAC_SWAP_H
#define SU_TEST_MAC_SWAP_H

#include <stdint.h>
#include <string.h>

#include "softunicast/xsk_port.h"

static inline void su_swap_macs_and_transmit(uint8_t *umem, struct su_desc *descs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *p = umem + descs[i].addr, mac[6];

		memcpy(mac, p, 6);
		memcpy(p, p + 6, 6);
		memcpy(p + 6, mac, 6);
		descs[i].action = SU_ACTION_TRANSMIT;
	}
}

#endif /* SU_TEST_MAC_SWAP_H */
