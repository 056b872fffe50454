// A configuration file's text -> plain data, fast: JSON.parse, or js-yaml for YAML (about 15x
// faster than the `yaml` package on a 4 MB file). The `yaml` package stays for what js-yaml does
// not settle: its error messages and positions for a bad file, and YAML directives. Used by source.ts.
import * as jsyaml from 'js-yaml';
import { FAILSAFE_SCHEMA, load, Type, YAMLException } from 'js-yaml';
import { LineCounter, parseDocument, type Document } from 'yaml';

import { describe } from '../errors.js';

/** What reading the text gave: the data, or the one syntax problem (parsers stop at the first). */
export type ReadResult = { ok: true; value: unknown } | { ok: false; message: string; offset: number | undefined };

/** Where each line starts, for turning offsets into lines and columns. */
export class Lines {
  readonly #starts: Int32Array;

  constructor(text: string) {
    const starts = [0];
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    this.#starts = Int32Array.from(starts);
  }

  /** 1-based line and column of `offset`. */
  at(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.#starts[lo]! + 1 };
  }
}

// YAML 1.2 core integers only: js-yaml also reads 0b101 as a number, the `yaml` package (and
// the YAML 1.2 core schema) as text.
const INT = /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/;
const coreInt = new Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (data: unknown) => typeof data === 'string' && INT.test(data),
  construct: (data: string) => (data.startsWith('0o') ? parseInt(data.slice(2), 8) : data.startsWith('0x') ? parseInt(data.slice(2), 16) : Number(data)),
  predicate: (data: unknown) => Number.isInteger(data),
  represent: (data: unknown) => String(data),
});
// js-yaml exports its types; @types/js-yaml does not declare them.
const types = (jsyaml as unknown as { types: Record<'null' | 'bool' | 'float', Type> }).types;
/** YAML 1.2 core: no timestamps, no merge keys, no binary; 'no' and 'on' stay text, '010' is ten. */
export const CORE = FAILSAFE_SCHEMA.extend({ implicit: [types.null, types.bool, coreInt, types.float] });

function yamlDocument(text: string): { doc: Document.Parsed; lines: LineCounter } {
  const lines = new LineCounter();
  // YAML 1.2 core schema: 'no' and 'on' stay strings, '010' is ten. Duplicate keys are errors.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
  return { doc, lines };
}

/** The `yaml` package's reading: its first error or warning, or the data with aliases bounded. */
function readYamlSlowly(text: string): ReadResult {
  const { doc } = yamlDocument(text);
  // Warnings too (an unknown tag, a collection as a key): the file would not mean what it says.
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem !== undefined) return { ok: false, message: `Expected valid YAML but received a syntax error: ${problem.message}`, offset: problem.pos[0] };
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: 1000 }) };
  } catch (error) {
    // Aliases that expand without bound (a "billion laughs" file).
    return { ok: false, message: `Expected valid YAML but received ${(error as Error).message}`, offset: undefined };
  }
}

/**
 * Whether the data holds no more nodes than `limit`, counting a node each time an alias repeats
 * it: js-yaml shares an aliased node rather than copying it, so that a few lines (a "billion
 * laughs" file) could stand for more slices than memory holds once validation walks them.
 */
function expandsWithin(value: unknown, limit: number): boolean {
  let nodes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (++nodes > limit) return false;
    if (typeof v !== 'object' || v === null) continue;
    for (const item of Array.isArray(v) ? v : Object.values(v as object)) stack.push(item);
  }
  return true;
}

/** A YAML file's data. */
export function readYaml(text: string): ReadResult {
  // A directive (%YAML 1.1) may change what scalars mean: the `yaml` package follows it.
  if (!/^%/m.test(text)) {
    let value: unknown;
    try {
      value = load(text, { schema: CORE });
    } catch (error) {
      if (!(error instanceof YAMLException)) throw error;
      // A bad file: the `yaml` package's message and position, as before js-yaml was used.
      return readYamlSlowly(text);
    }
    // Anchors: aliases may repeat a node, but not make the data more than ten times the text.
    const limit = 10 * text.length + 1000;
    if (text.includes('&') && !expandsWithin(value, limit)) {
      return { ok: false, message: `Expected valid YAML but received aliases that expand to more than ${limit} nodes (ten per character of the file)`, offset: undefined };
    }
    return { ok: true, value: value === undefined ? null : value };
  }
  return readYamlSlowly(text);
}

/** Keys written in valid JSON text: strings followed by ':'. */
function keysInText(text: string): number {
  let keys = 0;
  for (let q = text.indexOf('"'); q >= 0; q = text.indexOf('"', q + 1)) {
    // The closing quote: one not escaped (preceded by an even number of backslashes).
    let end = text.indexOf('"', q + 1);
    for (;;) {
      let slashes = 0;
      while (text.charCodeAt(end - 1 - slashes) === 92) slashes++;
      if (slashes % 2 === 0) break;
      end = text.indexOf('"', end + 1);
    }
    let k = end + 1;
    for (let c = text.charCodeAt(k); c === 32 || c === 9 || c === 10 || c === 13; c = text.charCodeAt(++k));
    if (text.charCodeAt(k) === 58) keys++;
    q = end;
  }
  return keys;
}

/** Keys of every object in parsed data. */
function keysInValue(value: unknown): number {
  let keys = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      for (const item of v) if (typeof item === 'object' && item !== null) stack.push(item);
      continue;
    }
    for (const key in v) {
      keys++;
      const item = (v as Record<string, unknown>)[key];
      if (typeof item === 'object' && item !== null) stack.push(item);
    }
  }
  return keys;
}

/** A JSON file's data; a key given twice in one object is refused (JSON.parse keeps the last one). */
export function readJson(text: string): ReadResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const m = / (?:in|after) JSON at position (\d+)/.exec(message);
    // V8 gives a position for some errors only; the end of input is the end of the text. Its
    // snippet of the text ('"{"a": tru}" is not valid JSON') is left out: the place says where.
    const offset = m !== null ? Number(m[1]) : /end of JSON input/.test(message) ? text.length : undefined;
    const what = message.replace(/ (in|after) JSON at position \d+[\s\S]*$/, (_, word: string) => (word === 'after' ? ' after the JSON value' : '')).replace(/, "[\s\S]*" is not valid JSON$/, '');
    return { ok: false, message: `Expected valid JSON but received a syntax error: ${what}`, offset };
  }
  // Fewer keys in the data than in the text: one was given twice. Only then is the text parsed
  // again, by js-yaml (JSON is YAML), which stops at the second key and says where it starts.
  if (keysInValue(value) === keysInText(text)) return { ok: true, value };
  let offset: number | undefined;
  try {
    load(text, { schema: CORE });
  } catch (error) {
    if (!(error instanceof YAMLException)) throw error;
    if (error.reason === 'duplicated mapping key') offset = error.mark.position;
  }
  offset ??= yamlDocument(text).doc.errors.find((e) => e.code === 'DUPLICATE_KEY')?.pos[0];
  let key = '';
  if (offset !== undefined && text[offset] === '"') {
    const end = /^"(?:[^"\\]|\\.)*"/.exec(text.slice(offset, offset + 10_000));
    if (end !== null) key = ` ${describe(JSON.parse(end[0]) as string)}`;
  }
  return { ok: false, message: `Expected valid JSON (each key once in an object) but received the key${key} twice`, offset };
}

/** Reads `text` in `format`; for positions of problems, see locate.ts. */
export function readText(text: string, format: 'json' | 'yaml'): ReadResult {
  return format === 'json' ? readJson(text) : readYaml(text);
}

export { yamlDocument };
