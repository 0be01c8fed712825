//! The Armv7E-M / Armv8-M DSP-extension instructions the integer step is built from, each
//! with its portable twin (the same integer function in plain Rust): [`smlad`], [`sxtb16`]
//! and [`smmulr`]; and the dot-product loops over two and four rows, `dot2_pairs` and
//! `dot4_pairs` (DSP cores only: their twins are the Rust loops in [`super::dot::dot2`] and
//! [`super::dot::dot4`], which compute the same sums). On `cfg(lstm_arm_dsp)` (set by `build.rs`: every `thumbv7em` target,
//! `thumbv8m.main` with the `arm-dsp` feature) they are one instruction each, in inline
//! assembly; elsewhere the twin runs. The twins are tested against plain arithmetic here and
//! every firmware's int8 outputs are compared with the host's bit for bit
//! (scripts/embedded.sh), so both forms compute the same bits.

// The only `unsafe` in the workspace (its lints deny it elsewhere): `asm!` for the three
// instructions, which stable Rust offers no other way to emit.
#![allow(unsafe_code)]

/// `SMLAD acc, a, b`: `acc + a.lo · b.lo + a.hi · b.hi` over signed halfwords, wrapping
/// (the instruction and the twin give the same bits; on overflow the instruction also sets
/// the sticky Q flag, which nothing here reads). The kernel's callers keep the sum within
/// `i32` (the dot product's bound).
#[inline(always)]
pub fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    #[cfg(lstm_arm_dsp)]
    {
        let r: i32;
        // SAFETY: SMLAD reads three registers and writes one, no memory. It may set the Q
        // flag (on overflow, for any caller's inputs), so the block does not promise
        // `preserves_flags`.
        unsafe {
            core::arch::asm!(
                "smlad {r}, {a}, {b}, {acc}",
                r = lateout(reg) r,
                a = in(reg) a,
                b = in(reg) b,
                acc = in(reg) acc,
                options(pure, nomem, nostack)
            );
        }
        r
    }
    #[cfg(not(lstm_arm_dsp))]
    {
        let lo = (a as i16 as i32) * (b as i16 as i32);
        let hi = ((a >> 16) as i16 as i32) * ((b >> 16) as i16 as i32);
        acc.wrapping_add(lo).wrapping_add(hi)
    }
}

/// `SXTB16 a` (`ROR = false`) or `SXTB16 a, ROR #8`: bytes 0 and 2 (or 1 and 3) of `a`,
/// sign-extended into the low and high halfwords.
#[inline(always)]
pub fn sxtb16<const ROR: bool>(a: u32) -> u32 {
    #[cfg(lstm_arm_dsp)]
    {
        let r: u32;
        // SAFETY: SXTB16 reads one register and writes one; no memory, no flags.
        unsafe {
            if ROR {
                core::arch::asm!("sxtb16 {r}, {a}, ror #8", r = lateout(reg) r, a = in(reg) a,
                    options(pure, nomem, nostack, preserves_flags));
            } else {
                core::arch::asm!("sxtb16 {r}, {a}", r = lateout(reg) r, a = in(reg) a,
                    options(pure, nomem, nostack, preserves_flags));
            }
        }
        r
    }
    #[cfg(not(lstm_arm_dsp))]
    {
        let a = if ROR { a.rotate_right(8) } else { a };
        let lo = a as u8 as i8 as i16 as u16 as u32;
        let hi = (a >> 16) as u8 as i8 as i16 as u16 as u32;
        lo | (hi << 16)
    }
}

/// `SMMULR a, b`: the high word of the 64-bit product `a · b`, rounded half up:
/// `(a · b + 2^31) >> 32` (exact for every pair of `i32`: the result fits).
#[inline(always)]
pub fn smmulr(a: i32, b: i32) -> i32 {
    #[cfg(lstm_arm_dsp)]
    {
        let r: i32;
        // SAFETY: SMMULR reads two registers and writes one; no memory, no flags.
        unsafe {
            core::arch::asm!(
                "smmulr {r}, {a}, {b}",
                r = lateout(reg) r,
                a = in(reg) a,
                b = in(reg) b,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        r
    }
    #[cfg(not(lstm_arm_dsp))]
    {
        ((a as i64 * b as i64 + (1i64 << 31)) >> 32) as i32
    }
}

/// `(Σ w0[k] x[k], Σ w1[k] x[k])` over the first `8 · pairs` inputs, `pairs = min(len) / 8`:
/// two int8 weight rows against one int16 input vector (in the lane order of
/// [`super::dot`]), as one loop of Thumb-2 DSP instructions: per 8 inputs, two `LDRD` of
/// lanes, four weight loads, eight `SXTB16`, eight `SMLAD` and the loop's two (1.5
/// instructions per multiply-accumulate; the optimiser's own loop took 2.1). Returns the
/// sums and the inputs done (`8 · pairs`), or `None` if `x` is not 4-byte aligned (`LDRD`
/// needs it; [`super::dot::Lanes`] always is, so the check folds away). Only on
/// `cfg(lstm_arm_dsp)`; [`super::dot::dot2`] finishes the rest in Rust. The caller keeps
/// each sum within `i32` (the dot product's bound: at most 256 inputs).
#[cfg(lstm_arm_dsp)]
#[inline(always)]
pub fn dot2_pairs(w0: &[i8], w1: &[i8], x: &[i16]) -> Option<((i32, i32), usize)> {
    let pairs = w0.len().min(w1.len()).min(x.len()) / 8;
    if x.as_ptr() as usize % 4 != 0 {
        return None;
    }
    if pairs == 0 {
        return Some(((0, 0), 0));
    }
    let (mut a0, mut a1) = (0i32, 0i32);
    // SAFETY: the loop runs `pairs >= 1` times and reads 8 · pairs bytes of each row and
    // 8 · pairs lanes (16 · pairs bytes) of `x`, all inside the slices (`pairs` is their
    // shortest length / 8); `x` is 4-byte aligned (checked), as `LDRD` needs; the weight
    // `LDR`s may be unaligned (a row starts at any byte), which Armv7-M and Armv8-M allow
    // unless `CCR.UNALIGN_TRP` is set (it is clear at reset; the compiler assumes the same
    // for this target's own code), at a cycle's cost on hardware; no store; the flags are
    // clobbered (no `preserves_flags`).
    unsafe {
        core::arch::asm!(
            "2:",
            "ldrd {lo}, {hi}, [{x}], #8",
            "ldr {v}, [{p0}], #4",
            "sxtb16 {t}, {v}",
            "smlad {a0}, {t}, {lo}, {a0}",
            "sxtb16 {t}, {v}, ror #8",
            "smlad {a0}, {t}, {hi}, {a0}",
            "ldr {v}, [{p1}], #4",
            "sxtb16 {t}, {v}",
            "smlad {a1}, {t}, {lo}, {a1}",
            "sxtb16 {t}, {v}, ror #8",
            "smlad {a1}, {t}, {hi}, {a1}",
            "ldrd {lo}, {hi}, [{x}], #8",
            "ldr {v}, [{p0}], #4",
            "sxtb16 {t}, {v}",
            "smlad {a0}, {t}, {lo}, {a0}",
            "sxtb16 {t}, {v}, ror #8",
            "smlad {a0}, {t}, {hi}, {a0}",
            "ldr {v}, [{p1}], #4",
            "sxtb16 {t}, {v}",
            "smlad {a1}, {t}, {lo}, {a1}",
            "sxtb16 {t}, {v}, ror #8",
            "smlad {a1}, {t}, {hi}, {a1}",
            "subs {n}, {n}, #1",
            "bne 2b",
            p0 = inout(reg) w0.as_ptr() => _,
            p1 = inout(reg) w1.as_ptr() => _,
            x = inout(reg) x.as_ptr() => _,
            n = inout(reg) pairs => _,
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            lo = out(reg) _,
            hi = out(reg) _,
            v = out(reg) _,
            t = out(reg) _,
            options(readonly, nostack)
        );
    }
    Some(((a0, a1), 8 * pairs))
}

/// The sums of four consecutive rows of `K` weights (`w[r]` at byte offset `r · K` from
/// `w[0]`, as a `[[i8; K]; H]` lays them out) against one input vector, over the first
/// `8 · (K / 8)` inputs, in one loop: per 8 inputs two `LDRD` of lanes, eight weight loads
/// (three at constant offsets `K`, `2K`, `3K` from one pointer), sixteen `SXTB16`, sixteen
/// `SMLAD` and the loop's two (1.375 instructions per multiply-accumulate). Returns the
/// four sums and the inputs done, or `None` if `x` is not 4-byte aligned (see
/// [`dot2_pairs`]). Only on `cfg(lstm_arm_dsp)`; [`super::dot::dot4`] finishes in Rust.
/// The caller keeps the sums within `i32` (the dot product's bound, `K <= 256`).
#[cfg(lstm_arm_dsp)]
#[inline(always)]
pub fn dot4_pairs<const K: usize>(w: &[[i8; K]; 4], x: &[i16; K]) -> Option<([i32; 4], usize)> {
    // `3K` is an `LDR` immediate offset (at most 4095); the sums' bound is the caller's.
    const {
        assert!(
            3 * K <= 4095,
            "dot4_pairs: rows too long for the load offsets"
        )
    };
    let pairs = K / 8;
    if x.as_ptr() as usize % 4 != 0 {
        return None;
    }
    if pairs == 0 {
        return Some(([0; 4], 0));
    }
    let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
    // SAFETY: the loop runs `pairs >= 1` times; each pass reads 16 bytes of lanes from `x`
    // and 8 bytes of each row at `p + r K` (r = 1, 2, 3, then row 0 with the post-increment),
    // `p` advancing 8 bytes: all inside `w` (4 K bytes, contiguous) and `x` (2 K bytes), as
    // 8 · pairs <= K; `x` is 4-byte aligned (checked), as `LDRD` needs; the weight `LDR`s
    // may be unaligned (rows start at any byte; allowed with `CCR.UNALIGN_TRP` clear, as at
    // reset); no store; the flags are clobbered (no `preserves_flags`).
    unsafe {
        core::arch::asm!(
            "2:",
            "ldrd {lo}, {hi}, [{x}], #8",
            "ldr {v}, [{p}, #{k1}]",
            "sxtb16 {t}, {v}",
            "smlad {a1}, {t}, {lo}, {a1}",
            "sxtb16 {t}, {v}, ror #8",
            "smlad {a1}, {t}, {hi}, {a1}",
            "ldr {v}, [{p}, #{k2}]",
            "sxtb16 {t}, {v}",
            "smlad {a2}, {t}, {lo}, {a2}",
            "sxtb16 {t}, {v}, ror #8",
            "smlad {a2}, {t}, {hi}, {a2}",
            "ldr {v}, [{p}, #{k3}]",
            "sxtb16 {t}, {v}",
            "smlad {a3}, {t}, {lo}, {a3}",
            "sxtb16 {t}, {v}, ror #8",
            "smlad {a3}, {t}, {hi}, {a3}",
            "ldr {v}, [{p}], #4",
            "sxtb16 {t}, {v}",
            "smlad {a0}, {t}, {lo}, {a0}",
            "sxtb16 {t}, {v}, ror #8",
            "smlad {a0}, {t}, {hi}, {a0}",
            "ldrd {lo}, {hi}, [{x}], #8",
            "ldr {v}, [{p}, #{k1}]",
            "sxtb16 {t}, {v}",
            "smlad {a1}, {t}, {lo}, {a1}",
            "sxtb16 {t}, {v}, ror #8",
            "smlad {a1}, {t}, {hi}, {a1}",
            "ldr {v}, [{p}, #{k2}]",
            "sxtb16 {t}, {v}",
            "smlad {a2}, {t}, {lo}, {a2}",
            "sxtb16 {t}, {v}, ror #8",
            "smlad {a2}, {t}, {hi}, {a2}",
            "ldr {v}, [{p}, #{k3}]",
            "sxtb16 {t}, {v}",
            "smlad {a3}, {t}, {lo}, {a3}",
            "sxtb16 {t}, {v}, ror #8",
            "smlad {a3}, {t}, {hi}, {a3}",
            "ldr {v}, [{p}], #4",
            "sxtb16 {t}, {v}",
            "smlad {a0}, {t}, {lo}, {a0}",
            "sxtb16 {t}, {v}, ror #8",
            "smlad {a0}, {t}, {hi}, {a0}",
            "subs {n}, {n}, #1",
            "bne 2b",
            k1 = const K,
            k2 = const 2 * K,
            k3 = const 3 * K,
            p = inout(reg) w.as_ptr() => _,
            x = inout(reg) x.as_ptr() => _,
            n = inout(reg) pairs => _,
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            lo = out(reg) _,
            hi = out(reg) _,
            v = out(reg) _,
            t = out(reg) _,
            options(readonly, nostack)
        );
    }
    Some(([a0, a1, a2, a3], 8 * pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> impl Iterator<Item = i32> {
        let mut s = 0x2545_F491u32;
        let edges = [
            0,
            1,
            -1,
            2,
            -2,
            i32::MAX,
            i32::MIN,
            i32::MAX - 1,
            i32::MIN + 1,
            1 << 30,
        ];
        // Fewer random draws under Miri (it interprets each multiply); the edges always.
        let draws = if cfg!(miri) { 20 } else { 400 };
        edges.into_iter().chain((0..draws).map(move |_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s as i32
        }))
    }

    #[test]
    fn smmulr_is_the_rounded_high_word() {
        for a in samples() {
            for b in samples().take(60) {
                let want = ((a as i128 * b as i128 + (1i128 << 31)) >> 32) as i32;
                assert_eq!(smmulr(a, b), want, "{a} * {b}");
            }
        }
    }

    #[test]
    fn smlad_and_sxtb16_follow_their_definitions() {
        for a in samples() {
            let a = a as u32;
            let b = [a.rotate_left(7), a ^ 0x8000_8000, 0x7FFF_8000];
            for b in b {
                let (alo, ahi) = ((a as u16 as i16) as i32, ((a >> 16) as u16 as i16) as i32);
                let (blo, bhi) = ((b as u16 as i16) as i32, ((b >> 16) as u16 as i16) as i32);
                // Halfword products summed with a small accumulator cannot overflow.
                assert_eq!(smlad(a, b, 5), 5 + alo * blo + ahi * bhi);
            }
            let bytes = a.to_le_bytes().map(|x| x as i8 as i16 as u16 as u32);
            assert_eq!(sxtb16::<false>(a), bytes[0] | bytes[2] << 16);
            assert_eq!(sxtb16::<true>(a), bytes[1] | bytes[3] << 16);
        }
    }
}
