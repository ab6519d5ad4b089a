//! The embedded default: one SQLite file.

use crate::{ImportSummary, Progress, Store, StoreError};
use barometre_core::clock::{self, Facts, MessageFact, Outcome, RequestFact, Role};
use barometre_core::config::Config;
use barometre_core::ingest::{Located, Record, RowError};
use barometre_core::model::{ConversationEvent, Direction, EventKind, Message};
use barometre_core::time::{Millis, Stamp};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use std::path::Path;

/// Migrations, in order. A landed migration is never edited: add the next one.
const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("../migrations/0001_init.sql"))];

pub struct SqliteStore {
    conn: Connection,
}

const FINGERPRINT: &str = "clock_fingerprint";

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`, bringing its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::setup(Connection::open(path)?)
    }

    /// A private in-memory store (tests, one-shot reports).
    pub fn memory() -> Result<SqliteStore, StoreError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;
             CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL);",
        )?;
        let mut s = SqliteStore { conn };
        s.migrate()?;
        Ok(s)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: i64 = tx.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))?;
        for (v, sql) in MIGRATIONS {
            if *v > current {
                tx.execute_batch(sql)?;
                tx.execute("INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)", params![v, now_ms()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn fingerprint(&self, ws: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE workspace = ? AND key = ?", params![ws, FINGERPRINT], |r| r.get(0))
            .optional()?)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn b(v: Option<bool>) -> Option<i64> {
    v.map(i64::from)
}

const MESSAGE_COLS: &str =
    "message_id, created_ms, offset_s, direction, account, channel, author_id, conversation_id, \
reply_to, customer_id, text, bot, public, kind, in_scope, actionable, handle_seconds, team";

fn message_from_row(r: &Row) -> rusqlite::Result<Message> {
    let dir: String = r.get(3)?;
    Ok(Message {
        message_id: r.get(0)?,
        created_at: Stamp { ms: r.get(1)?, offset_s: r.get(2)? },
        direction: if dir == "in" { Direction::In } else { Direction::Out },
        account: r.get(4)?,
        channel: r.get(5)?,
        author_id: r.get(6)?,
        conversation_id: r.get(7)?,
        reply_to: r.get(8)?,
        customer_id: r.get(9)?,
        text: r.get(10)?,
        bot: r.get::<_, i64>(11)? != 0,
        public: r.get::<_, Option<i64>>(12)?.map(|x| x != 0),
        kind: r.get(13)?,
        in_scope: r.get::<_, Option<i64>>(14)?.map(|x| x != 0),
        actionable: r.get::<_, Option<i64>>(15)?.map(|x| x != 0),
        handle_seconds: r.get(16)?,
        team: r.get(17)?,
    })
}

fn load_rows(conn: &Connection, ws: &str) -> Result<(Vec<Message>, Vec<ConversationEvent>), StoreError> {
    let mut st = conn.prepare_cached(&format!("SELECT {MESSAGE_COLS} FROM messages WHERE workspace = ?"))?;
    let msgs = st.query_map([ws], message_from_row)?.collect::<Result<Vec<_>, _>>()?;
    let mut st = conn.prepare_cached(
        "SELECT conversation_id, event, at_ms, offset_s, agent_id FROM conversation_events WHERE workspace = ?",
    )?;
    let evs = st
        .query_map([ws], |r| {
            let e: String = r.get(1)?;
            Ok((r.get(0)?, e, Stamp { ms: r.get(2)?, offset_s: r.get(3)? }, r.get(4)?))
        })?
        .map(|x| {
            let (conversation_id, e, at, agent_id) = x?;
            let event = EventKind::parse(&e).ok_or_else(|| StoreError::Corrupt(format!("unknown event `{e}`")))?;
            Ok(ConversationEvent { conversation_id, event, at, agent_id })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((msgs, evs))
}

const REQUEST_COLS: &str = "request_id, conversation_id, account, channel, customer, public, start_ms, messages, \
first_of_conversation, outcome, closed_ms, answer_id, agent, team";

fn request_from_row(r: &Row) -> rusqlite::Result<RequestFact> {
    let o: String = r.get(9)?;
    Ok(RequestFact {
        request_id: r.get(0)?,
        conversation_id: r.get(1)?,
        account: r.get(2)?,
        channel: r.get(3)?,
        customer: r.get(4)?,
        public: r.get::<_, i64>(5)? != 0,
        start_ms: r.get(6)?,
        messages: r.get(7)?,
        first_of_conversation: r.get::<_, i64>(8)? != 0,
        outcome: Outcome::parse(&o).unwrap_or(Outcome::Unanswered),
        closed_ms: r.get(10)?,
        answer_id: r.get(11)?,
        agent: r.get(12)?,
        team: r.get(13)?,
    })
}

const MFACT_COLS: &str = "message_id, conversation_id, account, channel, ms, role, author_id, agent, team, public, \
in_scope, actionable, signed, handle_seconds, request_id";

fn mfact_from_row(r: &Row) -> rusqlite::Result<MessageFact> {
    let role: String = r.get(5)?;
    Ok(MessageFact {
        message_id: r.get(0)?,
        conversation_id: r.get(1)?,
        account: r.get(2)?,
        channel: r.get(3)?,
        ms: r.get(4)?,
        role: Role::parse(&role).unwrap_or(Role::Customer),
        author_id: r.get(6)?,
        agent: r.get(7)?,
        team: r.get(8)?,
        public: r.get::<_, i64>(9)? != 0,
        in_scope: r.get::<_, Option<i64>>(10)?.map(|x| x != 0),
        actionable: r.get::<_, i64>(11)? != 0,
        signed: r.get::<_, Option<i64>>(12)?.map(|x| x != 0),
        handle_seconds: r.get(13)?,
        request_id: r.get(14)?,
    })
}

/// Replaces a workspace's facts with the clock's output over its current rows.
fn recompute(tx: &Transaction, ws: &str, cfg: &Config) -> Result<(), StoreError> {
    let (msgs, evs) = load_rows(tx, ws)?;
    let facts = clock::run(&msgs, &evs, cfg);
    drop(msgs);
    tx.execute("DELETE FROM request_facts WHERE workspace = ?", [ws])?;
    tx.execute("DELETE FROM message_facts WHERE workspace = ?", [ws])?;
    {
        let mut st = tx.prepare_cached(&format!(
            "INSERT INTO request_facts (workspace, {REQUEST_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
        ))?;
        for r in &facts.requests {
            st.execute(params![
                ws,
                r.request_id,
                r.conversation_id,
                r.account,
                r.channel,
                r.customer,
                r.public,
                r.start_ms,
                r.messages,
                r.first_of_conversation,
                r.outcome.as_str(),
                r.closed_ms,
                r.answer_id,
                r.agent,
                r.team
            ])?;
        }
        let mut st = tx.prepare_cached(&format!(
            "INSERT INTO message_facts (workspace, {MFACT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
        ))?;
        for m in &facts.messages {
            st.execute(params![
                ws,
                m.message_id,
                m.conversation_id,
                m.account,
                m.channel,
                m.ms,
                m.role.as_str(),
                m.author_id,
                m.agent,
                m.team,
                m.public,
                b(m.in_scope),
                m.actionable,
                b(m.signed),
                m.handle_seconds,
                m.request_id
            ])?;
        }
    }
    tx.execute(
        "INSERT INTO meta (workspace, key, value) VALUES (?, ?, ?) ON CONFLICT (workspace, key) DO UPDATE SET value = excluded.value",
        params![ws, FINGERPRINT, cfg.clock_fingerprint()],
    )?;
    Ok(())
}

fn within(ms: Millis, from: Option<Millis>, to: Option<Millis>) -> bool {
    from.is_none_or(|f| ms >= f) && to.is_none_or(|t| ms < t)
}

impl Store for SqliteStore {
    fn import(
        &mut self,
        ws: &str,
        cfg: &Config,
        strict: bool,
        records: &mut dyn Iterator<Item = Result<Located, RowError>>,
        progress: Progress,
    ) -> Result<ImportSummary, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("INSERT OR IGNORE INTO workspaces (name, created_ms) VALUES (?, ?)", params![ws, now_ms()])?;
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS import_seen (id TEXT PRIMARY KEY, fp INTEGER NOT NULL, line INTEGER NOT NULL, file TEXT NOT NULL) WITHOUT ROWID;
             DELETE FROM import_seen;",
        )?;
        let mut sum = ImportSummary::default();
        let mut read = 0u64;
        {
            let mut seen_get = tx.prepare_cached("SELECT fp, line, file FROM import_seen WHERE id = ?")?;
            let mut seen_put = tx.prepare_cached("INSERT INTO import_seen (id, fp, line, file) VALUES (?, ?, ?, ?)")?;
            let mut old_fp = tx.prepare_cached("SELECT fp FROM messages WHERE workspace = ? AND message_id = ?")?;
            let mut upsert = tx.prepare_cached(&format!(
                "INSERT OR REPLACE INTO messages (workspace, {MESSAGE_COLS}, fp) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
            ))?;
            let mut ev_put = tx.prepare_cached(
                "INSERT OR IGNORE INTO conversation_events (workspace, event_key, conversation_id, event, at_ms, offset_s, agent_id) VALUES (?,?,?,?,?,?,?)",
            )?;
            for rec in records {
                read += 1;
                if read.is_multiple_of(10_000) {
                    progress(read);
                }
                let loc = match rec {
                    Ok(r) => r,
                    Err(e) => {
                        sum.rejected.push(e);
                        continue;
                    }
                };
                match &loc.record {
                    Record::Message(m) => {
                        let fp = m.fingerprint() as i64;
                        let prior: Option<(i64, i64, String)> = seen_get
                            .query_row([&m.message_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                            .optional()?;
                        if let Some((pfp, line, file)) = prior {
                            if pfp == fp {
                                sum.rows += 1;
                                sum.unchanged += 1;
                            } else {
                                sum.rejected.push(loc.error(format!(
                                    "duplicate message_id `{}` with other content (first at {file}:{line})",
                                    m.message_id
                                )));
                            }
                            continue;
                        }
                        seen_put.execute(params![m.message_id, fp, loc.line, &*loc.file])?;
                        sum.rows += 1;
                        match old_fp.query_row(params![ws, m.message_id], |r| r.get::<_, i64>(0)).optional()? {
                            Some(o) if o == fp => {
                                sum.unchanged += 1;
                                continue;
                            }
                            Some(_) => sum.updated += 1,
                            None => sum.inserted += 1,
                        }
                        upsert.execute(params![
                            ws,
                            m.message_id,
                            m.created_at.ms,
                            m.created_at.offset_s,
                            m.direction.as_str(),
                            m.account,
                            m.channel,
                            m.author_id,
                            m.conversation_id,
                            m.reply_to,
                            m.customer_id,
                            m.text,
                            m.bot,
                            b(m.public),
                            m.kind,
                            b(m.in_scope),
                            b(m.actionable),
                            m.handle_seconds,
                            m.team,
                            fp
                        ])?;
                    }
                    Record::Event(e) => {
                        sum.rows += 1;
                        let n = ev_put.execute(params![
                            ws,
                            e.key(),
                            e.conversation_id,
                            e.event.as_str(),
                            e.at.ms,
                            e.at.offset_s,
                            e.agent_id
                        ])?;
                        if n == 1 {
                            sum.inserted += 1;
                        } else {
                            sum.unchanged += 1;
                        }
                    }
                }
            }
        }
        progress(read);
        if strict && !sum.rejected.is_empty() {
            tx.rollback()?;
            return Ok(sum);
        }
        let stale = self_fingerprint(&tx, ws)?.as_deref() != Some(cfg.clock_fingerprint().as_str());
        if sum.inserted + sum.updated > 0 || stale {
            recompute(&tx, ws, cfg)?;
        }
        tx.execute_batch("DELETE FROM import_seen;")?;
        tx.commit()?;
        sum.committed = true;
        Ok(sum)
    }

    fn facts(&self, ws: &str, cfg: &Config, from: Option<Millis>, to: Option<Millis>) -> Result<Facts, StoreError> {
        if self.fingerprint(ws)?.as_deref() != Some(cfg.clock_fingerprint().as_str()) {
            let (msgs, evs) = load_rows(&self.conn, ws)?;
            let mut f = clock::run(&msgs, &evs, cfg);
            f.requests.retain(|r| within(r.start_ms, from, to));
            f.messages.retain(|m| within(m.ms, from, to));
            return Ok(f);
        }
        let lo = from.unwrap_or(i64::MIN);
        let hi = to.unwrap_or(i64::MAX);
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {REQUEST_COLS} FROM request_facts WHERE workspace = ? AND start_ms >= ? AND start_ms < ?"
        ))?;
        let requests = st.query_map(params![ws, lo, hi], request_from_row)?.collect::<Result<Vec<_>, _>>()?;
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {MFACT_COLS} FROM message_facts WHERE workspace = ? AND ms >= ? AND ms < ?"
        ))?;
        let messages = st.query_map(params![ws, lo, hi], mfact_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(Facts { requests, messages })
    }

    fn conversation_facts(&self, ws: &str, cfg: &Config, conversation_id: &str) -> Result<Facts, StoreError> {
        if self.fingerprint(ws)?.as_deref() != Some(cfg.clock_fingerprint().as_str()) {
            let mut f = self.facts(ws, cfg, None, None)?;
            f.requests.retain(|r| r.conversation_id == conversation_id);
            f.messages.retain(|m| m.conversation_id == conversation_id);
            return Ok(f);
        }
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {REQUEST_COLS} FROM request_facts WHERE workspace = ? AND conversation_id = ?"
        ))?;
        let requests = st.query_map(params![ws, conversation_id], request_from_row)?.collect::<Result<Vec<_>, _>>()?;
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {MFACT_COLS} FROM message_facts WHERE workspace = ? AND conversation_id = ?"
        ))?;
        let messages = st.query_map(params![ws, conversation_id], mfact_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(Facts { requests, messages })
    }

    fn rows(&self, ws: &str) -> Result<(Vec<Message>, Vec<ConversationEvent>), StoreError> {
        load_rows(&self.conn, ws)
    }

    fn messages_by_id(&self, ws: &str, ids: &[String]) -> Result<Vec<Message>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(&format!("SELECT {MESSAGE_COLS} FROM messages WHERE workspace = ? AND message_id = ?"))?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(m) = st.query_row(params![ws, id], message_from_row).optional()? {
                out.push(m);
            }
        }
        Ok(out)
    }

    fn workspaces(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self.conn.prepare("SELECT name FROM workspaces ORDER BY name")?;
        let v = st.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
        Ok(v)
    }

    fn create_workspace(&mut self, name: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .execute("INSERT OR IGNORE INTO workspaces (name, created_ms) VALUES (?, ?)", params![name, now_ms()])?
            == 1)
    }
}

fn self_fingerprint(tx: &Transaction, ws: &str) -> Result<Option<String>, StoreError> {
    Ok(tx
        .query_row("SELECT value FROM meta WHERE workspace = ? AND key = ?", params![ws, FINGERPRINT], |r| r.get(0))
        .optional()?)
}
