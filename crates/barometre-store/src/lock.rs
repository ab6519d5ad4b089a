//! One change of a workspace at a time, for engines without transactions.
//!
//! ClickHouse takes an import's rows and facts as written, then makes them visible by a row in
//! `imports`. Two imports of one workspace that ran together would each compute facts without
//! the other's rows, and the one committed last would be taken as current: figures that miss
//! rows, silently. So an import or a correction first takes the workspace's lock from the
//! control plane, which every process sharing that control plane sees: an advisory lock on
//! PostgreSQL, a file lock in a folder beside the SQLite accounts' store.

use crate::StoreError;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::{Condvar, Mutex, PoisonError};

/// A workspace's lock, held until dropped ([`crate::ControlPlane::lock_workspace`]).
#[must_use = "the lock is released when dropped"]
pub struct WorkspaceLock<'a>(Box<dyn Held + 'a>);

impl<'a> WorkspaceLock<'a> {
    pub(crate) fn holding(what: impl Held + 'a) -> WorkspaceLock<'a> {
        WorkspaceLock(Box::new(what))
    }

    /// Whether the lock is still held: an error when it was lost on the way (PostgreSQL's
    /// advisory lock goes with its connection, and a server restarted or a connection cut
    /// releases it, unseen, to whoever waits). An import, a label correction or a knowledge base
    /// checks it just before it commits: past a lost lock another change may have run alongside,
    /// and its facts could miss those rows. (A loss between the check and the commit is left to
    /// the commit's own check of the last version.)
    pub fn check(&mut self) -> Result<(), StoreError> {
        self.0.check()
    }
}

/// What holds a lock.
pub(crate) trait Held: Send {
    /// An error when the lock was lost; held by this process alone, a lock cannot be.
    fn check(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

impl Held for LocalHeld<'_> {}

impl Held for std::fs::File {}

/// The number a workspace's lock is known by: the same in every process and release (the
/// first bytes of a SHA-256 of its name), positive, below 2^62.
pub(crate) fn key(ws: &str) -> i64 {
    let d = Sha256::digest(format!("barometre workspace lock\u{1f}{ws}").as_bytes());
    (u64::from_le_bytes(d[..8].try_into().expect("8 bytes")) >> 2) as i64
}

/// Locks held in this process only (a store no other process can open: in memory).
#[derive(Default)]
pub(crate) struct Local {
    held: Mutex<HashSet<String>>,
    freed: Condvar,
}

struct LocalHeld<'a> {
    of: &'a Local,
    ws: String,
}

impl Drop for LocalHeld<'_> {
    fn drop(&mut self) {
        self.of.held.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.ws);
        self.of.freed.notify_all();
    }
}

impl Local {
    pub(crate) fn lock(&self, ws: &str) -> WorkspaceLock<'_> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        while held.contains(ws) {
            held = self.freed.wait(held).unwrap_or_else(PoisonError::into_inner);
        }
        held.insert(ws.to_string());
        WorkspaceLock::holding(LocalHeld { of: self, ws: ws.to_string() })
    }
}

/// Takes the workspace's lock in the folder `dir` (made if missing), waiting for it: a lock
/// on the file named by [`key`] there. The system ties such a lock to the opened file, so two
/// threads of one process exclude each other as two processes do, and it goes with the file's
/// closing: a process that dies holds nothing.
pub(crate) fn file_lock(dir: &std::path::Path, ws: &str) -> Result<WorkspaceLock<'static>, StoreError> {
    let failed = |e: std::io::Error| StoreError::Backend {
        engine: "SQLite",
        message: format!("cannot lock workspace `{ws}` in {}: {e}", dir.display()),
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(format!("{:016x}", key(ws))))
        .map_err(failed)?;
    f.lock().map_err(failed)?;
    Ok(WorkspaceLock::holding(f))
}
