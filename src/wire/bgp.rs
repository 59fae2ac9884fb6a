//! BGP-4 messages on the wire (RFC 4271), with 4-octet AS numbers (RFC 6793): OPEN, UPDATE,
//! NOTIFICATION and KEEPALIVE, encoded and decoded exactly so that a capture decodes as BGP.
//! Only what the labs use is supported: IPv4 unicast NLRI and the ORIGIN, AS_PATH, NEXT_HOP and
//! LOCAL_PREF attributes; anything else is skipped on decode.

use super::Error;
use crate::substrate::route::Prefix;
use pnet_macros::packet;
use pnet_macros_support::types::*;
use std::net::Ipv4Addr;

/// The message header (RFC 4271 §4.1): marker, length, type.
#[packet]
pub struct BgpHeader {
    // The 16-byte marker, all ones, as two halves: a fixed field, so that the view's minimum
    // size counts it (pnet leaves variable fields out of it).
    pub marker_high: u64be,
    pub marker_low: u64be,
    // The whole message's length, header included: 19 to 4096.
    pub length: u16be,
    pub message_type: u8,
    #[payload]
    pub body: Vec<u8>,
}

pub const HEADER_LEN: usize = 19;
/// The longest message RFC 4271 allows.
pub const MAX_LEN: usize = 4096;
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

/// A cursor over a message body whose every read is checked: a field past the end is
/// [`Error::Truncated`], never a panic.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let (head, rest) = self.0.split_at_checked(n).ok_or(Error::Truncated)?;
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, Error> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Prefixes as NLRI and withdrawn routes encode them: a length in bits, then the octets that
/// hold it.
fn get_prefixes(b: &[u8]) -> Result<Vec<Prefix>, Error> {
    let mut r = Reader(b);
    let mut out = Vec::new();
    while !r.is_empty() {
        let len = r.u8()?;
        if len > 32 {
            return Err(Error::Malformed("a prefix longer than 32 bits"));
        }
        let mut octets = [0u8; 4];
        let n = usize::from(len).div_ceil(8);
        octets[..n].copy_from_slice(r.take(n)?);
        out.push(Prefix::new(Ipv4Addr::from(octets), len));
    }
    Ok(out)
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
        BgpHeaderPacket::new(buf).map(|h| usize::from(h.get_length()))
    }

    /// Decodes one whole message (header included).
    pub fn parse(buf: &[u8]) -> Result<Message, Error> {
        let h = BgpHeaderPacket::new(buf).ok_or(Error::Truncated)?;
        if (h.get_marker_high(), h.get_marker_low()) != (u64::MAX, u64::MAX) {
            return Err(Error::Malformed("BGP marker not all ones"));
        }
        let len = usize::from(h.get_length());
        if !(HEADER_LEN..=MAX_LEN).contains(&len) || len != buf.len() {
            return Err(Error::Malformed("BGP length is not the message's"));
        }
        let mut body = Reader(&buf[HEADER_LEN..]);
        match h.get_message_type() {
            TYPE_OPEN => {
                if body.u8()? != 4 {
                    return Err(Error::Malformed("BGP version is not 4"));
                }
                let mut asn = u32::from(body.u16()?);
                let hold_time = body.u16()?;
                let router_id = Ipv4Addr::from(body.u32()?);
                let params_len = usize::from(body.u8()?);
                let mut params = Reader(body.take(params_len)?);
                // Look for the 4-octet AS capability among the optional parameters.
                while !params.is_empty() {
                    let kind = params.u8()?;
                    let len = usize::from(params.u8()?);
                    let mut value = Reader(params.take(len)?);
                    if kind == 2 && len >= 6 && value.u8()? == 65 && value.u8()? == 4 {
                        asn = value.u32()?;
                    }
                }
                Ok(Message::Open {
                    asn,
                    hold_time,
                    router_id,
                })
            }
            TYPE_UPDATE => {
                let wlen = usize::from(body.u16()?);
                let withdrawn = get_prefixes(body.take(wlen)?)?;
                let alen = usize::from(body.u16()?);
                let mut attrs = Reader(body.take(alen)?);
                let nlri = get_prefixes(body.0)?;
                let mut attributes = Attributes::default();
                while !attrs.is_empty() {
                    let flags = attrs.u8()?;
                    let code = attrs.u8()?;
                    let len = if flags & 0x10 != 0 {
                        usize::from(attrs.u16()?)
                    } else {
                        usize::from(attrs.u8()?)
                    };
                    let mut value = Reader(attrs.take(len)?);
                    match code {
                        ATTR_AS_PATH => {
                            while !value.is_empty() {
                                let _segment_type = value.u8()?;
                                let n = usize::from(value.u8()?);
                                for _ in 0..n {
                                    attributes.as_path.push(value.u32()?);
                                }
                            }
                        }
                        ATTR_NEXT_HOP if len == 4 => {
                            attributes.next_hop = Some(Ipv4Addr::from(value.u32()?));
                        }
                        ATTR_LOCAL_PREF if len == 4 => {
                            attributes.local_pref = Some(value.u32()?);
                        }
                        _ => {}
                    }
                }
                Ok(Message::Update {
                    withdrawn,
                    attributes,
                    nlri,
                })
            }
            TYPE_NOTIFICATION => Ok(Message::Notification {
                code: body.u8()?,
                subcode: body.u8()?,
            }),
            TYPE_KEEPALIVE => Ok(Message::Keepalive),
            _ => Err(Error::Malformed("unknown BGP message type")),
        }
    }

    /// [`Message::parse`], for callers that only need to know whether it is one.
    pub fn decode(buf: &[u8]) -> Option<Message> {
        Message::parse(buf).ok()
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
