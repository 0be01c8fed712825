#!/usr/bin/env bash
# Installs everything the build and the tests need on a fresh machine (idempotent).
#   scripts/setup.sh [--no-embedded]
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add rustfmt clippy
rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi
# Miri for scripts/test.sh's Miri step, if a nightly toolchain is installed (the step is
# skipped without it, and also if the component cannot be downloaded).
if rustup toolchain list | grep -q '^nightly'; then
    rustup +nightly component add miri rust-src ||
        echo "setup: miri not available for this nightly: the Miri step will be skipped"
fi
# A TrueType font for `fit --plot` (tests draw a PNG and an SVG): Debian's DejaVu Sans.
if [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "setup: installing fonts-dejavu-core (the plot's font) with apt-get"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends fonts-dejavu-core
fi
# Cortex-M under QEMU (apt packages, thumb targets, llvm-tools): scripts/embedded.sh needs
# them; `--no-embedded` skips them (scripts/test.sh --no-embedded passes it on).
if [ "${1:-}" = --no-embedded ]; then
    echo "setup: --no-embedded: QEMU, gcc and the embedded toolchain parts not installed"
else
    ./scripts/embedded-setup.sh
fi
