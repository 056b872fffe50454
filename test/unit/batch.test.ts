// RxBatch, TxBatch and XdpQueue's checks that need no kernel: bad indices, lengths and reuse are
// refused with typed errors before anything reaches native code (a stub stands in for it).
import { describe, expect, it } from 'vitest';

import { InvalidFrameError, InvalidOptionError } from '../../src/errors.js';
import { ABI } from '../../src/generated/abi.js';
import { Exchange, RxBatch, TxBatch } from '../../src/xdp/batch.js';
import { XdpQueue } from '../../src/xdp/queue.js';
import type { NativePort } from '../../src/native.js';

const FRAME = 2048;
const BATCH = 4;

function rxBatch() {
  const exchange = new Exchange(new ArrayBuffer(2 * BATCH * ABI.exchangeEntry.size), ABI.exchangeArea.rx, BATCH);
  exchange.set(0, FRAME + 256, 60, ABI.actions.RECYCLE); // second frame, after XDP headroom
  const batch = new RxBatch(new Uint8Array(4 * FRAME), exchange, FRAME);
  batch.reset(1);
  return { batch, exchange };
}

describe('RxBatch', () => {
  it('marks a packet for transmission with a new length within its frame', () => {
    const { batch, exchange } = rxBatch();
    expect(batch.packet(0).length).toBe(60);
    expect(batch.capacity(0)).toBe(FRAME - 256);
    batch.transmit(0, 100);
    expect(exchange.len(0)).toBe(100);
    expect(exchange.words[ABI.exchangeEntry.fields.action.offset / 4]).toBe(ABI.actions.TRANSMIT);
  });

  it.each([0, FRAME - 255, 1.5])('refuses length %s', (length) => {
    const { batch } = rxBatch();
    expect(() => batch.transmit(0, length)).toThrow(InvalidFrameError);
    expect(() => batch.transmit(0, length)).toThrow(`Expected a length from 1 to ${FRAME - 256} for packet 0 but received ${length}`);
  });

  it('refuses an index outside the batch', () => {
    const { batch } = rxBatch();
    expect(() => batch.packet(1)).toThrow(InvalidOptionError);
    expect(() => batch.drop(-1)).toThrow('Expected an index below 1 for index but received -1');
  });
});

describe('TxBatch', () => {
  it('is sent once, with the lengths set', () => {
    const submitted: number[][] = [];
    const tx = new TxBatch(new Uint8Array(2 * FRAME), FRAME, Uint32Array.of(0, FRAME), (a, l) => {
      submitted.push([...a], [...l]);
      return 1;
    });
    tx.frame(0).set([1, 2, 3]);
    tx.setLength(0, 3);
    expect(() => tx.setLength(1, FRAME + 1)).toThrow(`Expected an integer from 0 to ${FRAME} for length of frame 1 but received ${FRAME + 1}`);
    expect(tx.send()).toBe(1);
    expect(submitted).toEqual([[0, FRAME], [3, 0]]);
    expect(() => tx.send()).toThrow(InvalidFrameError);
    expect(() => tx.frame(0)).toThrow('Expected an unsent TxBatch but this one was sent already');
  });
});

describe('XdpQueue', () => {
  const stub = { exchange: () => new ArrayBuffer(2 * BATCH * ABI.exchangeEntry.size) } as unknown as NativePort;
  const queue = new XdpQueue(stub, 0, 0, new Uint8Array(4 * FRAME), { frameSize: FRAME, frameHeadroom: 0, batchSize: BATCH }, () => false);

  it('refuses a handler that is no function', () => {
    expect(() => queue.onBatch('nope' as never)).toThrow("Expected a function or null for handler but received 'nope'");
  });

  it('refuses bad allocation counts and packets that do not fit a frame', () => {
    expect(() => queue.allocate(0)).toThrow('Expected a positive integer for count but received 0');
    expect(() => queue.send([new Uint8Array(FRAME + 1)])).toThrow(`Expected a Uint8Array of 1 to ${FRAME} bytes for packets[0]`);
    expect(() => queue.send([new Uint8Array(0)])).toThrow(InvalidOptionError);
  });
});
