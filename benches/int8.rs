//! int8 benches on the host: the dot product of four rows (the int8 step's inner loop) in
//! this target's form (`quant::dot::dot4`: `wide`'s `i16x16` lanes on x86/AArch64) against
//! its two twins, the pair form the Cortex-M0 and RISC-V run (`quant::pairs::dot4`, through
//! the DSP instructions' portable emulation) and the plain loop (`dot_scalar` per row); and
//! the int8 LSTM step (`QModel::step`) against the f32 step of the same model, in one run,
//! so the ratios come from one binary.
//!
//! Ids: `int8_dot/<simd|pairs|scalar>/K<k>`, throughput `4K` multiply-accumulates;
//! `int8_step/<int8|f32>/IN<in>_H<h>`, throughput `4H (IN + H)`.

mod common;

use std::hint::black_box;

use common::{input, model};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lstm_kernel::LstmState;
use lstm_kernel::quant::dot::{Lanes, dot_scalar, dot4};
use lstm_kernel::quant::pairs;
use lstm_kernel::quant::{Calibration, QModel, QRecurrent};

/// Deterministic int8 rows and int16 inputs.
fn rows<const K: usize>() -> ([[i8; K]; 4], [i16; K]) {
    let w = core::array::from_fn(|r| core::array::from_fn(|k| ((k * 37 + r * 11) % 255) as i8));
    let x = core::array::from_fn(|k| ((k as i32 * 7919) % 65_536 - 32_768) as i16);
    (w, x)
}

fn dot_size<const K: usize>(c: &mut Criterion) {
    let (w, x) = rows::<K>();
    let (lanes, pair_lanes) = (Lanes::new(&x), pairs::lane_order(&x));
    let id = format!("K{K}");
    let mut g = c.benchmark_group("int8_dot");
    g.throughput(Throughput::Elements(4 * K as u64));
    g.bench_function(BenchmarkId::new("simd", &id), |b| {
        b.iter(|| dot4(black_box(&w), black_box(&lanes)))
    });
    g.bench_function(BenchmarkId::new("pairs", &id), |b| {
        b.iter(|| pairs::dot4(black_box(&w), black_box(&pair_lanes)))
    });
    g.bench_function(BenchmarkId::new("scalar", &id), |b| {
        b.iter(|| black_box(&w).map(|r| dot_scalar(&r, black_box(&x))))
    });
    g.finish();
}

fn step_size<const IN: usize, const H: usize>(c: &mut Criterion) {
    let m = model::<IN, H>(42);
    let xs: [[f32; IN]; 64] = core::array::from_fn(input::<IN>);
    let mut cal = Calibration::<IN>::new();
    cal.observe_sequence(&m, &xs);
    let q: QModel<_, IN, H, 1> = QModel::quantize(&m, &cal).expect("a finite model quantizes");
    let qs: Vec<[i16; IN]> = xs
        .iter()
        .map(|x| q.quantize_input(x).expect("finite inputs"))
        .collect();
    let id = format!("IN{IN}_H{H}");
    let mut g = c.benchmark_group("int8_step");
    g.throughput(Throughput::Elements((4 * H * (IN + H)) as u64));
    g.bench_function(BenchmarkId::new("int8", &id), |b| {
        let mut state = <lstm_kernel::quant::QLstm<IN, H> as QRecurrent<IN, H>>::zero_state();
        let mut t = 0;
        b.iter(|| {
            t = (t + 1) & 63;
            black_box(q.step(black_box(&qs[t]), &mut state))
        })
    });
    g.bench_function(BenchmarkId::new("f32", &id), |b| {
        let mut state = LstmState::<H>::zeroed();
        let mut t = 0;
        b.iter(|| {
            t = (t + 1) & 63;
            black_box(m.step(black_box(&xs[t]), &mut state))
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    dot_size::<64>(c);
    dot_size::<128>(c);
    dot_size::<256>(c);
    step_size::<1, 10>(c);
    step_size::<8, 64>(c);
    step_size::<32, 128>(c);
}

criterion_group!(int8, benches);
criterion_main!(int8);
