#!/usr/bin/env bash
# One-time setup for scripts/embedded.sh (idempotent; run as root in CI, apt must work):
# QEMU for Cortex-M, gcc for the instruction-count plugin, python3 for the helper scripts,
# the four thumb targets and llvm-tools on stable; on nightly (only if it is installed)
# llvm-tools + the M4F target for `-Z emit-stack-sizes`. Installs nothing else.
set -euo pipefail
start=$(date +%s)
need_apt=()
command -v qemu-system-arm >/dev/null || need_apt+=(qemu-system-arm)
command -v gcc >/dev/null || need_apt+=(gcc libc6-dev)
command -v python3 >/dev/null || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
targets=(thumbv7em-none-eabihf thumbv6m-none-eabi thumbv8m.main-none-eabihf)
rustup target add "${targets[@]}"
rustup component add llvm-tools
if rustup toolchain list | grep -q '^nightly'; then
  rustup +nightly component add llvm-tools rust-src
  rustup +nightly target add thumbv7em-none-eabihf
else
  echo "embedded-setup: no nightly toolchain: the static stack figure (-Z emit-stack-sizes) will be skipped"
fi
echo "embedded-setup: done in $(( $(date +%s) - start )) s"
