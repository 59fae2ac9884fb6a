//! `emulate path`: the hop-by-hop path of a packet with a given 5-tuple at one instant of a
//! run, and of its answer, with a warning when the two differ; for a UDP probe app's own flow,
//! what its next probe measured and which links it crossed, beside what the path says.

use super::text::table;
use crate::app::client_port;
use crate::lab::model::{host_addresses, Lab, Traffic};
use crate::sim::path::{End, Flow, Path, Proto};
use crate::sim::Sim;
use crate::substrate::engine::Time;
use crate::units::format_nanos;
use serde::Serialize;
use std::fmt::Write;
use std::net::Ipv4Addr;

/// Source port of a flow that is no app's (the first of the dynamic range, RFC 6335).
pub const DEFAULT_SOURCE_PORT: u16 = crate::lab::model::CLIENT_PORT_BASE;
/// Payload of a traced packet that is no app's, in bytes.
pub const DEFAULT_PAYLOAD: usize = 64;
/// How long after the instant asked about a probe app's next probe is looked for.
const PROBE_WINDOW: Time = 10_000_000_000;

/// What `emulate path` is asked.
#[derive(Debug, Clone)]
pub struct Request {
    pub from: String,
    pub to: Ipv4Addr,
    /// `None`: once the control plane has converged.
    pub at: Option<Time>,
    pub proto: Proto,
    pub port: Option<u16>,
    pub sport: Option<u16>,
    pub size: Option<usize>,
}

/// What one probe of the app measured, sent at or just after the instant.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    pub app: String,
    /// When it was sent and its one-way delay, in nanoseconds.
    pub sent: Time,
    pub one_way: Time,
    /// It crossed exactly the links of the path, in order.
    pub same_links: bool,
    /// Its echo's delay back (answered at once at the peer), and whether it crossed exactly
    /// the links of the return path; `None` when it was not answered.
    pub back: Option<(Time, bool)>,
}

/// The answer.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub forward: Path,
    /// The answer's path, from the node that has the address; `None` when none has it.
    pub reverse: Option<Path>,
    /// The two paths cross different links.
    pub asymmetric: bool,
    /// The app whose flow this is, if any.
    pub app: Option<String>,
    /// What was assumed, for the user to see and override.
    pub assumptions: Vec<String>,
    pub measured: Option<Measured>,
}

/// The flow of app `i`'s first packet: its addresses and ports, and its probe's or echo's
/// size (a TCP app's segments: [`DEFAULT_PAYLOAD`] bytes).
pub fn flow_of(lab: &Lab, i: usize) -> Flow {
    let a = &lab.apps[i];
    let (proto, ports, payload) = match a.traffic {
        Traffic::UdpProbe { port, size, .. } => (Proto::Udp, (client_port(i), port), size),
        Traffic::Ping { size, ident, .. } => (Proto::Icmp, (ident, 0), size),
        Traffic::TcpBulk { port, .. } | Traffic::TcpRequestResponse { port, .. } => {
            (Proto::Tcp, (client_port(i), port), DEFAULT_PAYLOAD)
        }
    };
    Flow {
        src: a.from_addr,
        dst: a.to_addr,
        proto,
        ports,
        payload,
    }
}

/// A path in one line: the nodes it crosses and where it ends.
pub fn one_line(p: &Path) -> String {
    let mut nodes: Vec<&str> = p.hops.iter().map(|h| h.node.as_str()).collect();
    let end = match &p.end {
        End::Delivered { node } => {
            nodes.push(node);
            return nodes.join(" > ");
        }
        End::Stopped { node, why } => format!("stops at '{node}': {why}"),
        End::WrongHost { node } => {
            format!("reaches host '{node}', which does not have {}", p.flow.dst)
        }
        End::TooBig { link, bytes, mtu } => {
            format!("too big for link '{link}': {bytes} bytes, MTU {mtu}")
        }
        End::Loop => "a forwarding loop".to_string(),
    };
    if nodes.is_empty() {
        end
    } else {
        format!("{} > {end}", nodes.join(" > "))
    }
}

/// Traces `req` in `lab`.
pub fn path(lab: &Lab, req: &Request) -> Result<Report, String> {
    let names: Vec<&str> = lab.nodes.iter().map(|n| n.name.as_str()).collect();
    let from = names
        .iter()
        .position(|n| *n == req.from)
        .map(crate::substrate::ids::NodeId)
        .ok_or_else(|| {
            format!(
                "--from '{}' is not a node of lab '{}'{}",
                req.from,
                lab.name,
                crate::lab::suggest(&req.from, &names)
            )
        })?;
    let mut assumptions = Vec::new();
    let app = lab.apps.iter().enumerate().find(|(_, a)| {
        a.from == from
            && a.to_addr == req.to
            && match a.traffic {
                Traffic::UdpProbe { port, .. } => {
                    req.proto == Proto::Udp && req.port.is_none_or(|p| p == port)
                }
                Traffic::Ping { .. } => req.proto == Proto::Icmp,
                Traffic::TcpBulk { port, .. } | Traffic::TcpRequestResponse { port, .. } => {
                    req.proto == Proto::Tcp && req.port.is_none_or(|p| p == port)
                }
            }
    });
    let src = match app {
        Some((_, a)) => a.from_addr,
        None => host_addresses(&lab.nodes[from])
            .next()
            .map(|p| p.addr)
            .ok_or_else(|| format!("node '{}' has no address", req.from))?,
    };
    let (app_port, app_size, ident) = match app.map(|(i, a)| (i, a.traffic)) {
        Some((_, Traffic::UdpProbe { port, size, .. })) => (Some(port), Some(size), None),
        Some((_, Traffic::Ping { size, ident, .. })) => (None, Some(size), Some(ident)),
        Some((_, Traffic::TcpBulk { port, .. } | Traffic::TcpRequestResponse { port, .. })) => {
            (Some(port), None, None)
        }
        None => (None, None, None),
    };
    let ports = match req.proto {
        Proto::Icmp => (ident.unwrap_or(0), 0),
        _ => {
            let dport = req.port.or(app_port).ok_or_else(|| {
                format!(
                    "--port is needed: no {} app of '{}' sends to {}",
                    match req.proto {
                        Proto::Tcp => "TCP",
                        _ => "UDP",
                    },
                    req.from,
                    req.to
                )
            })?;
            let sport = match (req.sport, app) {
                (Some(p), _) => p,
                (None, Some((i, _))) => client_port(i),
                (None, None) => {
                    assumptions.push(format!(
                        "source port {DEFAULT_SOURCE_PORT} (no app has this flow; --sport sets it)"
                    ));
                    DEFAULT_SOURCE_PORT
                }
            };
            (sport, dport)
        }
    };
    let payload = match (req.size, app_size) {
        (Some(s), _) => s,
        (None, Some(s)) => s,
        (None, None) => {
            assumptions.push(format!(
                "{DEFAULT_PAYLOAD} bytes of payload (--size sets it)"
            ));
            DEFAULT_PAYLOAD
        }
    };
    if payload > 65_000 {
        return Err(format!("--size {payload}: at most 65000 bytes of payload"));
    }
    let flow = Flow {
        src,
        dst: req.to,
        proto: req.proto,
        ports,
        payload,
    };
    let at = match req.at {
        Some(at) if at > lab.duration => {
            return Err(format!(
                "--at {}: the lab ends at {}",
                format_nanos(at),
                format_nanos(lab.duration)
            ))
        }
        Some(at) => at,
        None => super::converged(lab),
    };
    let mut sim = Sim::new(lab);
    sim.keep_probe_logs();
    sim.run_until(at);
    let forward = sim.trace(from, flow);
    let reverse = sim.node_with(req.to).map(|n| sim.trace(n, flow.reverse()));
    let asymmetric = reverse.as_ref().is_some_and(|r| {
        let mut back = r.links();
        back.reverse();
        forward.delivered() && r.delivered() && back != forward.links()
    });
    let measured = match app {
        Some((i, a)) if matches!(a.traffic, Traffic::UdpProbe { .. }) => {
            sim.run_until(at.saturating_add(PROBE_WINDOW));
            sim.records()[i]
                .probes()
                .and_then(|p| p.log())
                .and_then(|log| {
                    log.iter()
                        .find(|p| p.sent >= at && p.arrived.is_some())
                        .map(|p| Measured {
                            app: a.name.clone(),
                            sent: p.sent,
                            one_way: p.arrived.unwrap_or(p.sent) - p.sent,
                            same_links: p.path_out == forward.id,
                            back: p.arrived.zip(p.returned).map(|(arrived, returned)| {
                                (
                                    returned.saturating_sub(arrived),
                                    reverse.as_ref().is_some_and(|r| r.id == p.path_back),
                                )
                            }),
                        })
                })
        }
        _ => None,
    };
    Ok(Report {
        forward,
        reverse,
        asymmetric,
        app: app.map(|(_, a)| a.name.clone()),
        assumptions,
        measured,
    })
}

fn proto(p: Proto) -> &'static str {
    match p {
        Proto::Udp => "UDP",
        Proto::Tcp => "TCP",
        Proto::Icmp => "ICMP",
    }
}

/// One path as text: a row per link crossed, then where it ends and the one-way delay.
pub fn render_path(p: &Path) -> String {
    let f = &p.flow;
    let mut s = format!(
        "{} {}:{} -> {}:{}, {} bytes of payload, at {}\n",
        proto(f.proto),
        f.src,
        f.ports.0,
        f.dst,
        f.ports.1,
        f.payload,
        format_nanos(p.at)
    );
    let rows: Vec<Vec<String>> = p
        .hops
        .iter()
        .map(|h| {
            let route = match &h.route {
                None => "(sends)".to_string(),
                Some(m) => {
                    let mut r = format!("{} ({:?})", m.prefix, m.source).to_lowercase();
                    if let Some(v) = m.via {
                        let _ = write!(r, " via {v}");
                    }
                    if m.pick.1 > 1 {
                        let _ = write!(r, ", flow hash: {} of {}", m.pick.0 + 1, m.pick.1);
                    }
                    r
                }
            };
            let mut tunnel = String::new();
            if let Some(t) = &h.unwrapped {
                let _ = write!(tunnel, "out of {t}");
            }
            if let Some((t, outer)) = &h.entered {
                if !tunnel.is_empty() {
                    tunnel.push_str("; ");
                }
                let _ = write!(tunnel, "into {t} (outer {})", outer.prefix);
            }
            let mut delay = format_nanos(h.delay);
            if h.jitter {
                delay.push_str(" + jitter");
            }
            vec![
                h.node.clone(),
                route,
                tunnel,
                format!("{} -> {}", h.link, h.to),
                h.bytes.to_string(),
                format_nanos(h.serialization + h.service),
                delay,
            ]
        })
        .collect();
    s.push_str(&table(
        &[
            "Node",
            "Route matched",
            "Tunnel",
            "Link",
            "Bytes",
            "Transmit",
            "Delay",
        ],
        &rows,
    ));
    let end = match &p.end {
        End::Delivered { node } => format!("delivered to '{node}'"),
        End::Stopped { node, why } => format!("stops at '{node}': {why}"),
        End::WrongHost { node } => format!("reaches host '{node}', which does not have {}", f.dst),
        End::TooBig { link, bytes, mtu } => {
            format!("too big for link '{link}': {bytes} bytes, MTU {mtu}")
        }
        End::Loop => "a forwarding loop".to_string(),
    };
    if p.tcp_tunnel() {
        s.push_str("  (a TCP-carried tunnel: sized as one segment with a 20-byte TCP header; its connection's own TCP may hold the packet longer)\n");
    }
    let _ = writeln!(
        s,
        "  {end}; {} {}{}",
        if p.delivered() {
            "one-way delay"
        } else {
            "after"
        },
        format_nanos(p.one_way),
        if p.jitter() {
            " plus the jitter of the links that have it"
        } else {
            ""
        }
    );
    s
}

/// The report as text.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    if let Some(app) = &r.app {
        let _ = writeln!(s, "The flow of app '{app}'.");
    }
    for a in &r.assumptions {
        let _ = writeln!(s, "Assumed: {a}.");
    }
    s.push_str("Forward\n");
    s.push_str(&render_path(&r.forward));
    match &r.reverse {
        Some(back) => {
            s.push_str("Return\n");
            s.push_str(&render_path(back));
        }
        None => {
            let _ = writeln!(s, "Return: no node has {}", r.forward.flow.dst);
        }
    }
    if r.asymmetric {
        s.push_str(
            "Warning: the return path crosses different links from the forward path (asymmetric routing)\n",
        );
    }
    if let Some(m) = &r.measured {
        let _ = writeln!(
            s,
            "Measured: the probe of '{}' sent at {} took {} one way, {} the links above",
            m.app,
            format_nanos(m.sent),
            format_nanos(m.one_way),
            if m.same_links { "over" } else { "NOT over" }
        );
        if let Some((back, same)) = m.back {
            let _ = writeln!(
                s,
                "  and its echo {} back, {} the return links",
                format_nanos(back),
                if same { "over" } else { "NOT over" }
            );
        }
    }
    s
}
