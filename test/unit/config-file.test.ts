// readConfigFile and loadConfig against what may sit at a configuration file's path: only a
// regular file is read (a FIFO would block the reader until a writer came), bounded in size.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { InvalidOptionError, SyscallError } from '../../src/errors.js';
import { loadConfig, readConfigFile } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'su-config-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (error) {
    return error as Error;
  }
  throw new Error('Expected a rejection but the promise resolved');
}

describe('readConfigFile', () => {
  it('reads a regular file', async () => {
    writeFileSync(join(dir, 'ok.yaml'), 'version: 1\n');
    expect(await readConfigFile(join(dir, 'ok.yaml'))).toBe('version: 1\n');
  });

  it('refuses a FIFO without waiting for a writer', async () => {
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    const error = await rejection(readConfigFile(fifo));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.message).toBe(`Expected a regular file for the configuration file ${fifo} but it is a FIFO (named pipe)`);
    expect(await rejection(loadConfig(fifo))).toBeInstanceOf(InvalidOptionError);
  });

  it('refuses a directory and a character device', async () => {
    const sub = join(dir, 'dir.yaml');
    mkdirSync(sub);
    expect((await rejection(readConfigFile(sub))).message).toBe(`Expected a regular file for the configuration file ${sub} but it is a directory`);
    expect((await rejection(readConfigFile('/dev/zero'))).message).toBe('Expected a regular file for the configuration file /dev/zero but it is a character device');
  });

  it('refuses a file above the size bound, naming both sizes', async () => {
    writeFileSync(join(dir, 'big.yaml'), 'x'.repeat(2000));
    const error = await rejection(readConfigFile(join(dir, 'big.yaml'), { maxBytes: 1000, timeoutMs: 1000 }));
    expect(error.message).toBe(`Expected at most 1000 bytes for the configuration file ${join(dir, 'big.yaml')} but it has 2000`);
  });

  it('says why a missing file cannot be read', async () => {
    const error = await rejection(readConfigFile(join(dir, 'missing.yaml')));
    expect(error).toBeInstanceOf(SyscallError);
    expect(error.message).toMatch(/^Could not read the configuration file .*missing\.yaml: ENOENT: no such file or directory/);
  });
});
