// Every validation path of XdpPort.open()'s options: the error class, its code, and a message
// that names the option, what was expected and what was received. No root, no interface.
import { describe, expect, it } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { resolveOptions } from '../../src/xdp/options.js';

const noQueues = () => {
  throw new Error('queue count asked for without queues: "all"');
};

function rejects(options: unknown, message: RegExp) {
  let thrown: unknown;
  try {
    resolveOptions(options, noQueues);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InvalidOptionError);
  expect((thrown as InvalidOptionError).code).toBe('ERR_INVALID_OPTION');
  expect((thrown as Error).name).toBe('InvalidOptionError');
  expect((thrown as Error).message).toMatch(message);
}

describe('XdpPort options', () => {
  it('fills in documented defaults', () => {
    expect(resolveOptions({ interface: 'veth0' }, noQueues)).toEqual({
      interface: 'veth0',
      queues: [0],
      frameSize: 4096,
      frameCount: 4096,
      frameHeadroom: 0,
      rxRingSize: 2048,
      txRingSize: 2048,
      fillRingSize: 2048,
      completionRingSize: 2048,
      batchSize: 64,
      bind: 'auto',
      attach: 'driver',
      needWakeup: true,
      busyPoll: false,
      replace: false,
      pinDir: '',
      capture: [],
    });
  });

  it('keeps a pin directory without its trailing slashes', () => {
    expect(resolveOptions({ interface: 'eth0', pinDir: '/sys/fs/bpf/su/eth0//' }, () => 1).pinDir).toBe('/sys/fs/bpf/su/eth0');
  });

  it('scales the default frame count with the queues and asks for the count only for "all"', () => {
    const resolved = resolveOptions({ interface: 'eth0', queues: 'all' }, () => 3);
    expect(resolved.queues).toEqual([0, 1, 2]);
    expect(resolved.frameCount).toBe(3 * 4096);
  });

  it.each([
    [undefined, /Expected an options object for options but received undefined/],
    [[], /Expected an options object for options but received an array of 0/],
    [{ interface: 'veth0', frameSise: 2048 }, /Expected no such option .* for options.frameSise but received 2048/],
    [{}, /Expected an interface name .* for options.interface but received undefined/],
    [{ interface: '' }, /for options.interface but received ''/],
    [{ interface: 'a-name-far-too-long' }, /of 1 to 15 bytes .* for options.interface but received 'a-name-far-too-long'/],
    [{ interface: 'eth/0' }, /for options.interface but received 'eth\/0'/],
    [{ interface: 'eth 0' }, /for options.interface but received 'eth 0'/],
    [{ interface: 7 }, /for options.interface but received 7/],
  ])('rejects options %j', (options, message) => rejects(options, message));

  it.each([
    [{ queues: [] }, /Expected 'all' or an array of 1 to 64 queue indices for options.queues but received an array of 0/],
    [{ queues: 'some' }, /for options.queues but received 'some'/],
    [{ queues: [0, -1] }, /Expected a queue index from 0 to 63 for options.queues\[1\] but received -1/],
    [{ queues: [1.5] }, /for options.queues\[0\] but received 1.5/],
    [{ queues: [64] }, /for options.queues\[0\] but received 64/],
    [{ queues: [2, 2] }, /Expected a queue not listed before for options.queues\[1\] but received 2/],
    [{ frameSize: 1024 }, /Expected 2048 or 4096 for options.frameSize but received 1024/],
    [{ frameSize: 3000 }, /Expected 2048 or 4096 for options.frameSize but received 3000/],
    [{ frameSize: 8192 }, /Expected 2048 or 4096 for options.frameSize but received 8192/],
    [{ frameCount: 100 }, /Expected an integer from 128 to 1048576 for options.frameCount but received 100/],
    [{ frameCount: 2 ** 21 }, /Expected an integer from 128 to 1048576 for options.frameCount but received 2097152/],
    [{ frameCount: 4096.5 }, /for options.frameCount but received 4096.5/],
    [{ frameHeadroom: -1 }, /Expected an integer from 0 to 3839 for options.frameHeadroom but received -1/],
    [{ frameSize: 2048, frameHeadroom: 1792 }, /Expected an integer from 0 to 1791 for options.frameHeadroom but received 1792/],
    [{ rings: 5 }, /Expected an object of ring sizes for options.rings but received 5/],
    [{ rings: { rx: 1000 } }, /Expected a power of two from 16 to 65536 for options.rings.rx but received 1000/],
    [{ rings: { tx: 0 } }, /for options.rings.tx but received 0/],
    [{ rings: { fill: 131072 } }, /for options.rings.fill but received 131072/],
    [{ rings: { completion: '2048' } }, /for options.rings.completion but received '2048'/],
    [{ rings: { rxx: 64 } }, /Expected no such option .* for options.rings.rxx but received 64/],
    [{ batchSize: 0 }, /Expected an integer from 1 to 1024 for options.batchSize but received 0/],
    [{ batchSize: 2048 }, /for options.batchSize but received 2048/],
    [{ bind: 'zerocopy' }, /Expected 'auto' or 'copy' or 'zero-copy' for options.bind but received 'zerocopy'/],
    [{ attach: 'skb' }, /Expected 'driver' or 'generic' for options.attach but received 'skb'/],
    [{ needWakeup: 1 }, /Expected a boolean for options.needWakeup but received 1/],
    [{ busyPoll: 'yes' }, /Expected a boolean for options.busyPoll but received 'yes'/],
    [{ replace: null }, /Expected a boolean for options.replace but received null/],
    [{ pinDir: 'sys/fs/bpf/x' }, /Expected an absolute directory path on a bpf filesystem for options.pinDir but received 'sys\/fs\/bpf\/x'/],
    [{ pinDir: 7 }, /Expected an absolute directory path on a bpf filesystem for options.pinDir but received 7/],
    [{ capture: {} }, /Expected an array of capture rules for options.capture but received an object/],
  ])('rejects %j', (extra, message) => rejects({ interface: 'veth0', ...extra }, message));
});
