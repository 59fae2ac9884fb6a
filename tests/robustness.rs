//! Never a panic, on any input: mutated lab files either load or give an error, and those that
//! load run (briefly) without panicking.

mod common;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// Deletes, duplicates or replaces a short span of `text`, on character boundaries.
fn mutate(text: &str, rng: &mut ChaCha8Rng) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = rng.random_range(0..chars.len());
    let len = rng.random_range(1..=12).min(chars.len() - at);
    let mut out: Vec<char> = chars[..at].to_vec();
    match rng.random_range(0..4) {
        0 => {}
        1 => out.extend_from_slice(&chars[at..at + len]),
        2 => out.extend(std::iter::repeat_n(
            ['0', '9', '"', ',', ')', '(', '-', '.', 'x'][rng.random_range(0..9)],
            len,
        )),
        _ => {
            out.extend_from_slice(&chars[at..at + len]);
            out.extend_from_slice(&chars[at..at + len]);
        }
    }
    let rest = if rng.random_bool(0.5) { at + len } else { at };
    out.extend_from_slice(&chars[rest..]);
    out.into_iter().collect()
}

#[test]
fn mutated_labs_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (mut loaded, mut rejected, mut ran) = (0, 0, 0);
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for _ in 0..150 {
            let broken = mutate(&text, &mut rng);
            let result =
                std::panic::catch_unwind(|| hybridlab::lab::load_str(&broken, Path::new("m.ron")));
            let Ok(result) = result else {
                panic!("loading panicked on:\n{broken}");
            };
            match result {
                Err(e) => {
                    rejected += 1;
                    assert!(!e.to_string().is_empty());
                }
                Ok(mut lab) => {
                    loaded += 1;
                    if ran < 400 {
                        ran += 1;
                        lab.duration = lab.duration.min(1_000_000_000);
                        for a in &mut lab.apps {
                            a.stop = a.stop.min(lab.duration);
                            a.start = a.start.min(a.stop.saturating_sub(1));
                        }
                        let run =
                            std::panic::catch_unwind(|| hybridlab::sim::run(&lab).summary(None));
                        assert!(run.is_ok(), "running panicked on:\n{broken}");
                    }
                }
            }
        }
    }
    eprintln!("loaded {loaded}, rejected {rejected}, ran {ran}");
    assert!(
        loaded > 0 && rejected > 0,
        "loaded {loaded}, rejected {rejected}"
    );
}
