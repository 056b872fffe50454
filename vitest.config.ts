// Test layers: test/unit (no root), test/bpf (BPF_PROG_TEST_RUN), test/netns (veth pairs in
// namespaces of their own). Files run one at a time: the namespace tests measure nothing, but
// two cores shared by several traffic generators make them slow for no gain.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
