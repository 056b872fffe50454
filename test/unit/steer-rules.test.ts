// Socket-steering rules without root: what a caller gets for a bad rule (typed errors naming the
// value), the precedence order, and the trie entries the sk_lookup program reads (src/steer/).
import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { InvalidRuleError, TableLimitError } from '../../src/index.js';
import { ABI } from '../../src/generated/abi.js';
import { checkSet, compileRules, type SlottedRule } from '../../src/steer/compile.js';
import { checkRule, precedence, ruleText, type SteerRule } from '../../src/steer/rules.js';
import { socketOf } from '../../src/steer/sockets.js';

const v4 = (cidr: string) => IPv4CidrRange.fromCidr(cidr);
const v6 = (cidr: string) => IPv6CidrRange.fromCidr(cidr);
const tcp = (prefix: SteerRule['prefix'], ports?: SteerRule['ports']): SteerRule => ({ protocol: 'tcp', prefix, ports });

function refused(rule: unknown): InvalidRuleError {
  try {
    checkRule(rule);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidRuleError);
    return e as InvalidRuleError;
  }
  throw new Error('the rule was accepted');
}

describe('steering rules', () => {
  it('refuses bad rules with InvalidRuleError naming the value and what was expected', () => {
    expect(refused({ protocol: 'sctp', prefix: v4('10.0.0.0/8') }).message).toBe("Expected 'tcp' or 'udp' for rule.protocol but received 'sctp'");
    expect(refused(tcp('10.0.0.0/8' as never)).message).toBe(
      "Expected an ip-num IPv4, IPv6, IPv4CidrRange or IPv6CidrRange for rule.prefix but received '10.0.0.0/8'",
    );
    expect(refused(tcp(v4('10.20.1.0/20'))).message).toBe('Expected a prefix without host bits set (10.20.0.0/20) for rule.prefix but received \'10.20.1.0/20\'');
    expect(refused(tcp(v4('10.0.0.0/8'), { from: 90, to: 80 })).message).toBe('Expected a port not below from (90) for rule.ports.to but received 80');
    expect(refused(tcp(v4('10.0.0.0/8'), 65536)).message).toBe('Expected a port from 0 to 65535 for rule.ports but received 65536');
    expect(refused(null).code).toBe('ERR_INVALID_RULE');
  });

  it('takes prefixes and single addresses of both families, every port by default', () => {
    expect(ruleText(checkRule(tcp(v4('10.20.0.0/20'))))).toBe('tcp 10.20.0.0/20 0-65535');
    expect(ruleText(checkRule(tcp(IPv4.fromString('10.20.0.1'), 80)))).toBe('tcp 10.20.0.1/32 80-80');
    expect(ruleText(checkRule({ protocol: 'udp', prefix: v6('fd00:20::/44'), ports: { from: 53, to: 54 } }))).toBe('udp fd00:20:0:0:0:0:0:0/44 53-54');
    expect(checkRule(tcp(IPv6.fromString('fd00::1'))).prefixLength).toBe(128);
  });

  it('orders by the longer prefix, then the narrower port range', () => {
    const rules = [tcp(v4('10.0.0.0/8'), 80), tcp(v4('10.1.0.0/16'), { from: 1, to: 65535 }), tcp(v4('10.1.0.0/16'), { from: 1, to: 1000 })].map((r) => checkRule(r));
    expect([...rules].sort(precedence).map(ruleText)).toEqual(['tcp 10.1.0.0/16 1-1000', 'tcp 10.1.0.0/16 1-65535', 'tcp 10.0.0.0/8 80-80']);
  });

  it('refuses a rule twice, and two rules that would tie', () => {
    const twice = [tcp(v4('10.0.0.0/8'), 80), tcp(v4('10.0.0.0/8'), 80)].map((r) => checkRule(r));
    expect(() => checkSet(twice)).toThrow(new InvalidRuleError('Expected each rule once for rules but received tcp 10.0.0.0/8 80-80 twice'));
    const tie = [tcp(v4('10.0.0.0/8'), { from: 80, to: 89 }), tcp(v4('10.0.0.0/8'), { from: 85, to: 94 })].map((r) => checkRule(r));
    expect(() => checkSet(tie)).toThrow(InvalidRuleError);
    // Nested prefixes, or one prefix with ranges of different widths: precedence decides.
    expect(() => checkSet([tcp(v4('10.0.0.0/8'), 80), tcp(v4('10.0.0.0/16'), 80), tcp(v4('10.0.0.0/8'), { from: 1, to: 100 })].map((r) => checkRule(r)))).not.toThrow();
  });

  it('gives each prefix its own rules and those of every covering prefix, best first', () => {
    const slotted: SlottedRule[] = [
      { rule: checkRule(tcp(v4('10.20.0.0/20'), { from: 1, to: 65535 })), slot: 0 },
      { rule: checkRule(tcp(v4('10.20.4.0/24'), 80)), slot: 1 },
      { rule: checkRule({ protocol: 'udp', prefix: v4('10.0.0.0/8'), ports: 53 }), slot: 2 },
    ];
    const c = compileRules(slotted);
    expect(c.count).toBe(3);
    const L = ABI.skLookup;
    const entry = (i: number) => {
      const key = new DataView(c.keys.buffer, i * L.keySize, L.keySize);
      const val = new DataView(c.values.buffer, i * L.rangesSize, L.rangesSize);
      const ranges = Array.from({ length: val.getUint32(0, true) }, (_, j) => [val.getUint16(4 + j * 8, true), val.getUint16(6 + j * 8, true), val.getUint32(8 + j * 8, true)]);
      return { prefixlen: key.getUint32(0, true), protocol: key.getUint8(4), family: key.getUint8(5), addr: [6, 7, 8, 9].map((o) => key.getUint8(o)).join('.'), ranges };
    };
    expect(entry(0)).toEqual({ prefixlen: 16 + 20, protocol: 6, family: 4, addr: '10.20.0.0', ranges: [[1, 65535, 0]] });
    // The /24 holds the /20's rule after its own: a port the /24 does not name still finds the /20.
    expect(entry(1)).toEqual({ prefixlen: 16 + 24, protocol: 6, family: 4, addr: '10.20.4.0', ranges: [[80, 80, 1], [1, 65535, 0]] });
    // Another protocol's rules never mix in.
    expect(entry(2)).toEqual({ prefixlen: 16 + 8, protocol: 17, family: 4, addr: '10.0.0.0', ranges: [[53, 53, 2]] });
  });

  it('inherits through every level, and never from a sibling prefix or the other family', () => {
    const slotted: SlottedRule[] = [
      { rule: checkRule(tcp(v4('10.20.0.0/20'))), slot: 0 },
      { rule: checkRule(tcp(v4('10.20.4.0/24'), 80)), slot: 1 },
      { rule: checkRule(tcp(IPv4.fromString('10.20.4.7'), 443)), slot: 2 },
      { rule: checkRule(tcp(v4('10.20.5.0/24'), 22)), slot: 3 },
      { rule: checkRule(tcp(v6('fd00:20::/44'))), slot: 4 },
      { rule: checkRule(tcp(v6('fd00:20:4::/48'), 80)), slot: 5 },
    ];
    const c = compileRules(slotted);
    const L = ABI.skLookup;
    const slots = (i: number) => {
      const val = new DataView(c.values.buffer, i * L.rangesSize, L.rangesSize);
      return Array.from({ length: val.getUint32(0, true) }, (_, j) => val.getUint32(8 + j * 8, true));
    };
    expect([0, 1, 2, 3, 4, 5].map(slots)).toEqual([[0], [1, 0], [2, 1, 0], [3, 0], [4], [5, 4]]);
  });

  it('refuses more rules over one prefix than the program scans', () => {
    const many: SlottedRule[] = Array.from({ length: ABI.skLookup.rangesMax + 1 }, (_, i) => ({ rule: checkRule(tcp(v4('10.0.0.0/8'), 1000 + i)), slot: 0 }));
    expect(() => compileRules(many)).toThrow(TableLimitError);
  });

  it('refuses a target that is no listening server or bound socket', async () => {
    const net = await import('node:net');
    expect(() => socketOf(new net.Server(), 'server')).toThrow(
      new InvalidRuleError('Expected a net.Server listening on a TCP address for server but received a server that is not listening'),
    );
    expect(() => socketOf({}, 'server')).toThrow(new InvalidRuleError('Expected a listening net.Server or a bound dgram.Socket for server but received an object'));
  });
});
