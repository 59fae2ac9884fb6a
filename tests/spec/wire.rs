//! Our wire formats (src/wire/): any bytes decode to a value or an error, never a panic, and
//! what is emitted parses back to what was emitted. Property tests over a fixed seed, so a run
//! is the same run everywhere.

use hybridlab::substrate::route::Prefix;
use hybridlab::vpn::esp::{self, CipherSuite, Sa};
use hybridlab::wire::bgp::{Attributes, Message};
use hybridlab::wire::stream::Framing;
use hybridlab::wire::{bfd, ike, stamp};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use std::net::Ipv4Addr;

fn config() -> Config {
    Config {
        cases: 512,
        rng_seed: RngSeed::Fixed(0x6879_6272_6964),
        failure_persistence: None,
        ..Config::default()
    }
}

fn addr() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn prefix() -> impl Strategy<Value = Prefix> {
    (addr(), 0u8..=32).prop_map(|(a, len)| Prefix::new(a, len).network())
}

fn bfd_repr() -> impl Strategy<Value = bfd::Repr> {
    let state = prop_oneof![
        Just(bfd::State::AdminDown),
        Just(bfd::State::Down),
        Just(bfd::State::Init),
        Just(bfd::State::Up),
    ];
    (
        0u8..32,
        state,
        1u8..=255,
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(diag, state, multiplier, my, your, tx, rx)| bfd::Repr {
            diag,
            state,
            multiplier,
            my_disc: my,
            your_disc: your,
            desired_min_tx: tx,
            required_min_rx: rx,
        })
}

/// Every BGP message our speaker sends: an UPDATE's attributes only with routes to carry, a
/// next hop with them, an AS path that fits its one-octet attribute length (63 ASNs), and no
/// more routes than a 4096-byte message holds.
fn bgp_message() -> impl Strategy<Value = Message> {
    let open = (any::<u32>(), any::<u16>(), addr()).prop_map(|(asn, hold_time, router_id)| {
        Message::Open {
            asn,
            hold_time,
            router_id,
        }
    });
    let attributes = (
        prop::collection::vec(any::<u32>(), 0..=63),
        addr(),
        prop::option::of(any::<u32>()),
    )
        .prop_map(|(as_path, nh, local_pref)| Attributes {
            as_path,
            next_hop: Some(nh),
            local_pref,
        });
    let update = (
        prop::collection::vec(prefix(), 0..200),
        attributes,
        prop::collection::vec(prefix(), 0..200),
    )
        .prop_map(|(withdrawn, attributes, nlri)| Message::Update {
            withdrawn,
            attributes: if nlri.is_empty() {
                Attributes::default()
            } else {
                attributes
            },
            nlri,
        });
    let notification = (any::<u8>(), any::<u8>())
        .prop_map(|(code, subcode)| Message::Notification { code, subcode });
    prop_oneof![open, update, notification, Just(Message::Keepalive)]
}

/// A BGP header (marker, length, type 1–5) in front of arbitrary body bytes: past the header
/// checks, into each message type's body.
fn framed_bgp() -> impl Strategy<Value = Vec<u8>> {
    (1u8..=5, prop::collection::vec(any::<u8>(), 0..300)).prop_map(|(kind, body)| {
        let mut b = vec![0xff; 16];
        b.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
        b.push(kind);
        b.extend(body);
        b
    })
}

/// A valid IPv4 packet (UDP, TCP or another protocol) with an arbitrary payload.
fn ipv4_packet() -> impl Strategy<Value = Vec<u8>> {
    (
        addr(),
        addr(),
        prop_oneof![Just(6u8), Just(17u8), any::<u8>()],
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..1480),
    )
        .prop_map(|(src, dst, proto, tos, payload)| {
            let mut p = vec![0u8; 20];
            p[0] = 0x45;
            p[1] = tos;
            p[2..4].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
            p[8] = 64;
            p[9] = proto;
            p[12..16].copy_from_slice(&src.octets());
            p[16..20].copy_from_slice(&dst.octets());
            p.extend(payload);
            p
        })
}

fn suite() -> impl Strategy<Value = CipherSuite> {
    prop_oneof![
        Just(CipherSuite::AesGcm),
        Just(CipherSuite::AesCbcSha256),
        Just(CipherSuite::AesCbcSha1),
    ]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..256)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_decode_or_are_refused(b in bytes()) {
        let _ = bfd::Repr::parse(&b);
        let _ = ike::Liveness::parse(&b);
        let _ = stamp::Repr::parse(&b);
        let _ = Message::parse(&b);
        let _ = Message::frame_len(&b);
        for framing in [Framing::OpenVpn, Framing::Sstp] {
            let _ = framing.frame_len(&b);
            let _ = framing.parse(&b);
        }
        let _ = esp::esp_offset(&b);
        let _ = esp::spi(&b);
        for suite in [CipherSuite::AesGcm, CipherSuite::AesCbcSha256, CipherSuite::AesCbcSha1] {
            let _ = esp::decapsulate(&mut b.clone(), suite);
        }
        let _ = hybridlab::vpn::mss::clamp(&mut b.clone(), 1350);
    }

    #[test]
    fn any_bgp_body_decodes_or_is_refused(b in framed_bgp()) {
        let _ = Message::parse(&b);
    }

    #[test]
    fn esp_and_mss_on_a_valid_outer_header_with_any_payload_never_panic(
        p in ipv4_packet(), suite in suite()
    ) {
        let _ = esp::decapsulate(&mut p.clone(), suite);
        let _ = hybridlab::vpn::mss::clamp(&mut p.clone(), 1350);
    }

    #[test]
    fn bfd_round_trips(r in bfd_repr()) {
        let bytes = r.to_bytes();
        prop_assert_eq!(bytes.len(), bfd::LEN);
        prop_assert_eq!(bfd::Repr::parse(&bytes), Ok(r));
    }

    #[test]
    fn ike_liveness_round_trips(
        spi_i in any::<u64>(), spi_r in any::<u64>(), message_id in any::<u32>(), response in any::<bool>()
    ) {
        let m = ike::Liveness { spi_i, spi_r, message_id, response };
        prop_assert_eq!(ike::Liveness::parse(&m.to_bytes()), Ok(m));
    }

    #[test]
    fn the_probe_stamp_round_trips(seq in any::<u64>(), sent in any::<u64>(), pad in 0usize..64) {
        let mut buf = vec![0u8; stamp::LEN + pad];
        let s = stamp::Repr { seq, sent };
        s.emit(&mut buf);
        prop_assert_eq!(stamp::Repr::parse(&buf), Ok(s));
    }

    #[test]
    fn bgp_messages_round_trip(m in bgp_message()) {
        let mut buf = Vec::new();
        m.encode(&mut buf);
        prop_assert!(buf.len() <= hybridlab::wire::bgp::MAX_LEN);
        prop_assert_eq!(Message::frame_len(&buf), Some(buf.len()));
        prop_assert_eq!(Message::parse(&buf), Ok(m));
    }

    #[test]
    fn stream_frames_round_trip(
        inner in prop::collection::vec(any::<u8>(), 0..1500), id in any::<u32>(), openvpn in any::<bool>()
    ) {
        let framing = if openvpn { Framing::OpenVpn } else { Framing::Sstp };
        let mut out = vec![7u8; 3]; // frames follow one another in a stream
        framing.emit(&mut out, &inner, id);
        let frame = &out[3..];
        prop_assert_eq!(frame.len(), inner.len() + framing.overhead());
        prop_assert_eq!(framing.frame_len(frame), Some(frame.len()));
        prop_assert_eq!(framing.parse(frame), Ok((id, &inner[..])));
    }

    #[test]
    fn esp_round_trips_with_exact_sizes(
        inner in ipv4_packet(), suite in suite(), nat_t in any::<bool>(), seq in any::<u32>(), spi in 1u32..
    ) {
        let sa = Sa {
            spi,
            local: Ipv4Addr::new(203, 0, 113, 1),
            remote: Ipv4Addr::new(198, 51, 100, 1),
            suite,
            nat_t,
        };
        let mut buf = inner.clone();
        sa.encapsulate(&mut buf, seq);
        prop_assert_eq!(buf.len(), inner.len() + sa.overhead(inner.len()));
        let outer = smoltcp::wire::Ipv4Packet::new_checked(&buf[..]).unwrap();
        prop_assert!(outer.verify_checksum());
        prop_assert_eq!(outer.dscp() << 2 | outer.ecn(), inner[1]);
        prop_assert_eq!(esp::spi(&buf), Some(spi));
        prop_assert_eq!(esp::decapsulate(&mut buf, suite), Ok(()));
        prop_assert_eq!(buf, inner);
    }
}
