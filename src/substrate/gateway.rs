//! Cloud gateway SKUs and the capacity limit they impose on a router.
//!
//! Figures from domain.md ("VPN gateway SKUs", "ER virtual network gateway SKUs"):
//!
//! | SKU | throughput | packets/s | applies to |
//! |---|---|---|---|
//! | Basic | 100 Mbps | — | tunnel traffic |
//! | VpnStandard, VpnHighPerformance (legacy) | 100 / 200 Mbps | — | tunnel traffic |
//! | VpnGw1 (Gen1 and Gen2) | 650 Mbps | 62k (per tunnel, GCMAES256) | tunnel traffic |
//! | VpnGw2 | 1 Gbps | — | tunnel traffic |
//! | VpnGw2Gen2 | 1.25 Gbps | 120k | tunnel traffic |
//! | VpnGw3 | 1.25 Gbps | — | tunnel traffic |
//! | VpnGw3Gen2 | 2.5 Gbps | — | tunnel traffic |
//! | VpnGw4 / VpnGw5 | 5 / 10 Gbps aggregate | — | tunnel traffic |
//! | VpnGw4Gen2 / VpnGw5Gen2 | 2.3 Gbps per tunnel | 220k per tunnel | tunnel traffic |
//! | Standard, ErGw1Az | 1 Gbps | 100k | all traffic |
//! | HighPerformance, ErGw2Az | 2 Gbps | 200k | all traffic |
//! | UltraPerformance, ErGw3Az | 10 Gbps | 1M | all traffic |
//! | ErGwScale(n) | n × 1 Gbps | n × 100k | all traffic |
//!
//! The platform's other per-SKU facts live here too, so that one file holds them all:
//! ExpressRoute circuit connections per gateway ([`Sku::circuit_connections`]), point-to-site
//! connections ([`Sku::p2s_connections`], [`SSTP_CONNECTIONS`]) and what the Basic SKU lacks
//! (BGP, coexistence with ExpressRoute; it alone may be policy-based).
//!
//! The model is serializers in series, one per limit and direction, since the vendor's figures
//! are one-way measurements: a tunnel's packets pass its per-tunnel limit (where the SKU has
//! one), then the gateway's aggregate limit for the egress interface. Each takes
//! max(bits / throughput, 1 / pps) per packet, behind a drop-tail queue. Bits are those of the
//! packet as it leaves, ESP included. Where the documentation gives no packet rate or
//! per-tunnel figure, none is imposed.

use crate::substrate::link::QueueLimit;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum Sku {
    Basic,
    VpnGw1,
    VpnGw2,
    VpnGw3,
    VpnGw4,
    VpnGw5,
    VpnGw1Gen2,
    VpnGw2Gen2,
    VpnGw3Gen2,
    VpnGw4Gen2,
    VpnGw5Gen2,
    /// Zone-redundant VPN SKUs: the same figures as VpnGw1–VpnGw5 (domain.md, "More on
    /// gateways"); the non-AZ SKUs are being migrated to them.
    VpnGw1Az,
    VpnGw2Az,
    VpnGw3Az,
    VpnGw4Az,
    VpnGw5Az,
    /// The legacy VPN SKUs a gateway of type Vpn named `Standard` and `HighPerformance`:
    /// 100 and 200 Mbps (the platform's legacy-SKU table; since 30 September 2025 migrated to
    /// VpnGw1AZ and VpnGw2AZ). In a lab, `Standard` and `HighPerformance` are the ExpressRoute
    /// SKUs of those names.
    VpnStandard,
    VpnHighPerformance,
    Standard,
    HighPerformance,
    UltraPerformance,
    ErGw1Az,
    ErGw2Az,
    ErGw3Az,
    /// ExpressRoute scalable gateway with this many scale units.
    ErGwScale(u32),
}

/// Which packets a gateway's capacity limit applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scope {
    /// Packets entering or leaving an IPsec tunnel (a VPN gateway's crypto engine).
    Tunnel,
    /// Every packet the node forwards (an ExpressRoute gateway on the data path).
    All,
}

/// A gateway's processing capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Bits per second, in each direction, for everything in scope.
    pub throughput: u64,
    pub pps: Option<u64>,
    /// The limit of each tunnel, in each direction: throughput and packets per second.
    pub tunnel: Option<(u64, Option<u64>)>,
    pub scope: Scope,
    pub queue: QueueLimit,
}

/// SSTP point-to-site connections a gateway takes on any SKU (domain.md, "Point-to-site").
pub const SSTP_CONNECTIONS: u32 = 128;

const G: u64 = 1_000_000_000;
const M: u64 = 1_000_000;

impl Sku {
    pub fn capacity(self) -> Capacity {
        use Sku::*;
        // (aggregate throughput, aggregate pps, per-tunnel throughput and pps)
        let (throughput, pps, tunnel) = match self {
            Basic | VpnStandard => (100 * M, None, None),
            VpnHighPerformance => (200 * M, None, None),
            VpnGw1 | VpnGw1Gen2 | VpnGw1Az => (650 * M, None, Some((650 * M, Some(62_000)))),
            VpnGw2 | VpnGw2Az => (G, None, None),
            VpnGw2Gen2 => (1_250 * M, None, Some((1_250 * M, Some(120_000)))),
            VpnGw3 | VpnGw3Az => (1_250 * M, None, None),
            VpnGw3Gen2 => (2_500 * M, None, None),
            VpnGw4 | VpnGw4Az => (5 * G, None, None),
            VpnGw5 | VpnGw5Az => (10 * G, None, None),
            VpnGw4Gen2 => (5 * G, None, Some((2_300 * M, Some(220_000)))),
            VpnGw5Gen2 => (10 * G, None, Some((2_300 * M, Some(220_000)))),
            Standard | ErGw1Az => (G, Some(100_000), None),
            HighPerformance | ErGw2Az => (2 * G, Some(200_000), None),
            UltraPerformance | ErGw3Az => (10 * G, Some(1_000_000), None),
            ErGwScale(n) => (u64::from(n) * G, Some(u64::from(n) * 100_000), None),
        };
        let scope = if self.is_vpn() {
            Scope::Tunnel
        } else {
            Scope::All
        };
        Capacity {
            throughput,
            pps,
            tunnel,
            scope,
            queue: QueueLimit::default(),
        }
    }

    /// Circuit connections an ExpressRoute gateway accepts: ErGw1Az/2Az/3Az (and Standard,
    /// HighPerformance, UltraPerformance) 4, 8 and 16 (domain.md, "More on gateways"); `None`
    /// where the documentation states no limit (ErGwScale) or the SKU is a VPN one.
    pub fn circuit_connections(self) -> Option<usize> {
        use Sku::*;
        match self {
            ErGw1Az | Standard => Some(4),
            ErGw2Az | HighPerformance => Some(8),
            ErGw3Az | UltraPerformance => Some(16),
            _ => None,
        }
    }

    /// Point-to-site connections a VPN SKU takes, IKEv2 and OpenVPN together (domain.md,
    /// "Point-to-site"); SSTP takes at most [`SSTP_CONNECTIONS`] on any SKU.
    pub fn p2s_connections(self) -> u32 {
        use Sku::*;
        match self {
            Basic => 0,
            VpnGw1 | VpnGw1Gen2 | VpnGw1Az => 250,
            VpnGw2 | VpnGw2Gen2 | VpnGw2Az => 500,
            VpnGw3 | VpnGw3Gen2 | VpnGw3Az => 1_000,
            VpnGw4 | VpnGw4Gen2 | VpnGw4Az => 5_000,
            _ => 10_000,
        }
    }

    /// Whether the SKU runs BGP with the customer's devices: all VPN SKUs but Basic.
    pub fn supports_bgp(self) -> bool {
        self != Sku::Basic
    }

    /// Whether a VPN gateway of this SKU may share a VNet with an ExpressRoute gateway (the
    /// coexistence guide: VpnGw1 or above, so not Basic).
    pub fn coexists_with_expressroute(self) -> bool {
        self != Sku::Basic
    }

    /// Whether a VPN gateway of this SKU may be policy-based: Basic only.
    pub fn may_be_policy_based(self) -> bool {
        self == Sku::Basic
    }

    /// A VPN gateway SKU (its cap applies to tunnel traffic only).
    pub fn is_vpn(self) -> bool {
        use Sku::*;
        matches!(
            self,
            Basic
                | VpnGw1
                | VpnGw2
                | VpnGw3
                | VpnGw4
                | VpnGw5
                | VpnGw1Gen2
                | VpnGw2Gen2
                | VpnGw3Gen2
                | VpnGw4Gen2
                | VpnGw5Gen2
                | VpnGw1Az
                | VpnGw2Az
                | VpnGw3Az
                | VpnGw4Az
                | VpnGw5Az
                | VpnStandard
                | VpnHighPerformance
        )
    }
}

impl Capacity {
    /// The per-tunnel limit as a capacity of its own.
    pub fn per_tunnel(&self) -> Option<Capacity> {
        let (throughput, pps) = self.tunnel?;
        Some(Capacity {
            throughput,
            pps,
            tunnel: None,
            ..*self
        })
    }

    /// Time to process a packet of `bytes`, in nanoseconds, rounded up.
    pub fn service_time(&self, bytes: usize) -> u64 {
        let by_rate =
            (bytes as u128 * 8 * 1_000_000_000).div_ceil(u128::from(self.throughput)) as u64;
        let by_pps = self.pps.map_or(0, |p| 1_000_000_000u64.div_ceil(p));
        by_rate.max(by_pps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_time_is_bound_by_rate_or_packet_rate() {
        let er = Sku::ErGw1Az.capacity();
        // 1500 B at 1 Gbps = 12 us; 100k pps = 10 us per packet.
        assert_eq!(er.service_time(1500), 12_000);
        assert_eq!(er.service_time(64), 10_000);
        assert_eq!(Sku::VpnGw1.capacity().throughput, 650_000_000);
        assert!(Sku::VpnGw1.is_vpn() && !Sku::ErGw3Az.is_vpn());
        assert_eq!(Sku::ErGwScale(3).capacity().throughput, 3_000_000_000);
    }

    #[test]
    fn gen2_vpngw4_has_a_5_gbps_aggregate_and_2_3_gbps_per_tunnel() {
        let c = Sku::VpnGw4Gen2.capacity();
        assert_eq!(c.throughput, 5_000_000_000);
        let t = c.per_tunnel().unwrap();
        assert_eq!((t.throughput, t.pps), (2_300_000_000, Some(220_000)));
        assert!(
            Sku::VpnGw4.capacity().per_tunnel().is_none(),
            "no per-tunnel figure for Gen1"
        );
    }

    #[test]
    fn the_platforms_per_sku_facts() {
        assert_eq!(Sku::ErGw1Az.circuit_connections(), Some(4));
        assert_eq!(Sku::HighPerformance.circuit_connections(), Some(8));
        assert_eq!(Sku::ErGw3Az.circuit_connections(), Some(16));
        assert_eq!(Sku::VpnGw1.circuit_connections(), None);
        assert_eq!(Sku::VpnGw2Az.p2s_connections(), 500);
        assert_eq!(Sku::Basic.p2s_connections(), 0);
        assert!(!Sku::Basic.supports_bgp() && Sku::VpnGw1.supports_bgp());
        assert!(!Sku::Basic.coexists_with_expressroute());
        assert!(Sku::Basic.may_be_policy_based() && !Sku::VpnGw1.may_be_policy_based());
    }
}
