//! Latency distributions: HDR buckets for the percentiles, beside the exact extremes.
//!
//! Percentiles and the mean come from an HDR histogram of nanoseconds, 1 ns to 1 hour at
//! [`SIGNIFICANT_DIGITS`] significant digits: each lies within [`RELATIVE_PRECISION`] of a
//! recorded value. The minimum and maximum are the recorded values themselves, and every figure
//! reported is held between them, so none is below what physics allows (a bucket's lower edge
//! can be: a 20,014.72 µs round trip falls in a bucket that starts at 20,004.86 µs).

use crate::engine::Time;
use hdrhistogram::Histogram;

/// Significant decimal digits the buckets keep.
pub const SIGNIFICANT_DIGITS: u8 = 3;
/// The largest relative error of a percentile or mean: 10^-SIGNIFICANT_DIGITS.
pub const RELATIVE_PRECISION: f64 = 1e-3;
/// The largest latency the buckets hold; longer ones count at this value (the extremes stay
/// exact).
const HIGHEST: Time = 3_600_000_000_000;

/// Latencies in nanoseconds.
///
/// Invariant: `min` and `max` are the smallest and largest values recorded, and `hist` holds
/// one count per recorded value.
#[derive(Debug, Clone)]
pub struct Latencies {
    hist: Histogram<u64>,
    min: Time,
    max: Time,
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    pub fn new() -> Self {
        Latencies {
            hist: Histogram::new_with_bounds(1, HIGHEST, SIGNIFICANT_DIGITS)
                .expect("valid histogram bounds"),
            min: Time::MAX,
            max: 0,
        }
    }

    pub fn record(&mut self, ns: Time) {
        let _ = self.hist.record(ns.clamp(1, HIGHEST));
        self.min = self.min.min(ns);
        self.max = self.max.max(ns);
    }

    /// Adds everything `other` recorded, as if it had been recorded here.
    pub fn merge(&mut self, other: &Latencies) {
        if other.is_empty() {
            return;
        }
        self.hist.add(&other.hist).expect("same bounds");
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Bytes the buckets take on the heap.
    pub fn heap_bytes(&self) -> u64 {
        self.hist.distinct_values() as u64 * std::mem::size_of::<u64>() as u64
    }

    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// The smallest value recorded, exactly.
    pub fn min(&self) -> Option<Time> {
        (!self.is_empty()).then_some(self.min)
    }

    /// The largest value recorded, exactly.
    pub fn max(&self) -> Option<Time> {
        (!self.is_empty()).then_some(self.max)
    }

    /// The value at quantile `q` (0..=1), within [`RELATIVE_PRECISION`], and never outside the
    /// recorded extremes. `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<Time> {
        let v = self.hist.value_at_quantile(q);
        (!self.is_empty()).then(|| v.clamp(self.min, self.max))
    }

    /// The mean, within [`RELATIVE_PRECISION`], held between the extremes. `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        (!self.is_empty()).then(|| self.hist.mean().clamp(self.min as f64, self.max as f64))
    }
}

impl Latencies {
    /// The empirical distribution as steps: (value, fraction of values at or below it), one per
    /// non-empty bucket in rising order, the first at the exact minimum and the last at the
    /// exact maximum with fraction 1. Empty when nothing was recorded.
    pub fn cdf(&self) -> Vec<(Time, f64)> {
        let total = self.len() as f64;
        let mut below = 0u64;
        self.hist
            .iter_recorded()
            .map(|v| {
                below += v.count_at_value();
                let value = v.value_iterated_to().clamp(self.min, self.max);
                (value, below as f64 / total)
            })
            .enumerate()
            .map(|(i, (value, fraction))| (if i == 0 { self.min } else { value }, fraction))
            .collect()
    }
}

/// The serialised form: the extremes and each non-empty bucket as (a value in it, count).
/// Recording each count at its value into an empty histogram of the same precision fills the
/// same buckets, so writing and reading back loses nothing.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    min_ns: Option<Time>,
    max_ns: Option<Time>,
    buckets: Vec<(Time, u64)>,
}

impl serde::Serialize for Latencies {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Stored {
            min_ns: self.min(),
            max_ns: self.max(),
            buckets: self
                .hist
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Latencies {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let stored = Stored::deserialize(d)?;
        let mut l = Latencies::new();
        for (value, count) in stored.buckets {
            l.hist
                .record_n(value.clamp(1, HIGHEST), count)
                .map_err(|e| D::Error::custom(format!("latency bucket {value}: {e:?}")))?;
        }
        match (stored.min_ns, stored.max_ns, l.is_empty()) {
            (Some(min), Some(max), false) if min <= max => {
                (l.min, l.max) = (min, max);
                Ok(l)
            }
            (None, None, true) => Ok(l),
            _ => Err(D::Error::custom(
                "latency extremes do not match the buckets",
            )),
        }
    }
}

impl PartialEq for Latencies {
    fn eq(&self, other: &Self) -> bool {
        (self.min(), self.max()) == (other.min(), other.max()) && self.hist == other.hist
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extremes_are_exact_where_the_buckets_are_not() {
        let mut l = Latencies::new();
        // 20,014.72 us sits in a bucket whose lower edge is 20,004.86 us.
        l.record(20_014_720);
        l.record(20_200_000);
        assert_eq!(l.min(), Some(20_014_720));
        assert_eq!(l.max(), Some(20_200_000));
        assert!(l.quantile(0.0).unwrap() >= 20_014_720);
        assert!(l.quantile(1.0).unwrap() <= 20_200_000);
        let mean = l.mean().unwrap();
        assert!(
            (mean / 20_107_360.0 - 1.0).abs() < RELATIVE_PRECISION,
            "{mean}"
        );
    }

    #[test]
    fn percentiles_are_within_the_stated_precision() {
        let mut l = Latencies::new();
        for v in 1..=100_000u64 {
            l.record(v * 997);
        }
        for q in [0.5f64, 0.9, 0.99, 0.999] {
            let exact = (q * 100_000.0).ceil() * 997.0;
            let got = l.quantile(q).unwrap() as f64;
            assert!(
                (got / exact - 1.0).abs() <= RELATIVE_PRECISION,
                "q {q}: {got} vs {exact}"
            );
        }
    }

    #[test]
    fn merging_is_recording_everything_in_one() {
        let (mut a, mut b, mut all) = (Latencies::new(), Latencies::new(), Latencies::new());
        for v in [5_000, 7_000, 9_000] {
            a.record(v);
            all.record(v);
        }
        for v in [1_000, 12_000] {
            b.record(v);
            all.record(v);
        }
        a.merge(&b);
        a.merge(&Latencies::new());
        assert_eq!((a.len(), a.min(), a.max()), (5, Some(1_000), Some(12_000)));
        assert_eq!(a.quantile(0.5), all.quantile(0.5));
        assert_eq!(Latencies::new().min(), None);
        assert_eq!(Latencies::new().quantile(0.5), None);
    }

    #[test]
    fn the_cdf_runs_from_the_exact_minimum_to_the_exact_maximum() {
        let mut l = Latencies::new();
        for v in [20_014_720, 20_014_720, 20_200_000, 31_000_000] {
            l.record(v);
        }
        let cdf = l.cdf();
        assert_eq!(cdf.first(), Some(&(20_014_720, 0.5)));
        assert_eq!(cdf.last(), Some(&(31_000_000, 1.0)));
        assert_eq!(cdf.len(), 3);
        assert!(cdf.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
        assert!(Latencies::new().cdf().is_empty());
    }

    #[test]
    fn serialising_loses_nothing() {
        let mut l = Latencies::new();
        for v in [3, 20_014_720, 20_200_000, 7_000_000_000_000] {
            l.record(v);
        }
        let text = serde_json::to_string(&l).unwrap();
        let back: Latencies = serde_json::from_str(&text).unwrap();
        assert_eq!(back, l);
        assert_eq!(
            back.max(),
            Some(7_000_000_000_000),
            "exact beyond the buckets' range"
        );
        let empty: Latencies =
            serde_json::from_str(&serde_json::to_string(&Latencies::new()).unwrap()).unwrap();
        assert!(empty.is_empty());
        assert!(
            serde_json::from_str::<Latencies>(r#"{"min_ns":5,"max_ns":1,"buckets":[[3,1]]}"#)
                .is_err()
        );
    }
}
