//! Shared firmware pieces: semihosting output and exit codes, the instruction-count marker,
//! and stack painting for the measured stack figures. The same firmware binaries build for
//! Cortex-M and for RISC-V: what differs (start-up, semihosting, stack pointer, fault and
//! panic handlers) is in one [`platform`] module per architecture; everything else is
//! shared.
#![no_std]

use core::fmt;

/// The architecture's start-up, output, exit and fault handling.
#[cfg_attr(target_arch = "arm", path = "platform/cortex_m.rs")]
#[cfg_attr(target_arch = "riscv32", path = "platform/riscv.rs")]
pub mod platform;

pub use platform::entry;

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
        platform::line(args);
    }
}

impl Semihosting {
    /// Reports a fault or panic (`args`, then `RESULT FAIL`) and exits with status 1.
    pub fn fault(self, args: fmt::Arguments<'_>) -> ! {
        platform::line(args);
        exit(false)
    }
}

/// Ends the QEMU run: exit status 0 if `ok`, 1 otherwise (semihosting `SYS_EXIT`).
pub fn exit(ok: bool) -> ! {
    platform::line(format_args!(
        "{}",
        if ok { "RESULT PASS" } else { "RESULT FAIL" }
    ));
    platform::exit_status(ok)
}

unsafe extern "C" {
    /// Lowest address of the stack region (cortex-m-rt's `link.x`; on RISC-V the firmware's
    /// `memory/riscv-virt.x`).
    static _stack_end: u32;
    /// Initial stack pointer (top of the stack region; both runtimes' linker scripts).
    static _stack_start: u32;
}

/// The value the stack is painted with at reset (cortex-m-rt's `paint-stack`; on RISC-V
/// `platform::__pre_init`), and [`paint_below_sp`] rewrites.
pub const PAINT: u32 = 0xCCCC_CCCC;

/// Repaints every stack word from the bottom of the stack region up to (excluding) the
/// current stack pointer. Inlined into the caller, so it writes only below the caller's
/// frame; nothing else runs (no interrupts are enabled), so those words are free.
#[inline(always)]
pub fn paint_below_sp() {
    let sp = platform::stack_pointer();
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
    let sp = platform::stack_pointer();
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
    count_steps_with(variants, &model_for, xs);
}

/// The model type of the firmware's post's-model variants: layers `R`, one input, `H`
/// hidden units at the top, one logit.
pub type FwModel<R> =
    lstm_kernel::Model<R, { fw_common::IN }, { fw_common::H }, { fw_common::OUT }>;

/// One measured variant of a firmware: `(name, uses fast maths, step)`.
pub type Variant<M, S> = (&'static str, bool, Step<M, S>);

/// The body of an inference firmware for a model on layers `R` embedded in flash (`model`,
/// and `fast`, its copy with `Maths::Fast`), with `bin` its binary model file and `val_x`,
/// `val_y` the host's validation sequences: measures one step's stack and instructions per
/// variant, checks that a run-time import of `bin` into RAM is `model` bit for bit
/// (`check <tag> model runtime-import equal`), prints every sequence's logits and the
/// accuracy as `<tag> <variant> ...` lines (CI compares them with `host_ref`), then the
/// stack and state measurements; exits with status 0 only if everything passed and each
/// variant's per-step accuracy is at least 0.99 (the harness's bar).
pub fn inference_firmware<R>(
    tag: &str,
    model: &'static FwModel<R>,
    fast: &'static FwModel<R>,
    bin: &[u8],
    val_x: &[[[f32; fw_common::IN]; fw_common::task::STEPS]],
    val_y: &[f32],
    variants: &[Variant<FwModel<R>, R::State>],
) -> !
where
    R: lstm_kernel::Recurrent<{ fw_common::IN }, { fw_common::H }, f32> + Default,
{
    use core::hint::black_box;
    use fw_common::report::{Sink, validation_report};
    let mut out = Semihosting;
    // `count_steps` takes a function pointer: the two models go through statics of this
    // monomorphisation.
    let model_for = |f: bool| black_box(if f { fast } else { model });
    let mut stacks = [0usize; 4];
    for (s, &(_, f, step)) in stacks.iter_mut().zip(variants) {
        *s = step_stack(model_for(f), &val_x[0][0], step);
    }
    count_steps_with(variants, &model_for, &val_x[0]);

    let mut runtime: FwModel<R> =
        lstm_kernel::Model::new(R::default(), lstm_kernel::Dense::zeroed());
    let imported = lstm_kernel::io::decode_into(black_box(bin), &mut runtime);
    let runtime_eq = imported.is_ok() && fw_common::same_bits(&runtime, model);
    let mut ok = runtime_eq;
    out.line(format_args!(
        "check {tag} model runtime-import {}",
        match imported {
            Ok(()) if runtime_eq => "equal",
            Ok(()) => "DIFFERENT",
            Err(_) => "FAILED",
        }
    ));
    let mut tag_buf: heapless::String<32> = heapless::String::new();
    for &(name, f, step) in variants {
        let m = model_for(f);
        tag_buf.clear();
        let _ = fmt::Write::write_fmt(&mut tag_buf, format_args!("{tag} {name}"));
        let acc = validation_report(&mut out, &tag_buf, val_x, val_y, |x, s| step(m, x, s));
        ok &= acc.per_step() >= 0.99;
    }
    for (&(name, _, _), s) in variants.iter().zip(stacks) {
        out.line(format_args!("measure stack step {name} {s}"));
    }
    out.line(format_args!(
        "measure bytes state {} model {}",
        core::mem::size_of::<R::State>(),
        core::mem::size_of::<FwModel<R>>()
    ));
    out.line(format_args!(
        "measure stack whole-program {}",
        stack_top() - stack_low_water()
    ));
    exit(ok)
}

/// [`count_steps`] with the models given by a closure.
fn count_steps_with<M, S: lstm_kernel::StreamState>(
    variants: &[(&str, bool, Step<M, S>)],
    model_for: &dyn Fn(bool) -> &'static M,
    xs: &[[f32; fw_common::IN]],
) where
    M: 'static,
{
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

/// The body of a training firmware for the trainer `T` (the `stateful-per-step` experiment
/// on the device: fw-common's `learn_on_device`), printing `<tag> ...` lines (CI compares
/// them with `host_train`): first one per-step training update (window 1, as trained here)
/// and one window-20 update (full BPTT) are measured for stack and instructions, then the
/// run, then the measurements. Exits with status 0 only if training succeeded with
/// validation accuracy at least 0.99 (the bar).
pub fn training_firmware<T: fw_common::train::DeviceTraining>(tag: &str, force_fail: bool) -> ! {
    use core::hint::black_box;
    use fw_common::report::Sink;
    use fw_common::task::{STEPS, input};
    use fw_common::train::DEVICE_SEED;
    use lstm_kernel::{StreamState, Tape};
    let mut out = Semihosting;
    let mut ok = true;

    // Measurements first, on the trainer the real run below resets to its initial state.
    let mut scratch = T::keras_init(DEVICE_SEED);
    let mut state = T::State::zeroed();
    let sp = platform::stack_pointer();
    paint_below_sp();
    ok &= scratch
        .step(black_box(&input(1.0, 0)), 1.0, &mut state)
        .is_ok();
    let stack_t1 = stack_used_below(sp);
    let mut tape20 = Tape::<STEPS, T::Record>::new();
    let xs: [[f32; fw_common::IN]; STEPS] = core::array::from_fn(|t| input(1.0, t));
    paint_below_sp();
    ok &= scratch.window(&mut tape20, black_box(&xs), 1.0).is_ok();
    let stack_t20 = stack_used_below(sp);
    // Instructions: empty pair (overhead), 20 per-step updates (one sequence), 1 window-20 update.
    insn_marker(0);
    insn_marker(1);
    state = T::State::zeroed();
    let mut marker = 2;
    for t in 0..STEPS {
        insn_marker(marker);
        ok &= scratch
            .step(black_box(&input(0.0, t)), 0.0, &mut state)
            .is_ok();
        insn_marker(marker + 1);
        marker += 2;
    }
    insn_marker(marker);
    ok &= scratch.window(&mut tape20, black_box(&xs), 1.0).is_ok();
    insn_marker(marker + 1);

    match scratch.learn(DEVICE_SEED, 1000, 200) {
        Ok(o) => {
            ok &= scratch.report(&mut out, tag, &o).is_some();
            ok &= o.val.per_step() >= 0.99;
        }
        Err(e) => {
            out.line(format_args!("{tag} failed: {e}"));
            ok = false;
        }
    }
    out.line(format_args!("measure stack train-step T=1 {stack_t1}"));
    out.line(format_args!("measure stack train-step T=20 {stack_t20}"));
    out.line(format_args!(
        "measure bytes trainer {} tape T=1 {} tape T=20 {}",
        core::mem::size_of::<T>(),
        core::mem::size_of::<Tape<1, T::Record>>(),
        core::mem::size_of::<Tape<STEPS, T::Record>>()
    ));
    out.line(format_args!(
        "measure stack whole-program {}",
        stack_top() - stack_low_water()
    ));
    exit(ok && !force_fail)
}
