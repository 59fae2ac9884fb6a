//! The fault schedule.

use super::*;
use crate::substrate::ids::{Dir, LinkId, NodeId};

/// Faults, sorted by time (faults at one instant keep their order in the file).
pub(super) fn faults(
    spec: &LabSpec,
    index: &BTreeMap<&str, NodeId>,
    nodes: &[Node],
    links: &[Link],
    c: &mut Checker,
) -> Vec<Fault> {
    let link_index: BTreeMap<&str, LinkId> = links
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.as_str(), LinkId(i)))
        .collect();
    let mut faults = Vec::new();
    for (k, f) in spec.faults.iter().enumerate() {
        let item = format!("fault {} (at {})", k + 1, f.at);
        if f.at.0 > spec.duration.0 {
            c.fail(
                &item,
                format!("happens after the end of the run ({})", spec.duration),
            );
        }
        let find = |c: &mut Checker, name: &str| {
            let found = link_index.get(name).copied();
            if found.is_none() {
                c.unknown_link(&item, name);
            }
            found
        };
        let action = match &f.action {
            FaultAction::LinkDown(l) => {
                find(c, l).map(|link| FaultKind::LinkState { link, up: false })
            }
            FaultAction::LinkUp(l) => {
                find(c, l).map(|link| FaultKind::LinkState { link, up: true })
            }
            // Expanded into link faults before validation.
            FaultAction::CircuitDown(_)
            | FaultAction::CircuitUp(_)
            | FaultAction::GatewayFailure { .. } => None,
            FaultAction::NodeDown(n) | FaultAction::NodeUp(n) => match index.get(n.as_str()) {
                Some(&node) => Some(FaultKind::NodeState {
                    node,
                    up: matches!(f.action, FaultAction::NodeUp(_)),
                }),
                None => {
                    c.unknown_node(&item, "", n);
                    None
                }
            },
            FaultAction::BgpReset { router, peer } => {
                let node = index.get(router.as_str()).copied();
                let peer_ip = c.addr(&item, peer);
                match (node, peer_ip) {
                    (Some(node), Some(peer)) => {
                        let peers: Vec<String> = match &nodes[node].kind {
                            NodeKind::Router(Router { bgp: Some(b), .. }) => {
                                b.sessions.iter().map(|s| s.bgp.peer.to_string()).collect()
                            }
                            _ => Vec::new(),
                        };
                        if !peers.contains(&peer.to_string()) {
                            let hint = if peers.is_empty() {
                                " (it has none)".to_string()
                            } else {
                                super::super::suggest::suggest(&peer.to_string(), &peers)
                            };
                            c.fail(
                                &item,
                                format!("'{router}' has no BGP session with {peer}{hint}"),
                            );
                        }
                        Some(FaultKind::BgpReset { node, peer })
                    }
                    (None, _) => {
                        c.unknown_node(&item, "", router);
                        None
                    }
                    _ => None,
                }
            }
            FaultAction::Degrade {
                link,
                direction,
                delay,
                jitter,
                loss,
                rate,
            } => find(c, link).map(|link| {
                let sides: &[Dir] = match direction {
                    Side::Both => &Dir::BOTH,
                    Side::AtoB => &[Dir::AToB],
                    Side::BtoA => &[Dir::BToA],
                };
                let change = DirSpec {
                    delay: *delay,
                    jitter: jitter.clone(),
                    loss: loss.clone(),
                    rate: *rate,
                    ..DirSpec::default()
                };
                c.dir_params(&item, &change);
                FaultKind::LinkChange {
                    link,
                    sides: sides.to_vec(),
                    change: crate::substrate::link::Change {
                        delay: delay.map(|d| d.0),
                        jitter: jitter.clone().map(|j| (j.amount.0 > 0).then_some(j)),
                        loss: loss.clone(),
                        rate: rate.map(|r| r.0),
                    },
                }
            }),
        };
        let label = f.label.clone().unwrap_or_else(|| f.action.label());
        if f.continues
            && !spec
                .faults
                .iter()
                .any(|g| g.at <= f.at && !g.continues && g.label.as_ref() == Some(&label))
        {
            c.fail(
                &item,
                format!("`continues` needs an earlier fault labelled '{label}'"),
            );
        }
        if let Some(action) = action {
            faults.push(Fault {
                at: f.at.0,
                action,
                label,
                continues: f.continues,
            });
        }
    }
    faults.sort_by_key(|f| f.at);
    faults
}
