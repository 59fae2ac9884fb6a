//! The single-failure analysis of the headline lab: every candidate (25), each failing for the
//! default 30 s hold, on every core. Target on the 2-core reference machine: under 30 s of wall
//! time (README, "Resilience").
//!
//! Run: `cargo bench --features bench --bench resilience`. The same from the command line:
//! `emulate resilience topologies/er-vpn-failover.ron`.

use criterion::{criterion_group, criterion_main, Criterion};
use hybridlab::drivers::resilience::{self, Plan};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

fn headline(c: &mut Criterion) {
    let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/er-vpn-failover.ron");
    let mut g = c.benchmark_group("resilience");
    // Each iteration is a whole analysis: criterion's fewest samples, and the time they take.
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(200));
    g.bench_function("er_vpn_failover_single_failures", |b| {
        b.iter(|| {
            black_box(
                resilience::analyse(&lab, &[], &Plan::default(), None, 0, &|_| {})
                    .expect("the lab is valid"),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, headline);
criterion_main!(benches);
