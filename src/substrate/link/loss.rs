//! Packet loss on a link direction.
//!
//! - `Bernoulli(p)`: each packet is lost independently with probability p.
//! - `GilbertElliott(p, r, loss_bad, loss_good)`: netem's four-parameter burst model. A two-state
//!   Markov chain moves good→bad with probability `p` and bad→good with probability `r` at each
//!   packet; a packet is then lost with probability `loss_bad` (netem's 1−h, default 1) in the bad
//!   state and `loss_good` (netem's 1−k, default 0) in the good state. With the defaults the mean
//!   burst of consecutive losses is 1/r packets and the long-run loss rate is p/(p+r).

use crate::rng::Rng;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
pub enum LossSpec {
    #[default]
    None,
    Bernoulli(f64),
    GilbertElliott {
        p: f64,
        r: f64,
        #[serde(default = "one")]
        loss_bad: f64,
        #[serde(default)]
        loss_good: f64,
    },
}

fn one() -> f64 {
    1.0
}

impl LossSpec {
    /// The probabilities this model holds, named as in the lab file, for validation.
    pub fn probabilities(&self) -> Vec<(&'static str, f64)> {
        match *self {
            LossSpec::None => vec![],
            LossSpec::Bernoulli(p) => vec![("loss", p)],
            LossSpec::GilbertElliott {
                p,
                r,
                loss_bad,
                loss_good,
            } => vec![
                ("p", p),
                ("r", r),
                ("loss_bad", loss_bad),
                ("loss_good", loss_good),
            ],
        }
    }
}

/// The running state of one direction's loss model.
#[derive(Debug, Clone)]
pub struct Loss {
    spec: LossSpec,
    bad: bool,
}

impl Loss {
    pub fn new(spec: LossSpec) -> Self {
        Loss { spec, bad: false }
    }

    /// Decides the fate of one packet. Draws nothing when the model is `None`, so a lossless
    /// link consumes no randomness.
    pub fn lose(&mut self, rng: &mut Rng) -> bool {
        match self.spec {
            LossSpec::None => false,
            LossSpec::Bernoulli(p) => rng.random::<f64>() < p,
            LossSpec::GilbertElliott {
                p,
                r,
                loss_bad,
                loss_good,
            } => {
                let flip = rng.random::<f64>();
                self.bad = if self.bad { flip >= r } else { flip < p };
                let threshold = if self.bad { loss_bad } else { loss_good };
                rng.random::<f64>() < threshold
            }
        }
    }
}
