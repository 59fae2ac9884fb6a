//! Requests and responses, measured as they complete: counts, completion times overall and
//! per phase, and the stalls outages come from. Nothing is kept per request, so memory does not
//! grow with the length of the run.

use super::STALL_MIN;
use crate::results::histogram::Latencies;
use crate::substrate::engine::Time;

/// TCP requests and their responses over one connection.
#[derive(Debug, Clone, Default)]
pub struct ExchangeRecord {
    /// The request interval.
    pub interval: Time,
    /// The lab's fault instants, sorted and distinct: phase k > 0 begins at
    /// `phase_starts[k - 1]`.
    phase_starts: Vec<Time>,
    /// Requests issued and answered.
    pub requests: u64,
    pub responses: u64,
    /// Bytes written and read by the client.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Scheduled issue to the last byte of the response.
    pub completion: Latencies,
    /// Completion times of the requests issued in each phase.
    pub phases: Vec<Latencies>,
    pub established_at: Option<Time>,
    last_completion: Option<Time>,
    /// Consecutive completions at least two normal intervals apart, as (earlier, later).
    stalls: Vec<(Time, Time)>,
}

impl ExchangeRecord {
    /// Requests every `interval`, counted in phases: one from the start, then one from each of
    /// `fault_instants` (sorted, distinct).
    pub fn new(interval: Time, fault_instants: &[Time]) -> Self {
        ExchangeRecord {
            interval,
            phase_starts: fault_instants.to_vec(),
            phases: vec![Latencies::new(); fault_instants.len() + 1],
            ..ExchangeRecord::default()
        }
    }

    /// The silence between completions that counts as a stall: two request intervals, and no
    /// less than [`STALL_MIN`].
    fn stall(&self) -> Time {
        2 * self.interval.max(STALL_MIN / 2)
    }

    /// Records the response to the request scheduled at `issued` completing at `now`.
    pub fn completed(&mut self, issued: Time, now: Time) {
        self.responses += 1;
        self.completion.record(now - issued);
        let phase = self.phase_starts.partition_point(|&f| f <= issued);
        self.phases[phase].record(now - issued);
        if let Some(last) = self.last_completion {
            if now - last >= self.stall() {
                self.stalls.push((last, now));
            }
        }
        self.last_completion = Some(now);
    }

    /// How many records the app holds: one per stall seen.
    pub fn retained(&self) -> usize {
        self.stalls.len()
    }

    /// When the last request completed.
    pub fn last_completion(&self) -> Option<Time> {
        self.last_completion
    }

    /// The stalls the client saw, as (last completion before, first after, 0).
    pub fn gaps(&self) -> impl Iterator<Item = (Time, Time, u64)> + '_ {
        self.stalls.iter().map(|&(a, b)| (a, b, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_count_by_the_phase_of_their_issue_and_stalls_by_two_intervals() {
        let mut r = ExchangeRecord::new(100_000_000, &[1_000_000_000]);
        r.completed(0, 30_000_000);
        r.completed(100_000_000, 130_000_000);
        // Issued before the fault, answered after it: counted in the first phase.
        r.completed(900_000_000, 1_100_000_000);
        // 200 ms after the last completion: two intervals, a stall.
        r.completed(1_000_000_000, 1_300_000_000);
        r.completed(1_300_000_000, 1_330_000_000);
        assert_eq!(r.responses, 5);
        assert_eq!((r.phases[0].len(), r.phases[1].len()), (3, 2));
        assert_eq!(
            r.gaps().collect::<Vec<_>>(),
            [
                (130_000_000, 1_100_000_000, 0),
                (1_100_000_000, 1_300_000_000, 0)
            ]
        );
    }
}
