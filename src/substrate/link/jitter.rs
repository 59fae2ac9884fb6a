//! Delay variation added to a link direction's propagation delay.
//!
//! Each packet's delay is `delay + X`, X drawn afresh per packet (Linux netem's `delay D J`):
//! - `amount` (J): the scale of X. Uniform: X uniform on [-J, +J] (netem's default); Normal: X
//!   normal with standard deviation J (netem's `distribution normal`); Pareto: X ≥ 0 with mean
//!   J and tail index `shape` (netem's pareto table is not centred; ours adds J on average).
//! - `shape`: the Pareto tail index α (default 3; smaller is heavier-tailed). α must exceed 1.
//! - `correlation` (C): 0..1. X = C·X_prev + (1−C)·fresh. netem applies C to the uniform
//!   source before its distribution table, which is known not to give the stated correlation;
//!   ours correlates the delays themselves, so C is the lag-1 autocorrelation of X.
//! - `keep_order`: when true (default) a packet never overtakes the one sent before it: it
//!   leaves no earlier than its predecessor. netem reorders instead (its queue sorts by time to
//!   send); `keep_order: false` does the same.
//!
//! A negative total delay counts as zero, as in netem: a packet never arrives before it was
//! sent. With a symmetric distribution whose spread is large beside `delay`, that truncation
//! raises the mean delay above `delay`; [`Jitter::truncated_mean`] computes by how much, and
//! validation warns when it exceeds 5%. Holding packets in order raises it further.

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

    /// The mean delay packets see with a base of `delay` ns once negative delays count as
    /// zero, E[max(0, delay + X)], with X from the stationary distribution of the draws (the
    /// correlation narrows it by √((1−C)/(1+C)); exact for Normal, close for Uniform). Holding
    /// packets in order is not counted. Pareto draws are never negative.
    pub fn truncated_mean(spec: &JitterSpec, delay: f64) -> f64 {
        let c = spec.correlation.clamp(0.0, 1.0);
        let scale = spec.amount.0 as f64 * ((1.0 - c) / (1.0 + c)).sqrt();
        match spec.distribution {
            _ if scale <= 0.0 => delay,
            JitterDistribution::Pareto => delay + spec.amount.0 as f64,
            JitterDistribution::Uniform if scale <= delay => delay,
            JitterDistribution::Uniform => (delay + scale).powi(2) / (4.0 * scale),
            JitterDistribution::Normal => {
                let z = delay / scale;
                let pdf = (-z * z / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
                delay * normal_cdf(z) + scale * pdf
            }
        }
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

/// Φ(z) of the standard normal, from erfc by Abramowitz and Stegun 7.1.26 (error below
/// 1.5·10⁻⁷).
fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-x * x).exp();
    if z >= 0.0 {
        1.0 - erfc / 2.0
    } else {
        erfc / 2.0
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

    #[test]
    fn truncated_mean_matches_the_draws_cut_at_zero() {
        // Delay 1 ms with jitter of 2 ms: E[max(0, 1 ms + X)] by formula and by sampling.
        for (distribution, correlation) in [
            (JitterDistribution::Normal, 0.0),
            (JitterDistribution::Normal, 0.5),
            (JitterDistribution::Uniform, 0.0),
            (JitterDistribution::Pareto, 0.0),
        ] {
            let s = JitterSpec {
                correlation,
                ..spec(distribution)
            };
            let mut j = Jitter::new(s.clone());
            let mut rng = component_rng(1, "jitter-test");
            let n = 400_000;
            let sampled = (0..n)
                .map(|_| (1e6 + j.draw(&mut rng)).max(0.0))
                .sum::<f64>()
                / n as f64;
            let formula = Jitter::truncated_mean(&s, 1e6);
            assert!(
                (formula / sampled - 1.0).abs() < 0.01,
                "{distribution:?} c={correlation}: {formula} vs {sampled}"
            );
        }
        // The case: 1 ms with a normal s.d. of 5 ms averages 2.53 ms.
        let wide = JitterSpec {
            amount: Duration::from_millis(5),
            ..spec(JitterDistribution::Normal)
        };
        assert!((Jitter::truncated_mean(&wide, 1e6) / 2.534e6 - 1.0).abs() < 1e-3);
    }
}
