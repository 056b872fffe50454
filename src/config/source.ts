// parseConfig and loadConfig: the configuration file's text (JSON or YAML) -> a validated Config.
// Syntax errors and validation errors both come back as problems with the line and column they are about.
import { extname } from 'node:path';

import { invalid } from '../errors.js';
import { readConfigFile } from './file.js';
import { lazyLocator } from './locate.js';
import { invalidConfig, Problems } from './problems.js';
import { Lines, readText } from './read.js';
import type { Config } from './types.js';
import { validateWith } from './validate.js';

export type ConfigFormat = 'json' | 'yaml';

/**
 * Parses and validates a configuration file's text; `source` (a file name) appears in messages.
 * Throws InvalidConfigError listing every problem with its path, line and column (a syntax error
 * is the one problem of its file: parsers stop there), InvalidOptionError for bad arguments.
 */
export function parseConfig(text: string, format: ConfigFormat, source?: string): Config {
  if (typeof text !== 'string') invalid('text', 'the text of a configuration file', text);
  if (format !== 'json' && format !== 'yaml') invalid('format', "'json' or 'yaml'", format);
  if (source !== undefined && typeof source !== 'string') invalid('source', 'a file name for messages', source);
  // A byte-order mark is not part of either syntax; editors on some systems add one.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const read = readText(body, format);
  if (!read.ok) {
    const p = new Problems();
    p.error([], 'ERR_INVALID_OPTION', read.message);
    const at = read.offset === undefined ? undefined : new Lines(body).at(read.offset);
    throw invalidConfig(p, () => at, source);
  }
  return validateWith(read.value, source, lazyLocator(body));
}

/** The format a file name's extension says: .json, or .yaml / .yml. */
export function formatOf(path: string): ConfigFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return invalid('path', 'a file name ending in .json, .yaml or .yml', path);
}

/**
 * Reads, parses and validates the configuration file at `path` (format by extension): a regular
 * file of at most 256 MiB (src/config/file.ts), read within 10 s.
 */
export async function loadConfig(path: string): Promise<Config> {
  if (typeof path !== 'string' || path === '') invalid('path', 'the path of a configuration file', path);
  const format = formatOf(path);
  return parseConfig(await readConfigFile(path), format, path);
}
