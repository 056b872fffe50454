// Small helpers shared by the unit tests: ip-num shorthands and "the error this throws".
import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';
import { expect } from 'vitest';

import type { SoftunicastError } from '../../src/errors.js';

export const v4 = (text: string) => IPv4.fromString(text);
export const v6 = (text: string) => IPv6.fromString(text);
export const cidr4 = (text: string) => IPv4CidrRange.fromCidr(text);
export const cidr6 = (text: string) => IPv6CidrRange.fromCidr(text);

/** The error `fn` throws, checked for class and code. */
export function thrown(fn: () => unknown, cls: new (...args: never[]) => SoftunicastError, code: string): SoftunicastError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(cls);
  expect((error as SoftunicastError).code).toBe(code);
  return error as SoftunicastError;
}
