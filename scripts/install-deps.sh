#!/usr/bin/env bash
# Installs every Debian package kiln's build and tests need, then the Python test tooling of
# the model tests (onnx, onnxruntime, numpy from PyPI, pinned in
# tests/onnx/models/requirements.txt) into a virtual environment, .venv, in the repository.
# Safe to run again: it only installs what is missing. Needs root (or sudo), Debian's package
# registry and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(
  build-essential cmake ninja-build pkg-config git python3 python3-venv
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
else
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The venv is (re)made when it is missing, broken, or was made from other requirements.
req=tests/onnx/models/requirements.txt
venv=.venv
if [ -x "$venv/bin/python" ] && cmp -s "$req" "$venv/kiln-requirements.txt" &&
   "$venv/bin/python" -c "import onnx, onnxruntime, numpy" 2>/dev/null; then
  echo "install-deps: $venv has the Python test tooling"
else
  echo "install-deps: making $venv (pip install -r $req)"
  python3 -m venv --clear "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
  cp "$req" "$venv/kiln-requirements.txt"
fi
