//! What can fail in a lab: the kinds of component `emulate resilience` fails one at a time, and
//! the failure rates and repair times a lab states for them (its `reliability` entries).

use crate::substrate::engine::Time;
use serde::{Deserialize, Serialize};

/// What kind of component a resilience candidate is; `--only` and `reliability` entries name
/// these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A link of the customer's or the internet's goes down in both directions, and comes
    /// back.
    Link,
    /// One link of an ExpressRoute circuit (its primary or secondary path).
    CircuitLink,
    /// A site's link to the internet, the one its VPN tunnels leave by, down.
    InternetPath,
    /// The same link degraded, not down: more loss and more delay (`--degrade`).
    DegradedPath,
    /// A link inside the platform (between a VNet's fabric, a gateway and an MSEE).
    PlatformLink,
    /// A VNet peering's link goes down, and comes back.
    Peering,
    /// An ExpressRoute circuit as a whole: both its links down, and back.
    Circuit,
    /// A peering location: the MSEEs of every circuit that meets Microsoft there fail (with
    /// them the circuits' links, their links to gateways and any Global Reach there).
    PeeringLocation,
    /// A router of the customer's or the internet's: every link of it down, its control
    /// plane reset, and back.
    Router,
    /// A virtual network gateway instance fails unplanned: the platform stops using it at once,
    /// its sites notice by DPD or BGP, and the standby (or the instance) is back after the
    /// gateway's unplanned failover time.
    Gateway,
    /// A VPN gateway instance goes down for planned maintenance: it closes its BGP sessions
    /// first, and the standby takes over after the gateway's planned failover time.
    GatewayMaintenance,
    /// A Microsoft enterprise edge router (an MSEE) fails.
    Msee,
    /// A BGP session is reset once (from its first end); nothing else fails.
    BgpSession,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::Link,
        Kind::CircuitLink,
        Kind::InternetPath,
        Kind::DegradedPath,
        Kind::PlatformLink,
        Kind::Peering,
        Kind::Circuit,
        Kind::PeeringLocation,
        Kind::Router,
        Kind::Gateway,
        Kind::GatewayMaintenance,
        Kind::Msee,
        Kind::BgpSession,
    ];

    /// The name `--only`, `reliability` entries and the outputs use.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Link => "link",
            Kind::CircuitLink => "circuit-link",
            Kind::InternetPath => "internet-path",
            Kind::DegradedPath => "degraded-path",
            Kind::PlatformLink => "platform-link",
            Kind::Peering => "peering",
            Kind::Circuit => "circuit",
            Kind::PeeringLocation => "peering-location",
            Kind::Router => "router",
            Kind::Gateway => "gateway",
            Kind::GatewayMaintenance => "gateway-maintenance",
            Kind::Msee => "msee",
            Kind::BgpSession => "bgp-session",
        }
    }

    pub fn parse(s: &str) -> Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown candidate kind '{s}': the kinds are {}",
                    names.join(", ")
                )
            })
    }
}

/// What a `reliability` entry is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Kind(Kind),
    /// A candidate by name (checked against the candidates by the analysis).
    Candidate(String),
}

/// A lab's `reliability` entry, validated: each value it gives replaces the default.
#[derive(Debug, Clone, PartialEq)]
pub struct Reliability {
    pub target: Target,
    pub failures_per_year: Option<f64>,
    /// From which the rate follows with the repair time.
    pub availability: Option<crate::units::Percent>,
    pub repair: Option<Time>,
    /// How reports name the entry ("reliability 2").
    pub item: String,
}
