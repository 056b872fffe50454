// scripts/install.mjs, npm's install step: the Debian packages it checks for are ones the
// bootstrap installs, so a checkout never builds with less than a package install needs. The
// install itself (and its refusal without packages) is test/package/install.test.ts.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

// @ts-expect-error: a plain ES module without types, run by npm.
import { BUILD_PACKAGES } from '../../scripts/install.mjs';

const bootstrap = readFileSync(fileURLToPath(new URL('../../scripts/bootstrap.sh', import.meta.url)), 'utf8');

describe('the install step', () => {
  it('checks for Debian packages that scripts/bootstrap.sh installs', () => {
    const list = /^packages=\(([^)]*)\)/m.exec(bootstrap);
    expect(list).not.toBeNull();
    const installed = list![1]!.split(/\s+/).filter((p) => p !== '');
    expect((BUILD_PACKAGES as string[]).filter((p) => !installed.includes(p))).toEqual([]);
    expect(BUILD_PACKAGES).toEqual(expect.arrayContaining(['clang', 'libxdp-dev', 'libbpf-dev', 'cmake', 'ninja-build', 'pkg-config', 'g++']));
  });
});
