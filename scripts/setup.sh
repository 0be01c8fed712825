#!/usr/bin/env bash
# Installs everything the build and the tests need on a fresh machine (idempotent).
set -euo pipefail
rustup component add rustfmt clippy
rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi
