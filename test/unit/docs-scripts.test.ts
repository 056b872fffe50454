// Every `npm run NAME` that README.md and docs/*.md tell a user to type is a script of
// package.json: a demo named in the docs but missing from the scripts fails here, not on a
// user's machine.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const SCRIPTS = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);

describe('npm scripts named in the docs', () => {
  it.each(DOCS)('%s names only scripts of package.json', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const named = [...text.matchAll(/npm run (?:--silent )?([a-z][\w:-]*)/g)].map((m) => m[1]!);
    expect(named.filter((name) => !SCRIPTS.includes(name)).map((name) => `${file}: npm run ${name}`)).toEqual([]);
  });

  it('finds the demos the README lists', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const demo of ['demo', 'demo:lb', 'demo:ssa', 'demo:agility']) expect(readme).toContain(`npm run ${demo} `);
  });
});
