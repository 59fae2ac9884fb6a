//! Exports: captures and series that watch a run without changing it.

use crate::common;
use common::*;
use hybridlab::analysis::Summarize;
use hybridlab::export::pcap::{PcapExport, PcapOptions};
use hybridlab::observe::Observer;
use pcap_file::pcap::PcapReader;
use std::path::{Path, PathBuf};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hybridlab-export-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn pcap(lab: &hybridlab::lab::model::Lab, dir: &Path, snaplen: u32, max: u64) -> Box<dyn Observer> {
    let options = PcapOptions {
        dir: dir.to_path_buf(),
        links: Vec::new(),
        snaplen,
        max_bytes: max,
    };
    Box::new(PcapExport::create(lab, &options).unwrap())
}

/// (packets sent a->b, packets sent b->a, timestamps in order) of a capture.
fn read_capture(path: &Path) -> (u64, u64, bool) {
    let mut reader = PcapReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let header = reader.header();
    assert_eq!(header.datalink, pcap_file::DataLink::LINUX_SLL);
    assert_eq!(header.ts_resolution, pcap_file::TsResolution::NanoSecond);
    let (mut ab, mut ba, mut last, mut ordered) = (0, 0, 0u64, true);
    // Raw records: pcap-file 2.0 refuses a packet longer than the snap length as a whole,
    // which libpcap and Wireshark read (that is what the snap length is for).
    while let Some(p) = reader.next_raw_packet() {
        let p = p.unwrap();
        assert!(p.incl_len <= header.snaplen && p.incl_len <= p.orig_len);
        match u16::from_be_bytes([p.data[0], p.data[1]]) {
            4 => ab += 1,
            0 => ba += 1,
            other => panic!("packet type {other}"),
        }
        // The IPv4 packet follows the 16-byte cooked header.
        assert_eq!(p.data[16] >> 4, 4, "IPv4");
        let at = u64::from(p.ts_sec) * 1_000_000_000 + u64::from(p.ts_frac);
        ordered &= at >= last;
        last = at;
    }
    (ab, ba, ordered)
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn every_link_capture_holds_what_the_link_delivered_in_both_directions() {
    let mut lab = lab(&topology("er-vpn-failover.ron"));
    lab.cut_short(25_000_000_000);
    let dir = temp_dir("counts");
    // Headers only, and room for all of them.
    let export = pcap(&lab, &dir, 128, 4 << 30);
    let (r, written) = hybridlab::sim::run_with_exports(&lab, vec![export]).unwrap();
    assert!(written[0].starts_with("pcap: "), "{written:?}");
    for l in &r.links {
        let path = hybridlab::export::pcap::capture_path(&dir, &l.name);
        let (ab, ba, ordered) = read_capture(&path);
        assert_eq!(ab, l.dirs[0].delivered_packets, "{} a->b", l.name);
        assert_eq!(ba, l.dirs[1].delivered_packets, "{} b->a", l.name);
        assert!(ordered, "{}: timestamps in order", l.name);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_capture_stops_at_its_share_of_the_limit_and_says_when() {
    let lab = lab(&topology("point-to-point.ron"));
    let dir = temp_dir("limit");
    let (_, written) =
        hybridlab::sim::run_with_exports(&lab, vec![pcap(&lab, &dir, 65535, 1 << 20)]).unwrap();
    assert!(
        written[0].contains("stopped when a file held its share"),
        "{written:?}"
    );
    for f in std::fs::read_dir(&dir).unwrap() {
        let len = f.unwrap().metadata().unwrap().len();
        assert!(len <= 1 << 20, "{len}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn exports_never_change_what_a_run_computes() {
    // Every shipped lab (its first 25 s), with and without every export on (captures and
    // series): the same JSON.
    for file in shipped_labs() {
        let mut lab = hybridlab::input::load(&file).unwrap();
        lab.cut_short(lab.duration.min(25_000_000_000));
        let json =
            |r: &hybridlab::results::Results| serde_json::to_string(&r.summary(None)).unwrap();
        let plain = json(&hybridlab::sim::run(&lab));
        let dir = temp_dir("same");
        let (observed, _) =
            hybridlab::sim::run_with_exports(&lab, vec![pcap(&lab, &dir, 65535, 64 << 20)])
                .unwrap();
        assert_eq!(plain, json(&observed), "{}", file.display());
        std::fs::remove_dir_all(&dir).ok();
    }
}

/// How many packets of the capture at `path` match the display filter, by tshark. OpenVPN on
/// TCP 443 is what Azure's point-to-site runs; Wireshark needs telling ("Decode As"), as it
/// would for a real capture.
fn tshark_count(path: &Path, filter: &str) -> usize {
    let openvpn = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("bob-"));
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(if openvpn {
            &["-d", "tcp.port==443,openvpn"][..]
        } else {
            &[]
        })
        .args(["-Y", filter])
        .output()
        .expect("tshark runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// Wireshark reads what we write: the failover lab's BGP UPDATEs and BFD packets, ESP and
/// probes, and a small VPN's IKE liveness checks and NAT-T ESP, with no malformed packet. Runs
/// where tshark is installed (`.ci/run` installs it).
#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn tshark_decodes_every_kind_of_packet_we_send() {
    if std::process::Command::new("tshark")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("tshark is not installed: skipped");
        return;
    }
    let mut failover = lab(&topology("er-vpn-failover.ron"));
    failover.cut_short(25_000_000_000);
    // IKE over UDP 500 while the tunnel is idle (DPD every second), then ESP in UDP 4500.
    let vpn = lab(r#"(
        name: "natt", duration: "6s",
        nodes: [Host(name: "h1", gateway: "10.1.0.1"), Router(name: "dev"), Router(name: "gw"),
                Host(name: "vm", gateway: "10.20.0.1")],
        links: [
            (name: "lan", a: (node: "h1", ip: "10.1.0.10/24"), b: (node: "dev", ip: "10.1.0.1/24")),
            (name: "wan", a: (node: "dev", ip: "203.0.113.1/30"), b: (node: "gw", ip: "203.0.113.2/30"), delay: "5ms"),
            (name: "vnet", a: (node: "gw", ip: "10.20.0.1/24"), b: (node: "vm", ip: "10.20.0.10/24")),
        ],
        tunnels: [(name: "t", a: (node: "dev", ip: "203.0.113.1"), b: (node: "gw", ip: "203.0.113.2"),
                   nat_t: true, dpd: (interval: "1s", timeout: "10s"))],
        routes: [(node: "dev", prefix: "10.20.0.0/16", via: "t"), (node: "gw", prefix: "10.1.0.0/16", via: "t")],
        apps: [(name: "ping", from: "h1", to: "vm", start: "3s", traffic: Ping(interval: "100ms")),
               (name: "web", from: "h1", to: "vm", start: "3s",
                traffic: TcpRequestResponse(request: "500B", response: "20KiB", interval: "200ms"))],
    )"#);
    // A BGP session reset: NOTIFICATION (Cease), then the session comes back.
    let reset = lab(r#"(
        name: "reset", duration: "8s",
        nodes: [Router(name: "r1", bgp: (asn: 65001, originate: ["10.1.0.0/24"])),
                Router(name: "r2", bgp: (asn: 65002, originate: ["10.2.0.0/24"]))],
        links: [(name: "wan", a: (node: "r1", ip: "192.168.0.1/30"), b: (node: "r2", ip: "192.168.0.2/30"), delay: "5ms")],
        bgp_sessions: [(a: (node: "r1", ip: "192.168.0.1"), b: (node: "r2", ip: "192.168.0.2"))],
        faults: [(at: "2s", action: BgpReset(router: "r1", peer: "192.168.0.2"))],
    )"#);
    // Point-to-site over IKEv2, OpenVPN (bob) and SSTP, on clean home links (a capture of a
    // lossy link misses the lost segments, and a TCP stream with holes cannot be reassembled).
    let mut p2s = lab(&topology("p2s-clients.ron").replace(", loss: Bernoulli(0.01)", ""));
    p2s.cut_short(3_000_000_000);
    let mut checks: Vec<(PathBuf, &str, bool)> = Vec::new();
    let dir = temp_dir("tshark");
    for (name, lab) in [
        ("failover", &failover),
        ("natt", &vpn),
        ("reset", &reset),
        ("p2s", &p2s),
    ] {
        let d = dir.join(name);
        // 8 MiB a file: the sessions come up in the first milliseconds.
        hybridlab::sim::run_with_exports(lab, vec![pcap(lab, &d, 65535, 80 << 20)]).unwrap();
        for l in &lab.links {
            checks.push((
                hybridlab::export::pcap::capture_path(&d, &l.name),
                "_ws.malformed || _ws.expert.severity >= error",
                false,
            ));
        }
    }
    let at = |lab: &str, link: &str| hybridlab::export::pcap::capture_path(&dir.join(lab), link);
    for (path, filter) in [
        (
            at("failover", "er-primary"),
            "bgp.type == 2 && bgp.nlri_prefix",
        ),
        (at("failover", "er-primary"), "bgp.type == 1"),
        (at("failover", "er-primary"), "bgp.type == 4"),
        (
            at("failover", "er-primary"),
            "bgp.update.path_attribute.as_path_segment",
        ),
        (
            at("reset", "wan"),
            "bgp.type == 3 && bgp.notify.major_error == 6",
        ),
        (at("failover", "er-primary"), "bfd.sta == 3"),
        (at("failover", "isp-onprem"), "esp.spi"),
        (at("failover", "lan"), "udp && !esp"),
        (at("failover", "lan"), "tcp.analysis.bytes_in_flight"),
        (at("natt", "wan"), "isakmp.exchangetype == 37"),
        (at("natt", "wan"), "udp.port == 4500 && esp"),
        (at("natt", "lan"), "icmp.type == 8"),
        (at("p2s", "alice-home"), "udp.port == 4500 && esp"),
        (at("p2s", "bob-home"), "openvpn.opcode == 0x09"),
        (at("p2s", "carol-home"), "tls.record.content_type == 23"),
    ] {
        checks.push((path, filter, true));
    }
    for (path, filter, wanted) in checks {
        let n = tshark_count(&path, filter);
        assert_eq!(n > 0, wanted, "{}: {filter}: {n} packets", path.display());
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The rows of a CSV file as fields, without its header.
fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn the_series_add_up_to_the_runs_counters() {
    let mut lab = lab(&topology("er-vpn-failover.ron"));
    lab.cut_short(25_050_000_000);
    let dir = temp_dir("series");
    let series = hybridlab::export::series::SeriesExport::create(&lab, &dir, 200_000_000).unwrap();
    let (r, written) = hybridlab::sim::run_with_exports(&lab, vec![Box::new(series)]).unwrap();
    hybridlab::export::series::write_goodput(&dir, 200_000_000, &r).unwrap();
    // 25.05 s in 200 ms intervals: 126 rows per link direction, the last one partial.
    assert!(written[0].contains("126 intervals of 200ms"), "{written:?}");
    let links = csv_rows(&dir.join("links.csv"));
    assert_eq!(links.len(), 126 * 2 * r.links.len());
    let n = |row: &Vec<String>, k: usize| row[k].parse::<u64>().unwrap();
    for l in &r.links {
        for (d, name) in ["a->b", "b->a"].iter().enumerate() {
            let rows: Vec<_> = links
                .iter()
                .filter(|row| row[1] == l.name && row[2] == *name)
                .collect();
            let sum = |k: usize| rows.iter().map(|row| n(row, k)).sum::<u64>();
            let st = &l.dirs[d];
            assert_eq!(sum(3), st.offered_packets, "{} {name}", l.name);
            assert_eq!(sum(4), st.delivered_packets, "{} {name}", l.name);
            assert_eq!(sum(5), st.delivered_bytes, "{} {name}", l.name);
            let drops = [st.drops.queue, st.drops.loss, st.drops.mtu, st.drops.down];
            for (k, want) in drops.iter().enumerate() {
                assert_eq!(sum(6 + k), *want, "{} {name} drop {k}", l.name);
            }
            let peak = rows.iter().map(|row| n(row, 10)).max().unwrap_or(0);
            assert!(
                peak <= u64::from(st.peak_queue_packets),
                "{} {name}",
                l.name
            );
        }
    }
    // Probe answers, with the app's exact minimum round trip.
    let probe = r.apps.iter().find(|a| a.name == "probe").unwrap();
    let rows: Vec<_> = csv_rows(&dir.join("probes.csv"))
        .into_iter()
        .filter(|row| row[1] == "probe")
        .collect();
    let answers: u64 = rows.iter().map(|row| n(row, 2)).sum();
    assert_eq!(answers, probe.probes().unwrap().returned);
    let min = rows
        .iter()
        .filter_map(|row| row[3].parse::<f64>().ok())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(min, probe.probes().unwrap().rtt.min().unwrap() as f64 / 1e3);
    // The failover shows as intervals with no answer after the fault at 20 s.
    assert!(rows
        .iter()
        .any(|row| row[0].starts_with("20.") && row[2] == "0"));
    // The HdrHistogram interval log holds the same answers, and the largest round trip
    // (interval maxima are bucket tops, within 0.1% above the exact value).
    let log = std::fs::read(dir.join("probe.hlog")).unwrap();
    let mut decoder = hdrhistogram::serialization::Deserializer::new();
    let (mut counted, mut top) = (0u64, 0f64);
    for entry in hdrhistogram::serialization::interval_log::IntervalLogIterator::new(&log) {
        if let hdrhistogram::serialization::interval_log::LogEntry::Interval(h) = entry.unwrap() {
            top = top.max(h.max());
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(h.encoded_histogram())
                .unwrap();
            let hist: hdrhistogram::Histogram<u64> = decoder
                .deserialize(&mut std::io::Cursor::new(bytes))
                .unwrap();
            counted += hist.len();
        }
    }
    assert_eq!(counted, probe.probes().unwrap().returned);
    let max = probe.probes().unwrap().rtt.max().unwrap() as f64;
    assert!(top >= max && top <= max * 1.001, "{top} vs {max}");
    // Every fault, control event and route change, in time order.
    let events = csv_rows(&dir.join("events.csv"));
    let count = |kind: &str| events.iter().filter(|e| e[1] == kind).count();
    assert_eq!(count("control"), r.control.len());
    assert_eq!(count("route"), r.route_changes.len());
    assert_eq!(count("fault"), r.faults.len());
    let times: Vec<f64> = events.iter().map(|e| e[0].parse().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    // Goodput per interval adds up to what the receiver read.
    let bulk = r.apps.iter().find(|a| a.name == "bulk").unwrap();
    let goodput: Vec<_> = csv_rows(&dir.join("goodput.csv"))
        .into_iter()
        .filter(|row| row[1] == "bulk")
        .collect();
    let bytes: u64 = goodput.iter().map(|row| n(row, 2)).sum();
    assert_eq!(bytes, bulk.bulk().unwrap().bytes_received);
    // A full interval's rate is its bytes over 200 ms.
    let row = &goodput[10];
    let bps: f64 = row[3].parse().unwrap();
    assert!((bps - n(row, 2) as f64 * 8.0 / 0.2).abs() <= 0.5, "{row:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn the_plots_show_each_phase_the_failover_and_the_queues() {
    let lab = lab(&topology("er-vpn-failover.ron"));
    let dir = temp_dir("svg");
    let (observer, queues) =
        hybridlab::observe::Shared::attach(hybridlab::export::plots::QueueSamples::new(&lab));
    let (r, _) = hybridlab::sim::run_with_exports(&lab, vec![observer]).unwrap();
    let files =
        hybridlab::export::plots::write_svgs(&dir, &lab, &r, &queues.lock().unwrap()).unwrap();
    let text = |name: &str| {
        let path = dir.join(name);
        assert!(files.contains(&path), "{name}: {files:?}");
        let svg = std::fs::read_to_string(path).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        svg
    };
    // A CDF curve per phase.
    let latency = text("latency-probe.svg");
    for phase in ["start", "after circuit er down", "after circuit er up"] {
        assert!(latency.contains(phase), "{phase}");
    }
    // The failover marked on the goodput: fault, detection, route changes, restoration.
    let goodput = text("goodput-bulk.svg");
    for label in [
        "20.000 s  fault: circuit er down",
        "detected by BFD at ", // whichever end notices first: BFD jitters
        "5 route changes",
        "bulk restored",
    ] {
        assert!(goodput.contains(label), "{label}");
    }
    // Each fault's timeline names its steps and every app's outage.
    let timeline = text("timeline-1.svg");
    for label in [
        "detection",
        "route changes",
        "probe",
        "bulk",
        "web",
        "new path",
        "restored (",
    ] {
        assert!(timeline.contains(label), "{label}");
    }
    // A queue chart for a link whose queue held packets (the internet, in the VPN period),
    // none for one whose never did.
    text("queue-isp-onprem.svg");
    assert!(!dir.join("queue-vpngw-vnet.svg").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_drawing_puts_on_premises_left_the_provider_edge_in_the_middle_and_the_cloud_right() {
    let lab = lab(&topology("er-vpn-failover.ron"));
    let places = hybridlab::export::draw::layout(&lab);
    let column = |name: &str| {
        let i = lab.nodes.iter().position(|n| n.name == name).unwrap();
        places[i].0
    };
    let order = [
        "onprem-host",
        "edge",
        "internet",
        "vpngw",
        "vnet",
        "azure-vm",
    ];
    for w in order.windows(2) {
        assert!(column(w[0]) < column(w[1]), "{} before {}", w[0], w[1]);
    }
    assert_eq!(
        column("er-msee1"),
        column("internet"),
        "the provider edge in the middle"
    );
    assert_eq!(
        column("ergw"),
        column("vpngw"),
        "both gateways on the cloud side"
    );
    // No two nodes share a place, and the drawing names every node, link and tunnel.
    let mut seen = places.clone();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), places.len());
    let svg = hybridlab::export::draw::topology_svg(&lab).unwrap();
    for n in &lab.nodes {
        assert!(svg.contains(&n.name), "{}", n.name);
    }
    assert!(svg.contains("isp-onprem: 12ms, 500.00 Mbps"));
    assert!(svg.contains("tunnel s2s"));
}

fn all_nodes(lab: &hybridlab::lab::model::Lab) -> Vec<hybridlab::substrate::ids::NodeId> {
    (0..lab.nodes.len())
        .map(hybridlab::substrate::ids::NodeId)
        .collect()
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn the_html_report_is_one_self_contained_page_with_everything() {
    let text = topology("er-vpn-failover.ron");
    let lab = lab(&text);
    let (observer, queues) =
        hybridlab::observe::Shared::attach(hybridlab::export::plots::QueueSamples::new(&lab));
    let (r, _) = hybridlab::sim::run_with_exports(&lab, vec![observer]).unwrap();
    let summary = r.summary(None);
    let outcomes = hybridlab::analysis::expect::check(&lab, &summary);
    let page = hybridlab::export::html::report(
        &lab,
        &text,
        &r,
        &summary,
        &outcomes,
        &queues.lock().unwrap(),
        &hybridlab::routing::settled_routes(&lab, &all_nodes(&lab)),
    )
    .unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
    // Nothing to fetch and nothing to run: the only URLs are SVG's namespace, the only links
    // within the page.
    for bad in ["<script", "<img", "<link", "src=", "@import"] {
        assert!(!page.contains(bad), "{bad}");
    }
    assert_eq!(
        page.matches("href=").count(),
        page.matches("href=\"#").count()
    );
    let urls = page.matches("http").count();
    assert_eq!(urls, page.matches("http://www.w3.org/2000/svg").count());
    // The lab's name and notes, the topology, both failovers' timelines and every plot.
    assert!(page.contains("<h1>er-vpn-failover</h1>"));
    assert!(
        page.contains("ExpressRoute as the primary path"),
        "teaching notes"
    );
    assert_eq!(
        page.matches("<svg").count(),
        1 + 11,
        "topology and 11 charts"
    );
    // The routing: the VM's effective routes and the gateways' learned routes, converged and
    // after each fault; the route to on premises new after the failure (through the VPN
    // gateway), and the failover timeline's route changes linking to the rows they changed.
    assert_eq!(
        page.matches("<h4>Effective routes of VM azure-vm</h4>")
            .count(),
        3
    );
    assert!(page.contains("<h4>Learned routes of gateway vpngw</h4>"));
    assert!(page.contains("<td><mark>new</mark> VirtualNetworkGateway</td><td>Active</td><td>10.1.0.0/16</td><td>VirtualNetworkGateway</td><td>10.20.254.5</td>"));
    let link = "<a href=\"#route-1-vnet-10-1-0-0-16\">vnet moves 10.1.0.0/16</a>";
    assert!(
        page.contains(link),
        "the circuit's failure moves the VNet's route"
    );
    for href in page.split("href=\"#").skip(1) {
        let id = &href[..href.find('"').unwrap()];
        assert!(
            page.contains(&format!("id=\"{id}\"")),
            "a link to {id} with no row"
        );
    }
    for text in [
        "detected by BFD at ", // whichever end notices first: BFD jitters
        "circuit er down at 20.000 s",
        "<th>goodput (Mbps)</th>",
        "isp-onprem",
        "expectations",
    ] {
        assert!(page.contains(text), "{text}");
    }
    // Where a browser is installed, it renders the page with its content.
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok()
        });
    if let Some(browser) = browser {
        let file = temp_dir("html").with_extension("html");
        std::fs::write(&file, &page).unwrap();
        let out = std::process::Command::new(browser)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
            .arg(format!("file://{}", file.display()))
            .output()
            .unwrap();
        let dom = String::from_utf8_lossy(&out.stdout);
        assert!(
            dom.contains("er-vpn-failover") && dom.matches("<svg").count() >= 12,
            "{dom:.200}"
        );
        std::fs::remove_file(&file).ok();
    }
}
