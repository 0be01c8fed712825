//! lstm-harness binary (being written).
fn main() {}
