//! Buffers sized as Linux sizes them: the receive buffer by dynamic right-sizing
//! (`tcp_rcv_space_adjust`, `tcp_rcv_rtt_measure`) and the send buffer by `tcp_sndbuf_expand`.
//!
//! Sizes here count payload bytes; Linux's count buffer memory, of which payload is a part
//! (`tcp_adv_win_scale`, the skb overhead), so a Linux maximum reads here as a somewhat larger
//! window than Linux would open. Both buffers only grow, as on Linux without memory pressure.

use crate::time::{Duration, Instant};
use crate::wire::TcpSeqNumber;

/// Linux's `TCP_INIT_CWND`: the receive space assumed before the first measurement
/// (`tcp_init_buffer_space`) and the fewest segments the send buffer is sized for.
const INITIAL_SEGMENTS: usize = 10;

/// Receive-buffer autotuning of one connection. Invariant: `space > 0` once started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct RxAutotune {
    /// The largest capacity the buffer may grow to.
    pub max: usize,
    /// The receiver's RTT estimate: without timestamps, the smallest time the sender took to
    /// fill one advertised window (`tcp_rcv_rtt_update` with `win_dep`).
    rtt: Option<Duration>,
    /// RCV.NXT at which the running RTT measurement ends, and when it began.
    rtt_mark: Option<(TcpSeqNumber, Instant)>,
    /// Bytes the application read in the last measured round trip (`rcvq_space.space`).
    space: usize,
    /// Where the application's reading stood, and when, at the last measurement.
    space_mark: Option<(TcpSeqNumber, Instant)>,
}

impl RxAutotune {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            rtt: None,
            rtt_mark: None,
            space: 0,
            space_mark: None,
        }
    }

    /// Forgets the connection, keeping the maximum.
    pub fn reset(&mut self) {
        *self = Self::new(self.max);
    }

    /// New in-order data arrived: `rcv_nxt` is RCV.NXT after it, `window` the space
    /// advertised, `read` how far the application has read. Returns the capacity the buffer
    /// should grow to, when it should.
    pub fn on_data(
        &mut self,
        now: Instant,
        rcv_nxt: TcpSeqNumber,
        window: usize,
        read: TcpSeqNumber,
        capacity: usize,
        mss: usize,
    ) -> Option<usize> {
        // tcp_rcv_rtt_measure: the time RCV.NXT takes to advance by one window.
        match self.rtt_mark {
            Some((end, _)) if rcv_nxt < end => {}
            mark => {
                if let Some((_, began)) = mark {
                    let sample = now - began;
                    self.rtt = Some(self.rtt.map_or(sample, |rtt| rtt.min(sample)));
                }
                self.rtt_mark = Some((rcv_nxt + window, now));
            }
        }

        // tcp_rcv_space_adjust: once per round trip, what the application read in it.
        let Some((read_at, since)) = self.space_mark else {
            self.space = INITIAL_SEGMENTS * mss.max(1);
            self.space_mark = Some((read, now));
            return None;
        };
        let rtt = self.rtt?;
        if now - since < rtt {
            return None;
        }
        self.space_mark = Some((read, now));
        let copied = read - read_at;
        if copied <= self.space {
            return None;
        }
        // Twice what was read (DRS is a round trip late) plus a cushion of 16 segments, and
        // room for the sender to double again while it is still speeding up.
        let mut window = 2 * copied + 16 * mss;
        window += 2 * (window * (copied - self.space) / self.space);
        self.space = copied;
        let target = window.min(self.max);
        (target > capacity).then_some(target)
    }
}

/// The send buffer Linux keeps for a congestion window (`tcp_sndbuf_expand`): room for two
/// windows of at least `INITIAL_SEGMENTS` segments, at most `max`.
pub(super) fn send_buffer_for(cwnd: usize, mss: usize, max: usize) -> usize {
    (2 * cwnd.max(INITIAL_SEGMENTS * mss)).min(max)
}

#[cfg(test)]
mod test {
    use super::*;

    const MSS: usize = 1000;

    fn ms(t: i64) -> Instant {
        Instant::from_millis(t)
    }

    #[test]
    fn the_receive_buffer_follows_what_the_application_reads_per_round_trip() {
        let mut rx = RxAutotune::new(1 << 20);
        let seq = |n: usize| TcpSeqNumber(0) + n;
        // First data: the measurement starts, space is 10 segments.
        assert_eq!(
            rx.on_data(ms(0), seq(1000), 64_000, seq(0), 64_000, MSS),
            None
        );
        // A window later (20 ms) the RTT is known; nothing read past 10 segments yet.
        assert_eq!(
            rx.on_data(ms(20), seq(65_000), 64_000, seq(5_000), 64_000, MSS),
            None
        );
        // One RTT on, the application read 30,000 bytes in it: grow to
        // (2 * 30,000 + 16,000) * (1 + 2 * 20,000 / 10,000) = 380,000.
        assert_eq!(
            rx.on_data(ms(40), seq(70_000), 64_000, seq(35_000), 64_000, MSS),
            Some(380_000)
        );
        // Reading no faster leaves it; before an RTT has passed nothing is measured.
        assert_eq!(
            rx.on_data(ms(50), seq(80_000), 300_000, seq(60_000), 380_000, MSS),
            None
        );
        assert_eq!(
            rx.on_data(ms(60), seq(90_000), 300_000, seq(65_000), 380_000, MSS),
            None
        );
        // Never past the maximum.
        assert_eq!(
            rx.on_data(ms(80), seq(900_000), 300_000, seq(865_000), 380_000, MSS),
            Some(1 << 20)
        );
        assert_eq!(
            rx.on_data(
                ms(100),
                seq(2_000_000),
                300_000,
                seq(1_900_000),
                1 << 20,
                MSS
            ),
            None
        );
    }

    #[test]
    fn the_send_buffer_holds_two_windows_within_its_maximum() {
        assert_eq!(send_buffer_for(0, MSS, 1 << 22), 20 * MSS);
        assert_eq!(send_buffer_for(100 * MSS, MSS, 1 << 22), 200 * MSS);
        assert_eq!(send_buffer_for(1 << 22, MSS, 1 << 22), 1 << 22);
    }
}
