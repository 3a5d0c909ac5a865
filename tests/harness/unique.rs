//! Unique, unpredictable-enough tokens for test names and passwords.
//!
//! Not cryptographic: it mixes the process id, the time, a counter and std's randomly seeded
//! hasher, which is enough to keep parallel test runs (and reruns against a shared external
//! account) from colliding.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh 64-bit random-looking number (different on every call).
pub fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    hasher.write_u128(nanos);
    hasher.finish()
}

/// A fresh token of `len` lowercase hex digits (1..=16), e.g. `"3fa9c2"`.
pub fn token(len: usize) -> String {
    let len = len.clamp(1, 16);
    let hex = format!("{:016x}", random_u64());
    hex[..len].to_string()
}

/// A folder name unique to this call: `cfimap-test-<10 hex digits>`.
pub fn scratch_name() -> String {
    format!("cfimap-test-{}", token(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ() {
        assert_ne!(token(12), token(12));
        assert_eq!(token(6).len(), 6);
        assert!(scratch_name().starts_with("cfimap-test-"));
    }
}
