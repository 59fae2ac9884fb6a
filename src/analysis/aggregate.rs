//! Results of several runs of one lab, merged: what a sweep combination, a shard of one, or a
//! single run reports.
//!
//! Merging is lossless and does not depend on order: latencies merge bucket by bucket with
//! their exact extremes ([`Latencies`]), counters add, and every per-run figure (goodput,
//! outage, detection time) keeps each run's value ([`PerRun`]), so the minimum, median, p95,
//! maximum, mean and its confidence interval come out the same however the runs were split
//! between threads or machines. An aggregate serialises, so parts written on different
//! machines can be merged on another.

use crate::analysis::Summarize;
use crate::lab::model::AppKind;
use crate::results::histogram::Latencies;
use crate::results::Results;
use serde::{Deserialize, Serialize};

/// Runs of one lab, merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    pub lab: String,
    /// The seeds of the runs merged, ascending; each at most once.
    pub seeds: Vec<u64>,
    pub apps: Vec<AppAggregate>,
    /// One per fault instant, as in each run's failover timeline.
    pub faults: Vec<FaultAggregate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppAggregate {
    pub name: String,
    pub kind: AppKind,
    /// Summed over the runs, in the app's unit (probes, echoes, requests or bytes).
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    pub in_flight: u64,
    pub one_way: Latencies,
    pub rtt: Latencies,
    pub completion: Latencies,
    /// Bulk TCP: each run's goodput, overall and in steady state.
    pub goodput_bps: PerRun,
    pub steady_goodput_bps: PerRun,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultAggregate {
    pub at_us: f64,
    pub fault: String,
    /// Each run's time from the fault to the control plane's first reaction.
    pub detection_us: PerRun,
    /// Runs in which the control plane did not react.
    pub undetected: u64,
    /// Each app's outage in each run (0 when it saw none).
    pub outages: Vec<OutageAggregate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutageAggregate {
    pub app: String,
    pub outage_us: PerRun,
}

/// Why two aggregates cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MergeError {
    #[error("the parts come from different labs, '{0}' and '{1}'")]
    Lab(String, String),
    #[error("seed {0} is in both parts: merging would count its run twice")]
    Seed(u64),
    #[error("the parts' {0} differ: they come from different versions of the lab")]
    Shape(&'static str),
}

impl Aggregate {
    /// One run.
    pub fn of(r: &Results) -> Aggregate {
        let summary = r.summary(None);
        let apps = r
            .apps
            .iter()
            .zip(&summary.apps)
            .map(|(record, s)| AppAggregate {
                name: record.name.clone(),
                kind: record.kind(),
                sent: s.figures.sent,
                received: s.received,
                lost: s.figures.lost,
                in_flight: s.figures.in_flight,
                one_way: record
                    .probes()
                    .map(|p| p.one_way.clone())
                    .unwrap_or_default(),
                rtt: record.probes().map(|p| p.rtt.clone()).unwrap_or_default(),
                completion: record
                    .exchanges()
                    .map(|e| e.completion.clone())
                    .unwrap_or_default(),
                goodput_bps: PerRun::of(s.figures.goodput_bps),
                steady_goodput_bps: PerRun::of(s.steady_goodput_bps),
            })
            .collect();
        let faults = summary
            .failover
            .iter()
            .map(|t| FaultAggregate {
                at_us: t.at_us,
                fault: t.fault.clone(),
                detection_us: PerRun::of(t.detection.as_ref().map(|d| d.after_us)),
                undetected: u64::from(t.detection.is_none()),
                outages: t
                    .outages
                    .iter()
                    .map(|o| OutageAggregate {
                        app: o.app.clone(),
                        outage_us: PerRun::of(Some(o.outage_us)),
                    })
                    .collect(),
            })
            .collect();
        Aggregate {
            lab: r.lab.clone(),
            seeds: vec![r.seed],
            apps,
            faults,
        }
    }

    /// Adds `other`'s runs to these. Refused, leaving `self` unchanged, when the parts come
    /// from different labs or share a seed.
    pub fn merge(&mut self, other: &Aggregate) -> Result<(), MergeError> {
        if self.lab != other.lab {
            return Err(MergeError::Lab(self.lab.clone(), other.lab.clone()));
        }
        if let Some(&seed) = other
            .seeds
            .iter()
            .find(|s| self.seeds.binary_search(s).is_ok())
        {
            return Err(MergeError::Seed(seed));
        }
        let same_apps = self.apps.len() == other.apps.len()
            && self
                .apps
                .iter()
                .zip(&other.apps)
                .all(|(a, b)| a.name == b.name && a.kind == b.kind);
        if !same_apps {
            return Err(MergeError::Shape("apps"));
        }
        let same_faults = self.faults.len() == other.faults.len()
            && self.faults.iter().zip(&other.faults).all(|(a, b)| {
                a.at_us == b.at_us
                    && a.fault == b.fault
                    && a.outages.len() == b.outages.len()
                    && a.outages
                        .iter()
                        .zip(&b.outages)
                        .all(|(x, y)| x.app == y.app)
            });
        if !same_faults {
            return Err(MergeError::Shape("faults"));
        }
        self.seeds.extend(&other.seeds);
        self.seeds.sort_unstable();
        for (a, b) in self.apps.iter_mut().zip(&other.apps) {
            a.sent += b.sent;
            a.received += b.received;
            a.lost += b.lost;
            a.in_flight += b.in_flight;
            a.one_way.merge(&b.one_way);
            a.rtt.merge(&b.rtt);
            a.completion.merge(&b.completion);
            a.goodput_bps.merge(&b.goodput_bps);
            a.steady_goodput_bps.merge(&b.steady_goodput_bps);
        }
        for (a, b) in self.faults.iter_mut().zip(&other.faults) {
            a.detection_us.merge(&b.detection_us);
            a.undetected += b.undetected;
            for (x, y) in a.outages.iter_mut().zip(&b.outages) {
                x.outage_us.merge(&y.outage_us);
            }
        }
        Ok(())
    }
}

/// One figure from each of several runs.
///
/// Invariant: `values` ascend (by `f64::total_cmp`), so equal sets of runs give equal values
/// whatever order they were merged in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PerRun {
    values: Vec<f64>,
}

/// What a [`PerRun`] says about its runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    pub runs: usize,
    pub min: f64,
    pub median: f64,
    pub p95: f64,
    pub max: f64,
    pub mean: f64,
    /// Half-width of the 95% confidence interval of the mean (Student's t); 0 for one run.
    pub ci95: f64,
}

impl PerRun {
    /// The figure of one run, if it has one.
    pub fn of(value: Option<f64>) -> PerRun {
        PerRun {
            values: value.into_iter().collect(),
        }
    }

    pub fn merge(&mut self, other: &PerRun) {
        self.values.extend(&other.values);
        self.values.sort_by(f64::total_cmp);
    }

    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// `None` without any run.
    pub fn spread(&self) -> Option<Spread> {
        let v = &self.values;
        let n = v.len();
        if n == 0 {
            return None;
        }
        // Nearest rank: the smallest value with at least q of the runs at or below it.
        let rank = |q: f64| v[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        let mean = v.iter().sum::<f64>() / n as f64;
        let ci95 = if n < 2 {
            0.0
        } else {
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            student_t95(n - 1) * (var / n as f64).sqrt()
        };
        Some(Spread {
            runs: n,
            min: v[0],
            median: rank(0.5),
            p95: rank(0.95),
            max: v[n - 1],
            mean,
            ci95,
        })
    }
}

/// The two-sided 95% quantile of Student's t with `df` degrees of freedom (tables to 30, then
/// the normal 1.96, which is within 2% of t beyond).
fn student_t95(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    T.get(df.wrapping_sub(1)).copied().unwrap_or(1.96)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_run_spread_uses_nearest_ranks_and_students_t() {
        let mut p = PerRun::default();
        for v in [5.0, 1.0, 4.0, 2.0, 3.0] {
            p.merge(&PerRun::of(Some(v)));
        }
        let s = p.spread().unwrap();
        assert_eq!(
            (s.runs, s.min, s.median, s.p95, s.max, s.mean),
            (5, 1.0, 3.0, 5.0, 5.0, 3.0)
        );
        // s.d. √2.5, t(4) = 2.776: 2.776 · √(2.5 / 5).
        assert!((s.ci95 - 2.776 * 0.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(PerRun::of(None).spread(), None);
        assert_eq!(PerRun::of(Some(7.0)).spread().unwrap().ci95, 0.0);
    }

    #[test]
    fn per_run_merges_in_any_order_to_the_same_values() {
        let (mut a, mut b) = (PerRun::of(Some(3.0)), PerRun::of(Some(1.0)));
        a.merge(&PerRun::of(Some(2.0)));
        b.merge(&PerRun::of(Some(2.0)));
        b.merge(&PerRun::of(Some(3.0)));
        a.merge(&PerRun::of(Some(1.0)));
        assert_eq!(a, b);
        assert_eq!(a.values(), [1.0, 2.0, 3.0]);
    }
}
