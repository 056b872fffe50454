// test/netns/harness.ts: the netns suites' harness, which lives in examples/netns/harness.ts so
// that the demo runs it compiled; test files keep importing it from here.
export * from '../../examples/netns/harness.js';
