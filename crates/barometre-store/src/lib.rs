//! Storage for Baromètre: the [`Store`] trait, the embedded SQLite back end, and the
//! conformance suite every back end must pass.
//!
//! A store keeps rows (keyed by id, so importing twice changes nothing) and the clock's facts
//! (recomputed in the same transaction as the rows they come from, so a killed import leaves
//! both as they were).

/// `impl ControlPlane for $store`, every account operation handed to its field `$accounts` (a
/// store whose users, sessions and tokens are all another control plane's).
macro_rules! accounts_in {
    ($store:ty, $accounts:ident) => {
        impl $crate::ControlPlane for $store {
            fn known_workspaces(&self) -> Result<Vec<String>, $crate::StoreError> {
                $crate::ControlPlane::known_workspaces(&*self.$accounts)
            }
            fn create_token(
                &mut self,
                workspace: &str,
                role: $crate::auth::Role,
                expires_ms: Option<barometre_core::time::Millis>,
            ) -> Result<String, $crate::StoreError> {
                self.$accounts.create_token(workspace, role, expires_ms)
            }
            fn token(&self, token: &str) -> Result<Option<(String, $crate::auth::Role)>, $crate::StoreError> {
                self.$accounts.token(token)
            }
            fn tokens(&self) -> Result<Vec<$crate::auth::TokenInfo>, $crate::StoreError> {
                self.$accounts.tokens()
            }
            fn revoke_token(&mut self, token_or_id: &str) -> Result<u64, $crate::StoreError> {
                self.$accounts.revoke_token(token_or_id)
            }
            fn set_password(&mut self, name: &str, password_hash: &str) -> Result<bool, $crate::StoreError> {
                self.$accounts.set_password(name, password_hash)
            }
            fn create_user(
                &mut self,
                name: &str,
                workspace: &str,
                role: $crate::auth::Role,
                password_hash: &str,
            ) -> Result<(), $crate::StoreError> {
                self.$accounts.create_user(name, workspace, role, password_hash)
            }
            fn user(&self, name: &str) -> Result<Option<(String, $crate::auth::Role, String)>, $crate::StoreError> {
                self.$accounts.user(name)
            }
            fn login(
                &self,
                name: &str,
                password: &str,
            ) -> Result<Option<(String, $crate::auth::Role)>, $crate::StoreError> {
                self.$accounts.login(name, password)
            }
            fn create_session(
                &mut self,
                user: &str,
                ttl_ms: barometre_core::time::Millis,
            ) -> Result<(String, String), $crate::StoreError> {
                self.$accounts.create_session(user, ttl_ms)
            }
            fn session(&self, id: &str) -> Result<Option<$crate::auth::Session>, $crate::StoreError> {
                self.$accounts.session(id)
            }
            fn end_session(&mut self, id: &str) -> Result<(), $crate::StoreError> {
                self.$accounts.end_session(id)
            }
            fn create_workspace(&mut self, name: &str) -> Result<bool, $crate::StoreError> {
                self.$accounts.create_workspace(name)
            }
            fn lock_workspace(&self, ws: &str) -> Result<$crate::WorkspaceLock<'_>, $crate::StoreError> {
                self.$accounts.lock_workspace(ws)
            }
        }
    };
}

#[cfg(test)]
mod agreement;
pub mod auth;
mod chunks;
pub mod clickhouse;
pub mod conformance;
mod keyed;
mod lock;
mod patch;
pub mod pg;
pub mod pg_data;
mod rows;
mod split;
mod sqlite;
pub mod summary;

pub use lock::WorkspaceLock;

use barometre_core::clock::Facts;
use barometre_core::config::Config;
use barometre_core::ingest::{Located, RowError};
use barometre_core::model::{ConversationEvent, Message};
use barometre_core::report::Records;
use barometre_core::table::FactTable;
use barometre_core::time::Millis;

pub use split::{Split, SplitOpener};
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The back end failed (its own words): no type of a back end's crate in the traits, so that
    /// another engine implements them with its own errors.
    #[error("database: {message}")]
    Backend { engine: &'static str, message: String },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Rows read without error.
    pub rows: u64,
    /// New ids stored.
    pub inserted: u64,
    /// Known ids whose content changed (the new version replaces the old).
    pub updated: u64,
    /// Known ids with the same content, and repeats within the import.
    pub unchanged: u64,
    /// The first rows refused ([`REJECTED_KEPT`] at most), each with its reason; every one is
    /// also handed to the import's [`ImportSink`] as it is found.
    pub rejected: Vec<RowError>,
    /// How many rows were refused in all.
    pub rejected_count: u64,
    /// `out` messages taken that name no conversation, reply chain or customer: kept, but joined
    /// to nothing (the import announces them; see `ingest::unattached`).
    pub unattached: u64,
    /// Whether the import was applied (`false`: strict mode saw a bad row, nothing was taken).
    pub committed: bool,
}

/// Refused rows a summary keeps (the rest are counted): an import's memory does not grow with
/// its bad rows.
pub const REJECTED_KEPT: usize = 1_000;

/// Characters of a kept refused row's reason, at most.
pub const REASON_KEPT_CHARS: usize = 300;

/// Where an import reports as it goes: rows read so far, and each refused row when it is found
/// (so that a caller can print or count them without the store keeping them all).
pub trait ImportSink {
    fn progress(&mut self, _rows_read: u64) {}
    fn rejected(&mut self, _error: &RowError) {}
    /// A phase of the import ended (`BAROMETRE_TIMINGS` prints how long each took).
    fn phase(&mut self, _done: &str) {}
    /// Something `BAROMETRE_TIMINGS` prints beside the phases (where a file was cut).
    fn note(&mut self, _what: &str) {}
    /// Called just before an import that takes its rows in steps (ClickHouse) makes them
    /// visible: an error stops it there, nothing of it taken. What a caller holding the
    /// workspace's lock outside the store ([`Split`]) checks that lock with.
    fn before_commit(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Reports nothing.
impl ImportSink for () {}

/// The phase an import names when its rows are read and stored (facts come next).
pub const ROWS_STORED: &str = "rows read and stored";

impl ImportSummary {
    /// Records a refused row: handed to the sink, kept while fewer than [`REJECTED_KEPT`] are.
    pub fn reject(&mut self, e: RowError, sink: &mut dyn ImportSink) {
        sink.rejected(&e);
        self.rejected_count += 1;
        if self.rejected.len() < REJECTED_KEPT {
            self.rejected.push(kept(e));
        }
    }

    /// [`ImportSummary::reject`] of a row refused after rows further in its file (a repeated id
    /// found once the whole file is read): kept in its line's place, so that the rows kept are
    /// still the file's first refused ones.
    pub fn reject_in_line_order(&mut self, e: RowError, sink: &mut dyn ImportSink) {
        sink.rejected(&e);
        self.rejected_count += 1;
        let at = self.rejected.partition_point(|r| r.file != e.file || r.line <= e.line);
        if at < REJECTED_KEPT {
            self.rejected.insert(at, kept(e));
            self.rejected.truncate(REJECTED_KEPT);
        }
    }
}

/// A refused row as a summary keeps it: a reason echoes the bad cell, so kept ones are cut, and
/// 1,000 of them stay small whatever the cells hold (the sink saw it whole).
fn kept(mut e: RowError) -> RowError {
    if let Some((cut, _)) = e.reason.char_indices().nth(REASON_KEPT_CHARS) {
        e.reason.truncate(cut);
        e.reason.push('…');
    }
    e
}

/// What a report that reads no message itself needs of the messages and conversations
/// ([`DataStore::table_covering`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Covering {
    /// The report's period: chunks of messages wholly inside it may be read as their covers.
    pub within: (Option<Millis>, Option<Millis>),
    /// Whether the report reads conversations
    /// ([`barometre_core::report::reads_conversations`]); when not, they may be left out.
    pub conversations: bool,
}

impl Covering {
    /// What the report of `p` needs.
    pub fn of(cfg: &Config, p: &barometre_core::report::Params) -> Covering {
        Covering { within: (p.from, p.to), conversations: barometre_core::report::reads_conversations(cfg, p) }
    }
}

/// The rows a workspace imported and the clock's facts derived from them: what every report and
/// drill-down reads. Every back end passes the conformance suite ([`conformance`]).
pub trait DataStore {
    /// Imports every record of `records` in one transaction: valid rows are kept and each bad row
    /// reported; with `strict`, one bad row means nothing is kept. The clock's facts are
    /// recomputed before the transaction commits.
    /// Whether changes of a workspace must hold its lock from the control plane
    /// ([`ControlPlane::lock_workspace`]): an engine without transactions (ClickHouse).
    fn changes_need_a_lock(&self) -> bool {
        false
    }

    fn import(
        &mut self,
        workspace: &str,
        cfg: &Config,
        strict: bool,
        records: &mut dyn Iterator<Item = Result<Located, RowError>>,
        sink: &mut dyn ImportSink,
    ) -> Result<ImportSummary, StoreError>;

    /// Imports one canonical CSV file of messages (see
    /// [`barometre_core::ingest::source::reads_plainly`]) read in two parts on two cores, cut at
    /// `cut` after the header that ends at `header_end` (see
    /// [`barometre_core::oneshot::split_point`]): the same rows, refusals and facts as
    /// [`DataStore::import`] of that file. `progress` is told of bytes read. `None`, with nothing
    /// done: this store, or this workspace, takes the file through [`DataStore::import`] (by
    /// default, every store; the embedded store takes it into an empty workspace).
    #[allow(clippy::too_many_arguments)]
    fn import_in_halves(
        &mut self,
        workspace: &str,
        cfg: &Config,
        strict: bool,
        input: &barometre_core::ingest::source::Input,
        (header_end, cut): (u64, u64),
        progress: &(dyn Fn(u64) + Sync),
        sink: &mut dyn ImportSink,
    ) -> Result<Option<ImportSummary>, StoreError> {
        let _ = (workspace, cfg, strict, input, header_end, cut, progress, sink);
        Ok(None)
    }

    /// The compact facts reports aggregate, whose instant lies in `[from, to)`.
    fn table(
        &self,
        workspace: &str,
        cfg: &Config,
        from: Option<Millis>,
        to: Option<Millis>,
    ) -> Result<FactTable, StoreError>;

    /// [`DataStore::table`] for a report that reads no message itself
    /// ([`barometre_core::report::reads_messages`]) over the period `cover.within`: a store may
    /// give, for chunks of messages wholly inside it, one row per account, channel, agent and
    /// team instead of every message ([`FactTable::unattached_covered`]), and no conversation
    /// when the report reads none (`cover.conversations`). The report is the same; by default,
    /// the whole table.
    fn table_covering(
        &self,
        workspace: &str,
        cfg: &Config,
        from: Option<Millis>,
        to: Option<Millis>,
        cover: Covering,
    ) -> Result<FactTable, StoreError> {
        let _ = cover;
        self.table(workspace, cfg, from, to)
    }

    /// Facts whose instant lies in `[from, to)` (open ends: all). When `cfg` would place messages
    /// differently from the stored facts (another session gap or signature), they are recomputed.
    fn facts(
        &self,
        workspace: &str,
        cfg: &Config,
        from: Option<Millis>,
        to: Option<Millis>,
    ) -> Result<Facts, StoreError>;

    /// Queued contacts, posts and reviews in `[from, to)`, and every survey answer and invitation
    /// whatever the period: an invitation of the period is answered by an answer that may come
    /// after it, and an answer of the period is credited through an invitation sent before it
    /// (METRICS §1 attribution). Reports and drill-downs keep each record of their own period.
    fn records(&self, workspace: &str, from: Option<Millis>, to: Option<Millis>) -> Result<Records, StoreError>;

    /// [`Store::records`] with the conversations' first agents that credit answers and reviews
    /// tied to a conversation but to no agent (what reports and drill-downs both need).
    fn records_credited(
        &self,
        workspace: &str,
        cfg: &Config,
        from: Option<Millis>,
        to: Option<Millis>,
    ) -> Result<Records, StoreError> {
        let mut rec = self.records(workspace, from, to)?;
        rec.credit_conversations(|| self.facts(workspace, cfg, None, None).map(|f| f.first_agents()))?;
        Ok(rec)
    }

    /// The facts of one conversation.
    fn conversation_facts(&self, workspace: &str, cfg: &Config, conversation_id: &str) -> Result<Facts, StoreError>;

    /// Every stored row of a workspace.
    fn rows(&self, workspace: &str) -> Result<(Vec<Message>, Vec<ConversationEvent>), StoreError>;

    /// Stored message rows by id.
    fn messages_by_id(&self, workspace: &str, ids: &[String]) -> Result<Vec<Message>, StoreError>;

    fn workspaces(&self) -> Result<Vec<String>, StoreError>;

    /// Every mystery-shopper probe of a workspace.
    fn probes(&self, workspace: &str) -> Result<Vec<barometre_core::model::Probe>, StoreError>;

    /// A number that changes whenever a workspace's data may have (every import): caches of
    /// computed reports are keyed by it.
    fn version(&self, workspace: &str) -> Result<i64, StoreError>;

    /// Sets (or, with `None`, removes) an analyst's label for an incoming message, and
    /// recomputes the workspace's facts: the label then counts in every figure, wins over the
    /// row's `kind` and over the text, and survives re-imports of the row. `false` when the
    /// workspace has no incoming message of that id.
    fn correct_label(
        &mut self,
        workspace: &str,
        cfg: &Config,
        message_id: &str,
        label: Option<barometre_core::understand::Label>,
        by: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.correct_label_with(workspace, cfg, message_id, label, by, &mut ())
    }

    /// [`DataStore::correct_label`], telling `sink` its phases and asking
    /// [`ImportSink::before_commit`] before the change is committed (what [`Split`] checks the
    /// workspace's lock with). A store that commits in one transaction asks it first: it then
    /// takes the change whole or not at all.
    fn correct_label_with(
        &mut self,
        workspace: &str,
        cfg: &Config,
        message_id: &str,
        label: Option<barometre_core::understand::Label>,
        by: Option<&str>,
        sink: &mut dyn ImportSink,
    ) -> Result<bool, StoreError>;

    /// The analyst's labels of a workspace, by message id.
    fn corrections(&self, workspace: &str) -> Result<Vec<Correction>, StoreError>;

    /// Replaces a workspace's knowledge base with `entries` (a FAQ file is the whole base; none:
    /// removes it), matches every incoming message against it and recomputes the facts: the
    /// matches count in `faq_answerable_questions` and survive re-imports of the rows. Importing
    /// the same entries again changes nothing.
    fn import_faq(
        &mut self,
        workspace: &str,
        cfg: &Config,
        entries: &[barometre_core::understand::faq::Entry],
    ) -> Result<FaqSummary, StoreError> {
        self.import_faq_with(workspace, cfg, entries, &mut ())
    }

    /// [`DataStore::import_faq`], with `sink` as in [`DataStore::correct_label_with`].
    fn import_faq_with(
        &mut self,
        workspace: &str,
        cfg: &Config,
        entries: &[barometre_core::understand::faq::Entry],
        sink: &mut dyn ImportSink,
    ) -> Result<FaqSummary, StoreError>;

    /// A workspace's knowledge base, in its file's order.
    fn faq(&self, workspace: &str) -> Result<Vec<barometre_core::understand::faq::Entry>, StoreError>;

    /// How many threads look rows up and write them during the next imports, where the back end
    /// can take writes in parallel (ClickHouse); `false` where it cannot (SQLite has one writer,
    /// and reads a big file on every core already).
    fn set_import_workers(&mut self, _workers: usize) -> bool {
        false
    }

    /// The request figures of [`summary::Summary`], by `by` ([`summary::BY`]) over `[from, to)`:
    /// aggregated by the engine where it can (ClickHouse), else from the facts here.
    fn request_summary(
        &self,
        workspace: &str,
        cfg: &Config,
        from: Option<Millis>,
        to: Option<Millis>,
        by: Option<&str>,
    ) -> Result<Vec<summary::Summary>, StoreError> {
        let t = self.table(workspace, cfg, from, to)?;
        Ok(summary::Summary::from_table(&t, from, to, by))
    }
}

/// What a knowledge base's import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaqSummary {
    pub entries: u64,
    /// Whether the base differs from the one stored before (then messages were matched again).
    pub changed: bool,
    /// Incoming messages an entry answers, whatever their label.
    pub matched_messages: u64,
    /// Of those, the messages labelled as questions: what `faq_answerable_questions` counts.
    pub answerable_questions: u64,
}

impl FaqSummary {
    /// What a knowledge base's import did, counted on the facts as the report counts them (a
    /// corrected label included).
    pub fn counted(entries: usize, changed: bool, t: &FactTable) -> FaqSummary {
        let matched = t.msgs.iter().filter(|m| m.faq != 0);
        FaqSummary {
            entries: entries as u64,
            changed,
            matched_messages: matched.clone().count() as u64,
            answerable_questions: matched.filter(|m| m.asks()).count() as u64,
        }
    }
}

/// An analyst's label for a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    pub message_id: String,
    pub label: barometre_core::understand::Label,
    pub by: Option<String>,
    pub at_ms: Millis,
}

/// Workspaces, users, sessions and tokens: who may see and do what. Apart from the facts, so that
/// a deployment may keep them in another engine than its facts (a ClickHouse cluster's facts, a
/// small database's accounts).
pub trait ControlPlane {
    /// A new API token for a workspace and role, valid until `expires_ms` (`None`: until
    /// revoked); only its hash is kept, the token is shown once.
    fn create_token(
        &mut self,
        workspace: &str,
        role: auth::Role,
        expires_ms: Option<Millis>,
    ) -> Result<String, StoreError>;

    /// The workspace and role of a token, if it exists and has not expired.
    fn token(&self, token: &str) -> Result<Option<(String, auth::Role)>, StoreError>;

    /// Every token, by id (never the token itself, which is not kept).
    fn tokens(&self) -> Result<Vec<auth::TokenInfo>, StoreError>;

    /// Revokes a token given as `token create` printed it, or by its id from [`Store::tokens`]:
    /// how many were revoked (0 or 1).
    fn revoke_token(&mut self, token_or_id: &str) -> Result<u64, StoreError>;

    /// Replaces a user's password and ends every session of that user; `false` when there is no
    /// such user.
    fn set_password(&mut self, name: &str, password_hash: &str) -> Result<bool, StoreError>;

    /// Creates (or replaces the password and role of) a dashboard user.
    fn create_user(
        &mut self,
        name: &str,
        workspace: &str,
        role: auth::Role,
        password_hash: &str,
    ) -> Result<(), StoreError>;

    /// A user's workspace, role and password hash (to check a password without holding the
    /// store while it is hashed).
    fn user(&self, name: &str) -> Result<Option<(String, auth::Role, String)>, StoreError>;

    /// The user's workspace and role when the password matches.
    fn login(&self, name: &str, password: &str) -> Result<Option<(String, auth::Role)>, StoreError>;

    /// A new session for a user: its cookie id (shown once) and its CSRF token.
    fn create_session(&mut self, user: &str, ttl_ms: Millis) -> Result<(String, String), StoreError>;

    /// The live session of a cookie id: user, workspace, role, CSRF token.
    fn session(&self, id: &str) -> Result<Option<auth::Session>, StoreError>;

    fn end_session(&mut self, id: &str) -> Result<(), StoreError>;
    fn create_workspace(&mut self, name: &str) -> Result<bool, StoreError>;
    /// Every workspace created here (by `create_workspace`, or by an import into a store that
    /// keeps its own accounts), by name.
    fn known_workspaces(&self) -> Result<Vec<String>, StoreError>;

    /// Waits until no other change of workspace `ws` (an import, a correction) made through
    /// this control plane — by any process sharing it — is running, then keeps the others
    /// waiting until the lock is dropped: what lets an engine without transactions (ClickHouse)
    /// take one change of a workspace at a time.
    fn lock_workspace(&self, ws: &str) -> Result<WorkspaceLock<'_>, StoreError>;
}

/// A whole store: its facts and its control plane.
pub trait Store: DataStore + ControlPlane {}

impl<T: DataStore + ControlPlane> Store for T {}

/// Opens stores of one back end, as a server pools them: the server knows the traits, not the
/// engine behind them.
pub trait Opener: Send + Sync {
    fn open(&self) -> Result<Box<dyn Store + Send>, StoreError>;
}

/// Opens the embedded SQLite store at `path`, each with a page cache of `cache_kib` KiB.
#[derive(Debug, Clone)]
pub struct SqliteOpener {
    pub path: std::path::PathBuf,
    pub cache_kib: i64,
}

impl Opener for SqliteOpener {
    fn open(&self) -> Result<Box<dyn Store + Send>, StoreError> {
        let s = SqliteStore::open(&self.path)?;
        s.set_cache_kib(self.cache_kib)?;
        Ok(Box::new(s))
    }
}
