//! The embedded default: one SQLite file.

use crate::auth::Role;
use crate::chunks;
use crate::keyed;
use crate::rows;
use crate::{ControlPlane, Correction, DataStore, FaqSummary, ImportSink, ImportSummary, StoreError};
use barometre_core::clock::{self, Facts};
use barometre_core::config::Config;
use barometre_core::engine::{self, ClockInput};
use barometre_core::ingest::{Located, Record, RowError};
use barometre_core::model::{
    Contact, ConversationEvent, Customer, Direction, EventKind, Message, Moment, Order, Post, Probe, Resolution,
    Review, SurveyAnswer, SurveyInvitation, TextFacts,
};
use barometre_core::report::Records;
use barometre_core::table::{Dict, FactTable};
use barometre_core::time::{Millis, Stamp};
use barometre_core::understand::faq::{Entry as FaqEntry, Faq};
use barometre_core::understand::Label;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

mod halves;
pub(crate) mod patch;

/// Migrations, in order. A landed migration is never edited: add the next one.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_surveys_contacts.sql")),
    (3, include_str!("../migrations/0003_posts.sql")),
    (4, include_str!("../migrations/0004_customers_orders.sql")),
    (5, include_str!("../migrations/0005_qa_reviews.sql")),
    (6, include_str!("../migrations/0006_tokens.sql")),
    (7, include_str!("../migrations/0007_users_sessions.sql")),
    (8, include_str!("../migrations/0008_probes.sql")),
    (9, include_str!("../migrations/0009_token_expiry.sql")),
    (10, include_str!("../migrations/0010_message_labels.sql")),
    (11, include_str!("../migrations/0011_label_corrections.sql")),
    (12, include_str!("../migrations/0012_competitor_mentions.sql")),
    (13, include_str!("../migrations/0013_faq.sql")),
    (14, include_str!("../migrations/0014_message_themes.sql")),
    (15, include_str!("../migrations/0015_message_chunks.sql")),
];

/// The migration that moved message rows into chunks: the rows of earlier versions are moved
/// by this binary right after its SQL runs.
const CHUNKED_ROWS: i64 = 15;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend { engine: "SQLite", message: e.to_string() }
    }
}

pub struct SqliteStore {
    conn: Connection,
    /// The last knowledge base read, by workspace and version (every import, FAQ ones included,
    /// moves the version): a report does not read and index it again.
    faq: std::cell::RefCell<Option<FaqSeen>>,
    /// Workspace locks of a store in memory, which no other process opens.
    locks: crate::lock::Local,
    /// The file of a store being built aside ([`SqliteStore::import_new`]), which an import
    /// sends to the disk as it goes. Held open until the connection is closed: closing any
    /// handle of a file drops every lock the process holds on it, SQLite's included.
    aside: Option<Arc<std::fs::File>>,
}

/// A workspace, its version, and its knowledge base at that version (`None`: it has none).
type FaqSeen = (String, i64, Option<Arc<Faq>>);

const FINGERPRINT: &str = "clock_fingerprint";

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`, bringing its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::setup(Connection::open(path)?, true)
    }

    /// A private in-memory store (tests, one-shot reports).
    pub fn memory() -> Result<SqliteStore, StoreError> {
        Self::setup(Connection::open_in_memory()?, true)
    }

    /// `journaled`: a write-ahead log, synced at checkpoints; without, writes go straight into
    /// the file, never synced (only for a file no one else sees yet: `SqliteStore::import_new`).
    fn setup(conn: Connection, journaled: bool) -> Result<SqliteStore, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        // Large pages: fact chunks are megabyte blobs, read whole (set before the file has tables).
        let journal = if journaled {
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
        } else {
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
        };
        let setup = format!(
            "PRAGMA page_size = 65536; {journal} PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY; PRAGMA cache_size = -131072;
             CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL);",
        );
        // Turning a new file to WAL takes it alone, and SQLite answers "database is locked" at
        // once to another connection doing the same, without waiting as `busy_timeout` does
        // elsewhere: two processes that create the same file (two servers started together on
        // a new accounts file) would fail. Waited for here, as long as `busy_timeout`.
        let since = std::time::Instant::now();
        loop {
            match conn.execute_batch(&setup) {
                Err(e)
                    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                        && since.elapsed() < std::time::Duration::from_secs(30) =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                r => break r?,
            }
        }
        let mut s = SqliteStore { conn, faq: std::cell::RefCell::new(None), locks: Default::default(), aside: None };
        s.migrate()?;
        Ok(s)
    }

    /// The schema's version: the last migration applied.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        // Up to date (every open but the first): no write lock taken, readers never queue.
        let seen: i64 =
            self.conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))?;
        if MIGRATIONS.last().is_some_and(|(v, _)| *v <= seen) {
            return Ok(());
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: i64 = tx.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))?;
        for (v, sql) in MIGRATIONS {
            if *v > current {
                tx.execute_batch(sql)?;
                if *v == CHUNKED_ROWS {
                    move_rows_into_chunks(&tx)?;
                }
                tx.execute("INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)", params![v, now_ms()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Sets this connection's page cache to `kib` KiB (a server keeps many connections open).
    pub fn set_cache_kib(&self, kib: i64) -> Result<(), StoreError> {
        self.conn.execute_batch(&format!("PRAGMA cache_size = -{}", kib.max(64)))?;
        Ok(())
    }

    /// Facts stored by an older binary (another layout, word list or text model) with the same
    /// clock settings are recomputed from the texts and stored once, here, instead of recomputed
    /// from the rows on every read. Facts of other clock settings (a report asking another
    /// session gap) are left as they are.
    fn refresh_if_outdated(&self, ws: &str, cfg: &Config) -> Result<(), StoreError> {
        let Some(stored) = self.fingerprint(ws)? else { return Ok(()) };
        if !cfg.only_binary_differs(&stored) {
            return Ok(());
        }
        let current = cfg.clock_fingerprint();
        // The write lock first (another connection refreshing at the same time waits, then finds
        // the work done); if the store cannot be written (busy with a long import, read-only),
        // the facts are recomputed in memory for this read, as for other clock settings.
        let refreshed = (|| -> Result<(), StoreError> {
            let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            if self_fingerprint(&tx, ws)?.as_deref() != Some(current.as_str()) {
                // The texts are read again: the kept labels and thanks may be the old binary's.
                recompute(&tx, ws, cfg, true)?;
            }
            tx.commit()?;
            Ok(())
        })();
        if let Err(e) = refreshed {
            eprintln!("facts of an older layout not stored anew ({e}): recomputed for this read");
        }
        Ok(())
    }

    /// `cfg` with the workspace's knowledge base, as every fact of it is computed: questions are
    /// matched against the FAQ the workspace imported, whatever the caller's configuration.
    fn attached<'c>(&self, ws: &str, cfg: &'c Config) -> Result<std::borrow::Cow<'c, Config>, StoreError> {
        let version = self.version(ws)?;
        let cached = self.faq.borrow().as_ref().filter(|(w, v, _)| w == ws && *v == version).map(|(_, _, f)| f.clone());
        let faq = match cached {
            Some(f) => f,
            None => {
                let entries = faq_of(&self.conn, ws)?;
                let f = (!entries.is_empty()).then(|| Arc::new(Faq::new(entries)));
                *self.faq.borrow_mut() = Some((ws.to_string(), version, f.clone()));
                f
            }
        };
        Ok(if faq.is_none() && cfg.faq.is_none() {
            std::borrow::Cow::Borrowed(cfg)
        } else {
            std::borrow::Cow::Owned(cfg.with_faq(faq))
        })
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

fn label_of(v: Option<i64>) -> Option<barometre_core::understand::Label> {
    v.and_then(|c| u8::try_from(c).ok()).and_then(barometre_core::understand::Label::of_code)
}

const MESSAGE_COLS: &str =
    "message_id, created_ms, offset_s, direction, account, channel, author_id, conversation_id, \
reply_to, customer_id, text, bot, public, kind, in_scope, actionable, handle_seconds, team";

/// Reads a message row; with `text` false, the text stays in the store and the clock reads the
/// kept `signed`/`thanks` columns (selected after the common columns) instead.
fn message_row(r: &Row, text: bool) -> rusqlite::Result<Message> {
    let mut m = message_from_row(r)?;
    if !text {
        m.derived = Some(TextFacts {
            signed: r.get::<_, Option<i64>>(18)?.map(|x| x != 0),
            bare_thanks: r.get::<_, i64>(19)? != 0,
            label: label_of(r.get::<_, Option<i64>>(20)?),
            competitor: r.get::<_, i64>(21)? != 0,
            faq: r.get::<_, i64>(22)? as u32,
            themes: r.get::<_, i64>(23)? as u64,
        });
    }
    Ok(m)
}

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
        derived: None,
        corrected: None,
    })
}

fn load_rows(conn: &Connection, ws: &str, text: bool) -> Result<(Vec<Message>, Vec<ConversationEvent>), StoreError> {
    let mut msgs = Vec::new();
    each_stored(conn, ws, |_, _, r| {
        let mut m = r.message();
        if text {
            // The clock reads the text again.
            m.derived = None;
        } else {
            m.text = None;
        }
        msgs.push(m);
        Ok(())
    })?;
    let corrected = corrections_of(conn, ws)?;
    if !corrected.is_empty() {
        for m in &mut msgs {
            m.corrected = corrected.get(&m.message_id).copied();
        }
    }
    Ok((msgs, load_events(conn, ws)?))
}

/// Calls `each` with every live message row of a workspace, chunk by chunk in the order they
/// were written, with the chunk's number and the row's place in it.
fn each_stored(
    conn: &Connection,
    ws: &str,
    mut each: impl FnMut(u32, usize, rows::RowRef) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut st = conn.prepare_cached(&format!("{CHUNKS} ORDER BY seq"))?;
    let mut q = st.query([ws])?;
    while let Some(r) = q.next()? {
        let (seq, n, keys, data, dead) = chunk_of(r)?;
        rows::each_row(keys, data, n, dead, |i, row| each(seq, i, row))?;
    }
    Ok(())
}

/// A workspace's message chunks, whole: what [`chunk_of`] reads a row of.
const CHUNKS: &str = "SELECT seq, n, keys, data, dead FROM message_chunks WHERE workspace = ?";

/// A row of [`CHUNKS`]: the chunk's number, row count, keys, data and dead rows.
type ChunkRef<'r> = (u32, usize, &'r [u8], &'r [u8], Option<&'r [u8]>);

fn chunk_of<'r>(r: &'r Row<'_>) -> Result<ChunkRef<'r>, StoreError> {
    let blob = |i: usize| r.get_ref(i).and_then(|v| Ok(v.as_blob_or_null()?));
    Ok((r.get(0)?, r.get(1)?, blob(2)?.unwrap_or_default(), blob(3)?.unwrap_or_default(), blob(4)?))
}

/// The stored rows of the given ids, by id (ids not stored are absent).
fn find_rows(conn: &Connection, ws: &str, ids: &[String]) -> Result<HashMap<String, Message>, StoreError> {
    let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut out = HashMap::new();
    if wanted.is_empty() {
        return Ok(out);
    }
    // The keys first (a few bytes a row); only the chunks holding a wanted row are decoded.
    let mut at: HashMap<u32, std::collections::HashSet<usize>> = HashMap::new();
    each_live_key(conn, ws, |seq, i, id, _| {
        if wanted.contains(id) {
            at.entry(seq).or_default().insert(i);
        }
        Ok(())
    })?;
    let mut st = conn.prepare_cached("SELECT n, keys, data FROM message_chunks WHERE workspace = ? AND seq = ?")?;
    for (seq, places) in at {
        let mut q = st.query(params![ws, seq])?;
        let Some(r) = q.next()? else { continue };
        let n: usize = r.get(0)?;
        let keys = r.get_ref(1)?.as_blob().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let data = r.get_ref(2)?.as_blob().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        rows::each_row(keys, data, n, None, |i, row| {
            if places.contains(&i) {
                let mut m = row.message();
                m.derived = None;
                out.insert(m.message_id.clone(), m);
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// Moves the rows of the `messages` table (stores written before migration 15) into chunks.
fn move_rows_into_chunks(tx: &Transaction) -> Result<(), StoreError> {
    let workspaces: Vec<String> = {
        let mut st = tx.prepare("SELECT DISTINCT workspace FROM messages ORDER BY workspace")?;
        let v = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        v
    };
    let mut put = tx.prepare("INSERT INTO message_chunks (workspace, seq, n, keys, data) VALUES (?, ?, ?, ?, ?)")?;
    for ws in &workspaces {
        let mut st = tx.prepare(&format!(
            "SELECT {MESSAGE_COLS}, signed, thanks, label, competitor, faq, themes, fp, src, line FROM messages \
             WHERE workspace = ? ORDER BY src, line, message_id"
        ))?;
        let mut q = st.query([ws])?;
        let mut batch = rows::Batch::default();
        let mut seq = 0u32;
        let mut flush = |batch: &mut rows::Batch| -> Result<(), StoreError> {
            let (n, keys, data) = batch.take();
            put.execute(params![ws, seq, n, keys, data])?;
            seq += 1;
            Ok(())
        };
        while let Some(r) = q.next()? {
            let mut m = message_row(r, false)?;
            let tf = m.derived.take().unwrap_or_default();
            let row = rows::Row {
                m,
                tf,
                fp: r.get::<_, i64>(24)? as u64,
                src: r.get(25)?,
                line: r.get::<_, i64>(26)? as u64,
            };
            if batch.push(row) {
                flush(&mut batch)?;
            }
        }
        if !batch.rows.is_empty() {
            flush(&mut batch)?;
        }
    }
    // Dropped, not emptied: a binary of an earlier version fails on this store instead of
    // finding no message.
    tx.execute("DROP TABLE messages", [])?;
    Ok(())
}

/// A workspace's knowledge base, in its file's order.
fn faq_of(conn: &Connection, ws: &str) -> Result<Vec<FaqEntry>, StoreError> {
    let mut st = conn
        .prepare_cached("SELECT entry_id, question, answer FROM faq_entries WHERE workspace = ? ORDER BY position")?;
    let v = st
        .query_map([ws], |r| Ok(FaqEntry { id: r.get(0)?, question: r.get(1)?, answer: r.get(2)? }))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(v)
}

/// A stored correction's label: the store wrote it from a `Label`, so another word is corruption.
fn corrected_label(l: &str) -> Result<Label, StoreError> {
    Label::parse(l).ok_or_else(|| StoreError::Corrupt(format!("unknown corrected label `{l}`")))
}

/// An analyst's labels, by message id.
fn corrections_of(conn: &Connection, ws: &str) -> Result<HashMap<String, Label>, StoreError> {
    let mut st = conn.prepare_cached("SELECT message_id, label FROM label_corrections WHERE workspace = ?")?;
    let mut out = HashMap::new();
    let mut rows = st.query([ws])?;
    while let Some(r) = rows.next()? {
        let (id, l): (String, String) = (r.get(0)?, r.get(1)?);
        let l = corrected_label(&l)?;
        out.insert(id, l);
    }
    Ok(out)
}

fn load_events(conn: &Connection, ws: &str) -> Result<Vec<ConversationEvent>, StoreError> {
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
    Ok(evs)
}

/// How many rows a workspace's chunks hold, and their keys' bytes (ids and a few bytes a row):
/// what readers of every row size their tables by (SQLite reads `length` without the blobs).
fn stored_size(conn: &Connection, ws: &str) -> Result<(usize, usize), StoreError> {
    let (n, bytes): (i64, i64) = conn.query_row(
        "SELECT COALESCE(SUM(n), 0), COALESCE(SUM(length(keys)), 0) FROM message_chunks WHERE workspace = ?",
        [ws],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((n as usize, bytes as usize))
}

/// Streams a workspace's rows into the clock's compact input, texts left in the store: the
/// kept text facts stand for them. The chunks holding the second half of the rows are decoded on
/// another core, in turns with the first half's here, into an input of their own appended after:
/// the rows come in the order they were written either way. Why: every change that computes facts again (a late message, a label, a
/// knowledge base) reads every row back: a million rows, 0.64–0.85 s on one core, 0.48–0.63 s on two
/// (six alternated late imports, 2026-12-03).
fn load_input(conn: &Connection, ws: &str) -> Result<ClockInput, StoreError> {
    let (n, bytes) = stored_size(conn, ws)?;
    let corrected = corrections_of(conn, ws)?;
    let push = |inp: &mut engine::Bulk, keys: &[u8], data: &[u8], n: usize, dead: Option<&[u8]>| {
        rows::each_row(keys, data, n, dead, |_, r| {
            let kept = r.kept(if corrected.is_empty() { None } else { corrected.get(r.id).copied() });
            inp.push(kept.raw());
            Ok(())
        })
    };
    // Where the second half starts: the first chunk past half the rows (dead ones counted).
    let split = {
        let mut st = conn.prepare_cached("SELECT seq, n FROM message_chunks WHERE workspace = ? ORDER BY seq")?;
        let sizes = st.query_map([ws], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, usize>(1)?)))?;
        let mut seen = 0;
        let mut split = None;
        for x in sizes {
            let (seq, k) = x?;
            if seen >= n / 2 && seen > 0 {
                split = Some(seq);
                break;
            }
            seen += k;
        }
        split
    };
    let mut inp = engine::Bulk::default();
    // The ids take about the keys' bytes, and the names beside them (authors, conversations,
    // customers) up to about three times as many (`Bulk::reserve` gives the ids a third of what
    // it is given): reserved, not touched, so that growing never copies what is there. The
    // first part makes room for the second's, which is appended to it.
    inp.reserve(n, 3 * bytes);
    // Without a second half (one chunk), its query finds nothing and the other core nothing to do.
    let split = split.unwrap_or(u32::MAX);
    type Chunk = (usize, Vec<u8>, Vec<u8>, Option<Vec<u8>>);
    // One chunk in flight: chunks hold texts (up to 64 MB each).
    let (send, take) = std::sync::mpsc::sync_channel::<Chunk>(1);
    std::thread::scope(|sc| {
        let second = sc.spawn(|| {
            let mut part = engine::Bulk::default();
            for (k, (count, keys, data, dead)) in take.into_iter().enumerate() {
                if k == 0 {
                    part.reserve(n - n / 2, 3 * bytes / 2);
                }
                push(&mut part, &keys, &data, count, dead.as_deref())?;
            }
            Ok::<_, StoreError>(part)
        });
        // In turns: a chunk of the second half fetched and sent to the other core, then one of
        // the first half decoded here (two queries stepped on one connection).
        let first = (|| {
            let sql = format!("{CHUNKS} AND seq >= ? AND seq < ? ORDER BY seq");
            let (mut sa, mut sb) = (conn.prepare(&sql)?, conn.prepare(&sql)?);
            let mut qa = sa.query(params![ws, 0, split])?;
            let mut qb = sb.query(params![ws, split, u32::MAX])?;
            let (mut a_done, mut b_done) = (false, false);
            while !(a_done && b_done) {
                if !b_done {
                    match qb.next()? {
                        Some(r) => {
                            let (_, n, keys, data, dead) = chunk_of(r)?;
                            // The other core stopped: its error comes out of the join.
                            if send.send((n, keys.to_vec(), data.to_vec(), dead.map(<[u8]>::to_vec))).is_err() {
                                return Ok(());
                            }
                        }
                        None => b_done = true,
                    }
                }
                if !a_done {
                    match qa.next()? {
                        Some(r) => {
                            let (_, n, keys, data, dead) = chunk_of(r)?;
                            push(&mut inp, keys, data, n, dead)?;
                        }
                        None => a_done = true,
                    }
                }
            }
            Ok::<_, StoreError>(())
        })();
        drop(send);
        let part = second.join().expect("decoding rows does not panic");
        first?;
        let part = part?;
        if !part.is_empty() {
            inp.append(part);
        }
        Ok::<_, StoreError>(())
    })?;
    for e in load_events(conn, ws)? {
        inp.push_event(&e);
    }
    // The store keys rows by id: none is left out.
    Ok(inp.finish().0)
}

/// Replaces a workspace's facts with the clock's output over its current rows. `stale`: the
/// kept text facts were read with other settings (signature patterns) and are read again.
fn recompute(tx: &Transaction, ws: &str, cfg: &Config, stale: bool) -> Result<(), StoreError> {
    if stale {
        // One chunk in memory at a time: the workspace's texts may not fit.
        let seqs: Vec<u32> = {
            let mut st = tx.prepare_cached("SELECT seq FROM message_chunks WHERE workspace = ? ORDER BY seq")?;
            let v = st.query_map([ws], |r| r.get(0))?.collect::<Result<_, _>>()?;
            v
        };
        let mut get = tx.prepare_cached("SELECT n, keys, data FROM message_chunks WHERE workspace = ? AND seq = ?")?;
        let mut up =
            tx.prepare_cached("UPDATE message_chunks SET keys = ?, data = ? WHERE workspace = ? AND seq = ?")?;
        for seq in seqs {
            let (n, keys, data): (usize, Vec<u8>, Vec<u8>) =
                get.query_row(params![ws, seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            // Every row, dead ones included: a row keeps its place in its chunk.
            let mut all = Vec::with_capacity(n);
            rows::each_row(&keys, &data, n, None, |_, r| {
                let mut row = r.row();
                row.tf = clock::text_facts(&row.m, cfg);
                all.push(row);
                Ok(())
            })?;
            let (keys, data) = rows::encode(&all);
            up.execute(params![keys, data, ws, seq])?;
        }
    }
    let inp = load_input(tx, ws)?;
    write_facts(tx, ws, cfg, &inp)
}

/// Marks superseded rows dead, chunk by chunk. A chunk left with fewer live rows than dead ones
/// is written again with its live rows only (dropped when none is left): rows changed import
/// after import do not make the store grow without end. Nothing refers to a row's place once an
/// import is over (facts name rows by id), so places may change.
fn mark_dead(tx: &Transaction, ws: &str, dead: &HashMap<u32, Vec<u32>>) -> Result<(), StoreError> {
    let mut get =
        tx.prepare_cached("SELECT n, keys, data, dead FROM message_chunks WHERE workspace = ? AND seq = ?")?;
    let mut set = tx.prepare_cached("UPDATE message_chunks SET dead = ? WHERE workspace = ? AND seq = ?")?;
    let mut put = tx.prepare_cached(
        "UPDATE message_chunks SET n = ?, keys = ?, data = ?, dead = NULL WHERE workspace = ? AND seq = ?",
    )?;
    let mut drop = tx.prepare_cached("DELETE FROM message_chunks WHERE workspace = ? AND seq = ?")?;
    for (seq, idx) in dead {
        let (n, keys, data, old): (usize, Vec<u8>, Vec<u8>, Option<Vec<u8>>) =
            get.query_row(params![ws, seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        let bits = rows::mark_dead(old.as_deref(), n, idx);
        let gone = bits.iter().map(|b| b.count_ones() as usize).sum::<usize>();
        if gone * 2 <= n {
            set.execute(params![bits, ws, seq])?;
            continue;
        }
        let mut live = Vec::with_capacity(n - gone);
        rows::each_row(&keys, &data, n, Some(&bits), |_, r| {
            live.push(r.row());
            Ok(())
        })?;
        if live.is_empty() {
            drop.execute(params![ws, seq])?;
            continue;
        }
        let (keys, data) = rows::encode(&live);
        put.execute(params![live.len(), keys, data, ws, seq])?;
    }
    Ok(())
}

/// Where a stored row is: its chunk, its place there, its fingerprint, and where its current
/// version was last read (the `sources` id and line).
#[derive(Clone, Copy)]
struct Slot {
    seq: u32,
    idx: u32,
    fp: u64,
    src: i64,
    line: u64,
}

/// A workspace's rows by id, as an import sees them.
#[derive(Default)]
struct Known {
    ids: barometre_core::intern::Interner,
    /// By interned id.
    at: Vec<Slot>,
}

impl Known {
    /// The live rows of every chunk (their keys only: a few bytes a row).
    fn read(conn: &Connection, ws: &str) -> Result<Known, StoreError> {
        let mut k = Known::default();
        // Sized once: the keys' bytes hold the ids and a few bytes a row besides.
        let (n, bytes) = stored_size(conn, ws)?;
        k.ids.reserve(n, bytes);
        k.at.reserve(n);
        each_key_chunk(conn, ws, |seq, n, keys, dead| {
            let mut batch = Vec::with_capacity(KNOWN_BATCH);
            rows::each_key(keys, n, |i, id, fp| {
                if !rows::is_dead(dead, i) {
                    let slot = Slot { seq, idx: i as u32, fp, src: 0, line: 0 };
                    batch.push((barometre_core::intern::hash(id), id, slot));
                    if batch.len() == KNOWN_BATCH {
                        k.add(&mut batch)?;
                    }
                }
                Ok(())
            })?;
            k.add(&mut batch)
        })?;
        Ok(k)
    }

    /// Interns the ids of `batch` (stored rows, with their ids' hashes), the table's slots where
    /// they are looked for loaded into the cache first. Why: a million ids probe a table of 16 MB
    /// at random, each probe a trip to main memory; one at a time, the id table of a million
    /// stored rows took 0.30–0.34 s of every import into them.
    fn add(&mut self, batch: &mut Vec<(u64, &str, Slot)>) -> Result<(), StoreError> {
        std::hint::black_box(batch.iter().fold(0, |t, &(h, _, _)| t ^ self.ids.touch_hash(h)));
        for (h, id, slot) in batch.drain(..) {
            match self.ids.intern_hashed(h, id) {
                (_, true) => self.at.push(slot),
                (at, false) => {
                    return Err(StoreError::Corrupt(format!(
                        "message `{id}` stored twice (chunks {} and {})",
                        self.at[at as usize].seq, slot.seq
                    )))
                }
            }
        }
        Ok(())
    }
}

/// Stored ids interned together by [`Known::add`] (fewer than a test's chunk of rows in tests,
/// so that a batch ends inside a chunk there).
const KNOWN_BATCH: usize = if cfg!(test) { 8 } else { 64 };

/// Calls `each` with the chunk, place, id and fingerprint of every live row of a workspace,
/// reading only the chunks' keys (a few bytes a row).
fn each_live_key(
    conn: &Connection,
    ws: &str,
    mut each: impl FnMut(u32, usize, &str, u64) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    each_key_chunk(conn, ws, |seq, n, keys, dead| {
        rows::each_key(keys, n, |i, id, fp| if rows::is_dead(dead, i) { Ok(()) } else { each(seq, i, id, fp) })
    })
}

/// Calls `each` with the number, row count, keys and dead rows of every chunk of a workspace, in
/// order: what [`each_live_key`] and [`Known::read`] read (a few bytes a row).
fn each_key_chunk(
    conn: &Connection,
    ws: &str,
    mut each: impl FnMut(u32, usize, &[u8], Option<&[u8]>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut st =
        conn.prepare_cached("SELECT seq, n, keys, dead FROM message_chunks WHERE workspace = ? ORDER BY seq")?;
    let mut q = st.query([ws])?;
    while let Some(r) = q.next()? {
        let seq: u32 = r.get(0)?;
        let n: usize = r.get(1)?;
        let keys = r.get_ref(2)?.as_blob().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let dead = r.get_ref(3)?.as_blob_or_null().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        each(seq, n, keys, dead)?;
    }
    Ok(())
}

/// Stored rows read back by an import to confirm rows with equal fingerprints. The chunk read
/// last is kept whole (a re-import usually comes in the order of the first); of the others only
/// where each row starts is kept (8 bytes a row), and a row is then read alone from its blobs:
/// a re-import in another order costs two small reads a row, never a chunk a row.
#[derive(Default)]
struct Reread {
    /// By chunk: its SQLite row id and its rows' offsets.
    at: HashMap<u32, (i64, Vec<(u32, u32)>)>,
    /// The chunk read last, whole: its number, keys and data.
    last: Option<(u32, Vec<u8>, Vec<u8>)>,
}

impl Reread {
    fn row<T>(
        &mut self,
        conn: &Connection,
        ws: &str,
        seq: u32,
        idx: u32,
        f: impl FnOnce(&rows::RowRef) -> T,
    ) -> Result<T, StoreError> {
        let corrupt = || StoreError::Corrupt(format!("message chunk {seq} has no row {idx}"));
        if let std::collections::hash_map::Entry::Vacant(e) = self.at.entry(seq) {
            let (rowid, n, keys, data): (i64, usize, Vec<u8>, Vec<u8>) = conn.query_row(
                "SELECT rowid, n, keys, data FROM message_chunks WHERE workspace = ? AND seq = ?",
                params![ws, seq],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            e.insert((rowid, rows::offsets(&keys, &data, n)?));
            self.last = Some((seq, keys, data));
        }
        let (rowid, at) = &self.at[&seq];
        let (i, j) = (idx as usize, idx as usize + 1);
        let ((k0, d0), (k1, d1)) = (*at.get(i).ok_or_else(corrupt)?, *at.get(j).ok_or_else(corrupt)?);
        let (k, d) = (k0 as usize..k1 as usize, d0 as usize..d1 as usize);
        if let Some((_, keys, data)) = self.last.as_ref().filter(|l| l.0 == seq) {
            let (keys, data) = (keys.get(k).ok_or_else(corrupt)?, data.get(d).ok_or_else(corrupt)?);
            return Ok(f(&rows::row_of(keys, data)?));
        }
        let read = |column: &str, range: std::ops::Range<usize>| -> Result<Vec<u8>, StoreError> {
            let blob = conn.blob_open(rusqlite::DatabaseName::Main, "message_chunks", column, *rowid, true)?;
            let mut buf = vec![0u8; range.len()];
            blob.read_at_exact(&mut buf, range.start)?;
            Ok(buf)
        };
        let (keys, data) = (read("keys", k)?, read("data", d)?);
        Ok(f(&rows::row_of(&keys, &data)?))
    }
}

/// Whether a workspace holds no message and no event: an import into it takes every row as new.
fn holds_nothing(tx: &Transaction, ws: &str) -> Result<bool, StoreError> {
    Ok(tx.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM message_chunks WHERE workspace = ?1) AND NOT EXISTS (SELECT 1 FROM conversation_events WHERE workspace = ?1)",
        [ws],
        |r| r.get(0),
    )?)
}

/// Starts an import into `ws` within `tx`: the workspace made if new, the import recorded.
/// Returns the import's id and whether the stored facts were computed with other clock settings
/// than `cfg`'s (they are then computed again even if no row changes).
fn begin_import(tx: &Transaction, ws: &str, cfg: &Config) -> Result<(i64, bool), StoreError> {
    tx.execute("INSERT OR IGNORE INTO workspaces (name, created_ms) VALUES (?, ?)", params![ws, now_ms()])?;
    tx.execute("INSERT INTO imports (workspace, started_ms) VALUES (?, ?)", params![ws, now_ms()])?;
    let import_id = tx.last_insert_rowid();
    let stale = self_fingerprint(tx, ws)?.as_deref() != Some(cfg.clock_fingerprint().as_str());
    Ok((import_id, stale))
}

/// Runs the clock over `inp` and replaces the workspace's fact chunks with its output.
fn write_facts(tx: &Transaction, ws: &str, cfg: &Config, inp: &ClockInput) -> Result<(), StoreError> {
    let mut out = engine::run(inp, cfg);
    out.sort(inp);
    tx.execute("DELETE FROM fact_chunks WHERE workspace = ?", [ws])?;
    let mut put = tx.prepare_cached(
        "INSERT INTO fact_chunks (workspace, part, seq, lo_ms, hi_ms, n, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )?;
    put.execute(params![ws, "dict", 0, 0, 0, inp.dims.len(), chunks::encode_dict(&inp.dims)])?;
    // Chunks are encoded on every core while this thread writes them.
    let mut failed = None;
    chunks::encode_all_par(&out, inp, chunks::encoders(), |c| {
        match put.execute(params![ws, c.part, c.seq, c.lo, c.hi, c.n, c.data]) {
            Ok(_) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    });
    if let Some(e) = failed {
        return Err(e.into());
    }
    tx.execute(
        "INSERT INTO meta (workspace, key, value) VALUES (?, ?, ?) ON CONFLICT (workspace, key) DO UPDATE SET value = excluded.value",
        params![ws, FINGERPRINT, cfg.clock_fingerprint()],
    )?;
    Ok(())
}

/// Decodes `n` compact rows of a chunk onto a vector.
type Decode<H> = fn(&[u8], usize, &mut Vec<H>) -> Result<(), StoreError>;

/// Reads a part's compact rows, then its `_ids` chunks, and rebuilds the full facts.
#[allow(clippy::too_many_arguments)]
fn read_full<H, F>(
    conn: &Connection,
    ws: &str,
    part: &str,
    from: Option<Millis>,
    to: Option<Millis>,
    hot: Decode<H>,
    ids: impl Fn(&[H], &[u8], &mut Vec<F>) -> Result<(), StoreError>,
    out: &mut Vec<F>,
) -> Result<(), StoreError> {
    let mut rows = Vec::new();
    read_chunks(conn, ws, part, from, to, |n, b| hot(b, n, &mut rows))?;
    let mut at = 0;
    read_chunks(conn, ws, &format!("{part}_ids"), from, to, |n, b| {
        let r =
            ids(rows.get(at..at + n).ok_or_else(|| StoreError::Corrupt(format!("{part}: ids without rows")))?, b, out);
        at += n;
        r
    })
}

/// Reads the chunks of `part` that may hold instants in `[from, to)`.
fn read_chunks(
    conn: &Connection,
    ws: &str,
    part: &str,
    from: Option<Millis>,
    to: Option<Millis>,
    mut each: impl FnMut(usize, &[u8]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT n, data FROM fact_chunks WHERE workspace = ? AND part = ? AND hi_ms >= ? AND lo_ms < ? ORDER BY seq",
    )?;
    let mut rows = st.query(params![ws, part, from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX)])?;
    while let Some(r) = rows.next()? {
        let n: usize = r.get(0)?;
        let data = r.get_ref(1)?.as_blob().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        each(n, data)?;
    }
    Ok(())
}

/// How many facts the chunks of `part` in `[from, to)` hold: one allocation for all of them.
fn count_rows(
    conn: &Connection,
    ws: &str,
    part: &str,
    from: Option<Millis>,
    to: Option<Millis>,
) -> Result<usize, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT COALESCE(SUM(n), 0) FROM fact_chunks WHERE workspace = ? AND part = ? AND hi_ms >= ? AND lo_ms < ?",
        params![ws, part, from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX)],
        |r| r.get(0),
    )?;
    Ok(n as usize)
}

fn read_dict(conn: &Connection, ws: &str) -> Result<Dict, StoreError> {
    let mut d = Dict::default();
    read_chunks(conn, ws, "dict", None, None, |_, b| {
        d = chunks::decode_dict(b)?;
        Ok(())
    })?;
    Ok(d)
}

pub(crate) fn within(ms: Millis, from: Option<Millis>, to: Option<Millis>) -> bool {
    from.is_none_or(|f| ms >= f) && to.is_none_or(|t| ms < t)
}

/// The facts of a table that start in the period (records are read for the period already).
pub(crate) fn clip(mut t: FactTable, from: Option<Millis>, to: Option<Millis>) -> FactTable {
    t.complete_from = from;
    t.reqs.retain(|r| within(r.start_ms, from, to));
    t.msgs.retain(|m| within(m.ms, from, to));
    t.convs.retain(|c| within(c.start_ms, from, to));
    t
}

/// A chunk of facts to decode, read from SQLite on one thread and decoded on another.
enum Chunk {
    Reqs(usize, Vec<u8>),
    Msgs(usize, Vec<u8>),
    /// What a chunk of messages covers, and its bounds ([`chunks::encode_cover`]).
    Cover(i64, i64, Vec<u8>),
}

impl SqliteStore {
    /// The stored facts in `[from, to)` (current ones: the caller checked), their records
    /// credited; with `within`, a report's period, a chunk of messages wholly inside it is read
    /// as its cover ([`DataStore::table_covering`]). SQLite reads the chunks on this thread while
    /// another decodes them: the two overlap.
    fn stored_table(
        &self,
        ws: &str,
        cfg: &Config,
        from: Option<Millis>,
        to: Option<Millis>,
        cover: Option<crate::Covering>,
    ) -> Result<FactTable, StoreError> {
        let within = cover.map(|c| c.within);
        let mut t = FactTable { dict: read_dict(&self.conn, ws)?, ..FactTable::default() };
        t.reqs.reserve(count_rows(&self.conn, ws, "req", from, to)?);
        if within.is_none() {
            t.msgs.reserve(count_rows(&self.conn, ws, "msg", from, to)?);
        }
        // Conversations are left out of a report that reads none (a tenth of a report's time).
        if cover.is_none_or(|c| c.conversations) {
            read_chunks(&self.conn, ws, "conv", from, to, |n, b| chunks::decode_convs(b, n, &mut t.convs))?;
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(4);
        let (reqs, msgs, covered) = (&mut t.reqs, &mut t.msgs, &mut t.unattached_covered);
        std::thread::scope(|sc| -> Result<(), StoreError> {
            let decoder = sc.spawn(move || -> Result<(), StoreError> {
                for c in rx {
                    match c {
                        Chunk::Reqs(n, b) => chunks::decode_reqs(&b, n, reqs)?,
                        Chunk::Msgs(n, b) => chunks::decode_msgs(&b, n, msgs)?,
                        Chunk::Cover(lo, hi, b) => {
                            let unattached = chunks::decode_cover(&b, msgs)?;
                            if unattached > 0 {
                                covered.push((lo, hi, unattached));
                            }
                        }
                    }
                }
                Ok(())
            });
            let stopped = || StoreError::Corrupt("fact decoder stopped".into());
            let send = |c: Chunk| tx.send(c).map_err(|_| stopped());
            let read =
                read_chunks(&self.conn, ws, "req", from, to, |n, b| send(Chunk::Reqs(n, b.to_vec()))).and_then(|()| {
                    match within {
                        None => read_chunks(&self.conn, ws, "msg", from, to, |n, b| send(Chunk::Msgs(n, b.to_vec()))),
                        Some(within) => self.covered_msgs(ws, from, to, within, &send),
                    }
                });
            drop(tx);
            let decoded = decoder.join().map_err(|_| StoreError::Corrupt("fact decoder panicked".into()))?;
            // A decoder that failed stopped the reading: its own error says why.
            decoded.and(read)
        })?;
        self.records_credited(ws, cfg, from, to)?.add_to(&mut t);
        t.has_faq = cfg.faq.is_some();
        Ok(clip(t, from, to))
    }

    /// The chunks of messages in `[from, to)`: one wholly inside the report's period `within`
    /// as its cover; one that its bounds cut, whole (its rows outside are then left out as usual).
    fn covered_msgs(
        &self,
        ws: &str,
        from: Option<Millis>,
        to: Option<Millis>,
        within: (Option<Millis>, Option<Millis>),
        send: &dyn Fn(Chunk) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let inside = |lo: i64, hi: i64| within.0.is_none_or(|f| lo >= f) && within.1.is_none_or(|u| hi < u);
        let mut st = self.conn.prepare_cached(
            "SELECT f.seq, f.lo_ms, f.hi_ms, f.n, f.data, c.data FROM fact_chunks f JOIN fact_chunks c
               ON c.workspace = f.workspace AND c.part = ?3 AND c.seq = f.seq
             WHERE f.workspace = ?1 AND f.part = ?2 AND f.hi_ms >= ?4 AND f.lo_ms < ?5 ORDER BY f.seq",
        )?;
        let mut rows = st.query(params![ws, "msg", chunks::COVER, from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX)])?;
        while let Some(r) = rows.next()? {
            let (lo, hi, n): (i64, i64, usize) = (r.get(1)?, r.get(2)?, r.get(3)?);
            let blob = |i: usize| r.get_ref(i)?.as_blob().map_err(|e| StoreError::Corrupt(e.to_string()));
            send(if inside(lo, hi) {
                Chunk::Cover(lo, hi, blob(5)?.to_vec())
            } else {
                Chunk::Msgs(n, blob(4)?.to_vec())
            })?;
        }
        Ok(())
    }

    /// The rows of one query, each mapped to a value.
    fn query_rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&Row) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut st = self.conn.prepare_cached(sql)?;
        let v = st.query_map(params, map)?.collect::<Result<Vec<_>, _>>()?;
        Ok(v)
    }
}

/// The page cache of an import's connection, in KiB: an import writes its pages once and reads
/// few back, and a larger cache only makes the process touch more fresh memory (a million
/// messages imported 1.89 s → 1.47 s, median of 7, with 8 MiB instead of 128 MiB).
const IMPORT_CACHE_KIB: i64 = 8 << 10;

impl SqliteStore {
    /// Runs `f` with the connection's page cache set to [`IMPORT_CACHE_KIB`], then set back.
    fn with_import_cache<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let was: i64 = self.conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
        self.conn.execute_batch(&format!("PRAGMA cache_size = -{IMPORT_CACHE_KIB}"))?;
        let out = f(self);
        // Only a cache size: an import's outcome stands whether it is set back or not.
        let _ = self.conn.execute_batch(&format!("PRAGMA cache_size = {was}"));
        out
    }

    fn import_rows(
        &mut self,
        ws: &str,
        cfg: &Config,
        strict: bool,
        records: &mut dyn Iterator<Item = Result<Located, RowError>>,
        sink: &mut dyn ImportSink,
    ) -> Result<ImportSummary, StoreError> {
        let cfg = &*self.attached(ws, cfg)?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (import_id, stale) = begin_import(&tx, ws, cfg)?;
        // Into an empty workspace every row taken is new: the clock's input is built as rows come,
        // instead of read back from the store afterwards.
        let empty = holds_nothing(&tx, ws)?;
        let mut fresh: Option<engine::Bulk> = empty.then(engine::Bulk::default);
        let mut sum = ImportSummary::default();
        let mut read = 0u64;
        // This import's files: name → source id, and back.
        let mut src_of: HashMap<Arc<str>, i64> = HashMap::new();
        let mut file_of: HashMap<i64, Arc<str>> = HashMap::new();
        // Every stored row by id (read from the chunks' keys), then this import's rows too.
        let mut known = if empty { Known::default() } else { Known::read(&tx, ws)? };
        let mut next_seq: u32 =
            tx.query_row("SELECT COALESCE(MAX(seq) + 1, 0) FROM message_chunks WHERE workspace = ?", [ws], |r| {
                r.get(0)
            })?;
        // This import's rows not yet written.
        let mut pending = rows::Batch::default();
        // Rows a later version replaces, by chunk.
        let mut dead: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut reread = Reread::default();
        // What the facts depend on: messages new and changed, events new (their conversations).
        let (mut msgs_new, mut msgs_changed, mut events_new) = (0usize, 0usize, Vec::<String>::new());
        // Texts are read on every core while this thread stores rows.
        clock::with_texts_read(records, cfg, |records| -> Result<(), StoreError> {
            let mut new_src = tx.prepare_cached("INSERT INTO sources (import_id, file) VALUES (?, ?)")?;
            let mut put =
                tx.prepare_cached("INSERT INTO message_chunks (workspace, seq, n, keys, data) VALUES (?, ?, ?, ?, ?)")?;
            let mut flush = |pending: &mut rows::Batch, seq: &mut u32| -> Result<(), StoreError> {
                let (n, keys, data) = pending.take();
                put.execute(params![ws, *seq, n, keys, data])?;
                *seq += 1;
                Ok(())
            };
            let mut ev_put = tx.prepare_cached(
                "INSERT OR IGNORE INTO conversation_events (workspace, event_key, conversation_id, event, at_ms, offset_s, agent_id) VALUES (?,?,?,?,?,?,?)",
            )?;
            for rec in records {
                read += 1;
                if read.is_multiple_of(10_000) {
                    sink.progress(read);
                }
                let loc = match rec {
                    Ok(r) => r,
                    Err(e) => {
                        sum.reject(e, sink);
                        continue;
                    }
                };
                if let Record::Message(_) = &loc.record {
                    let Located { file, line, id_column, record: Record::Message(m) } = loc else { unreachable!() };
                    let src = match src_of.get(&file) {
                        Some(&s) => s,
                        None => {
                            new_src.execute(params![import_id, &*file])?;
                            let s = tx.last_insert_rowid();
                            src_of.insert(file.clone(), s);
                            file_of.insert(s, file.clone());
                            s
                        }
                    };
                    if barometre_core::ingest::unattached(&m) {
                        sum.unattached += 1;
                    }
                    let fp = m.fingerprint();
                    let (k, new) = known.ids.intern(&m.message_id);
                    let here = Slot { seq: next_seq, idx: pending.rows.len() as u32, fp, src, line };
                    if new {
                        known.at.push(here);
                    } else {
                        let was = known.at[k as usize];
                        // Equal fingerprints are confirmed on the stored row itself: a 64-bit
                        // hash alone could take a changed row for an unchanged one.
                        let same = was.fp == fp
                            && if was.seq == next_seq {
                                pending.rows[was.idx as usize].m == m
                            } else {
                                reread.row(&tx, ws, was.seq, was.idx, |r| r.is(&m))?
                            };
                        if let Some(first) = file_of.get(&was.src) {
                            // Seen earlier in this same import.
                            if same {
                                sum.rows += 1;
                                sum.unchanged += 1;
                            } else {
                                let reason =
                                    barometre_core::ingest::duplicate_id("message_id", &m.message_id, first, was.line);
                                sum.reject(RowError { file: file.to_string(), line, column: id_column, reason }, sink);
                            }
                            continue;
                        }
                        sum.rows += 1;
                        if same {
                            sum.unchanged += 1;
                            // Where the current version was last read: a different row with
                            // this id later in this import is a duplicate.
                            known.at[k as usize] = Slot { src, line, ..was };
                            continue;
                        }
                        sum.updated += 1;
                        msgs_changed += 1;
                        dead.entry(was.seq).or_default().push(was.idx);
                        known.at[k as usize] = here;
                    }
                    let tf = clock::text_facts(&m, cfg);
                    if new {
                        sum.rows += 1;
                        sum.inserted += 1;
                        msgs_new += 1;
                        if let Some(inp) = &mut fresh {
                            inp.push_read(&m, &tf);
                        }
                    }
                    if pending.push(rows::Row { m, tf, fp, src, line }) {
                        flush(&mut pending, &mut next_seq)?;
                    }
                    continue;
                }
                match &loc.record {
                    Record::Message(_) => unreachable!("taken above"),
                    Record::Survey(_)
                    | Record::Invitation(_)
                    | Record::Contact(_)
                    | Record::Post(_)
                    | Record::Customer(_)
                    | Record::Order(_)
                    | Record::Review(_)
                    | Record::Probe(_) => {
                        let src = match src_of.get(&loc.file) {
                            Some(&s) => s,
                            None => {
                                new_src.execute(params![import_id, &*loc.file])?;
                                let s = tx.last_insert_rowid();
                                src_of.insert(loc.file.clone(), s);
                                file_of.insert(s, loc.file.clone());
                                s
                            }
                        };
                        match keyed::upsert(&tx, ws, &loc, src, &file_of)? {
                            keyed::Outcome::Inserted => sum.inserted += 1,
                            keyed::Outcome::Updated => sum.updated += 1,
                            keyed::Outcome::Unchanged => sum.unchanged += 1,
                            keyed::Outcome::Conflict(e) => {
                                sum.reject(e, sink);
                                continue;
                            }
                        }
                        sum.rows += 1;
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
                            events_new.push(e.conversation_id.clone());
                            // An event given twice is stored, and counted, once.
                            if let Some(inp) = &mut fresh {
                                inp.push_event(e);
                            }
                        } else {
                            sum.unchanged += 1;
                        }
                    }
                }
            }
            if !pending.rows.is_empty() {
                flush(&mut pending, &mut next_seq)?;
            }
            Ok(())
        })?;
        sink.progress(read);
        // What the loop kept (every id, chunks read back) is not held through the clock's run.
        drop((known, reread, pending));
        sink.phase(crate::ROWS_STORED);
        if strict && sum.rejected_count > 0 {
            tx.rollback()?;
            return Ok(sum);
        }
        if !dead.is_empty() {
            mark_dead(&tx, ws, &dead)?;
        }
        // Surveys, customers, posts… are no input of the clock: importing only those into a
        // workspace leaves its facts as they are.
        let clock_input_changed = msgs_new + msgs_changed > 0 || !events_new.is_empty();
        if (fresh.is_some() && sum.inserted + sum.updated > 0) || clock_input_changed || stale {
            match fresh {
                // Only new ids were pushed: nothing is left out.
                Some(bulk) => write_facts(&tx, ws, cfg, &bulk.finish().0)?,
                // Only appended: the conversations they touch are computed again, alone.
                None if !stale && msgs_changed == 0 => {
                    let inp = load_input(&tx, ws)?;
                    sink.phase("rows read back");
                    match patch::patch_facts(&tx, ws, cfg, &inp, inp.len() - msgs_new, &[], &events_new)? {
                        Some(p) => sink.note(&format!(
                            "facts of {} conversations computed again, {} fact chunks written",
                            p.conversations, p.chunks
                        )),
                        None => write_facts(&tx, ws, cfg, &inp)?,
                    }
                }
                None => recompute(&tx, ws, cfg, stale)?,
            }
            sink.phase("facts computed and stored");
        }
        tx.commit()?;
        sink.phase("committed");
        sum.committed = true;
        Ok(sum)
    }
}

impl DataStore for SqliteStore {
    fn import(
        &mut self,
        ws: &str,
        cfg: &Config,
        strict: bool,
        records: &mut dyn Iterator<Item = Result<Located, RowError>>,
        sink: &mut dyn ImportSink,
    ) -> Result<ImportSummary, StoreError> {
        self.with_import_cache(|s| s.import_rows(ws, cfg, strict, records, sink))
    }

    fn import_in_halves(
        &mut self,
        ws: &str,
        cfg: &Config,
        strict: bool,
        input: &barometre_core::ingest::source::Input,
        at: (u64, u64),
        progress: &(dyn Fn(u64) + Sync),
        sink: &mut dyn ImportSink,
    ) -> Result<Option<ImportSummary>, StoreError> {
        self.with_import_cache(|s| {
            let cfg = &*s.attached(ws, cfg)?;
            let aside = s.aside.clone();
            halves::import(&mut s.conn, aside, ws, cfg, strict, input, at, progress, sink)
        })
    }

    fn table(&self, ws: &str, cfg: &Config, from: Option<Millis>, to: Option<Millis>) -> Result<FactTable, StoreError> {
        let cfg = &*self.attached(ws, cfg)?;
        self.refresh_if_outdated(ws, cfg)?;
        if self.fingerprint(ws)?.as_deref() != Some(cfg.clock_fingerprint().as_str()) {
            let f = self.facts(ws, cfg, None, None)?;
            let mut t = FactTable::from_facts(&f);
            let mut rec = self.records(ws, from, to)?;
            rec.credit_conversations(|| Ok::<_, StoreError>(f.first_agents()))?;
            rec.add_to(&mut t);
            t.has_faq = cfg.faq.is_some();
            return Ok(clip(t, from, to));
        }
        self.stored_table(ws, cfg, from, to, None)
    }

    fn table_covering(
        &self,
        ws: &str,
        cfg: &Config,
        from: Option<Millis>,
        to: Option<Millis>,
        cover: crate::Covering,
    ) -> Result<FactTable, StoreError> {
        let whole = cfg;
        let cfg = &*self.attached(ws, cfg)?;
        self.refresh_if_outdated(ws, cfg)?;
        // Facts stored without covers (by an earlier binary, until the next import) are read whole.
        let count = |part: &str| -> Result<i64, StoreError> {
            Ok(self.conn.query_row(
                "SELECT COUNT(*) FROM fact_chunks WHERE workspace = ? AND part = ?",
                params![ws, part],
                |r| r.get(0),
            )?)
        };
        let current = self.fingerprint(ws)?.as_deref() == Some(cfg.clock_fingerprint().as_str());
        if !current || count(chunks::COVER)? != count("msg")? {
            return self.table(ws, whole, from, to);
        }
        self.stored_table(ws, cfg, from, to, Some(cover))
    }

    fn facts(&self, ws: &str, cfg: &Config, from: Option<Millis>, to: Option<Millis>) -> Result<Facts, StoreError> {
        let cfg = &*self.attached(ws, cfg)?;
        self.refresh_if_outdated(ws, cfg)?;
        let mut f = if self.fingerprint(ws)?.as_deref() != Some(cfg.clock_fingerprint().as_str()) {
            let (msgs, evs) = load_rows(&self.conn, ws, true)?;
            clock::run(&msgs, &evs, cfg)
        } else {
            let d = read_dict(&self.conn, ws)?;
            let mut f = Facts::default();
            let c = &self.conn;
            read_full(
                c,
                ws,
                "req",
                from,
                to,
                chunks::decode_reqs,
                |h, b, o| chunks::decode_req_facts(&d, h, b, o),
                &mut f.requests,
            )?;
            read_full(
                c,
                ws,
                "conv",
                from,
                to,
                chunks::decode_convs,
                |h, b, o| chunks::decode_conv_facts(&d, h, b, o),
                &mut f.conversations,
            )?;
            read_full(
                c,
                ws,
                "msg",
                from,
                to,
                chunks::decode_msgs,
                |h, b, o| chunks::decode_msg_facts(&d, h, b, o),
                &mut f.messages,
            )?;
            f
        };
        f.requests.retain(|r| within(r.start_ms, from, to));
        f.messages.retain(|m| within(m.ms, from, to));
        f.conversations.retain(|c| within(c.start_ms, from, to));
        Ok(f)
    }

    fn records(&self, ws: &str, from: Option<Millis>, to: Option<Millis>) -> Result<Records, StoreError> {
        let (lo, hi) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
        let surveys = self.query_rows(
            "SELECT response_id, survey, score, scale_min, scale_max, answered_ms, offset_s, conversation_id, agent_id, \
             channel, account, customer_id, comment, answer FROM surveys WHERE workspace = ? \
             ORDER BY answered_ms, response_id",
            params![ws],
            |r| {
                Ok(SurveyAnswer {
                    response_id: r.get(0)?,
                    survey: r.get(1)?,
                    score: r.get(2)?,
                    scale_min: r.get(3)?,
                    scale_max: r.get(4)?,
                    answered_at: Stamp { ms: r.get(5)?, offset_s: r.get(6)? },
                    conversation_id: r.get(7)?,
                    agent_id: r.get(8)?,
                    channel: r.get(9)?,
                    account: r.get(10)?,
                    customer_id: r.get(11)?,
                    comment: r.get(12)?,
                    answer: r.get(13)?,
                })
            },
        )?;
        let contacts = self.query_rows(
            "SELECT contact_id, channel, account, queued_ms, offset_s, answered_ms, ended_ms, agent_id FROM contacts \
             WHERE workspace = ? AND queued_ms >= ? AND queued_ms < ? ORDER BY queued_ms, contact_id",
            params![ws, lo, hi],
            |r| {
                let off: i32 = r.get(4)?;
                let at = |ms: Option<i64>| ms.map(|ms| Stamp { ms, offset_s: off });
                Ok(Contact {
                    contact_id: r.get(0)?,
                    channel: r.get(1)?,
                    account: r.get(2)?,
                    queued_at: Stamp { ms: r.get(3)?, offset_s: off },
                    answered_at: at(r.get(5)?),
                    ended_at: at(r.get(6)?),
                    agent_id: r.get(7)?,
                })
            },
        )?;
        let invitations = self.query_rows(
            "SELECT invitation_id, survey, sent_ms, offset_s, channel, account, theme, customer_id FROM survey_invitations \
             WHERE workspace = ? ORDER BY sent_ms, invitation_id",
            params![ws],
            |r| {
                Ok(SurveyInvitation {
                    invitation_id: r.get(0)?,
                    survey: r.get(1)?,
                    sent_at: Stamp { ms: r.get(2)?, offset_s: r.get(3)? },
                    channel: r.get(4)?,
                    account: r.get(5)?,
                    theme: r.get(6)?,
                    customer_id: r.get(7)?,
                })
            },
        )?;
        let posts = self.query_rows(
            "SELECT post_id, account, channel, published_ms, offset_s, theme, impressions, reach, engagements FROM posts \
             WHERE workspace = ? AND published_ms >= ? AND published_ms < ? ORDER BY published_ms, post_id",
            params![ws, lo, hi],
            |r| {
                Ok(Post {
                    post_id: r.get(0)?,
                    account: r.get(1)?,
                    channel: r.get(2)?,
                    published_at: Stamp { ms: r.get(3)?, offset_s: r.get(4)? },
                    theme: r.get(5)?,
                    impressions: r.get::<_, i64>(6)? as u64,
                    reach: r.get::<_, i64>(7)? as u64,
                    engagements: r.get::<_, i64>(8)? as u64,
                })
            },
        )?;
        // Customers and orders are all read: figures at the period's start need earlier rows.
        let moment = |s: String| Moment::parse(&s).map_err(|e| StoreError::Corrupt(format!("stored date `{s}`: {e}")));
        let mut st = self.conn.prepare_cached(
            "SELECT customer_id, account, since, churned_at, referred_by FROM customers WHERE workspace = ? ORDER BY customer_id",
        )?;
        let raw = st
            .query_map([ws], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, Option<String>>(3)?, r.get(4)?)))?
            .collect::<Result<Vec<(String, String, String, Option<String>, Option<String>)>, _>>()?;
        let mut customers = Vec::with_capacity(raw.len());
        for (customer_id, account, since, churned, referred_by) in raw {
            customers.push(Customer {
                customer_id,
                account,
                since: moment(since)?,
                churned_at: churned.map(moment).transpose()?,
                referred_by,
            });
        }
        let mut st = self.conn.prepare_cached(
            "SELECT order_id, customer_id, ordered_at, amount, margin, currency FROM orders WHERE workspace = ? ORDER BY order_id",
        )?;
        let raw = st
            .query_map([ws], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
            .collect::<Result<Vec<(String, String, String, f64, Option<f64>, Option<String>)>, _>>()?;
        let mut orders = Vec::with_capacity(raw.len());
        for (order_id, customer_id, at, amount, margin, currency) in raw {
            orders.push(Order { order_id, customer_id, ordered_at: moment(at)?, amount, margin, currency });
        }
        let reviews = self.query_rows(
            "SELECT review_key, conversation_id, reviewer, agent_id, criterion, score, at_ms, offset_s FROM qa_reviews \
             WHERE workspace = ? AND at_ms >= ? AND at_ms < ? ORDER BY at_ms, review_key",
            params![ws, lo, hi],
            |r| {
                Ok(Review {
                    key: r.get(0)?,
                    conversation_id: r.get(1)?,
                    reviewer: r.get(2)?,
                    agent_id: r.get(3)?,
                    criterion: r.get(4)?,
                    score: r.get(5)?,
                    at: Stamp { ms: r.get(6)?, offset_s: r.get(7)? },
                })
            },
        )?;
        let faq = faq_of(&self.conn, ws)?;
        Ok(Records { reviews, customers, orders, posts, surveys, contacts, invitations, faq, ..Records::default() })
    }

    fn conversation_facts(&self, ws: &str, cfg: &Config, conversation_id: &str) -> Result<Facts, StoreError> {
        let cfg = &*self.attached(ws, cfg)?;
        let mut f = self.facts(ws, cfg, None, None)?;
        f.requests.retain(|r| r.conversation_id == conversation_id);
        f.messages.retain(|m| m.conversation_id == conversation_id);
        f.conversations.retain(|c| c.conversation_id == conversation_id);
        Ok(f)
    }

    fn rows(&self, ws: &str) -> Result<(Vec<Message>, Vec<ConversationEvent>), StoreError> {
        load_rows(&self.conn, ws, true)
    }

    fn messages_by_id(&self, ws: &str, ids: &[String]) -> Result<Vec<Message>, StoreError> {
        let found = find_rows(&self.conn, ws, ids)?;
        let mut out = Vec::new();
        let mut corrected =
            self.conn.prepare_cached("SELECT label FROM label_corrections WHERE workspace = ? AND message_id = ?")?;
        for id in ids {
            // An id asked twice is answered twice, as before.
            if let Some(mut m) = found.get(id).cloned() {
                let l: Option<String> = corrected.query_row(params![ws, id], |r| r.get(0)).optional()?;
                m.corrected = l.as_deref().map(corrected_label).transpose()?;
                out.push(m);
            }
        }
        Ok(out)
    }

    fn correct_label_with(
        &mut self,
        ws: &str,
        cfg: &Config,
        message_id: &str,
        label: Option<Label>,
        by: Option<&str>,
        sink: &mut dyn ImportSink,
    ) -> Result<bool, StoreError> {
        // Asked first: the change is then taken in one transaction, whole or not at all.
        sink.before_commit()?;
        let cfg = &*self.attached(ws, cfg)?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found = find_rows(&tx, ws, &[message_id.to_string()])?;
        if found.get(message_id).map(|m| m.direction) != Some(Direction::In) {
            return Ok(false);
        }
        match label {
            Some(l) => tx.execute(
                "INSERT INTO label_corrections (workspace, message_id, label, corrected_by, corrected_ms) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (workspace, message_id) DO UPDATE SET label = excluded.label, corrected_by = excluded.corrected_by, \
                 corrected_ms = excluded.corrected_ms",
                params![ws, message_id, l.as_str(), by, now_ms()],
            )?,
            None => {
                let n = tx.execute(
                    "DELETE FROM label_corrections WHERE workspace = ? AND message_id = ?",
                    params![ws, message_id],
                )?;
                if n == 0 {
                    // Nothing to remove: nothing changes.
                    return Ok(true);
                }
                n
            }
        };
        // A change to the workspace's figures, as an import is: reports computed before are
        // stale (the imports log is the workspace's version).
        tx.execute("INSERT INTO imports (workspace, started_ms) VALUES (?, ?)", params![ws, now_ms()])?;
        let stale = self_fingerprint(&tx, ws)?.is_some_and(|f| f != cfg.clock_fingerprint());
        if stale {
            recompute(&tx, ws, cfg, stale)?;
        } else {
            // One message's label: its conversation's facts only (an analyst waits for them).
            let inp = load_input(&tx, ws)?;
            let at = inp.ids.find(message_id).map(|i| vec![i]).unwrap_or_default();
            if patch::patch_facts(&tx, ws, cfg, &inp, inp.len(), &at, &[])?.is_none() {
                write_facts(&tx, ws, cfg, &inp)?;
            }
        }
        tx.commit()?;
        Ok(true)
    }

    fn corrections(&self, ws: &str) -> Result<Vec<Correction>, StoreError> {
        self.query_rows(
            "SELECT message_id, label, corrected_by, corrected_ms FROM label_corrections WHERE workspace = ? ORDER BY message_id",
            [ws],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?)),
        )?
        .into_iter()
        .map(|(message_id, l, by, at_ms)| {
            let label = corrected_label(&l)?;
            Ok(Correction { message_id, label, by, at_ms })
        })
        .collect()
    }

    fn workspaces(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self.conn.prepare("SELECT name FROM workspaces ORDER BY name")?;
        let v = st.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
        Ok(v)
    }

    fn probes(&self, ws: &str) -> Result<Vec<Probe>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT probe_id, campaign, brand, channel, sent_ms, offset_s, answered_ms, resolution, signed FROM probes \
             WHERE workspace = ? ORDER BY sent_ms, probe_id",
        )?;
        let v = st
            .query_map([ws], |r| {
                let off: i32 = r.get(5)?;
                let res: Option<String> = r.get(7)?;
                Ok(Probe {
                    probe_id: r.get(0)?,
                    campaign: r.get(1)?,
                    brand: r.get(2)?,
                    channel: r.get(3)?,
                    sent_at: Stamp { ms: r.get(4)?, offset_s: off },
                    answered_at: r.get::<_, Option<i64>>(6)?.map(|ms| Stamp { ms, offset_s: off }),
                    resolution: res.as_deref().and_then(Resolution::parse),
                    signed: r.get::<_, Option<i64>>(8)?.map(|x| x != 0),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(v)
    }

    fn version(&self, ws: &str) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("SELECT COALESCE(MAX(id), 0) FROM imports WHERE workspace = ?", [ws], |r| r.get(0))?)
    }

    fn import_faq_with(
        &mut self,
        ws: &str,
        cfg: &Config,
        entries: &[FaqEntry],
        sink: &mut dyn ImportSink,
    ) -> Result<FaqSummary, StoreError> {
        sink.before_commit()?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("INSERT OR IGNORE INTO workspaces (name, created_ms) VALUES (?, ?)", params![ws, now_ms()])?;
        let changed = faq_of(&tx, ws)? != entries;
        if changed {
            tx.execute("DELETE FROM faq_entries WHERE workspace = ?", [ws])?;
            let mut put = tx.prepare_cached(
                "INSERT INTO faq_entries (workspace, position, entry_id, question, answer) VALUES (?, ?, ?, ?, ?)",
            )?;
            for (i, e) in entries.iter().enumerate() {
                put.execute(params![ws, i as i64 + 1, e.id, e.question, e.answer])?;
            }
            drop(put);
            // A change to the workspace's figures, as an import is.
            tx.execute("INSERT INTO imports (workspace, started_ms) VALUES (?, ?)", params![ws, now_ms()])?;
            let cfg = cfg.with_faq(Some(Arc::new(Faq::new(entries.to_vec()))));
            // Every text is read again: the matches are the new base's.
            if self_fingerprint(&tx, ws)?.is_some() {
                recompute(&tx, ws, &cfg, true)?;
            }
        }
        tx.commit()?;
        let t = self.table(ws, cfg, None, None)?;
        Ok(FaqSummary::counted(entries.len(), changed, &t))
    }

    fn faq(&self, ws: &str) -> Result<Vec<FaqEntry>, StoreError> {
        faq_of(&self.conn, ws)
    }
}

impl ControlPlane for SqliteStore {
    fn known_workspaces(&self) -> Result<Vec<String>, StoreError> {
        DataStore::workspaces(self)
    }
    fn create_token(&mut self, workspace: &str, role: Role, expires_ms: Option<Millis>) -> Result<String, StoreError> {
        let token = crate::auth::new_token()?;
        self.conn.execute(
            "INSERT INTO tokens (hash, workspace, role, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?)",
            params![crate::auth::hash_token(&token), workspace, role.as_str(), now_ms(), expires_ms],
        )?;
        Ok(token)
    }

    fn token(&self, token: &str) -> Result<Option<(String, Role)>, StoreError> {
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT workspace, role FROM tokens WHERE hash = ? AND (expires_ms IS NULL OR expires_ms > ?)",
                params![crate::auth::hash_token(token), now_ms()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.and_then(|(w, r)| Role::parse(&r).map(|r| (w, r))))
    }

    fn tokens(&self) -> Result<Vec<crate::auth::TokenInfo>, StoreError> {
        self.query_rows(
            "SELECT hash, workspace, role, created_ms, expires_ms FROM tokens ORDER BY created_ms, hash",
            [],
            |r| {
                let hash: String = r.get(0)?;
                let role: String = r.get(2)?;
                Ok(crate::auth::TokenInfo {
                    id: crate::auth::token_id(&hash),
                    workspace: r.get(1)?,
                    role: Role::parse(&role).unwrap_or(Role::Viewer),
                    created_ms: r.get(3)?,
                    expires_ms: r.get(4)?,
                })
            },
        )
    }

    fn revoke_token(&mut self, token_or_id: &str) -> Result<u64, StoreError> {
        let t = token_or_id.trim();
        let n = if t.starts_with(crate::auth::TOKEN_PREFIX) {
            self.conn.execute("DELETE FROM tokens WHERE hash = ?", [crate::auth::hash_token(t)])?
        } else if t.len() == crate::auth::TOKEN_ID_LEN && t.bytes().all(|c| c.is_ascii_hexdigit()) {
            self.conn.execute("DELETE FROM tokens WHERE substr(hash, 1, ?) = ?", params![t.len() as i64, t])?
        } else {
            0
        };
        Ok(n as u64)
    }

    fn set_password(&mut self, name: &str, password_hash: &str) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let n = tx.execute("UPDATE users SET password = ? WHERE name = ?", params![password_hash, name])?;
        // Whoever was logged in as this user with the old password is logged out.
        tx.execute("DELETE FROM sessions WHERE user = ?", [name])?;
        tx.commit()?;
        Ok(n == 1)
    }

    fn create_user(&mut self, name: &str, workspace: &str, role: Role, password_hash: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO users (name, workspace, role, password, created_ms) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET workspace = excluded.workspace, role = excluded.role, password = excluded.password",
            params![name, workspace, role.as_str(), password_hash, now_ms()],
        )?;
        // Re-creating a user replaces the password: whoever was logged in with the old one is out.
        self.conn.execute("DELETE FROM sessions WHERE user = ?", [name])?;
        Ok(())
    }

    fn user(&self, name: &str) -> Result<Option<(String, Role, String)>, StoreError> {
        let row: Option<(String, String, String)> = self
            .conn
            .query_row("SELECT workspace, role, password FROM users WHERE name = ?", [name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        Ok(row.and_then(|(w, role, hash)| Role::parse(&role).map(|r| (w, r, hash))))
    }

    fn login(&self, name: &str, password: &str) -> Result<Option<(String, Role)>, StoreError> {
        let row: Option<(String, String, String)> = self
            .conn
            .query_row("SELECT workspace, role, password FROM users WHERE name = ?", [name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let Some((w, role, hash)) = row else {
            // An unknown name costs the same hash as a known one: answers' timing does not tell
            // which names exist.
            crate::auth::verify_password(password, crate::auth::UNKNOWN_USER_HASH);
            return Ok(None);
        };
        Ok(Some((w, role, hash)).and_then(|(w, role, hash)| {
            (crate::auth::verify_password(password, &hash))
                .then_some(())
                .and_then(|()| Role::parse(&role).map(|r| (w, r)))
        }))
    }

    fn create_session(&mut self, user: &str, ttl_ms: Millis) -> Result<(String, String), StoreError> {
        let id = crate::auth::new_token()?;
        let csrf = crate::auth::new_token()?;
        self.conn.execute("DELETE FROM sessions WHERE expires_ms < ?", [now_ms()])?;
        self.conn.execute(
            "INSERT INTO sessions (hash, user, csrf, expires_ms) VALUES (?, ?, ?, ?)",
            params![crate::auth::hash_token(&id), user, csrf, now_ms() + ttl_ms],
        )?;
        Ok((id, csrf))
    }

    fn session(&self, id: &str) -> Result<Option<crate::auth::Session>, StoreError> {
        let row: Option<(String, String, String, String)> = self
            .conn
            .query_row(
                "SELECT s.user, u.workspace, u.role, s.csrf FROM sessions s JOIN users u ON u.name = s.user \
                 WHERE s.hash = ? AND s.expires_ms > ?",
                params![crate::auth::hash_token(id), now_ms()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        Ok(row.and_then(|(user, workspace, role, csrf)| {
            Role::parse(&role).map(|role| crate::auth::Session { user, workspace, role, csrf })
        }))
    }

    fn end_session(&mut self, id: &str) -> Result<(), StoreError> {
        self.conn.execute("DELETE FROM sessions WHERE hash = ?", [crate::auth::hash_token(id)])?;
        Ok(())
    }

    fn create_workspace(&mut self, name: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .execute("INSERT OR IGNORE INTO workspaces (name, created_ms) VALUES (?, ?)", params![name, now_ms()])?
            == 1)
    }

    /// A file lock in the folder `NAME.locks` beside the store's file `NAME`; in this process
    /// only for a store in memory.
    fn lock_workspace(&self, ws: &str) -> Result<crate::WorkspaceLock<'_>, StoreError> {
        match self.conn.path().filter(|p| !p.is_empty()) {
            Some(path) => crate::lock::file_lock(Path::new(&format!("{path}.locks")), ws),
            None => Ok(self.locks.lock(ws)),
        }
    }
}

fn self_fingerprint(tx: &Transaction, ws: &str) -> Result<Option<String>, StoreError> {
    Ok(tx
        .query_row("SELECT value FROM meta WHERE workspace = ? AND key = ?", params![ws, FINGERPRINT], |r| r.get(0))
        .optional()?)
}

#[cfg(test)]
mod upgrade_tests {
    use super::*;
    use barometre_core::ingest::{Format, Kind, RecordReader};

    #[test]
    fn rows_of_a_store_written_before_chunks_are_moved_once_and_known_again() {
        let cfg = Config::default();
        let csv = "message_id,created_at,direction,account,channel,author_id,conversation_id,text,handle_seconds\n\
                   q1,2026-04-06T08:00:00+02:00,in,acme,chat,u1,k1,\"Ma box\r\nne marche plus\",\n\
                   a1,2026-04-06T08:05:00Z,out,acme,chat,ag,k1,Voici,12.5\n";
        let import = |s: &mut SqliteStore| {
            let mut r = RecordReader::new("m.csv", Kind::Messages, Format::Csv, csv.as_bytes());
            s.import("w", &cfg, false, &mut r, &mut ()).unwrap()
        };
        let mut now = SqliteStore::memory().unwrap();
        import(&mut now);
        let (want, _) = now.rows("w").unwrap();
        // A store as version 14 left it: the same rows in the `messages` table.
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL);",
        )
        .unwrap();
        for (v, sql) in MIGRATIONS.iter().filter(|(v, _)| *v < CHUNKED_ROWS) {
            conn.execute_batch(sql).unwrap();
            conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", [v]).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO workspaces VALUES ('w', 0); INSERT INTO imports (workspace, started_ms) VALUES ('w', 0);
             INSERT INTO sources (import_id, file) VALUES (1, 'm.csv');",
        )
        .unwrap();
        for (line, m) in want.iter().enumerate() {
            let tf = clock::text_facts(m, &cfg);
            let b = |v: Option<bool>| v.map(i64::from);
            conn.execute(
                &format!(
                    "INSERT INTO messages (workspace, {MESSAGE_COLS}, fp, signed, thanks, label, competitor, faq, themes, src, line) \
                     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                ),
                params![
                    "w", m.message_id, m.created_at.ms, m.created_at.offset_s, m.direction.as_str(), m.account, m.channel,
                    m.author_id, m.conversation_id, m.reply_to, m.customer_id, m.text, m.bot, b(m.public), m.kind,
                    b(m.in_scope), b(m.actionable), m.handle_seconds, m.team, m.fingerprint() as i64, b(tf.signed),
                    tf.bare_thanks, tf.label.map(|l| i64::from(Label::code(Some(l)))), tf.competitor, tf.faq,
                    tf.themes as i64, 1, line as i64 + 2
                ],
            )
            .unwrap();
        }
        let mut old = SqliteStore::setup(conn, true).unwrap();
        assert_eq!(old.schema_version().unwrap(), CHUNKED_ROWS);
        let left: i64 = old
            .conn
            .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'messages'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(left, 0, "moved, and the old table dropped: an older binary fails instead of finding nothing");
        let mut moved = old.rows("w").unwrap().0;
        moved.sort_by(|a, b| a.message_id.cmp(&b.message_id));
        let mut want = want;
        want.sort_by(|a, b| a.message_id.cmp(&b.message_id));
        assert_eq!(moved, want);
        // Known again by id and content: importing the same file changes nothing.
        let again = import(&mut old);
        assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 2));
        assert_eq!(old.table("w", &cfg, None, None).unwrap(), now.table("w", &cfg, None, None).unwrap());
    }

    #[test]
    fn a_store_holding_a_message_twice_is_said_corrupt_by_the_next_import() {
        let cfg = Config::default();
        let head = "message_id,created_at,direction,account,channel,author_id,conversation_id,text\n";
        // Batches of the id table ending inside chunks and at their ends, over several chunks.
        let body: String = (0..KNOWN_BATCH * 9 + 6)
            .map(|i| format!("m{i},2026-04-06T08:00:{:02}Z,in,acme,chat,u{i},k{i},t\n", i % 60))
            .collect();
        let mut s = SqliteStore::memory().unwrap();
        let import = |s: &mut SqliteStore, csv: &str| {
            let mut r = RecordReader::new("m.csv", Kind::Messages, Format::Csv, csv.as_bytes());
            s.import("w", &cfg, false, &mut r, &mut ())
        };
        import(&mut s, &format!("{head}{body}")).unwrap();
        let again = import(&mut s, &format!("{head}{body}")).unwrap();
        assert_eq!((again.unchanged, again.inserted), (KNOWN_BATCH as u64 * 9 + 6, 0));
        // The chunk stored a second time, as no import writes it.
        s.conn
            .execute(
                "INSERT INTO message_chunks (workspace, seq, n, keys, data) SELECT workspace, seq + 1000, n, keys, data FROM message_chunks WHERE workspace = 'w'",
                [],
            )
            .unwrap();
        let err = import(&mut s, &format!("{head}late,2026-04-07T08:00:00Z,in,acme,chat,u9,k9,t\n")).unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt(m) if m == "message `m0` stored twice (chunks 0 and 1000)"),
            "{err}"
        );
    }

    #[test]
    fn a_reimport_in_another_order_confirms_rows_across_chunks() {
        let cfg = Config::default();
        let n = rows::ROWS_PER_CHUNK + rows::ROWS_PER_CHUNK / 2 + 4;
        let line = |i: usize| {
            format!("m{i},2026-04-06T08:{:02}:{:02}Z,in,acme,chat,u{i},k{i},texte {i}\n", i / 60 % 60, i % 60)
        };
        let head = "message_id,created_at,direction,account,channel,author_id,conversation_id,text\n";
        let mut s = SqliteStore::memory().unwrap();
        let import = |s: &mut SqliteStore, body: String| {
            let csv = format!("{head}{body}");
            let mut r = RecordReader::new("m.csv", Kind::Messages, Format::Csv, csv.as_bytes());
            s.import("w", &cfg, false, &mut r, &mut ()).unwrap()
        };
        let first = import(&mut s, (0..n).map(line).collect());
        assert_eq!((first.inserted, first.rejected_count), (n as u64, 0));
        let chunks: i64 = s.conn.query_row("SELECT COUNT(*) FROM message_chunks", [], |r| r.get(0)).unwrap();
        assert_eq!(chunks, 2);
        // Rows of both chunks in turn: each confirmation reads its row from the other chunk.
        let interleaved = |changed: Option<usize>| -> String {
            (0..n / 2)
                .flat_map(|i| [i, n - 1 - i])
                .map(|i| if Some(i) == changed { line(i).replace("texte", "autre") } else { line(i) })
                .collect()
        };
        let again = import(&mut s, interleaved(None));
        assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, n as u64));
        let changed = import(&mut s, interleaved(Some(3)));
        assert_eq!((changed.inserted, changed.updated, changed.unchanged), (0, 1, n as u64 - 1));
        let (msgs, _) = s.rows("w").unwrap();
        assert_eq!(msgs.len(), n);
        assert_eq!(msgs.iter().find(|m| m.message_id == "m3").unwrap().text.as_deref(), Some("autre 3"));
    }

    #[test]
    fn rows_changed_import_after_import_do_not_make_the_store_grow() {
        let cfg = Config::default();
        let mut s = SqliteStore::memory().unwrap();
        // Row m0 in version `first`, the two others in version `rest`.
        let csv = |first: usize, rest: usize| {
            let mut out =
                String::from("message_id,created_at,direction,account,channel,author_id,conversation_id,text\n");
            for i in 0..3 {
                let text = format!("version {}", if i == 0 { first } else { rest });
                out += &format!("m{i},2026-04-06T08:0{i}:00Z,in,acme,chat,u{i},k{i},{text}\n");
            }
            out
        };
        let mut import = |data: String| {
            let mut r = RecordReader::new("m.csv", Kind::Messages, Format::Csv, data.as_bytes());
            s.import("w", &cfg, false, &mut r, &mut ()).unwrap()
        };
        import(csv(0, 0));
        for v in 1..=5 {
            assert_eq!(import(csv(v, v)).updated, 3);
        }
        // One more with a single row changed: its chunk keeps two live rows of three.
        assert_eq!(import(csv(6, 5)).updated, 1);
        let chunks: Vec<(i64, i64, Option<Vec<u8>>)> = s
            .conn
            .prepare("SELECT seq, n, dead FROM message_chunks ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(chunks, vec![(5, 3, Some(vec![0b001])), (6, 1, None)], "chunks 0 to 4 dropped, all dead");
        let (rows, _) = s.rows("w").unwrap();
        let mut texts: Vec<_> = rows.iter().map(|m| (m.message_id.clone(), m.text.clone().unwrap())).collect();
        texts.sort();
        assert_eq!(
            texts,
            [("m0", "version 6"), ("m1", "version 5"), ("m2", "version 5")]
                .map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    /// As a store written before labels: every kept label forgotten.
    fn forget_labels(s: &SqliteStore, ws: &str) {
        let chunks: Vec<(u32, usize, Vec<u8>, Vec<u8>)> = s
            .conn
            .prepare("SELECT seq, n, keys, data FROM message_chunks WHERE workspace = ?")
            .unwrap()
            .query_map([ws], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (seq, n, keys, data) in chunks {
            let mut all = Vec::new();
            rows::each_row(&keys, &data, n, None, |_, r| {
                let mut row = r.row();
                row.tf.label = None;
                all.push(row);
                Ok(())
            })
            .unwrap();
            let (keys, data) = rows::encode(&all);
            s.conn
                .execute(
                    "UPDATE message_chunks SET keys = ?, data = ? WHERE workspace = ? AND seq = ?",
                    params![keys, data, ws, seq],
                )
                .unwrap();
        }
    }

    #[test]
    fn facts_of_an_older_layout_are_recomputed_once_and_stored() {
        let cfg = Config::default();
        let mut s = SqliteStore::memory().unwrap();
        let rows = "message_id,created_at,direction,account,channel,author_id,conversation_id,text\n\
                    q1,2026-04-06T08:00:00Z,in,acme,chat,u1,k1,Ma box ne marche plus\na1,2026-04-06T08:05:00Z,out,acme,chat,ag,k1,Voici\n";
        let mut r = RecordReader::new("m.csv", Kind::Messages, Format::Csv, rows.as_bytes());
        s.import("w", &cfg, false, &mut r, &mut ()).unwrap();
        let before = s.table("w", &cfg, None, None).unwrap();
        // As stores written by older binaries with the same settings: before facts had a layout
        // version, at layout 2 (words, no model), and at layout 3 with another model. Labels
        // the old binary never wrote are read from the texts when stored anew.
        forget_labels(&s, "w");
        let sig = cfg.signature_patterns.join("\u{1f}");
        for old in [
            format!("gap={};sig={sig}", cfg.session_gap_ms),
            format!("facts=2;gap={};sig={sig};words=0123456789abcdef", cfg.session_gap_ms),
            format!("facts=3;words=0;model=0|gap={};sig={sig};competitors=", cfg.session_gap_ms),
        ] {
            assert!(cfg.only_binary_differs(&old), "{old}");
            s.conn
                .execute("UPDATE meta SET value = ? WHERE workspace = 'w' AND key = ?", params![old, FINGERPRINT])
                .unwrap();
            let after = s.table("w", &cfg, None, None).unwrap();
            assert_eq!(s.fingerprint("w").unwrap().as_deref(), Some(cfg.clock_fingerprint().as_str()), "stored anew");
            // Customers are numbered within a table: the numbers may differ, not who is who.
            let plain = |mut t: FactTable| {
                t.reqs.iter_mut().for_each(|r| r.customer = 0);
                t
            };
            assert_eq!(plain(after), plain(before.clone()));
        }
        let mut label = None;
        each_stored(&s.conn, "w", |_, _, r| {
            if r.id == "q1" {
                label = r.tf.label;
            }
            Ok(())
        })
        .unwrap();
        assert!(label.is_some(), "q1's text read again and its label stored");
        // Another configuration's settings are not an upgrade.
        let named = Config::load(Some("[listening]\ncompetitors = [\"Free\"]\n"), std::iter::empty()).unwrap();
        assert!(!named.only_binary_differs(&cfg.clock_fingerprint()));
        assert!(!cfg.only_binary_differs(&cfg.clock_fingerprint()));
        // Another session gap is a report's own setting: computed for it, nothing stored.
        let other = Config::load(Some("[clock]\nsession_gap = \"2h\"\n"), std::iter::empty()).unwrap();
        s.table("w", &other, None, None).unwrap();
        assert_eq!(s.fingerprint("w").unwrap().as_deref(), Some(cfg.clock_fingerprint().as_str()));
    }
}

#[cfg(test)]
mod open_tests {
    use super::*;

    #[test]
    fn processes_that_create_the_same_file_together_all_open_it() {
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("accounts.db");
            let start = std::sync::Arc::new(std::sync::Barrier::new(6));
            let opened: Vec<_> = (0..6)
                .map(|_| {
                    let (path, start) = (path.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        SqliteStore::open(&path).map(|s| s.schema_version().unwrap())
                    })
                })
                .collect();
            for t in opened {
                let v = t.join().unwrap();
                assert_eq!(v.as_ref().ok(), MIGRATIONS.last().map(|(v, _)| v), "round {round}: {v:?}");
            }
        }
    }
}
