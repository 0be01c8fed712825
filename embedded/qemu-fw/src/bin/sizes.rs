//! The step at the README's three sizes, `(IN, H)` = (1, 10), (1, 32), (8, 64): f32 exact,
//! f32 fast and int8 (`fw_common::sizes`), every step between two instruction markers
//! (counted by scripts/embedded.sh with the QEMU plugin) and its outputs printed for the
//! comparison with the host (`host_sizes`), each step's stack painted, and the bytes of each
//! size's models and states (`measure bytes ...`). On a part with 16 KiB of RAM (built with
//! `FW_MEMORY=nrf51-16k`) only (1, 10) runs.
#![no_std]
#![no_main]

use fw_common::report::Sink;
use qemu_fw::entry;
use qemu_fw::{Semihosting, exit, insn_marker};

qemu_fw::fault_handlers!();

/// Wraps each step in a marker pair (the first pair, empty, is the overhead) after painting
/// the stack below it, and keeps the most stack a step used.
struct Markers {
    tag: u32,
    stack: usize,
}

impl fw_common::sizes::Probe for Markers {
    #[inline(always)]
    fn measure<T>(&mut self, step: impl FnOnce() -> T) -> T {
        let sp = qemu_fw::platform::stack_pointer();
        qemu_fw::paint_below_sp();
        insn_marker(self.tag);
        let y = step();
        insn_marker(self.tag + 1);
        self.tag += 2;
        self.stack = self.stack.max(qemu_fw::stack_used_below(sp));
        core::hint::black_box(y)
    }

    fn take_stack(&mut self) -> Option<usize> {
        Some(core::mem::take(&mut self.stack))
    }
}

/// `measure bytes <size> f32 model <B> state <B> int8 model <B> state <B>`: what one size's
/// weights (f32 [`lstm_kernel::LstmModel`], int8 [`Quantized`]) and stream state take.
fn bytes_line<const IN: usize, const H: usize>(out: &mut Semihosting, name: &str) {
    use core::mem::size_of;
    out.line(format_args!(
        "measure bytes {name} f32 model {} state {} int8 model {} state {}",
        size_of::<lstm_kernel::LstmModel<IN, H, 1>>(),
        size_of::<lstm_kernel::LstmState<H>>(),
        size_of::<fw_common::sizes::Quantized<IN, H>>(),
        size_of::<lstm_kernel::quant::QLstmState<H>>(),
    ));
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
    let large_sizes = large.is_some();
    let mut markers = Markers { tag: 2, stack: 0 };
    let ok = fw_common::sizes::report(&mut Semihosting, &mut markers, Storage { q1x10, large });
    bytes_line::<1, 10>(&mut Semihosting, "1x10");
    if large_sizes {
        bytes_line::<1, 32>(&mut Semihosting, "1x32");
        bytes_line::<8, 64>(&mut Semihosting, "8x64");
    }
    exit(ok)
}
