use crate::time::Instant;

use super::RttEstimator;

pub(super) mod no_control;

#[cfg(feature = "socket-tcp-cubic")]
pub(super) mod cubic;

#[cfg(feature = "socket-tcp-reno")]
pub(super) mod reno;

#[allow(unused_variables)]
pub(super) trait Controller {
    /// Returns the number of bytes that can be sent.
    fn window(&self) -> usize;

    /// Set the remote window size.
    fn set_remote_window(&mut self, remote_window: usize) {}

    fn on_ack(&mut self, now: Instant, len: usize, in_flight: usize, rtt: &RttEstimator) {}

    /// Fired on each duplicate ack received, after `on_loss` has been called.
    fn on_dup_ack(&mut self, now: Instant, len: usize, in_flight: usize) {}

    /// Fired on a retransmission timeout.
    fn on_rto(&mut self, now: Instant, in_flight: usize) {}

    /// Fired after an inferred loss via three duplicate acks.
    fn on_loss(&mut self, now: Instant, in_flight: usize) {}

    /// Fired when loss recovery paced by the pipe begins (RFC 6675 §5 (4.2), RFC 6582): reduce
    /// ssthresh as `on_loss` does and set the window to it, without the inflation `on_loss`
    /// applies for duplicate ACKs. The next `on_ack` with new data ends the recovery.
    fn on_fast_recovery(&mut self, now: Instant, in_flight: usize) {
        self.on_loss(now, in_flight)
    }

    fn pre_transmit(&mut self, now: Instant) {}

    fn post_transmit(&mut self, now: Instant, len: usize) {}

    /// Set the maximum segment size.
    fn set_mss(&mut self, mss: usize) {}

    /// Count acknowledged bytes rather than ACKs when growing the window (RFC 3465): slow
    /// start grows by the bytes an ACK covers, up to 2 * SMSS, and congestion avoidance by
    /// SMSS per window of bytes acknowledged, so delayed ACKs do not slow the growth.
    fn set_byte_counting(&mut self, enabled: bool) {}

    /// Cubic only: whether the Reno-friendly estimate switches from α_cubic to 1 once it
    /// reaches the window of the last congestion event (RFC 9438 §4.3, the default). Linux's
    /// `tcp_cubic` keeps α_cubic throughout.
    fn set_cubic_alpha_switch(&mut self, enabled: bool) {}

    /// Set the congestion window a connection starts with, in bytes (RFC 6928).
    fn set_initial_window(&mut self, cwnd: usize) {}

    /// Respond to a retransmission timeout as Linux's `tcp_enter_loss` does: ssthresh comes
    /// from cwnd (not FlightSize) and is kept when the timer fires during fast recovery (the
    /// recovery already reduced it); Cubic then forgets W_max (`bictcp_reset`) and, until the
    /// next congestion event, grows by at least 5% per round trip, as it does from the start
    /// of a connection. Off by default: RFC 5681 (3.1) and RFC 9438 §4.8.
    fn set_linux_timeout_response(&mut self, enabled: bool) {}

    /// Divide slow start's growth by `divisor`: HyStart++'s Conservative Slow Start (RFC 9406
    /// §4.3) uses 4; 1 is ordinary slow start.
    fn set_slow_start_divisor(&mut self, divisor: usize) {}

    /// End slow start without a loss: ssthresh = cwnd (RFC 9406 §4.3, after CSS).
    fn exit_slow_start(&mut self) {}
}

#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) enum AnyController {
    None(no_control::NoControl),

    #[cfg(feature = "socket-tcp-reno")]
    Reno(reno::Reno),

    #[cfg(feature = "socket-tcp-cubic")]
    Cubic(cubic::Cubic),
}

impl AnyController {
    /// Create a new congestion controller.
    /// `AnyController::new()` selects the best congestion controller based on the features.
    ///
    /// - If `socket-tcp-cubic` feature is enabled, it will use `Cubic`.
    /// - If `socket-tcp-reno` feature is enabled, it will use `Reno`.
    /// - If both `socket-tcp-cubic` and `socket-tcp-reno` features are enabled, it will use `Cubic`.
    ///    - `Cubic` is more efficient regarding throughput.
    ///    - `Reno` is more conservative and is suitable for low-power devices.
    /// - If no congestion controller is available, it will use `NoControl`.
    ///
    /// Users can also select a congestion controller manually by [`super::Socket::set_congestion_control()`]
    /// method at run-time.
    #[allow(unreachable_code)]
    #[inline]
    pub fn new() -> Self {
        #[cfg(feature = "socket-tcp-cubic")]
        {
            return AnyController::Cubic(cubic::Cubic::new());
        }

        #[cfg(feature = "socket-tcp-reno")]
        {
            return AnyController::Reno(reno::Reno::new());
        }

        AnyController::None(no_control::NoControl)
    }

    #[inline]
    pub fn inner_mut(&mut self) -> &mut dyn Controller {
        match self {
            AnyController::None(n) => n,

            #[cfg(feature = "socket-tcp-reno")]
            AnyController::Reno(r) => r,

            #[cfg(feature = "socket-tcp-cubic")]
            AnyController::Cubic(c) => c,
        }
    }

    #[inline]
    pub fn inner(&self) -> &dyn Controller {
        match self {
            AnyController::None(n) => n,

            #[cfg(feature = "socket-tcp-reno")]
            AnyController::Reno(r) => r,

            #[cfg(feature = "socket-tcp-cubic")]
            AnyController::Cubic(c) => c,
        }
    }
}
