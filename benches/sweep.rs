//! Speed-up of a sweep with threads: the failover lab, cut at 25 s (just past its failure),
//! over 10 seeds, on one thread and on two. Target on the 2-core reference machine: two
//! threads at least 1.8x faster than one (runs are independent; only the merge is serial).
//!
//! Run: `cargo bench --features bench --bench sweep`. It prints the measured ratio once, then criterion's
//! figures for each thread count. The same from the command line:
//! `emulate sweep topologies/er-vpn-failover.ron --seeds 1..=10 --duration 25s --threads 1`.

use criterion::{criterion_group, criterion_main, Criterion};
use hybridlab::drivers::sweep::{self, Plan};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn plan() -> Plan {
    Plan {
        seeds: (1..=10).collect(),
        axes: Vec::new(),
        shard: None,
        duration: Some(25_000_000_000),
        budget: None,
    }
}

fn lab() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/er-vpn-failover.ron")
}

fn threads(c: &mut Criterion) {
    let (lab, plan) = (lab(), plan());
    let time = |threads| {
        let started = Instant::now();
        black_box(sweep::run(&lab, &plan, threads, &|_| {}).expect("the lab is valid"));
        started.elapsed().as_secs_f64()
    };
    let (one, two) = (time(1), time(2));
    eprintln!(
        "sweep of 10 seeds: {one:.2} s on one thread, {two:.2} s on two: {:.2}x",
        one / two
    );
    let mut g = c.benchmark_group("sweep_failover_10_seeds");
    g.sample_size(10);
    for n in [1, 2] {
        g.bench_function(format!("threads_{n}"), |b| {
            b.iter(|| black_box(sweep::run(&lab, &plan, n, &|_| {}).expect("valid")))
        });
    }
    g.finish();
}

criterion_group!(benches, threads);
criterion_main!(benches);
