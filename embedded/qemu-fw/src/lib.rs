//! Shared firmware pieces: semihosting output and exit codes, the instruction-count marker,
//! and stack painting for the measured stack figures.
#![no_std]

use core::fmt;

use cortex_m_semihosting::{debug, hprintln};

/// Called (by address) around measured code: the QEMU TCG plugin
/// (`embedded/tools/insncount.c`) prints the guest instructions executed between two
/// consecutive calls. `tag` only keeps the calls distinct.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn insn_marker(tag: u32) {
    core::hint::black_box(tag);
}

/// Report lines go to the host's stdout through semihosting.
#[derive(Clone, Copy, Debug, Default)]
pub struct Semihosting;

impl fw_common::report::Sink for Semihosting {
    fn line(&mut self, args: fmt::Arguments<'_>) {
        hprintln!("{}", args);
    }
}

/// Ends the QEMU run: exit status 0 if `ok`, 1 otherwise (semihosting `SYS_EXIT`).
pub fn exit(ok: bool) -> ! {
    hprintln!("{}", if ok { "RESULT PASS" } else { "RESULT FAIL" });
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    #[allow(clippy::empty_loop)]
    loop {}
}

unsafe extern "C" {
    /// Lowest address of the stack region (cortex-m-rt's `link.x`).
    static _stack_end: u32;
    /// Initial stack pointer (top of the stack region).
    static _stack_start: u32;
}

/// The value cortex-m-rt's `paint-stack` writes at reset, and [`paint_below_sp`] rewrites.
pub const PAINT: u32 = 0xCCCC_CCCC;

/// Repaints every stack word from the bottom of the stack region up to (excluding) the
/// current stack pointer. Inlined into the caller, so it writes only below the caller's
/// frame; nothing else runs (no interrupts are enabled), so those words are free.
#[inline(always)]
pub fn paint_below_sp() {
    let sp = cortex_m::register::msp::read() as usize;
    let mut p = &raw const _stack_end as usize;
    while p + 4 <= sp {
        // SAFETY: p is a word-aligned address inside the stack region and below SP, which
        // no live frame uses (see above).
        unsafe { (p as *mut u32).write_volatile(PAINT) };
        p += 4;
    }
}

/// The lowest stack address written since the last paint: the first word above the
/// region's bottom that no longer holds [`PAINT`].
pub fn stack_low_water() -> usize {
    let mut p = &raw const _stack_end as usize;
    let top = &raw const _stack_start as usize;
    // SAFETY: reads of word-aligned addresses inside the stack region.
    while p < top && unsafe { (p as *const u32).read_volatile() } == PAINT {
        p += 4;
    }
    p
}

/// Bytes of stack used below `sp_before` since the last paint (a lower bound of the true
/// use: a reserved word that was never written still holds the paint).
pub fn stack_used_below(sp_before: usize) -> usize {
    sp_before.saturating_sub(stack_low_water())
}

/// Top of the stack region (the initial SP).
pub fn stack_top() -> usize {
    &raw const _stack_start as usize
}

/// A streaming step of some model with state `S`: `(model, x_t, state) -> logits`.
pub type Step<M, S> = fn(&M, &[f32; fw_common::IN], &mut S) -> [f32; fw_common::OUT];

/// Stack bytes one call of `step` uses from the zero state (painted; call before anything is
/// printed). Inlined so the painting stops below the caller's frame.
#[inline(always)]
pub fn step_stack<M, S: lstm_kernel::StreamState>(
    model: &M,
    x: &[f32; fw_common::IN],
    step: Step<M, S>,
) -> usize {
    let sp = cortex_m::register::msp::read() as usize;
    paint_below_sp();
    let mut state = S::zeroed();
    core::hint::black_box(step(model, core::hint::black_box(x), &mut state));
    core::hint::black_box(&state);
    stack_used_below(sp)
}

/// The instruction-count markers of a firmware (the QEMU plugin reports the instructions
/// between consecutive marker calls): one empty pair (the marker overhead), then for each
/// `(name, fast, step)` of `variants`, each step of `xs` from the zero state between its own
/// pair, on `model_for(fast)`.
pub fn count_steps<M: 'static, S: lstm_kernel::StreamState>(
    variants: &[(&str, bool, Step<M, S>)],
    model_for: fn(bool) -> &'static M,
    xs: &[[f32; fw_common::IN]],
) {
    insn_marker(0);
    insn_marker(1);
    let mut tag = 2;
    for &(_, fast, step) in variants {
        let model = model_for(fast);
        let mut state = S::zeroed();
        for x in xs {
            insn_marker(tag);
            core::hint::black_box(step(model, core::hint::black_box(x), &mut state));
            insn_marker(tag + 1);
            tag += 2;
        }
    }
}

/// Defines the `HardFault` handler: print the faulting PC and exit with status 1 (the
/// default handler loops forever, which CI would only see as a timeout).
#[macro_export]
macro_rules! fault_handlers {
    () => {
        #[cortex_m_rt::exception]
        unsafe fn HardFault(ef: &cortex_m_rt::ExceptionFrame) -> ! {
            cortex_m_semihosting::hprintln!("HardFault at pc={:#x}", ef.pc());
            $crate::exit(false)
        }
    };
}
