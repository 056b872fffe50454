// Live reload of policies in the running responder (src/dns/responder.ts setZones): the pool shrinks
// /20 -> /24 -> /32 while queries are in flight over UDP; every query is answered from the /20.
import * as dgram from 'node:dgram';

import * as packet from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DnsResponder } from '../../src/dns/responder.js';
import type { DnsZoneOptions } from '../../src/dns/zone.js';
import { ipv4Number, v4 } from './dns-policy-fixture.js';

const zone = (pool: string): DnsZoneOptions => ({ origin: 'example.com', policies: [{ name: 'all', ipv4: v4(pool) }] });

let responder: DnsResponder;
beforeAll(async () => {
  responder = await DnsResponder.start({ zones: [zone('198.18.0.0/20')] });
});
afterAll(async () => {
  await responder?.close();
});

describe('reload under queries', () => {
  it('answers 3,000 queries, 32 in flight, across two pool swaps, each from the /20 and the last ones from the /32', async () => {
    const TOTAL = 3000;
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const answers: string[] = [];
    let sent = 0;
    const send = (): void => {
      const id = sent++;
      socket.send(packet.encode({ id, type: 'query', questions: [{ name: `h${id}.example.com`, type: 'A' }] }), responder.port, '127.0.0.1');
    };
    const done = new Promise<void>((resolve) => {
      socket.on('message', (message) => {
        const decoded = packet.decode(message);
        answers.push(decoded.rcode === 'NOERROR' && decoded.answers?.length === 1 ? String((decoded.answers[0] as { data: string }).data) : `failed: ${decoded.rcode}`);
        // The swaps come from the answers counted, not from a clock: queries are in flight at each one.
        if (answers.length === 1000) responder.setZones([zone('198.18.0.0/24')]);
        if (answers.length === 2000) responder.setZones([zone('198.18.0.7/32')]);
        if (sent < TOTAL) send();
        if (answers.length === TOTAL) resolve();
      });
    });
    for (let i = 0; i < 32; i++) send();
    await done;
    socket.close();
    const within = (a: string, base: string, bits: number): boolean => Math.floor(ipv4Number(a) / 2 ** (32 - bits)) === Math.floor(ipv4Number(base) / 2 ** (32 - bits));
    expect(answers.filter((a) => !/^\d/.test(a) || !within(a, '198.18.0.0', 20))).toEqual([]);
    expect(answers.slice(0, 1000).some((a) => !within(a, '198.18.0.0', 24))).toBe(true);
    expect(answers.slice(1000 + 32, 2000).every((a) => within(a, '198.18.0.0', 24))).toBe(true);
    expect(answers.slice(1000 + 32, 2000).some((a) => a !== '198.18.0.7')).toBe(true);
    expect(answers.slice(2000 + 32)).toEqual(Array(TOTAL - 2032).fill('198.18.0.7'));
    expect(responder.counters).toMatchObject({ failed: 0, dropped: 0, errors: 0 });
  });

  it('a bad reload throws its typed error and leaves the old policies answering', () => {
    expect(() => responder.setZones([zone('198.18.0.1/24')])).toThrow(/Expected a prefix without host bits set \(198\.18\.0\.0\/24\) for zones\[0\]\.policies\[0\]\.ipv4/);
  });
});
