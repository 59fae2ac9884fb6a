//! IPv4 prefixes and the forwarding table a router looks packets up in.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 prefix: an address and a length. `10.0.1.10/24` keeps the host part, so the same type
/// describes an interface address and the subnet it sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    pub addr: Ipv4Addr,
    pub len: u8,
}

impl Prefix {
    pub fn new(addr: Ipv4Addr, len: u8) -> Self {
        Prefix { addr, len }
    }

    #[inline]
    fn mask(self) -> u32 {
        if self.len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.len))
        }
    }

    /// The network: the address with its host bits cleared.
    pub fn network(self) -> Prefix {
        Prefix::new(Ipv4Addr::from(u32::from(self.addr) & self.mask()), self.len)
    }

    /// Whether every address of `inner` is in this prefix.
    pub fn covers(self, inner: Prefix) -> bool {
        self.len <= inner.len && self.contains(inner.addr)
    }

    #[inline]
    pub fn contains(self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.addr) & self.mask()
    }

    /// True when the two prefixes share any address.
    pub fn overlaps(self, other: Prefix) -> bool {
        let len = self.len.min(other.len);
        Prefix::new(self.addr, len).contains(other.addr)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl serde::Serialize for Prefix {
    /// As text, "10.0.1.0/24".
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FromStr for Prefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, l) = s.split_once('/').ok_or_else(|| {
            format!("'{s}' is not a prefix: write address/length, e.g. 10.0.1.0/24")
        })?;
        let addr: Ipv4Addr = a
            .parse()
            .map_err(|_| format!("'{a}' is not an IPv4 address"))?;
        let len: u8 = l
            .parse()
            .ok()
            .filter(|l| *l <= 32)
            .ok_or_else(|| format!("'/{l}' is not a prefix length (0 to 32)"))?;
        Ok(Prefix::new(addr, len))
    }
}

/// Where a packet leaves a node: a link interface, or an IPsec tunnel (by the node's index of
/// its tunnels); or nowhere, for a route that drops what it matches (next hop type None).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Port {
    Iface(usize),
    Tunnel(usize),
    Discard,
}

/// Where a route sends a packet: out of a port, towards an optional next-hop address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHop {
    pub port: Port,
    pub via: Option<Ipv4Addr>,
}

impl NextHop {
    pub fn iface(iface: usize, via: Option<Ipv4Addr>) -> Self {
        NextHop {
            port: Port::Iface(iface),
            via,
        }
    }
}

/// One forwarding entry: a prefix and its equal-cost next hops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub prefix: Prefix,
    pub next_hops: Vec<NextHop>,
}

/// A forwarding table with longest-prefix match. Entries are kept sorted longest prefix first
/// (then by network), so the first match is the answer and the order never depends on insertion.
/// A forwarding table: routes longest prefix first (then by address).
///
/// Lookups scan the routes while there are few; past [`INDEXED_FROM`] routes the table keeps
/// an index, one exact-match map per prefix length present, rebuilt on every change, so a
/// lookup costs one probe per length instead of one comparison per route (a hub with a
/// thousand branch routes).
#[derive(Debug, Clone, Default)]
pub struct Fib {
    routes: Vec<Route>,
    /// Per route, in the same order, its network and mask as numbers: what a scan compares.
    keys: Vec<(u32, u32)>,
    /// Per prefix length present, longest first: network address -> index in `routes`.
    index: Vec<(u8, std::collections::HashMap<u32, usize>)>,
}

/// The number of routes from which a table keeps an index.
pub const INDEXED_FROM: usize = 32;

impl Fib {
    /// The table [`Fib::add`] builds from `entries` one by one, built in one sort: a hub's
    /// thousands of routes cost n log n, not n² log n.
    pub fn from_entries(entries: impl IntoIterator<Item = (Prefix, NextHop)>) -> Fib {
        let mut fib = Fib::default();
        let mut at: std::collections::BTreeMap<Prefix, usize> = Default::default();
        for (prefix, hop) in entries {
            let prefix = prefix.network();
            match at.get(&prefix) {
                Some(&i) => {
                    let hops = &mut fib.routes[i].next_hops;
                    if !hops.contains(&hop) {
                        hops.push(hop);
                    }
                }
                None => {
                    at.insert(prefix, fib.routes.len());
                    fib.routes.push(Route {
                        prefix,
                        next_hops: vec![hop],
                    });
                }
            }
        }
        fib.sort();
        fib
    }

    /// Adds a next hop for `prefix`; a second next hop for the same prefix makes it equal-cost.
    pub fn add(&mut self, prefix: Prefix, hop: NextHop) {
        let prefix = prefix.network();
        if let Some(r) = self.routes.iter_mut().find(|r| r.prefix == prefix) {
            if !r.next_hops.contains(&hop) {
                r.next_hops.push(hop);
            }
            return;
        }
        self.routes.push(Route {
            prefix,
            next_hops: vec![hop],
        });
        self.sort();
    }

    /// Longest prefix first, then by address, and the index rebuilt.
    fn sort(&mut self) {
        self.routes.sort_by(|a, b| {
            b.prefix
                .len
                .cmp(&a.prefix.len)
                .then(a.prefix.cmp(&b.prefix))
        });
        self.reindex();
    }

    /// Adds every entry of `more` for a prefix this table does not have yet, sorting and
    /// indexing once: rebuilding a table of thousands of routes costs n log n, not n² log n.
    pub fn extend_new(&mut self, more: impl IntoIterator<Item = (Prefix, Vec<NextHop>)>) {
        let have: std::collections::BTreeSet<Prefix> =
            self.routes.iter().map(|r| r.prefix).collect();
        let before = self.routes.len();
        for (prefix, next_hops) in more {
            let prefix = prefix.network();
            if !have.contains(&prefix) && !next_hops.is_empty() {
                self.routes.push(Route { prefix, next_hops });
            }
        }
        if self.routes.len() != before {
            self.sort();
        }
    }

    /// Removes every route for `prefix`.
    pub fn remove(&mut self, prefix: Prefix) {
        let prefix = prefix.network();
        self.routes.retain(|r| r.prefix != prefix);
        self.reindex();
    }

    fn reindex(&mut self) {
        self.keys = self
            .routes
            .iter()
            .map(|r| (u32::from(r.prefix.addr) & r.prefix.mask(), r.prefix.mask()))
            .collect();
        self.index.clear();
        if self.routes.len() < INDEXED_FROM {
            return;
        }
        for (i, r) in self.routes.iter().enumerate() {
            if self
                .index
                .last()
                .is_none_or(|(len, _)| *len != r.prefix.len)
            {
                self.index.push((r.prefix.len, Default::default()));
            }
            if let Some((_, map)) = self.index.last_mut() {
                map.insert(u32::from(r.prefix.addr), i);
            }
        }
    }

    /// Every route whose prefix holds `dst`, longest first.
    #[inline]
    pub fn matches(&self, dst: Ipv4Addr) -> Matches<'_> {
        Matches {
            fib: self,
            dst,
            at: 0,
        }
    }

    /// Whether there is an entry for exactly `prefix`.
    pub fn has(&self, prefix: Prefix) -> bool {
        let prefix = prefix.network();
        self.routes.iter().any(|r| r.prefix == prefix)
    }

    /// The longest prefix containing `dst`.
    pub fn lookup(&self, dst: Ipv4Addr) -> Option<&Route> {
        self.matches(dst).next()
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }
}

/// The routes holding an address, longest prefix first ([`Fib::matches`]).
pub struct Matches<'a> {
    fib: &'a Fib,
    dst: Ipv4Addr,
    /// The next route to look at, or the next prefix length of the index.
    at: usize,
}

impl<'a> Iterator for Matches<'a> {
    type Item = &'a Route;

    #[inline]
    fn next(&mut self) -> Option<&'a Route> {
        let fib = self.fib;
        if fib.index.is_empty() {
            let dst = u32::from(self.dst);
            while let Some(&(network, mask)) = fib.keys.get(self.at) {
                self.at += 1;
                if dst & mask == network {
                    return fib.routes.get(self.at - 1);
                }
            }
            return None;
        }
        while let Some((len, map)) = fib.index.get(self.at) {
            self.at += 1;
            let network = Prefix::new(self.dst, *len).network();
            if let Some(&i) = map.get(&u32::from(network.addr)) {
                return Some(&fib.routes[i]);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn a_table_built_at_once_is_the_table_built_route_by_route() {
        // Prefixes of every length in a scrambled order, some twice (equal cost), some with
        // the same next hop twice, host bits set on some: the same routes, order and next
        // hops either way, indexed alike.
        let mut entries = Vec::new();
        let mut x: u32 = 12345;
        for i in 0..300u32 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let len = (x >> 27) as u8 + 1;
            let addr = Ipv4Addr::from(x.rotate_left(7) & 0x0aff_ffff | 0x0a00_0000);
            entries.push((Prefix::new(addr, len), NextHop::iface(i as usize % 3, None)));
            if i % 7 == 0 {
                entries.push((Prefix::new(addr, len), NextHop::iface(i as usize % 5, None)));
            }
        }
        let mut one_by_one = Fib::default();
        for &(prefix, hop) in &entries {
            one_by_one.add(prefix, hop);
        }
        let at_once = Fib::from_entries(entries.iter().copied());
        assert_eq!(at_once.routes(), one_by_one.routes());
        assert!(at_once.routes().iter().any(|r| r.next_hops.len() > 1));
        assert_eq!(at_once.keys, one_by_one.keys);
        assert!(!at_once.index.is_empty());
        assert_eq!(at_once.index, one_by_one.index);
        for &(prefix, _) in &entries {
            let found = |f: &Fib| f.matches(prefix.addr).map(|r| r.prefix).collect::<Vec<_>>();
            assert_eq!(found(&at_once), found(&one_by_one));
        }
    }

    #[test]
    fn an_indexed_table_matches_what_a_scan_finds() {
        // Past the threshold the table indexes its routes by length; the matches, and their
        // order, are those of a scan.
        let mut fib = Fib::default();
        let hop = NextHop::iface(0, None);
        for i in 0..200u32 {
            fib.add(Prefix::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24), hop);
        }
        fib.add(p("10.0.0.0/8"), hop);
        fib.add(p("0.0.0.0/0"), hop);
        fib.add(p("10.0.5.128/25"), hop);
        assert!(!fib.index.is_empty());
        for dst in [
            "10.0.5.200",
            "10.0.5.1",
            "10.0.250.1",
            "11.1.1.1",
            "10.0.199.9",
        ] {
            let dst: Ipv4Addr = dst.parse().unwrap();
            let indexed: Vec<Prefix> = fib.matches(dst).map(|r| r.prefix).collect();
            let scanned: Vec<Prefix> = fib
                .routes()
                .iter()
                .filter(|r| r.prefix.contains(dst))
                .map(|r| r.prefix)
                .collect();
            assert_eq!(indexed, scanned, "{dst}");
        }
        fib.remove(p("10.0.5.128/25"));
        assert_eq!(
            fib.lookup("10.0.5.200".parse().unwrap()).unwrap().prefix,
            p("10.0.5.0/24")
        );
    }

    #[test]
    fn longest_prefix_wins_regardless_of_insertion_order() {
        let hop = |i| NextHop::iface(i, None);
        let port = |fib: &Fib, ip: &str| fib.lookup(ip.parse().unwrap()).unwrap().next_hops[0].port;
        let mut fib = Fib::default();
        fib.add(p("0.0.0.0/0"), hop(0));
        fib.add(p("10.0.2.0/24"), hop(2));
        fib.add(p("10.0.0.0/8"), hop(1));
        assert_eq!(port(&fib, "10.0.2.7"), Port::Iface(2));
        assert_eq!(port(&fib, "10.9.2.7"), Port::Iface(1));
        assert_eq!(port(&fib, "8.8.8.8"), Port::Iface(0));
        fib.remove(p("0.0.0.0/0"));
        assert!(fib.lookup("8.8.8.8".parse().unwrap()).is_none());
    }

    #[test]
    fn prefixes_parse_and_compare() {
        assert_eq!(p("10.0.1.10/24").network(), p("10.0.1.0/24"));
        assert!(p("10.0.1.10/24").contains("10.0.1.200".parse().unwrap()));
        assert!(!p("10.0.1.10/24").contains("10.0.2.1".parse().unwrap()));
        assert!(p("10.0.0.0/8").overlaps(p("10.0.1.0/24")));
        assert!(!p("10.0.1.0/24").overlaps(p("10.0.2.0/24")));
        assert!("10.0.1.0".parse::<Prefix>().is_err());
        assert!("10.0.1.0/33".parse::<Prefix>().is_err());
    }
}
