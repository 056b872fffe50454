// npm's install step for softunicast (package.json "install"): builds the native addon and the XDP
// object into build/native/, where src/native.ts looks for them. Fails before building, naming
// every missing Debian package, so that an install never half-works.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (line) => process.stderr.write(`softunicast: ${line}\n`);

/**
 * What the native build runs or links, by Debian package (scripts/bootstrap.sh installs them in a
 * checkout; test/unit/install-script.test.ts keeps the two lists in step): clang compiles the
 * XDP program, gcc/g++ the addon, cmake/ninja/pkg-config drive the build, libxdp/libbpf (with
 * libelf and zlib, which libbpf's pkg-config file requires) are linked. The kernel headers BPF code
 * includes (linux-libc-dev) come with g++ (through libc6-dev); CMake checks for them by path.
 */
export const BUILD_PACKAGES = [
  'clang', 'g++', 'cmake', 'ninja-build', 'pkg-config',
  'libxdp-dev', 'libbpf-dev', 'libelf-dev', 'zlib1g-dev',
];

/** The packages of `wanted` that dpkg does not list as installed (all of them without dpkg). */
function missingPackages(wanted) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Package} ${Status}\\n', ...wanted], { encoding: 'utf8' });
  if (r.error !== undefined) return { missing: wanted, dpkg: false };
  const installed = new Set(
    r.stdout.split('\n').filter((line) => line.endsWith(' install ok installed')).map((line) => line.split(' ')[0]),
  );
  return { missing: wanted.filter((p) => !installed.has(p)), dpkg: true };
}

function checkPackages() {
  const { missing, dpkg } = missingPackages(BUILD_PACKAGES);
  if (missing.length === 0) return;
  if (!dpkg) {
    say('Expected a Debian-like system with dpkg-query to check the native build\'s packages but found no dpkg-query;');
    say(`the build needs the equivalents of: ${BUILD_PACKAGES.join(' ')}`);
  } else {
    say(`Expected the Debian packages the native build needs but ${missing.length === 1 ? 'this one is' : 'these are'} missing: ${missing.join(' ')}`);
    say(`install ${missing.length === 1 ? 'it' : 'them'} (as root): apt-get install --no-install-recommends ${missing.join(' ')}`);
  }
  say('then run the install again (or, where the package is in place, npm rebuild softunicast; -g for a global one)');
  process.exit(1);
}

/** Runs cmake-js for the target `softunicast` (the addon, steer.bpf.o, sk_lookup.bpf.o, chance_backend and backend.bpf.o); ninja skips what is fresh. */
function build() {
  const require = createRequire(join(root, 'package.json'));
  const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  const out = join(root, 'build', 'native');
  mkdirSync(out, { recursive: true });
  const logPath = join(root, 'build', 'native-install.log');
  const log = openSync(logPath, 'w');
  say('building the native addon and the XDP program (about half a minute)');
  const r = spawnSync(process.execPath, [cmakeJs, 'build', '--directory', 'native', '--out', 'build/native', '--target', 'softunicast'], {
    cwd: root,
    stdio: ['ignore', log, log],
  });
  const outputs = [join(out, 'Release', 'softunicast.node'), join(out, 'bpf', 'steer.bpf.o'), join(out, 'bpf', 'sk_lookup.bpf.o'), join(out, 'chance_backend'), join(out, 'bpf', 'backend.bpf.o')];
  if (r.status !== 0 || !outputs.every((f) => existsSync(f))) {
    const text = readFileSync(logPath, 'utf8').split('\n').slice(-60).join('\n');
    process.stderr.write(`${text}\n`);
    say(`the native build failed (${r.error?.message ?? `exit status ${r.status}`}); the whole log is ${logPath}`);
    process.exit(1);
  }
}

// Imported by its unit test for BUILD_PACKAGES; run by npm.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  checkPackages();
  build();
}
