// Every relative link in README.md and docs/*.md leads to a file of the repository, and a link
// to a heading (#anchor) of a Markdown file names a heading that exists there.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Link targets of a Markdown text: inline links and reference definitions, code left out. */
function links(text: string): string[] {
  const prose = text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  const inline = [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
  const defined = [...prose.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]!);
  return [...inline, ...defined];
}

/** GitHub's anchors: lower case, punctuation other than '-' and '_' dropped, spaces to '-'. */
function anchors(markdown: string): Set<string> {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return new Set(
    [...prose.matchAll(/^#{1,6} (.*)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')),
  );
}

/** What is wrong with `target` as written in `file`, or undefined. */
function problem(file: string, target: string): string | undefined {
  const [path, anchor] = target.split('#') as [string, string | undefined];
  const resolved = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), decodeURIComponent(path));
  if (relative(ROOT, resolved).startsWith('..')) return `${target} leaves the repository`;
  if (!existsSync(resolved)) return `${target}: no such file`;
  if (anchor !== undefined && resolved.endsWith('.md') && !anchors(readFileSync(resolved, 'utf8')).has(anchor)) {
    return `${target}: no heading #${anchor} in ${relative(ROOT, resolved)}`;
  }
  return undefined;
}

describe('links in the documentation', () => {
  it.each(DOCS)('every relative link of %s resolves inside the repository', (file) => {
    const relativeLinks = links(readFileSync(join(ROOT, file), 'utf8')).filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
    expect(relativeLinks.map((t) => problem(file, t)).filter((p) => p !== undefined)).toEqual([]);
  });

  it('finds the links the README is known to have', () => {
    expect(links(readFileSync(join(ROOT, 'README.md'), 'utf8'))).toEqual(expect.arrayContaining(['docs/deploying.md', 'docs/metrics.md', 'LICENSE']));
  });

  it('reports a link to a missing file or heading', () => {
    expect(problem('docs/metrics.md', 'nothing-here.md')).toBe('nothing-here.md: no such file');
    expect(problem('docs/metrics.md', 'deploying.md#no-such-heading')).toBe('deploying.md#no-such-heading: no heading #no-such-heading in docs/deploying.md');
    expect(problem('README.md', '../outside.md')).toBe('../outside.md leaves the repository');
    expect(problem('docs/metrics.md', 'deploying.md#running-without-root')).toBeUndefined();
  });
});
