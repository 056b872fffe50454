// What `soft-unicast-router --version` prints: the package and its version (package.json), the
// table ABI the TypeScript side speaks (src/generated/abi.ts) and the Node.js running it.
import { ABI } from '../../src/generated/abi.js';
import { packageInfo } from '../../src/package.js';

/**
 * One line, e.g. `softunicast 0.1.0 (ABI 4, Node.js v20.17.0)`. The ABI version tells which
 * native build and which table images belong to this release; a bug report needs all three.
 */
export function versionText(): string {
  const { name, version } = packageInfo();
  return `${name} ${version} (ABI ${ABI.abiVersion}, Node.js ${process.version})`;
}
