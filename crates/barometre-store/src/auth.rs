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

/// 32 random bytes from the operating system, hex, with a recognisable prefix.
pub fn new_token() -> Result<String, StoreError> {
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| StoreError::Corrupt(format!("no randomness for a token: {e}")))?;
    Ok(format!("brm_{}", hex(&b)))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
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
}
