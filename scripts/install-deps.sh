#!/usr/bin/env bash
# Installs every Debian package kiln's build and tests need. Safe to run again: it only
# installs what is missing. Needs root (or sudo) and Debian's package registry.
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build pkg-config git python3
  libflatbuffers-dev flatbuffers-compiler
  libgtest-dev libgmock-dev libbenchmark-dev
  libfmt-dev libcli11-dev nlohmann-json3-dev libxxhash-dev libzstd-dev
  libopenblas-dev
  libprotobuf-dev protobuf-compiler libonnx-dev libonnx-testdata
  clang libclang-rt-14-dev
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
