//! Latency distributions: HDR buckets for the percentiles, beside the exact extremes.
//!
//! Percentiles and the mean come from an HDR histogram of nanoseconds, 1 ns to 1 hour at
//! [`SIGNIFICANT_DIGITS`] significant digits: each lies within [`RELATIVE_PRECISION`] of a
//! recorded value. The minimum and maximum are the recorded values themselves, and every figure
//! reported is held between them, so none is below what physics allows (a bucket's lower edge
//! can be: a 20,014.72 µs round trip falls in a bucket that starts at 20,004.86 µs).

use crate::substrate::engine::Time;
use hdrhistogram::Histogram;

/// Significant decimal digits the buckets keep.
pub const SIGNIFICANT_DIGITS: u8 = 3;
/// The largest relative error of a percentile or mean: 10^-SIGNIFICANT_DIGITS.
pub const RELATIVE_PRECISION: f64 = 1e-3;
/// The largest latency the buckets hold; longer ones count at this value (the extremes stay
/// exact).
const HIGHEST: Time = 3_600_000_000_000;

/// Up to this many values are kept as they are, sorted, before they go into buckets: a lab
/// with thousands of apps records a few values in most of its distributions, and a full set of
/// buckets takes 270 KB. Every figure is computed as from the buckets, so the form never shows.
const FEW: usize = 2048;

/// Latencies in nanoseconds.
///
/// Invariant: `min` and `max` are the smallest and largest values recorded, and `values` holds
/// each recorded value (clamped to the buckets' range) once, as a sorted list of at most
/// [`FEW`] or as buckets.
#[derive(Debug, Clone)]
pub struct Latencies {
    values: Values,
    min: Time,
    max: Time,
}

#[derive(Debug, Clone)]
enum Values {
    Few(Vec<Time>),
    Buckets(Box<Histogram<u64>>),
}

/// Empty buckets of the one precision used: the bucket arithmetic for values kept as they are.
fn template() -> &'static Histogram<u64> {
    static TEMPLATE: std::sync::OnceLock<Histogram<u64>> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(buckets)
}

fn buckets() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST, SIGNIFICANT_DIGITS).expect("valid histogram bounds")
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    pub fn new() -> Self {
        Latencies {
            values: Values::Few(Vec::new()),
            min: Time::MAX,
            max: 0,
        }
    }

    pub fn record(&mut self, ns: Time) {
        self.record_n(ns.clamp(1, HIGHEST), 1);
        self.min = self.min.min(ns);
        self.max = self.max.max(ns);
    }

    /// Adds `count` values `v` (within the buckets' range) to `values`, leaving the extremes.
    fn record_n(&mut self, v: Time, count: u64) {
        if let Values::Few(few) = &mut self.values {
            if few.len() as u64 + count <= FEW as u64 {
                let at = few.partition_point(|&x| x <= v);
                few.splice(at..at, std::iter::repeat_n(v, count as usize));
                return;
            }
            let mut h = buckets();
            for &x in few.iter() {
                let _ = h.record(x);
            }
            self.values = Values::Buckets(Box::new(h));
        }
        if let Values::Buckets(h) = &mut self.values {
            let _ = h.record_n(v, count);
        }
    }

    /// Adds everything `other` recorded, as if it had been recorded here.
    pub fn merge(&mut self, other: &Latencies) {
        if other.is_empty() {
            return;
        }
        for (v, count) in other.buckets() {
            self.record_n(v, count);
        }
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Each non-empty bucket in rising order as (the highest value it holds, its count).
    fn buckets(&self) -> Vec<(Time, u64)> {
        match &self.values {
            Values::Few(few) => {
                let t = template();
                let mut out: Vec<(Time, u64)> = Vec::new();
                for &v in few {
                    let top = t.highest_equivalent(v);
                    match out.last_mut() {
                        Some((last, n)) if *last == top => *n += 1,
                        _ => out.push((top, 1)),
                    }
                }
                out
            }
            Values::Buckets(h) => h
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        }
    }

    /// Bytes the values take on the heap.
    pub fn heap_bytes(&self) -> u64 {
        let size = std::mem::size_of::<u64>() as u64;
        match &self.values {
            Values::Few(few) => few.capacity() as u64 * size,
            Values::Buckets(h) => h.distinct_values() as u64 * size,
        }
    }

    /// The most heap a distribution of `n` values takes: the list while it is short, then the
    /// buckets.
    pub fn heap_bytes_for(n: u64) -> u64 {
        let size = std::mem::size_of::<u64>() as u64;
        match n {
            n if n <= FEW as u64 => n.next_power_of_two() * size,
            _ => template().distinct_values() as u64 * size,
        }
    }

    pub fn len(&self) -> u64 {
        match &self.values {
            Values::Few(few) => few.len() as u64,
            Values::Buckets(h) => h.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        if self.is_empty() {
            return None;
        }
        let v = match &self.values {
            // As the buckets answer: the bucket of the value at that rank, its lowest value at
            // quantile 0 and its highest otherwise.
            Values::Few(few) => {
                let q = q.min(1.0);
                let rank = ((q * few.len() as f64).ceil() as usize).clamp(1, few.len());
                let v = few[rank - 1];
                if q == 0.0 {
                    template().lowest_equivalent(v)
                } else {
                    template().highest_equivalent(v)
                }
            }
            Values::Buckets(h) => h.value_at_quantile(q),
        };
        Some(v.clamp(self.min, self.max))
    }

    /// The mean, within [`RELATIVE_PRECISION`], held between the extremes. `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        if self.is_empty() {
            return None;
        }
        let mean = match &self.values {
            // The buckets' sum, in their order: each bucket's median times its count.
            Values::Few(_) => {
                let (t, total) = (template(), self.len() as f64);
                self.buckets().iter().fold(0.0, |sum, &(v, n)| {
                    sum + t.median_equivalent(v) as f64 * n as f64 / total
                })
            }
            Values::Buckets(h) => h.mean(),
        };
        Some(mean.clamp(self.min as f64, self.max as f64))
    }
}

impl Latencies {
    /// The empirical distribution as steps: (value, fraction of values at or below it), one per
    /// non-empty bucket in rising order, the first at the exact minimum and the last at the
    /// exact maximum with fraction 1. Empty when nothing was recorded.
    pub fn cdf(&self) -> Vec<(Time, f64)> {
        let total = self.len() as f64;
        let mut below = 0u64;
        self.buckets()
            .into_iter()
            .map(|(v, n)| {
                below += n;
                (v.clamp(self.min, self.max), below as f64 / total)
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
            buckets: self.buckets(),
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
            if count > u64::MAX - l.len() {
                return Err(D::Error::custom(format!(
                    "latency bucket {value} (count {count}) is out of range"
                )));
            }
            l.record_n(value.clamp(1, HIGHEST), count);
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
    /// The same extremes and the same counts in the same buckets, whatever the form.
    fn eq(&self, other: &Self) -> bool {
        (self.min(), self.max()) == (other.min(), other.max()) && self.buckets() == other.buckets()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A distribution kept as a short list answers exactly as its buckets would.
    #[test]
    fn a_short_list_answers_as_the_buckets() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for n in [1usize, 2, 3, 10, 999, FEW] {
            let mut few = Latencies::new();
            let mut hdr = buckets();
            for _ in 0..n {
                // From nanoseconds to past the buckets' hour, many sharing a bucket.
                let v = match rng.random_range(0..3) {
                    0 => rng.random_range(0..5_000),
                    1 => rng.random_range(20_000_000..20_100_000),
                    _ => rng.random_range(0..2 * HIGHEST),
                };
                few.record(v);
                let _ = hdr.record(v.clamp(1, HIGHEST));
            }
            assert!(
                matches!(few.values, Values::Few(_)),
                "{n} values stay a list"
            );
            let mut full = few.clone();
            full.values = Values::Buckets(Box::new(hdr.clone()));
            for q in [0.0, 1e-9, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0, 1.5, -0.5] {
                assert_eq!(few.quantile(q), full.quantile(q), "{n} values, q {q}");
            }
            assert_eq!(few.mean(), full.mean(), "{n} values");
            assert_eq!(few.cdf(), full.cdf(), "{n} values");
            assert_eq!(few, full);
            assert_eq!(
                serde_json::to_string(&few).unwrap(),
                serde_json::to_string(&full).unwrap()
            );
        }
        // One more value turns the list into buckets, with the same answers.
        let mut l = Latencies::new();
        for v in 0..=FEW as u64 {
            l.record(1_000 + 7 * v);
        }
        assert!(matches!(l.values, Values::Buckets(_)));
        assert_eq!(l.len(), FEW as u64 + 1);
    }

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
