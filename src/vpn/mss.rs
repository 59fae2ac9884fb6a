//! TCP MSS clamping: a tunnel endpoint lowers the MSS option of SYNs that cross the tunnel so
//! that full-size segments still fit once ESP overhead is added (the vendor requires 1350).

use smoltcp::wire::{IpAddress, IpProtocol, Ipv4Packet, TcpPacket};

/// Lowers the MSS option of a TCP SYN in the IPv4 packet `buf` to `clamp`, fixing the TCP
/// checksum. Returns true when the packet was changed.
pub fn clamp(buf: &mut [u8], clamp: u16) -> bool {
    let Ok(mut ip) = Ipv4Packet::new_checked(buf) else {
        return false;
    };
    // Only a first fragment holds the TCP header.
    if ip.next_header() != IpProtocol::Tcp || ip.frag_offset() != 0 {
        return false;
    }
    let (src, dst) = (
        IpAddress::Ipv4(ip.src_addr()),
        IpAddress::Ipv4(ip.dst_addr()),
    );
    let Ok(mut tcp) = TcpPacket::new_checked(ip.payload_mut()) else {
        return false;
    };
    if !tcp.syn() {
        return false;
    }
    let mut changed = false;
    {
        let options = tcp.options_mut();
        let mut i = 0;
        while i < options.len() {
            match options[i] {
                0 => break,
                1 => i += 1,
                kind => {
                    let Some(&len) = options.get(i + 1) else {
                        break;
                    };
                    let len = usize::from(len);
                    if len < 2 || i + len > options.len() {
                        break;
                    }
                    if kind == 2 && len == 4 {
                        let mss = u16::from_be_bytes([options[i + 2], options[i + 3]]);
                        if mss > clamp {
                            options[i + 2..i + 4].copy_from_slice(&clamp.to_be_bytes());
                            changed = true;
                        }
                    }
                    i += len;
                }
            }
        }
    }
    if changed {
        tcp.fill_checksum(&src, &dst);
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{Ipv4Repr, TcpControl, TcpRepr, TcpSeqNumber};

    fn syn(mss: u16) -> Vec<u8> {
        let (src, dst) = (IpAddress::v4(10, 1, 0, 10), IpAddress::v4(10, 20, 0, 10));
        let tcp = TcpRepr {
            src_port: 40000,
            dst_port: 80,
            control: TcpControl::Syn,
            seq_number: TcpSeqNumber(1),
            ack_number: None,
            window_len: 64240,
            window_scale: Some(7),
            max_seg_size: Some(mss),
            sack_permitted: true,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &[],
        };
        let ip = Ipv4Repr {
            src_addr: "10.1.0.10".parse().unwrap(),
            dst_addr: "10.20.0.10".parse().unwrap(),
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let mut buf = vec![0; ip.buffer_len() + tcp.buffer_len()];
        let caps = ChecksumCapabilities::default();
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
        ip.emit(&mut p, &caps);
        tcp.emit(
            &mut TcpPacket::new_unchecked(p.payload_mut()),
            &src,
            &dst,
            &caps,
        );
        buf
    }

    fn mss_of(buf: &[u8]) -> (u16, bool) {
        let p = TcpPacket::new_checked(&buf[20..]).unwrap();
        let (src, dst) = (IpAddress::v4(10, 1, 0, 10), IpAddress::v4(10, 20, 0, 10));
        let repr = TcpRepr::parse(&p, &src, &dst, &ChecksumCapabilities::default()).unwrap();
        (repr.max_seg_size.unwrap(), p.verify_checksum(&src, &dst))
    }

    #[test]
    fn lowers_a_large_mss_and_keeps_the_checksum_valid() {
        let mut p = syn(1460);
        assert!(clamp(&mut p, 1350));
        assert_eq!(mss_of(&p), (1350, true));
    }

    #[test]
    fn leaves_a_small_mss_alone() {
        let mut p = syn(1200);
        assert!(!clamp(&mut p, 1350));
        assert_eq!(mss_of(&p), (1200, true));
    }
}
