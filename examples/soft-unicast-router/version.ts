// `soft-unicast-router --version`: the package, its version, the ABI and Node.js it runs on.
import { readFileSync } from 'node:fs';

import { ABI } from '../../src/generated/abi.js';

/** "softunicast 0.1.0 (ABI 5, Node.js v20.20.2)". */
export function versionText(): string {
  // package.json is two levels up from both examples/... and dist/examples/....
  let dir = new URL('.', import.meta.url);
  let pkg: { name: string; version: string } | undefined;
  for (let i = 0; i < 4 && pkg === undefined; i++, dir = new URL('..', dir)) {
    try {
      pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name: string; version: string };
    } catch {
      // not here: one level up
    }
  }
  return `${pkg?.name ?? 'softunicast'} ${pkg?.version ?? 'unknown'} (ABI ${ABI.abiVersion}, Node.js ${process.version})`;
}
