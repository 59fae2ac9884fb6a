//! What a run observed that its author should know although no expectation asked: today,
//! forwarding loops.
//!
//! A loop shows itself as packets dying of TTL. Hosts send at TTL 64 and a lab's paths are a
//! few hops long, so a packet that runs out of TTL has circled: the routers where packets died
//! and the neighbours that sent them there are the loop's members. Routers joined by such
//! drops form one loop; each is reported once, with when it was seen.

use crate::analysis::us;
use crate::results::Results;
use serde::Serialize;

/// A forwarding loop the run observed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForwardingLoop {
    /// The routers the looping packets circled between, in name order.
    pub routers: Vec<String>,
    /// Packets that died of TTL in it.
    pub packets: u64,
    /// When the first and the last of them died.
    pub first_us: f64,
    pub last_us: f64,
}

/// The loops in `r`'s TTL-expired drops: routers joined by a drop (the router where the packet
/// died and the node it came from) belong to one loop.
pub fn forwarding_loops(r: &Results) -> Vec<ForwardingLoop> {
    // Union-find over the node names the drops mention, in order of first mention.
    let mut names: Vec<&str> = Vec::new();
    let mut parent: Vec<usize> = Vec::new();
    fn id<'a>(name: &'a str, names: &mut Vec<&'a str>, parent: &mut Vec<usize>) -> usize {
        match names.iter().position(|n| *n == name) {
            Some(i) => i,
            None => {
                names.push(name);
                parent.push(parent.len());
                parent.len() - 1
            }
        }
    }
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut edges = Vec::new();
    for e in &r.ttl_expiries {
        let a = id(&e.router, &mut names, &mut parent);
        let b = id(&e.from, &mut names, &mut parent);
        edges.push(a);
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        parent[ra.max(rb)] = ra.min(rb);
    }
    let mut loops: Vec<(usize, ForwardingLoop)> = Vec::new();
    for (e, &node) in r.ttl_expiries.iter().zip(&edges) {
        let group = root(&mut parent, node);
        let at = match loops.iter().position(|(g, _)| *g == group) {
            Some(at) => at,
            None => {
                let mut routers: Vec<String> = (0..names.len())
                    .filter(|&i| root(&mut parent, i) == group)
                    .map(|i| names[i].to_string())
                    .collect();
                routers.sort();
                loops.push((
                    group,
                    ForwardingLoop {
                        routers,
                        packets: 0,
                        first_us: f64::INFINITY,
                        last_us: 0.0,
                    },
                ));
                loops.len() - 1
            }
        };
        let l = &mut loops[at].1;
        l.packets += e.count;
        l.first_us = l.first_us.min(us(e.first));
        l.last_us = l.last_us.max(us(e.last));
    }
    loops.into_iter().map(|(_, l)| l).collect()
}
