//! Bad input never panics: it exits with code 2 and a message that says where (file:line:column)
//! or which item breaks which rule.

use crate::common;
use hybridlab::analysis::Summarize;
use std::process::Command;

const GOOD: &str = r#"(
    name: "good",
    duration: "1s",
    nodes: [
        Host(name: "h1", gateway: "10.1.0.1"),
        Router(name: "r1"),
        Host(name: "h2", gateway: "10.2.0.1"),
    ],
    links: [
        (name: "l1", a: (node: "h1", ip: "10.1.0.10/24"), b: (node: "r1", ip: "10.1.0.1/24"), delay: "1ms", rate: "100Mbps"),
        (name: "l2", a: (node: "r1", ip: "10.2.0.1/24"), b: (node: "h2", ip: "10.2.0.10/24"), delay: "1ms", loss: Bernoulli(0.01)),
    ],
    routes: [],
    bgp_sessions: [],
    apps: [(name: "p", from: "h1", to: "h2", traffic: UdpProbe())],
    faults: [(at: "500ms", action: LinkDown("l2"))],
)"#;

fn emulate(args: &[&str], lab: Option<&str>) -> (i32, String) {
    // A file of its own per call: tests run in parallel, and two of them writing the same lab
    // to one name would delete it under each other.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path =
        std::env::temp_dir().join(format!("hybridlab-bad-{}-{call}.ron", std::process::id()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_emulate"));
    cmd.args(args);
    if let Some(text) = lab {
        std::fs::write(&path, text).unwrap();
        cmd.arg(&path);
    }
    let out = cmd.output().expect("emulate runs");
    let _ = std::fs::remove_file(&path);
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    (
        out.status.code().expect("exited, not killed by a signal"),
        text,
    )
}

#[test]
fn the_good_lab_checks_and_runs() {
    let (code, text) = emulate(&["check"], Some(GOOD));
    assert_eq!(code, 0, "{text}");
    let (code, text) = emulate(&["--quiet"], Some(GOOD));
    assert_eq!(code, 0, "{text}");
    // `run` is the explicit form.
    let (code, text) = emulate(&["run", "--quiet"], Some(GOOD));
    assert_eq!(code, 0, "{text}");
    let (code, text) = emulate(&["run"], None);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("no lab file given"), "{text}");
}

#[test]
fn every_shipped_topology_is_valid() {
    let mut count = 0;
    for path in common::shipped_labs() {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("//"),
            "{} starts with teaching comments",
            path.display()
        );
        let (code, out) = emulate(&["check", path.to_str().unwrap()], None);
        assert_eq!(code, 0, "{}: {out}", path.display());
        // A lab that shows the mistake a warning is about warns; no other lab does.
        let on_purpose = path
            .file_name()
            .is_some_and(|n| n == "avs-default-route.ron");
        assert_eq!(
            out.contains("warning"),
            on_purpose,
            "{}: {out}",
            path.display()
        );
        count += 1;
    }
    assert!(count >= 2);
}

#[test]
fn set_overrides_are_checked_like_the_file() {
    // The value a path names changes, and validation sees the change.
    let (code, text) = emulate(&["check", "--set", "links.l1.delay=2ms"], Some(GOOD));
    assert_eq!(code, 0, "{text}");
    let (code, text) = emulate(
        &["check", "--set", "links.l2.loss=Bernoulli(1.5)"],
        Some(GOOD),
    );
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("link 'l2': loss 1.5 is outside 0..1"),
        "{text}"
    );
    // A path that names nothing says what there is.
    let (code, text) = emulate(&["--set", "links.l3.delay=2ms"], Some(GOOD));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("no item named 'l3'"), "{text}");
    assert!(text.contains("did you mean 'l1'?"), "{text}");
    // A value that does not fit is blamed on its --set, not on a line the user never wrote.
    let (code, text) = emulate(
        &["check", "--set", "links.l1.lose=Bernoulli(0.1)"],
        Some(GOOD),
    );
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("--set links.l1.lose=Bernoulli(0.1)"),
        "{text}"
    );
    assert!(text.contains("Unexpected field named `lose`"), "{text}");
    let (code, text) = emulate(&["check", "--set", "seed"], Some(GOOD));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("PATH=VALUE"), "{text}");
}

#[test]
fn seed_is_a_shorthand_for_set_seed() {
    let json = std::env::temp_dir().join(format!("hybridlab-seed-{}.json", std::process::id()));
    let json_arg = json.to_str().unwrap();
    let (code, text) = emulate(&["--quiet", "--seed", "7", "--json", json_arg], Some(GOOD));
    assert_eq!(code, 0, "{text}");
    let out = std::fs::read_to_string(&json).unwrap();
    std::fs::remove_file(&json).ok();
    assert!(out.contains("\"seed\": 7"), "{out}");
}

#[test]
fn check_warns_when_jitter_cut_at_zero_moves_the_mean_delay() {
    // 1 ms with a normal jitter of 5 ms: half the draws would arrive before they left, so
    // packets average 2.53 ms, not 1 ms. Valid, but worth saying.
    let wide = GOOD.replace(
        r#"delay: "1ms", rate: "100Mbps"),"#,
        r#"delay: "1ms", rate: "100Mbps", a_to_b: (jitter: (amount: "5ms", distribution: Normal))),"#,
    );
    assert_ne!(wide, GOOD);
    let (code, text) = emulate(&["check"], Some(&wide));
    assert_eq!(code, 0, "{text}");
    for words in [
        "warning: link 'l1' a->b",
        "5ms",
        "1ms",
        "2.534ms on average",
    ] {
        assert!(text.contains(words), "{words}: {text}");
    }
    assert!(
        !text.contains("b->a"),
        "only the jittered direction: {text}"
    );
    // A jitter well inside the delay says nothing.
    let narrow = wide.replace(r#"amount: "5ms""#, r#"amount: "200us""#);
    let (code, text) = emulate(&["check"], Some(&narrow));
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("warning"), "{text}");
}

/// (description, text replaced in GOOD, replacement, words the message must contain)
const BROKEN: &[(&str, &str, &str, &[&str])] = &[
    (
        "an unknown TCP profile",
        r#"Host(name: "h1", gateway: "10.1.0.1")"#,
        r#"Host(name: "h1", gateway: "10.1.0.1", tcp: Windows)"#,
        &[":5:52:", "Windows", "Linux", "Rfc6298"],
    ),
    (
        "an RTO floor of zero",
        r#"Host(name: "h1", gateway: "10.1.0.1")"#,
        r#"Host(name: "h1", gateway: "10.1.0.1", min_rto: "0ms")"#,
        &["host 'h1'", "min_rto", "1ms to 60s"],
    ),
    (
        "an initial window of no segments",
        r#"Host(name: "h1", gateway: "10.1.0.1")"#,
        r#"Host(name: "h1", gateway: "10.1.0.1", initial_window: 0)"#,
        &["host 'h1'", "initial_window 0"],
    ),
    (
        "a delayed ACK beyond RFC 1122's 500 ms",
        r#"Host(name: "h1", gateway: "10.1.0.1")"#,
        r#"Host(name: "h1", gateway: "10.1.0.1", ack_delay: "1s")"#,
        &["host 'h1'", "ack_delay", "500ms"],
    ),
    (
        "a bulk app with no streams",
        r#"traffic: UdpProbe())"#,
        r#"traffic: TcpBulk(streams: 0))"#,
        &["app 'p'", "streams 0", "1..=128"],
    ),
    (
        "a bulk app with more streams than allowed",
        r#"traffic: UdpProbe())"#,
        r#"traffic: TcpBulk(streams: 500))"#,
        &["app 'p'", "streams 500"],
    ),
    (
        "a bulk size smaller than its streams",
        r#"traffic: UdpProbe())"#,
        r#"traffic: TcpBulk(size: "3B", streams: 4))"#,
        &["app 'p'", "4 streams at least a byte"],
    ),
    (
        "a bulk rate of zero",
        r#"traffic: UdpProbe())"#,
        r#"traffic: TcpBulk(rate: "0bps"))"#,
        &["app 'p'", "rate", "1 bit/s"],
    ),
    (
        "unclosed list",
        "routes: [],",
        "routes: [",
        &[":14:5:", "Expected"],
    ),
    (
        "misspelt field",
        "delay: \"1ms\", rate",
        "dealy: \"1ms\", rate",
        &[":10:", "dealy"],
    ),
    (
        "bad unit",
        "delay: \"1ms\", rate",
        "delay: \"1 parsec\", rate",
        &[":10:", "not a duration"],
    ),
    (
        "duration without unit",
        "duration: \"1s\"",
        "duration: 5",
        &[":3:", "no unit"],
    ),
    (
        "unknown node in a link",
        "(node: \"r1\", ip: \"10.2.0.1/24\")",
        "(node: \"r9\", ip: \"10.2.0.1/24\")",
        &["link 'l2'", "unknown node 'r9'"],
    ),
    (
        "duplicate names",
        "Router(name: \"r1\")",
        "Router(name: \"r1\"), Router(name: \"r1\")",
        &["node 'r1'", "used twice"],
    ),
    (
        "loss above one",
        "Bernoulli(0.01)",
        "Bernoulli(1.5)",
        &["link 'l2'", "outside 0..1"],
    ),
    (
        "zero rate",
        "rate: \"100Mbps\"",
        "rate: \"0Mbps\"",
        &["link 'l1'", "rate is zero"],
    ),
    (
        "gateway outside every subnet",
        "gateway: \"10.1.0.1\"",
        "gateway: \"10.7.0.1\"",
        &["host 'h1'", "outside every subnet"],
    ),
    (
        "ends on two subnets",
        "ip: \"10.1.0.1/24\"",
        "ip: \"10.3.0.1/24\"",
        &["link 'l1'", "not on one subnet"],
    ),
    (
        "next hop not connected",
        "routes: [],",
        "routes: [(node: \"r1\", prefix: \"10.9.0.0/16\", via: \"192.168.1.1\")],",
        &["route 1", "not on a directly connected subnet"],
    ),
    (
        "app on a router",
        "from: \"h1\", to: \"h2\"",
        "from: \"r1\", to: \"h2\"",
        &["app 'p'", "is a router"],
    ),
    (
        "unknown link in a fault",
        "LinkDown(\"l2\")",
        "LinkDown(\"l7\")",
        &["fault 1", "unknown link 'l7'"],
    ),
    (
        "fault after the end",
        "at: \"500ms\"",
        "at: \"5s\"",
        &["fault 1", "after the end"],
    ),
    (
        "no route to the peer",
        "gateway: \"10.2.0.1\"",
        "gateway: None",
        &["app 'p'", "no return path", "'h2' has no route"],
    ),
    (
        "a bad prefix",
        "ip: \"10.1.0.10/24\"",
        "ip: \"10.1.0.10/40\"",
        &["link 'l1'", "prefix length"],
    ),
    (
        "mtu too small",
        "delay: \"1ms\", rate",
        "mtu: 20, delay: \"1ms\", rate",
        &["link 'l1'", "mtu 20"],
    ),
    (
        "host on two links",
        "b: (node: \"h2\"",
        "b: (node: \"h1\"",
        &["host 'h1'", "2 links"],
    ),
    (
        "a probe on port 0, which once looped forever at time 0",
        r#"traffic: UdpProbe())"#,
        r#"traffic: UdpProbe(port: 0))"#,
        &["app 'p'", "port 0 is outside 1..=65535"],
    ),
    (
        "a probe every nanosecond",
        r#"traffic: UdpProbe())"#,
        r#"traffic: UdpProbe(interval: "1ns"))"#,
        &["app 'p'", "interval 1ns is outside 10us..="],
    ),
    (
        "a probe size beyond any datagram, which once panicked inside check",
        r#"traffic: UdpProbe())"#,
        r#"traffic: UdpProbe(size: 18446744073709551615))"#,
        &["app 'p'", "probe size 18446744073709551615 is outside"],
    ),
    (
        "a run of 2^64 - 1 ns, which never ended",
        r#"duration: "1s""#,
        r#"duration: "18446744073709551615ns""#,
        &[
            "lab",
            "duration 18446744073709551615ns is outside 1us..=2592000s",
        ],
    ),
    (
        "a duration past 2^64 ns, once capped",
        r#"duration: "1s""#,
        r#"duration: "18446744073709551616ns""#,
        &["18446744073709551616ns", "too large"],
    ),
    (
        "a link delay that wrapped to 0.000 ms",
        r#"delay: "1ms", rate: "100Mbps""#,
        r#"delay: "18446744073709551615ns", rate: "100Mbps""#,
        &[
            "link 'l1'",
            "delay 18446744073709551615ns is outside 0ns..=60s",
        ],
    ),
    (
        "a link of 1 bit/s",
        r#"delay: "1ms", rate: "100Mbps""#,
        r#"delay: "1ms", rate: "1bps""#,
        &["link 'l1'", "rate 1bps is outside 1.00kbps..="],
    ),
    (
        "a queue of four billion packets",
        r#"delay: "1ms", rate: "100Mbps""#,
        r#"delay: "1ms", rate: "100Mbps", queue: Packets(4000000000)"#,
        &["link 'l1'", "queue 4000000000 is outside 1..=1000000"],
    ),
    (
        "a router that programs routes in 584 years",
        r#"Router(name: "r1")"#,
        r#"Router(name: "r1", programming_delay: "18446744073709551615ns")"#,
        &["router 'r1'", "programming_delay", "is outside 0ns..=600s"],
    ),
    (
        "a router that clamps SYNs to a 1-byte MSS",
        r#"Router(name: "r1")"#,
        r#"Router(name: "r1", mss_clamp: 1)"#,
        &["router 'r1'", "mss_clamp 1 is outside 88..=65495 (bytes"],
    ),
    (
        "jitter whose shape is not a number",
        r#"delay: "1ms", rate: "100Mbps""#,
        r#"delay: "1ms", rate: "100Mbps", jitter: (amount: "1ms", shape: NaN)"#,
        &["link 'l1'", "jitter shape NaN is not a number"],
    ),
];

#[test]
fn broken_labs_exit_2_with_a_message_that_says_where() {
    for (what, from, to, words) in BROKEN {
        assert!(
            GOOD.contains(from),
            "{what}: the table's pattern {from:?} is in the good lab"
        );
        let broken = GOOD.replacen(from, to, 1);
        let (code, text) = emulate(&["check"], Some(&broken));
        assert_eq!(code, 2, "{what}: {text}");
        assert!(!text.contains("panicked"), "{what}: {text}");
        for w in *words {
            assert!(text.contains(w), "{what}: expected {w:?} in: {text}");
        }
    }
}

#[test]
fn a_misspelt_name_gets_a_suggestion_and_no_follow_on_problems() {
    // h1's link names "hl": h1 is then on no link and its gateway on none of its subnets, but
    // those follow from the typo and are not reported on top of it.
    let broken = GOOD.replacen(r#"(node: "h1","#, r#"(node: "hl","#, 1);
    let (code, text) = emulate(&["check"], Some(&broken));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("(1 problem)"), "{text}");
    assert!(
        text.contains("link 'l1': unknown node 'hl' (did you mean 'h1'?)"),
        "{text}"
    );
    let broken = GOOD.replace(r#"LinkDown("l2")"#, r#"LinkDown("l3")"#);
    let (code, text) = emulate(&["check"], Some(&broken));
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("unknown link 'l3' (did you mean 'l1'?)"),
        "{text}"
    );
}

#[test]
fn a_missing_file_and_bad_usage_exit_2() {
    let (code, text) = emulate(&["check", "/nonexistent/lab.ron"], None);
    assert_eq!(code, 2);
    assert!(text.contains("/nonexistent/lab.ron"), "{text}");
    let (code, _) = emulate(&["--no-such-flag"], None);
    assert_eq!(code, 2);
    let (code, _) = emulate(&[], None);
    assert_eq!(code, 2);
    let (code, text) = emulate(&["--duration", "soon"], Some(GOOD));
    assert_eq!(code, 2, "{text}");
}

/// A lab file's text: the headline lab in the cloud vocabulary, or the low-level lab that sets
/// every field.
fn lab_text(file: &str) -> String {
    std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

const HEADLINE: &str = "topologies/er-vpn-failover.ron";
const LOW_LEVEL: &str = "tests/labs/every-field.ron";

/// Each case: the file, a piece of its text, what replaces it, and words the error must hold.
fn refused_with(cases: &[(&str, &str, &str, &str)]) {
    for (file, from, to, words) in cases {
        let lab = lab_text(file);
        assert!(lab.contains(from), "{file}: {from}");
        let (code, text) = emulate(&["check"], Some(&lab.replacen(from, to, 1)));
        assert_eq!(code, 2, "{to}: {text}");
        assert!(!text.contains("panicked"), "{text}");
        assert!(text.contains(words), "expected {words:?} in: {text}");
    }
}

#[test]
fn misspelt_tunnels_gateways_and_peers_get_suggestions() {
    refused_with(&[
        (
            LOW_LEVEL,
            r#"prefix: "10.20.255.30/32", via: "s2s""#,
            r#"prefix: "10.20.255.30/32", via: "s2z""#,
            "next hop 's2z' is neither an IPv4 address nor a tunnel of 'edge' (did you mean 's2s'?)",
        ),
        (
            LOW_LEVEL,
            r#"gateway: "ergw", bandwidth"#,
            r#"gateway: "ergv", bandwidth"#,
            "gateway 'ergv' is not a router in the lab (did you mean 'ergw'?)",
        ),
        (
            LOW_LEVEL,
            r#"ce: "edge", gateway"#,
            r#"ce: "edgy", gateway"#,
            "ce 'edgy' is not a router with `bgp` in the lab (did you mean 'edge'?)",
        ),
        (
            LOW_LEVEL,
            r#"ce: "edge", gateway"#,
            r#"ce: "router", gateway"#,
            "ce 'router' is not a router with `bgp` in the lab (there are: edge, vpngw, ergw, vnet)",
        ),
        (
            LOW_LEVEL,
            r#"(node: "vnet", ip: "10.20.254.6", weight"#,
            r#"(node: "vnet", ip: "10.20.254.66", weight"#,
            "10.20.254.66 is not an address of 'vnet' (did you mean '10.20.254.6'?)",
        ),
        (
            LOW_LEVEL,
            r#"(at: "8s", action: CircuitUp("er")),"#,
            r#"(at: "8s", action: CircuitUp("er")), (at: "9s", action: BgpReset(router: "vnet", peer: "10.20.254.55")),"#,
            "'vnet' has no BGP session with 10.20.254.55 (did you mean '10.20.254.5'?)",
        ),
        (
            HEADLINE,
            r#"gateway: "ergw", circuit: "er")"#,
            r#"gateway: "ergw", circuit: "ee")"#,
            "connection 'er-conn': unknown circuit 'ee' (did you mean 'er'?)",
        ),
        (
            HEADLINE,
            r#"SiteToSite(name: "s2s", gateway: "vpngw""#,
            r#"SiteToSite(name: "s2s", gateway: "vpngv""#,
            "connection 's2s': unknown gateway 'vpngv' (did you mean 'vpngw'?)",
        ),
        (
            HEADLINE,
            r#"local: "onprem""#,
            r#"local: "onprm""#,
            "connection 's2s': unknown local gateway 'onprm' (did you mean 'onprem'?)",
        ),
        (
            HEADLINE,
            r#"(name: "ergw", vnet: "vnet""#,
            r#"(name: "ergw", vnet: "vnets""#,
            "gateway 'ergw': unknown vnet 'vnets' (did you mean 'vnet'?)",
        ),
        (
            HEADLINE,
            r#"vms: [(node: "azure-vm""#,
            r#"vms: [(node: "azure-wm""#,
            "VM 'azure-wm' is not a node of the lab (did you mean 'azure-vm'?)",
        ),
    ]);
}

#[test]
fn extreme_control_plane_timers_are_refused_with_their_range() {
    refused_with(&[
        (
            HEADLINE,
            "bgp: (asn: 65001, originate",
            r#"bgp: (asn: 65001, connect_retry: "0ns", originate"#,
            "router 'edge': connect_retry 0ns is outside 100ms..=65535s",
        ),
        (
            LOW_LEVEL,
            r#"(a: (node: "edge", ip: "172.16.255.1", local_pref: 100)"#,
            r#"(a: (node: "edge", ip: "172.16.255.1", local_pref: 100, hold: "18446744073709551615ns")"#,
            "hold 18446744073709551615ns is outside 0ns..=65535s",
        ),
        (
            HEADLINE,
            r#"delay: "2ms", backbone_delay"#,
            r#"delay: "2ms", bfd: (interval: "1ns"), backbone_delay"#,
            "bfd interval 1ns is outside 1ms..=60s",
        ),
        (
            HEADLINE,
            "cipher: AesGcm)",
            r#"cipher: AesGcm, dpd: (interval: "1ns", timeout: "45s"))"#,
            "tunnel 's2s': DPD interval 1ns is outside 100ms..=3600s",
        ),
    ]);
}

#[test]
fn an_output_that_cannot_be_written_is_refused_before_the_run() {
    // A directory, and a path under a regular file: exit 2 with the path, and no report (the
    // run never started).
    let file = std::env::temp_dir().join(format!("hybridlab-plain-{}", std::process::id()));
    std::fs::write(&file, "").unwrap();
    let under_file = file.join("out.json");
    let dir = std::env::temp_dir();
    for (flag, path) in [
        ("--json", dir.to_str().unwrap()),
        ("--junit", under_file.to_str().unwrap()),
    ] {
        let (code, text) = emulate(&[flag, path], Some(GOOD));
        assert_eq!(code, 2, "{flag} {path}: {text}");
        assert!(
            text.contains(path) && text.contains("cannot write"),
            "{text}"
        );
        assert!(!text.contains("Report"), "nothing ran: {text}");
    }
    // A missing folder is made.
    let nested = file.with_extension("d").join("deeper/out.json");
    let (code, text) = emulate(&["--quiet", "--json", nested.to_str().unwrap()], Some(GOOD));
    assert_eq!(code, 0, "{text}");
    assert!(nested.exists());
    std::fs::remove_dir_all(file.with_extension("d")).ok();
    std::fs::remove_file(&file).ok();
}

#[test]
fn a_closed_pipe_ends_quietly_and_a_full_device_is_an_error() {
    let path = std::env::temp_dir().join(format!("hybridlab-pipe-{}.ron", std::process::id()));
    std::fs::write(&path, GOOD).unwrap();
    // The reader goes away before the report is printed (`emulate lab.ron | head -0`).
    let mut child = Command::new(env!("CARGO_BIN_EXE_emulate"))
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "{stderr}"
    );
    // A full device is a failure the user must hear of.
    if let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
        let out = Command::new(env!("CARGO_BIN_EXE_emulate"))
            .arg(&path)
            .stdout(full)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("cannot write to standard output"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    std::fs::remove_file(&path).ok();
}

#[test]
fn a_file_that_is_not_utf8_gets_the_line_and_column_of_the_first_bad_byte() {
    let path = std::env::temp_dir().join(format!("hybridlab-latin1-{}.ron", std::process::id()));
    let mut bytes = GOOD.replacen("good", "gööd", 1).into_bytes();
    // "ö" in Latin-1, as an editor with the wrong encoding saves it.
    let at = bytes.windows(2).position(|w| w == "ö".as_bytes()).unwrap();
    bytes.splice(at..at + 2, [0xf6]);
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_emulate"))
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).ok();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    // Line 2 is `    name: "gööd",`: the bad byte is its 13th character.
    assert!(text.contains(":2:13: byte 0xf6 is not UTF-8"), "{text}");
}

#[test]
fn names_are_printable_and_nothing_reaches_the_terminal_raw() {
    // A node named with a terminal escape that would clear the screen.
    let broken = GOOD
        .replace(r#""r1""#, "\"r\u{1b}[2J1\"")
        .replace(r#"name: "good""#, "name: \"go\nod\"");
    let (code, text) = emulate(&["check"], Some(&broken));
    assert_eq!(code, 2, "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "the escape reached the terminal: {text:?}"
    );
    assert!(text.contains("control character U+001B"), "{text}");
    assert!(text.contains("control character U+000A"), "{text}");
    // Escaped where it is echoed.
    assert!(text.contains(r"node 'r\u{1b}[2J1'"), "{text}");
}

#[test]
fn values_echoed_in_messages_have_their_control_characters_escaped() {
    // An address and a route's prefix holding a newline and a tab: each problem stays one line
    // and shows the value as written, escaped.
    let broken = GOOD.replace(r#"ip: "10.1.0.10/24""#, "ip: \"\n\"").replace(
        "routes: [],",
        "routes: [(node: \"h1\", prefix: \"10.9.\t0.0/16\", via: \"10.1.0.1\")],",
    );
    let lab = common_lab_error(&broken);
    for line in lab.lines().skip(1) {
        assert!(
            line.starts_with("  - "),
            "a problem broken over lines: {lab:?}"
        );
    }
    assert!(lab.contains(r"'\n'"), "{lab}");
    assert!(lab.contains(r"10.9.\t0.0/16"), "{lab}");
    assert!(!lab.contains('\t'), "{lab:?}");
    let (code, text) = emulate(&["check"], Some(&broken));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains(r"'\n'"), "{text}");
}

/// The message the library gives for invalid lab text.
fn common_lab_error(text: &str) -> String {
    match hybridlab::input::load_str(text, std::path::Path::new("t.ron")) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const ZERO_TIME: &str = r#"(
    name: "zero", duration: "1s",
    nodes: [Host(name: "a"), Host(name: "b")],
    links: [(name: "wire", a: (node: "a", ip: "10.0.0.1/24"), b: (node: "b", ip: "10.0.0.2/24"))],
    apps: [(name: "bulk", from: "a", to: "b", traffic: TcpBulk())],
)"#;

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn a_run_that_would_never_end_is_refused_before_it_starts() {
    // TCP over a link with neither delay nor rate moves data without limit at time 0: the
    // estimate says so, and names the app and what to change.
    let (code, text) = emulate(&["check"], Some(ZERO_TIME));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("app 'bulk'"), "{text}");
    assert!(text.contains("events without limit"), "{text}");
    assert!(
        text.contains("give a link of the path a delay or a rate"),
        "{text}"
    );
    let (code, text) = emulate(&[], Some(ZERO_TIME));
    assert_eq!(code, 2, "{text}");
    // Past the estimate (a library user running it anyway), the engine stops the run where
    // virtual time stopped and says so.
    let lab = hybridlab::input::load_str(ZERO_TIME, std::path::Path::new("zero.ron")).unwrap();
    let mut sim = hybridlab::sim::Sim::new(&lab);
    sim.run_until(lab.duration);
    assert_eq!(sim.stalled(), Some(0));
    let s = sim.finish().summary(None);
    assert_eq!(s.stalled_at_us, Some(0.0));
    assert!(hybridlab::export::report::render(&s).contains("STOPPED at 0ns"));
    // A sweep or a comparison run without a budget gives no figures from such a run: it is
    // refused, naming the run and why it stopped.
    let file = std::env::temp_dir().join(format!("zero-{}.ron", std::process::id()));
    std::fs::write(&file, ZERO_TIME).unwrap();
    let plan = hybridlab::drivers::sweep::Plan {
        seeds: vec![1],
        axes: Vec::new(),
        shard: None,
        duration: None,
        budget: None,
    };
    let swept = hybridlab::drivers::sweep::run(&file, &plan, 2, &|_| {});
    let compared = hybridlab::drivers::compare::run(std::slice::from_ref(&file), None);
    std::fs::remove_file(&file).ok();
    let Err(e) = swept else {
        panic!("a sweep of a stopped run was accepted")
    };
    let e = e.to_string();
    assert!(
        e.contains("the run with seed 1 stopped early, so the sweep gives no figures")
            && e.contains("virtual time stopped advancing"),
        "{e}"
    );
    let Err(e) = compared else {
        panic!("a comparison of a stopped run was accepted")
    };
    let e = e.to_string();
    assert!(e.contains("stopped early, so it is not compared"), "{e}");
}

#[test]
fn a_run_over_its_budget_is_refused_with_what_costs_most() {
    let (code, text) = emulate(&["--budget", "memory=1MiB"], Some(GOOD));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("lab 'good' is refused"), "{text}");
    assert!(text.contains("over the budget of 1MiB"), "{text}");
    assert!(text.contains("app 'p': "), "{text}");
    assert!(text.contains("--budget memory=SIZE"), "{text}");
    let (code, text) = emulate(&["--budget", "events=100"], Some(GOOD));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("over the budget of 1.00e2"), "{text}");
    // check reports the estimate, and a budget that fits runs.
    let (code, text) = emulate(&["check"], Some(GOOD));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("estimated cost: about"), "{text}");
    let (code, text) = emulate(&["--quiet", "--budget", "memory=1GiB"], Some(GOOD));
    assert_eq!(code, 0, "{text}");
    let (code, text) = emulate(&["--budget", "disk=1GiB"], Some(GOOD));
    assert_eq!(code, 2, "{text}");
}

#[test]
fn capture_flags_are_checked_before_the_run() {
    let dir = std::env::temp_dir().join(format!("hybridlab-pcap-cli-{}", std::process::id()));
    // An unknown link gets a suggestion; --pcap-links needs --pcap.
    let (code, text) = emulate(
        &["--pcap", dir.to_str().unwrap(), "--pcap-links", "l1,l3"],
        Some(GOOD),
    );
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("the lab has no link 'l3' (did you mean 'l1'?)"),
        "{text}"
    );
    let (code, _) = emulate(&["--pcap-links", "l1"], Some(GOOD));
    assert_eq!(code, 2);
    let (code, text) = emulate(
        &["--csv", dir.to_str().unwrap(), "--interval", "150ms"],
        Some(GOOD),
    );
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("multiples of 100ms"), "{text}");
    // A folder under a file cannot be made.
    let file = dir.with_extension("file");
    std::fs::write(&file, "").unwrap();
    let (code, text) = emulate(&["--pcap", file.join("caps").to_str().unwrap()], Some(GOOD));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("cannot write the captures"), "{text}");
    // The chosen links, and a line saying what was written.
    let (code, text) = emulate(
        &["--pcap", dir.to_str().unwrap(), "--pcap-links", "l2"],
        Some(GOOD),
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("pcap: ") && text.contains(" in 1 file, "),
        "{text}"
    );
    assert!(dir.join("l2.pcap").exists() && !dir.join("l1.pcap").exists());
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_file(&file).ok();
}
