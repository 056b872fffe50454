#!/usr/bin/env bash
# Takes a fresh Debian 12 machine (as root) to a built tree, and does nothing that is already
# done: Debian packages, the bpf filesystem, npm packages, the native and BPF build, TypeScript.
# Run by `npm test` and `npm run demo` before anything else.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[bootstrap] %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "[bootstrap] softunicast needs root: XDP, AF_XDP and network namespaces need CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN" >&2
  exit 1
fi

# clang/llvm: BPF objects; libxdp/libbpf: AF_XDP and program loading; cmake/ninja/pkg-config: the
# addon; iproute2, iputils-ping, util-linux (setpriv), python3 (raw frame sender): namespace tests;
# valgrind: native tests; tshark: decodes GUE captured on the backbone; ethtool: turns off veth
# checksum offload in test namespaces; curl: the demo's unmodified client (--local-port);
# libclang-rt-14-dev: libFuzzer and the sanitizer runtimes for native/fuzz (clang only recommends
# it, and recommends are not installed here); etcd-server: the etcd table source's tests and
# benchmark start their own etcd (3.4 on Debian 12) on loopback, never the packaged service.
# python3-dnspython: an independent APL encoder/decoder the APL codec's tests round-trip against;
# bind9-dnsutils: dig, the unmodified client the DNS responder's tests query.
packages=(clang llvm libxdp-dev libbpf-dev libelf-dev zlib1g-dev pkg-config cmake ninja-build g++
          iproute2 iputils-ping util-linux valgrind python3 tshark ethtool curl libclang-rt-14-dev
          etcd-server python3-dnspython bind9-dnsutils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libbpf pins nothing of ours, but tools (bpftool, xdp-loader) expect it; cheap to have.
if ! mountpoint -q /sys/fs/bpf; then
  say "mounting the bpf filesystem on /sys/fs/bpf"
  mount -t bpf bpf /sys/fs/bpf
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# Ninja rebuilds only what changed; an up-to-date tree costs well under a second.
npx --no-install cmake-js build --directory native --out build/native >/tmp/softunicast-build.log 2>&1 || {
  cat /tmp/softunicast-build.log >&2
  echo "[bootstrap] the native build failed (log above)" >&2
  exit 1
}

# tsc is incremental through its build info: examples and agents import dist/.
npm run --silent build:ts
