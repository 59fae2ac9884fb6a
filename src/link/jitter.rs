//! Delay variation added to a link direction's propagation delay.
//!
//! Parameters (all in the lab file's `jitter: (...)`):
//! - `amount`: the scale of the variation. Uniform draws from [-amount, +amount]; Normal has
//!   standard deviation `amount`; Pareto draws non-negative values with mean `amount`.
//! - `distribution`: Uniform (default), Normal or Pareto.
//! - `shape`: the Pareto tail index α (default 3; smaller is heavier-tailed). α must exceed 1.
//! - `correlation`: 0..1, weight of the previous draw, as netem does: d = c·prev + (1−c)·fresh.
//! - `keep_order`: when true (default) a packet never overtakes the one sent before it; when
//!   false, jitter larger than the packet spacing reorders packets, as on a real multipath.
//!
//! A negative total delay is clamped to zero: a packet never arrives before it was sent.

use crate::rng::Rng;
use crate::units::Duration;
use rand::Rng as _;
use rand_distr::{Distribution, Normal, Pareto};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum JitterDistribution {
    #[default]
    Uniform,
    Normal,
    Pareto,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JitterSpec {
    pub amount: Duration,
    #[serde(default)]
    pub distribution: JitterDistribution,
    #[serde(default = "default_shape")]
    pub shape: f64,
    #[serde(default)]
    pub correlation: f64,
    #[serde(default = "default_true")]
    pub keep_order: bool,
}

fn default_shape() -> f64 {
    3.0
}
fn default_true() -> bool {
    true
}

/// The running state of one direction's jitter.
#[derive(Debug, Clone)]
pub struct Jitter {
    spec: JitterSpec,
    last: f64,
}

impl Jitter {
    pub fn new(spec: JitterSpec) -> Self {
        Jitter { spec, last: 0.0 }
    }

    pub fn keeps_order(&self) -> bool {
        self.spec.keep_order
    }

    /// Draws the next variation in nanoseconds (may be negative for symmetric distributions).
    pub fn draw(&mut self, rng: &mut Rng) -> f64 {
        let a = self.spec.amount.0 as f64;
        let fresh = match self.spec.distribution {
            JitterDistribution::Uniform => (rng.random::<f64>() * 2.0 - 1.0) * a,
            JitterDistribution::Normal => match Normal::new(0.0, a) {
                Ok(n) => n.sample(rng),
                Err(_) => 0.0,
            },
            JitterDistribution::Pareto => match Pareto::new(1.0, self.spec.shape) {
                // X ≥ 1 has mean α/(α−1); (X − 1)(α − 1) has mean 1.
                Ok(p) => (p.sample(rng) - 1.0) * (self.spec.shape - 1.0) * a,
                Err(_) => 0.0,
            },
        };
        let c = self.spec.correlation;
        let value = c * self.last + (1.0 - c) * fresh;
        self.last = value;
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::component_rng;

    fn spec(distribution: JitterDistribution) -> JitterSpec {
        JitterSpec {
            amount: Duration::from_millis(2),
            distribution,
            shape: 3.0,
            correlation: 0.0,
            keep_order: true,
        }
    }

    fn mean_and_bounds(d: JitterDistribution) -> (f64, f64, f64) {
        let mut j = Jitter::new(spec(d));
        let mut rng = component_rng(1, "jitter-test");
        let draws: Vec<f64> = (0..100_000).map(|_| j.draw(&mut rng)).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let min = draws.iter().cloned().fold(f64::MAX, f64::min);
        let max = draws.iter().cloned().fold(f64::MIN, f64::max);
        (mean, min, max)
    }

    #[test]
    fn uniform_stays_within_amount_and_centres_on_zero() {
        let (mean, min, max) = mean_and_bounds(JitterDistribution::Uniform);
        assert!(min >= -2e6 && max <= 2e6);
        assert!(mean.abs() < 2e4, "mean {mean}");
    }

    #[test]
    fn pareto_is_non_negative_with_mean_amount() {
        let (mean, min, _) = mean_and_bounds(JitterDistribution::Pareto);
        assert!(min >= 0.0);
        assert!((mean - 2e6).abs() < 0.1 * 2e6, "mean {mean}");
    }

    #[test]
    fn normal_has_the_configured_spread() {
        let mut j = Jitter::new(spec(JitterDistribution::Normal));
        let mut rng = component_rng(1, "jitter-test");
        let draws: Vec<f64> = (0..100_000).map(|_| j.draw(&mut rng)).collect();
        let var = draws.iter().map(|d| d * d).sum::<f64>() / draws.len() as f64;
        assert!((var.sqrt() - 2e6).abs() < 0.02 * 2e6);
    }
}
