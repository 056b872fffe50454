// Error classes: every native code has a class with a stable name and code, and errors built
// from native reports keep errno and syscall.
import { describe, expect, it } from 'vitest';

import * as api from '../../src/index.js';
import { errorFromCode } from '../../src/errors.js';
import { ABI } from '../../src/generated/abi.js';

describe('errors', () => {
  it('every native error code maps to its own exported class', () => {
    const names = new Set<string>();
    for (const code of ABI.errorCodes) {
      const error = errorFromCode(code, 'm', 19, 'bind');
      expect(error).toBeInstanceOf(api.SoftunicastError);
      expect(error.code).toBe(code);
      expect(error.name).toMatch(/Error$/);
      expect((api as Record<string, unknown>)[error.name]).toBe(error.constructor);
      names.add(error.name);
    }
    expect(names.size).toBe(ABI.errorCodes.length);
  });

  it('keeps errno and syscall of system errors', () => {
    const error = errorFromCode('ERR_SYSCALL', 'Could not bind', 22, 'bind');
    expect(error).toBeInstanceOf(api.SyscallError);
    expect(error.errno).toBe(22);
    expect(error.syscall).toBe('bind');
    expect(error.message).toBe('Could not bind');
  });

  it('reports an unknown code as a build mismatch, not as a success', () => {
    const error = errorFromCode('ERR_FROM_THE_FUTURE', 'm');
    expect(error.code).toBe('ERR_SYSCALL');
    expect(error.message).toMatch(/unknown native error code ERR_FROM_THE_FUTURE/);
  });
});
