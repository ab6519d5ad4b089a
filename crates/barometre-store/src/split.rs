//! A store whose facts live in one engine and whose control plane in another (issue 13): the
//! embedded SQLite facts of one server, and a PostgreSQL control plane that several `barometre
//! serve` instances share — so that a session opened on one is valid on all, and a token revoked
//! on one is refused by all.

use crate::auth::Role;
use crate::pg::PgControlPlane;
use crate::{ControlPlane, Correction, DataStore, FaqSummary, ImportSink, ImportSummary, Opener, Store, StoreError};
use barometre_core::clock::Facts;
use barometre_core::config::Config;
use barometre_core::ingest::{Located, RowError};
use barometre_core::model::{ConversationEvent, Message};
use barometre_core::report::Records;
use barometre_core::table::FactTable;
use barometre_core::time::Millis;
use barometre_core::understand::faq::Entry;
use std::sync::Arc;

/// Facts from `data`, workspaces' users, sessions and tokens from `control`.
pub struct Split {
    pub data: Box<dyn Store + Send>,
    pub control: Arc<PgControlPlane>,
}

impl DataStore for Split {
    fn request_summary(
        &self,
        ws: &str,
        cfg: &Config,
        from: Option<Millis>,
        to: Option<Millis>,
        by: Option<&str>,
    ) -> Result<Vec<crate::summary::Summary>, StoreError> {
        self.data.request_summary(ws, cfg, from, to, by)
    }
    fn set_import_workers(&mut self, workers: usize) -> bool {
        self.data.set_import_workers(workers)
    }
    fn changes_need_a_lock(&self) -> bool {
        self.data.changes_need_a_lock()
    }
    fn import(
        &mut self,
        ws: &str,
        cfg: &Config,
        strict: bool,
        records: &mut dyn Iterator<Item = Result<Located, RowError>>,
        sink: &mut dyn ImportSink,
    ) -> Result<ImportSummary, StoreError> {
        // Every instance sharing the control plane takes one change of a workspace at a time.
        let mut lock = lock(self.data.changes_need_a_lock(), &self.control, ws)?;
        // Checked again just before the data store commits: an import takes minutes, and the
        // lock's connection may be lost meanwhile.
        let mut held = Holding { lock: lock.as_mut(), sink };
        self.data.import(ws, cfg, strict, records, &mut held)
    }
    fn table(&self, ws: &str, cfg: &Config, from: Option<Millis>, to: Option<Millis>) -> Result<FactTable, StoreError> {
        self.data.table(ws, cfg, from, to)
    }
    fn table_covering(
        &self,
        ws: &str,
        cfg: &Config,
        from: Option<Millis>,
        to: Option<Millis>,
        cover: crate::Covering,
    ) -> Result<FactTable, StoreError> {
        self.data.table_covering(ws, cfg, from, to, cover)
    }
    fn facts(&self, ws: &str, cfg: &Config, from: Option<Millis>, to: Option<Millis>) -> Result<Facts, StoreError> {
        self.data.facts(ws, cfg, from, to)
    }
    fn records(&self, ws: &str, from: Option<Millis>, to: Option<Millis>) -> Result<Records, StoreError> {
        self.data.records(ws, from, to)
    }
    fn records_credited(
        &self,
        ws: &str,
        cfg: &Config,
        from: Option<Millis>,
        to: Option<Millis>,
    ) -> Result<Records, StoreError> {
        self.data.records_credited(ws, cfg, from, to)
    }
    fn conversation_facts(&self, ws: &str, cfg: &Config, id: &str) -> Result<Facts, StoreError> {
        self.data.conversation_facts(ws, cfg, id)
    }
    fn rows(&self, ws: &str) -> Result<(Vec<Message>, Vec<ConversationEvent>), StoreError> {
        self.data.rows(ws)
    }
    fn messages_by_id(&self, ws: &str, ids: &[String]) -> Result<Vec<Message>, StoreError> {
        self.data.messages_by_id(ws, ids)
    }
    /// The facts' workspaces and the control plane's, together: a workspace created for users
    /// before any import is one.
    fn workspaces(&self) -> Result<Vec<String>, StoreError> {
        let mut w = self.data.workspaces()?;
        w.extend(self.control.as_ref().workspaces()?);
        w.sort();
        w.dedup();
        Ok(w)
    }
    fn probes(&self, ws: &str) -> Result<Vec<barometre_core::model::Probe>, StoreError> {
        self.data.probes(ws)
    }
    fn version(&self, ws: &str) -> Result<i64, StoreError> {
        self.data.version(ws)
    }
    fn correct_label_with(
        &mut self,
        ws: &str,
        cfg: &Config,
        message_id: &str,
        label: Option<barometre_core::understand::Label>,
        by: Option<&str>,
        sink: &mut dyn ImportSink,
    ) -> Result<bool, StoreError> {
        let mut lock = lock(self.data.changes_need_a_lock(), &self.control, ws)?;
        let mut held = Holding { lock: lock.as_mut(), sink };
        self.data.correct_label_with(ws, cfg, message_id, label, by, &mut held)
    }
    fn corrections(&self, ws: &str) -> Result<Vec<Correction>, StoreError> {
        self.data.corrections(ws)
    }
    fn import_faq_with(
        &mut self,
        ws: &str,
        cfg: &Config,
        entries: &[Entry],
        sink: &mut dyn ImportSink,
    ) -> Result<FaqSummary, StoreError> {
        let mut lock = lock(self.data.changes_need_a_lock(), &self.control, ws)?;
        let mut held = Holding { lock: lock.as_mut(), sink };
        self.data.import_faq_with(ws, cfg, entries, &mut held)
    }
    fn faq(&self, ws: &str) -> Result<Vec<Entry>, StoreError> {
        self.data.faq(ws)
    }
}

/// An import's sink that checks the workspace's lock before the data store commits.
struct Holding<'l, 'a, 's> {
    lock: Option<&'l mut crate::WorkspaceLock<'a>>,
    sink: &'s mut dyn ImportSink,
}

impl ImportSink for Holding<'_, '_, '_> {
    fn progress(&mut self, rows_read: u64) {
        self.sink.progress(rows_read);
    }
    fn rejected(&mut self, error: &RowError) {
        self.sink.rejected(error);
    }
    fn phase(&mut self, done: &str) {
        self.sink.phase(done);
    }
    fn note(&mut self, what: &str) {
        self.sink.note(what);
    }
    fn before_commit(&mut self) -> Result<(), StoreError> {
        if let Some(lock) = self.lock.as_mut() {
            lock.check()?;
        }
        self.sink.before_commit()
    }
}

/// The workspace's lock in the shared control plane, when the data store's changes `need` it
/// (an embedded store's transactions order its own).
fn lock<'a>(need: bool, control: &'a PgControlPlane, ws: &str) -> Result<Option<crate::WorkspaceLock<'a>>, StoreError> {
    if need {
        control.lock_workspace(ws).map(Some)
    } else {
        Ok(None)
    }
}

impl Split {
    /// A workspace the facts know (an import made it) is made known to the control plane before
    /// a token or a user is given to it: the control plane, like the embedded store, refuses
    /// accounts of a workspace it does not know.
    pub(crate) fn known_to_control(&self, ws: &str) -> Result<(), StoreError> {
        if self.data.workspaces()?.iter().any(|w| w == ws) {
            self.control.as_ref().create_workspace(ws)?;
        }
        Ok(())
    }
}

/// Opens [`Split`] stores: `data`'s, each with the one shared control plane.
pub struct SplitOpener {
    pub data: Arc<dyn Opener>,
    pub control: Arc<PgControlPlane>,
}

impl Opener for SplitOpener {
    fn open(&self) -> Result<Box<dyn Store + Send>, StoreError> {
        Ok(Box::new(Split { data: self.data.open()?, control: self.control.clone() }))
    }
}

impl ControlPlane for Split {
    fn known_workspaces(&self) -> Result<Vec<String>, StoreError> {
        self.control.as_ref().workspaces()
    }
    fn create_token(&mut self, workspace: &str, role: Role, expires_ms: Option<Millis>) -> Result<String, StoreError> {
        self.known_to_control(workspace)?;
        self.control.as_ref().create_token(workspace, role, expires_ms)
    }
    fn token(&self, token: &str) -> Result<Option<(String, Role)>, StoreError> {
        self.control.as_ref().token(token)
    }
    fn tokens(&self) -> Result<Vec<crate::auth::TokenInfo>, StoreError> {
        self.control.as_ref().tokens()
    }
    fn revoke_token(&mut self, token_or_id: &str) -> Result<u64, StoreError> {
        self.control.as_ref().revoke_token(token_or_id)
    }
    fn set_password(&mut self, name: &str, password_hash: &str) -> Result<bool, StoreError> {
        self.control.as_ref().set_password(name, password_hash)
    }
    fn create_user(&mut self, name: &str, workspace: &str, role: Role, password_hash: &str) -> Result<(), StoreError> {
        self.known_to_control(workspace)?;
        self.control.as_ref().create_user(name, workspace, role, password_hash)
    }
    fn user(&self, name: &str) -> Result<Option<(String, Role, String)>, StoreError> {
        self.control.as_ref().user(name)
    }
    fn login(&self, name: &str, password: &str) -> Result<Option<(String, Role)>, StoreError> {
        self.control.as_ref().login(name, password)
    }
    fn create_session(&mut self, user: &str, ttl_ms: Millis) -> Result<(String, String), StoreError> {
        self.control.as_ref().create_session(user, ttl_ms)
    }
    fn session(&self, id: &str) -> Result<Option<crate::auth::Session>, StoreError> {
        self.control.as_ref().session(id)
    }
    fn end_session(&mut self, id: &str) -> Result<(), StoreError> {
        self.control.as_ref().end_session(id)
    }
    fn create_workspace(&mut self, name: &str) -> Result<bool, StoreError> {
        self.control.as_ref().create_workspace(name)
    }
    fn lock_workspace(&self, ws: &str) -> Result<crate::WorkspaceLock<'_>, StoreError> {
        self.control.lock_workspace(ws)
    }
}
