//! Point-to-site clients: each client's VPN stack, adapter, home link and tunnel (ESP, or one
//! TCP connection for OpenVPN and SSTP).

use super::model::*;
use crate::lab::error::Problem;
use crate::lab::spec::*;
use crate::substrate::route::Prefix;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::substrate::gateway::SSTP_CONNECTIONS;

/// Point-to-site clients. Each becomes its VPN stack, a router `NAME-vpn` (one per client, as
/// on the client machine), linked to the host by `NAME-adapter` (a /31 from the gateway's pool:
/// the adapter takes the even address, the host the odd one, so the lab's pool serves half as
/// many clients as Azure's) and to its home by `NAME-home`. An IKEv2 client's tunnel `NAME`
/// runs ESP in UDP 4500 to the gateway's first instance; the gateway routes the client's
/// address into it and announces the pool to the VNets it serves.
pub(super) fn p2s_clients(
    spec: &LabSpec,
    vnets: &[Vnet],
    index: &BTreeMap<&str, usize>,
    peerings: &[Peering],
    out: &mut LabSpec,
    problems: &mut Vec<Problem>,
) {
    let mut per_gateway: BTreeMap<&str, (u32, u32, u32)> = BTreeMap::new();
    for c in &spec.p2s_clients {
        let item = format!("p2s client '{}'", c.name);
        let Some(g) = spec.gateways.iter().position(|x| x.name == c.gateway) else {
            problems.push(Problem::new(&item, unknown_gateway(&c.gateway, spec)));
            continue;
        };
        let gw = &spec.gateways[g];
        if gw.kind != GatewayKind::Vpn {
            problems.push(Problem::new(&item, format!("gateway '{}' is an ExpressRoute gateway; point-to-site clients connect to a VPN gateway", gw.name)));
            continue;
        }
        let Some(pool) = gw
            .p2s_pool
            .as_ref()
            .and_then(|p| prefix(&item, "p2s_pool", p, problems))
        else {
            problems.push(Problem::new(
                &item,
                format!(
                    "gateway '{}' has no `p2s_pool` (the client address pool)",
                    gw.name
                ),
            ));
            continue;
        };
        let counts = per_gateway.entry(&gw.name).or_default();
        let k = counts.0;
        counts.0 += 1;
        match c.protocol {
            P2sProtocol::Sstp => counts.2 += 1,
            _ => counts.1 += 1,
        }
        let v = index[gw.vnet.as_str()];
        if vnets
            .iter()
            .any(|w| w.space.iter().any(|s| s.overlaps(pool)))
        {
            problems.push(Problem::new(
                &item,
                format!(
                    "p2s_pool {pool} of gateway '{}' overlaps a VNet's address space",
                    gw.name
                ),
            ));
            continue;
        }
        // In u64: a pool at the top of the address space must not overflow.
        let base = u64::from(u32::from(pool.addr)) + 2 + 2 * u64::from(k);
        let last = u64::from(u32::from(pool.addr)) + (1u64 << (32 - pool.len)) - 1;
        if pool.len > 30 || base + 1 >= last {
            problems.push(Problem::new(
                &item,
                format!(
                    "p2s_pool {pool} of gateway '{}' has no address left for it",
                    gw.name
                ),
            ));
            continue;
        }
        let (adapter, client) = (
            Ipv4Addr::from(base as u32),
            Ipv4Addr::from((base + 1) as u32),
        );
        let Some(inst) = vnets[v]
            .gateways
            .iter()
            .find(|i| i.gateway == g && i.index == 0)
        else {
            continue;
        };
        let (Some(public), Some(gw_far)) = (
            inst.public
                .as_ref()
                .and_then(|p| p.split('/').next())
                .map(str::to_string),
            out.links
                .iter()
                .find(|l| l.name == format!("{}-internet", inst.router))
                .and_then(|l| l.a.ip.split('/').next().map(str::to_string)),
        ) else {
            continue;
        };
        // The client machine: a host whose gateway is its VPN adapter.
        match out.nodes.iter_mut().find(|n| n.name() == c.host) {
            Some(NodeSpec::Host { gateway, .. }) => match gateway {
                None => *gateway = Some(adapter.to_string()),
                Some(g) => {
                    problems.push(Problem::new(&item, format!("host '{}' has gateway {g}: a P2S client's traffic goes through its VPN adapter", c.host)));
                    continue;
                }
            },
            Some(_) => {
                problems.push(Problem::new(
                    &item,
                    format!("'{}' is a router; a P2S client is a host", c.host),
                ));
                continue;
            }
            None => {
                let names: Vec<&str> = spec.nodes.iter().map(|n| n.name()).collect();
                problems.push(Problem::new(
                    &item,
                    format!(
                        "host '{}' is not a node of the lab{}",
                        c.host,
                        crate::lab::suggest(&c.host, &names)
                    ),
                ));
                continue;
            }
        }
        let Ok(home) = c.home.ip.parse::<Prefix>() else {
            problems.push(Problem::new(
                &item,
                format!(
                    "home ip '{}' is not an address with its length, e.g. 192.0.2.10/30",
                    c.home.ip
                ),
            ));
            continue;
        };
        let Some(home_far) = other_host(home) else {
            problems.push(Problem::new(&item, format!("home ip {home}: give a host of a /30 or /31, whose other address is `home.node`'s")));
            continue;
        };
        let vpn = format!("{}-vpn", c.name);
        out.nodes.push(NodeSpec::router(&vpn));
        out.links.push(LinkSpec::new(
            format!("{}-adapter", c.name),
            EndSpec::new(&c.host, format!("{client}/31")),
            EndSpec::new(&vpn, format!("{adapter}/31")),
        ));
        out.links.push(LinkSpec {
            delay: c.home.delay,
            jitter: c.home.jitter.clone(),
            loss: c.home.loss.clone(),
            rate: c.home.rate,
            ..LinkSpec::new(
                format!("{}-home", c.name),
                EndSpec::new(&vpn, home.to_string()),
                EndSpec::new(&c.home.node, format!("{home_far}/{}", home.len)),
            )
        });
        out.tunnels.push(TunnelSpec {
            name: c.name.clone(),
            a: TunnelEndSpec {
                node: vpn.clone(),
                ip: home.addr.to_string(),
            },
            b: TunnelEndSpec {
                node: inst.router.clone(),
                ip: public.clone(),
            },
            cipher: crate::vpn::esp::CipherSuite::AesGcm,
            nat_t: c.protocol == P2sProtocol::IkeV2,
            mss_clamp: default_mss_clamp(),
            dpd: default_dpd(),
            tcp: match c.protocol {
                P2sProtocol::IkeV2 => None,
                P2sProtocol::OpenVpn => Some(crate::vpn::Framing::OpenVpn),
                P2sProtocol::Sstp => Some(crate::vpn::Framing::Sstp),
            },
        });
        out.routes
            .push(route(&vpn, format!("{public}/32"), home_far));
        out.routes
            .push(route(&inst.router, format!("{}/32", home.addr), &gw_far));
        out.routes
            .push(route(&inst.router, format!("{client}/32"), &c.name));
        for w in served(v, peerings) {
            for s in &vnets[w].spec.address_space {
                out.routes.push(route(&vpn, s, &c.name));
            }
        }
        if let Some(NodeSpec::Router { bgp: Some(b), .. }) =
            out.nodes.iter_mut().find(|n| n.name() == inst.router)
        {
            let p = pool.to_string();
            if !b.originate.contains(&p) {
                b.originate.push(p);
            }
        }
    }
    for (name, (_, tunnelled, sstp)) in per_gateway {
        let Some(gw) = spec.gateways.iter().find(|g| g.name == name) else {
            continue;
        };
        let limit = gw.sku.p2s_connections();
        if tunnelled > limit {
            problems.push(Problem::new(&format!("gateway '{name}'"), format!("{:?} takes {limit} IKEv2 and OpenVPN point-to-site connections; the lab gives it {tunnelled}", gw.sku)));
        }
        if sstp > SSTP_CONNECTIONS {
            problems.push(Problem::new(&format!("gateway '{name}'"), format!("SSTP takes at most {SSTP_CONNECTIONS} connections per gateway; the lab gives it {sstp}")));
        }
    }
}
