//! Human units in lab files: durations ("10ms", "1.5s"), bit rates ("100Mbps", "1Gbps") and byte
//! sizes ("64KiB", "1500B"). Each parses to an exact integer (nanoseconds, bits per second, bytes)
//! so that every later computation is integer arithmetic and therefore reproducible.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A span of virtual time in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash, Serialize)]
pub struct Duration(pub u64);

/// A bit rate in bits per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Bitrate(pub u64);

/// A size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Bytes(pub u64);

impl Duration {
    pub const ZERO: Duration = Duration(0);
    pub fn from_millis(ms: u64) -> Self {
        Duration(ms * 1_000_000)
    }
    pub fn from_secs(s: u64) -> Self {
        Duration(s * 1_000_000_000)
    }
    pub fn nanos(self) -> u64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_nanos(self.0))
    }
}

/// Formats nanoseconds with the largest unit that keeps the value readable.
pub fn format_nanos(ns: u64) -> String {
    let v = ns as f64;
    if ns >= 1_000_000_000 {
        format!("{}s", trim(v / 1e9))
    } else if ns >= 1_000_000 {
        format!("{}ms", trim(v / 1e6))
    } else if ns >= 1_000 {
        format!("{}us", trim(v / 1e3))
    } else {
        format!("{ns}ns")
    }
}

/// Formats a bit rate with an SI prefix, as network engineers write it.
pub fn format_bitrate(bps: f64) -> String {
    if bps >= 1e9 {
        format!("{:.3} Gbps", bps / 1e9)
    } else if bps >= 1e6 {
        format!("{:.2} Mbps", bps / 1e6)
    } else if bps >= 1e3 {
        format!("{:.2} kbps", bps / 1e3)
    } else {
        format!("{bps:.0} bps")
    }
}

/// Formats a size in binary units as a lab file writes it ("64KiB", "1.5MiB").
pub fn format_bytes(bytes: u64) -> String {
    let v = bytes as f64;
    if bytes >= 1 << 30 {
        format!("{}GiB", trim(v / (1u64 << 30) as f64))
    } else if bytes >= 1 << 20 {
        format!("{}MiB", trim(v / (1u64 << 20) as f64))
    } else if bytes >= 1 << 10 {
        format!("{}KiB", trim(v / (1u64 << 10) as f64))
    } else {
        format!("{bytes}B")
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Splits "1.5ms" into (1.5, "ms"). The number may be an integer or a decimal.
fn split_number(s: &str) -> Option<(f64, &str)> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    let value: f64 = s[..end].parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    Some((value, s[end..].trim()))
}

fn scaled(value: f64, scale: f64) -> Option<u64> {
    let v = (value * scale).round();
    (v >= 0.0 && v <= u64::MAX as f64).then_some(v as u64)
}

impl std::str::FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let err = || {
            format!("'{s}' is not a duration (write e.g. \"250us\", \"10ms\", \"1.5s\", \"2min\")")
        };
        let (value, unit) = split_number(s).ok_or_else(err)?;
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "min" | "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(err()),
        };
        scaled(value, scale).map(Duration).ok_or_else(err)
    }
}

impl std::str::FromStr for Bitrate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let err =
            || format!("'{s}' is not a bit rate (write e.g. \"64kbps\", \"100Mbps\", \"1Gbps\")");
        let (value, unit) = split_number(s).ok_or_else(err)?;
        let scale = match unit.to_ascii_lowercase().as_str() {
            "bps" | "bit/s" => 1.0,
            "kbps" | "kbit/s" => 1e3,
            "mbps" | "mbit/s" => 1e6,
            "gbps" | "gbit/s" => 1e9,
            "tbps" | "tbit/s" => 1e12,
            _ => return Err(err()),
        };
        scaled(value, scale).map(Bitrate).ok_or_else(err)
    }
}

impl std::str::FromStr for Bytes {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let err =
            || format!("'{s}' is not a size (write e.g. \"1500B\", \"64KiB\", \"10MB\", \"1GiB\")");
        let (value, unit) = split_number(s).ok_or_else(err)?;
        let scale = match unit {
            "" | "B" => 1.0,
            "KB" | "kB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            "KiB" => 1024.0,
            "MiB" => 1024.0 * 1024.0,
            "GiB" => 1024.0 * 1024.0 * 1024.0,
            _ => return Err(err()),
        };
        scaled(value, scale).map(Bytes).ok_or_else(err)
    }
}

/// Deserializes from a string with a unit, or (for sizes only) from a bare integer.
macro_rules! unit_deserialize {
    ($ty:ident, $expecting:literal, $allow_int:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$ty, E> {
                        s.parse().map_err(E::custom)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ty, E> {
                        if $allow_int {
                            Ok($ty(v))
                        } else {
                            Err(E::custom(format!(
                                "{v} has no unit: write it as a string with one, e.g. {}",
                                $expecting
                            )))
                        }
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$ty, E> {
                        u64::try_from(v)
                            .map_err(|_| E::custom(format!("{v} is negative")))
                            .and_then(|v| self.visit_u64(v))
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

unit_deserialize!(Duration, "a duration such as \"10ms\"", false);
unit_deserialize!(Bitrate, "a bit rate such as \"100Mbps\"", false);
unit_deserialize!(Bytes, "a size such as \"64KiB\" or 1500", true);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_exactly() {
        assert_eq!("10ms".parse::<Duration>().unwrap(), Duration(10_000_000));
        assert_eq!("1.5s".parse::<Duration>().unwrap(), Duration(1_500_000_000));
        assert_eq!("250us".parse::<Duration>().unwrap(), Duration(250_000));
        assert_eq!(
            "2min".parse::<Duration>().unwrap(),
            Duration(120_000_000_000)
        );
        assert!("10".parse::<Duration>().is_err());
        assert!("-1s".parse::<Duration>().is_err());
        assert!("ms".parse::<Duration>().is_err());
    }

    #[test]
    fn rates_and_sizes_parse_exactly() {
        assert_eq!("100Mbps".parse::<Bitrate>().unwrap(), Bitrate(100_000_000));
        assert_eq!("1Gbps".parse::<Bitrate>().unwrap(), Bitrate(1_000_000_000));
        assert_eq!(
            "2.5Gbps".parse::<Bitrate>().unwrap(),
            Bitrate(2_500_000_000)
        );
        assert_eq!("64KiB".parse::<Bytes>().unwrap(), Bytes(65_536));
        assert_eq!("1500B".parse::<Bytes>().unwrap(), Bytes(1500));
        assert_eq!("10MB".parse::<Bytes>().unwrap(), Bytes(10_000_000));
        assert!("5 parsecs".parse::<Bytes>().is_err());
    }

    #[test]
    fn formatting_is_readable() {
        assert_eq!(format_nanos(10_000_000), "10ms");
        assert_eq!(format_nanos(1_500_000_000), "1.5s");
        assert_eq!(format_bitrate(94_300_000.0), "94.30 Mbps");
    }
}
