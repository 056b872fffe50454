// parseConfig and loadConfig: the configuration file's text (JSON or YAML) -> a validated Config.
// Syntax errors and validation errors both come back with the line and column they are about.
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { extname } from 'node:path';

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';

import { errorFromCode, invalid, InvalidOptionError, SoftunicastError, SyscallError } from '../errors.js';
import { about, pathOf, type Path } from './path.js';
import type { Config } from './types.js';
import { validateConfig } from './validate.js';

export type ConfigFormat = 'json' | 'yaml';

/** "router.yaml:14:16", or "line 14, column 16" for text of no known file. */
function place(source: string | undefined, line: number, col: number): string {
  return source !== undefined ? `${source}:${line}:${col}` : `line ${line}, column ${col}`;
}

function yamlDocument(text: string): { doc: Document.Parsed; lines: LineCounter } {
  const lines = new LineCounter();
  // YAML 1.2 core schema: 'no' and 'on' stay strings, '010' is ten. Duplicate keys are errors.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
  return { doc, lines };
}

function readYaml(text: string, name: string): unknown {
  const { doc, lines } = yamlDocument(text);
  // Warnings too (an unknown tag, a collection as a key): the file would not mean what it says.
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem !== undefined) {
    const { line, col } = lines.linePos(problem.pos[0]);
    throw new InvalidOptionError(`Expected valid YAML for ${name} but received a syntax error at line ${line}, column ${col}: ${problem.message}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    // Aliases that expand without bound (a "billion laughs" file).
    throw new InvalidOptionError(`Expected valid YAML for ${name} but received ${(error as Error).message}`);
  }
}

function readJson(text: string, name: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const m = / in JSON at position (\d+)/.exec(message);
    const { lines } = yamlDocument(text);
    // V8 gives a position for some errors only; the end of input is the end of the text.
    const offset = m !== null ? Number(m[1]) : /end of JSON input/.test(message) ? text.length : undefined;
    const at = offset === undefined ? '' : (({ line, col }) => ` at line ${line}, column ${col}`)(lines.linePos(offset));
    const what = message.replace(/ in JSON at position \d+[\s\S]*$/, '').replace(/, "[\s\S]*" is not valid JSON$/, '');
    throw new InvalidOptionError(`Expected valid JSON for ${name} but received a syntax error${at}: ${what}`);
  }
  // JSON.parse keeps the last of two equal keys without a word; a configuration must not.
  const { doc, lines } = yamlDocument(text);
  const duplicate = doc.errors.find((e) => e.code === 'DUPLICATE_KEY');
  if (duplicate !== undefined) {
    const { line, col } = lines.linePos(duplicate.pos[0]);
    throw new InvalidOptionError(`Expected valid JSON for ${name} but received a key given twice at line ${line}, column ${col}`);
  }
  return value;
}

/** The offset of the value (or the nearest enclosing one) that `path` names in the text. */
function offsetOf(text: string, path: Path): { line: number; col: number } | undefined {
  const { doc, lines } = yamlDocument(text);
  let node: unknown = doc.contents;
  let found = node;
  for (const step of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(step));
      if (pair === undefined) break;
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof step === 'number' && step < node.items.length) {
      node = node.items[step];
    } else {
      break;
    }
    found = node;
  }
  const range = (found as { range?: [number, number, number] } | null)?.range;
  return range === undefined ? undefined : lines.linePos(range[0]);
}

/**
 * Parses and validates a configuration file's text; `source` (a file name) appears in messages.
 * Throws InvalidOptionError for syntax errors and bad values, with the path in the file, the
 * line and column; SliceOverlapError and OwnerUnreachableError for the file's slices and peers.
 */
export function parseConfig(text: string, format: ConfigFormat, source?: string): Config {
  if (typeof text !== 'string') invalid('text', 'the text of a configuration file', text);
  if (format !== 'json' && format !== 'yaml') invalid('format', "'json' or 'yaml'", format);
  if (source !== undefined && typeof source !== 'string') invalid('source', 'a file name for messages', source);
  const name = source ?? 'the configuration';
  // A byte-order mark is not part of either syntax; editors on some systems add one.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const value = format === 'json' ? readJson(body, name) : readYaml(body, name);
  try {
    return validateConfig(value, source);
  } catch (error) {
    const path = pathOf(error);
    if (!(error instanceof SoftunicastError) || path === undefined) throw error;
    const pos = offsetOf(body, path);
    if (pos === undefined) throw error;
    throw about(errorFromCode(error.code, `${error.message} (${place(source, pos.line, pos.col)})`), path);
  }
}

/** The format a file name's extension says: .json, or .yaml / .yml. */
export function formatOf(path: string): ConfigFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return invalid('path', 'a file name ending in .json, .yaml or .yml', path);
}

/** Reads, parses and validates the configuration file at `path` (format by extension). */
export async function loadConfig(path: string): Promise<Config> {
  if (typeof path !== 'string' || path === '') invalid('path', 'the path of a configuration file', path);
  const format = formatOf(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const errno = e.code !== undefined ? (constants.errno as Record<string, number>)[e.code] : undefined;
    throw new SyscallError(`Could not read the configuration file ${path}: ${e.message}`, errno, e.syscall ?? 'open');
  }
  return parseConfig(text, format, path);
}
