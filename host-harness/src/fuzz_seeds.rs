//! The seeds of the fuzz targets (host-harness/fuzz/corpus/<target>/seed-*) and random
//! edits of them, for the unit tests that check the fuzz targets' claims as proptests (so
//! they run on stable, in every `cargo test`; `scripts/fuzz.sh` runs them under libFuzzer).

/// The seed files of fuzz target `target`, sorted by content.
pub(crate) fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .expect("the seed corpus")
        .map(|e| std::fs::read(e.expect("an entry").path()).expect("a seed"))
        .collect();
    out.sort();
    out
}

/// A seed with `edits` applied: (position, byte, kind) with kind 0 overwrite, 1 insert,
/// 2 delete, then cut to `keep` bytes.
pub(crate) fn mutate(mut b: Vec<u8>, edits: &[(usize, u8, u8)], keep: usize) -> Vec<u8> {
    for &(at, byte, kind) in edits {
        let at = if b.is_empty() { 0 } else { at % b.len() };
        match kind % 3 {
            0 if !b.is_empty() => b[at] = byte,
            1 => b.insert(at, byte),
            _ if !b.is_empty() => {
                b.remove(at);
            }
            _ => {}
        }
    }
    b.truncate(keep);
    b
}
