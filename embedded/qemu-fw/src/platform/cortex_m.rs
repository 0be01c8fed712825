//! Cortex-M (thumbv6m, thumbv7em, thumbv8m.main under QEMU's Arm machines): start-up by
//! cortex-m-rt (which paints the stack at reset, feature `paint-stack`), output and exit by
//! Arm semihosting, panics by panic-semihosting (message, then exit status 1).

use core::fmt;

pub use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
// The panic handler: prints the message through semihosting and exits with status 1.
extern crate panic_semihosting;

/// Writes one line to the host's stdout.
pub fn line(args: fmt::Arguments<'_>) {
    hprintln!("{}", args);
}

/// Ends the QEMU run with exit status 0 if `ok`, 1 otherwise (`SYS_EXIT`).
pub fn exit_status(ok: bool) -> ! {
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    #[allow(clippy::empty_loop)]
    loop {}
}

/// The current stack pointer (MSP: these firmwares run in thread mode on the main stack).
#[inline(always)]
pub fn stack_pointer() -> usize {
    cortex_m::register::msp::read() as usize
}

/// Defines the `HardFault` handler: print the faulting PC and exit with status 1 (the
/// default handler loops forever, which CI would only see as a timeout). Invoked once in
/// every firmware binary.
#[macro_export]
macro_rules! fault_handlers {
    () => {
        #[cortex_m_rt::exception]
        unsafe fn HardFault(ef: &cortex_m_rt::ExceptionFrame) -> ! {
            $crate::Semihosting.fault(format_args!("HardFault at pc={:#x}", ef.pc()))
        }
    };
}
