// Paths inside the configuration file ("egress[1].slices[0].ports") and the errors that name
// them. Each error remembers its path so that the problem it becomes (problems.ts) gets a line and column.
import { describe, InvalidOptionError } from '../errors.js';

/** Keys and indices from the top of the file down. */
export type Path = readonly (string | number)[];

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Characters of a key a path shows: a path names a place, it does not repeat a huge key. */
const KEY_MAX = 40;

/**
 * "egress[1].slices[0].ports"; a key that is not an identifier is quoted ("servers['a-1']"),
 * one longer than 40 characters cut ("servers['aaaa…']").
 */
export function formatPath(path: Path): string {
  if (path.length === 0) return 'the top level';
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (part.length <= KEY_MAX && IDENTIFIER.test(part)) out += out === '' ? part : `.${part}`;
    else {
      const key = part.length > KEY_MAX ? `${part.slice(0, KEY_MAX - 1)}…` : part;
      out += `['${key.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}']`;
    }
  }
  return out;
}

const paths = new WeakMap<object, Path>();

/** Marks `error` as being about `path` (for the line and column parseConfig adds). */
export function about<E extends Error>(error: E, path: Path): E {
  paths.set(error, path);
  return error;
}

/** The path an error is about, if it was marked. */
export function pathOf(error: unknown): Path | undefined {
  return typeof error === 'object' && error !== null ? paths.get(error) : undefined;
}

/** Throws InvalidOptionError "Expected X for <path> but received Z", marked with `path`. */
export function fail(path: Path, expected: string, received: unknown): never {
  throw about(new InvalidOptionError(`Expected ${expected} for ${formatPath(path)} but received ${describe(received)}`), path);
}

const FOREIGN = /^(Expected [\s\S]*? for )options((?:[.[][^\s]*)?)( but received [\s\S]*)$/;
const STEP = /\.([^.[]+)|\[(\d+)\]/g;

/**
 * Runs `fn`, a validator of the library's own options whose messages name "options.x" (XdpPort's
 * port options, splitPorts), and re-words its errors to name the same value at `path` in the
 * file, so that the file's rules and the API's stay one set. `renames` maps an option's name to
 * the file's key where they differ ('' when the value sits at `path` itself).
 */
export function within<T>(path: Path, renames: Readonly<Record<string, string>>, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) throw error;
    const m = FOREIGN.exec(error.message);
    if (m === null) throw about(error, path);
    const steps: (string | number)[] = [];
    for (const s of m[2]!.matchAll(STEP)) {
      const step = s[1] !== undefined ? (renames[s[1]] ?? s[1]) : Number(s[2]);
      if (step !== '') steps.push(step);
    }
    const full = [...path, ...steps];
    throw about(new InvalidOptionError(`${m[1]}${formatPath(full)}${m[3]}`), full);
  }
}
