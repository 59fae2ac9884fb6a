//! Host TCP behaviour: what the profiles a lab chooses from (`lab::spec::TcpProfile`) resolve
//! to, and how it is applied to a smoltcp socket.
//!
//! | setting | `Linux` (default) | `Rfc6298` (stock smoltcp 0.14) | source |
//! |---|---|---|---|
//! | minimum RTO | 200 ms | 1 s | Linux `TCP_RTO_MIN`; RFC 6298 (2.4) |
//! | RTO | SRTT + max(4·RTTVAR, 200 ms) | max(SRTT + 4·RTTVAR, 1 s) | Linux `__tcp_set_rto`, `tcp_rtt_estimator`; RFC 6298 (2.3), (2.4) |
//! | initial RTO | 1 s | 1 s | RFC 6298 (2.1), Linux `TCP_TIMEOUT_INIT` |
//! | initial window | 10 segments | 2048 bytes | RFC 6928, Linux `TCP_INIT_CWND`; smoltcp's controllers |
//! | SACK | on, RFC 6675 recovery (RFC 6582 NewReno without SACK) | offered, but the sender ignores it | Linux `tcp_sack`; smoltcp 0.14 |
//! | sending in recovery | Proportional Rate Reduction | one segment per fast retransmit | RFC 6937, Linux since 3.2; smoltcp 0.14 |
//! | window growth | by bytes acknowledged, Cubic keeps α_cubic | per ACK, Cubic's α switches to 1 | RFC 3465 and Linux `tcp_cubic.c`; smoltcp 0.14 (RFC 9438 §4.3) |
//! | after a timeout | ssthresh from cwnd, kept if fast recovery set it; Cubic forgets W_max and grows ≥ 5% per RTT until the next loss | ssthresh from FlightSize; Cubic from W_max = cwnd, K = 0 | Linux `tcp_enter_loss`, `bictcp_reset`, `bictcp_update`; RFC 5681 (3.1), RFC 9438 §4.8 |
//! | buffers | autotuned: receive 128 KiB growing by dynamic right-sizing to 32 MiB, send 16 KiB growing to two congestion windows, at most 4 MiB | fixed, 1 MiB | Linux `tcp_rmem`, `tcp_wmem` (6.18), `tcp_rcv_space_adjust`, `tcp_sndbuf_expand`; smoltcp 0.14 |
//! | delayed ACK | 40 ms | 10 ms | Linux `TCP_DELACK_MIN`; smoltcp's default |
//! | HyStart++ | on with Cubic | off | RFC 9406, Linux `tcp_cubic` `hystart=1`; smoltcp 0.14 |
//!
//! Linux adapts its delayed-ACK timer between 40 and 200 ms and acknowledges every segment at
//! the start of a connection ("quick ACKs"); smoltcp has one fixed delay and acknowledges at
//! once when more than one MSS is unacknowledged, so the Linux profile takes Linux's minimum.
//! Linux's Cubic leaves slow start by its own HyStart (ACK trains and a delay increase of an
//! eighth of the minimum RTT, clamped to 4..16 ms); the profile runs RFC 9406's HyStart++,
//! whose delay test is the same, with Conservative Slow Start after it. vendor/smoltcp/
//! PATCHES.md lists what the patched stack does.

use smoltcp::socket::tcp;
use smoltcp::time::Duration;

/// Linux's minimum retransmission timeout (`TCP_RTO_MIN`).
pub const LINUX_MIN_RTO_MS: u64 = 200;
/// RFC 6298 (2.4): RTO rounded up to 1 s; smoltcp 0.14's fixed floor.
pub const RFC6298_MIN_RTO_MS: u64 = 1_000;
/// RFC 6298 (2.1), and Linux's `TCP_TIMEOUT_INIT`: the RTO before any RTT measurement.
pub const INITIAL_RTO_MS: u64 = 1_000;
/// RFC 6928 and Linux's `TCP_INIT_CWND`: 10 segments.
pub const LINUX_INITIAL_WINDOW: u16 = 10;
/// Linux's `TCP_DELACK_MIN`.
pub const LINUX_ACK_DELAY_MS: u64 = 40;
/// smoltcp 0.14's delayed-ACK timeout.
pub const SMOLTCP_ACK_DELAY_MS: u64 = 10;
/// Linux's `tcp_rmem[1]`: a socket's receive buffer before autotuning grows it.
pub const LINUX_RX_BUFFER: usize = 131_072;
/// Linux's `tcp_rmem[2]` on the 6.x kernels the profile follows (6.18: 32 MiB; before 6.x
/// 6 MiB): the most receive-buffer autotuning grows to.
pub const LINUX_RX_BUFFER_MAX: usize = 32 << 20;
/// Linux's `tcp_wmem[1]`: a socket's send buffer before autotuning grows it.
pub const LINUX_TX_BUFFER: usize = 16_384;
/// Linux's `tcp_wmem[2]`: the most send-buffer autotuning grows to.
pub const LINUX_TX_BUFFER_MAX: usize = 4 << 20;
/// A fixed buffer's size when a lab writes none and autotuning is off (stock smoltcp has
/// fixed buffers; hybridlab has always given them 1 MiB).
pub const FIXED_BUFFER: usize = 1 << 20;

/// TCP behaviour of a host's sockets, resolved from its profile and overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpBehaviour {
    pub congestion: tcp::CongestionControl,
    /// Floor of the retransmission timeout, in milliseconds.
    pub min_rto_ms: u64,
    /// Initial congestion window in segments; `None` keeps smoltcp's 2048 bytes.
    pub initial_window: Option<u16>,
    /// Whether SACK is offered and accepted.
    pub sack: bool,
    /// Delayed-ACK timeout in milliseconds; `None` acknowledges at once.
    pub ack_delay_ms: Option<u64>,
    /// Whether the initial slow start runs HyStart++ (RFC 9406).
    pub hystart: bool,
    /// Whether buffers a lab does not size grow as Linux's autotuning grows them (from
    /// `tcp_rmem[1]`/`tcp_wmem[1]`); otherwise they are fixed at [`FIXED_BUFFER`].
    pub autotune: bool,
    /// Linux's sender: RFC 6675 recovery (RFC 6582 without SACK) paced by PRR, window growth
    /// by bytes acknowledged, Cubic without the α switch, Linux's RTO and response to a
    /// timeout. `false`: smoltcp 0.14's own sender.
    pub linux_sender: bool,
}

impl TcpBehaviour {
    /// The `Linux` profile with the given congestion control: Linux runs HyStart in Cubic
    /// only.
    pub fn linux(congestion: tcp::CongestionControl) -> Self {
        TcpBehaviour {
            congestion,
            min_rto_ms: LINUX_MIN_RTO_MS,
            initial_window: Some(LINUX_INITIAL_WINDOW),
            sack: true,
            ack_delay_ms: Some(LINUX_ACK_DELAY_MS),
            hystart: congestion == tcp::CongestionControl::Cubic,
            autotune: true,
            linux_sender: true,
        }
    }

    /// The `Rfc6298` profile: smoltcp 0.14 as released.
    pub fn rfc6298(congestion: tcp::CongestionControl) -> Self {
        TcpBehaviour {
            congestion,
            min_rto_ms: RFC6298_MIN_RTO_MS,
            initial_window: None,
            sack: true,
            ack_delay_ms: Some(SMOLTCP_ACK_DELAY_MS),
            hystart: false,
            autotune: false,
            linux_sender: false,
        }
    }

    /// Applies these settings to a socket before it connects or listens.
    pub fn apply(&self, s: &mut tcp::Socket<'_>) {
        let linux = self.linux_sender;
        s.set_congestion_control(self.congestion);
        s.set_rto_min(Duration::from_millis(self.min_rto_ms));
        s.set_rto_variance_floor(linux);
        s.set_rto_initial(Duration::from_millis(INITIAL_RTO_MS.max(self.min_rto_ms)));
        s.set_initial_window(self.initial_window);
        s.set_sack_enabled(self.sack);
        s.set_ack_delay(self.ack_delay_ms.map(Duration::from_millis));
        s.set_hystart(self.hystart);
        s.set_loss_recovery(if linux {
            tcp::LossRecovery::Rfc6675
        } else {
            tcp::LossRecovery::Basic
        });
        s.set_prr(linux);
        s.set_byte_counting(linux);
        s.set_cubic_alpha_switch(!linux);
        s.set_linux_timeout_response(linux);
    }
}

impl Default for TcpBehaviour {
    /// A host that sets nothing: the `Linux` profile with Cubic.
    fn default() -> Self {
        Self::linux(tcp::CongestionControl::Cubic)
    }
}
