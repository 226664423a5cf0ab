#!/usr/bin/env bash
# Installs system packages, only when they are missing: the ones named as arguments, or by
# default what the build needs. Debian/Ubuntu; runs apt-get as root or through sudo.
set -euo pipefail

# A C toolchain for crates with C parts; clang and libclang for rocksdb's bindings.
packages=(build-essential pkg-config clang libclang-dev)
[ $# -gt 0 ] && packages=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing system packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
