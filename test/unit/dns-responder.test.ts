// The DNS responder (src/dns/responder.ts) on 127.0.0.1 and an ephemeral port, asked by dig, dnspython and
// Node's resolver over UDP and TCP; its APL answer decoded by tshark from a pcap of the real response.
import { execFile, execFileSync } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import * as packet from 'dns-packet';
import { IPv4, IPv6 } from 'ip-num';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { respond } from '../../src/dns/answer.js';
import { parseApl } from '../../src/dns/apl.js';
import { DnsResponder } from '../../src/dns/responder.js';
import { zoneOf, type DnsZoneOptions } from '../../src/dns/zone.js';
import { InvalidRecordError } from '../../src/errors.js';
import { serviceRecords } from '../../src/ssa/records.js';
import { parseRule } from '../../src/ssa/rule.js';
import { dnsPcap } from './dns/pcap.js';

const APL = '1:192.168.32.0/21 !1:192.168.38.0/28 2:2001:db8::/78';
const RULE = 'v=ssa1 rule=source-derived source-bits=64 fn=flowhash-1 key=000102030405060708090a0b0c0d0e0f';
/** 80 AAAA records: about 3,400 bytes, more than any UDP answer may carry (1,232 with EDNS). */
const MANY = Array.from({ length: 80 }, (_, i) => new IPv6(0x20010db8_0000_0002_0000_0000_0000_0000n + BigInt(i)));

function zone(aaaa = '2001:db8::1'): DnsZoneOptions {
  return {
    origin: 'svc.example.',
    ttl: 20,
    names: {
      'api.svc.example': {
        ...serviceRecords({ prefixes: parseApl(APL), rule: parseRule(RULE), txt: ['other=1'], aaaa: [IPv6.fromString(aaaa)] }),
        a: [IPv4.fromString('192.0.2.10')],
      },
      'big.svc.example': { aaaa: MANY },
      'deep.under.svc.example': { a: [IPv4.fromString('192.0.2.11')] },
    },
  };
}

let responder: DnsResponder;

/** dig runs beside the responder, which answers from this process: never a synchronous child. */
async function dig(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('dig', [`@${responder.host}`, '-p', String(responder.port), '+time=5', '+tries=1', ...args]);
  return stdout;
}

function resolver(): Resolver {
  const r = new Resolver({ timeout: 5000, tries: 1 });
  r.setServers([`${responder.host}:${responder.port}`]);
  return r;
}

beforeAll(async () => {
  responder = await DnsResponder.start({ zones: [zone()] });
});
afterAll(async () => {
  await responder?.close();
});

describe('DNS responder with dig', () => {
  it('answers APL in RFC 3123 presentation format, over UDP and TCP', async () => {
    expect((await dig('+short', 'api.svc.example', 'APL')).trim()).toBe(APL);
    expect((await dig('+short', '+tcp', 'api.svc.example', 'APL')).trim()).toBe(APL);
  });

  it('answers TXT (the client rule among other texts), AAAA and A, authoritatively with the zone TTL', async () => {
    expect((await dig('+short', 'api.svc.example', 'TXT')).trim().split('\n').sort()).toEqual([`"other=1"`, `"${RULE}"`]);
    expect((await dig('+short', 'api.svc.example', 'AAAA')).trim()).toBe('2001:db8::1');
    expect((await dig('+short', 'API.Svc.Example', 'A')).trim()).toBe('192.0.2.10');
    const full = await dig('+noall', '+comments', '+answer', 'api.svc.example', 'A');
    expect(full).toMatch(/flags: qr aa rd;/);
    expect(full).toMatch(/^api\.svc\.example\.\s+20\s+IN\s+A\s+192\.0\.2\.10$/m);
  });

  it('says NXDOMAIN for names it does not have, NOERROR without answers for names without that type', async () => {
    const nx = await dig('nothing.svc.example', 'A');
    expect(nx).toMatch(/status: NXDOMAIN/);
    expect(nx).toMatch(/AUTHORITY: 1/);
    expect(await dig('api.svc.example', 'MX')).toMatch(/status: NOERROR.*\n.*ANSWER: 0, AUTHORITY: 1/);
    expect(await dig('under.svc.example', 'A')).toMatch(/status: NOERROR.*\n.*ANSWER: 0/);
  });

  it('refuses names outside its zones, and classes other than IN with the question echoed as asked', async () => {
    expect(await dig('www.example.org', 'A')).toMatch(/status: REFUSED/);
    const chaos = await dig('-c', 'CLASS9', 'api.svc.example', 'A');
    expect(chaos).toMatch(/status: REFUSED/);
    expect(chaos).toMatch(/^;api\.svc\.example\.\s+CLASS9\s+A$/m);
    expect(chaos).not.toMatch(/mismatch/i);
  });

  it('answers BADVERS to an EDNS version above 0', async () => {
    expect(await dig('+edns=1', '+noednsnegotiation', 'api.svc.example', 'A')).toMatch(/status: BADVERS/);
  });

  it('sets TC over UDP when the answer does not fit, and answers in full over TCP', async () => {
    const truncated = await dig('+notcp', '+ignore', '+noedns', 'big.svc.example', 'AAAA');
    expect(truncated).toMatch(/flags: qr aa tc rd;/);
    expect(truncated).toMatch(/ANSWER: 0,/);
    expect((await dig('+short', 'big.svc.example', 'AAAA')).trim().split('\n')).toHaveLength(80);
    expect(responder.counters.truncated).toBeGreaterThan(0);
  });
});

describe('DNS responder with dnspython', () => {
  it('gives dnspython, a decoder of whole messages independent of ours, the APL record over UDP and TCP', async () => {
    const script = fileURLToPath(new URL('./dns/query_dnspython.py', import.meta.url));
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, responder.host, String(responder.port), 'api.svc.example']);
    const expected = { rcode: 'NOERROR', aa: true, apl: [APL] };
    expect(JSON.parse(stdout)).toEqual({ udp: expected, tcp: expected });
  });
});

describe("DNS responder with Node's resolver", () => {
  it('resolves A, AAAA and TXT', async () => {
    const r = resolver();
    expect(await r.resolve4('api.svc.example')).toEqual(['192.0.2.10']);
    expect(await r.resolve6('api.svc.example')).toEqual(['2001:db8::1']);
    expect((await r.resolveTxt('api.svc.example')).map((parts) => parts.join('')).sort()).toEqual(['other=1', RULE]);
  });

  it('retries a truncated answer over TCP and gets every record', async () => {
    const tcpBefore = responder.counters.tcp;
    const answers = await resolver().resolve6('big.svc.example');
    expect(answers).toHaveLength(80);
    expect(responder.counters.tcp).toBeGreaterThan(tcpBefore);
  });

  it('reports NXDOMAIN as ENOTFOUND and REFUSED as EREFUSED', async () => {
    await expect(resolver().resolve4('nothing.svc.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver().resolve4('www.example.org')).rejects.toMatchObject({ code: 'EREFUSED' });
  });

  it('serves new zones after setZones, and refuses bad ones before swapping', async () => {
    responder.setZones([zone('2001:db8::99')]);
    expect(await resolver().resolve6('api.svc.example')).toEqual(['2001:db8::99']);
    expect(() => responder.setZones([{ origin: 'svc.example', names: { 'api.other.example': {} } }])).toThrow(
      new InvalidRecordError("Expected a name at or under 'svc.example' for zones[0].names but received 'api.other.example'"),
    );
    expect(await resolver().resolve6('api.svc.example')).toEqual(['2001:db8::99']);
  });
});

describe('DNS responder on IPv6', () => {
  it('listens on ::1 for UDP and TCP', async () => {
    const six = await DnsResponder.start({ host: '::1', zones: [zone()] });
    try {
      const r = new Resolver({ timeout: 5000, tries: 1 });
      r.setServers([`[::1]:${six.port}`]);
      expect(await r.resolve6('api.svc.example')).toEqual(['2001:db8::1']);
      expect(await r.resolve6('big.svc.example')).toHaveLength(80);
      expect([six.counters.udp > 0, six.counters.tcp > 0]).toEqual([true, true]);
    } finally {
      await six.close();
    }
  });

  it('refuses a port out of range and an empty zone list before listening', async () => {
    await expect(DnsResponder.start({ port: 70000, zones: [zone()] })).rejects.toThrow('Expected a port from 0 to 65535 for port but received 70000');
    await expect(DnsResponder.start({ zones: [] })).rejects.toThrow('Expected a non-empty array of zones for zones but received an array of 0');
  });
});

describe('DNS responder over TCP, by hand', () => {
  it('answers queries sent back to back in one connection, split across writes, in order', async () => {
    const queries = ['api.svc.example', 'nothing.svc.example', 'big.svc.example'].map((name, i) =>
      packet.streamEncode({ id: 100 + i, type: 'query', questions: [{ name, type: 'AAAA' }] }),
    );
    const bytes = Buffer.concat(queries);
    const socket = net.connect(responder.port, responder.host);
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    await once(socket, 'connect');
    // The first write ends inside the second query's length field.
    socket.write(bytes.subarray(0, queries[0]!.length + 1));
    socket.end(bytes.subarray(queries[0]!.length + 1));
    await once(socket, 'close');
    let rest = Buffer.concat(received);
    const answers: [number | undefined, string | undefined, number][] = [];
    while (rest.length > 0) {
      const message = packet.decode(rest.subarray(2, 2 + rest.readUInt16BE(0)));
      answers.push([message.id, message.rcode, message.answers?.length ?? 0]);
      rest = rest.subarray(2 + rest.readUInt16BE(0));
    }
    expect(answers).toEqual([[100, 'NOERROR', 1], [101, 'NXDOMAIN', 0], [102, 'NOERROR', 80]]);
  });
});

describe('DNS answers, decoded by tshark and in process', () => {
  it("tshark's DNS decoder reads the APL answer item by item", () => {
    const query = packet.encode({ id: 7, type: 'query', flags: packet.RECURSION_DESIRED, questions: [{ name: 'api.svc.example', type: 'APL' }] });
    const answer = respond(query, [zoneOf(zone())], 'udp')!;
    const dir = mkdtempSync(join(tmpdir(), 'softunicast-apl-'));
    try {
      writeFileSync(join(dir, 'apl.pcap'), dnsPcap([answer]));
      const fields = ['dns.apl.address_family', 'dns.apl.coded_prefix', 'dns.apl.negation', 'dns.apl.afdlength', 'dns.apl.afdpart.ipv4', 'dns.apl.afdpart.ipv6'];
      const out = execFileSync('tshark', ['-r', join(dir, 'apl.pcap'), '-T', 'fields', '-E', 'separator=|', '-E', 'aggregator=,', ...fields.flatMap((f) => ['-e', f])], { stdio: ['ignore', 'pipe', 'pipe'] });
      const [family, prefix, negation, length, ipv4, ipv6] = out.toString().trim().split('|');
      expect(family).toBe('1,1,2');
      expect(prefix).toBe('21,28,78');
      expect(negation!.split(',').map((n) => n === 'True' || n === '1')).toEqual([false, true, false]);
      expect(length).toBe('3,3,4');
      expect(ipv4).toBe('192.168.32.0,192.168.38.0');
      expect(ipv6).toBe('2001:db8::');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers other opcodes with NOTIMP, unreadable queries with FORMERR, and responses not at all', () => {
    const query = packet.encode({ id: 9, type: 'query', questions: [{ name: 'api.svc.example', type: 'A' }] });
    const zones = [zoneOf(zone())];
    const notify = Buffer.from(query);
    notify.writeUInt16BE(4 << 11, 2);
    expect(packet.decode(respond(notify, zones, 'udp')!).rcode).toBe('NOTIMP');
    const cut = query.subarray(0, query.length - 3);
    const formerr = packet.decode(respond(cut, zones, 'udp')!);
    expect([formerr.id, formerr.rcode, formerr.type]).toEqual([9, 'FORMERR', 'response']);
    const response = respond(query, zones, 'udp')!;
    expect(respond(response, zones, 'udp')).toBeUndefined();
    expect(respond(Buffer.alloc(5), zones, 'udp')).toBeUndefined();
  });
});
