//! Loss recovery paced by the pipe: RFC 6675 with the peer's SACK blocks, and RFC 6582
//! (NewReno) partial-acknowledgement recovery when the peer does not permit SACK.
//!
//! The socket keeps one [`Recovery`]; this module holds its state and the computations of
//! RFC 6675 §4 (`IsLost`, `SetPipe`, `NextSeg` rule 1) over sequence numbers. The socket feeds
//! it acknowledgements and transmissions and asks it what to retransmit.

use crate::wire::TcpSeqNumber;

/// RFC 6675 DupThresh: duplicate ACKs, or SACKed ranges above a hole, that mark it lost.
pub(super) const DUP_THRESH: usize = 3;

/// SACKed ranges the scoreboard holds. A receiver can only report as many as its reassembly
/// buffer has holes (`assembler-max-segment-count-*`, at most 32); past this the highest range
/// is forgotten, which only makes the sender retransmit data the peer already holds.
const SCOREBOARD_RANGES: usize = 32;

/// The octets above SND.UNA that the peer has selectively acknowledged.
///
/// Invariant: `ranges[..len]` are sorted, non-empty, and neither overlap nor touch.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct Scoreboard {
    ranges: [(TcpSeqNumber, TcpSeqNumber); SCOREBOARD_RANGES],
    len: usize,
}

impl Scoreboard {
    pub(super) const fn new() -> Self {
        Scoreboard {
            ranges: [(TcpSeqNumber(0), TcpSeqNumber(0)); SCOREBOARD_RANGES],
            len: 0,
        }
    }

    pub(super) fn clear(&mut self) {
        self.len = 0;
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn iter(&self) -> impl DoubleEndedIterator<Item = (TcpSeqNumber, TcpSeqNumber)> + '_ {
        self.ranges[..self.len].iter().copied()
    }

    /// Records that the peer holds `[left, right)`; returns how many of those octets were not
    /// known to be SACKed before.
    pub(super) fn insert(&mut self, left: TcpSeqNumber, right: TcpSeqNumber) -> usize {
        if left >= right {
            return 0;
        }
        // Ranges before `first` end before `left`; ranges from `last` on start after `right`.
        let first = self.iter().take_while(|&(_, r)| r < left).count();
        let mut last = first;
        let (mut l, mut r, mut known) = (left, right, 0);
        while last < self.len && self.ranges[last].0 <= right {
            let (rl, rr) = self.ranges[last];
            let overlap_l = rl.max(left);
            let overlap_r = rr.min(right);
            if overlap_l < overlap_r {
                known += overlap_r - overlap_l;
            }
            l = l.min(rl);
            r = r.max(rr);
            last += 1;
        }
        if first == last {
            if self.len == SCOREBOARD_RANGES {
                if first == self.len {
                    return 0;
                }
                self.len -= 1;
            }
            self.ranges.copy_within(first..self.len, first + 1);
            self.len += 1;
        } else {
            self.ranges.copy_within(last..self.len, first + 1);
            self.len -= last - first - 1;
        }
        self.ranges[first] = (l, r);
        (right - left) - known
    }

    /// Forgets everything below `una`, which the peer has now acknowledged cumulatively.
    pub(super) fn advance(&mut self, una: TcpSeqNumber) {
        let gone = self.iter().take_while(|&(_, r)| r <= una).count();
        self.ranges.copy_within(gone..self.len, 0);
        self.len -= gone;
        if self.len > 0 && self.ranges[0].0 < una {
            self.ranges[0].0 = una;
        }
    }

    /// SACKed octets in `[from, to)`.
    pub(super) fn sacked_between(&self, from: TcpSeqNumber, to: TcpSeqNumber) -> usize {
        self.iter()
            .map(|(l, r)| (l.max(from), r.min(to)))
            .filter(|&(l, r)| l < r)
            .map(|(l, r)| r - l)
            .sum()
    }

    /// `seq`, or the end of the SACKed range that holds it.
    pub(super) fn skip_sacked(&self, seq: TcpSeqNumber) -> TcpSeqNumber {
        self.iter()
            .find(|&(l, r)| l <= seq && seq < r)
            .map_or(seq, |(_, r)| r)
    }

    /// The start of the first SACKed range above `seq`.
    pub(super) fn next_sacked_above(&self, seq: TcpSeqNumber) -> Option<TcpSeqNumber> {
        self.iter().map(|(l, _)| l).find(|&l| l > seq)
    }

    /// RFC 6675 `IsLost`, as a boundary: every unSACKed octet below the returned sequence
    /// number has DupThresh discontiguous SACKed ranges, or more than (DupThresh - 1) * SMSS
    /// SACKed octets, above it. `None` when no octet qualifies.
    pub(super) fn loss_boundary(&self, smss: usize) -> Option<TcpSeqNumber> {
        let mut octets = 0;
        for (count, (l, r)) in self.iter().rev().enumerate() {
            octets += r - l;
            if count + 1 >= DUP_THRESH || octets > (DUP_THRESH - 1) * smss {
                return Some(l);
            }
        }
        None
    }
}

/// The sender's loss-recovery state (RFC 6675 §5, RFC 6582 §3.2).
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct Recovery {
    pub(super) scoreboard: Scoreboard,
    /// RecoveryPoint: recovery lasts until the cumulative ACK reaches it. `None` outside
    /// recovery.
    pub(super) point: Option<TcpSeqNumber>,
    /// Whether the recovery began with a retransmission timeout (slow start from the rewound
    /// send point) rather than with duplicate ACKs (retransmissions chosen by `next_seg`).
    pub(super) after_rto: bool,
    /// HighRxt: the end of the highest octet retransmitted in this recovery.
    pub(super) high_rxt: TcpSeqNumber,
    /// HighData: the end of the highest octet ever sent (the send point can be rewound by a
    /// timeout; this cannot). `None` before the first segment.
    high_data: Option<TcpSeqNumber>,
    /// For a peer without SACK: duplicate ACKs, each taken as one segment delivered above the
    /// hole (Linux counts them the same way), so that they leave the pipe.
    pub(super) dup_segments: usize,
    /// RFC 6675 (4.3): the first retransmission of a fast recovery is sent whatever the pipe.
    pub(super) first_rxt_pending: bool,
}

impl Recovery {
    pub(super) const fn new() -> Self {
        Recovery {
            scoreboard: Scoreboard::new(),
            point: None,
            after_rto: false,
            high_rxt: TcpSeqNumber(0),
            high_data: None,
            dup_segments: 0,
            first_rxt_pending: false,
        }
    }

    /// Records that octets up to `end` have been sent.
    pub(super) fn sent_up_to(&mut self, end: TcpSeqNumber) {
        self.high_data = Some(self.high_data.map_or(end, |h| h.max(end)));
    }

    /// HighData, given the current send point `nxt`.
    pub(super) fn high_data(&self, nxt: TcpSeqNumber) -> TcpSeqNumber {
        self.high_data.map_or(nxt, |h| h.max(nxt))
    }

    /// Whether nothing is SACKed, no duplicate ACK counted and no recovery under way: then the
    /// pipe is FlightSize and nothing is due for retransmission.
    #[inline]
    pub(super) fn is_quiet(&self) -> bool {
        self.scoreboard.is_empty() && self.dup_segments == 0 && self.point.is_none()
    }

    /// Whether duplicate ACKs (or SACKed ranges) have started a recovery that is not over.
    #[inline]
    pub(super) fn in_fast_recovery(&self) -> bool {
        self.point.is_some() && !self.after_rto
    }

    /// RFC 6675 §5 (4.1), (4.3): loss detected at `una` with everything below `high_data`
    /// sent.
    pub(super) fn enter_fast_recovery(&mut self, una: TcpSeqNumber, high_data: TcpSeqNumber) {
        self.sent_up_to(high_data);
        self.point = Some(high_data);
        self.after_rto = false;
        self.high_rxt = una;
        self.first_rxt_pending = true;
    }

    /// RFC 6675 §5.1: a retransmission timeout, with everything below `high_data` sent. SACK
    /// information is dropped, as RFC 2018 requires, since the peer may have discarded what it
    /// reported.
    pub(super) fn on_rto(&mut self, una: TcpSeqNumber, high_data: TcpSeqNumber) {
        self.sent_up_to(high_data);
        self.point = Some(high_data);
        self.after_rto = true;
        self.high_rxt = una;
        self.dup_segments = 0;
        self.first_rxt_pending = false;
        self.scoreboard.clear();
    }

    /// The end of the octets presumed lost: unSACKed octets in `[una, end)` are lost. In fast
    /// recovery, beside what `IsLost` finds, the segment at `una` is lost (RFC 6582: after a
    /// partial ACK the next hole is retransmitted at once), and so is everything retransmitted
    /// (the originals left the network; the copies are counted by `pipe` on their own).
    fn lost_end(
        &self,
        una: TcpSeqNumber,
        nxt: TcpSeqNumber,
        smss: usize,
        sack: bool,
    ) -> TcpSeqNumber {
        let mut end = if sack {
            self.scoreboard.loss_boundary(smss).unwrap_or(una)
        } else {
            una
        };
        end = end.max(if self.high_rxt <= una {
            una + smss
        } else {
            self.high_rxt
        });
        end.min(nxt).max(una)
    }

    /// RFC 6675 `SetPipe`: octets presumed in the network, with `[una, nxt)` outstanding.
    /// Outside fast recovery nothing is presumed lost, so this is FlightSize less what the
    /// peer holds (with limited transmit, RFC 3042, as a consequence).
    pub(super) fn pipe(
        &self,
        una: TcpSeqNumber,
        nxt: TcpSeqNumber,
        smss: usize,
        sack: bool,
    ) -> usize {
        let flight = nxt - una;
        let sacked = if sack {
            self.scoreboard.sacked_between(una, nxt)
        } else {
            (self.dup_segments * smss).min(flight)
        };
        if !self.in_fast_recovery() {
            return flight - sacked;
        }
        let unsacked = |to: TcpSeqNumber| {
            let to = to.min(nxt).max(una);
            let held = if sack {
                self.scoreboard.sacked_between(una, to)
            } else {
                0
            };
            (to - una) - held
        };
        let lost = unsacked(self.lost_end(una, nxt, smss, sack));
        let retransmitted = unsacked(self.high_rxt);
        (flight - sacked).saturating_sub(lost) + retransmitted
    }

    /// RFC 6675 `NextSeg` rule (1) in fast recovery: the first unSACKed octet at or above
    /// HighRxt that is presumed lost, and how much of it one segment of `smss` retransmits
    /// (stopping at the next SACKed range).
    pub(super) fn next_seg(
        &self,
        una: TcpSeqNumber,
        nxt: TcpSeqNumber,
        smss: usize,
        sack: bool,
    ) -> Option<(TcpSeqNumber, usize)> {
        if !self.in_fast_recovery() {
            return None;
        }
        let seq = self.scoreboard.skip_sacked(self.high_rxt.max(una));
        if seq >= self.lost_end(una, nxt, smss, sack) {
            return None;
        }
        let limit = self
            .scoreboard
            .next_sacked_above(seq)
            .map_or(nxt, |l| l.min(nxt));
        Some((seq, smss.min(limit - seq)))
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn seq(n: i32) -> TcpSeqNumber {
        TcpSeqNumber(n)
    }

    fn ranges(s: &Scoreboard) -> Vec<(i32, i32)> {
        s.iter().map(|(l, r)| (l.0, r.0)).collect()
    }

    #[test]
    fn scoreboard_merges_and_counts_new_octets() {
        let mut s = Scoreboard::new();
        assert_eq!(s.insert(seq(100), seq(200)), 100);
        assert_eq!(s.insert(seq(300), seq(400)), 100);
        assert_eq!(s.insert(seq(150), seq(250)), 50);
        assert_eq!(ranges(&s), [(100, 250), (300, 400)]);
        // Touching ranges merge.
        assert_eq!(s.insert(seq(250), seq(300)), 50);
        assert_eq!(ranges(&s), [(100, 400)]);
        assert_eq!(s.insert(seq(120), seq(130)), 0);
        assert_eq!(s.insert(seq(0), seq(50)), 50);
        assert_eq!(ranges(&s), [(0, 50), (100, 400)]);
        assert_eq!(s.insert(seq(40), seq(500)), 150);
        assert_eq!(ranges(&s), [(0, 500)]);
        assert_eq!(s.insert(seq(10), seq(10)), 0);
    }

    #[test]
    fn scoreboard_advance_forgets_acknowledged_octets() {
        let mut s = Scoreboard::new();
        s.insert(seq(100), seq(200));
        s.insert(seq(300), seq(400));
        s.advance(seq(150));
        assert_eq!(ranges(&s), [(150, 200), (300, 400)]);
        s.advance(seq(250));
        assert_eq!(ranges(&s), [(300, 400)]);
        s.advance(seq(400));
        assert!(s.is_empty());
    }

    #[test]
    fn scoreboard_handles_wrapping_sequence_numbers() {
        let mut s = Scoreboard::new();
        s.insert(seq(i32::MAX - 10), seq(i32::MAX));
        s.insert(seq(i32::MAX), seq(i32::MIN + 10));
        assert_eq!(ranges(&s), [(i32::MAX - 10, i32::MIN + 10)]);
        assert_eq!(s.sacked_between(seq(i32::MAX - 20), seq(i32::MIN + 20)), 21);
    }

    #[test]
    fn scoreboard_when_full_forgets_the_highest_range() {
        let mut s = Scoreboard::new();
        for i in 0..SCOREBOARD_RANGES as i32 {
            s.insert(seq(i * 10), seq(i * 10 + 5));
        }
        // A range above all others is not recorded.
        assert_eq!(s.insert(seq(10_000), seq(10_005)), 0);
        // A lower one displaces the highest.
        assert_eq!(s.insert(seq(-20), seq(-15)), 5);
        assert_eq!(s.iter().next(), Some((seq(-20), seq(-15))));
        assert_eq!(s.iter().last().unwrap().0, seq(300));
    }

    #[test]
    fn is_lost_needs_three_ranges_or_more_than_two_segments_above() {
        let mut s = Scoreboard::new();
        let smss = 100;
        s.insert(seq(100), seq(200));
        assert_eq!(s.loss_boundary(smss), None);
        s.insert(seq(300), seq(400));
        assert_eq!(s.loss_boundary(smss), None);
        // A third discontiguous range: octets below the lowest are lost.
        s.insert(seq(500), seq(600));
        assert_eq!(s.loss_boundary(smss), Some(seq(100)));

        // Or more than 2 * SMSS octets in one range.
        let mut s = Scoreboard::new();
        s.insert(seq(100), seq(300));
        assert_eq!(s.loss_boundary(smss), None);
        s.insert(seq(300), seq(301));
        assert_eq!(s.loss_boundary(smss), Some(seq(100)));
    }

    /// Ten segments of 100 octets at 0..1000 are outstanding; the peer SACKs 200..1000, so the
    /// first two are lost.
    fn recovery_with_two_holes() -> Recovery {
        let mut r = Recovery::new();
        r.scoreboard.insert(seq(200), seq(1000));
        r.enter_fast_recovery(seq(0), seq(1000));
        r
    }

    #[test]
    fn next_seg_retransmits_every_hole_in_order() {
        let mut r = recovery_with_two_holes();
        let (una, nxt) = (seq(0), seq(1000));
        assert_eq!(r.next_seg(una, nxt, 100, true), Some((seq(0), 100)));
        r.high_rxt = seq(100);
        assert_eq!(r.next_seg(una, nxt, 100, true), Some((seq(100), 100)));
        r.high_rxt = seq(200);
        // Nothing above HighRxt is lost.
        assert_eq!(r.next_seg(una, nxt, 100, true), None);
    }

    #[test]
    fn pipe_counts_neither_sacked_nor_lost_octets_but_counts_retransmissions() {
        let mut r = recovery_with_two_holes();
        let (una, nxt) = (seq(0), seq(1000));
        assert_eq!(r.pipe(una, nxt, 100, true), 0);
        r.high_rxt = seq(100);
        assert_eq!(r.pipe(una, nxt, 100, true), 100);
        // Outside recovery it is FlightSize less what the peer holds.
        r.point = None;
        assert_eq!(r.pipe(una, nxt, 100, true), 200);
    }

    #[test]
    fn newreno_presumes_only_the_head_lost_and_counts_dupacks_as_delivered() {
        let mut r = Recovery::new();
        r.dup_segments = 3;
        r.enter_fast_recovery(seq(0), seq(1000));
        let (una, nxt) = (seq(0), seq(1000));
        assert_eq!(r.next_seg(una, nxt, 100, false), Some((seq(0), 100)));
        // 1000 outstanding, 300 delivered above the hole, 100 lost.
        assert_eq!(r.pipe(una, nxt, 100, false), 600);
        r.high_rxt = seq(100);
        assert_eq!(r.next_seg(una, nxt, 100, false), None);
        assert_eq!(r.pipe(una, nxt, 100, false), 700);
        // A partial ACK to 500: the segment at 500 is the next hole.
        assert_eq!(r.next_seg(seq(500), nxt, 100, false), Some((seq(500), 100)));
    }

    #[test]
    fn a_timeout_forgets_sack_information() {
        let mut r = recovery_with_two_holes();
        r.on_rto(seq(0), seq(1000));
        assert!(r.scoreboard.is_empty());
        assert!(!r.in_fast_recovery());
        assert_eq!(r.point, Some(seq(1000)));
        assert_eq!(r.next_seg(seq(0), seq(1000), 100, true), None);
    }
}
