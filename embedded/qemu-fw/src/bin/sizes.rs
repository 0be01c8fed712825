//! The step at the README's three sizes, `(IN, H)` = (1, 10), (1, 32), (8, 64): f32 exact,
//! f32 fast and int8 (`fw_common::sizes`), every step between two instruction markers
//! (counted by scripts/embedded.sh with the QEMU plugin) and its outputs printed for the
//! comparison with the host (`host_sizes`). On a part with 16 KiB of RAM (built with
//! `FW_MEMORY=nrf51-16k`) only (1, 10) runs.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use panic_semihosting as _;
use qemu_fw::{Semihosting, exit, insn_marker};

qemu_fw::fault_handlers!();

/// Wraps each step in a marker pair; the first pair (empty) is the overhead.
struct Markers(u32);

impl fw_common::sizes::Probe for Markers {
    fn measure<T>(&mut self, step: impl FnOnce() -> T) -> T {
        insn_marker(self.0);
        let y = step();
        insn_marker(self.0 + 1);
        self.0 += 2;
        core::hint::black_box(y)
    }
}

/// The one mutable borrow of a `static mut`.
///
/// # Safety
/// `p` points to a static that nothing else borrows for `'static`.
unsafe fn once<T>(p: *mut T) -> &'static mut T {
    // SAFETY: the caller's promise.
    unsafe { &mut *p }
}

#[entry]
fn main() -> ! {
    insn_marker(0);
    insn_marker(1);
    use fw_common::sizes::{Quantized, Storage, zeroed};
    // In RAM from reset (const-initialised statics), quantized into in place: a
    // run-time initialiser would build the 25 KB (8, 64) model on the stack first.
    static mut Q1X10: Quantized<1, 10> = zeroed();
    // SAFETY: `main` runs once and never returns, nothing else (no interrupt handler)
    // touches these statics, so each is borrowed mutably exactly once.
    let q1x10 = unsafe { once(&raw mut Q1X10) };
    #[cfg(feature = "small-ram")]
    let large = None;
    #[cfg(not(feature = "small-ram"))]
    let large = {
        static mut Q1X32: Quantized<1, 32> = zeroed();
        static mut Q8X64: Quantized<8, 64> = zeroed();
        // SAFETY: as above.
        Some(unsafe { (once(&raw mut Q1X32), once(&raw mut Q8X64)) })
    };
    let ok = fw_common::sizes::report(&mut Semihosting, &mut Markers(2), Storage { q1x10, large });
    exit(ok)
}
