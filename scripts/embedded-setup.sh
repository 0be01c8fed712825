#!/usr/bin/env bash
# One-time setup for scripts/embedded.sh and scripts/arm64.sh (idempotent; run as root in
# CI, apt must work): QEMU for Cortex-M and for RISC-V, qemu-aarch64 (user mode) and an
# AArch64 cross gcc, gcc for the instruction-count plugin, python3 for the helper scripts,
# the three thumb targets, the RISC-V and AArch64 Linux targets and llvm-tools on stable; on
# nightly (only if it is installed) llvm-tools + the M4F target for `-Z emit-stack-sizes`.
# Installs nothing else.
set -euo pipefail
start=$(date +%s)
need_apt=()
command -v qemu-system-arm >/dev/null || need_apt+=(qemu-system-arm)
# qemu-system-riscv32: Debian 12 ships it in qemu-system-misc; bookworm-backports' QEMU 10
# has its own package, qemu-system-riscv (its qemu-system-misc also pulls in s390x).
command -v qemu-system-riscv32 >/dev/null || need_apt+=(qemu-system-misc)
command -v gcc >/dev/null || need_apt+=(gcc libc6-dev)
# ARM64 (scripts/arm64.sh): qemu-aarch64 user mode and an AArch64 cross linker with its libc.
command -v qemu-aarch64 >/dev/null || need_apt+=(qemu-user)
command -v aarch64-linux-gnu-gcc >/dev/null || need_apt+=(gcc-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || need_apt+=(libc6-dev-arm64-cross)
command -v python3 >/dev/null || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "embedded-setup: installing with apt-get (missing commands): ${need_apt[*]}"
  $SUDO apt-get update -qq
  # Simulate first: never remove or downgrade what the machine has (Debian's
  # qemu-system-arm 7.2 once removed a newer qemu-utils from another source).
  apt_target=()
  # What `apt-get install` of the missing packages would remove or downgrade, one line each.
  changes_of() {
    local plan changes downgrades="" verb pkg old new _
    # A plan apt cannot resolve (e.g. Debian 12's QEMU 7.2 beside backports' 10.0) counts too.
    if ! plan=$(apt-get install -s --no-install-recommends "${apt_target[@]}" "${need_apt[@]}" 2>&1); then
      echo "  unresolvable: $(grep '^E:' <<<"$plan" | head -1)"
      return
    fi
    changes=$(awk '
      /^Remv / { print "  remove " $2; next }
      /^Inst / && $3 ~ /^\[/ {
        old = substr($3, 2, length($3) - 2); new = substr($4, 2)
        print "  replace " $2 " " old " with " new
      }' <<<"$plan")
    while read -r verb pkg old _ new; do
      [ "$verb" = replace ] || continue
      if dpkg --compare-versions "$new" lt "$old"; then downgrades+="  downgrade $pkg $old -> $new"$'\n'; fi
    done <<<"$changes"
    printf '%s\n%s' "$(grep '^  remove ' <<<"$changes" || true)" "$downgrades" | sed '/^$/d'
  }
  bad=$(changes_of)
  # The machines of this project come with qemu-utils from bookworm-backports: take
  # qemu-system-arm from the same suite, which then fits it exactly.
  qemu_utils=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
  if [ -n "$bad" ] && [[ " ${need_apt[*]} " == *" qemu-"* ]] && [[ "$qemu_utils" == *bpo12* ]]; then
    echo "embedded-setup: qemu-utils $qemu_utils is from bookworm-backports; adding that suite to apt (sources.list.d/lstm-kernel-bookworm-backports.list) for QEMU"
    echo 'deb http://deb.debian.org/debian bookworm-backports main' |
      $SUDO tee /etc/apt/sources.list.d/lstm-kernel-bookworm-backports.list >/dev/null
    $SUDO apt-get update -qq
    apt_target=(-t bookworm-backports)
    need_apt=("${need_apt[@]/#qemu-system-misc/qemu-system-riscv}")
    bad=$(changes_of)
  fi
  if [ -n "$bad" ]; then
    echo "embedded-setup: apt-get would change installed packages; refusing:" >&2
    echo "$bad" >&2
    echo "Install ${need_apt[*]} in versions that fit what is installed (for QEMU: a" >&2
    echo "qemu-system-arm from the same source as your other qemu packages), or run" >&2
    echo "scripts/test.sh --no-embedded to skip the embedded (Cortex-M, RISC-V) and ARM64 checks." >&2
    exit 1
  fi
  echo "embedded-setup: apt-get install ${apt_target[*]} ${need_apt[*]} (removes and downgrades nothing)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_target[@]}" "${need_apt[@]}"
else
  echo "embedded-setup: qemu-system-arm, qemu-system-riscv32, qemu-aarch64, gcc, aarch64-linux-gnu-gcc and python3 present; nothing to install with apt"
fi
targets=(thumbv7em-none-eabihf thumbv6m-none-eabi thumbv8m.main-none-eabihf riscv32imc-unknown-none-elf aarch64-unknown-linux-gnu)
rustup target add "${targets[@]}"
rustup component add llvm-tools
if rustup toolchain list | grep -q '^nightly'; then
  rustup +nightly component add llvm-tools rust-src
  rustup +nightly target add thumbv7em-none-eabihf
else
  echo "embedded-setup: no nightly toolchain: the static stack figure (-Z emit-stack-sizes) will be skipped"
fi
echo "embedded-setup: done in $(( $(date +%s) - start )) s"
