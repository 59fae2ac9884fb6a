//! Per-component random streams.
//!
//! Every random component (a link direction's loss and jitter, a host's TCP initial sequence
//! numbers) owns a ChaCha stream keyed by the lab seed and selected by a hash of the component's
//! stable name. Adding or removing a component therefore never shifts another component's draws.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random generator every component uses.
pub type Rng = ChaCha8Rng;

/// FNV-1a, 64 bit: a stable hash (unlike `std`'s `DefaultHasher`, which may change between Rust
/// releases) used for stream selection and flow hashing.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The stream of the component called `name` in a lab run with `seed`.
pub fn component_rng(seed: u64, name: &str) -> Rng {
    let mut rng = Rng::seed_from_u64(seed);
    rng.set_stream(fnv1a(name.as_bytes()));
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    #[test]
    fn streams_depend_only_on_seed_and_name() {
        let a: u64 = component_rng(7, "link:wan:a->b").random();
        let b: u64 = component_rng(7, "link:wan:a->b").random();
        let c: u64 = component_rng(7, "link:lan:a->b").random();
        let d: u64 = component_rng(8, "link:wan:a->b").random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }
}
