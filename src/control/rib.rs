//! Route selection among BGP paths for one prefix.
//!
//! Order (domain.md, "Route selection"): highest weight (ExpressRoute-learned 32769 over VPN
//! 32768 at the cloud gateway), then highest local preference (e.g. 150 on ER-learned routes
//! on-premises), then shortest AS path, then eBGP over iBGP, then the lowest session index as a
//! deterministic tie-break. Longest prefix is the forwarding lookup's job, before all of this.
//! Paths equal on everything but the tie-break are used together (multipath), which is how the
//! two links of an ExpressRoute circuit share flows.

use std::net::Ipv4Addr;

/// Local preference of a path that carries none (RFC 4271's customary default).
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// One path to a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub session: usize,
    pub peer: Ipv4Addr,
    pub weight: u32,
    pub local_pref: u32,
    pub as_path: Vec<u32>,
    pub ibgp: bool,
}

impl Candidate {
    /// Higher is better; the session index is left out so that equal paths compare equal, and
    /// the AS path's length when `ignore_as_path`.
    fn rank(&self, ignore_as_path: bool) -> (u32, u32, std::cmp::Reverse<usize>, bool) {
        let len = if ignore_as_path {
            0
        } else {
            self.as_path.len()
        };
        (
            self.weight,
            self.local_pref,
            std::cmp::Reverse(len),
            !self.ibgp,
        )
    }
}

/// Why a path is not used: the first step of selection where the best path beat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lost {
    Weight,
    LocalPreference,
    AsPathLength,
    /// An iBGP path against an eBGP one.
    Ibgp,
}

impl std::fmt::Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Lost::Weight => "lower weight",
            Lost::LocalPreference => "lower local preference",
            Lost::AsPathLength => "longer AS path",
            Lost::Ibgp => "iBGP, the best is eBGP",
        })
    }
}

/// Why `other` lost to `best` (the first of [`select`]'s answer): the first step, in
/// [`select`]'s order, where it is worse. `None` when it is as good: then [`select`] uses it
/// too (multipath), the session index only ordering the two.
pub fn why_lost(best: &Candidate, other: &Candidate, ignore_as_path: bool) -> Option<Lost> {
    let (b, o) = (best.rank(ignore_as_path), other.rank(ignore_as_path));
    Some(if b.0 != o.0 {
        Lost::Weight
    } else if b.1 != o.1 {
        Lost::LocalPreference
    } else if b.2 != o.2 {
        Lost::AsPathLength
    } else if b.3 != o.3 {
        Lost::Ibgp
    } else {
        return None;
    })
}

/// The best path first, followed by every path equal to it (multipath), or empty.
/// `ignore_as_path` leaves the AS path's length out of the comparison.
pub fn select(candidates: &[Candidate], ignore_as_path: bool) -> Vec<&Candidate> {
    let rank = |c: &Candidate| c.rank(ignore_as_path);
    let Some(best) = candidates
        .iter()
        .max_by(|a, b| rank(a).cmp(&rank(b)).then(b.session.cmp(&a.session)))
    else {
        return Vec::new();
    };
    let mut out: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| rank(c) == rank(best))
        .collect();
    out.sort_by_key(|c| c.session);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(session: usize, weight: u32, local_pref: u32, path: &[u32]) -> Candidate {
        Candidate {
            session,
            peer: Ipv4Addr::new(10, 0, 0, session as u8),
            weight,
            local_pref,
            as_path: path.to_vec(),
            ibgp: false,
        }
    }

    #[test]
    fn weight_then_local_pref_then_as_path() {
        let er = c(0, 32769, 100, &[12076, 65001, 65001]);
        let vpn = c(1, 32768, 100, &[65001]);
        assert_eq!(
            select(&[vpn.clone(), er.clone()], false),
            vec![&er],
            "weight beats a shorter path"
        );
        let er = c(0, 0, 150, &[12076, 65515]);
        let vpn = c(1, 0, 100, &[65515]);
        assert_eq!(
            select(&[er.clone(), vpn.clone()], false),
            vec![&er],
            "local preference beats a shorter path"
        );
        let short = c(2, 0, 100, &[1]);
        let long = c(3, 0, 100, &[1, 2]);
        assert_eq!(select(&[long.clone(), short.clone()], false), vec![&short]);
        // Azure VMware Solution leaves the length out: both paths, in session order.
        assert_eq!(
            select(&[long.clone(), short.clone()], true),
            vec![&short, &long]
        );
    }

    #[test]
    fn a_path_lost_at_the_first_step_where_it_is_worse() {
        let best = c(0, 32769, 100, &[12076, 65001]);
        let vpn = c(1, 32768, 150, &[65001]);
        assert_eq!(why_lost(&best, &vpn, false), Some(Lost::Weight));
        let best = c(0, 0, 150, &[12076, 65515, 65515]);
        assert_eq!(
            why_lost(&best, &c(1, 0, 100, &[65515]), false),
            Some(Lost::LocalPreference)
        );
        let best = c(0, 0, 100, &[1]);
        let long = c(1, 0, 100, &[1, 2]);
        assert_eq!(why_lost(&best, &long, false), Some(Lost::AsPathLength));
        assert_eq!(
            why_lost(&best, &long, true),
            None,
            "multipath when lengths are ignored"
        );
        let ibgp = Candidate {
            ibgp: true,
            ..c(2, 0, 100, &[1])
        };
        assert_eq!(why_lost(&best, &ibgp, false), Some(Lost::Ibgp));
        assert_eq!(why_lost(&best, &c(3, 0, 100, &[7]), false), None);
        // Whatever why_lost calls as good, select uses.
        for other in [long, ibgp, c(3, 0, 100, &[7])] {
            let both = [best.clone(), other.clone()];
            let chosen = select(&both, false);
            assert_eq!(
                chosen.iter().any(|c| c.session == other.session),
                why_lost(&best, &other, false).is_none()
            );
        }
    }

    #[test]
    fn equal_paths_are_all_used_in_session_order() {
        let a = c(4, 0, 100, &[12076]);
        let b = c(2, 0, 100, &[12076]);
        assert_eq!(select(&[a.clone(), b.clone()], false), vec![&b, &a]);
        assert!(select(&[], false).is_empty());
    }
}
