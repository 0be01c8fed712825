//! Selects the linker memory map: `FW_MEMORY=<name>` picks `memory/<name>.x` (default
//! `default` on Arm, `riscv-virt` on RISC-V), copied to OUT_DIR/memory.x, which the
//! runtime's `link.x` (cortex-m-rt or riscv-rt) includes. (Keep no `memory.x` in this
//! directory: the linker would find it first.)
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let default = if arch == "riscv32" {
        "riscv-virt"
    } else {
        "default"
    };
    let name = env::var("FW_MEMORY").unwrap_or_else(|_| default.into());
    // The RISC-V maps are named riscv-*; a map of the other architecture would only fail
    // later, in the linker, with a message about undefined memory regions.
    let riscv_map = name.starts_with("riscv");
    if riscv_map != (arch == "riscv32") {
        let maps: Vec<String> = fs::read_dir("memory")
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        panic!(
            "FW_MEMORY={name} is a memory map for {} but the target is {arch}; maps in memory/: {}",
            if riscv_map { "RISC-V" } else { "Cortex-M" },
            maps.join(", ")
        );
    }
    let src = format!("memory/{name}.x");
    fs::copy(&src, out.join("memory.x")).unwrap_or_else(|e| panic!("FW_MEMORY: {src}: {e}"));
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-env-changed=FW_MEMORY");
    println!("cargo:rerun-if-changed=memory");
}
