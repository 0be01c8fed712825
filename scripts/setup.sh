#!/usr/bin/env bash
# Installs everything the build and the tests need on a fresh machine (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add rustfmt clippy
rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi
# Cortex-M under QEMU (apt packages, thumb targets, llvm-tools): scripts/embedded.sh needs them.
./scripts/embedded-setup.sh
