// The npm package as a user gets it: `npm pack` of this tree, `npm install -g` of the tarball into
// a fresh prefix (which builds the addon and the XDP program there), then the installed
// soft-unicast-router. Also an install on a machine that lacks build packages. No root needed.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ABI } from '../../src/generated/abi.js';
import { packageInfo } from '../../src/package.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'su-package-'));
const prefix = join(dir, 'prefix');
const installed = join(prefix, 'lib', 'node_modules', 'softunicast');
const bin = join(prefix, 'bin', 'soft-unicast-router');
const { version } = packageInfo();
/** --allow-scripts: npm 11.19 warns about install scripts of global packages it was not told to run. */
const NPM_INSTALL = ['install', '-g', '--prefer-offline', '--no-audit', '--no-fund', '--allow-scripts=softunicast'];

let tarball: string;
let files: string[];

const run = (file: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(file, args, { cwd: dir, encoding: 'utf8', env });

beforeAll(() => {
  // prepare (tsc) runs first, as it does before publishing.
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = join(dir, packed[0]!.filename);
  files = packed[0]!.files.map((f) => f.path);
  const r = run('npm', [...NPM_INSTALL, '--prefix', prefix, tarball]);
  if (r.status !== 0) throw new Error(`npm install -g of ${tarball} failed:\n${r.stdout}\n${r.stderr}`);
}, 240_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the packed package', () => {
  it('holds the compiled router, the sources the native build needs, and no build output', () => {
    expect(files).toEqual(expect.arrayContaining([
      'package.json', 'LICENSE', 'README.md', 'docs/deploying.md', 'docs/metrics.md', 'deploy/soft-unicast-router.service',
      'scripts/install.mjs', 'native/CMakeLists.txt', 'native/package.json', 'bpf/steer.bpf.c',
      'native/include/softunicast/abi.h', 'schema/softunicast-config.schema.json',
      'dist/examples/soft-unicast-router/main.js', 'dist/examples/soft-unicast-router/version.js', 'dist/src/index.js',
      'dist/src/netns/index.js', 'dist/src/netns/index.d.ts',
      'examples/soft-unicast-router/example.yaml',
      'dist/examples/load-balancer/main.js', 'examples/load-balancer/example.yaml',
    ]));
    // A prebuilt binary would hide a broken install step; tests and benchmarks stay in the repository.
    expect(files.filter((f) => /^(build|test|bench|native\/(test|fuzz|bench|tools))\//.test(f) || f.endsWith('.node'))).toEqual([]);
  });
});

describe('npm install -g of the tarball into an empty prefix', () => {
  it('builds the addon and the XDP program inside the installed package', () => {
    expect(statSync(join(installed, 'build/native/Release/softunicast.node')).isFile()).toBe(true);
    expect(statSync(join(installed, 'build/native/bpf/steer.bpf.o')).isFile()).toBe(true);
    // The addon loads, was built from the same headers as the TypeScript, and finds its program.
    const script = `import('${installed}/dist/src/native.js').then((m) => console.log(JSON.stringify({ abi: m.native().abi.abiVersion, steer: m.steerObjectPath })))`;
    const r = run(process.execPath, ['-e', script]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ abi: ABI.abiVersion, steer: join(installed, 'build/native/bpf/steer.bpf.o') });
  });

  it("builds a backend's second chance (lb.SecondChanceBackend's loader and XDP program) inside the installed package", () => {
    expect(statSync(join(installed, 'build/native/bpf/backend.bpf.o')).isFile()).toBe(true);
    // The loader runs: without arguments it names what it expects instead of attaching anything.
    const r = spawnSync(join(installed, 'build/native/chance_backend'), [], { encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/usage|expected/i);
  });

  it('serves the namespace kit as softunicast/netns to a project that depends on the package', () => {
    const consumer = join(dir, 'consumer');
    mkdirSync(join(consumer, 'node_modules'), { recursive: true });
    symlinkSync(installed, join(consumer, 'node_modules', 'softunicast'));
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module' }));
    const script = "import('softunicast/netns').then((m) => console.log(JSON.stringify([typeof m.createVethPair, typeof m.teardownRun, typeof m.xdpOnVethPeer])))";
    const js = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: consumer, encoding: 'utf8' });
    expect(js.stderr).toBe('');
    expect(JSON.parse(js.stdout)).toEqual(['function', 'function', 'function']);
    // And its types, through the same subpath, as a TypeScript project on NodeNext resolves them.
    writeFileSync(join(consumer, 'check.ts'), "import { createVethPair, type VethPair } from 'softunicast/netns';\nexport const make: () => Promise<VethPair> = () => createVethPair({ queues: 2 });\n");
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, typeRoots: [join(ROOT, 'node_modules/@types')], types: ['node'] },
      files: ['check.ts'],
    }));
    const ts = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', consumer], { cwd: consumer, encoding: 'utf8' });
    expect(ts.stdout + ts.stderr).toBe('');
    expect(ts.status).toBe(0);
  });

  it('puts an executable soft-unicast-router on the prefix\'s bin', () => {
    expect(lstatSync(bin).isSymbolicLink()).toBe(true);
    expect(statSync(bin).mode & 0o111).toBe(0o111);
    const r = run(bin, ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: soft-unicast-router --config FILE/);
  });

  it('checks the example configuration for fra1', () => {
    const example = join(installed, 'examples/soft-unicast-router/example.yaml');
    const r = run(bin, ['--check', '--config', example, '--host', 'fra1']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`${example} is valid. The table of fra1, data centre fra, on interface eth0 (queues all, attach driver):`);
    expect(r.stdout).toMatch(/^198\.51\.100\.1 +tcp\+udp +2048-4095 +fra1 +fra1 +local /m);
  });

  it('checks the load-balancer example, which imports the package by its name only', () => {
    const example = join(installed, 'examples/load-balancer/example.yaml');
    const r = run(process.execPath, [join(installed, 'dist/examples/load-balancer/main.js'), '--check', '--config', example, '--host', 'lb1']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {4}web2 +10\.0\.0\.12 +weight 2 +40\.00% of new flows$/m);
  });

  it('reports the package version, the ABI and Node.js with --version', () => {
    const r = run(bin, ['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`softunicast ${version} (ABI ${ABI.abiVersion}, Node.js ${process.version})\n`);
  });
});

describe('the checkout', () => {
  it('runs the router as npx soft-unicast-router (the package\'s own bin)', () => {
    const r = spawnSync('npx', ['--no-install', 'soft-unicast-router', '--check', '--config', 'examples/soft-unicast-router/example.yaml', '--host', 'fra1'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('examples/soft-unicast-router/example.yaml is valid. The table of fra1, data centre fra, on interface eth0 (queues all, attach driver):');
  });
});

describe('npm install -g where build packages are missing', () => {
  it('fails naming each missing Debian package, and installs nothing that half-works', () => {
    // dpkg-query that reports clang and libxdp-dev as not installed, everything else installed.
    const stubs = join(dir, 'stubs');
    mkdirSync(stubs);
    writeFileSync(join(stubs, 'dpkg-query'), `#!/bin/sh
for a in "$@"; do case "$a" in -*) ;; clang|libxdp-dev) echo "$a unknown ok not-installed";; *) echo "$a install ok installed";; esac; done
`);
    chmodSync(join(stubs, 'dpkg-query'), 0o755);
    const other = join(dir, 'other');
    const r = run('npm', [...NPM_INSTALL, '--prefix', other, tarball], { ...process.env, PATH: `${stubs}:${process.env.PATH}` });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('softunicast: Expected the Debian packages the native build needs but these are missing: clang libxdp-dev');
    expect(r.stderr).toContain('softunicast: install them (as root): apt-get install --no-install-recommends clang libxdp-dev');
    expect(existsSync(join(other, 'lib/node_modules/softunicast'))).toBe(false);
    expect(run(join(other, 'bin/soft-unicast-router'), ['--help']).status).not.toBe(0);
  }, 120_000);
});
