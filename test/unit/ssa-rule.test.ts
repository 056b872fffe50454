// The client rule's TXT format (src/ssa/rule.ts), what each rule reads as and what is refused, and a
// service's records (src/ssa/records.ts).
import { IPv6 } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { formatApl } from '../../src/dns/apl.js';
import { InvalidRecordError } from '../../src/errors.js';
import { serviceRecords } from '../../src/ssa/records.js';
import { findRule, formatRule, parseRule } from '../../src/ssa/rule.js';

const KEY = '000102030405060708090a0b0c0d0e0f';

describe('client rule', () => {
  it('writes and reads each rule', () => {
    expect(formatRule({ rule: 'random' })).toBe('v=ssa1 rule=random');
    const derived = { rule: 'source-derived', sourceBits: 64, fn: 'flowhash-1', key: KEY } as const;
    expect(formatRule(derived)).toBe(`v=ssa1 rule=source-derived source-bits=64 fn=flowhash-1 key=${KEY}`);
    expect(parseRule(formatRule(derived))).toEqual(derived);
    expect(parseRule('v=ssa1  rule=content-addressed hash=sha256')).toEqual({ rule: 'content-addressed', hash: 'sha256' });
  });

  it('refuses another version, unknown rules and keys, missing and bad values', () => {
    expect(() => parseRule('v=ssa2 rule=random')).toThrow(new InvalidRecordError("Expected 'v=ssa1' first for the client rule but received 'v=ssa2 rule=random'"));
    expect(() => parseRule('rule=random v=ssa1')).toThrow(InvalidRecordError);
    expect(() => parseRule('v=ssa1 rule=nearest')).toThrow(
      new InvalidRecordError("Expected rule=random, rule=source-derived or rule=content-addressed for the client rule but received 'v=ssa1 rule=nearest'"),
    );
    expect(() => parseRule('v=ssa1 rule=random hash=sha256')).toThrow(new InvalidRecordError("Expected only the keys v, rule for rule=random but received 'v=ssa1 rule=random hash=sha256'"));
    expect(() => parseRule(`v=ssa1 rule=source-derived fn=flowhash-1 key=${KEY}`)).toThrow(
      new InvalidRecordError(`Expected a source-bits= key for rule=source-derived but received 'v=ssa1 rule=source-derived fn=flowhash-1 key=${KEY}'`),
    );
    expect(() => parseRule(`v=ssa1 rule=source-derived source-bits=129 fn=flowhash-1 key=${KEY}`)).toThrow(/source-bits from 1 to 128/);
    expect(() => parseRule('v=ssa1 rule=source-derived source-bits=64 fn=flowhash-1 key=00')).toThrow(/32 lower-case hex digits/);
    expect(() => parseRule('v=ssa1 rule=content-addressed hash=md5')).toThrow(/hash=sha256/);
    expect(() => parseRule('v=ssa1 rule=random rule=random')).toThrow(/each key once/);
    expect(() => formatRule({ rule: 'source-derived', sourceBits: 0, fn: 'flowhash-1', key: KEY })).toThrow(/source-bits from 1 to 128/);
  });

  it('finds the one rule among other TXT records', () => {
    expect(findRule(['google-site-verification=x', 'v=ssa1 rule=random'])).toEqual({ rule: 'random' });
    expect(findRule(['v=spf1 -all'])).toBeUndefined();
    expect(() => findRule(['v=ssa1 rule=random', 'v=ssa1 rule=content-addressed hash=sha256'])).toThrow(/one TXT record starting with v=ssa/);
  });
});

describe('service records', () => {
  it('publishes the prefixes as one APL record, the rule as TXT beside other texts, and AAAA', () => {
    const records = serviceRecords({ prefixes: '2:2001:db8:0:1::/64 !2:2001:db8:0:1:ffff::/80', rule: { rule: 'random' }, txt: ['other'], aaaa: [IPv6.fromString('2001:db8:0:1::1')] });
    expect(formatApl(records.apl!)).toBe('2:2001:db8:0:1::/64 !2:2001:db8:0:1:ffff::/80');
    expect(records.txt).toEqual(['other', 'v=ssa1 rule=random']);
    expect(records.aaaa!.map(String)).toEqual(['2001:db8:0:1:0:0:0:1']);
  });

  it('refuses a list with nothing to choose from, and a second rule among the texts', () => {
    expect(() => serviceRecords({ prefixes: '!2:2001:db8::/32', rule: { rule: 'random' } })).toThrow(
      new InvalidRecordError("Expected at least one prefix without '!' for prefixes but received '!2:2001:db8::/32'"),
    );
    expect(() => serviceRecords({ prefixes: '2:2001:db8::/32', rule: { rule: 'random' }, txt: ['v=ssa1 rule=random'] })).toThrow(/no client rule among the other TXT records/);
  });
});
