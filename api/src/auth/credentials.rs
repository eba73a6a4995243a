//! Secrets handed to clients: API keys (`bcw_…`) and refresh tokens (`bcr_…`). Both are 192
//! random bits, shown once and stored as SHA-256 (a fast hash is right for high-entropy
//! secrets; passwords get Argon2id instead).

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const KEY_PREFIX: &str = "bcw_";
pub const REFRESH_PREFIX: &str = "bcr_";

fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// A new API key: `bcw_` and 48 hex digits.
pub fn generate_key() -> String {
    random_secret(KEY_PREFIX)
}

/// A new refresh token: `bcr_` and 48 hex digits.
pub fn generate_refresh_token() -> String {
    random_secret(REFRESH_PREFIX)
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The first characters of a key, safe to display so users can tell keys apart.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(KEY_PREFIX.len() + 8).collect()
}

/// Whether two secrets (or their hashes) are equal, in time independent of where they differ.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_hash_stably() {
        let a = generate_key();
        let b = generate_key();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 48);
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_eq!(hash_secret(&a).len(), 64);
        assert!(display_prefix(&a).starts_with("bcw_"));
        assert!(generate_refresh_token().starts_with("bcr_"));
        assert!(secrets_equal(&hash_secret(&a), &hash_secret(&a)));
        assert!(!secrets_equal(&hash_secret(&a), &hash_secret(&b)));
        assert!(!secrets_equal("abc", "abcd"));
    }
}
