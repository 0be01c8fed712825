//! Which vector kernels this binary runs, and whether the CPU it runs on could run faster
//! ones: the line `--version`, `fit` and `experiments` print beside their timings (the
//! kernel picks its instructions at compile time, [`lstm_kernel::backend::VECTOR_ISA`]).

/// `kernels: <ISA>`, and for an x86-64 build below AVX2 + FMA on a CPU that has them, how
/// to build for it.
pub fn kernels_line() -> String {
    let isa = lstm_kernel::backend::VECTOR_ISA;
    let mut line = format!("kernels: {isa}");
    if faster_build_available(isa) {
        line.push_str(
            " (this CPU has AVX2 + FMA: a build with RUSTFLAGS=\"-C target-cpu=x86-64-v3\" \
             runs them)",
        );
    }
    line
}

/// Whether the CPU has AVX2 and FMA while this build uses less.
fn faster_build_available(isa: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        isa != "AVX2 + FMA"
            && isa != "scalar"
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = isa;
        false
    }
}

/// The `--version` text: the package version and [`kernels_line`].
pub fn version_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| format!("{}\n{}", env!("CARGO_PKG_VERSION"), kernels_line()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line names the compiled ISA, and suggests a rebuild only below AVX2 + FMA.
    #[test]
    fn the_line_names_the_compiled_kernels() {
        let line = kernels_line();
        assert!(
            line.starts_with(&format!("kernels: {}", lstm_kernel::backend::VECTOR_ISA)),
            "{line}"
        );
        if lstm_kernel::backend::VECTOR_ISA == "AVX2 + FMA" {
            assert!(!line.contains("RUSTFLAGS"), "{line}");
        }
        assert!(version_text().starts_with(env!("CARGO_PKG_VERSION")));
    }
}
