//! How cost grows with a lab's size: a cloud hub with N branch sites (N = 1, 10, 100, 1,000),
//! each a router and a host on its own impaired access link (20 ms, 0.1% loss, 50 Mbps), with a
//! probe every 100 ms and a small request/response flow to a VM behind the hub. Each case runs
//! 2 simulated seconds and prints the wall time per simulated second and per delivered
//! packet, and the process's peak memory per node (Linux's VmHWM: sizes run in rising order,
//! so after each it is that size's peak), and checks every request was answered; the target
//! (issue 11) is a cost per delivered packet at 1,000 sites within 1.5x of that at 10.
//!
//! Run: `cargo bench --features bench --bench scale`.

use criterion::{criterion_group, criterion_main, Criterion};
use hybridlab::analysis::Summarize;
use hybridlab::input;
use std::path::Path;
use std::time::Instant;

/// The hub-and-branches lab with `n` branches, as lab-file text.
pub fn hub_lab(n: usize) -> String {
    let mut nodes = vec![
        r#"Router(name: "hub")"#.to_string(),
        r#"Host(name: "vm", gateway: "10.255.0.1", tcp_rx_buffer: "64KiB", tcp_tx_buffer: "64KiB")"#
            .to_string(),
    ];
    let mut links = vec![
        r#"(name: "vm", a: (node: "hub", ip: "10.255.0.1/24"), b: (node: "vm", ip: "10.255.0.10/24"), delay: "50us", rate: "10Gbps")"#.to_string(),
    ];
    let mut routes = Vec::new();
    let mut apps = Vec::new();
    for i in 0..n {
        let (hi, lo) = (i / 250, i % 250);
        nodes.push(format!(r#"Router(name: "r{i}")"#));
        nodes.push(format!(
            r#"Host(name: "h{i}", gateway: "10.{hi}.{lo}.1", tcp_rx_buffer: "64KiB", tcp_tx_buffer: "64KiB")"#
        ));
        links.push(format!(
            r#"(name: "lan{i}", a: (node: "h{i}", ip: "10.{hi}.{lo}.10/24"), b: (node: "r{i}", ip: "10.{hi}.{lo}.1/24"), delay: "100us", rate: "1Gbps")"#
        ));
        // Branch i's access link is the /30 at 172.16.(i / 64).(4 * (i % 64)): branch .1, hub .2.
        let (x, y) = (i / 64, 4 * (i % 64));
        links.push(format!(
            r#"(name: "wan{i}", a: (node: "r{i}", ip: "172.16.{x}.{}/30"), b: (node: "hub", ip: "172.16.{x}.{}/30"), delay: "20ms", rate: "50Mbps", loss: Bernoulli(0.001))"#,
            y + 1,
            y + 2
        ));
        routes.push(format!(
            r#"(node: "r{i}", prefix: "10.255.0.0/24", via: "172.16.{x}.{}")"#,
            y + 2
        ));
        routes.push(format!(
            r#"(node: "hub", prefix: "10.{hi}.{lo}.0/24", via: "172.16.{x}.{}")"#,
            y + 1
        ));
        // Starts spread over 100 ms, as real sites' would be: all at one instant, a thousand
        // SYNs overflow the VM link's queue together and retransmit together.
        let start = format!("{}us", (i * 100_000 / n.max(1)) % 100_000);
        apps.push(format!(
            r#"(name: "p{i}", from: "h{i}", to: "vm", start: "{start}", traffic: UdpProbe(interval: "100ms", port: {}))"#,
            10_000 + i
        ));
        apps.push(format!(
            r#"(name: "w{i}", from: "h{i}", to: "vm", start: "{start}", traffic: TcpRequestResponse(request: "500B", response: "4KiB", interval: "200ms", port: {}))"#,
            20_000 + i
        ));
    }
    format!(
        "(name: \"hub-{n}\", duration: \"2s\", nodes: [{}], links: [{}], routes: [{}], apps: [{}])",
        nodes.join(", "),
        links.join(", "),
        routes.join(", "),
        apps.join(", ")
    )
}

fn scale(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale");
    g.sample_size(10);
    for n in [1usize, 10, 100, 1000] {
        let lab = input::load_str(&hub_lab(n), Path::new("hub.ron")).expect("the hub lab is valid");
        let started = Instant::now();
        let r = hybridlab::sim::run(&lab);
        let wall = started.elapsed().as_secs_f64();
        let delivered: u64 = r
            .links
            .iter()
            .flat_map(|l| l.dirs.iter().map(|d| d.delivered_packets))
            .sum();
        let unanswered: u64 = r
            .apps
            .iter()
            .map(|a| {
                let s = a.summary(r.duration);
                s.figures.sent - s.received - s.figures.in_flight
            })
            .sum();
        assert!(
            unanswered <= n as u64,
            "{n} sites: {unanswered} lost (loss is 0.1%)"
        );
        let nodes = 2 + 2 * n;
        let memory = peak_kib().map_or("peak memory unknown".to_string(), |k| {
            format!(
                "peak memory {:.0} MiB, {:.0} KiB per node",
                k as f64 / 1024.0,
                k as f64 / nodes as f64
            )
        });
        println!(
            "scale/{n}: {delivered} deliveries, {:.1} ms wall per simulated s, {:.0} ns per delivered packet, {memory}",
            wall / 2.0 * 1e3,
            wall / delivered as f64 * 1e9
        );
        g.bench_function(format!("{n}_sites_2s"), |b| {
            b.iter(|| hybridlab::sim::run(&lab))
        });
    }
    g.finish();
}

/// The process's peak resident memory in KiB, where the system says (Linux).
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

criterion_group!(benches, scale);
criterion_main!(benches);
