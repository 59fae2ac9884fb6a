//! The routing views as text, in the columns their usual screens use: the portal's for the
//! platform's views, `show ip bgp` and `show ip route` for a router.

use super::views::View;
use super::Snapshot;
use crate::router::trace::Source;
use crate::sim::tables::{Out, Tables};
use std::fmt::Write;
use std::net::Ipv4Addr;

/// Columns padded to their widest cell, two spaces apart.
pub(super) fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut width: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &mut dyn Iterator<Item = &str>, out: &mut String| {
        let mut s = String::new();
        for (i, c) in cells.enumerate() {
            let pad = width[i].saturating_sub(c.chars().count());
            let _ = write!(s, "{c}{}  ", " ".repeat(pad));
        }
        out.push_str("  ");
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&mut head.iter().copied(), &mut out);
    for r in rows {
        line(&mut r.iter().map(String::as_str), &mut out);
    }
    out
}

fn ips(v: &[Ipv4Addr]) -> String {
    v.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn as_path(p: &[u32]) -> String {
    p.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
}

/// Every snapshot's views.
pub fn render(snapshots: &[Snapshot]) -> String {
    let mut out = String::new();
    for s in snapshots {
        let _ = writeln!(
            out,
            "== at {} ({})\n",
            crate::units::format_nanos(s.moment.at),
            s.moment.label
        );
        for v in &s.views {
            out.push_str(&view(v));
            out.push('\n');
        }
    }
    out
}

/// One view.
pub fn view(v: &View) -> String {
    match v {
        View::EffectiveRoutes { vm, vnet, routes } => {
            let rows: Vec<Vec<String>> = routes
                .iter()
                .map(|r| {
                    vec![
                        r.source.to_string(),
                        r.state.to_string(),
                        r.prefix.to_string(),
                        r.next_hop_type.to_string(),
                        ips(&r.next_hop_ip),
                        r.note.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            format!(
                "Effective routes of VM '{vm}' (VNet '{vnet}')\n{}",
                table(
                    &[
                        "Source",
                        "State",
                        "Address prefix",
                        "Next hop type",
                        "Next hop IP",
                        ""
                    ],
                    &rows
                )
            )
        }
        View::Gateway {
            gateway,
            learned,
            advertised,
        } => {
            let rows: Vec<Vec<String>> = learned
                .iter()
                .map(|l| {
                    vec![
                        l.network.to_string(),
                        l.origin.to_string(),
                        opt(l.source_peer),
                        as_path(&l.as_path),
                        opt(l.weight),
                        opt(l.next_hop),
                        match &l.lost {
                            Some(why) => format!("not used: {why}"),
                            None if l.used => "used".to_string(),
                            None => String::new(),
                        },
                    ]
                })
                .collect();
            let mut s = format!(
                "Learned routes of gateway '{gateway}'\n{}",
                table(
                    &[
                        "Network",
                        "Origin",
                        "Source peer",
                        "AS path",
                        "Weight",
                        "Next hop",
                        ""
                    ],
                    &rows
                )
            );
            let mut peers: Vec<Ipv4Addr> = advertised.iter().map(|a| a.peer).collect();
            peers.dedup();
            for peer in peers {
                let rows: Vec<Vec<String>> = advertised
                    .iter()
                    .filter(|a| a.peer == peer)
                    .map(|a| {
                        vec![
                            a.prefix.to_string(),
                            opt(a.next_hop),
                            as_path(&a.as_path),
                            opt(a.local_pref),
                        ]
                    })
                    .collect();
                let _ = write!(
                    s,
                    "Advertised to peer {peer}\n{}",
                    table(&["Network", "Next hop", "AS path", "Local pref"], &rows)
                );
            }
            s
        }
        View::Circuit {
            circuit,
            path,
            msee,
            routes,
        } => {
            let rows: Vec<Vec<String>> = routes
                .iter()
                .map(|r| {
                    vec![
                        format!(
                            "{}{}",
                            if r.used { "*" } else { " " },
                            if r.best { ">" } else { " " }
                        ),
                        r.network.to_string(),
                        opt(r.next_hop),
                        r.local_pref.to_string(),
                        r.weight.to_string(),
                        as_path(&r.path),
                    ]
                })
                .collect();
            format!(
                "Route table of circuit '{circuit}', {path} path (MSEE '{msee}')\n{}",
                table(
                    &["", "Network", "Next hop", "LocPrf", "Weight", "Path"],
                    &rows
                )
            )
        }
        View::Router { tables } => router(tables),
        View::Host {
            host,
            gateway,
            routes,
        } => {
            let mut rows: Vec<Vec<String>> = routes
                .iter()
                .map(|(p, via)| vec![p.to_string(), via.to_string()])
                .collect();
            if let Some(g) = gateway {
                rows.push(vec!["0.0.0.0/0".to_string(), g.to_string()]);
            }
            format!(
                "Routes of host '{host}'\n{}",
                table(&["Network", "Gateway"], &rows)
            )
        }
    }
}

/// A router's BGP table (`show ip bgp`: `*` used, `>` best, and why each other path lost) and
/// forwarding table (`show ip route`).
fn router(t: &Tables) -> String {
    let mut s = String::new();
    if let Some(asn) = t.asn {
        let up = t.sessions.iter().filter(|x| x.established).count();
        let _ = writeln!(
            s,
            "BGP table of '{}' (AS {asn}; {up} of {} sessions established)",
            t.node,
            t.sessions.len()
        );
        let rows: Vec<Vec<String>> = t
            .bgp
            .iter()
            .map(|p| {
                let p = &p.path;
                vec![
                    format!(
                        "{}{}",
                        if p.used { "*" } else { " " },
                        if p.best { ">" } else { " " }
                    ),
                    p.prefix.to_string(),
                    p.next_hop
                        .map_or_else(|| "0.0.0.0".to_string(), |n| n.to_string()),
                    p.local_pref.to_string(),
                    p.weight.to_string(),
                    format!(
                        "{}{}i",
                        as_path(&p.as_path),
                        if p.as_path.is_empty() { "" } else { " " }
                    ),
                    p.lost.map(|l| format!("lost: {l}")).unwrap_or_default(),
                ]
            })
            .collect();
        s.push_str(&table(
            &["", "Network", "Next hop", "LocPrf", "Weight", "Path", ""],
            &rows,
        ));
    }
    let _ = writeln!(s, "Forwarding table of '{}'", t.node);
    let rows: Vec<Vec<String>> = t
        .forwarding
        .iter()
        .map(|e| {
            let code = match e.source {
                Source::Connected => "C",
                Source::System => "S*",
                Source::Static => "S",
                Source::User => "U",
                Source::Bgp => "B",
            };
            let hops: Vec<String> = e
                .next_hops
                .iter()
                .map(|h| {
                    let out = match &h.out {
                        Out::Link { link, .. } => link.clone(),
                        Out::Tunnel { tunnel } => format!("tunnel {tunnel}"),
                        Out::Drop => "drop".to_string(),
                    };
                    let via = h.via.map(|v| format!("via {v}, ")).unwrap_or_default();
                    format!("{via}{out}{}", if h.up { "" } else { " (down)" })
                })
                .collect();
            vec![
                code.to_string(),
                e.prefix.to_string(),
                hops.join("; "),
                e.ingress
                    .as_ref()
                    .map(|l| format!("arriving over {l}"))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    s.push_str(&table(&["", "Network", "Next hops", ""], &rows));
    s.push_str("  Codes: C connected, S static, S* VNet system route, U user route (of one interface), B BGP\n");
    s
}
