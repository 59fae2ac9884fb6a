//! UDP probes and ICMP echoes, measured as they happen.
//!
//! Everything the report says about a probe app — counts, latencies overall and per phase, the
//! gaps its outages come from, the first delivery over a new path after each fault — is kept
//! as running state. A probe is remembered only while it is unanswered, so memory follows the
//! probes in flight or lost, not the length of the run (a probe every 10 ms for an hour would
//! otherwise keep 360,000 records). Every probe's record is kept as well only when asked
//! ([`ProbeRecord::keep_log`]), for tests and per-probe exports; nothing computed reads it.

use super::{probe_timeout, Probe};
use crate::results::histogram::Latencies;
use crate::substrate::engine::Time;
use std::collections::BTreeMap;

/// UDP probes or ICMP echoes of one app.
#[derive(Debug, Clone, Default)]
pub struct ProbeRecord {
    /// The sending interval.
    pub interval: Time,
    /// The lab's fault instants, sorted and distinct: phase k > 0 begins at
    /// `phase_starts[k - 1]`.
    phase_starts: Vec<Time>,
    /// Probes sent, answered, and (UDP probes) seen at the peer.
    pub sent: u64,
    pub returned: u64,
    pub arrived: u64,
    /// Send to arrival at the peer (UDP probes only: an echo's arrival is not seen).
    pub one_way: Latencies,
    pub rtt: Latencies,
    /// Per phase, by send time.
    pub phases: Vec<PhaseProbes>,
    /// Probes not answered (yet), by sequence number.
    unanswered: BTreeMap<u64, Probe>,
    /// The last answer, and the probe after the highest one answered so far: answers come back
    /// in sequence, so the unanswered probes below a new answer are the ones missing between
    /// it and the last (a round trip may span several intervals).
    last_answer: Option<Time>,
    gap_start: u64,
    /// Gaps between consecutive answers during which probes were sent that are not answered
    /// (yet), by the first of those probes.
    gaps: BTreeMap<u64, Gap>,
    /// Per fault instant: the latest-sent answered probe sent before it over a known path, as
    /// (sent, path out, path back).
    before_fault: Vec<Option<(Time, u64, u64)>>,
    /// Per phase after a fault: the first delivery over each path, out (probe) and back
    /// (echo), of the probes sent in the phase.
    first_on_path: Vec<[BTreeMap<u64, Time>; 2]>,
    /// Every probe by sequence number, when asked for.
    log: Option<Vec<Probe>>,
}

/// The probes sent in one phase.
#[derive(Debug, Clone, Default)]
pub struct PhaseProbes {
    pub sent: u64,
    pub one_way: Latencies,
    pub rtt: Latencies,
}

/// Consecutive answers at `from` and `to` with probes `first_seq..end_seq` sent between them,
/// `unanswered` of which are not answered (yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub from: Time,
    pub to: Time,
    end_seq: u64,
    pub unanswered: u64,
}

impl ProbeRecord {
    /// Probes sent every `interval`, counted in phases: one from the start, then one from each
    /// of `fault_instants` (sorted, distinct).
    pub fn new(interval: Time, fault_instants: &[Time]) -> Self {
        ProbeRecord {
            interval,
            phase_starts: fault_instants.to_vec(),
            phases: vec![PhaseProbes::default(); fault_instants.len() + 1],
            before_fault: vec![None; fault_instants.len()],
            first_on_path: vec![Default::default(); fault_instants.len()],
            ..ProbeRecord::default()
        }
    }

    /// Keeps every probe's record from now on (see [`ProbeRecord::log`]).
    pub fn keep_log(&mut self) {
        self.log.get_or_insert_with(Vec::new);
    }

    /// Every probe by sequence number, if [`ProbeRecord::keep_log`] asked for it.
    pub fn log(&self) -> Option<&[Probe]> {
        self.log.as_deref()
    }

    fn phase(&self, sent: Time) -> usize {
        self.phase_starts.partition_point(|&f| f <= sent)
    }

    /// Records a probe leaving at `now`; returns its sequence number.
    pub fn sent(&mut self, now: Time) -> u64 {
        let seq = self.sent;
        self.sent += 1;
        let phase = self.phase(now);
        self.phases[phase].sent += 1;
        let p = Probe {
            sent: now,
            ..Probe::default()
        };
        self.unanswered.insert(seq, p);
        if let Some(log) = &mut self.log {
            log.push(p);
        }
        seq
    }

    /// The unanswered probe `seq`, if it carries the stamp `sent`.
    fn pending(&mut self, seq: u64, sent: Time) -> Option<&mut Probe> {
        self.unanswered.get_mut(&seq).filter(|p| p.sent == sent)
    }

    /// Records the path probe `seq` (stamped `sent`) took out (`outbound`) or back: an
    /// identifier of the links it crossed, equal for probes that took the same path.
    pub fn tag_path(&mut self, seq: u64, sent: Time, outbound: bool, path: u64) {
        if let Some(p) = self.pending(seq, sent) {
            if outbound {
                p.path_out = path;
            } else {
                p.path_back = path;
            }
            let p = *p;
            if let Some(logged) = self.log.as_mut().and_then(|l| l.get_mut(seq as usize)) {
                (logged.path_out, logged.path_back) = (p.path_out, p.path_back);
            }
        }
    }

    /// Records probe `seq` (stamped `sent`) reaching the peer at `now`.
    pub fn arrived(&mut self, seq: u64, sent: Time, now: Time) {
        let Some(p) = self.pending(seq, sent).filter(|p| p.arrived.is_none()) else {
            return;
        };
        p.arrived = Some(now);
        let path = p.path_out;
        self.arrived += 1;
        self.one_way.record(now - sent);
        let phase = self.phase(sent);
        self.phases[phase].one_way.record(now - sent);
        if let Some(first) = phase.checked_sub(1).map(|k| &mut self.first_on_path[k][0]) {
            first.entry(path).or_insert(now);
        }
        if let Some(logged) = self.log.as_mut().and_then(|l| l.get_mut(seq as usize)) {
            logged.arrived = Some(now);
        }
    }

    /// Records the echo of probe `seq` (stamped `sent`) coming back at `now`. A stamp that does
    /// not match the probe, or a duplicate, is ignored.
    pub fn returned(&mut self, seq: u64, sent: Time, now: Time) {
        if self.pending(seq, sent).is_none() {
            return;
        }
        let Some(p) = self.unanswered.remove(&seq) else {
            return;
        };
        self.returned += 1;
        self.rtt.record(now - sent);
        let phase = self.phase(sent);
        self.phases[phase].rtt.record(now - sent);
        if let Some(first) = phase.checked_sub(1).map(|k| &mut self.first_on_path[k][1]) {
            first.entry(p.path_back).or_insert(now);
        }
        if p.path_out != 0 {
            // The latest-sent answered probe before each later fault.
            for before in &mut self.before_fault[phase..] {
                if before.is_none_or(|(s, _, _)| s < sent) {
                    *before = Some((sent, p.path_out, p.path_back));
                }
            }
        }
        if let Some(logged) = self.log.as_mut().and_then(|l| l.get_mut(seq as usize)) {
            logged.returned = Some(now);
        }
        // An answer to a probe of an earlier gap.
        if seq < self.gap_start {
            if let Some((&first, gap)) = self.gaps.range_mut(..=seq).next_back() {
                if seq < gap.end_seq {
                    gap.unanswered -= 1;
                    if gap.unanswered == 0 {
                        self.gaps.remove(&first);
                    }
                }
            }
        }
        // The gap since the previous answer, if a probe before this one and after the highest
        // answered is still unanswered.
        if let Some(from) = self.last_answer.filter(|_| seq >= self.gap_start) {
            let unanswered = self.unanswered.range(self.gap_start..seq).count() as u64;
            if unanswered > 0 {
                self.gaps.insert(
                    self.gap_start,
                    Gap {
                        from,
                        to: now,
                        end_seq: seq,
                        unanswered,
                    },
                );
            }
        }
        self.last_answer = Some(now);
        self.gap_start = self.gap_start.max(seq + 1);
    }

    /// How many records the app holds now: its unanswered probes and the gaps still waiting
    /// on them. This, not the run's length, is what its memory grows with.
    pub fn retained(&self) -> usize {
        self.unanswered.len() + self.gaps.len()
    }

    /// Whether probe `p`, unanswered, was sent within [`probe_timeout`] of the end of a run
    /// ending at `run_end`: in flight then, not lost.
    pub fn in_flight_at_end(&self, p: &Probe, run_end: Time) -> bool {
        p.returned.is_none() && p.sent.saturating_add(probe_timeout(&self.rtt)) > run_end
    }

    /// Probes still unanswered at `run_end` but sent within the probe timeout of it, in all
    /// and per phase.
    pub fn in_flight(&self, run_end: Time) -> (u64, Vec<u64>) {
        let mut per_phase = vec![0; self.phases.len()];
        let mut all = 0;
        for p in self.unanswered.values() {
            if self.in_flight_at_end(p, run_end) {
                all += 1;
                per_phase[self.phase(p.sent)] += 1;
            }
        }
        (all, per_phase)
    }

    /// When the last answer came back.
    pub fn last_answer(&self) -> Option<Time> {
        self.last_answer
    }

    /// The gaps the sender saw: consecutive answers with a probe sent between them that was
    /// never answered, as (last answer before, first after, probes never answered).
    pub fn gaps(&self) -> impl Iterator<Item = (Time, Time, u64)> + '_ {
        self.gaps.values().map(|g| (g.from, g.to, g.unanswered))
    }

    /// The first delivery of a probe sent in the phase that fault instant `k` begins, over a
    /// path other than the one the latest answered probe sent before the fault took.
    pub fn new_path(&self, k: usize) -> Option<Time> {
        let (_, out, back) = (*self.before_fault.get(k)?)?;
        let [first_out, first_back] = self.first_on_path.get(k)?;
        let out = first_out
            .iter()
            .filter(|(&path, _)| path != 0 && path != out)
            .map(|(_, &t)| t);
        let back = first_back
            .iter()
            .filter(|(&path, _)| path != 0 && path != back)
            .map(|(_, &t)| t);
        out.chain(back).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// What the record computes as it goes, recomputed from every probe's record afterwards,
    /// the way it was before the record streamed: gaps between consecutive answers with a
    /// probe never answered sent strictly between them.
    /// Gaps as the sender sees them: between consecutive answers (by time, then sequence),
    /// the never-answered probes numbered after the highest answered so far and before the new
    /// answer's.
    fn gaps_from_log(log: &[Probe]) -> Vec<(Time, Time, u64)> {
        let mut answers: Vec<(Time, u64)> = log
            .iter()
            .enumerate()
            .filter_map(|(s, p)| p.returned.map(|t| (t, s as u64)))
            .collect();
        answers.sort_unstable();
        let lost = |from: u64, to: u64| {
            (from..to)
                .filter(|&s| log[s as usize].returned.is_none())
                .count() as u64
        };
        let mut gaps = Vec::new();
        let (mut last, mut next) = (None, 0);
        for (t, s) in answers {
            if let Some(from) = last.filter(|_| s >= next) {
                let n = lost(next, s);
                if n > 0 {
                    gaps.push((from, t, n));
                }
            }
            last = Some(t);
            next = next.max(s + 1);
        }
        gaps
    }

    fn new_path_from_log(log: &[Probe], from: Time, to: Time) -> Option<Time> {
        let before = log
            .iter()
            .rev()
            .find(|p| p.sent < from && p.returned.is_some() && p.path_out != 0)?;
        log.iter()
            .filter(|p| p.sent >= from && p.sent < to)
            .flat_map(|p| {
                let out = p
                    .arrived
                    .filter(|_| p.path_out != 0 && p.path_out != before.path_out);
                let back = p
                    .returned
                    .filter(|_| p.path_back != 0 && p.path_back != before.path_back);
                [out, back]
            })
            .flatten()
            .min()
    }

    #[test]
    fn a_loss_lies_between_the_answers_around_it_when_a_round_trip_spans_intervals() {
        // Every 20 ns, answered 40 ns later, but for probe 5: the sender sees answers at 120
        // (probe 4) and 160 (probe 6) with nothing between.
        let mut r = ProbeRecord::new(20, &[]);
        for t in (0..=200).step_by(20) {
            if t <= 180 {
                r.sent(t);
            }
            if let Some(seq) = t.checked_sub(40).map(|s| s / 20) {
                if seq != 5 && seq < 10 {
                    r.returned(seq, seq * 20, t);
                }
            }
        }
        assert_eq!(r.gaps().collect::<Vec<_>>(), vec![(120, 160, 1)]);
    }

    #[test]
    fn streaming_gives_what_the_whole_log_gives() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            // Probes every 1000 ns; deliveries land between sends (at 500 mod 1000), so no
            // answer shares an instant with a send. Some are lost, some reordered, and the
            // path switches at random times.
            let faults = [40_000, 90_000, 91_000];
            let mut r = ProbeRecord::new(1_000, &faults);
            r.keep_log();
            let mut events: Vec<(Time, u8, u64, u64)> = Vec::new();
            let n = rng.random_range(1..150u64);
            let switch = rng.random_range(0..150_000u64);
            let loss = rng.random_range(0.0..0.5);
            for seq in 0..n {
                let sent = seq * 1_000;
                events.push((sent, 0, seq, 0));
                let path = if sent < switch { 7 } else { 9 };
                if rng.random_bool(loss) {
                    continue;
                }
                let out = sent + 500 + 1_000 * rng.random_range(0..5u64);
                events.push((out, 1, seq, path));
                if rng.random_bool(loss) {
                    continue;
                }
                let back = out + 1_000 * rng.random_range(0..5u64);
                events.push((back, 2, seq, path + 1));
            }
            events.sort();
            for (t, what, seq, path) in events {
                let sent = seq * 1_000;
                match what {
                    0 => assert_eq!(r.sent(t), seq),
                    1 => {
                        r.tag_path(seq, sent, true, path);
                        r.arrived(seq, sent, t);
                    }
                    _ => {
                        r.tag_path(seq, sent, false, path);
                        r.returned(seq, sent, t);
                    }
                }
            }
            let log = r.log().unwrap().to_vec();
            assert_eq!(r.gaps().collect::<Vec<_>>(), gaps_from_log(&log));
            let ends = [90_000, 91_000, 200_000];
            for (k, &from) in faults.iter().enumerate() {
                assert_eq!(
                    r.new_path(k),
                    new_path_from_log(&log, from, ends[k]),
                    "fault {k}"
                );
            }
            assert_eq!(
                r.returned,
                log.iter().filter(|p| p.returned.is_some()).count() as u64
            );
            assert_eq!(
                r.arrived,
                log.iter().filter(|p| p.arrived.is_some()).count() as u64
            );
            let end = n * 1_000;
            let in_flight = log.iter().filter(|p| r.in_flight_at_end(p, end)).count() as u64;
            assert_eq!(r.in_flight(end).0, in_flight);
            // Only unanswered probes are remembered.
            assert_eq!(r.unanswered.len() as u64, r.sent - r.returned);
        }
    }
}
