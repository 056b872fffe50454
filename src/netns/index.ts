// softunicast/netns: throw-away network namespaces, veth pairs and programs run inside them, always
// torn down again: the kit for testing a balancer on the real kernel. Used by the library's own
// netns tests (test/netns, checked by test/netns/harness-*.test.ts), the demo
// (examples/soft-unicast-demo) and the pps bench, and by anyone who tests their own balancer the
// same way. It needs root, iproute2 and iputils-ping, and no test framework.
//
// Typical use in a test file:
//
//   beforeEach(() => requireNetnsPrivileges()); // fails each test (never skips) without root
//   afterAll(teardownRun);            // kills leftover children, deletes everything this run made
//   it('...', async () => {
//     const pair = await createVethPair({ queues: 2 });
//     const srv = spawnIn(pair.b.ns, 'my-server', ['--listen', pair.b.ipv4]);
//     await srv.waitForLine(/ready/, 5_000);
//     expect(await ping(pair.a.ns, pair.b.ipv6)).toBe(true);
//     await pair.destroy();
//   });
export { Agent, type AgentAnswer } from './agent.js';
export { listNamespaces } from './delete.js';
export { CommandError, exec, execIn, formatCommand, mustExec, mustExecIn, type ExecOptions, type ExecResult } from './exec.js';
export { udp4Frame, type UdpFrame } from './frames.js';
export { assertRunPrefix, isRunName, MAX_IFNAME_LENGTH, newRunPrefix, RUN_PREFIX_RE, runName, runPrefix } from './names.js';
export { macOf, sysctlIn } from './host.js';
export { createNamespace, destroyNamespaces } from './namespace.js';
export { requireNetnsPrivileges } from './prerequisites.js';
export {
  linkDrops, ping, vethStats, xdpAttachments, xdpProgramId, type PingOptions, type XdpAttachedMode, type XdpAttachment,
} from './probes.js';
export { spawnIn, type ExitInfo, type LinePredicate, type SpawnedProcess, type SpawnInOptions } from './process.js';
export { MARKER_DIR, registrySnapshot } from './registry.js';
export { sweep, sweepStale, teardownRun, type SweepResult } from './teardown.js';
export { runMain, type RunMainOptions } from './run-main.js';
export { xdpOnVethPeer } from './veth-peer.js';
export { createVethPair, type CreateStep, type VethEnd, type VethPair, type VethPairOptions } from './veth.js';
export { waitFor, type WaitForOptions } from './wait.js';
