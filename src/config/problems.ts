// Every problem of a configuration file, collected rather than thrown one at a time: the
// collector validate.ts and its helpers record into, and the InvalidConfigError it becomes.
import { describe, InvalidConfigError, SoftunicastError, type ConfigProblem, type ErrorCode } from '../errors.js';
import { formatPath, pathOf, type Path } from './path.js';

export type { ConfigProblem };

/** Errors kept in full; past this many, only counted (a file broken on every line stays cheap). */
export const PROBLEMS_MAX = 10_000;
/** Problems an error's message lists before "... and N more". */
const MESSAGE_LINES = 50;

/** A problem as found, before the text (if any) gives it a line and column. */
export interface Found {
  readonly path: Path;
  readonly code: ErrorCode;
  readonly message: string;
  /** The other place a problem between two parts is about: where the text is known, it is reported at the later of the two. */
  readonly or?: Path;
}

/** Where a path is in the file's text, 1-based; undefined without text or when not found. */
export type Locate = (path: Path) => { line: number; column: number } | undefined;

export class Problems {
  readonly errors: Found[] = [];
  readonly warnings: Found[] = [];
  /** Errors beyond PROBLEMS_MAX, counted only. */
  omitted = 0;

  /** Errors found so far: compare before and after a check to tell whether it found any. */
  get count(): number {
    return this.errors.length + this.omitted;
  }

  error(path: Path, code: ErrorCode, message: string): void {
    if (this.errors.length < PROBLEMS_MAX) this.errors.push({ path, code, message });
    else this.omitted++;
  }

  /**
   * Records a problem between two parts of the file (`path` and `or`): placed, once the text is
   * known, at whichever of them comes later in it (the part that broke the file, read top down);
   * at `path` without text.
   */
  between(path: Path, or: Path, code: ErrorCode, message: string): void {
    if (this.errors.length < PROBLEMS_MAX) this.errors.push({ path, code, message, or });
    else this.omitted++;
  }

  warn(path: Path, code: ErrorCode, message: string): void {
    if (this.warnings.length < PROBLEMS_MAX) this.warnings.push({ path, code, message });
  }

  /** Records "Expected X for PATH but received Z" (InvalidOptionError's code); returns undefined. */
  expected(path: Path, expected: string, received: unknown): undefined {
    this.error(path, 'ERR_INVALID_OPTION', `Expected ${expected} for ${formatPath(path)} but received ${describe(received)}`);
    return undefined;
  }

  /**
   * Runs `fn`, a check that throws at its first problem (fail() in path.ts, the library's own
   * validators), and records what it throws: about the path the error is marked with, else
   * `path`. Returns undefined when it threw. Errors that are not the library's are bugs: rethrown.
   */
  attempt<T>(path: Path, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (error) {
      if (!(error instanceof SoftunicastError)) throw error;
      this.error(pathOf(error) ?? path, error.code, error.message);
      return undefined;
    }
  }
}

/** Where `found` is reported: its path, or its other path (`or`) when that comes later in the text. */
function placeOf(found: Found, locate: Locate | undefined): [Path, { line: number; column: number } | undefined] {
  const at = locate?.(found.path);
  if (found.or === undefined || locate === undefined) return [found.path, at];
  const other = locate(found.or);
  const later = other !== undefined && (at === undefined || other.line > at.line || (other.line === at.line && other.column > at.column));
  return later ? [found.or, other] : [found.path, at];
}

function located(found: Found, severity: ConfigProblem['severity'], locate: Locate | undefined): ConfigProblem {
  const [path, at] = placeOf(found, locate);
  return {
    path: path.length === 0 ? '' : formatPath(path),
    ...(at !== undefined && { line: at.line, column: at.column }),
    code: found.code,
    message: found.message,
    severity,
  };
}

/** The problems with their lines and columns, errors and warnings apart. */
export function locateAll(p: Problems, locate: Locate | undefined): { errors: ConfigProblem[]; warnings: ConfigProblem[] } {
  return {
    errors: p.errors.map((f) => located(f, 'error', locate)),
    warnings: p.warnings.map((f) => located(f, 'warning', locate)),
  };
}

/**
 * One line per problem, as compilers print them: "router.yaml:12:18: message", "line 12,
 * column 18: message" for text of no known file, the message alone where no place is known;
 * warnings say so after the place.
 */
export function problemLine(problem: ConfigProblem, source?: string): string {
  const { line, column } = problem;
  const place = line === undefined ? undefined : source !== undefined ? `${source}:${line}:${column}` : `line ${line}, column ${column}`;
  const text = problem.severity === 'warning' ? `warning: ${problem.message}` : problem.message;
  return place === undefined ? text : `${place}: ${text}`;
}

/** "The configuration router.yaml has 2 problems:" and one line each, at most MESSAGE_LINES of them. */
export function problemsMessage(errors: readonly ConfigProblem[], omitted: number, source?: string): string {
  const total = errors.length + omitted;
  const head = `The configuration${source !== undefined ? ` ${source}` : ''} has ${total} problem${total === 1 ? '' : 's'}:`;
  const lines = errors.slice(0, MESSAGE_LINES).map((e) => problemLine(e, source));
  if (total > lines.length) lines.push(`... and ${total - lines.length} more`);
  return [head, ...lines].join('\n');
}

/** The InvalidConfigError for what `p` holds (it holds at least one error). */
export function invalidConfig(p: Problems, locate: Locate | undefined, source?: string): InvalidConfigError {
  const { errors, warnings } = locateAll(p, locate);
  // In the file's order where lines are known (checks run section by section, not line by line).
  const order = (a: ConfigProblem, b: ConfigProblem) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0);
  if (locate !== undefined) {
    errors.sort(order);
    warnings.sort(order);
  }
  return new InvalidConfigError(problemsMessage(errors, p.omitted, source), errors, warnings, p.omitted);
}
