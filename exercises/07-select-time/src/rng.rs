//! A small, seeded random-number generator for the jitter of
//! [`retry`](crate::retry). It is given: use it, do not change it. The reference
//! solution uses this very file, through `#[path]`.
//!
//! It is SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit counter run
//! through a mixing function. Good enough to spread retries apart, not for
//! anything that must be unpredictable (keys, tokens, passwords).

/// A deterministic source of pseudo-random numbers: the same seed always
/// gives the same sequence.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The next number of the sequence, uniform over all `u64`s.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number from `0` to `max`, both included. (The remainder makes small
    /// numbers a tiny bit more likely when `max` is huge; for jitter that
    /// does not matter.)
    pub fn up_to(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            Some(range) => self.next_u64() % range,
            None => self.next_u64(),
        }
    }
}
