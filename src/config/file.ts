// Reading a configuration file without trusting what sits at its path: only a regular file (a
// FIFO would block the reader until somebody writes to it, a device could never end), at most
// CONFIG_MAX_BYTES, within CONFIG_READ_TIMEOUT_MS. Used by loadConfig() and the router binary's
// reload, so that no file can wedge a running router.
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { constants } from 'node:os';

import { InvalidOptionError, SyscallError } from '../errors.js';

/** Far above any deployment's file (a million explicit slices take about 70 MB of YAML). */
export const CONFIG_MAX_BYTES = 256 * 1024 * 1024;
/** A local file reads in milliseconds; a stuck network filesystem must not stall a reload. */
export const CONFIG_READ_TIMEOUT_MS = 10_000;

function kindOf(mode: number): string {
  const kinds: [number, string][] = [
    [fsConstants.S_IFIFO, 'a FIFO (named pipe)'], [fsConstants.S_IFCHR, 'a character device'], [fsConstants.S_IFBLK, 'a block device'],
    [fsConstants.S_IFSOCK, 'a socket'], [fsConstants.S_IFDIR, 'a directory'],
  ];
  return kinds.find(([k]) => (mode & fsConstants.S_IFMT) === k)?.[1] ?? 'not a regular file';
}

function syscallError(path: string, error: unknown): Error {
  const e = error as NodeJS.ErrnoException;
  const errno = e.code !== undefined ? (constants.errno as Record<string, number>)[e.code] : undefined;
  return new SyscallError(`Could not read the configuration file ${path}: ${e.message}`, errno, e.syscall ?? 'read');
}

/**
 * The text of the regular file at `path`. Throws InvalidOptionError when it is anything else or
 * larger than CONFIG_MAX_BYTES, SyscallError when it cannot be read (in CONFIG_READ_TIMEOUT_MS).
 */
export async function readConfigFile(path: string, limits = { maxBytes: CONFIG_MAX_BYTES, timeoutMs: CONFIG_READ_TIMEOUT_MS }): Promise<string> {
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  } catch (error) {
    throw syscallError(path, error);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new InvalidOptionError(`Expected a regular file for the configuration file ${path} but it is ${kindOf(stat.mode)}`);
    if (stat.size > limits.maxBytes) throw new InvalidOptionError(`Expected at most ${limits.maxBytes} bytes for the configuration file ${path} but it has ${stat.size}`);
    const text = await handle.readFile({ encoding: 'utf8', signal: AbortSignal.timeout(limits.timeoutMs) }).catch((error: unknown) => {
      if ((error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError') {
        throw new SyscallError(`Could not read the configuration file ${path} within ${limits.timeoutMs} ms`, constants.errno.ETIMEDOUT, 'read');
      }
      throw syscallError(path, error);
    });
    // The file may have grown between stat and read.
    if (Buffer.byteLength(text) > limits.maxBytes) throw new InvalidOptionError(`Expected at most ${limits.maxBytes} bytes for the configuration file ${path} but it grew past that while it was read`);
    return text;
  } finally {
    await handle.close();
  }
}
