//! Typed indices into the validated lab: a node, a link, a direction of a link. They keep a
//! link index from being used as a node index, and hold in one place the arithmetic that turns
//! a link direction into a scheduler lane or a path step.

use std::ops::{Index, IndexMut};

/// A node: its index in [`crate::lab::model::Lab::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

/// A link: its index in [`crate::lab::model::Lab::links`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub usize);

impl NodeId {
    pub fn index(self) -> usize {
        self.0
    }
}

impl LinkId {
    pub fn index(self) -> usize {
        self.0
    }

    /// Direction `dir` of this link.
    pub fn dir(self, dir: Dir) -> LinkDir {
        LinkDir { link: self, dir }
    }
}

/// Tables of nodes and links (the lab's, the run's) are vectors indexed by these ids.
macro_rules! index_vec_by {
    ($id:ty) => {
        impl<T> Index<$id> for Vec<T> {
            type Output = T;
            fn index(&self, id: $id) -> &T {
                &self[id.0]
            }
        }
        impl<T> IndexMut<$id> for Vec<T> {
            fn index_mut(&mut self, id: $id) -> &mut T {
                &mut self[id.0]
            }
        }
        impl<T> Index<$id> for [T] {
            type Output = T;
            fn index(&self, id: $id) -> &T {
                &self[id.0]
            }
        }
        impl<T> IndexMut<$id> for [T] {
            fn index_mut(&mut self, id: $id) -> &mut T {
                &mut self[id.0]
            }
        }
    };
}
index_vec_by!(NodeId);
index_vec_by!(LinkId);

/// A direction of a link, named by the end it leaves from: a link's end a sends on `AToB`
/// and receives on `BToA`. An interface's `side` is the direction it sends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dir {
    AToB = 0,
    BToA = 1,
}

impl Dir {
    pub const BOTH: [Dir; 2] = [Dir::AToB, Dir::BToA];

    /// 0 for a→b, 1 for b→a: the index of the sending end in a link's `ends`.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The direction from `index` (0 or 1); anything else is a→b's opposite, b→a.
    pub fn from_index(index: usize) -> Dir {
        if index == 0 {
            Dir::AToB
        } else {
            Dir::BToA
        }
    }

    /// The other direction of the same link.
    pub fn reverse(self) -> Dir {
        match self {
            Dir::AToB => Dir::BToA,
            Dir::BToA => Dir::AToB,
        }
    }

    /// How reports, exports and random stream names write it.
    pub fn label(self) -> &'static str {
        match self {
            Dir::AToB => "a->b",
            Dir::BToA => "b->a",
        }
    }

    /// The index of the end that receives on this direction.
    pub fn receiver(self) -> usize {
        self.reverse().index()
    }
}

/// A pair per link (ends, directions) indexed by direction.
impl<T> Index<Dir> for [T; 2] {
    type Output = T;
    fn index(&self, dir: Dir) -> &T {
        &self[dir.index()]
    }
}

impl<T> IndexMut<Dir> for [T; 2] {
    fn index_mut(&mut self, dir: Dir) -> &mut T {
        &mut self[dir.index()]
    }
}

/// One direction of one link: where a packet travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkDir {
    pub link: LinkId,
    pub dir: Dir,
}

impl LinkDir {
    /// A number unique to this link direction, `2 * link + dir`, dense from 0: the scheduler
    /// lane of its arrivals, and the step [`crate::sim`] folds into a packet's path.
    pub fn lane(self) -> usize {
        2 * self.link.0 + self.dir.index()
    }

    /// The other direction of the same link.
    pub fn reverse(self) -> LinkDir {
        LinkDir {
            link: self.link,
            dir: self.dir.reverse(),
        }
    }
}

/// A value per link direction, indexed by [`LinkDir`] (or per link by [`LinkId`]).
#[derive(Debug, Clone, Default)]
pub struct PerLinkDir<T>(Vec<[T; 2]>);

impl<T> PerLinkDir<T> {
    /// One pair per link, from `make(link)`.
    pub fn new(links: usize, mut make: impl FnMut(LinkId) -> [T; 2]) -> Self {
        PerLinkDir((0..links).map(|l| make(LinkId(l))).collect())
    }

    /// How many links.
    pub fn links(&self) -> usize {
        self.0.len()
    }

    /// Each link's pair, links in order.
    pub fn pairs(&self) -> std::slice::Iter<'_, [T; 2]> {
        self.0.iter()
    }

    /// Each link's pair, links in order, to change.
    pub fn pairs_mut(&mut self) -> std::slice::IterMut<'_, [T; 2]> {
        self.0.iter_mut()
    }

    /// Every link direction with its value, links in order, a→b before b→a.
    pub fn iter(&self) -> impl Iterator<Item = (LinkDir, &T)> {
        self.0.iter().enumerate().flat_map(|(l, pair)| {
            pair.iter()
                .enumerate()
                .map(move |(d, v)| (LinkId(l).dir(Dir::from_index(d)), v))
        })
    }
}

impl<T: Clone> PerLinkDir<T> {
    /// `value` for every direction of `links` links.
    pub fn filled(links: usize, value: T) -> Self {
        PerLinkDir(vec![[value.clone(), value]; links])
    }
}

impl<T> Index<LinkDir> for PerLinkDir<T> {
    type Output = T;
    fn index(&self, at: LinkDir) -> &T {
        &self.0[at.link.0][at.dir.index()]
    }
}

impl<T> IndexMut<LinkDir> for PerLinkDir<T> {
    fn index_mut(&mut self, at: LinkDir) -> &mut T {
        &mut self.0[at.link.0][at.dir.index()]
    }
}

impl<T> Index<LinkId> for PerLinkDir<T> {
    type Output = [T; 2];
    fn index(&self, link: LinkId) -> &[T; 2] {
        &self.0[link.0]
    }
}

impl<T> IndexMut<LinkId> for PerLinkDir<T> {
    fn index_mut(&mut self, link: LinkId) -> &mut [T; 2] {
        &mut self.0[link.0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_are_dense_and_distinct() {
        let lanes: Vec<usize> = (0..3)
            .flat_map(|l| Dir::BOTH.map(|d| LinkId(l).dir(d).lane()))
            .collect();
        assert_eq!(lanes, vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_direction_is_received_by_the_other_end() {
        assert_eq!(Dir::AToB.receiver(), 1);
        assert_eq!(Dir::BToA.receiver(), 0);
        assert_eq!(LinkId(4).dir(Dir::AToB).reverse(), LinkId(4).dir(Dir::BToA));
        assert_eq!(Dir::from_index(1), Dir::BToA);
    }

    #[test]
    fn per_link_dir_indexes_by_direction() {
        let mut v = PerLinkDir::filled(2, 0u32);
        v[LinkId(1).dir(Dir::BToA)] = 7;
        assert_eq!(v[LinkId(1)], [0, 7]);
        let seen: Vec<(usize, u32)> = v.iter().map(|(at, &x)| (at.lane(), x)).collect();
        assert_eq!(seen, vec![(0, 0), (1, 0), (2, 0), (3, 7)]);
    }
}
