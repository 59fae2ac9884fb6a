//! BGP-4 messages on the wire (RFC 4271), with 4-octet AS numbers (RFC 6793): OPEN, UPDATE,
//! NOTIFICATION and KEEPALIVE, encoded and decoded exactly so that a capture decodes as BGP.
//! Only what the labs use is supported: IPv4 unicast NLRI and the ORIGIN, AS_PATH, NEXT_HOP and
//! LOCAL_PREF attributes; anything else is skipped on decode.

use crate::route::Prefix;
use std::net::Ipv4Addr;

pub const HEADER_LEN: usize = 19;
const MARKER: [u8; 16] = [0xff; 16];
/// AS_TRANS (RFC 6793): the 2-octet stand-in for a 4-octet ASN in OPEN's My AS field.
const AS_TRANS: u16 = 23456;

const TYPE_OPEN: u8 = 1;
const TYPE_UPDATE: u8 = 2;
const TYPE_NOTIFICATION: u8 = 3;
const TYPE_KEEPALIVE: u8 = 4;

const ATTR_ORIGIN: u8 = 1;
const ATTR_AS_PATH: u8 = 2;
const ATTR_NEXT_HOP: u8 = 3;
const ATTR_LOCAL_PREF: u8 = 5;
const AS_SEQUENCE: u8 = 2;
/// NOTIFICATION error code: hold timer expired.
pub const HOLD_TIMER_EXPIRED: u8 = 4;
/// NOTIFICATION error code: cease (administrative reset).
pub const CEASE: u8 = 6;
/// Cease subcode: maximum number of prefixes reached (RFC 4486).
pub const MAX_PREFIXES_REACHED: u8 = 1;

/// The path attributes a route carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attributes {
    pub as_path: Vec<u32>,
    pub next_hop: Option<Ipv4Addr>,
    pub local_pref: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Open {
        asn: u32,
        hold_time: u16,
        router_id: Ipv4Addr,
    },
    Update {
        withdrawn: Vec<Prefix>,
        attributes: Attributes,
        nlri: Vec<Prefix>,
    },
    Notification {
        code: u8,
        subcode: u8,
    },
    Keepalive,
}

fn put_prefix(out: &mut Vec<u8>, p: Prefix) {
    let p = p.network();
    out.push(p.len);
    let bytes = usize::from(p.len).div_ceil(8);
    out.extend_from_slice(&p.addr.octets()[..bytes]);
}

fn get_prefixes(mut b: &[u8]) -> Option<Vec<Prefix>> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = b.split_first() {
        if len > 32 {
            return None;
        }
        let n = usize::from(len).div_ceil(8);
        let mut octets = [0u8; 4];
        octets[..n].copy_from_slice(rest.get(..n)?);
        out.push(Prefix::new(Ipv4Addr::from(octets), len));
        b = &rest[n..];
    }
    Some(out)
}

fn put_attr(out: &mut Vec<u8>, flags: u8, code: u8, value: &[u8]) {
    out.push(flags);
    out.push(code);
    out.push(value.len() as u8);
    out.extend_from_slice(value);
}

impl Message {
    /// Appends the message, header included, to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&MARKER);
        out.extend_from_slice(&[0, 0, 0]);
        let kind = match self {
            Message::Open {
                asn,
                hold_time,
                router_id,
            } => {
                out.push(4); // version
                let my_as = u16::try_from(*asn).unwrap_or(AS_TRANS);
                out.extend_from_slice(&my_as.to_be_bytes());
                out.extend_from_slice(&hold_time.to_be_bytes());
                out.extend_from_slice(&router_id.octets());
                // Optional parameters: one capability, 4-octet AS support (code 65).
                out.push(8);
                out.extend_from_slice(&[2, 6, 65, 4]);
                out.extend_from_slice(&asn.to_be_bytes());
                TYPE_OPEN
            }
            Message::Update {
                withdrawn,
                attributes,
                nlri,
            } => {
                let mut w = Vec::new();
                for p in withdrawn {
                    put_prefix(&mut w, *p);
                }
                out.extend_from_slice(&(w.len() as u16).to_be_bytes());
                out.extend_from_slice(&w);
                let mut a = Vec::new();
                if !nlri.is_empty() {
                    put_attr(&mut a, 0x40, ATTR_ORIGIN, &[0]); // IGP
                    let mut path = vec![AS_SEQUENCE, attributes.as_path.len() as u8];
                    for asn in &attributes.as_path {
                        path.extend_from_slice(&asn.to_be_bytes());
                    }
                    put_attr(&mut a, 0x40, ATTR_AS_PATH, &path);
                    let nh = attributes.next_hop.unwrap_or(Ipv4Addr::UNSPECIFIED);
                    put_attr(&mut a, 0x40, ATTR_NEXT_HOP, &nh.octets());
                    if let Some(lp) = attributes.local_pref {
                        put_attr(&mut a, 0x40, ATTR_LOCAL_PREF, &lp.to_be_bytes());
                    }
                }
                out.extend_from_slice(&(a.len() as u16).to_be_bytes());
                out.extend_from_slice(&a);
                for p in nlri {
                    put_prefix(out, *p);
                }
                TYPE_UPDATE
            }
            Message::Notification { code, subcode } => {
                out.push(*code);
                out.push(*subcode);
                TYPE_NOTIFICATION
            }
            Message::Keepalive => TYPE_KEEPALIVE,
        };
        let len = (out.len() - start) as u16;
        out[start + 16..start + 18].copy_from_slice(&len.to_be_bytes());
        out[start + 18] = kind;
    }

    /// The length of the first message in `buf`, once its header has arrived.
    pub fn frame_len(buf: &[u8]) -> Option<usize> {
        let h = buf.get(..HEADER_LEN)?;
        Some(usize::from(u16::from_be_bytes([h[16], h[17]])))
    }

    /// Decodes one whole message (header included).
    pub fn decode(buf: &[u8]) -> Option<Message> {
        if buf.len() < HEADER_LEN || buf[..16] != MARKER || Self::frame_len(buf)? != buf.len() {
            return None;
        }
        let body = &buf[HEADER_LEN..];
        match buf[18] {
            TYPE_OPEN => {
                // Version, AS, hold time, identifier, parameters' length: 10 bytes at least.
                let fixed = body.get(..10)?;
                let hold_time = u16::from_be_bytes([fixed[3], fixed[4]]);
                let router_id = Ipv4Addr::new(fixed[5], fixed[6], fixed[7], fixed[8]);
                let mut asn = u32::from(u16::from_be_bytes([fixed[1], fixed[2]]));
                // Look for the 4-octet AS capability among the optional parameters.
                let params = body.get(10..10 + usize::from(fixed[9]))?;
                let mut i = 0;
                while i + 2 <= params.len() {
                    let (kind, len) = (params[i], usize::from(params[i + 1]));
                    let value = params.get(i + 2..i + 2 + len)?;
                    if kind == 2 && value.len() >= 6 && value[0] == 65 {
                        asn = u32::from_be_bytes([value[2], value[3], value[4], value[5]]);
                    }
                    i += 2 + len;
                }
                Some(Message::Open {
                    asn,
                    hold_time,
                    router_id,
                })
            }
            TYPE_UPDATE => {
                let wlen = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
                let withdrawn = get_prefixes(body.get(2..2 + wlen)?)?;
                let at = 2 + wlen;
                let alen = usize::from(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]));
                let mut attrs = body.get(at + 2..at + 2 + alen)?;
                let nlri = get_prefixes(body.get(at + 2 + alen..)?)?;
                let mut attributes = Attributes::default();
                while attrs.len() >= 3 {
                    let (flags, code) = (attrs[0], attrs[1]);
                    let (len, head) = if flags & 0x10 != 0 {
                        (
                            usize::from(u16::from_be_bytes([attrs[2], *attrs.get(3)?])),
                            4,
                        )
                    } else {
                        (usize::from(attrs[2]), 3)
                    };
                    let value = attrs.get(head..head + len)?;
                    match code {
                        ATTR_AS_PATH => {
                            let mut v = value;
                            while v.len() >= 2 {
                                let n = usize::from(v[1]);
                                let seg = v.get(2..2 + 4 * n)?;
                                attributes.as_path.extend(
                                    seg.chunks(4)
                                        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])),
                                );
                                v = &v[2 + 4 * n..];
                            }
                        }
                        ATTR_NEXT_HOP if len == 4 => {
                            attributes.next_hop =
                                Some(Ipv4Addr::new(value[0], value[1], value[2], value[3]));
                        }
                        ATTR_LOCAL_PREF if len == 4 => {
                            attributes.local_pref =
                                Some(u32::from_be_bytes([value[0], value[1], value[2], value[3]]));
                        }
                        _ => {}
                    }
                    attrs = &attrs[head + len..];
                }
                Some(Message::Update {
                    withdrawn,
                    attributes,
                    nlri,
                })
            }
            TYPE_NOTIFICATION => Some(Message::Notification {
                code: *body.first()?,
                subcode: *body.get(1)?,
            }),
            TYPE_KEEPALIVE => Some(Message::Keepalive),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(m: Message) {
        let mut buf = Vec::new();
        m.encode(&mut buf);
        assert_eq!(Message::frame_len(&buf), Some(buf.len()));
        assert_eq!(Message::decode(&buf), Some(m));
    }

    #[test]
    fn messages_round_trip() {
        round_trip(Message::Keepalive);
        round_trip(Message::Open {
            asn: 12076,
            hold_time: 180,
            router_id: Ipv4Addr::new(1, 2, 3, 4),
        });
        round_trip(Message::Open {
            asn: 4_200_000_001,
            hold_time: 10,
            router_id: Ipv4Addr::new(1, 2, 3, 4),
        });
        round_trip(Message::Notification {
            code: HOLD_TIMER_EXPIRED,
            subcode: 0,
        });
        round_trip(Message::Update {
            withdrawn: vec!["10.9.0.0/16".parse().unwrap()],
            attributes: Attributes {
                as_path: vec![65515, 12076],
                next_hop: Some(Ipv4Addr::new(192, 168, 100, 2)),
                local_pref: Some(150),
            },
            nlri: vec![
                "10.20.0.0/16".parse().unwrap(),
                "10.20.1.128/25".parse().unwrap(),
                "0.0.0.0/0".parse().unwrap(),
            ],
        });
    }

    #[test]
    fn a_keepalive_is_19_bytes_and_an_open_uses_as_trans_for_4_octet_asns() {
        let mut buf = Vec::new();
        Message::Keepalive.encode(&mut buf);
        assert_eq!(buf.len(), 19);
        buf.clear();
        Message::Open {
            asn: 4_200_000_001,
            hold_time: 90,
            router_id: Ipv4Addr::new(9, 9, 9, 9),
        }
        .encode(&mut buf);
        assert_eq!(u16::from_be_bytes([buf[20], buf[21]]), AS_TRANS);
        assert_eq!(buf.len(), 19 + 10 + 8);
    }

    #[test]
    fn a_truncated_open_is_refused_not_a_panic() {
        // Every OPEN body shorter than its 10 fixed bytes, each length framed correctly.
        for len in 0..10 {
            let mut buf = MARKER.to_vec();
            buf.extend_from_slice(&((HEADER_LEN + len) as u16).to_be_bytes());
            buf.push(TYPE_OPEN);
            buf.extend(std::iter::repeat_n(4u8, len));
            assert_eq!(Message::decode(&buf), None, "body of {len} bytes");
        }
    }

    #[test]
    fn garbage_does_not_decode() {
        assert_eq!(Message::decode(&[0u8; 19]), None);
        let mut buf = Vec::new();
        Message::Keepalive.encode(&mut buf);
        buf[18] = 9;
        assert_eq!(Message::decode(&buf), None);
    }
}
