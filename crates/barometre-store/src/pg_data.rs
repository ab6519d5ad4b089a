//! Rows and facts on PostgreSQL (issue 13, `--store postgres://…`): a deployment whose one
//! engine is PostgreSQL keeps its control plane ([`crate::pg`]) and its workspaces' rows and
//! facts in the same database, and several `barometre serve` instances share both.
//!
//! What stays as on the other back ends: the conversation clock runs here, in Rust, over the
//! workspace's rows, and the facts are stored as the embedded store's chunks (the same bytes, so
//! that reports are byte-identical on every engine). What PostgreSQL gives: an import, a label or
//! a knowledge base is one transaction, visible whole at its commit or not at all; and every
//! change first locks its workspace's row in `data_state`, so that changes of a workspace run
//! one at a time whichever instance or machine makes them, and a change whose connection is lost
//! takes nothing (its transaction is rolled back by the server).
//!
//! A change that only adds messages and events, or sets a label, computes the conversations it
//! touches again, alone, and writes only the chunks that held their facts ([`crate::patch`],
//! shared with the embedded store); a changed row, a knowledge base or new settings compute every
//! fact again.

use crate::chunks;
use crate::patch;
use crate::pg::PgControlPlane;
use crate::rows;
use crate::{Correction, DataStore, FaqSummary, ImportSink, ImportSummary, StoreError};
use barometre_core::clock::{self, Facts};
use barometre_core::config::Config;
use barometre_core::engine;
use barometre_core::ingest::{Located, Record, RowError};
use barometre_core::model::{ConversationEvent, Message, Probe, TextFacts};
use barometre_core::report::Records;
use barometre_core::table::{Dict, FactTable, MsgRow};
use barometre_core::time::Millis;
use barometre_core::understand::faq::{Entry as FaqEntry, Faq};
use barometre_core::understand::Label;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::Transaction;
use std::collections::HashMap;
use std::sync::Arc;

/// Rows looked up and written together: one query each way per batch.
const BATCH: usize = 5_000;

/// Fact chunks written by one statement, at most.
const CHUNKS_PER_INSERT: usize = 16;

/// The layout of this back end's stored facts (beside the embedded store's chunk layout, which
/// the clock's fingerprint names).
const LAYOUT: &str = "; postgres facts 1";
const LAYOUT_NUMBER: u32 = 1;

/// What the facts stored were derived with: the clock's settings and this back end's layout.
fn facts_key(cfg: &Config) -> String {
    format!("{}{LAYOUT}", cfg.clock_fingerprint())
}

/// Whether facts stored under `stored` were written by an older binary with the settings of
/// `cfg` (another layout, word list or text model): then computed again once and stored, rather
/// than computed from the rows at every read (`read_current`; the embedded store's
/// `refresh_if_outdated`).
fn outdated(stored: &str, cfg: &Config) -> bool {
    match stored.strip_suffix(LAYOUT) {
        Some(clock) => cfg.only_binary_differs(clock),
        // An older layout of this back end's (a newer one is a newer binary's: left to it).
        None => stored.rsplit_once("; postgres facts ").is_some_and(|(clock, layout)| {
            layout.parse::<u32>().is_ok_and(|l| l < LAYOUT_NUMBER)
                && (clock == cfg.clock_fingerprint() || cfg.only_binary_differs(clock))
        }),
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A key kept as its UTF-8 bytes (`data_rows.id`, `data_corrections.message_id`).
fn utf8(b: &[u8]) -> Result<&str, StoreError> {
    std::str::from_utf8(b).map_err(corrupt)
}

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(corrupt)
}

/// Parameters of a query, as the driver takes them.
type Params<'a> = [&'a (dyn ToSql + Sync)];

/// A workspace's committed version and the settings its facts were derived with.
struct State {
    version: i64,
    facts: String,
}

/// Rows and facts in PostgreSQL, with the control plane of the same server.
pub struct PgStore {
    /// Accounts: users, sessions, tokens, workspaces.
    cp: Arc<PgControlPlane>,
    /// Rows and facts, over a pool of their own: imports and reports hold their connection for
    /// as long as they run, and a server's checks of sessions and tokens never wait behind them.
    data: Arc<PgControlPlane>,
}

impl PgStore {
    /// Connects (`postgres://user[:password]@host[:port]/database`) and brings the schema to
    /// this binary's version.
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        Ok(PgStore { cp: Arc::new(PgControlPlane::connect(url)?), data: Arc::new(PgControlPlane::connect(url)?) })
    }

    /// The schema's version: the last migration applied.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.cp.schema_version()
    }

    /// Runs `f` in a transaction that changes the workspace: its row in `data_state` locked
    /// first (made when missing), no statement timeout (an import takes minutes). Committed when
    /// `f` says so, else rolled back.
    fn change<T>(
        &self,
        ws: &str,
        f: impl FnOnce(&mut Transaction<'_>, &State) -> Result<(T, bool), StoreError>,
    ) -> Result<T, StoreError> {
        // The workspace's turn is awaited on a connection of its own, outside the pool: changes
        // queued behind a long import hold no pooled connection (reports keep theirs).
        let _turn = self.cp.lock_workspace(ws)?;
        self.change_in_turn(ws, f)
    }

    /// [`Self::change`], the workspace's turn taken already.
    fn change_in_turn<T>(
        &self,
        ws: &str,
        f: impl FnOnce(&mut Transaction<'_>, &State) -> Result<(T, bool), StoreError>,
    ) -> Result<T, StoreError> {
        let mut c = self.data.c()?;
        let mut tx = c.transaction()?;
        tx.batch_execute("SET LOCAL statement_timeout = 0")?;
        tx.execute("INSERT INTO data_state (workspace, version) VALUES ($1, 0) ON CONFLICT DO NOTHING", &[&ws])?;
        let r = tx.query_one("SELECT version, facts_key FROM data_state WHERE workspace = $1 FOR UPDATE", &[&ws])?;
        let st = State { version: r.get(0), facts: r.get(1) };
        let (out, commit) = f(&mut tx, &st)?;
        if commit {
            tx.commit()?;
        }
        Ok(out)
    }

    /// Facts stored by an older binary with the same clock settings are computed again from the
    /// texts and stored once, here. Facts of other settings (a report asking another session
    /// gap) are left as they are. When the store cannot be written, the facts are computed in
    /// memory for this read, as for other settings.
    /// Runs `f` in one read of `ws` (its state and `cfg` with its knowledge base given), after
    /// storing its facts anew if an older binary's layout holds them. Why one read: the state
    /// that says whether the facts are current is the one `f` reads from (a report read it twice,
    /// in two transactions, before).
    fn read_current<T>(
        &self,
        ws: &str,
        cfg: &Config,
        f: impl Fn(&mut Transaction<'_>, &State, &Config) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let first = self.read(|tx| {
            let st = state(tx, ws)?;
            let cfg = attached(tx, ws, cfg)?;
            if !st.facts.is_empty() && outdated(&st.facts, &cfg) {
                return Ok(Err((st.facts, cfg.into_owned())));
            }
            f(tx, &st, &cfg).map(Ok)
        })?;
        match first {
            Ok(v) => Ok(v),
            Err((stored, attached_cfg)) => {
                self.refresh(ws, &attached_cfg, &stored)?;
                self.read(|tx| {
                    let st = state(tx, ws)?;
                    let cfg = attached(tx, ws, cfg)?;
                    f(tx, &st, &cfg)
                })
            }
        }
    }

    /// Stores the facts of `ws` anew, computed from its rows under `cfg` (with its knowledge
    /// base), where they are still those of `stored`, an older layout.
    fn refresh(&self, ws: &str, cfg: &Config, stored: &str) -> Result<(), StoreError> {
        // Never behind a change of the workspace (an import may take minutes): then computed for
        // this read, and stored by a later one.
        let Some(_turn) = self.cp.try_lock_workspace(ws)? else { return Ok(()) };
        let refreshed = self.change_in_turn(ws, |tx, st| {
            // Another instance may have stored them meanwhile.
            if st.facts == stored {
                recompute(tx, ws, cfg, None, &mut ())?;
            }
            Ok(((), true))
        });
        if let Err(e) = refreshed {
            eprintln!("facts of an older layout not stored anew ({e}): computed for this read");
        }
        Ok(())
    }

    /// Runs `f` in a read-only transaction that sees one committed state of every table (a
    /// report reads the state, the facts and the records: never parts of two changes).
    fn read<T>(&self, f: impl FnOnce(&mut Transaction<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut c = self.data.c()?;
        let mut tx =
            c.build_transaction().isolation_level(postgres::IsolationLevel::RepeatableRead).read_only(true).start()?;
        tx.batch_execute("SET LOCAL statement_timeout = 0")?;
        f(&mut tx)
    }
}

/// The workspace in the control plane's table (the same database), with this change.
fn known(tx: &mut Transaction<'_>, ws: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO workspaces (name, created_ms) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        &[&ws, &now_ms()],
    )?;
    Ok(())
}

fn state(tx: &mut Transaction<'_>, ws: &str) -> Result<State, StoreError> {
    Ok(match tx.query_opt("SELECT version, facts_key FROM data_state WHERE workspace = $1", &[&ws])? {
        Some(r) => State { version: r.get(0), facts: r.get(1) },
        None => State { version: 0, facts: String::new() },
    })
}

fn faq_of(tx: &mut Transaction<'_>, ws: &str) -> Result<Vec<FaqEntry>, StoreError> {
    match tx.query_opt("SELECT entries FROM data_faq WHERE workspace = $1", &[&ws])? {
        Some(r) => parse(r.get(0)),
        None => Ok(Vec::new()),
    }
}

/// `cfg` with the workspace's knowledge base (see the embedded store's `attached`).
fn attached<'c>(
    tx: &mut Transaction<'_>,
    ws: &str,
    cfg: &'c Config,
) -> Result<std::borrow::Cow<'c, Config>, StoreError> {
    let entries = faq_of(tx, ws)?;
    let faq = (!entries.is_empty()).then(|| Arc::new(Faq::new(entries)));
    Ok(if faq.is_none() && cfg.faq.is_none() {
        std::borrow::Cow::Borrowed(cfg)
    } else {
        std::borrow::Cow::Owned(cfg.with_faq(faq))
    })
}

fn corrections_of(tx: &mut Transaction<'_>, ws: &str) -> Result<Vec<Correction>, StoreError> {
    tx.query(
        "SELECT message_id, label, by_name, at_ms FROM data_corrections WHERE workspace = $1 ORDER BY message_id",
        &[&ws],
    )?
    .iter()
    .map(|r| {
        let label: String = r.get(1);
        let label = Label::parse(&label).ok_or_else(|| corrupt(format!("label `{label}`")))?;
        Ok(Correction { message_id: utf8(r.get(0))?.to_string(), label, by: r.get(2), at_ms: r.get(3) })
    })
    .collect()
}

fn corrected(tx: &mut Transaction<'_>, ws: &str) -> Result<HashMap<String, Label>, StoreError> {
    Ok(corrections_of(tx, ws)?.into_iter().map(|c| (c.message_id, c.label)).collect())
}

/// Hands each row of a query to `each` as it arrives (none kept here).
fn each_row(
    tx: &mut Transaction<'_>,
    sql: &str,
    params: &Params<'_>,
    mut each: impl FnMut(&postgres::Row) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut it = tx.query_raw(sql, params.iter().copied())?;
    while let Some(r) = it.next()? {
        each(&r)?;
    }
    Ok(())
}

/// A message read back: its compact row with an analyst's label, or (its text read again
/// under other settings) the message and that reading.
enum Loaded<'a> {
    Row(rows::RowRef<'a>, Option<Label>),
    Read(Message, TextFacts),
}

/// Every message and event of the workspace, each message handed to `each` as it is read, with
/// the version of the change that wrote it; the events with theirs. With `cfg`, a message whose
/// text was read under other settings is read again, and its new compact row returned to be kept.
///
/// For the clock (`recompute` sets the scan), rows come in the order they lie in the table: it numbers names (customers among them)
/// in that order, which mostly stays the same from one change to the next (rows stay where they
/// were written), so that a patch may keep the stored facts' numbers; `recompute` checks that
/// they are. (Reading them by change and key took twice as long: 3.1 s against 1.3–1.9 s for a
/// million rows.)
#[allow(clippy::type_complexity)]
fn load_each(
    tx: &mut Transaction<'_>,
    ws: &str,
    cfg: Option<&Config>,
    mut each: impl FnMut(Loaded<'_>, i64),
) -> Result<(Vec<(ConversationEvent, i64)>, Vec<(String, Vec<u8>)>), StoreError> {
    let key = cfg.map(Config::clock_fingerprint).unwrap_or_default();
    let labels = corrected(tx, ws)?;
    let (mut evs, mut stale) = (Vec::new(), Vec::new());
    each_row(
        tx,
        "SELECT kind, id, fp, line, tf_key, body, data, version FROM data_rows WHERE workspace = $1 AND kind IN (0, 1)",
        &[&ws],
        |r| {
            let (kind, version): (i16, i64) = (r.get(0), r.get(7));
            if kind == 1 {
                evs.push((parse::<ConversationEvent>(r.get(5))?, version));
                return Ok(());
            }
            let (id, fp, line, tf_key): (&str, i64, i64, &str) = (utf8(r.get(1))?, r.get(2), r.get(3), r.get(4));
            let row = rows::row_of_data(id, fp as u64, r.get(6))?;
            let label = labels.get(id).copied();
            match cfg {
                Some(cfg) if tf_key != key => {
                    let mut m = Message { derived: None, ..row.message() };
                    let tf = clock::text_facts(&m, cfg);
                    stale.push((id.to_string(), rows::encode_data(&m, &tf, line as u64)));
                    m.corrected = label;
                    each(Loaded::Read(m, tf), version);
                }
                _ => each(Loaded::Row(row, label), version),
            }
            Ok(())
        },
    )?;
    Ok((evs, stale))
}

/// What a change lets the facts be patched with, rather than computed again: the rows of the
/// change `version` (written last), and the ids of held messages it changed in place (a label).
struct Patching<'a> {
    version: i64,
    also: &'a [&'a str],
}

/// Computes the workspace's facts from its rows and stores them in place of the stored ones
/// (messages whose text was read under other settings are kept with the new reading). With
/// `patch`, when the stored facts allow it, only the conversations the change touched run
/// through the clock and only the chunks that held their facts are written ([`patch::plan`], as
/// the embedded store patches them); else every fact.
fn recompute(
    tx: &mut Transaction<'_>,
    ws: &str,
    cfg: &Config,
    patching: Option<Patching<'_>>,
    sink: &mut dyn ImportSink,
) -> Result<(), StoreError> {
    let mut bulk = engine::Bulk::default();
    // The change's own rows go in last, wherever they lie in the table: a patch computes what
    // they touch by comparing the rows before them with all of them.
    let since = patching.as_ref().map_or(i64::MAX, |p| p.version);
    let mut late: Vec<(Message, TextFacts)> = Vec::new();
    // The clock reads rows in the table's order, from its start: a scan of the table or of a
    // bitmap of the workspace's rows, not an index's key order, no workers interleaving their
    // rows, no scan joining another one already halfway through the table.
    const PLAIN: [&str; 3] = ["enable_indexscan", "max_parallel_workers_per_gather", "synchronize_seqscans"];
    tx.batch_execute(&PLAIN.map(|s| format!("SET LOCAL {s} = 0;")).concat())?;
    let (evs, stale) = load_each(tx, ws, Some(cfg), |l, version| match l {
        Loaded::Row(r, corrected) if version >= since => {
            late.push((Message { derived: None, corrected, ..r.message() }, r.tf));
        }
        Loaded::Read(m, tf) if version >= since => late.push((m, tf)),
        Loaded::Row(r, corrected) => bulk.push(r.kept(corrected).raw()),
        Loaded::Read(m, tf) => bulk.push_read(&m, &tf),
    })?;
    tx.batch_execute(&PLAIN.map(|s| format!("SET LOCAL {s} = DEFAULT;")).concat())?;
    let before = bulk.len();
    for (m, tf) in &late {
        bulk.push_read(m, tf);
    }
    drop(late);
    sink.phase("rows read back");
    let key = cfg.clock_fingerprint();
    for part in stale.chunks(BATCH) {
        let ids: Vec<&[u8]> = part.iter().map(|(i, _)| i.as_bytes()).collect();
        let data: Vec<&[u8]> = part.iter().map(|(_, d)| d.as_slice()).collect();
        tx.execute(
            "UPDATE data_rows r SET data = u.d, tf_key = $2 FROM UNNEST($3::bytea[], $4::bytea[]) AS u(i, d) \
             WHERE r.workspace = $1 AND r.kind = 0 AND r.id = u.i",
            &[&ws, &key, &ids, &data],
        )?;
    }
    let reread = !stale.is_empty();
    drop(stale);
    for (e, _) in &evs {
        bulk.push_event(e);
    }
    let inp = bulk.finish().0;
    // Texts read again may change any conversation's facts: those are all computed again. So
    // are they when the rows read now do not name the stored facts' names first, in their order
    // (rows moved in the table: an update, space freed and reused, a `CLUSTER`).
    let kept: (i64, i64) = {
        let r = tx.query_one("SELECT names_n, names_hash FROM data_state WHERE workspace = $1", &[&ws])?;
        (r.get(0), r.get(1))
    };
    // (0 names: none kept, by a binary before schema 4.)
    let same_names = kept.0 > 0 && patch::same_names(&inp, kept.0 as usize, kept.1);
    if let Some(p) = patching.filter(|_| !reread && same_names) {
        let also: Vec<u32> = p.also.iter().filter_map(|id| inp.ids.find(id)).collect();
        let events: Vec<String> =
            evs.iter().filter(|(_, v)| *v >= p.version).map(|(e, _)| e.conversation_id.clone()).collect();
        if let Some(plan) = patch::plan(&mut Chunks { tx, ws }, cfg, &inp, before, &also, &events)? {
            let done = write_plan(tx, ws, &inp, plan)?;
            names_kept(tx, ws, &inp)?;
            sink.note(&format!(
                "facts of {} conversations computed again, {} fact chunks written",
                done.conversations, done.chunks
            ));
            sink.phase("facts computed and stored");
            return Ok(());
        }
    }
    let mut out = engine::run(&inp, cfg);
    out.sort(&inp);
    sink.phase("facts computed");
    tx.execute("DELETE FROM data_facts WHERE workspace = $1", &[&ws])?;
    let mut pending: Vec<chunks::Encoded> = vec![dict_chunk(&inp)];
    let mut failed = None;
    chunks::encode_all_par(&out, &inp, chunks::encoders(), |c| {
        pending.push(c);
        if pending.len() >= CHUNKS_PER_INSERT {
            if let Err(e) = write_chunks(tx, ws, &pending) {
                failed = Some(e);
                return false;
            }
            pending.clear();
        }
        true
    });
    if let Some(e) = failed {
        return Err(e);
    }
    write_chunks(tx, ws, &pending)?;
    tx.execute("UPDATE data_state SET facts_key = $2 WHERE workspace = $1", &[&ws, &facts_key(cfg)])?;
    names_kept(tx, ws, &inp)?;
    sink.phase("facts written");
    Ok(())
}

/// A workspace's stored chunks, as a patch reads them.
struct Chunks<'a, 't, 'c> {
    tx: &'a mut Transaction<'t>,
    ws: &'c str,
}

impl patch::Stored for Chunks<'_, '_, '_> {
    fn dict(&mut self) -> Result<Dict, StoreError> {
        dict(self.tx, self.ws)
    }
    fn metas(&mut self, part: &str) -> Result<Vec<patch::Meta>, StoreError> {
        Ok(self
            .tx
            .query(
                "SELECT seq, lo_ms, hi_ms FROM data_facts WHERE workspace = $1 AND part = $2 ORDER BY seq",
                &[&self.ws, &part],
            )?
            .iter()
            .map(|r| patch::Meta { seq: i64::from(r.get::<_, i32>(0)), lo: r.get(1), hi: r.get(2) })
            .collect())
    }
    fn chunk(&mut self, part: &str, seq: i64) -> Result<(usize, Vec<u8>), StoreError> {
        let seq = i32::try_from(seq).map_err(corrupt)?;
        let r = self.tx.query_one(
            "SELECT n, data FROM data_facts WHERE workspace = $1 AND part = $2 AND seq = $3",
            &[&self.ws, &part, &seq],
        )?;
        Ok((r.get::<_, i64>(0) as usize, r.get(1)))
    }
}

/// Writes a patch: each run of chunks replaced by its new chunks (numbers after a run move up by
/// the chunks it gained; a run that lost some leaves its numbers unused), and the dictionary when
/// it grew. Readers read chunks in number order, and see every fact in the order a whole
/// computation stores them.
fn write_plan(
    tx: &mut Transaction<'_>,
    ws: &str,
    inp: &engine::ClockInput,
    plan: patch::Plan,
) -> Result<patch::Patched, StoreError> {
    let mut done = patch::Patched { conversations: plan.conversations, chunks: 0 };
    for (kind, metas, per_run) in plan.writes {
        // From the last run back: moving later chunks never moves an earlier run's.
        for (run, written) in per_run.into_iter().rev() {
            let old: Vec<i32> = metas[run.clone()].iter().map(|m| m.seq as i32).collect();
            let first = old.first().copied().unwrap_or(0);
            let last = old.last().copied().unwrap_or(-1);
            let gained = written.len().saturating_sub(old.len()) as i32;
            for part in kind.all_parts() {
                tx.execute(
                    "DELETE FROM data_facts WHERE workspace = $1 AND part = $2 AND seq = ANY($3)",
                    &[&ws, part, &old],
                )?;
                if gained > 0 {
                    // In two steps (negative, then back): a number stays unique at every row.
                    tx.execute(
                        "UPDATE data_facts SET seq = -seq - 1 - $3 WHERE workspace = $1 AND part = $2 AND seq > $4",
                        &[&ws, part, &gained, &last],
                    )?;
                    tx.execute(
                        "UPDATE data_facts SET seq = -seq - 1 WHERE workspace = $1 AND part = $2 AND seq < 0",
                        &[&ws, part],
                    )?;
                }
            }
            let (hot_part, ids_part) = kind.parts();
            let mut cs = Vec::with_capacity(written.len() * 3);
            for (k, w) in written.into_iter().enumerate() {
                let seq = first as usize + k;
                let at = |part, n, data| chunks::Encoded { part, seq, lo: w.lo, hi: w.hi, n, data };
                cs.push(at(hot_part, w.n, w.hot));
                if let Some((entries, cover)) = w.cover {
                    cs.push(at(chunks::COVER, entries, cover));
                }
                cs.push(at(ids_part, w.n, w.ids));
                done.chunks += 1;
            }
            write_chunks(tx, ws, &cs)?;
        }
    }
    if plan.dict_grew {
        tx.execute("DELETE FROM data_facts WHERE workspace = $1 AND part = 'dict'", &[&ws])?;
        write_chunks(tx, ws, &[dict_chunk(inp)])?;
    }
    Ok(done)
}

/// Keeps what the facts just stored number names by ([`patch::names_hash`]).
fn names_kept(tx: &mut Transaction<'_>, ws: &str, inp: &engine::ClockInput) -> Result<(), StoreError> {
    let n = inp.names.len();
    tx.execute(
        "UPDATE data_state SET names_n = $2, names_hash = $3 WHERE workspace = $1",
        &[&ws, &(n as i64), &patch::names_hash(inp, n)],
    )?;
    Ok(())
}

/// The dictionary the facts of `inp` number their dimensions by, as a chunk.
fn dict_chunk(inp: &engine::ClockInput) -> chunks::Encoded {
    chunks::Encoded { part: "dict", seq: 0, lo: 0, hi: 0, n: inp.dims.len(), data: chunks::encode_dict(&inp.dims) }
}

fn write_chunks(tx: &mut Transaction<'_>, ws: &str, cs: &[chunks::Encoded]) -> Result<(), StoreError> {
    if cs.is_empty() {
        return Ok(());
    }
    let parts: Vec<&str> = cs.iter().map(|c| c.part).collect();
    let seqs: Vec<i32> = cs.iter().map(|c| c.seq as i32).collect();
    let lo: Vec<i64> = cs.iter().map(|c| c.lo).collect();
    let hi: Vec<i64> = cs.iter().map(|c| c.hi).collect();
    let n: Vec<i64> = cs.iter().map(|c| c.n as i64).collect();
    let data: Vec<&[u8]> = cs.iter().map(|c| c.data.as_slice()).collect();
    tx.execute(
        "INSERT INTO data_facts (workspace, part, seq, lo_ms, hi_ms, n, data) \
         SELECT $1, * FROM UNNEST($2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bytea[])",
        &[&ws, &parts, &seqs, &lo, &hi, &n, &data],
    )?;
    Ok(())
}

/// Hands each `(n, bytes)` chunk of a fact part that may hold instants in `[from, to)` to
/// `each`, in order, as it arrives.
fn each_chunk(
    tx: &mut Transaction<'_>,
    ws: &str,
    part: &str,
    (from, to): (Option<Millis>, Option<Millis>),
    mut each: impl FnMut(usize, &[u8]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let (from, to) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
    each_row(
        tx,
        "SELECT n, data FROM data_facts WHERE workspace = $1 AND part = $2 AND hi_ms >= $3 AND lo_ms < $4 ORDER BY seq",
        &[&ws, &part, &from, &to],
        |r| each(r.get::<_, i64>(0) as usize, r.get(1)),
    )
}

fn dict(tx: &mut Transaction<'_>, ws: &str) -> Result<Dict, StoreError> {
    let mut d = None;
    each_chunk(tx, ws, "dict", (None, None), |_, b| {
        d = Some(chunks::decode_dict(b)?);
        Ok(())
    })?;
    // Every computation writes its dictionary first: without it, the facts are not all there.
    d.ok_or_else(|| StoreError::Corrupt(format!("the facts of `{ws}` are missing")))
}

/// The compact facts that may lie in `[from, to)`; with `cover`, the chunks of messages wholly
/// inside its period read as their covers, and conversations left out of a report that reads
/// none (see `DataStore::table_covering`).
fn stored_table(
    tx: &mut Transaction<'_>,
    ws: &str,
    span: (Option<Millis>, Option<Millis>),
    cover: Option<crate::Covering>,
) -> Result<FactTable, StoreError> {
    let mut t = FactTable { dict: dict(tx, ws)?, ..FactTable::default() };
    each_chunk(tx, ws, "req", span, |n, b| chunks::decode_reqs(b, n, &mut t.reqs))?;
    match cover {
        None => each_chunk(tx, ws, "msg", span, |n, b| chunks::decode_msgs(b, n, &mut t.msgs))?,
        Some(c) => {
            covered_msgs(tx, ws, span, c.within, &mut t.msgs, &mut t.unattached_covered)?;
            // In time order, as every table's messages are (cut chunks come before covers).
            t.msgs.sort_by_key(|m| m.ms);
        }
    }
    if cover.is_none_or(|c| c.conversations) {
        each_chunk(tx, ws, "conv", span, |n, b| chunks::decode_convs(b, n, &mut t.convs))?;
    }
    Ok(t)
}

/// The messages in `[from, to)` for a report over `within`: the chunks `within`'s bounds cut,
/// whole; the others as their covers, unattached counts onto `covered`.
fn covered_msgs(
    tx: &mut Transaction<'_>,
    ws: &str,
    (from, to): (Option<Millis>, Option<Millis>),
    within: (Option<Millis>, Option<Millis>),
    msgs: &mut Vec<MsgRow>,
    covered: &mut Vec<(Millis, Millis, u64)>,
) -> Result<(), StoreError> {
    let (from, to) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
    let (a, b) = (within.0.unwrap_or(i64::MIN), within.1.unwrap_or(i64::MAX));
    let overlap = "workspace = $1 AND part = $2 AND hi_ms >= $3 AND lo_ms < $4";
    let inside = "lo_ms >= $5 AND hi_ms < $6";
    each_row(
        tx,
        &format!("SELECT n, data FROM data_facts WHERE {overlap} AND NOT ({inside}) ORDER BY seq"),
        &[&ws, &"msg", &from, &to, &a, &b],
        |r| chunks::decode_msgs(r.get(1), r.get::<_, i64>(0) as usize, msgs),
    )?;
    each_row(
        tx,
        &format!("SELECT lo_ms, hi_ms, data FROM data_facts WHERE {overlap} AND {inside} ORDER BY seq"),
        &[&ws, &chunks::COVER, &from, &to, &a, &b],
        |r| {
            let unattached = chunks::decode_cover(r.get(2), msgs)?;
            if unattached > 0 {
                covered.push((r.get(0), r.get(1), unattached));
            }
            Ok(())
        },
    )
}

/// A part's compact rows, then its `_ids` chunks: the full facts (the embedded store's
/// `read_full`).
fn full<H, F>(
    tx: &mut Transaction<'_>,
    ws: &str,
    part: &str,
    span: (Option<Millis>, Option<Millis>),
    hot: crate::clickhouse::Decode<H>,
    ids: impl Fn(&[H], &[u8], &mut Vec<F>) -> Result<(), StoreError>,
    out: &mut Vec<F>,
) -> Result<(), StoreError> {
    let mut rows = Vec::new();
    each_chunk(tx, ws, part, span, |n, b| hot(b, n, &mut rows))?;
    let mut at = 0;
    each_chunk(tx, ws, &format!("{part}_ids"), span, |n, b| {
        let h = rows.get(at..at + n).ok_or_else(|| corrupt(format!("{part}: ids without rows")))?;
        at += n;
        ids(h, b, out)
    })
}

/// The facts in `[from, to)`: stored ones when derived with `cfg` (attached), else computed
/// from the rows.
fn facts_at(
    tx: &mut Transaction<'_>,
    ws: &str,
    cfg: &Config,
    st: &State,
    from: Option<Millis>,
    to: Option<Millis>,
) -> Result<Facts, StoreError> {
    let mut f = if st.facts == facts_key(cfg) {
        let d = dict(tx, ws)?;
        let mut f = Facts::default();
        let span = (from, to);
        full(
            tx,
            ws,
            "req",
            span,
            chunks::decode_reqs,
            |h, b, o| chunks::decode_req_facts(&d, h, b, o),
            &mut f.requests,
        )?;
        full(
            tx,
            ws,
            "conv",
            span,
            chunks::decode_convs,
            |h, b, o| chunks::decode_conv_facts(&d, h, b, o),
            &mut f.conversations,
        )?;
        full(
            tx,
            ws,
            "msg",
            span,
            chunks::decode_msgs,
            |h, b, o| chunks::decode_msg_facts(&d, h, b, o),
            &mut f.messages,
        )?;
        f
    } else {
        let (msgs, evs) = messages_and_events(tx, ws)?;
        clock::run(&msgs, &evs, cfg)
    };
    f.requests.retain(|r| crate::sqlite::within(r.start_ms, from, to));
    f.messages.retain(|m| crate::sqlite::within(m.ms, from, to));
    f.conversations.retain(|c| crate::sqlite::within(c.start_ms, from, to));
    Ok(f)
}

/// Every message (with its analyst's label) and event of the workspace, as imported.
fn messages_and_events(
    tx: &mut Transaction<'_>,
    ws: &str,
) -> Result<(Vec<Message>, Vec<ConversationEvent>), StoreError> {
    let mut msgs = Vec::new();
    let (evs, _) = load_each(tx, ws, None, |l, _| {
        msgs.push(match l {
            Loaded::Row(r, corrected) => Message { derived: None, corrected, ..r.message() },
            Loaded::Read(m, _) => m,
        })
    })?;
    Ok((msgs, evs.into_iter().map(|(e, _)| e).collect()))
}

/// The kept JSON of the rows of `kinds`.
fn keyed(tx: &mut Transaction<'_>, ws: &str, kinds: &[i16]) -> Result<Vec<(i16, String)>, StoreError> {
    Ok(tx
        .query("SELECT kind, body FROM data_rows WHERE workspace = $1 AND kind = ANY($2)", &[&ws, &kinds])?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// The records of kinds other than messages and events (the knowledge base `faq` given).
fn records_at(
    tx: &mut Transaction<'_>,
    ws: &str,
    from: Option<Millis>,
    to: Option<Millis>,
    faq: Vec<FaqEntry>,
) -> Result<Records, StoreError> {
    let rows = keyed(tx, ws, &[2, 3, 4, 5, 6, 7, 8])?.into_iter().map(|(k, b)| (k as u8, b));
    crate::clickhouse::records_of(rows, from, to, faq)
}

/// The fact table of `[from, to)` with the records, read in one transaction.
/// The table of `ws` in state `st`, `cfg` holding its knowledge base.
fn table_in(
    tx: &mut Transaction<'_>,
    ws: &str,
    st: &State,
    cfg: &Config,
    from: Option<Millis>,
    to: Option<Millis>,
    cover: Option<crate::Covering>,
) -> Result<FactTable, StoreError> {
    // Facts of other settings are computed from the rows (and then credit answers at once).
    let (mut t, computed) = if st.facts == facts_key(cfg) {
        (stored_table(tx, ws, (from, to), cover)?, None)
    } else {
        let f = facts_at(tx, ws, cfg, st, None, None)?;
        (FactTable::from_facts(&f), Some(f))
    };
    let faq = cfg.faq.as_ref().map_or_else(Vec::new, |f| f.entries().to_vec());
    let mut records = records_at(tx, ws, from, to, faq)?;
    records.credit_conversations(|| match &computed {
        Some(f) => Ok(f.first_agents()),
        None => facts_at(tx, ws, cfg, st, None, None).map(|f| f.first_agents()),
    })?;
    records.add_to(&mut t);
    t.has_faq = cfg.faq.is_some();
    Ok(crate::sqlite::clip(t, from, to))
}

/// What is kept of a row, as a batch's lookup finds it.
struct Stored {
    fp: i64,
    version: i64,
    file: String,
    line: i64,
    body: String,
    data: Vec<u8>,
}

/// A row about to be written.
struct Pending {
    /// No row of its key is stored: copied in, not upserted.
    new: bool,
    kind: i16,
    id: String,
    at_ms: Millis,
    fp: i64,
    file: Arc<str>,
    line: u64,
    tf_key: String,
    body: String,
    data: Vec<u8>,
}

/// The kinds of rows, as `data_rows` numbers them (the ClickHouse store's numbers).
fn kind_of(r: &Record) -> i16 {
    i16::from(crate::clickhouse::kind_of(r))
}

/// An import under way: the workspace, its settings, their fingerprint, the version it writes,
/// and the rows it read unchanged with where (not written again, yet a different row with the
/// same key later in the import is a duplicate, as on the embedded store).
struct Importing<'a> {
    ws: &'a str,
    cfg: &'a Config,
    key: String,
    version: i64,
    here: HashMap<(i16, String), (Arc<str>, u64)>,
    /// Messages and events new to the workspace, and messages changed: the clock's input.
    clock_new: u64,
    clock_changed: u64,
}

impl Importing<'_> {
    /// Looks a batch of rows up, classifies each (new, changed, the same, or a repeat of this
    /// import with other content) and writes the new and changed ones.
    fn batch(
        &mut self,
        tx: &mut Transaction<'_>,
        batch: &[Located],
        sum: &mut ImportSummary,
        sink: &mut dyn ImportSink,
    ) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let (ws, v) = (self.ws, self.version);
        let mut keys: Vec<(i16, String)> =
            batch.iter().map(|l| (kind_of(&l.record), crate::clickhouse::keys(&l.record).1)).collect();
        keys.sort_unstable();
        keys.dedup();
        let (kinds, ids): (Vec<i16>, Vec<String>) = keys.into_iter().unzip();
        let ids: Vec<&[u8]> = ids.iter().map(|i| i.as_bytes()).collect();
        let mut stored: HashMap<(i16, String), Stored> = HashMap::new();
        // Key by key through the primary key, whatever the statistics say. In the middle of a
        // first import the table's statistics are those of an empty one: `id = ANY($3)` was
        // planned as a scan of the workspace's every row (180 ms a batch at a million rows,
        // against 10 ms), a join on the keys as a hash join over them (worse). A subquery with a
        // `LIMIT` is never folded into a join: it runs once per key, on the primary key.
        for r in tx.query(
            "SELECT r.kind, r.id, r.fp, r.version, r.file, r.line, r.body, r.data \
             FROM UNNEST($2::smallint[], $3::bytea[]) AS u(k, i) CROSS JOIN LATERAL \
             (SELECT * FROM data_rows WHERE workspace = $1 AND kind = u.k AND id = u.i LIMIT 1) r",
            &[&ws, &kinds, &ids],
        )? {
            let s = Stored {
                fp: r.get(2),
                version: r.get(3),
                file: r.get(4),
                line: r.get(5),
                body: r.get(6),
                data: r.get(7),
            };
            stored.insert((r.get(0), utf8(r.get(1))?.to_string()), s);
        }
        drop((kinds, ids));
        let mut pending: Vec<Pending> = Vec::new();
        let mut at: HashMap<(i16, String), usize> = HashMap::new();
        for loc in batch {
            let rec = &loc.record;
            let kind = kind_of(rec);
            let (col, id, _, at_ms) = crate::clickhouse::keys(rec);
            let fp = crate::keyed::fingerprint(rec) as u64 as i64;
            // A message is kept as its compact row alone (below), other rows as JSON.
            let body = if kind == 0 { String::new() } else { crate::clickhouse::body(rec)? };
            if let Record::Message(m) = rec {
                if barometre_core::ingest::unattached(m) {
                    sum.unattached += 1;
                }
            }
            let k = (kind, id);
            // The row this one replaces, and whether this import read it already.
            let old = match (at.get(&k).map(|&i| &pending[i]), self.here.get(&k)) {
                (Some(p), _) => Some((p.fp, true, &*p.file, p.line, &p.body, &p.data)),
                (None, Some((file, line))) => stored.get(&k).map(|o| (o.fp, true, &**file, *line, &o.body, &o.data)),
                (None, None) => {
                    stored.get(&k).map(|o| (o.fp, o.version == v, o.file.as_str(), o.line as u64, &o.body, &o.data))
                }
            };
            let new = old.is_none();
            if let Some((ofp, this_import, ofile, oline, obody, odata)) = old {
                // Equal fingerprints are confirmed on the kept row itself: a message on its
                // compact row, another row on its JSON.
                let same = ofp == fp
                    && match rec {
                        Record::Message(m) => rows::row_of_data(&k.1, ofp as u64, odata)?.is(m),
                        _ => *obody == body,
                    };
                if this_import {
                    if same || kind == 1 {
                        sum.rows += 1;
                        sum.unchanged += 1;
                    } else {
                        let e = barometre_core::ingest::duplicate_id(col, &k.1, ofile, oline);
                        sum.reject(loc.error(e), sink);
                    }
                    continue;
                }
                sum.rows += 1;
                if kind == 1 {
                    // An event is its key: the first one kept stays (as the embedded store keeps it).
                    sum.unchanged += 1;
                    continue;
                }
                if same {
                    sum.unchanged += 1;
                    self.here.insert(k, (loc.file.clone(), loc.line));
                    continue;
                }
                sum.updated += 1;
                self.clock_changed += u64::from(kind <= 1);
            } else {
                sum.rows += 1;
                sum.inserted += 1;
                self.clock_new += u64::from(kind <= 1);
            }
            // A message's reading of its text is kept in its compact row.
            let (tf_key, data) = match rec {
                Record::Message(m) => {
                    (self.key.clone(), rows::encode_data(m, &clock::text_facts(m, self.cfg), loc.line))
                }
                _ => (String::new(), Vec::new()),
            };
            at.insert(k.clone(), pending.len());
            pending.push(Pending {
                new,
                kind,
                id: k.1,
                at_ms,
                fp,
                file: loc.file.clone(),
                line: loc.line,
                tf_key,
                body,
                data,
            });
        }
        // New keys are copied in (the workspace's row is locked: no other change writes them
        // meanwhile), three times as fast as the insert below; changed ones replace their row.
        let (new, changed): (Vec<Pending>, Vec<Pending>) = pending.into_iter().partition(|p| p.new);
        if !new.is_empty() {
            use postgres::types::Type;
            let into = tx.copy_in(
                "COPY data_rows (workspace, kind, id, at_ms, fp, version, file, line, tf_key, body, data) \
                 FROM STDIN BINARY",
            )?;
            let types = [
                Type::TEXT,
                Type::INT2,
                Type::BYTEA,
                Type::INT8,
                Type::INT8,
                Type::INT8,
                Type::TEXT,
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::BYTEA,
            ];
            let mut w = postgres::binary_copy::BinaryCopyInWriter::new(into, &types);
            for p in &new {
                let line = p.line as i64;
                w.write(&[
                    &ws,
                    &p.kind,
                    &p.id.as_bytes(),
                    &p.at_ms,
                    &p.fp,
                    &v,
                    &&*p.file,
                    &line,
                    &p.tf_key,
                    &p.body,
                    &p.data,
                ])?;
            }
            w.finish()?;
        }
        let pending = changed;
        if pending.is_empty() {
            return Ok(());
        }
        let kinds: Vec<i16> = pending.iter().map(|p| p.kind).collect();
        let ids: Vec<&[u8]> = pending.iter().map(|p| p.id.as_bytes()).collect();
        let ats: Vec<i64> = pending.iter().map(|p| p.at_ms).collect();
        let fps: Vec<i64> = pending.iter().map(|p| p.fp).collect();
        let files: Vec<&str> = pending.iter().map(|p| &*p.file).collect();
        let lines: Vec<i64> = pending.iter().map(|p| p.line as i64).collect();
        let keys: Vec<&str> = pending.iter().map(|p| p.tf_key.as_str()).collect();
        let bodies: Vec<&str> = pending.iter().map(|p| p.body.as_str()).collect();
        let data: Vec<&[u8]> = pending.iter().map(|p| p.data.as_slice()).collect();
        tx.execute(
            "INSERT INTO data_rows (workspace, kind, id, at_ms, fp, version, file, line, tf_key, body, data) \
             SELECT $1, k, i, a, f, $2, fi, l, t, b, d FROM UNNEST($3::smallint[], $4::bytea[], $5::bigint[], \
             $6::bigint[], $7::text[], $8::bigint[], $9::text[], $10::text[], $11::bytea[]) AS u(k, i, a, f, fi, l, t, b, d) \
             ON CONFLICT (workspace, kind, id) DO UPDATE SET at_ms = EXCLUDED.at_ms, fp = EXCLUDED.fp, \
             version = EXCLUDED.version, file = EXCLUDED.file, line = EXCLUDED.line, tf_key = EXCLUDED.tf_key, \
             body = EXCLUDED.body, data = EXCLUDED.data",
            &[&ws, &v, &kinds, &ids, &ats, &fps, &files, &lines, &keys, &bodies, &data],
        )?;
        Ok(())
    }
}

impl DataStore for PgStore {
    fn import(
        &mut self,
        ws: &str,
        cfg: &Config,
        strict: bool,
        records: &mut dyn Iterator<Item = Result<Located, RowError>>,
        sink: &mut dyn ImportSink,
    ) -> Result<ImportSummary, StoreError> {
        self.change(ws, |tx, st| {
            // The control plane knows the workspace, as the embedded store does after an import
            // (users and tokens are given for a known workspace); not when nothing is taken.
            known(tx, ws)?;
            let cfg = &*attached(tx, ws, cfg)?;
            let mut job = Importing {
                ws,
                cfg,
                key: cfg.clock_fingerprint(),
                version: st.version + 1,
                here: HashMap::new(),
                clock_new: 0,
                clock_changed: 0,
            };
            let mut sum = ImportSummary::default();
            // Texts are read on every core while this thread looks rows up and writes them.
            let read = clock::with_texts_read(records, cfg, |records| -> Result<u64, StoreError> {
                let mut read = 0u64;
                let mut batch: Vec<Located> = Vec::with_capacity(BATCH);
                for rec in records {
                    read += 1;
                    if read.is_multiple_of(10_000) {
                        sink.progress(read);
                    }
                    match rec {
                        Ok(loc) => batch.push(loc),
                        Err(e) => sum.reject(e, sink),
                    }
                    if batch.len() == BATCH {
                        job.batch(tx, &batch, &mut sum, sink)?;
                        batch.clear();
                    }
                }
                job.batch(tx, &batch, &mut sum, sink)?;
                Ok(read)
            })?;
            drop(job.here);
            sink.progress(read);
            sink.phase(crate::ROWS_STORED);
            if strict && sum.rejected_count > 0 {
                // Rolled back: nothing of it is taken.
                return Ok((sum, false));
            }
            // Surveys, customers, posts… are no input of the clock: importing only those leaves
            // the facts as they are. Messages and events only added: the conversations they
            // touch are computed again, alone.
            let stale = st.facts != facts_key(cfg);
            if stale || job.clock_new + job.clock_changed > 0 {
                let patching =
                    (!stale && job.clock_changed == 0).then_some(Patching { version: job.version, also: &[] });
                recompute(tx, ws, cfg, patching, sink)?;
            }
            tx.execute("UPDATE data_state SET version = $2 WHERE workspace = $1", &[&ws, &job.version])?;
            sink.before_commit()?;
            sum.committed = true;
            Ok((sum, true))
        })
        .inspect(|s| {
            if s.committed {
                sink.phase("committed");
            }
        })
    }

    fn table(&self, ws: &str, cfg: &Config, from: Option<Millis>, to: Option<Millis>) -> Result<FactTable, StoreError> {
        self.read_current(ws, cfg, |tx, st, cfg| table_in(tx, ws, st, cfg, from, to, None))
    }

    fn table_covering(
        &self,
        ws: &str,
        cfg: &Config,
        from: Option<Millis>,
        to: Option<Millis>,
        cover: crate::Covering,
    ) -> Result<FactTable, StoreError> {
        self.read_current(ws, cfg, |tx, st, cfg| table_in(tx, ws, st, cfg, from, to, Some(cover)))
    }

    fn facts(&self, ws: &str, cfg: &Config, from: Option<Millis>, to: Option<Millis>) -> Result<Facts, StoreError> {
        self.read_current(ws, cfg, |tx, st, cfg| facts_at(tx, ws, cfg, st, from, to))
    }

    fn records(&self, ws: &str, from: Option<Millis>, to: Option<Millis>) -> Result<Records, StoreError> {
        self.read(|tx| {
            let faq = faq_of(tx, ws)?;
            records_at(tx, ws, from, to, faq)
        })
    }

    fn conversation_facts(&self, ws: &str, cfg: &Config, conversation_id: &str) -> Result<Facts, StoreError> {
        let mut f = self.facts(ws, cfg, None, None)?;
        f.requests.retain(|r| r.conversation_id == conversation_id);
        f.messages.retain(|m| m.conversation_id == conversation_id);
        f.conversations.retain(|c| c.conversation_id == conversation_id);
        Ok(f)
    }

    fn rows(&self, ws: &str) -> Result<(Vec<Message>, Vec<ConversationEvent>), StoreError> {
        self.read(|tx| messages_and_events(tx, ws))
    }

    fn messages_by_id(&self, ws: &str, ids: &[String]) -> Result<Vec<Message>, StoreError> {
        self.read(|tx| messages_by_id(tx, ws, ids))
    }

    /// Those imported into, and those created before any import (`admin workspace create`), as
    /// the embedded store lists them.
    fn workspaces(&self) -> Result<Vec<String>, StoreError> {
        let mut w: Vec<String> = self.read(|tx| {
            Ok(tx
                .query("SELECT workspace FROM data_state WHERE version > 0 UNION SELECT name FROM workspaces", &[])?
                .iter()
                .map(|r| r.get(0))
                .collect())
        })?;
        // By their bytes, as the embedded store orders them (not by the server's collation).
        w.sort();
        Ok(w)
    }

    fn probes(&self, ws: &str) -> Result<Vec<Probe>, StoreError> {
        let mut p: Vec<Probe> =
            self.read(|tx| keyed(tx, ws, &[9]))?.iter().map(|(_, b)| parse(b)).collect::<Result<_, _>>()?;
        p.sort_by(|a, b| (a.sent_at.ms, &a.probe_id).cmp(&(b.sent_at.ms, &b.probe_id)));
        Ok(p)
    }

    fn version(&self, ws: &str) -> Result<i64, StoreError> {
        self.read(|tx| Ok(state(tx, ws)?.version))
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
        self.change(ws, |tx, st| {
            let cfg = &*attached(tx, ws, cfg)?;
            let inbound = messages_by_id(tx, ws, &[message_id.to_string()])?
                .first()
                .is_some_and(|m| m.direction == barometre_core::model::Direction::In);
            if !inbound {
                return Ok((false, false));
            }
            let changed = match label {
                Some(l) => tx.execute(
                    "INSERT INTO data_corrections (workspace, message_id, label, by_name, at_ms) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (workspace, message_id) DO UPDATE SET label = EXCLUDED.label, \
                     by_name = EXCLUDED.by_name, at_ms = EXCLUDED.at_ms",
                    &[&ws, &message_id.as_bytes(), &l.as_str(), &by, &now_ms()],
                )?,
                None => tx.execute(
                    "DELETE FROM data_corrections WHERE workspace = $1 AND message_id = $2",
                    &[&ws, &message_id.as_bytes()],
                )?,
            };
            if changed == 0 {
                return Ok((true, false));
            }
            // One message's label: its conversation's facts only (an analyst waits for them).
            let also = [message_id];
            let patching = (st.facts == facts_key(cfg)).then_some(Patching { version: st.version + 1, also: &also });
            recompute(tx, ws, cfg, patching, sink)?;
            tx.execute("UPDATE data_state SET version = $2 WHERE workspace = $1", &[&ws, &(st.version + 1)])?;
            sink.before_commit()?;
            Ok((true, true))
        })
    }

    fn corrections(&self, ws: &str) -> Result<Vec<Correction>, StoreError> {
        self.read(|tx| corrections_of(tx, ws))
    }

    fn import_faq_with(
        &mut self,
        ws: &str,
        cfg: &Config,
        entries: &[FaqEntry],
        sink: &mut dyn ImportSink,
    ) -> Result<FaqSummary, StoreError> {
        let changed = self.change(ws, |tx, st| {
            known(tx, ws)?;
            if faq_of(tx, ws)? == entries {
                return Ok((false, true));
            }
            let json = serde_json::to_string(entries).map_err(corrupt)?;
            tx.execute(
                "INSERT INTO data_faq (workspace, entries) VALUES ($1, $2) \
                 ON CONFLICT (workspace) DO UPDATE SET entries = EXCLUDED.entries",
                &[&ws, &json],
            )?;
            if !st.facts.is_empty() {
                let cfg = cfg.with_faq((!entries.is_empty()).then(|| Arc::new(Faq::new(entries.to_vec()))));
                // The knowledge base reads every incoming message: every fact is computed again.
                recompute(tx, ws, &cfg, None, sink)?;
            }
            tx.execute("UPDATE data_state SET version = $2 WHERE workspace = $1", &[&ws, &(st.version + 1)])?;
            sink.before_commit()?;
            Ok((true, true))
        })?;
        let t = self.table(ws, cfg, None, None)?;
        Ok(FaqSummary::counted(entries.len(), changed, &t))
    }

    fn faq(&self, ws: &str) -> Result<Vec<FaqEntry>, StoreError> {
        self.read(|tx| faq_of(tx, ws))
    }
}

fn messages_by_id(tx: &mut Transaction<'_>, ws: &str, ids: &[String]) -> Result<Vec<Message>, StoreError> {
    let labels = corrected(tx, ws)?;
    let mut found: HashMap<String, Message> = HashMap::new();
    for part in ids.chunks(BATCH) {
        let part: Vec<&[u8]> = part.iter().map(|i| i.as_bytes()).collect();
        // Key by key through the primary key (see `Importing::batch`).
        for r in tx.query(
            "SELECT r.id, r.fp, r.data FROM UNNEST($2::bytea[]) AS u(i) CROSS JOIN LATERAL \
             (SELECT * FROM data_rows WHERE workspace = $1 AND kind = 0 AND id = u.i LIMIT 1) r",
            &[&ws, &part],
        )? {
            let (id, fp): (&str, i64) = (utf8(r.get(0))?, r.get(1));
            let mut m = Message { derived: None, ..rows::row_of_data(id, fp as u64, r.get(2))?.message() };
            m.corrected = labels.get(id).copied();
            found.insert(m.message_id.clone(), m);
        }
    }
    Ok(ids.iter().filter_map(|i| found.get(i).cloned()).collect())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

// Accounts are the control plane's, on the same server.
accounts_in!(PgStore, cp);

/// Opens PostgreSQL stores for a server's pool: every one over the same two pools of
/// connections (accounts, and rows and facts).
pub struct PgOpener(PgStore);

impl PgOpener {
    pub fn connect(url: &str) -> Result<PgOpener, StoreError> {
        PgStore::connect(url).map(PgOpener)
    }
}

impl crate::Opener for PgOpener {
    fn open(&self) -> Result<Box<dyn crate::Store + Send>, StoreError> {
        Ok(Box::new(PgStore { cp: self.0.cp.clone(), data: self.0.data.clone() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store in a schema of its own on the test server (`BAROMETRE_TEST_POSTGRES`), connected
    /// by URL (a pool, as `--store postgres://…` opens it): every check starts empty.
    fn fresh(url: &str) -> PgStore {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let schema = format!("d{}_{}", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let mut c = postgres::Client::connect(url, postgres::NoTls).expect("the test server answers");
        c.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
        PgStore::connect(&format!("{url}?options=-c%20search_path%3D{schema}")).unwrap()
    }

    use crate::pg::tests::server;

    /// The workspace `w`'s fact chunks (every part but the dictionary).
    fn chunks(s: &PgStore) -> usize {
        let r = s
            .data
            .c()
            .unwrap()
            .query_one("SELECT count(*) FROM data_facts WHERE workspace = 'w' AND part <> 'dict'", &[]);
        r.unwrap().get::<_, i64>(0) as usize
    }

    /// Every fact of `w` computed again from its rows.
    fn recomputed(s: &mut PgStore) {
        s.change("w", |tx, _| recompute(tx, "w", &Config::default(), None, &mut ()).map(|()| ((), true))).unwrap();
    }

    #[test]
    fn late_rows_and_labels_compute_their_conversations_alone_and_give_a_whole_computations_facts() {
        let Some(url) = server() else { return };
        use crate::sqlite::patch::tests as patch;
        patch::late_rows_give_one_imports_facts(&|| fresh(&url), &chunks, &recomputed);
        patch::a_label_computes_its_conversation_again(fresh(&url), &chunks, &recomputed);
        patch::late_rows_at_shared_instants(&|| fresh(&url));
        patch::a_run_gains_a_chunk(&|| fresh(&url), &chunks);
    }

    /// Rows read back in another order than the stored facts were computed in (rows moved in
    /// the table, as an update moves them) would number customers otherwise: found, and every
    /// fact is computed again.
    #[test]
    fn rows_read_back_in_another_order_are_not_patched() {
        let Some(url) = server() else { return };
        let data = barometre_core::demo::generate(2, 4, 1_780_000_000_000);
        let mut s = fresh(&url);
        let file: Arc<str> = "m.csv".into();
        let import = |s: &mut PgStore, msgs: &[Message]| {
            let mut recs = msgs.iter().enumerate().map(|(k, m)| {
                Ok(Located { file: file.clone(), line: k as u64 + 2, id_column: 1, record: Record::Message(m.clone()) })
            });
            let mut notes = Notes::default();
            s.import("w", &Config::default(), false, &mut recs, &mut notes).unwrap();
            notes.0.iter().any(|n| n.starts_with("facts of "))
        };
        import(&mut s, &data.messages);
        let late = |id: &str| {
            let first = &data.messages[170];
            let ms = first.created_at.ms + 1_000;
            vec![Message {
                message_id: id.into(),
                created_at: barometre_core::time::Stamp { ms, ..first.created_at },
                ..first.clone()
            }]
        };
        assert!(import(&mut s, &late("late-0")), "in order, a late message is patched");
        // Half the rows (ids ending in 0 to 4) written again as they are: after the others in
        // the table (its pages are full), customers first named in them numbered after.
        let moved = "UPDATE data_rows SET line = line WHERE get_byte(id, length(id) - 1) BETWEEN 48 AND 52";
        assert!(s.data.c().unwrap().execute(moved, &[]).unwrap() > 100);
        let cfg = Config::default();
        assert!(!import(&mut s, &late("late-1")));
        let kept = (s.facts("w", &cfg, None, None).unwrap(), s.table("w", &cfg, None, None).unwrap());
        recomputed(&mut s);
        assert_eq!(kept, (s.facts("w", &cfg, None, None).unwrap(), s.table("w", &cfg, None, None).unwrap()));
        // Computed whole in that order, the next one is patched again.
        assert!(import(&mut s, &late("late-2")));
    }

    /// Facts written by an older binary with the same settings are computed again and stored by
    /// the first read; another configuration's settings are computed for their read alone.
    #[test]
    fn facts_of_an_older_binary_are_computed_again_once_and_stored() {
        let Some(url) = server() else { return };
        let cfg = Config::default();
        // A workspace of this test's own: a workspace's lock spans the server's database, and
        // other tests' changes of `w` would hold it (the refresh then computes for the read alone).
        let ws = "older-binary";
        let mut s = fresh(&url);
        let mut r = barometre_core::ingest::RecordReader::new(
            "m.csv",
            barometre_core::ingest::Kind::Messages,
            barometre_core::ingest::Format::Csv,
            crate::conformance::ROWS.as_bytes(),
        );
        s.import(ws, &cfg, false, &mut r, &mut ()).unwrap();
        let before = s.table(ws, &cfg, None, None).unwrap();
        let stored = |s: &PgStore| -> String {
            s.data
                .c()
                .unwrap()
                .query_one("SELECT facts_key FROM data_state WHERE workspace = $1", &[&ws])
                .unwrap()
                .get(0)
        };
        let set = |s: &PgStore, key: &str| {
            s.data
                .c()
                .unwrap()
                .execute("UPDATE data_state SET facts_key = $1 WHERE workspace = $2", &[&key, &ws])
                .unwrap();
        };
        let sig = cfg.signature_patterns.join("\u{1f}");
        for old in [
            format!("{}; postgres facts 0", cfg.clock_fingerprint()),
            format!("facts=3;words=0;model=0|gap={};sig={sig};competitors={LAYOUT}", cfg.session_gap_ms),
        ] {
            set(&s, &old);
            assert_eq!(s.table(ws, &cfg, None, None).unwrap(), before, "{old}");
            assert_eq!(stored(&s), facts_key(&cfg), "stored anew after {old}");
        }
        // Another session gap is a report's own setting: computed for it, nothing stored.
        let other = Config::load(Some("[clock]\nsession_gap = \"2h\"\n"), std::iter::empty()).unwrap();
        s.table(ws, &other, None, None).unwrap();
        assert_eq!(stored(&s), facts_key(&cfg));
        assert!(!outdated(&facts_key(&cfg), &cfg));
        // A newer binary's layout is left to it (two binaries during an upgrade would otherwise
        // store their facts in turn at every read).
        assert!(!outdated(&format!("{}; postgres facts 2", cfg.clock_fingerprint()), &cfg));
    }

    #[derive(Default)]
    struct Notes(Vec<String>);

    impl ImportSink for Notes {
        fn note(&mut self, what: &str) {
            self.0.push(what.to_string());
        }
    }

    #[test]
    fn postgresql_rows_and_facts_pass_the_suite() {
        let Some(url) = server() else { return };
        crate::conformance::run_all(|| fresh(&url));
    }
}
