//! Human units in lab files: durations ("10ms", "1.5s"), bit rates ("100Mbps", "1Gbps") and byte
//! sizes ("64KiB", "1500B"). Each parses to an exact integer (nanoseconds, bits per second, bytes)
//! so that every later computation is integer arithmetic and therefore reproducible.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A span of virtual time in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Duration(pub u64);

/// A bit rate in bits per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bitrate(pub u64);

/// A size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub u64);

/// A percentage from 0% to 100% ("99.95%"), in parts per billion, so that "99.99%" is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percent(pub u64);

impl Percent {
    /// Parts per billion in 1%.
    const ONE: u64 = 10_000_000;
    pub const ALL: Percent = Percent(100 * Self::ONE);

    /// As a fraction of 1.
    pub fn fraction(self) -> f64 {
        self.0 as f64 / Self::ALL.0 as f64
    }
}

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

/// A decimal number as written: its digits as an integer and how many of them follow the point
/// ("1.25" is (125, 2)). Longer than 38 digits is refused, so the integer fits a `u128`.
struct Decimal {
    digits: u128,
    fraction_digits: u32,
}

/// Splits "1.5ms" into (1.5, "ms"). The number may be an integer or a decimal.
fn split_number(s: &str) -> Option<(Decimal, &str)> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return None;
    }
    let written = format!("{whole}{fraction}");
    if written.len() > 38 {
        return None;
    }
    Some((
        Decimal {
            digits: written.parse().ok()?,
            fraction_digits: fraction.len() as u32,
        },
        unit.trim(),
    ))
}

/// Why a number with a unit was refused.
enum Refusal {
    NotANumber,
    TooLarge,
}

/// `value` times `scale` (the unit in base units), rounded to the nearest base unit, halves
/// up; refused beyond `u64::MAX`.
fn scaled(value: Decimal, scale: u64) -> Result<u64, Refusal> {
    let exact = value
        .digits
        .checked_mul(u128::from(scale))
        .ok_or(Refusal::TooLarge)?;
    let divisor = 10u128
        .checked_pow(value.fraction_digits)
        .ok_or(Refusal::NotANumber)?;
    let rounded = exact / divisor + u128::from(exact % divisor >= divisor.div_ceil(2));
    u64::try_from(rounded).map_err(|_| Refusal::TooLarge)
}

/// Parses `s` as a number and a unit from `units` (name, base units), or says why not:
/// `example` shows what is accepted and `largest` formats the largest value there is.
fn parse_with_unit(
    s: &str,
    units: &[(&str, u64)],
    ignore_case: bool,
    example: &str,
    largest: &str,
) -> Result<u64, String> {
    let err = || format!("'{s}' is not {example}");
    let (value, unit) = split_number(s).ok_or_else(err)?;
    let scale = units
        .iter()
        .find(|(name, _)| {
            if ignore_case {
                name.eq_ignore_ascii_case(unit)
            } else {
                *name == unit
            }
        })
        .map(|&(_, scale)| scale)
        .ok_or_else(err)?;
    scaled(value, scale).map_err(|r| match r {
        Refusal::NotANumber => err(),
        Refusal::TooLarge => format!("'{s}' is too large: the largest there is is {largest}"),
    })
}

impl std::str::FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        const UNITS: [(&str, u64); 8] = [
            ("ns", 1),
            ("us", 1_000),
            ("µs", 1_000),
            ("ms", 1_000_000),
            ("s", 1_000_000_000),
            ("min", 60_000_000_000),
            ("m", 60_000_000_000),
            ("h", 3_600_000_000_000),
        ];
        parse_with_unit(
            s,
            &UNITS,
            false,
            "a duration (write e.g. \"250us\", \"10ms\", \"1.5s\", \"2min\")",
            "18446744073709551615ns (about 584 years)",
        )
        .map(Duration)
    }
}

impl std::str::FromStr for Bitrate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        const UNITS: [(&str, u64); 10] = [
            ("bps", 1),
            ("bit/s", 1),
            ("kbps", 1_000),
            ("kbit/s", 1_000),
            ("mbps", 1_000_000),
            ("mbit/s", 1_000_000),
            ("gbps", 1_000_000_000),
            ("gbit/s", 1_000_000_000),
            ("tbps", 1_000_000_000_000),
            ("tbit/s", 1_000_000_000_000),
        ];
        parse_with_unit(
            s,
            &UNITS,
            true,
            "a bit rate (write e.g. \"64kbps\", \"100Mbps\", \"1Gbps\")",
            "18446744073709551615bps",
        )
        .map(Bitrate)
    }
}

impl std::str::FromStr for Bytes {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        const UNITS: [(&str, u64); 9] = [
            ("", 1),
            ("B", 1),
            ("KB", 1_000),
            ("kB", 1_000),
            ("MB", 1_000_000),
            ("GB", 1_000_000_000),
            ("KiB", 1 << 10),
            ("MiB", 1 << 20),
            ("GiB", 1 << 30),
        ];
        parse_with_unit(
            s,
            &UNITS,
            false,
            "a size (write e.g. \"1500B\", \"64KiB\", \"10MB\", \"1GiB\")",
            "18446744073709551615B",
        )
        .map(Bytes)
    }
}

impl std::str::FromStr for Percent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let example = "a percentage from 0% to 100% (write e.g. \"99.95%\")";
        let ppb = parse_with_unit(s, &[("%", Percent::ONE)], false, example, "100%")?;
        if ppb > Percent::ALL.0 {
            return Err(format!("'{s}' is not {example}"));
        }
        Ok(Percent(ppb))
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

/// `value` in the largest of `units` (name, base units; largest last) that holds it exactly, so
/// that the text parses back to the same integer: "60s", "1500ms", "1300ns".
fn exact(value: u64, units: &[(&str, u64)]) -> String {
    let (name, scale) = units
        .iter()
        .rev()
        .find(|(_, scale)| value.is_multiple_of(*scale) && value > 0)
        .unwrap_or(&units[0]);
    format!("{}{name}", value / scale)
}

impl Duration {
    /// Exact text in the largest unit that divides it ("1500ms"), parsed back unchanged.
    pub fn exact(self) -> String {
        exact(
            self.0,
            &[
                ("ns", 1),
                ("us", 1_000),
                ("ms", 1_000_000),
                ("s", 1_000_000_000),
            ],
        )
    }
}

impl Bitrate {
    /// Exact text in the largest unit that divides it ("1Gbps", "1500kbps").
    pub fn exact(self) -> String {
        exact(
            self.0,
            &[
                ("bps", 1),
                ("kbps", 1_000),
                ("Mbps", 1_000_000),
                ("Gbps", 1_000_000_000),
            ],
        )
    }
}

impl Bytes {
    /// Exact text in the largest unit that divides it ("1500B", "64KiB").
    pub fn exact(self) -> String {
        exact(
            self.0,
            &[
                ("B", 1),
                ("KiB", 1 << 10),
                ("MiB", 1 << 20),
                ("GiB", 1 << 30),
            ],
        )
    }
}

/// Lab files and expanded labs write units as text that parses back exactly.
macro_rules! unit_serialize {
    ($ty:ident) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.exact())
            }
        }
    };
}

impl Percent {
    /// Exact text, to the last digit that is not zero ("99.99%"), parsed back unchanged.
    pub fn exact(self) -> String {
        let (whole, part) = (self.0 / Self::ONE, self.0 % Self::ONE);
        if part == 0 {
            return format!("{whole}%");
        }
        let digits = format!("{part:07}");
        format!("{whole}.{}%", digits.trim_end_matches('0'))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.exact())
    }
}

unit_serialize!(Duration);
unit_serialize!(Bitrate);
unit_serialize!(Bytes);
unit_serialize!(Percent);

unit_deserialize!(Duration, "a duration such as \"10ms\"", false);
unit_deserialize!(Bitrate, "a bit rate such as \"100Mbps\"", false);
unit_deserialize!(Bytes, "a size such as \"64KiB\" or 1500", true);
unit_deserialize!(Percent, "a percentage such as \"99.95%\"", false);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_text_parses_back_to_the_same_value() {
        for ns in [0, 1, 999, 1_300, 1_500_000_000, 60_000_000_000, u64::MAX] {
            let d = Duration(ns);
            assert_eq!(d.exact().parse::<Duration>(), Ok(d), "{}", d.exact());
        }
        assert_eq!(Duration(1_500_000_000).exact(), "1500ms");
        for bps in [0, 64_000, 1_500_000, 1_000_000_000, u64::MAX] {
            assert_eq!(Bitrate(bps).exact().parse::<Bitrate>(), Ok(Bitrate(bps)));
        }
        assert_eq!(Bitrate(1_000_000_000).exact(), "1Gbps");
        for b in [0, 1500, 65536, 1 << 30, u64::MAX] {
            assert_eq!(Bytes(b).exact().parse::<Bytes>(), Ok(Bytes(b)));
        }
        assert_eq!(Bytes(65536).exact(), "64KiB");
    }

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
    fn percentages_parse_exactly_and_stay_within_0_to_100() {
        let p = "99.99%".parse::<Percent>().unwrap();
        assert_eq!(p, Percent(999_900_000));
        assert_eq!(p.exact(), "99.99%");
        assert_eq!("100%".parse::<Percent>().unwrap(), Percent::ALL);
        assert_eq!(
            "0.0000001%".parse::<Percent>().unwrap().exact(),
            "0.0000001%"
        );
        assert!((p.fraction() - 0.9999).abs() < 1e-12);
        assert!("100.5%"
            .parse::<Percent>()
            .unwrap_err()
            .contains("0% to 100%"));
        assert!("99.9".parse::<Percent>().is_err());
    }

    #[test]
    fn values_are_exact_to_the_last_unit_and_never_capped() {
        assert_eq!(
            "18446744073709551615ns".parse::<Duration>(),
            Ok(Duration(u64::MAX))
        );
        let e = "18446744073709551616ns".parse::<Duration>().unwrap_err();
        assert!(e.contains("too large"), "{e}");
        assert!("20000000000000000000000s".parse::<Duration>().is_err());
        assert!("999999999999999999999999999999999999999999ns"
            .parse::<Duration>()
            .is_err());
        assert_eq!("0.1s".parse::<Duration>(), Ok(Duration(100_000_000)));
        assert_eq!(
            "1.0000000005s".parse::<Duration>(),
            Ok(Duration(1_000_000_001))
        );
        assert_eq!("2.5Gbps".parse::<Bitrate>(), Ok(Bitrate(2_500_000_000)));
        assert_eq!("1.5KiB".parse::<Bytes>(), Ok(Bytes(1536)));
        for bad in [
            "", ".", "1..2s", "1.2.3s", "NaNs", "infs", "1e3ms", "-0s", "s",
        ] {
            assert!(bad.parse::<Duration>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn formatting_is_readable() {
        assert_eq!(format_nanos(10_000_000), "10ms");
        assert_eq!(format_nanos(1_500_000_000), "1.5s");
        assert_eq!(format_bitrate(94_300_000.0), "94.30 Mbps");
    }
}
