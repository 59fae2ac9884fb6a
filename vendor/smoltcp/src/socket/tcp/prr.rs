//! Proportional Rate Reduction (RFC 6937): how much a sender in fast recovery may send on each
//! ACK, so that the data in the network falls smoothly from the flight at the loss to
//! ssthresh, instead of halting for half a window and then bursting (RFC 6675 with
//! cwnd = ssthresh), and so that after heavy losses it climbs back no faster than slow start.

/// PRR state of one fast recovery. All quantities are octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct Prr {
    /// RecoverFS: FlightSize when recovery began.
    recover_fs: usize,
    /// prr_delivered: octets the peer has received (cumulatively or selectively acknowledged)
    /// during recovery.
    delivered: usize,
    /// prr_out: octets sent during recovery.
    out: usize,
    /// sndcnt: octets that may be sent now, less what has been sent since the last ACK.
    sndcnt: usize,
}

impl Prr {
    /// A fast recovery beginning with `flight` octets outstanding.
    pub(super) fn new(flight: usize) -> Self {
        Prr {
            recover_fs: flight.max(1),
            delivered: 0,
            out: 0,
            sndcnt: 0,
        }
    }

    /// Takes in an ACK during recovery that reports `delivered` octets newly received by the
    /// peer (DeliveredData), after which `pipe` octets are in the network, with `ssthresh`.
    /// `una_advanced`: the ACK moved SND.UNA, so it shows the losses are being repaired and the
    /// slow-start reduction bound applies; otherwise the conservative bound does (Linux's
    /// choice between them; RFC 6937 leaves it to the implementation).
    pub(super) fn on_ack(
        &mut self,
        delivered: usize,
        pipe: usize,
        ssthresh: usize,
        smss: usize,
        una_advanced: bool,
    ) {
        self.delivered = self.delivered.saturating_add(delivered);
        self.sndcnt = if pipe > ssthresh {
            // Proportional: send ssthresh/RecoverFS of what was delivered, rounded up to a
            // whole segment as Linux, which counts in packets, does.
            let target =
                (self.delivered as u128 * ssthresh as u128).div_ceil(self.recover_fs as u128);
            let smss = smss.max(1) as u128;
            usize::try_from(target.div_ceil(smss) * smss)
                .unwrap_or(usize::MAX)
                .saturating_sub(self.out)
        } else {
            let owed = self.delivered.saturating_sub(self.out);
            let limit = if una_advanced {
                // PRR-SSRB: catch up at most one segment faster than slow start would.
                owed.max(delivered).saturating_add(smss)
            } else {
                // PRR-CRB: no more than was delivered.
                owed
            };
            (ssthresh - pipe).min(limit)
        };
    }

    /// Records `len` octets sent (new data or a retransmission).
    pub(super) fn on_send(&mut self, len: usize) {
        self.out = self.out.saturating_add(len);
        self.sndcnt = self.sndcnt.saturating_sub(len);
    }

    /// Octets that may be sent now, in whole segments of `smss`: sending less than a segment
    /// would only make smaller packets, and what is not sent now stays owed to later ACKs.
    pub(super) fn allowance(&self, smss: usize) -> usize {
        let smss = smss.max(1);
        self.sndcnt / smss * smss
    }
}

#[cfg(test)]
mod test {
    use super::*;

    const MSS: usize = 100;

    /// RFC 6937's example: 20 segments in flight, ssthresh 10 segments, one segment lost and
    /// the other 19 ACKed one by one (by SACK); what each ACK lets the sender send, the first
    /// being the retransmission.
    fn rfc_example() -> Vec<usize> {
        let mut prr = Prr::new(20 * MSS);
        let ssthresh = 10 * MSS;
        let mut sent = Vec::new();
        let mut pipe = 19 * MSS;
        for _ in 0..19 {
            pipe -= MSS;
            prr.on_ack(MSS, pipe, ssthresh, MSS, false);
            let now = prr.allowance(MSS) / MSS;
            for _ in 0..now {
                prr.on_send(MSS);
            }
            pipe += now * MSS;
            sent.push(now);
        }
        sent
    }

    #[test]
    fn sends_one_segment_per_two_delivered_while_the_pipe_exceeds_ssthresh() {
        // Beta 0.5: every other ACK clocks out a segment, the retransmission first, so the
        // reduction is spread over the recovery rather than taken at its start.
        let sent = rfc_example();
        assert_eq!(&sent[..6], &[1, 0, 1, 0, 1, 0], "{sent:?}");
        assert!(sent.iter().all(|&n| n <= 1), "{sent:?}");
        assert_eq!(
            sent.iter().sum::<usize>(),
            10,
            "ssthresh: the retransmission and nine new segments"
        );
    }

    #[test]
    fn proportional_part_reaches_ssthresh_times_delivered_over_recover_fs() {
        let mut prr = Prr::new(10 * MSS);
        // Cubic's beta: ssthresh 7 of 10 segments; ten segments delivered allow seven.
        let mut out = 0;
        for k in 1..=10usize {
            prr.on_ack(MSS, 20 * MSS, 7 * MSS, MSS, true);
            let now = prr.allowance(MSS);
            prr.on_send(now);
            out += now;
            assert_eq!(out, (k * 7).div_ceil(10) * MSS);
        }
        assert_eq!(out, 7 * MSS);
    }

    #[test]
    fn below_ssthresh_the_reduction_bound_limits_the_catch_up() {
        // Heavy loss: the pipe is far below ssthresh.
        let mut prr = Prr::new(20 * MSS);
        prr.on_ack(2 * MSS, MSS, 10 * MSS, MSS, false);
        assert_eq!(prr.allowance(MSS), 2 * MSS, "CRB: what was delivered");
        prr.on_send(2 * MSS);
        prr.on_ack(2 * MSS, MSS, 10 * MSS, MSS, true);
        assert_eq!(
            prr.allowance(MSS),
            3 * MSS,
            "SSRB: delivered plus one segment"
        );
        prr.on_send(3 * MSS);
        // Never past ssthresh.
        prr.on_ack(20 * MSS, 9 * MSS, 10 * MSS, MSS, true);
        assert_eq!(prr.allowance(MSS), MSS);
    }

    #[test]
    fn allowance_is_whole_segments_and_spent_by_sending() {
        let mut prr = Prr::new(10 * MSS);
        prr.on_ack(MSS, 20 * MSS, 5 * MSS, MSS, true);
        assert_eq!(prr.allowance(MSS), MSS, "half a segment owed lets one go");
        prr.on_send(MSS);
        assert_eq!(prr.allowance(MSS), 0);
        prr.on_ack(MSS, 20 * MSS, 5 * MSS, MSS, true);
        assert_eq!(prr.allowance(MSS), 0, "that segment paid for this ACK");
        prr.on_ack(MSS, 20 * MSS, 5 * MSS, MSS, true);
        assert_eq!(prr.allowance(MSS), MSS);
    }
}
