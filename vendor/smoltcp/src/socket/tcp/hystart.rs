//! HyStart++ (RFC 9406): leave the initial slow start when the round-trip time starts to
//! grow, before the bottleneck queue overflows, through a Conservative Slow Start (CSS) that
//! resumes slow start if the growth proves spurious.
//!
//! The socket feeds it the new segments it sends and the ACKs of new data it receives; it
//! answers with the [`Transition`] the congestion controller must make. RTT samples come from
//! timing up to [`TIMED`] segments at once (RFC 9406 needs one sample per ACK; smoltcp's
//! estimator times one segment per round trip), so nothing here allocates.

use crate::time::{Duration, Instant};
use crate::wire::TcpSeqNumber;

/// RFC 9406 §4.3: bounds of the RTT increase that ends slow start, and the fraction of the
/// last round's minimum RTT it is otherwise.
const MIN_RTT_THRESH: Duration = Duration::from_millis(4);
const MAX_RTT_THRESH: Duration = Duration::from_millis(16);
const MIN_RTT_DIVISOR: u32 = 8;
/// RFC 9406 §4.3: RTT samples a round needs before its minimum is compared.
const N_RTT_SAMPLE: u32 = 8;
/// RFC 9406 §4.3: CSS grows the window at a quarter of slow start's rate...
pub(super) const CSS_GROWTH_DIVISOR: usize = 4;
/// ...for at most this many rounds, then congestion avoidance begins.
const CSS_ROUNDS: u32 = 5;
/// RFC 9406 takes an RTT sample from every ACK, and judges a round by the minimum of its
/// first [`N_RTT_SAMPLE`] or more. Without a send time kept per segment, the sender times the
/// first [`TIMED_PER_ROUND`] segments it sends in each round: their ACKs are the first of the
/// next round, which gets (with delayed ACKs) at least 16 samples from them.
const TIMED_PER_ROUND: usize = 32;
/// Segments timed at once: a round's run and the previous round's, still unacknowledged.
pub(super) const TIMED: usize = 2 * TIMED_PER_ROUND;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Phase {
    SlowStart,
    Css,
    /// Slow start is over (by HyStart++ or by loss), or HyStart++ is off.
    Off,
}

/// What the congestion controller must do after an ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) enum Transition {
    /// The RTT grew: grow by 1/[`CSS_GROWTH_DIVISOR`] of slow start's increase.
    EnterCss,
    /// The RTT fell back below the baseline: the exit was spurious, grow as slow start again.
    ResumeSlowStart,
    /// CSS lasted [`CSS_ROUNDS`] rounds: ssthresh = cwnd.
    EnterCongestionAvoidance,
}

/// HyStart++ state of one connection.
///
/// Invariant: `timed[..timed_len]` holds segments in the order sent, so their end sequence
/// numbers ascend.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct HyStart {
    phase: Phase,
    /// SND.NXT when the current round began; an ACK at or past it begins the next round.
    window_end: Option<TcpSeqNumber>,
    last_round_min_rtt: Option<Duration>,
    current_round_min_rtt: Option<Duration>,
    rtt_sample_count: u32,
    css_baseline_min_rtt: Option<Duration>,
    css_rounds: u32,
    /// End sequence number and send time of the segments being timed.
    timed: [(TcpSeqNumber, Instant); TIMED],
    timed_len: usize,
    /// Segments still to time in this round.
    to_time: usize,
}

impl HyStart {
    /// A connection that runs HyStart++ in its initial slow start, or never when `enabled` is
    /// false.
    pub(super) const fn new(enabled: bool) -> Self {
        HyStart {
            phase: if enabled {
                Phase::SlowStart
            } else {
                Phase::Off
            },
            window_end: None,
            last_round_min_rtt: None,
            current_round_min_rtt: None,
            rtt_sample_count: 0,
            css_baseline_min_rtt: None,
            css_rounds: 0,
            timed: [(TcpSeqNumber(0), Instant::ZERO); TIMED],
            timed_len: 0,
            to_time: TIMED_PER_ROUND,
        }
    }

    /// Whether the window grows at the CSS rate.
    pub(super) fn in_css(&self) -> bool {
        self.phase == Phase::Css
    }

    /// Loss or a timeout ends slow start (RFC 9406 §4.3); later slow starts stop at the
    /// ssthresh they found, so HyStart++ stays off (§4.1).
    pub(super) fn stop(&mut self) {
        self.phase = Phase::Off;
        self.timed_len = 0;
    }

    /// Records a segment of new data, ending at `end`, sent at `now`.
    pub(super) fn on_send(&mut self, end: TcpSeqNumber, now: Instant) {
        if self.phase != Phase::Off && self.to_time > 0 && self.timed_len < TIMED {
            self.timed[self.timed_len] = (end, now);
            self.timed_len += 1;
            self.to_time -= 1;
        }
    }

    /// Takes in an ACK of new data up to `ack` at `now`, with `snd_nxt` the next sequence
    /// number to send; returns the transition it causes, if any.
    pub(super) fn on_ack(
        &mut self,
        ack: TcpSeqNumber,
        snd_nxt: TcpSeqNumber,
        now: Instant,
    ) -> Option<Transition> {
        if self.phase == Phase::Off {
            return None;
        }
        let rtt = self.take_sample(ack, now);

        // RFC 9406 §4.3: at the start of each round, the current minimum becomes the last.
        if self.window_end.is_none_or(|end| ack >= end) {
            self.window_end = Some(snd_nxt);
            self.to_time = TIMED_PER_ROUND;
            self.last_round_min_rtt = self.current_round_min_rtt;
            self.current_round_min_rtt = None;
            self.rtt_sample_count = 0;
            if self.phase == Phase::Css {
                self.css_rounds += 1;
                if self.css_rounds >= CSS_ROUNDS {
                    self.stop();
                    return Some(Transition::EnterCongestionAvoidance);
                }
            }
        }

        let rtt = rtt?;
        let current = self.current_round_min_rtt.map_or(rtt, |min| min.min(rtt));
        self.current_round_min_rtt = Some(current);
        self.rtt_sample_count += 1;
        if self.rtt_sample_count < N_RTT_SAMPLE {
            return None;
        }
        match self.phase {
            Phase::SlowStart => {
                let last = self.last_round_min_rtt?;
                let thresh = (last / MIN_RTT_DIVISOR).clamp(MIN_RTT_THRESH, MAX_RTT_THRESH);
                if current >= last + thresh {
                    self.css_baseline_min_rtt = Some(current);
                    self.css_rounds = 0;
                    self.phase = Phase::Css;
                    return Some(Transition::EnterCss);
                }
                None
            }
            Phase::Css => {
                if self.css_baseline_min_rtt.is_some_and(|base| current < base) {
                    self.css_baseline_min_rtt = None;
                    self.phase = Phase::SlowStart;
                    return Some(Transition::ResumeSlowStart);
                }
                None
            }
            Phase::Off => None,
        }
    }

    /// Stops timing the segments `ack` covers; the RTT of the last of them, if any.
    fn take_sample(&mut self, ack: TcpSeqNumber, now: Instant) -> Option<Duration> {
        let covered = self.timed[..self.timed_len]
            .iter()
            .take_while(|&&(end, _)| end <= ack)
            .count();
        if covered == 0 {
            return None;
        }
        let sent = self.timed[covered - 1].1;
        self.timed.copy_within(covered..self.timed_len, 0);
        self.timed_len -= covered;
        Some(now - sent)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    const MSS: usize = 1000;
    /// Segments in flight: each ACK covers two (delayed ACKs) and clocks out two more, so a
    /// round (RFC 9406: from SND.NXT at its start) holds nine ACKs.
    const WINDOW: usize = 20;

    /// A sender with a steady window of [`WINDOW`] segments over a path whose RTT the test
    /// sets round by round.
    struct Path {
        h: HyStart,
        una: TcpSeqNumber,
        next: TcpSeqNumber,
        clock: Instant,
    }

    impl Path {
        fn new(h: HyStart) -> Path {
            let mut path = Path {
                h,
                una: TcpSeqNumber(0),
                next: TcpSeqNumber(0),
                clock: Instant::ZERO,
            };
            path.send(WINDOW);
            path
        }

        fn send(&mut self, segments: usize) {
            for _ in 0..segments {
                self.next += MSS;
                self.h.on_send(self.next, self.clock);
            }
        }

        /// The window sent last is ACKed `rtt` after it left; returns the transitions.
        fn round(&mut self, rtt: Duration) -> Vec<Transition> {
            self.clock += rtt;
            let mut out = Vec::new();
            for _ in 0..WINDOW / 2 {
                self.una += 2 * MSS;
                out.extend(self.h.on_ack(self.una, self.next, self.clock));
                self.send(2);
            }
            out
        }

        fn rounds(&mut self, count: usize, rtt: Duration) -> Vec<Transition> {
            (0..count).flat_map(|_| self.round(rtt)).collect()
        }
    }

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// Rounds at `base`, then at `then`: the transitions the change causes.
    fn after_growth(base: Duration, then: Duration) -> Vec<Transition> {
        let mut path = Path::new(HyStart::new(true));
        assert_eq!(path.rounds(4, base), []);
        path.rounds(3, then)
    }

    #[test]
    fn steady_rtt_stays_in_slow_start() {
        let mut path = Path::new(HyStart::new(true));
        assert_eq!(path.rounds(20, ms(20)), []);
        assert!(!path.h.in_css());
    }

    #[test]
    fn rtt_growth_past_the_threshold_enters_css() {
        // 40 ms / 8 = 5 ms: 4.9 ms more is not enough, 5 ms is.
        assert_eq!(after_growth(ms(40), Duration::from_micros(44_900)), []);
        assert_eq!(after_growth(ms(40), ms(45)), [Transition::EnterCss]);
    }

    #[test]
    fn threshold_is_between_four_and_sixteen_milliseconds() {
        // 4 ms / 8 is 0.5 ms, but MIN_RTT_THRESH holds the threshold at 4 ms.
        assert_eq!(after_growth(ms(4), Duration::from_micros(7_900)), []);
        assert_eq!(after_growth(ms(4), ms(8)), [Transition::EnterCss]);
        // 200 ms / 8 is 25 ms, but MAX_RTT_THRESH holds it at 16 ms.
        assert_eq!(after_growth(ms(200), Duration::from_micros(215_900)), []);
        assert_eq!(after_growth(ms(200), ms(216)), [Transition::EnterCss]);
    }

    #[test]
    fn a_round_needs_eight_samples() {
        // Seven delayed ACKs per round: never enough to judge one.
        let mut path = Path::new(HyStart::new(true));
        let mut seen = Vec::new();
        for r in 0..8 {
            path.clock += ms(20 + 20 * r);
            for _ in 0..7 {
                path.una += 2 * MSS;
                seen.extend(path.h.on_ack(path.una, path.next, path.clock));
            }
            path.send(14);
        }
        assert_eq!(seen, []);
    }

    #[test]
    fn css_resumes_slow_start_when_the_rtt_falls_below_its_baseline() {
        let mut path = Path::new(HyStart::new(true));
        path.rounds(4, ms(20));
        assert_eq!(path.rounds(3, ms(30)), [Transition::EnterCss]);
        assert!(path.h.in_css());
        // Not below the baseline: CSS goes on.
        assert_eq!(path.round(ms(30)), []);
        assert_eq!(path.round(ms(29)), [Transition::ResumeSlowStart]);
        assert!(!path.h.in_css());
    }

    #[test]
    fn css_ends_in_congestion_avoidance_after_five_rounds() {
        let mut path = Path::new(HyStart::new(true));
        path.rounds(4, ms(20));
        assert_eq!(path.rounds(3, ms(30)), [Transition::EnterCss]);
        // CSS began two ACKs before its round ended, and that round counts (RFC 9406 §4.3):
        // four more rounds of nine ACKs (38 ACKs in all) end it in the third test round after.
        assert_eq!(path.rounds(2, ms(30)), []);
        assert_eq!(path.round(ms(30)), [Transition::EnterCongestionAvoidance]);
        assert!(!path.h.in_css());
        // And HyStart++ is done for the connection.
        assert_eq!(path.rounds(6, ms(5)), []);
    }

    #[test]
    fn off_or_stopped_never_acts() {
        let mut stopped = HyStart::new(true);
        stopped.stop();
        for h in [HyStart::new(false), stopped] {
            let mut path = Path::new(h);
            for r in 0..8 {
                assert_eq!(path.round(ms(20 + 20 * r)), []);
            }
        }
    }
}
