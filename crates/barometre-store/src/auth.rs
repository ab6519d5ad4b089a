//! API tokens: random, shown once, stored as SHA-256 hashes, each bound to one workspace and
//! one role.

use crate::StoreError;
use sha2::{Digest, Sha256};
use std::io::Read;

/// What a token may do: viewers read, analysts also import, admins everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Analyst,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        [Role::Viewer, Role::Analyst, Role::Admin].into_iter().find(|r| r.as_str() == s)
    }
}

/// A logged-in dashboard user.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user: String,
    pub workspace: String,
    pub role: Role,
    pub csrf: String,
}

/// What every token begins with.
pub const TOKEN_PREFIX: &str = "brm_";

/// Hex digits of a token's hash that name it in `admin token list` (the hash is one-way: the id
/// reveals nothing of the token).
pub const TOKEN_ID_LEN: usize = 12;

/// A stored token, as listed: never the token itself.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenInfo {
    pub id: String,
    pub workspace: String,
    pub role: Role,
    pub created_ms: i64,
    pub expires_ms: Option<i64>,
}

/// The id of a token whose SHA-256 hash is `hash`.
pub fn token_id(hash: &str) -> String {
    hash.chars().take(TOKEN_ID_LEN).collect()
}

/// A well-formed hash that matches no password, checked for unknown user names so that they take
/// as long to refuse as a wrong password does.
pub const UNKNOWN_USER_HASH: &str = "pbkdf2-sha256$600000$brm_7e1f0c0b8f1d4a4c9d6b5a3e2f1c0d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e$0000000000000000000000000000000000000000000000000000000000000000";

/// 32 random bytes from the operating system, hex, with a recognisable prefix.
pub fn new_token() -> Result<String, StoreError> {
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| StoreError::Corrupt(format!("no randomness for a token: {e}")))?;
    Ok(format!("{TOKEN_PREFIX}{}", hex(&b)))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// PBKDF2-HMAC-SHA256 iterations for new passwords (OWASP's figure for this hash).
pub const PASSWORD_ITERATIONS: u32 = 600_000;

/// `pbkdf2-sha256$ITERATIONS$SALT$HASH`, hex.
pub fn hash_password(password: &str, iterations: u32) -> Result<String, StoreError> {
    let salt = new_token()?;
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut out);
    Ok(format!("pbkdf2-sha256${iterations}${salt}${}", hex(&out)))
}

/// PBKDF2 rounds computed by [`verify_password`] since the process started: lets a test check
/// that an unknown user name costs as much as a wrong password, without timing anything.
pub static ROUNDS_CHECKED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Whether `password` matches a stored hash (compared in constant time).
pub fn verify_password(password: &str, stored: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    let [algo, iterations, salt, hash] = parts[..] else { return false };
    let Ok(iterations) = iterations.parse::<u32>() else { return false };
    if algo != "pbkdf2-sha256" {
        return false;
    }
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut out);
    ROUNDS_CHECKED.fetch_add(u64::from(iterations), std::sync::atomic::Ordering::Relaxed);
    let got = hex(&out);
    got.len() == hash.len() && got.bytes().zip(hash.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        // SHA-256("abc")
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("s3cret", 1000).unwrap();
        assert!(h.starts_with("pbkdf2-sha256$1000$"));
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("s3cret ", &h));
        assert!(!verify_password("s3cret", "garbage"));
    }

    #[test]
    fn the_unknown_user_hash_costs_a_real_check_and_matches_nothing() {
        assert!(UNKNOWN_USER_HASH.starts_with(&format!("pbkdf2-sha256${PASSWORD_ITERATIONS}$")));
        assert!(!verify_password("", UNKNOWN_USER_HASH));
        assert!(!verify_password("demo-barometre", UNKNOWN_USER_HASH));
    }
}
