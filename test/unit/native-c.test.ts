// The plain-C tests of native/xsk, native/router and native/netlink that need no root, run under valgrind: clean
// means exit 0 (valgrind exits 99 on any memory error or leak).
import { describe, expect, it } from 'vitest';

import { runUnderValgrind } from '../native-run.js';

describe('native C tests (valgrind)', () => {
  it('spsc ring: order, wrap-around, full and empty, two threads', () => {
    const { output, status } = runUnderValgrind('spsc_ring_test');
    expect(output).toMatch(/^\d+ passed, 0 failed$/m);
    expect(status, output).toBe(0);
  });

  it('router: per-owner counters across publishes, drop capture, the capture ring', () => {
    const { output, status } = runUnderValgrind('router_test');
    expect(output).not.toMatch(/^not ok/m);
    expect(output).toMatch(/^\d+ passed, 0 failed$/m);
    expect(status, output).toBe(0);
  });

  it('netlink: parsing rtnetlink messages, requests to the kernel, the follower of changes', () => {
    const { output, status } = runUnderValgrind('netlink_test');
    expect(output).not.toMatch(/^not ok/m);
    expect(output).toMatch(/^\d+ passed, 0 failed$/m);
    expect(status, output).toBe(0);
  });
});
