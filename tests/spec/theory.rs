//! Results agree with theory where theory exists.

use crate::common;
use common::*;
use hybridlab::analysis::Summarize;

/// Serialization time of `bytes` at `rate`, rounded up to the nanosecond, as a link computes it.
fn ser(bytes: u64, rate: u64) -> u64 {
    (bytes * 8 * 1_000_000_000).div_ceil(rate)
}

#[test]
fn idle_probe_rtt_is_the_sum_of_propagation_and_serialization() {
    // h1 -[1 ms, 100 Mbps]- r1 -[5 ms, 10 Mbps]- r2 -[2 ms, 1 Gbps]- h2
    let text = r#"(
        name: "rtt", duration: "3s",
        nodes: [Host(name: "h1", gateway: "10.1.0.1"), Router(name: "r1"), Router(name: "r2"), Host(name: "h2", gateway: "10.2.0.1")],
        links: [
            (name: "l1", a: (node: "h1", ip: "10.1.0.10/24"), b: (node: "r1", ip: "10.1.0.1/24"), delay: "1ms", rate: "100Mbps"),
            (name: "l2", a: (node: "r1", ip: "172.16.0.1/30"), b: (node: "r2", ip: "172.16.0.2/30"), delay: "5ms", rate: "10Mbps"),
            (name: "l3", a: (node: "r2", ip: "10.2.0.1/24"), b: (node: "h2", ip: "10.2.0.10/24"), delay: "2ms", rate: "1Gbps"),
        ],
        routes: [
            (node: "r1", prefix: "10.2.0.0/24", via: "172.16.0.2"),
            (node: "r2", prefix: "10.1.0.0/24", via: "172.16.0.1"),
        ],
        apps: [(name: "p", from: "h1", to: "h2", traffic: UdpProbe(interval: "100ms", size: 64))],
    )"#;
    let r = run(text);
    let packet = 64 + 8 + 20; // UDP payload + UDP header + IPv4 header
    let one_way: u64 = [
        (1_000_000, 100_000_000),
        (5_000_000, 10_000_000),
        (2_000_000, 1_000_000_000),
    ]
    .iter()
    .map(|&(delay, rate)| delay + ser(packet, rate))
    .sum();
    let probes = probes(&r, "p");
    assert_eq!(probes.len(), 30);
    for p in probes {
        assert_eq!(p.arrived.unwrap() - p.sent, one_way);
        assert_eq!(p.returned.unwrap() - p.sent, 2 * one_way);
    }
    // Every figure the summary gives equals the physical RTT: the extremes exactly (to the
    // nanosecond), the percentiles and mean within the histograms' 0.1% and never below the
    // floor (a bucket's lower edge, 0.05% under it, once was reported as the minimum).
    let rtt_us = 2.0 * one_way as f64 / 1e3;
    let s = app(&r, "p").summary(r.duration);
    let rtt = s.figures.rtt.unwrap();
    assert_eq!((rtt.min_us, rtt.max_us), (rtt_us, rtt_us));
    for v in [rtt.mean_us, rtt.p50_us, rtt.p90_us, rtt.p99_us, rtt.p999_us] {
        assert!(
            v >= rtt_us && v - rtt_us < 0.001 * rtt_us,
            "{v} vs {rtt_us}: {rtt:?}"
        );
    }
}

#[test]
fn a_receive_window_below_the_bdp_limits_tcp_to_window_over_rtt() {
    // 100 Mbps, 20 ms RTT: the BDP is 250 kB; a 48 KiB window allows window/RTT ~ 19.6 Mbps.
    // The sender's buffer is fixed well above it, so that only the receive window limits.
    let window = 48 * 1024;
    let text = two_hosts(
        "12s",
        r#"delay: "10ms", rate: "100Mbps""#,
        (r#", tcp_tx_buffer: "1MiB""#, r#", tcp_rx_buffer: "48KiB""#),
        r#"(name: "bulk", from: "a", to: "b", traffic: TcpBulk())"#,
    );
    let r = run(&text);
    let s = app(&r, "bulk").summary(r.duration);
    let rtt = 0.020 + ser(1500, 100_000_000) as f64 / 1e9 + ser(40, 100_000_000) as f64 / 1e9;
    let expected = window as f64 * 8.0 / rtt;
    let measured = s.steady_goodput_bps.unwrap();
    assert!(
        (measured - expected).abs() < 0.05 * expected,
        "measured {measured}, window/RTT {expected}"
    );
}

#[test]
fn bulk_tcp_fills_a_clean_100_mbps_link() {
    let text = two_hosts(
        "10s",
        r#"delay: "10ms", rate: "100Mbps", queue: Packets(1000)"#,
        ("", ""),
        r#"(name: "bulk", from: "a", to: "b", traffic: TcpBulk())"#,
    );
    let r = run(&text);
    let steady = app(&r, "bulk")
        .summary(r.duration)
        .steady_goodput_bps
        .unwrap();
    assert!(steady >= 90e6, "steady-state goodput {steady}");
}

#[test]
fn bulk_tcp_fills_a_clean_link_from_the_start() {
    // Over the whole 10 s, slow start included, as iperf3 reports it. 100 Mbps: Linux gives
    // about 94 Mbps with timestamps (1448-byte segments); 1 Gbps, 2 ms each way, 16 MiB
    // buffers: Linux 962.7 Mbps, ns-3 961.7. Without HyStart++ and PRR, slow start overflowed
    // the queue by 1,400 segments and two timeouts followed (913 Mbps).
    let cases = [
        ("100Mbps", "10ms", "", 93e6),
        (
            "1Gbps",
            "2ms",
            r#", tcp_rx_buffer: "16MiB", tcp_tx_buffer: "16MiB""#,
            930e6,
        ),
    ];
    for (rate, delay, buffers, floor) in cases {
        let text = two_hosts(
            "10s",
            &format!(r#"delay: "{delay}", rate: "{rate}", queue: Packets(1000)"#),
            (buffers, buffers),
            r#"(name: "bulk", from: "a", to: "b", traffic: TcpBulk())"#,
        );
        let r = run(&text);
        let goodput = app(&r, "bulk")
            .summary(r.duration)
            .figures
            .goodput_bps
            .unwrap();
        assert!(goodput >= floor, "{rate}: {goodput} over 10 s");
    }
}

#[test]
fn a_160_kib_window_at_5_ms_gives_the_vendors_single_flow_figure() {
    // 160 KiB / 5 ms = 262 Mbps on a 1 Gbps path, the single-flow figure the VPN gateway
    // documentation gives; the link adds 12 us of serialization to the RTT.
    let text = two_hosts(
        "10s",
        r#"delay: "2500us", rate: "1Gbps""#,
        ("", r#", tcp_rx_buffer: "160KiB""#),
        r#"(name: "bulk", from: "a", to: "b", traffic: TcpBulk())"#,
    );
    let r = run(&text);
    let measured = app(&r, "bulk")
        .summary(r.duration)
        .steady_goodput_bps
        .unwrap();
    let expected = 160.0 * 1024.0 * 8.0 / 0.005;
    assert!(
        (measured / expected - 1.0).abs() <= 0.05,
        "measured {measured}, 160 KiB / 5 ms = {expected}"
    );
}

#[test]
fn bernoulli_loss_matches_its_probability() {
    let p = 0.05;
    let text = two_hosts(
        "20s",
        &format!("loss: Bernoulli({p})"),
        ("", ""),
        r#"(name: "p", from: "a", to: "b", traffic: UdpProbe(interval: "1ms"))"#,
    );
    let r = run(&text);
    let d = &r.links[0].dirs[0];
    let n = d.offered_packets as f64;
    let measured = d.drops.loss as f64 / n;
    let sigma = (p * (1.0 - p) / n).sqrt();
    assert!(n >= 19_000.0);
    assert!(
        (measured - p).abs() < 4.0 * sigma,
        "measured {measured}, configured {p}"
    );
}

#[test]
fn gilbert_elliott_loss_has_the_configured_burst_length_and_rate() {
    let (p, r): (f64, f64) = (0.01, 0.25);
    let text = two_hosts(
        "100s",
        r#"a_to_b: (loss: GilbertElliott(p: 0.01, r: 0.25))"#,
        ("", ""),
        r#"(name: "p", from: "a", to: "b", traffic: UdpProbe(interval: "1ms"))"#,
    );
    let res = run(&text);
    let arrived: Vec<bool> = probes(&res, "p")
        .iter()
        .map(|x| x.arrived.is_some())
        .collect();
    let mut bursts = Vec::new();
    let mut run_len = 0;
    for &a in &arrived {
        if a {
            if run_len > 0 {
                bursts.push(run_len);
            }
            run_len = 0;
        } else {
            run_len += 1;
        }
    }
    let mean_burst = bursts.iter().sum::<usize>() as f64 / bursts.len() as f64;
    // Geometric bursts with mean 1/r = 4 and s.d. sqrt(1-r)/r ~ 3.5, over ~960 bursts.
    let se = (1.0 - r).sqrt() / r / (bursts.len() as f64).sqrt();
    assert!(
        (mean_burst - 1.0 / r).abs() < 4.0 * se,
        "mean burst {mean_burst} over {} bursts",
        bursts.len()
    );
    let loss_rate = arrived.iter().filter(|a| !**a).count() as f64 / arrived.len() as f64;
    let expected = p / (p + r);
    assert!(
        (loss_rate - expected).abs() < 0.15 * expected,
        "loss rate {loss_rate}, expected {expected}"
    );
}

#[test]
fn a_queue_overflows_when_offered_load_exceeds_the_rate() {
    // 1000-byte probes every 100 us offer 82 Mbps of IP packets to a 10 Mbps link.
    let text = two_hosts(
        "2s",
        r#"rate: "10Mbps", queue: Packets(50)"#,
        ("", ""),
        r#"(name: "p", from: "a", to: "b", traffic: UdpProbe(interval: "100us", size: 1000))"#,
    );
    let r = run(&text);
    let d = &r.links[0].dirs[0];
    assert!(d.drops.queue > 0);
    assert_eq!(d.peak_queue_packets, 50);
    // The link runs flat out: delivered bytes are the rate times the time, less one queue.
    let delivered_bits = d.delivered_bytes as f64 * 8.0;
    assert!(
        (delivered_bits - 10e6 * 2.0).abs() < 0.02 * 20e6,
        "delivered {delivered_bits} bits"
    );
}

/// Mathis et al. 1997: goodput ≈ MSS / RTT · C / √p, C ≈ 1.22 (no timeouts).
fn mathis(mss: f64, rtt: f64, p: f64) -> f64 {
    mss * 8.0 / rtt * 1.22 / p.sqrt()
}

/// Padhye et al. 1998, with retransmission timeouts: b packets acknowledged per ACK, T0 the
/// minimum RTO (1 s in smoltcp).
fn padhye(mss: f64, rtt: f64, p: f64, b: f64, t0: f64) -> f64 {
    let packets = 1.0
        / (rtt * (2.0 * b * p / 3.0).sqrt()
            + t0 * (3.0 * (3.0 * b * p / 8.0).sqrt()).min(1.0) * p * (1.0 + 32.0 * p * p));
    packets * mss * 8.0
}

/// Two hosts on 100 Mbps with 10 ms each way and Bernoulli loss `p` on the data direction only,
/// a 1000-packet queue, one bulk flow from `a` with the given host fields.
fn lossy_bulk(p: f64, seed: u64, duration: &str, host_fields: &str) -> String {
    two_hosts(
        duration,
        &format!(
            r#"delay: "10ms", rate: "100Mbps", queue: Packets(1000), a_to_b: (loss: Bernoulli({p}))"#
        ),
        (host_fields, host_fields),
        r#"(name: "bulk", from: "a", to: "b", traffic: TcpBulk())"#,
    )
    .replace("seed: 1,", &format!("seed: {seed},"))
}

/// Mean over seeds 1..=`seeds` of a goodput figure of the lossy bulk lab.
fn mean_goodput(seeds: u64, p: f64, duration: &str, host_fields: &str, steady: bool) -> f64 {
    let runs: Vec<f64> = (1..=seeds)
        .map(|seed| {
            let r = run(&lossy_bulk(p, seed, duration, host_fields));
            let s = app(&r, "bulk").summary(r.duration);
            if steady {
                s.steady_goodput_bps.unwrap()
            } else {
                s.figures.goodput_bps.unwrap()
            }
        })
        .collect();
    runs.iter().sum::<f64>() / runs.len() as f64
}

#[test]
fn linux_tcp_under_random_loss_follows_mathis() {
    // The Linux profile (SACK recovery, 200 ms RTO floor, byte counting) at 20 ms RTT: the
    // steady state (second half of 20 s, mean of 5 seeds) within 15% of MSS/RTT · 1.22/√p for
    // Cubic (whose Reno-friendly region is designed to match Reno's response) and 20% for
    // Reno. The first half is left out: Mathis models the loss-driven equilibrium, not the
    // slow start that precedes it.
    for (congestion, tolerance) in [("Cubic", 0.15), ("Reno", 0.20)] {
        for p in [0.001, 0.005, 0.01, 0.02] {
            let fields = format!(", congestion: {congestion}");
            let goodput = mean_goodput(5, p, "20s", &fields, true);
            let predicted = mathis(1460.0, 0.02, p);
            assert!(
                (goodput / predicted - 1.0).abs() <= tolerance,
                "{congestion} p={p}: {goodput} vs Mathis {predicted}"
            );
        }
    }
}

#[test]
fn linux_profile_at_one_percent_loss_matches_linux_over_a_10_s_run() {
    // The whole 10 s, slow start included: Linux's kernel TCP (Cubic) gives 7.06 Mbps on this
    // path (6.84 to 7.34 over 5 runs), ns-3 7.70. One run here spans 6-10 Mbps (when the first
    // loss ends slow start varies more than in Linux's five runs), so a mean of 5 seeds moves
    // by +-7% with any change that reshuffles the losses; 20 seeds hold it to about +-4%.
    let goodput = mean_goodput(20, 0.01, "10s", "", false);
    let linux = 7.06e6;
    assert!(
        (goodput / linux - 1.0).abs() <= 0.10,
        "{goodput} vs Linux {linux}"
    );
}

#[test]
fn stock_smoltcp_under_random_loss_lies_between_padhye_and_mathis() {
    // The Rfc6298 profile keeps smoltcp 0.14's sender: a 1 s RTO floor and one retransmission
    // per fast recovery, so timeouts cost it throughput as Padhye et al. predict (T0 = 1 s).
    for p in [0.01, 0.001] {
        let goodput = mean_goodput(5, p, "20s", ", congestion: Reno, tcp: Rfc6298", false);
        let (low, high) = (padhye(1460.0, 0.02, p, 2.0, 1.0), mathis(1460.0, 0.02, p));
        assert!(
            goodput >= 0.8 * low && goodput <= 0.9 * high,
            "p={p}: {goodput} not in [{low}, {high}]"
        );
    }
}

#[test]
fn sack_recovery_beats_stock_recovery_under_loss() {
    // The same path at 1%: the Linux profile recovers every hole of a window in one round
    // trip; stock smoltcp waits for 1 s timeouts.
    let linux = mean_goodput(5, 0.01, "10s", "", false);
    let stock = mean_goodput(5, 0.01, "10s", ", tcp: Rfc6298", false);
    assert!(linux > 1.4 * stock, "linux {linux}, stock {stock}");
}
