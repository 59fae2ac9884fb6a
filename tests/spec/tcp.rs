//! Host TCP follows its profile: `Linux` (the default) or `Rfc6298` (stock smoltcp 0.14).

use crate::common;
use common::*;
use hybridlab::analysis::Summarize;

/// When the bulk flow over a 20 ms RTT path delivers again after the link failed at 5 s and
/// came back at 5.5 s: the start of the first 100 ms window with goodput after 5.5 s. The
/// receiver's window is fixed near the path's bandwidth-delay product (250 KB), so no queue
/// builds and the RTT the timer starts from is the path's.
fn resumes_at(host_fields: &str) -> f64 {
    let receiver = format!(r#"{host_fields}, tcp_rx_buffer: "256KiB""#);
    let text = two_hosts(
        "9s",
        r#"delay: "10ms", rate: "100Mbps""#,
        (host_fields, &receiver),
        r#"(name: "bulk", from: "a", to: "b", traffic: TcpBulk())"#,
    )
    .replace(
        "apps: [",
        &format!("{}\n    apps: [", wire_outage("5s", "5.5s")),
    );
    let r = run(&text);
    let series = app(&r, "bulk").summary(r.duration).goodput_series_bps;
    let first = (55..series.len())
        .find(|&w| series[w] > 0.0)
        .expect("the flow resumes");
    first as f64 / 10.0
}

#[test]
fn a_restored_path_carries_the_flow_again_after_the_profiles_timeout() {
    // Linux: RTO = SRTT + max(4·RTTVAR, 200 ms); backed off once during the 0.5 s outage
    // (retransmissions near 5.22 s and 5.66 s), so the flow is back within a few hundred ms.
    let linux = resumes_at("");
    assert!(
        (5.5..=6.0).contains(&linux),
        "Linux profile resumed at {linux} s"
    );
    // Stock smoltcp: the 1 s floor, so the first retransmission comes a second after the
    // last send before the failure, well after the path is back.
    let stock = resumes_at(", tcp: Rfc6298");
    assert!(
        stock >= 5.9 && stock > linux,
        "Rfc6298 profile resumed at {stock} s (Linux at {linux} s)"
    );
}

#[test]
fn knobs_override_the_profile() {
    // An RTO floor of 1 s on the Linux profile delays recovery like the stock stack.
    let slow = resumes_at(r#", min_rto: "1s""#);
    assert!(slow >= 5.9, "resumed at {slow} s");
    let lab = lab(&two_hosts(
        "1s",
        "",
        (
            r#", tcp: Rfc6298, min_rto: "300ms", initial_window: 4, sack: false, ack_delay: "0ms", hystart: true"#,
            "",
        ),
        "",
    ));
    let hybridlab::lab::model::NodeKind::Host(h) = &lab.nodes[0].kind else {
        panic!("a is a host")
    };
    let b = h.tcp.behaviour;
    assert!(
        !b.linux_sender,
        "the Rfc6298 profile keeps smoltcp's sender"
    );
    assert_eq!(
        (
            b.min_rto_ms,
            b.initial_window,
            b.sack,
            b.ack_delay_ms,
            b.hystart
        ),
        (300, Some(4), false, None, true)
    );
}

#[test]
fn linux_runs_hystart_with_cubic_only() {
    let hystart_of = |host: &str| {
        let lab = lab(&two_hosts("1s", "", (host, ""), ""));
        let hybridlab::lab::model::NodeKind::Host(h) = &lab.nodes[0].kind else {
            panic!("a is a host")
        };
        h.tcp.behaviour.hystart
    };
    assert!(hystart_of(""), "Linux with Cubic, the default");
    assert!(
        !hystart_of(", congestion: Reno"),
        "Linux's Reno has no HyStart"
    );
    assert!(
        hystart_of(", congestion: Reno, hystart: true"),
        "unless asked"
    );
    assert!(!hystart_of(", hystart: false"));
    assert!(!hystart_of(", tcp: Rfc6298"), "stock smoltcp has none");
}

/// 10 s of a bulk app from `a` to `b` over 1 Gbps with 10 ms each way, the hosts with the
/// given fields.
fn bulk_run(hosts: (&str, &str), traffic: &str) -> hybridlab::results::Results {
    let text = two_hosts(
        "10s",
        r#"delay: "10ms", rate: "1Gbps", queue: Packets(1000)"#,
        hosts,
        &format!(r#"(name: "bulk", from: "a", to: "b", traffic: {traffic})"#),
    );
    run(&text)
}

/// Goodput of [`bulk_run`] over the second half of the run.
fn bulk_steady(hosts: (&str, &str), traffic: &str) -> f64 {
    let r = bulk_run(hosts, traffic);
    app(&r, "bulk")
        .summary(r.duration)
        .steady_goodput_bps
        .unwrap()
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn parallel_streams_multiply_a_window_limited_flow_up_to_the_bottleneck() {
    // A 64 KiB receive window over 20 ms allows one stream 26 Mbps; 16 streams (iperf3 -P 16)
    // get 16 times that, and 64 streams are held by the 1 Gbps link.
    let window = ("", r#", tcp_rx_buffer: "64KiB""#);
    let one = bulk_steady(window, "TcpBulk()");
    assert!((one / 26.2e6 - 1.0).abs() < 0.05, "one stream {one}");
    let sixteen = bulk_steady(window, "TcpBulk(streams: 16)");
    assert!(
        (sixteen / (16.0 * one) - 1.0).abs() < 0.05,
        "16 streams {sixteen}, one {one}"
    );
    let many = bulk_steady(window, "TcpBulk(streams: 64)");
    // 1 Gbps carries 1460 of every 1500 bytes as goodput.
    assert!(
        many > 0.95 * 973e6 && many <= 1e9 * 1460.0 / 1500.0,
        "64 streams {many}"
    );
}

#[test]
fn an_application_rate_paces_the_flow() {
    // "A 500 Mbps replication flow": the buffers would allow the whole link.
    let buffer = r#", tcp_rx_buffer: "8MiB", tcp_tx_buffer: "8MiB""#;
    let buffers = (buffer, buffer);
    let paced = bulk_steady(buffers, r#"TcpBulk(rate: "500Mbps")"#);
    assert!((paced / 500e6 - 1.0).abs() < 0.01, "paced at {paced}");
    // The rate is the app's, shared by its streams.
    let four = bulk_steady(buffers, r#"TcpBulk(rate: "200Mbps", streams: 4)"#);
    assert!((four / 200e6 - 1.0).abs() < 0.01, "four streams at {four}");
    // A size is shared too, and the app completes when all of it has arrived.
    let text = two_hosts(
        "10s",
        r#"delay: "10ms", rate: "1Gbps""#,
        buffers,
        r#"(name: "bulk", from: "a", to: "b", traffic: TcpBulk(size: "10MB", streams: 3))"#,
    );
    let r = run(&text);
    let bulk = app(&r, "bulk").bulk().unwrap();
    assert_eq!(bulk.bytes_received, 10_000_000);
    assert!(bulk.completed_at.is_some());
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn the_report_says_when_the_buffers_limit_a_flow_and_what_a_bigger_one_allows() {
    let summary = |hosts: (&str, &str), traffic: &str| {
        let s = bulk_run(hosts, traffic).summary(None);
        let report = hybridlab::export::report::render(&s);
        (
            s.apps[0].window.clone().expect("a bulk app has a window"),
            report,
        )
    };
    // 64 KiB over the 20 ms path: 26.2 Mbps, and the flow is at it.
    let (w, report) = summary(("", r#", tcp_rx_buffer: "64KiB""#), "TcpBulk()");
    assert!(w.limited);
    assert_eq!(
        (w.buffer, w.host.as_str(), w.window_bytes),
        ("tcp_rx_buffer", "b", 65536)
    );
    assert!((w.min_rtt_us - 20_000.0).abs() < 20.0, "{w:?}");
    assert!((w.limit_bps / 26.2e6 - 1.0).abs() < 0.01, "{w:?}");
    assert!(
        report.contains(r#"tcp_rx_buffer: "128KiB" would allow up to 52.43 Mbps"#),
        "{report}"
    );
    // The sender's buffer limits it the same way.
    let (w, report) = summary((r#", tcp_tx_buffer: "64KiB""#, ""), "TcpBulk()");
    assert!(w.limited);
    assert_eq!((w.buffer, w.host.as_str()), ("tcp_tx_buffer", "a"));
    assert!(report.contains("window-limited"), "{report}");
    // 64 such streams would allow 1.7 Gbps; the link holds them below: not window-limited.
    let (w, report) = summary(("", r#", tcp_rx_buffer: "64KiB""#), "TcpBulk(streams: 64)");
    assert!(!w.limited, "{w:?}");
    assert!(!report.contains("window-limited"), "{report}");
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn linux_buffers_grow_as_far_as_the_flow_needs_and_the_report_names_the_maximum() {
    // 1 Gbps over 20 ms: the bandwidth-delay product is 2.5 MB. A Linux host's buffers start
    // at 128 KiB (receive) and 16 KiB (send) and grow to carry it: no window limit.
    let r = bulk_run(("", ""), "TcpBulk()");
    let s = r.summary(None);
    let w = s.apps[0].window.clone().unwrap();
    assert!(!w.limited, "{w:?}");
    assert!(s.apps[0].steady_goodput_bps.unwrap() > 900e6, "{w:?}");
    let bulk = app(&r, "bulk").bulk().unwrap();
    let (rx, tx) = (bulk.rx_buffer.unwrap(), bulk.tx_buffer.unwrap());
    assert!(rx > 2_500_000 && rx < 32 << 20, "receive buffer {rx}");
    assert!(tx > 2_500_000 && tx <= 4 << 20, "send buffer {tx}");

    // A maximum below the bandwidth-delay product: autotuning stops there, and the report
    // says to raise the maximum, not the buffer.
    let r = bulk_run((r#", tcp_tx_buffer_max: "256KiB""#, ""), "TcpBulk()");
    let s = r.summary(None);
    let w = s.apps[0].window.clone().unwrap();
    assert!(w.limited, "{w:?}");
    assert_eq!(
        (w.buffer, w.window_bytes, w.autotune_max),
        ("tcp_tx_buffer", 256 << 10, Some(256 << 10))
    );
    let report = hybridlab::export::report::render(&s);
    assert!(
        report.contains("autotuned to its maximum")
            && report.contains(r#"tcp_tx_buffer_max: "512KiB" would allow"#),
        "{report}"
    );

    // Autotuning off: fixed 1 MiB buffers, as smoltcp's own.
    let r = bulk_run(
        (r#", tcp_autotune: false"#, r#", tcp_autotune: false"#),
        "TcpBulk()",
    );
    let bulk = app(&r, "bulk").bulk().unwrap();
    assert_eq!(
        (bulk.rx_buffer, bulk.tx_buffer),
        (Some(1 << 20), Some(1 << 20))
    );
    let w = r.summary(None).apps[0].window.clone().unwrap();
    assert!(w.limited && w.autotune_max.is_none(), "{w:?}");
}

#[test]
fn buffer_settings_that_contradict_each_other_are_refused() {
    let refused = |fields: &str, says: &str| {
        let text = two_hosts(
            "1s",
            r#"delay: "1ms""#,
            (fields, ""),
            r#"(name: "bulk", from: "a", to: "b", traffic: TcpBulk())"#,
        );
        let err = hybridlab::input::load_str(&text, std::path::Path::new("lab.ron"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("host 'a'") && err.contains(says),
            "{fields}: {err}"
        );
    };
    refused(
        r#", tcp_rx_buffer: "1MiB", tcp_rx_buffer_max: "8MiB""#,
        "sets both tcp_rx_buffer and tcp_rx_buffer_max",
    );
    refused(
        r#", tcp_autotune: false, tcp_tx_buffer_max: "8MiB""#,
        "sets tcp_tx_buffer_max with autotuning off",
    );
    refused(
        r#", tcp_rx_buffer_max: "64KiB""#,
        "tcp_rx_buffer_max 65536 bytes is below the 131072 bytes",
    );
    refused(
        r#", tcp: Rfc6298, tcp_rx_buffer_max: "8MiB""#,
        "autotuning off",
    );
}
