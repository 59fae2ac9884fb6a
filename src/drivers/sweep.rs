//! Sweeps: a lab run over seeds and over values of its parameters, every combination of them,
//! in parallel, each combination's runs merged ([`Aggregate`]).
//!
//! The runs are independent and each is deterministic; results are gathered in the order of
//! the plan and merged in seed order, so the output is the same bytes for any number of
//! threads.

use crate::analysis::aggregate::Aggregate;
use crate::analysis::Summarize;
use crate::lab::overrides::Override;
use crate::lab::LabError;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One swept parameter: a path and the values it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    pub path: String,
    pub values: Vec<String>,
}

impl std::str::FromStr for Axis {
    type Err = String;

    /// `PATH=V1,V2,...`; commas inside parentheses, brackets or quotes belong to a value.
    fn from_str(s: &str) -> Result<Self, String> {
        let (path, values) = s
            .split_once('=')
            .ok_or_else(|| format!("--set {s}: expected PATH=V1,V2,..."))?;
        let values = split_top_level(values);
        if values.iter().any(|v| v.trim().is_empty()) {
            return Err(format!("--set {s}: a value is empty"));
        }
        Ok(Axis {
            path: path.trim().to_string(),
            values: values.into_iter().map(|v| v.trim().to_string()).collect(),
        })
    }
}

fn split_top_level(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut quoted, mut start) = (Vec::new(), 0i32, false, 0);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' | '[' | '{' if !quoted => depth += 1,
            ')' | ']' | '}' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Seeds written as `1..=100`, `1..101`, `7` or `1,5,9`.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>, String> {
    let bad = || format!("--seeds {s}: expected A..=B, A..B, N or N,M,...");
    let num = |t: &str| t.trim().parse::<u64>().map_err(|_| bad());
    let seeds: Vec<u64> = if let Some((a, b)) = s.split_once("..=") {
        (num(a)?..=num(b)?).collect()
    } else if let Some((a, b)) = s.split_once("..") {
        (num(a)?..num(b)?).collect()
    } else {
        s.split(',').map(num).collect::<Result<_, _>>()?
    };
    let mut sorted = seeds.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if seeds.is_empty() {
        return Err(format!("--seeds {s}: no seeds"));
    }
    if sorted.len() != seeds.len() {
        return Err(format!("--seeds {s}: a seed is given twice"));
    }
    Ok(sorted)
}

/// What to run: every combination of the axes' values (the first axis varying slowest), each
/// with every seed.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seeds: Vec<u64>,
    pub axes: Vec<Axis>,
    /// `Some((k, n))`: run only part k of n (1-based), every n-th seed from the k-th, for
    /// every combination; [`merge_parts`] joins the parts.
    pub shard: Option<(usize, usize)>,
    /// Run only the first part of each run (as `--duration` does for one run), in ns.
    pub duration: Option<crate::substrate::engine::Time>,
    /// Refuse, before anything runs, a combination whose single run would cost more.
    pub budget: Option<crate::lab::budget::Budget>,
}

/// `K/N`, 1 <= K <= N.
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("--shard {s}: expected K/N with 1 <= K <= N, e.g. 3/8");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

impl Plan {
    /// The seeds this plan (or its shard) runs.
    pub fn seeds_here(&self) -> Vec<u64> {
        match self.shard {
            None => self.seeds.clone(),
            Some((k, n)) => self
                .seeds
                .iter()
                .enumerate()
                .filter(|(i, _)| i % n == k - 1)
                .map(|(_, &s)| s)
                .collect(),
        }
    }

    /// Each combination's overrides, in order.
    pub fn combinations(&self) -> Result<Vec<Vec<Override>>, String> {
        let mut combos: Vec<Vec<Override>> = vec![Vec::new()];
        for axis in &self.axes {
            let mut next = Vec::with_capacity(combos.len() * axis.values.len());
            for combo in &combos {
                for v in &axis.values {
                    let mut c = combo.clone();
                    c.push(format!("{}={v}", axis.path).parse()?);
                    next.push(c);
                }
            }
            combos = next;
        }
        Ok(combos)
    }
}

/// One combination's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Combination {
    /// Its overrides as `PATH=VALUE`; empty without axes.
    pub sets: Vec<String>,
    pub aggregate: Aggregate,
    /// How many of its runs met each of the lab's expectations.
    pub expectations: Vec<Tally>,
    /// Runs that met every expectation, and the fraction of runs that must (`expect_pass`).
    pub runs_meeting_all: u64,
    pub required_fraction: f64,
}

impl Combination {
    /// Whether enough of its runs met every expectation.
    pub fn passed(&self) -> bool {
        let runs = self.aggregate.seeds.len() as f64;
        self.runs_meeting_all as f64 >= self.required_fraction * runs - 1e-9
    }
}

/// One expectation over a combination's runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub expectation: String,
    pub met: u64,
    pub runs: u64,
    /// Runs that ended before the fault it is about (counted in `met`: they do not fail).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_reached: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Runs `plan` on the lab at `path` with `threads` workers (0: one per core), calling
/// `progress` after each run with the number finished. Every combination is validated first:
/// a value that breaks the lab stops the sweep before anything runs.
pub fn run(
    path: &Path,
    plan: &Plan,
    threads: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<Combination>, SweepError> {
    let combos = plan.combinations().map_err(SweepError::Usage)?;
    let seeds = plan.seeds_here();
    if seeds.is_empty() {
        return Err(SweepError::Usage(format!(
            "shard {:?} of {} seeds has none to run",
            plan.shard,
            plan.seeds.len()
        )));
    }
    let labs = combos
        .iter()
        .map(|sets| crate::input::prepare(path, sets, plan.duration, plan.budget.as_ref()))
        .collect::<Result<Vec<_>, LabError>>()?;
    let jobs: Vec<(usize, u64)> = (0..labs.len())
        .flat_map(|c| seeds.iter().map(move |&s| (c, s)))
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| SweepError::Usage(format!("cannot start {threads} threads: {e}")))?;
    let done = std::sync::atomic::AtomicUsize::new(0);
    type Run = (
        Aggregate,
        Vec<crate::analysis::expect::Outcome>,
        Option<String>,
    );
    let runs: Vec<Run> = pool.install(|| {
        jobs.par_iter()
            .map(|&(c, seed)| {
                let mut lab = labs[c].clone();
                lab.seed = seed;
                let results = crate::sim::run(&lab);
                let outcomes = crate::analysis::expect::check(&lab, &results.summary(None));
                let aggregate = Aggregate::of(&results);
                progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
                (aggregate, outcomes, results.stopped_because)
            })
            .collect()
    });
    // A run that stopped early measured only part of its time: no figure is merged from it.
    if let Some(((c, seed), why)) = jobs
        .iter()
        .zip(&runs)
        .find_map(|(job, run)| run.2.as_ref().map(|why| (job, why)))
    {
        let sets: Vec<String> = combos[*c].iter().map(|s| s.to_string()).collect();
        return Err(LabError::Stopped {
            path: path.to_path_buf(),
            message: format!(
                "the run with seed {seed}{} stopped early, so the sweep gives no figures: {why}",
                if sets.is_empty() {
                    String::new()
                } else {
                    format!(" and {}", sets.join(" "))
                }
            ),
        }
        .into());
    }
    let mut out = Vec::with_capacity(combos.len());
    let mut runs = runs.into_iter();
    for (sets, lab) in combos.iter().zip(&labs) {
        let mut merged: Option<Aggregate> = None;
        let mut tallies: Vec<Tally> = Vec::new();
        let mut runs_meeting_all = 0;
        for (run, outcomes, _) in runs.by_ref().take(seeds.len()) {
            match &mut merged {
                None => merged = Some(run),
                Some(m) => m.merge(&run).expect("runs of one combination always merge"),
            }
            if tallies.is_empty() {
                tallies = outcomes
                    .iter()
                    .map(|o| Tally {
                        expectation: o.expectation.clone(),
                        met: 0,
                        runs: 0,
                        not_reached: 0,
                    })
                    .collect();
            }
            for (t, o) in tallies.iter_mut().zip(&outcomes) {
                t.runs += 1;
                t.met += u64::from(o.passed);
                t.not_reached += u64::from(o.not_reached);
            }
            runs_meeting_all += u64::from(outcomes.iter().all(|o| o.passed));
        }
        out.push(Combination {
            sets: sets
                .iter()
                .map(|o| format!("{}={}", o.path.join("."), o.value))
                .collect(),
            aggregate: merged.expect("at least one seed"),
            expectations: tallies,
            runs_meeting_all,
            required_fraction: lab.expect_pass,
        });
    }
    Ok(out)
}

/// Joins the parts of a sharded sweep (each a `Vec<Combination>` as `run` returns it) into
/// what one machine would have produced.
pub fn merge_parts(parts: Vec<Vec<Combination>>) -> Result<Vec<Combination>, String> {
    let mut parts = parts.into_iter();
    let mut out = parts.next().ok_or("no parts to merge")?;
    for (p, part) in parts.enumerate() {
        if part.len() != out.len() {
            return Err(format!(
                "part {} has {} combinations, the first {}",
                p + 2,
                part.len(),
                out.len()
            ));
        }
        for (a, b) in out.iter_mut().zip(part) {
            if a.sets != b.sets || a.required_fraction != b.required_fraction {
                return Err(format!(
                    "part {} is of another sweep: {:?} against {:?}",
                    p + 2,
                    b.sets,
                    a.sets
                ));
            }
            a.aggregate
                .merge(&b.aggregate)
                .map_err(|e| format!("part {}: {e}", p + 2))?;
            if a.expectations.len() != b.expectations.len() {
                return Err(format!("part {} checks other expectations", p + 2));
            }
            for (x, y) in a.expectations.iter_mut().zip(&b.expectations) {
                x.met += y.met;
                x.runs += y.runs;
            }
            a.runs_meeting_all += b.runs_meeting_all;
        }
    }
    Ok(out)
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("{0}")]
    Lab(#[from] LabError),
    #[error("{0}")]
    Usage(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_and_axes_parse() {
        assert_eq!(parse_seeds("1..=4").unwrap(), [1, 2, 3, 4]);
        assert_eq!(parse_seeds("1..4").unwrap(), [1, 2, 3]);
        assert_eq!(parse_seeds("9,2").unwrap(), [2, 9]);
        assert!(parse_seeds("3..3").is_err());
        assert!(parse_seeds("2,2").is_err());
        assert!(parse_seeds("x").is_err());
        let a: Axis = "links.w.loss=Bernoulli(0.01),GilbertElliott(p: 0.001, r: 0.25)"
            .parse()
            .unwrap();
        assert_eq!(
            a.values,
            ["Bernoulli(0.01)", "GilbertElliott(p: 0.001, r: 0.25)"]
        );
        assert!("links.w.loss=1,,2".parse::<Axis>().is_err());
    }

    #[test]
    fn shards_split_the_seeds_without_overlap() {
        let plan = |shard| Plan {
            seeds: (1..=7).collect(),
            axes: vec![],
            shard,
            duration: None,
            budget: None,
        };
        assert_eq!(plan(Some((1, 3))).seeds_here(), [1, 4, 7]);
        assert_eq!(plan(Some((3, 3))).seeds_here(), [3, 6]);
        assert_eq!(plan(None).seeds_here().len(), 7);
        assert_eq!(parse_shard("2/4"), Ok((2, 4)));
        assert!(
            parse_shard("0/4").is_err() && parse_shard("5/4").is_err() && parse_shard("x").is_err()
        );
    }

    #[test]
    fn combinations_vary_the_first_axis_slowest() {
        let plan = Plan {
            seeds: vec![1],
            axes: vec!["a.x=1,2".parse().unwrap(), "b.y=3,4".parse().unwrap()],
            shard: None,
            duration: None,
            budget: None,
        };
        let combos: Vec<String> = plan
            .combinations()
            .unwrap()
            .iter()
            .map(|c| {
                c.iter()
                    .map(|o| o.value.clone())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(combos, ["1 3", "1 4", "2 3", "2 4"]);
    }
}
