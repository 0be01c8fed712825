//! Sets `cfg(lstm_arm_dsp)` where the Armv7E-M / Armv8-M DSP extension's `SMLAD` and
//! `SXTB16` can be used by the integer dot product (`src/quant/dot.rs`): every `thumbv7em`
//! target (Cortex-M4, M7: the extension is part of v7E-M), and a `thumbv8m.main` target with
//! the `arm-dsp` feature (Cortex-M33/M35P built with it, M55, M85; on v8-M Mainline it is
//! optional, so it is the user's call). Stable Rust has no `target_feature = "dsp"` cfg.
//!
//! Sets `cfg(lstm_int8_simd)` where `wide` has integer vector lanes (x86, x86-64, AArch64,
//! wasm32): the int8 dot product (`src/quant/dot.rs`) then runs sixteen products per
//! `i16x16` multiply-add there; on other targets without the DSP extension (Cortex-M0,
//! RISC-V `imc`) it keeps the pair form's portable twin, which their compilers turn into
//! fewer instructions than the plain loop.
fn main() {
    println!("cargo:rustc-check-cfg=cfg(lstm_arm_dsp)");
    println!("cargo:rustc-check-cfg=cfg(lstm_int8_simd)");
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let feature = std::env::var_os("CARGO_FEATURE_ARM_DSP").is_some();
    let v7em = target.starts_with("thumbv7em");
    let v8main = target.starts_with("thumbv8m.main");
    if v7em || (v8main && feature) {
        println!("cargo:rustc-cfg=lstm_arm_dsp");
    }
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if matches!(arch.as_str(), "x86" | "x86_64" | "aarch64" | "wasm32") {
        println!("cargo:rustc-cfg=lstm_int8_simd");
    }
}
