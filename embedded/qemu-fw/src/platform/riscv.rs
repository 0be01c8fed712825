//! RISC-V (riscv32imc-unknown-none-elf, the ESP32-C3 class: no FPU, no atomics) under QEMU's
//! `virt` machine, started with `-bios none` in machine mode: start-up by riscv-rt
//! (single hart), output and exit by RISC-V semihosting (the Arm semihosting calls behind
//! the `slli; ebreak; srai` sequence), panics and exceptions print and exit with status 1.
//! riscv-rt does not paint the stack: [`__pre_init`] does, before RAM is initialised, so
//! the whole-program stack figure means what it means on Cortex-M.

use core::fmt;

pub use riscv_rt::entry;
use riscv_semihosting::{debug, hprintln};

/// Writes one line to the host's stdout.
pub fn line(args: fmt::Arguments<'_>) {
    hprintln!("{}", args);
}

/// Ends the QEMU run with exit status 0 if `ok`, 1 otherwise (`SYS_EXIT`: QEMU maps
/// `ADP_Stopped_ApplicationExit` to 0 and every other reason to 1).
pub fn exit_status(ok: bool) -> ! {
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    #[allow(clippy::empty_loop)]
    loop {}
}

/// The current stack pointer (`sp`, x2).
#[inline(always)]
pub fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads a register; no memory access, no side effect.
    unsafe {
        core::arch::asm!("mv {0}, sp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    sp
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    crate::Semihosting.fault(format_args!("{info}"))
}

/// riscv-rt's `pre-init` hook, called on the initial stack before `.data` and `.bss` are
/// set up: paints the stack region below its own frame with [`crate::PAINT`] (the
/// counterpart of cortex-m-rt's `paint-stack`). Touches no static.
///
/// # Safety
/// Called once by riscv-rt's start-up code, before anything else uses the stack below it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __pre_init() {
    crate::paint_below_sp();
}

/// Defines riscv-rt's `ExceptionHandler`: print the cause and faulting PC and exit with
/// status 1 (riscv-rt's default loops forever, which CI would only see as a timeout).
/// Invoked once in every firmware binary.
#[macro_export]
macro_rules! fault_handlers {
    () => {
        #[unsafe(export_name = "ExceptionHandler")]
        fn exception_handler(_frame: &riscv_rt::TrapFrame) -> ! {
            $crate::Semihosting.fault(format_args!(
                "exception mcause={:#x} at mepc={:#x}",
                riscv::register::mcause::read().bits(),
                riscv::register::mepc::read()
            ))
        }
    };
}
