// Where the installed package lives and what its package.json says: the native loader
// (src/native.ts) finds build/native/ from here, the router's --version reads the version.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { NativeBuildError } from './errors.js';

let root: string | undefined;

/**
 * The directory of softunicast's package.json: the repository in a checkout, the package's
 * directory under node_modules once installed. Found by walking up from this file, which is
 * src/package.ts under vitest and dist/src/package.js once built, so both find the same root.
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new NativeBuildError(`Expected softunicast's package.json above ${fileURLToPath(import.meta.url)} but found none`);
    dir = parent;
  }
  root = dir;
  return dir;
}

export interface PackageInfo {
  name: string;
  version: string;
}

/** Name and version from the package's package.json. */
export function packageInfo(): PackageInfo {
  const path = join(packageRoot(), 'package.json');
  const json = JSON.parse(readFileSync(path, 'utf8')) as Partial<PackageInfo>;
  if (typeof json.name !== 'string' || typeof json.version !== 'string') {
    throw new NativeBuildError(`Expected a name and a version in ${path} but received ${JSON.stringify({ name: json.name, version: json.version })}`);
  }
  return { name: json.name, version: json.version };
}
