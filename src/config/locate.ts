// Where a path of the configuration ('egress[1].slices[0].ports') is in the file's text, for the
// lines and columns of problems. Only a file with problems pays for it: its text is parsed again
// by js-yaml, whose listener reports where each node opens and closes (JSON is YAML too).
import { load, YAMLException } from 'js-yaml';
import { isAlias, isMap, isScalar, isSeq } from 'yaml';

import type { Path } from './path.js';
import type { Locate } from './problems.js';
import { CORE, Lines, yamlDocument } from './read.js';

/** Every node of a parse in the order it opened: where it starts and ends, its value, its parent. */
interface Tree {
  starts: number[];
  ends: number[];
  results: unknown[];
  first: Int32Array;
  next: Int32Array;
}

function treeOf(text: string): Tree | undefined {
  const starts: number[] = [];
  const ends: number[] = [];
  const parents: number[] = [];
  const results: unknown[] = [];
  const stack: number[] = [];
  try {
    load(text, {
      schema: CORE,
      listener(event, state) {
        if (event === 'open') {
          parents.push(stack.length > 0 ? stack[stack.length - 1]! : -1);
          starts.push(state.position);
          ends.push(-1);
          results.push(undefined);
          stack.push(starts.length - 1);
        } else {
          const i = stack.pop()!;
          ends[i] = state.position;
          results[i] = state.result;
        }
      },
    });
  } catch (error) {
    if (error instanceof YAMLException) return undefined;
    throw error;
  }
  // Children of a node are the later nodes naming it their parent, in order.
  const n = starts.length;
  const first = new Int32Array(n).fill(-1);
  const next = new Int32Array(n).fill(-1);
  const last = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const p = parents[i]!;
    if (p < 0) continue;
    if (first[p]! < 0) first[p] = i;
    else next[last[p]!] = i;
    last[p] = i;
  }
  return { starts, ends, results, first, next };
}

/** Past spaces, line breaks and comments. */
function skip(text: string, at: number): number {
  let i = at;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) i++;
    else if (c === 35) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
    } else return i;
  }
}

/** js-yaml opens a node again around one it probes as a key: the innermost of such a chain. */
function unwrap(t: Tree, i: number): number {
  let node = i;
  for (let c = t.first[node]!; c >= 0 && t.next[c]! < 0 && t.ends[c] === t.ends[node] && Object.is(t.results[c], t.results[node]); c = t.first[node]!) node = c;
  return node;
}

/** The child of map node `m` holding `key`'s value (or the key itself when it has no value node). */
function valueOf(t: Tree, text: string, m: number, key: string): { node: number; key: number } | undefined {
  for (let c = t.first[m]!; c >= 0; ) {
    // Children alternate key and value, but a key without a value ({ a }) has no value node.
    const value = text.charCodeAt(skip(text, t.ends[c]!)) === 58 ? t.next[c]! : -1;
    if (String(t.results[c]) === key) return { node: value >= 0 ? value : c, key: c };
    c = value >= 0 ? t.next[value]! : t.next[c]!;
  }
  return undefined;
}

/** The offset the value at `path` (or the nearest enclosing one found) starts at. */
function offsetIn(t: Tree, text: string, path: Path): number {
  let node = unwrap(t, 0);
  let key = -1;
  for (const step of path) {
    const value = t.results[node];
    if (Array.isArray(value) && typeof step === 'number') {
      let c = t.first[node]!;
      for (let i = 0; i < step && c >= 0; i++) c = t.next[c]!;
      if (c < 0) break;
      node = unwrap(t, c);
      key = -1;
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const found = valueOf(t, text, node, String(step));
      if (found === undefined) break;
      node = unwrap(t, found.node);
      key = found.key;
    } else {
      break;
    }
  }
  const start = skip(text, t.starts[node]!);
  // An empty value ("key:" and nothing): point at its key.
  return start >= t.ends[node]! && key >= 0 ? skip(text, t.starts[key]!) : start;
}

/** The `yaml` package's way, for text js-yaml refuses (the file was read by the `yaml` package). */
function slowLocate(text: string, lines: Lines): Locate {
  const { doc } = yamlDocument(text);
  return (path) => {
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
    return range === undefined ? undefined : lines.at(range[0]);
  };
}

/** A locator for `text`: the 1-based line and column where the value at a path starts. */
export function locator(text: string): Locate {
  const lines = new Lines(text);
  const tree = treeOf(text);
  // An empty document has no node: the file as a whole starts at its beginning.
  if (tree !== undefined && tree.starts.length === 0) return () => lines.at(0);
  if (tree === undefined) return slowLocate(text, lines);
  return (path) => lines.at(offsetIn(tree, text, path));
}

/** A locator for `text` made on its first use: a valid file never pays for one. */
export function lazyLocator(text: string): Locate {
  let locate: Locate | undefined;
  return (path) => (locate ??= locator(text))(path);
}
