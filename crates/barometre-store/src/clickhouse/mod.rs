//! The ClickHouse back end (issue 13): rows and the clock's facts on a ClickHouse server or a
//! sharded cluster (`Distributed` tables), for workspaces that outgrow one machine.
//!
//! What stays as in the embedded store: the conversation clock runs here, in Rust, once per
//! import, over the workspace's rows; the engine keeps rows and facts. Facts are kept twice: in
//! the compact chunks reports read whole (the same bytes as SQLite's, so that both back ends give
//! byte-identical reports), and as request columns ClickHouse aggregates itself
//! ([`ClickHouseStore::response_summary`]: counts and exact type-7 quantiles by group, pushed
//! down to every shard).
//!
//! Without transactions, an import becomes visible at once when its `imports` row lands, written
//! last: rows and facts carry the import's version, and every read takes only committed versions.
//! A killed import, or a strict one that met a bad row, leaves rows no read takes.
//!
//! Accounts (workspaces' users, sessions, tokens) are not analytics: they live in the control
//! plane given at opening (the embedded store's, or a PostgreSQL one through [`crate::Split`]).

pub mod http;
pub mod schema;

use crate::chunks::{self, CHUNK_ROWS};
use crate::patch;
use crate::rows;
use crate::summary::Summary;
use crate::{ControlPlane, Correction, DataStore, FaqSummary, ImportSink, ImportSummary, StoreError};
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
use http::{quote, Node, RowBinary, Rows};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Rows looked up and inserted together: one query each way per batch.
const BATCH: usize = 20_000;

/// A UTC day in milliseconds: the rollup's unit.
const DAY_MS: i64 = 86_400_000;

/// The UTC days `[d1, d2)` wholly inside the period `[from, to)` (unbounded ends: every day
/// on that side), or `None` when it holds no whole day.
fn whole_days(from: Option<Millis>, to: Option<Millis>) -> Option<(i64, i64)> {
    let d1 = from.map_or(i64::MIN, |f| f.div_euclid(DAY_MS) + i64::from(f.rem_euclid(DAY_MS) != 0));
    let d2 = to.map_or(i64::MAX, |t| t.div_euclid(DAY_MS));
    (d1 < d2).then_some((d1, d2))
}

/// The daily rollup's columns, as written.
const DAILY_COLS: &str = "workspace, generation, day, account, channel, agent, team, outcome, delay_ms, n";
const FACT_COLS: &str = "workspace, generation, part, seq, lo_ms, hi_ms, n, data";
const REQUEST_COLS: &str =
    "workspace, generation, start_ms, closed_ms, account, channel, agent, team, outcome, public, first, conv";

/// One row of `fact_parts`, onto `w`.
#[allow(clippy::too_many_arguments)]
fn chunk_row(w: &mut RowBinary, ws: &str, g: u64, part: &str, seq: i64, lo: i64, hi: i64, n: usize, data: &[u8]) {
    w.str(ws).u64(g).str(part).u32(seq as u32).i64(lo).i64(hi).u64(n as u64).bytes(data);
}

/// What a change lets the facts be patched with, rather than computed again: the generation
/// patched, and the ids of held messages the change changed in place (a label). The change's
/// own rows are those of its version.
struct Patching<'a> {
    from: u64,
    also: &'a [&'a str],
}

/// How a store copies rows within a table ([`ClickHouseStore::copying`]).
#[derive(Clone, Copy)]
struct Copying {
    /// Each node copies its own rows ([`ClickHouseStore::copies_node_by_node`]); else the copies
    /// go through the `Distributed` tables.
    node_by_node: bool,
    /// URL settings of the copies.
    settings: &'static str,
}

/// A generation's stored chunks, as a patch reads them.
struct Chunks<'a> {
    store: &'a ClickHouseStore,
    ws: &'a str,
    g: u64,
    /// Chunks read with others (a part's compact rows come with its ids), not asked for yet.
    read: HashMap<(String, i64), (usize, Vec<u8>)>,
}

impl patch::Stored for Chunks<'_> {
    fn dict(&mut self) -> Result<Dict, StoreError> {
        self.store.dict(self.ws, self.g)
    }
    fn metas(&mut self, part: &str) -> Result<Vec<patch::Meta>, StoreError> {
        let mut out = Vec::new();
        self.store.select(
            &format!(
                "SELECT seq, lo_ms, hi_ms FROM {}.fact_parts WHERE workspace = {} AND generation = {} AND part = {} \
                 ORDER BY seq",
                self.store.db(),
                quote(self.ws),
                self.g,
                quote(part)
            ),
            |r| {
                out.push(patch::Meta { seq: i64::from(r.u32()?), lo: r.i64()?, hi: r.i64()? });
                Ok(())
            },
        )?;
        Ok(out)
    }
    fn chunk(&mut self, part: &str, seq: i64) -> Result<(usize, Vec<u8>), StoreError> {
        if let Some(c) = self.read.remove(&(part.to_string(), seq)) {
            return Ok(c);
        }
        // A chunk's compact rows and its ids in one query: the patch asks for both.
        let parts = if part.ends_with("_ids") {
            quote(part)
        } else {
            format!("{}, {}", quote(part), quote(&format!("{part}_ids")))
        };
        let mut out = None;
        let read = &mut self.read;
        self.store.select(
            &format!(
                "SELECT part, n, data FROM {}.fact_parts WHERE workspace = {} AND generation = {} AND part IN ({parts}) \
                 AND seq = {seq}",
                self.store.db(),
                quote(self.ws),
                self.g,
            ),
            |r| {
                let (p, c) = (r.str()?, (r.u64()? as usize, r.bytes()?));
                if p == part {
                    out = Some(c);
                } else {
                    read.insert((p, seq), c);
                }
                Ok(())
            },
        )?;
        out.ok_or_else(|| corrupt(format!("{part} chunk {seq} of generation {} is missing", self.g)))
    }
}

fn err(message: impl Into<String>) -> StoreError {
    StoreError::Backend { engine: "ClickHouse", message: message.into() }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("ClickHouse row: {e}"))
}

/// Where a ClickHouse store is: the node queries go to, the cluster its tables are spread over
/// (if any), and every node's HTTP address (needed to create the schema and to clean old facts:
/// ClickHouse without ZooKeeper runs DDL node by node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub node: Node,
    pub cluster: Option<String>,
    /// Every node of the cluster, the first one included; empty when not named.
    pub nodes: Vec<Node>,
}

fn identifier(what: &str, s: &str) -> Result<(), StoreError> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(err(format!("{what} `{s}`: letters, digits and `_` only")));
    }
    Ok(())
}

fn host_port(s: &str) -> Result<(String, u16), StoreError> {
    let (h, p) = s.rsplit_once(':').ok_or_else(|| err(format!("`{s}`: HOST:HTTP_PORT expected")))?;
    let port = p.parse().map_err(|_| err(format!("`{s}`: the port is not a number")))?;
    if h.is_empty() {
        return Err(err(format!("`{s}`: no host")));
    }
    Ok((h.to_string(), port))
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex =
            b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Address {
    /// Reads `clickhouse://[USER[:PASSWORD]@]HOST:HTTP_PORT/DB[?cluster=NAME&nodes=HOST:PORT,…]`.
    pub fn parse(url: &str) -> Result<Address, StoreError> {
        let rest =
            url.strip_prefix("clickhouse://").ok_or_else(|| err("a ClickHouse store starts with clickhouse://"))?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (auth, rest) = match rest.rsplit_once('@') {
            Some((a, r)) => (Some(a), r),
            None => (None, rest),
        };
        let (user, password) = match auth {
            Some(a) => match a.split_once(':') {
                Some((u, p)) => (Some(unescape(u)), Some(unescape(p))),
                None => (Some(unescape(a)), None),
            },
            None => (None, None),
        };
        let (hp, db) = rest.split_once('/').ok_or_else(|| err("clickhouse://HOST:HTTP_PORT/DATABASE expected"))?;
        let db = db.trim_end_matches('/');
        identifier("database", db)?;
        let (host, port) = host_port(hp)?;
        let node = Node { host, port, database: db.to_string(), user, password };
        let mut cluster = None;
        let mut nodes = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "cluster" => {
                    identifier("cluster", v)?;
                    cluster = Some(v.to_string());
                }
                "nodes" => {
                    for hp in unescape(v).split(',').filter(|s| !s.is_empty()) {
                        let (host, port) = host_port(hp)?;
                        nodes.push(Node { host, port, ..node.clone() });
                    }
                }
                other => return Err(err(format!("unknown setting `{other}` (cluster, nodes)"))),
            }
        }
        if !nodes.is_empty() && !nodes.contains(&node) {
            nodes.insert(0, node.clone());
        }
        if cluster.is_none() && !nodes.is_empty() {
            return Err(err("`nodes` names a cluster's servers: give its name with `cluster=`"));
        }
        Ok(Address { node, cluster, nodes })
    }
}

/// The kinds of rows, as the `rows` table numbers them.
pub(crate) fn kind_of(r: &Record) -> u8 {
    match r {
        Record::Message(_) => 0,
        Record::Event(_) => 1,
        Record::Survey(_) => 2,
        Record::Invitation(_) => 3,
        Record::Contact(_) => 4,
        Record::Post(_) => 5,
        Record::Customer(_) => 6,
        Record::Order(_) => 7,
        Record::Review(_) => 8,
        Record::Probe(_) => 9,
    }
}

/// A row's id column (named in duplicate errors, as the embedded store names it), id,
/// conversation (its shard) and instant (its month).
pub(crate) fn keys(r: &Record) -> (&'static str, String, &str, Millis) {
    match r {
        Record::Message(m) => {
            ("message_id", m.message_id.clone(), m.conversation_id.as_deref().unwrap_or(""), m.created_at.ms)
        }
        Record::Event(e) => ("event", e.key(), e.conversation_id.as_str(), e.at.ms),
        Record::Survey(x) => {
            ("response_id", x.response_id.clone(), x.conversation_id.as_deref().unwrap_or(""), x.answered_at.ms)
        }
        Record::Invitation(x) => ("invitation_id", x.invitation_id.clone(), "", x.sent_at.ms),
        Record::Contact(x) => ("contact_id", x.contact_id.clone(), "", x.queued_at.ms),
        Record::Post(x) => ("post_id", x.post_id.clone(), "", x.published_at.ms),
        Record::Customer(x) => ("customer_id", x.customer_id.clone(), "", 0),
        Record::Order(x) => ("order_id", x.order_id.clone(), "", 0),
        Record::Review(x) => ("review_key", x.key.clone(), x.conversation_id.as_deref().unwrap_or(""), x.at.ms),
        Record::Probe(x) => ("probe_id", x.probe_id.clone(), "", x.sent_at.ms),
    }
}

/// A row as it is kept: what the embedded store keeps of it (a contact's or a probe's later
/// instants carry the first one's offset there), so that both back ends give the same rows back.
pub(crate) fn body(r: &Record) -> Result<String, StoreError> {
    let j = match r {
        Record::Message(m) => {
            let mut m = m.clone();
            m.derived = None;
            m.corrected = None;
            serde_json::to_string(&m)
        }
        Record::Event(e) => serde_json::to_string(e),
        Record::Survey(x) => serde_json::to_string(x),
        Record::Invitation(x) => serde_json::to_string(x),
        Record::Contact(x) => {
            let mut x = x.clone();
            let off = x.queued_at.offset_s;
            for t in [&mut x.answered_at, &mut x.ended_at].into_iter().flatten() {
                t.offset_s = off;
            }
            serde_json::to_string(&x)
        }
        Record::Post(x) => serde_json::to_string(x),
        Record::Customer(x) => serde_json::to_string(x),
        Record::Order(x) => serde_json::to_string(x),
        Record::Review(x) => serde_json::to_string(x),
        Record::Probe(x) => {
            let mut x = x.clone();
            let off = x.sent_at.offset_s;
            if let Some(t) = &mut x.answered_at {
                t.offset_s = off;
            }
            serde_json::to_string(&x)
        }
    };
    j.map_err(|e| err(format!("cannot write a row: {e}")))
}

/// A kept message: from its compact row, or from its JSON when written before schema 5.
fn message_of(id: &str, fp: u64, body: &str, data: &[u8]) -> Result<Message, StoreError> {
    if data.is_empty() {
        parse(body)
    } else {
        Ok(Message { derived: None, ..rows::row_of_data(id, fp, data)?.message() })
    }
}

/// A message an import reads back: its compact row (with an analyst's label), or a message read
/// from JSON (its label set) with its text's reading.
enum Loaded<'a> {
    Row(rows::RowRef<'a>, Option<Label>),
    Json(Message, TextFacts),
}

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(corrupt)
}

/// `(v1, v2, …)`: a list of versions written into a query (never empty: no version is 0).
fn list(v: &[u64]) -> String {
    if v.is_empty() {
        return "(0)".into();
    }
    let mut s = String::with_capacity(v.len() * 17 + 2);
    s.push('(');
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&x.to_string());
    }
    s.push(')');
    s
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// What a generation of facts was derived with: the clock's settings, and where this back end
/// keeps the facts (schema 2 moved them to `fact_parts`): facts written elsewhere or otherwise are
/// not read — they are computed from the rows until an import writes them anew.
fn facts_key(cfg: &Config) -> String {
    format!("{}; clickhouse facts 2", cfg.clock_fingerprint())
}

/// Decodes `n` compact rows of a chunk onto a vector.
pub(crate) type Decode<H> = fn(&[u8], usize, &mut Vec<H>) -> Result<(), StoreError>;

/// A workspace as reads see it: its committed versions and its current facts.
struct State {
    versions: Vec<u64>,
    /// The import whose facts are current, and the clock settings they were derived with.
    generation: Option<(u64, String)>,
    /// No committed change wrote a second version of a message's or an event's key: their
    /// rows are read as they are, without looking for keys of several versions.
    unique: bool,
}

/// What a change that wrote no message or event under a key held before adds to its
/// `imports.what` (changes by binaries before this mark are taken as having written some).
const NEW_KEYS_ONLY: &str = " (new keys only)";

/// A row about to be written.
struct Pending {
    kind: u8,
    id: String,
    conv: String,
    at_ms: Millis,
    fp: u64,
    file: Arc<str>,
    line: u64,
    tf_key: String,
    body: String,
    /// A message's compact row (`rows::encode_data`); empty for other kinds.
    data: Vec<u8>,
}

/// What is stored of a row, as a batch's lookup finds it.
struct Stored {
    fp: u64,
    version: u64,
    file: String,
    line: u64,
    body: String,
    data: Vec<u8>,
}

impl Node {
    /// Runs a query and hands its RowBinary answer to `each`, row by row.
    fn select(
        &self,
        sql: &str,
        mut each: impl FnMut(&mut Rows<http::Response>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let resp = self.post(&format!("{sql} FORMAT RowBinary"), None)?;
        let mut rows = Rows::new(resp);
        while rows.more()? {
            each(&mut rows)?;
        }
        Ok(())
    }

    fn insert(&self, table: &str, cols: &str, data: &RowBinary) -> Result<(), StoreError> {
        if data.0.is_empty() {
            return Ok(());
        }
        let db = &self.database;
        let mut r = self.post(&format!("INSERT INTO {db}.{table} ({cols}) FORMAT RowBinary"), Some(&data.0))?;
        std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| err(e.to_string()))?;
        Ok(())
    }

    /// Hands each `(n, bytes)` chunk of a fact part of generation `g` that may hold instants in
    /// `[from, to)` to `each`, in order, as it arrives.
    #[allow(clippy::too_many_arguments)]
    fn each_chunk(
        &self,
        ws: &str,
        g: u64,
        part: &str,
        from: Option<Millis>,
        to: Option<Millis>,
        mut each: impl FnMut(usize, &[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.select(
            &format!(
                "SELECT n, data FROM {}.fact_parts WHERE workspace = {} AND generation = {g} AND part = {} \
                 AND hi_ms >= {} AND lo_ms < {} ORDER BY seq",
                self.database,
                quote(ws),
                quote(part),
                from.unwrap_or(i64::MIN),
                to.unwrap_or(i64::MAX)
            ),
            |r| {
                let n = r.u64()? as usize;
                each(n, &r.bytes()?)
            },
        )
    }

    /// The messages of generation `g` in `[from, to)` for a report over `within`: the chunks
    /// `within`'s bounds cut, whole; the others as their covers, unattached counts onto `covered`.
    #[allow(clippy::too_many_arguments)]
    fn covered_msgs(
        &self,
        ws: &str,
        g: u64,
        from: Option<Millis>,
        to: Option<Millis>,
        within: (Option<Millis>, Option<Millis>),
        msgs: &mut Vec<MsgRow>,
        covered: &mut Vec<(Millis, Millis, u64)>,
    ) -> Result<(), StoreError> {
        let (db, w) = (&self.database, quote(ws));
        let overlap = format!("hi_ms >= {} AND lo_ms < {}", from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
        let inside = format!("lo_ms >= {} AND hi_ms < {}", within.0.unwrap_or(i64::MIN), within.1.unwrap_or(i64::MAX));
        self.select(
            &format!(
                "SELECT n, data FROM {db}.fact_parts WHERE workspace = {w} AND generation = {g} \
                 AND part = 'msg' AND {overlap} AND NOT ({inside}) ORDER BY seq"
            ),
            |r| {
                let n = r.u64()? as usize;
                chunks::decode_msgs(&r.bytes()?, n, msgs)
            },
        )?;
        self.select(
            &format!(
                "SELECT lo_ms, hi_ms, data FROM {db}.fact_parts WHERE workspace = {w} AND generation = {g} \
                 AND part = {} AND {overlap} AND {inside} ORDER BY seq",
                quote(chunks::COVER)
            ),
            |r| {
                let (lo, hi) = (r.i64()?, r.i64()?);
                let unattached = chunks::decode_cover(&r.bytes()?, msgs)?;
                if unattached > 0 {
                    covered.push((lo, hi, unattached));
                }
                Ok(())
            },
        )
    }

    fn write_rows(&self, ws: &str, version: u64, rows: &[Pending]) -> Result<(), StoreError> {
        for part in rows.chunks(BATCH) {
            let mut w = RowBinary::default();
            for p in part {
                w.str(ws).u8(p.kind).str(&p.id).str(&p.conv).i64(p.at_ms).u64(version).u64(p.fp);
                // `derived` (a message's text facts as JSON, before schema 5) is left empty: the
                // compact row holds them.
                w.str(&p.file).u64(p.line).str(&p.tf_key).str(&p.body).str("").bytes(&p.data);
            }
            self.insert(
                "row_versions",
                "workspace, kind, id, conv, at_ms, version, fp, file, line, tf_key, body, derived, data",
                &w,
            )?;
        }
        Ok(())
    }
}

/// What an import is writing: the workspace, its settings and the version its rows carry.
struct Importing<'a> {
    ws: &'a str,
    cfg: &'a Config,
    /// The clock settings' fingerprint (kept with each message's reading of its text).
    key: &'a str,
    version: u64,
    /// The committed versions and this one: what a batch looks rows up among.
    seen: &'a [u64],
    /// Messages and events new to the workspace, and messages changed: the clock's input (every
    /// worker counts here).
    clock_new: AtomicU64,
    clock_changed: AtomicU64,
}

/// Rows an import worker has classified and not written yet, by key: ClickHouse takes large
/// inserts best (a part per insert and shard), lookups are smaller; a repeat of a row still here
/// is found here.
#[derive(Default)]
struct Writer {
    pending: Vec<Pending>,
    at: HashMap<(u8, String), usize>,
    /// Rows this import read unchanged, and where: not written again (their stored version
    /// stays current), yet a different row with the same key later in the import is a
    /// duplicate, as on the embedded store.
    here: HashMap<(u8, String), (Arc<str>, u64)>,
}

/// Rows a worker keeps before writing them.
// (Fewer under test: rows written then repeated are looked up in ClickHouse, not here.)
const WRITE_ROWS: usize = if cfg!(test) { 5_000 } else { 250_000 };

impl Writer {
    fn flush(&mut self, node: &Node, job: &Importing) -> Result<(), StoreError> {
        node.write_rows(job.ws, job.version, &self.pending)?;
        self.pending.clear();
        self.at.clear();
        Ok(())
    }
}

/// What a batch did: its counts (in an [`ImportSummary`]) and its refused rows, handed to the
/// import's sink by the thread that reads the files.
#[derive(Default)]
struct BatchOut {
    counts: ImportSummary,
    rejected: Vec<RowError>,
}

impl BatchOut {
    fn merge_into(self, sum: &mut ImportSummary, sink: &mut dyn ImportSink) {
        let c = self.counts;
        sum.rows += c.rows;
        sum.inserted += c.inserted;
        sum.updated += c.updated;
        sum.unchanged += c.unchanged;
        sum.unattached += c.unattached;
        for e in self.rejected {
            sum.reject(e, sink);
        }
    }
}

/// Which import worker takes a row: rows of one id always go to the same one, in file order, so
/// that a repeat is seen by the worker that took the first.
fn worker_of(r: &Record, workers: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    kind_of(r).hash(&mut h);
    keys(r).1.hash(&mut h);
    (h.finish() % workers as u64) as usize
}

/// The ClickHouse store.
pub struct ClickHouseStore {
    node: Node,
    cluster: Option<String>,
    /// Every node (DDL, cleaning old facts); empty when a cluster's nodes were not named.
    nodes: Vec<Node>,
    control: Box<dyn ControlPlane + Send>,
    /// Threads that look rows up and write them during an import (1: the reading thread).
    workers: usize,
    /// Whether summaries read whole days from the daily rollup (`BAROMETRE_CLICKHOUSE_ROLLUPS=off`
    /// reads every request instead: the same figures, to compare their times).
    rollups: bool,
    /// How rows are copied within a table (found at the first copy): whether each node copies
    /// its own, and the settings the server needs for it.
    copying: std::sync::OnceLock<Copying>,
}

impl ClickHouseStore {
    /// Opens the store at `addr`, with `control` keeping accounts. The schema is created or
    /// upgraded when the address names every node (a lone server always does); else it must
    /// exist (`barometre migrate --store …` with `nodes=`).
    pub fn open(addr: &Address, control: Box<dyn ControlPlane + Send>) -> Result<ClickHouseStore, StoreError> {
        let mut s = ClickHouseStore {
            node: addr.node.clone(),
            cluster: addr.cluster.clone(),
            nodes: addr.nodes.clone(),
            control,
            workers: 1,
            copying: std::sync::OnceLock::new(),
            rollups: std::env::var("BAROMETRE_CLICKHOUSE_ROLLUPS").map_or(true, |v| !matches!(v.as_str(), "off" | "0")),
        };
        let layout = s.layout(&s.node)?;
        match (&layout, &s.cluster) {
            (Some((cluster, _)), None) => s.cluster = cluster.clone(),
            (Some((cluster, _)), Some(c)) if cluster.as_deref() != Some(c.as_str()) => {
                return Err(err(format!(
                    "database `{}` was laid out for {}, not for the cluster `{c}`",
                    s.node.database,
                    cluster.as_deref().map_or("one server".to_string(), |c| format!("the cluster `{c}`"))
                )))
            }
            _ => {}
        }
        if s.cluster.is_none() {
            s.nodes = vec![s.node.clone()];
        }
        let latest = schema::MIGRATIONS.last().map_or(0, |m| m.0);
        match layout.map(|l| l.1) {
            Some(v) if v > latest => {
                return Err(err(format!(
                    "database `{}` has schema version {v}, newer than this binary's {latest}: upgrade barometre",
                    s.node.database
                )))
            }
            Some(v) if v == latest => {}
            _ if s.nodes.is_empty() => {
                return Err(err(format!(
                "database `{}` has no Baromètre schema (or an older one): create it with `barometre migrate --store \
                     'clickhouse://HOST:PORT/{}?cluster={}&nodes=HOST:PORT,…'` naming every node",
                s.node.database,
                s.node.database,
                s.cluster.as_deref().unwrap_or("NAME")
            )))
            }
            _ => {
                s.migrate()?;
            }
        }
        Ok(s)
    }

    /// A node's layout: the cluster its tables were created for (`None`: one server) and its
    /// schema version; `None` when it has no schema.
    fn layout(&self, node: &Node) -> Result<Option<(Option<String>, u32)>, StoreError> {
        let db = &node.database;
        let found = node.text(&format!(
            "SELECT count() FROM system.tables WHERE database = {} AND name IN ('schema_migrations', 'layout')",
            quote(db)
        ))?;
        if found.trim() != "2" {
            return Ok(None);
        }
        let cluster = node.text(&format!("SELECT any(cluster) FROM {db}.layout"))?;
        let cluster = cluster.trim_end_matches('\n');
        let version = node.text(&format!("SELECT max(version) FROM {db}.schema_migrations"))?;
        let version = version.trim().parse().unwrap_or(0);
        Ok(Some(((!cluster.is_empty()).then(|| cluster.to_string()), version)))
    }

    /// Creates or upgrades the schema on every node; returns its version.
    pub fn migrate(&self) -> Result<u32, StoreError> {
        let cluster = self.cluster.as_deref();
        if let Some(c) = cluster {
            let known = self.node.text(&format!("SELECT count() FROM system.clusters WHERE cluster = {}", quote(c)))?;
            let shards: usize = known.trim().parse().unwrap_or(0);
            if shards == 0 {
                return Err(err(format!("the server knows no cluster `{c}` (its remote_servers)")));
            }
            if self.nodes.len() < shards {
                return Err(err(format!(
                    "the cluster `{c}` has {shards} servers: name each one's HTTP address with nodes=HOST:PORT,… \
                     ({} named)",
                    self.nodes.len()
                )));
            }
        }
        let mut version = 0;
        for node in &self.nodes {
            let db = &node.database;
            node.exec(&format!("CREATE DATABASE IF NOT EXISTS {db}"))?;
            node.exec(&format!(
                "CREATE TABLE IF NOT EXISTS {db}.schema_migrations (version UInt32, applied_ms Int64) ENGINE = TinyLog"
            ))?;
            node.exec(&format!("CREATE TABLE IF NOT EXISTS {db}.layout (cluster String) ENGINE = TinyLog"))?;
            let (laid, current) = self.layout(node)?.unwrap_or((None, 0));
            let has_layout = node.text(&format!("SELECT count() FROM {db}.layout"))?.trim() != "0";
            if has_layout && laid.as_deref() != cluster {
                return Err(err(format!(
                    "{}:{} database `{db}` was laid out for another cluster ({})",
                    node.host,
                    node.port,
                    laid.as_deref().unwrap_or("one server")
                )));
            }
            if !has_layout {
                node.exec(&format!("INSERT INTO {db}.layout VALUES ({})", quote(cluster.unwrap_or(""))))?;
            }
            for (v, tables) in schema::MIGRATIONS {
                if *v > current {
                    for t in *tables {
                        for sql in schema::create(t, db, cluster) {
                            node.exec(&sql)?;
                        }
                    }
                    for (_, table, column, def) in schema::COLUMNS.iter().filter(|c| c.0 == *v) {
                        let local = schema::local(table, cluster);
                        let mut on = vec![local.clone()];
                        if local != *table {
                            on.push(table.to_string());
                        }
                        for t in on {
                            let has = || -> Result<bool, StoreError> {
                                let n = node.text(&format!(
                                    "SELECT count() FROM system.columns WHERE database = {} AND table = {} AND name = {}",
                                    quote(db),
                                    quote(&t),
                                    quote(column)
                                ))?;
                                Ok(n.trim() != "0")
                            };
                            // ClickHouse 18.16 knows no `ADD COLUMN IF NOT EXISTS`.
                            if !has()? {
                                if let Err(e) = node.exec(&format!("ALTER TABLE {db}.{t} ADD COLUMN {column} {def}")) {
                                    // Another process migrating at the same time may have added it.
                                    if !has()? {
                                        return Err(e);
                                    }
                                }
                            }
                        }
                    }
                    for (_, from, to) in schema::COPIES.iter().filter(|c| c.0 == *v) {
                        // Each node copies its own part: no row crosses shards.
                        node.exec(&format!(
                            "INSERT INTO {db}.{} SELECT * FROM {db}.{}",
                            schema::local(to, cluster),
                            schema::local(from, cluster)
                        ))?;
                    }
                    node.exec(&format!("INSERT INTO {db}.schema_migrations VALUES ({v}, {})", now_ms()))?;
                }
                version = version.max(*v);
            }
        }
        Ok(version)
    }

    /// The schema's version on the node queries go to.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self.layout(&self.node)?.map_or(0, |l| l.1))
    }

    fn select(
        &self,
        sql: &str,
        each: impl FnMut(&mut Rows<http::Response>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.node.select(sql, each)
    }

    fn insert(&self, table: &str, cols: &str, data: &RowBinary) -> Result<(), StoreError> {
        self.node.insert(table, cols, data)
    }

    fn db(&self) -> &str {
        &self.node.database
    }

    fn state(&self, ws: &str) -> Result<State, StoreError> {
        let db = self.db();
        let (mut versions, mut unique) = (Vec::new(), true);
        self.select(
            &format!("SELECT version, what FROM {db}.imports WHERE workspace = {} ORDER BY version", quote(ws)),
            |r| {
                versions.push(r.u64()?);
                unique &= r.str()?.ends_with(NEW_KEYS_ONLY);
                Ok(())
            },
        )?;
        let mut generation = None;
        if !versions.is_empty() {
            self.select(
                &format!(
                    "SELECT generation, fingerprint FROM {db}.generations WHERE workspace = {} AND generation IN {} \
                     ORDER BY generation DESC LIMIT 1",
                    quote(ws),
                    list(&versions)
                ),
                |r| {
                    generation = Some((r.u64()?, r.str()?));
                    Ok(())
                },
            )?;
        }
        Ok(State { versions, generation, unique })
    }

    /// A version above every one of the workspace's: the time in microseconds, or one more, plus
    /// a number of this process and call. Two imports that start together (the same
    /// microsecond, or clocks behind the last version) then take different versions: with the
    /// same one, the rows of an import refused at its commit would be read as the other's.
    fn next_version(&self, st: &State) -> u64 {
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_micros() as u64);
        now.max(st.versions.last().map_or(0, |v| v + 1)) + version_salt()
    }

    fn faq_at(&self, ws: &str, versions: &[u64]) -> Result<Vec<FaqEntry>, StoreError> {
        let mut out = Vec::new();
        self.select(
            &format!(
                "SELECT entries FROM {}.faq WHERE workspace = {} AND version IN {} ORDER BY version DESC LIMIT 1",
                self.db(),
                quote(ws),
                list(versions)
            ),
            |r| {
                out = parse(&r.str()?)?;
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// `cfg` with the workspace's knowledge base (see the embedded store's `attached`).
    fn attached<'c>(
        &self,
        ws: &str,
        cfg: &'c Config,
        versions: &[u64],
    ) -> Result<std::borrow::Cow<'c, Config>, StoreError> {
        let entries = self.faq_at(ws, versions)?;
        let faq = (!entries.is_empty()).then(|| Arc::new(Faq::new(entries)));
        Ok(if faq.is_none() && cfg.faq.is_none() {
            std::borrow::Cow::Borrowed(cfg)
        } else {
            std::borrow::Cow::Owned(cfg.with_faq(faq))
        })
    }

    fn corrections_at(&self, ws: &str, versions: &[u64]) -> Result<Vec<Correction>, StoreError> {
        let mut out = Vec::new();
        self.select(
            &format!(
                "SELECT message_id, argMax(label, version), argMax(by, version), argMax(at_ms, version) FROM {}.corrections \
                 WHERE workspace = {} AND version IN {} GROUP BY message_id ORDER BY message_id",
                self.db(),
                quote(ws),
                list(versions)
            ),
            |r| {
                let (message_id, label, by, at_ms) = (r.str()?, r.str()?, r.str()?, r.i64()?);
                if !label.is_empty() {
                    let label = Label::parse(&label).ok_or_else(|| corrupt(format!("label `{label}`")))?;
                    out.push(Correction { message_id, label, by: (!by.is_empty()).then_some(by), at_ms });
                }
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// Every message and event of the workspace as of `versions`, with the clock's reading of
    /// each text: kept when it was read with `cfg`'s settings, else read again (and returned in
    /// the second list, to be kept).
    #[allow(clippy::type_complexity)]
    fn load(
        &self,
        ws: &str,
        cfg: Option<&Config>,
        versions: &[u64],
        unique: bool,
    ) -> Result<(Vec<(Message, TextFacts)>, Vec<ConversationEvent>, Vec<Pending>), StoreError> {
        let mut msgs = Vec::new();
        let (evs, stale) = self.load_each(ws, cfg, versions, unique, |l, _| {
            msgs.push(match l {
                Loaded::Row(r, corrected) => (Message { derived: None, corrected, ..r.message() }, r.tf),
                Loaded::Json(m, tf) => (m, tf),
            })
        })?;
        Ok((msgs, evs.into_iter().map(|(e, _)| e).collect(), stale))
    }

    /// [`Self::load`], each message handed to `each` as it is read (none kept here), with the
    /// version of the change that wrote it; the events with theirs, by version then id. Messages
    /// come as the shards and their threads send them, in another order at every read: the
    /// clock's caller orders them ([`engine::Bulk::order_by_tags`]).
    #[allow(clippy::type_complexity)]
    fn load_each(
        &self,
        ws: &str,
        cfg: Option<&Config>,
        versions: &[u64],
        unique: bool,
        mut each: impl FnMut(Loaded<'_>, u64),
    ) -> Result<(Vec<(ConversationEvent, u64)>, Vec<Pending>), StoreError> {
        let key = cfg.map(Config::clock_fingerprint).unwrap_or_default();
        let (db, w, vs) = (self.db(), quote(ws), list(versions));
        let rows = format!("FROM {db}.row_versions WHERE workspace = {w} AND kind IN (0, 1) AND version IN {vs}");
        // Whether a message's text was read with these settings (`fresh`: 1 or 0), not the
        // settings themselves (126 bytes a row, half of what was read back); its conversation and
        // file only where it was not (what keeping it again needs). Without settings, every
        // reading is taken as it is.
        let fresh = if cfg.is_some() { format!("tf_key = {}", quote(&key)) } else { "1".to_string() };
        let tail = "if(fresh, '', conv) AS c, at_ms, fp, if(fresh, '', file) AS f, line";
        // Messages written since schema 5 are read from their compact rows alone; other rows,
        // events and messages written before, from their JSON. (Aliases name no column:
        // ClickHouse puts an alias's expression wherever its name appears, conditions included.)
        let compact = format!(
            "SELECT kind, id, '' AS no_body, {fresh} AS fresh, '' AS no_derived, data, {tail}, version \
             {rows} AND data != ''"
        );
        let json = format!(
            "SELECT kind, id, body, {fresh} AS fresh, derived, '' AS no_data, {tail}, version {rows} AND data = ''"
        );
        let latest = format!(
            "SELECT kind, id, argMax(body, version), argMax({fresh}, version) AS fresh, argMax(derived, version), \
             argMax(data, version), argMax(conv, version), argMax(at_ms, version), argMax(fp, version), \
             argMax(file, version), argMax(line, version), max(version) {rows}"
        );
        // Each key's last version, chosen by the keys alone: a semi-join on (kind, id, version).
        let last = format!(
            "SELECT kind, id, body, {fresh} AS fresh, derived, data, {tail}, version {rows} AND (kind, id, version) \
             GLOBAL IN (SELECT kind, id, max(version) {rows} GROUP BY kind, id)"
        );
        // Every row has one version among `versions` (the first import of a workspace): read as
        // they are, without grouping them by key. Else the keys with several versions are found
        // first (their ids alone, grouped): the rows of the others are read as they are, and only
        // those grouped to take their last version — grouping every row with its body took four
        // times as long as reading them. Past `SEVERAL` keys (a file imported again with changes,
        // every message's text read again under new settings), each key's last version is chosen
        // by a semi-join on the keys (1.8 s for a million keys of two versions each, against 4.1 s
        // grouping the rows).
        const SEVERAL: usize = if cfg!(test) { 2 } else { 2_000 };
        let queries = if unique {
            vec![compact, json]
        } else {
            let mut several = Vec::new();
            self.select(
                &format!("SELECT kind, id {rows} GROUP BY kind, id HAVING count() > 1 LIMIT {}", SEVERAL + 1),
                |r| {
                    several.push(format!("({}, {})", r.u8()?, quote(&r.str()?)));
                    Ok(())
                },
            )?;
            if several.is_empty() {
                vec![compact, json]
            } else if several.len() > SEVERAL {
                vec![last]
            } else {
                let keys = several.join(", ");
                vec![
                    format!("{compact} AND (kind, id) NOT IN ({keys})"),
                    format!("{json} AND (kind, id) NOT IN ({keys})"),
                    format!("{latest} AND (kind, id) IN ({keys}) GROUP BY kind, id"),
                ]
            }
        };
        let corrected: HashMap<String, Label> =
            self.corrections_at(ws, versions)?.into_iter().map(|c| (c.message_id, c.label)).collect();
        let (mut evs, mut stale): (Vec<(u64, String, ConversationEvent)>, _) = (Vec::new(), Vec::new());
        for sql in &queries {
            self.select(sql, |r| {
                let (kind, id, body, fresh, derived) = (r.u8()?, r.str()?, r.str()?, r.u8()? == 1, r.str()?);
                let data = r.bytes()?;
                let (conv, at_ms, fp, file, line) = (r.str()?, r.i64()?, r.u64()?, r.str()?, r.u64()?);
                let version = r.u64()?;
                if kind == 1 {
                    evs.push((version, id, parse::<ConversationEvent>(&body)?));
                    return Ok(());
                }
                let label = corrected.get(&id).copied();
                // The message, and its text read again when the kept reading was made with other
                // settings (`None`: the texts are all that is asked; the clock reads them itself).
                let (mut m, tf) = if data.is_empty() {
                    let m: Message = parse(&body)?;
                    let tf = match cfg {
                        Some(cfg) if !fresh => clock::text_facts(&m, cfg),
                        Some(_) => parse::<TextFacts>(&derived)?,
                        None => TextFacts::default(),
                    };
                    (m, tf)
                } else {
                    let row = rows::row_of_data(&id, fp, &data)?;
                    match cfg {
                        Some(cfg) if !fresh => {
                            let m = Message { derived: None, ..row.message() };
                            let tf = clock::text_facts(&m, cfg);
                            (m, tf)
                        }
                        _ => {
                            each(Loaded::Row(row, label), version);
                            return Ok(());
                        }
                    }
                };
                if cfg.is_some() && !fresh {
                    // Kept again with this reading, in the compact form (a message written
                    // before schema 5 and read as it was stays in its JSON: rewritten, each of
                    // them would have two versions to group at every later import).
                    stale.push(Pending {
                        kind,
                        data: rows::encode_data(&m, &tf, line),
                        body: String::new(),
                        id,
                        conv,
                        at_ms,
                        fp,
                        file: file.into(),
                        line,
                        tf_key: key.clone(),
                    });
                }
                m.corrected = label;
                each(Loaded::Json(m, tf), version);
                Ok(())
            })?;
        }
        // Events in one order at every read: their agents are numbered in it.
        evs.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        Ok((evs.into_iter().map(|(v, _, e)| (e, v)).collect(), stale))
    }

    fn write_rows(&self, ws: &str, version: u64, rows: &[Pending]) -> Result<(), StoreError> {
        self.node.write_rows(ws, version, rows)
    }

    /// Runs the clock over the workspace's rows as of `versions` and writes its facts as the
    /// generation `version` (rows whose text was read with other settings are kept anew). With
    /// `patching`, when the stored facts allow it, only the conversations the change touched
    /// run through the clock ([`patch::plan`], as the other stores patch): the generation
    /// patched is copied on the server, but for the chunks and requests of those conversations.
    /// Whether it kept messages again (their texts read under other settings): a second version
    /// of their keys.
    #[allow(clippy::too_many_arguments)]
    fn recompute(
        &self,
        ws: &str,
        cfg: &Config,
        versions: &[u64],
        version: u64,
        unique: bool,
        patching: Option<Patching<'_>>,
        sink: &mut dyn ImportSink,
    ) -> Result<bool, StoreError> {
        // Each message goes into the clock's input as it arrives: a million of them held as
        // structures first took 300 MiB, grown by doubling (a fifth of the time zeroing pages).
        // In version order: this change's rows come last, after the rows held before it.
        let mut bulk = engine::Bulk::default();
        let mut tags = Vec::new();
        let (evs, stale) = self.load_each(ws, Some(cfg), versions, unique, |l, v| {
            tags.push(v);
            match l {
                Loaded::Row(r, corrected) => bulk.push(r.kept(corrected).raw()),
                Loaded::Json(m, tf) => bulk.push_read(&m, &tf),
            }
        })?;
        sink.phase("rows read back");
        // By version, then id: the rows held before this change first, in the order the stored
        // facts were computed in (the clock numbers names, customers among them, in row order).
        bulk.order_by_tags(&tags);
        let before = tags.iter().filter(|&&v| v < version).count();
        drop(tags);
        sink.phase("rows ordered");
        self.write_rows(ws, version, &stale)?;
        let reread = !stale.is_empty();
        drop(stale);
        for (e, _) in &evs {
            bulk.push_event(e);
        }
        let (inp, repeated) = bulk.finish();
        // Texts read again may change any conversation's facts: those are all computed again. So
        // are they when a message's key came back twice (two changes that shared no control
        // plane committed together): `before` counted both.
        if let Some(p) = patching.filter(|_| !reread && repeated.is_empty()) {
            let events: Vec<String> =
                evs.iter().filter(|(_, v)| *v >= version).map(|(e, _)| e.conversation_id.clone()).collect();
            if let Some(done) = self.patch(ws, cfg, &inp, before, &p, version, &events, sink)? {
                sink.note(&format!(
                    "facts of {} conversations computed again, {} fact chunks written",
                    done.conversations, done.chunks
                ));
                sink.phase("facts computed and stored");
                return Ok(false);
            }
        }
        let mut out = engine::run(&inp, cfg);
        out.sort(&inp);
        sink.phase("facts computed");
        let mut w = RowBinary::default();
        chunk_row(&mut w, ws, version, "dict", 0, 0, 0, inp.dims.len(), &chunks::encode_dict(&inp.dims));
        self.insert("fact_parts", FACT_COLS, &w)?;
        // Each chunk's compact rows and ids in one insert.
        let mut pair = RowBinary::default();
        let mut failed = None;
        chunks::encode_all_par(&out, &inp, chunks::encoders(), |c| {
            chunk_row(&mut pair, ws, version, c.part, c.seq as i64, c.lo, c.hi, c.n, &c.data);
            if c.part.ends_with("_ids") {
                if let Err(e) = self.insert("fact_parts", FACT_COLS, &pair) {
                    failed = Some(e);
                    return false;
                }
                pair.0.clear();
            }
            true
        });
        if let Some(e) = failed {
            return Err(e);
        }
        self.write_requests(ws, version, &inp, &out.reqs)?;
        // Their daily rollup: requests that share a day, their groups, outcome and response time
        // counted once (ids, not names, as keys: the names are written once a row).
        let mut daily: BTreeMap<(i64, [u32; 4], u8, i64), u64> = BTreeMap::new();
        for r in out.reqs.iter().map(|x| &x.row) {
            let delay = r.response_ms().unwrap_or(0);
            let key = (r.start_ms.div_euclid(DAY_MS), [r.account, r.channel, r.agent, r.team], r.outcome as u8, delay);
            *daily.entry(key).or_default() += 1;
        }
        // Written only where it folds a fifth of the requests or more: on a spread-out file (a
        // request a row, 1.03 on the benchmark's) it spared a summary little (0.77–0.98× the
        // time) and cost every import as much again as writing the requests (0.30 s of a million
        // messages' facts). Without it, summaries read the requests themselves.
        if daily.len() * 5 > out.reqs.len() * 4 {
            sink.note(&format!("daily rollup not written: {} rows for {} requests", daily.len(), out.reqs.len()));
            daily.clear();
        }
        let name = |id: u32| inp.dims.name(id).unwrap_or("");
        let mut rows = RowBinary::default();
        for (i, ((day, [account, channel, agent, team], outcome, delay), n)) in daily.into_iter().enumerate() {
            rows.str(ws).u64(version).i64(day);
            rows.str(name(account)).str(name(channel)).str(name(agent)).str(name(team));
            rows.u8(outcome).i64(delay).u64(n);
            if (i + 1) % CHUNK_ROWS == 0 {
                self.insert("requests_daily", DAILY_COLS, &rows)?;
                rows.0.clear();
            }
        }
        self.insert("requests_daily", DAILY_COLS, &rows)?;
        self.generation_written(ws, version, cfg, &inp)?;
        sink.phase("facts written");
        Ok(reread)
    }

    /// Requests as columns, for the aggregations ClickHouse computes itself.
    fn write_requests(
        &self,
        ws: &str,
        version: u64,
        inp: &engine::ClockInput,
        reqs: &[engine::ReqOut],
    ) -> Result<(), StoreError> {
        let name = |id: u32| inp.dims.name(id).unwrap_or("");
        let mut cols = RowBinary::default();
        for rows in reqs.chunks(CHUNK_ROWS) {
            for x in rows {
                let r = &x.row;
                cols.str(ws).u64(version).i64(r.start_ms).i64(r.closed_ms);
                cols.str(name(r.account)).str(name(r.channel)).str(name(r.agent)).str(name(r.team));
                cols.u8(r.outcome as u8).u8(u8::from(r.public)).u8(u8::from(r.first)).str(inp.conv_name(x.conv));
            }
            self.insert("requests", REQUEST_COLS, &cols)?;
            cols.0.clear();
        }
        Ok(())
    }

    /// Ends writing the generation `version`: what its facts number names by (a `names` row:
    /// how many, and their [`patch::names_hash`] as `lo_ms`), then the row that names it the
    /// workspace's facts with these settings.
    fn generation_written(
        &self,
        ws: &str,
        version: u64,
        cfg: &Config,
        inp: &engine::ClockInput,
    ) -> Result<(), StoreError> {
        let n = inp.names.len();
        let mut w = RowBinary::default();
        chunk_row(&mut w, ws, version, "names", 0, patch::names_hash(inp, n), 0, n, &[]);
        self.insert("fact_parts", FACT_COLS, &w)?;
        let mut w = RowBinary::default();
        w.str(ws).u64(version).str(&facts_key(cfg));
        self.insert("generations", "workspace, generation, fingerprint", &w)
    }

    /// The facts of generation `p.from` patched into generation `version` ([`patch::plan`]):
    /// `None`, nothing written, when they cannot be — the generation was written without the
    /// names its facts number (an older binary), the rows read now do not begin with the rows it
    /// was computed from in their order, or the plan says so.
    #[allow(clippy::too_many_arguments)]
    fn patch(
        &self,
        ws: &str,
        cfg: &Config,
        inp: &engine::ClockInput,
        before: usize,
        p: &Patching<'_>,
        version: u64,
        events: &[String],
        sink: &mut dyn ImportSink,
    ) -> Result<Option<patch::Patched>, StoreError> {
        let g = p.from;
        let mut kept = None;
        self.select(
            &format!(
                "SELECT n, lo_ms FROM {}.fact_parts WHERE workspace = {} AND generation = {g} AND part = 'names'",
                self.db(),
                quote(ws)
            ),
            |r| {
                kept = Some((r.u64()? as usize, r.i64()?));
                Ok(())
            },
        )?;
        if !kept.is_some_and(|(n, hash)| patch::same_names(inp, n, hash)) {
            return Ok(None);
        }
        let also: Vec<u32> = p.also.iter().filter_map(|id| inp.ids.find(id)).collect();
        let Some(plan) =
            patch::plan(&mut Chunks { store: self, ws, g, read: HashMap::new() }, cfg, inp, before, &also, events)?
        else {
            return Ok(None);
        };
        sink.phase("facts planned");
        self.write_plan(ws, g, version, cfg, inp, plan, sink).map(Some)
    }

    /// Whether generation `g` of `ws` was written with a daily rollup.
    fn has_rollup(&self, ws: &str, g: u64) -> Result<bool, StoreError> {
        let n = self.node.text(&format!(
            "SELECT count() FROM {}.requests_daily WHERE workspace = {} AND generation = {g}",
            self.db(),
            quote(ws)
        ))?;
        Ok(n.trim() != "0")
    }

    /// How rows are copied within a table ([`Copying`]), found once.
    fn copying(&self) -> Result<Copying, StoreError> {
        if let Some(&c) = self.copying.get() {
            return Ok(c);
        }
        // Rows of many months in one block: ClickHouse 19 and later refuse more than 100 of
        // them in one insert unless told otherwise (18.16 knows no such setting, nor limit).
        let version = self.node.text("SELECT version()")?;
        let major: u32 = version.trim().split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
        let settings = if major >= 19 { "&max_partitions_per_insert_block=0" } else { "" };
        let c = Copying { node_by_node: self.copies_node_by_node()?, settings };
        Ok(*self.copying.get_or_init(|| c))
    }

    /// Whether each node may copy its own rows: a lone server; or every node named is a server
    /// of the cluster, a shard of one replica, and no shard is named twice (two names of one
    /// server would copy its rows twice, and a server left out would copy none of its own).
    fn copies_node_by_node(&self) -> Result<bool, StoreError> {
        Ok(match &self.cluster {
            None => !self.nodes.is_empty(),
            Some(_) if self.nodes.is_empty() => false,
            Some(c) => {
                let mut shards = Vec::new();
                let mut all = (0u64, 0u64);
                for n in &self.nodes {
                    n.select(
                        &format!(
                            "SELECT toUInt32(shard_num) FROM system.clusters WHERE cluster = {} AND is_local",
                            quote(c)
                        ),
                        |r| {
                            shards.push(r.u32()?);
                            Ok(())
                        },
                    )?;
                    n.select(
                        &format!(
                            "SELECT toUInt64(count()), toUInt64(max(replica_num)) FROM system.clusters WHERE cluster = {}",
                            quote(c)
                        ),
                        |r| {
                            all = (r.u64()?, r.u64()?);
                            Ok(())
                        },
                    )?;
                }
                let named = shards.len();
                shards.sort_unstable();
                shards.dedup();
                named == self.nodes.len() && shards.len() == named && all == (named as u64, 1)
            }
        })
    }

    /// Runs an `INSERT … SELECT` that copies rows of `table` into it (`sql` given the table's
    /// name), on every node at once, each copying its own rows (none crosses shards, none goes
    /// through the `Distributed` table); through the `Distributed` table when the cluster's
    /// nodes were not named. With `ids`, a table of strings sent beside the query (see
    /// [`Node::post_with_ids`]).
    fn copy_within(
        &self,
        table: &str,
        sql: impl Fn(&str) -> String + Sync,
        ids: Option<(&str, &[&str])>,
    ) -> Result<(), StoreError> {
        let Copying { node_by_node, settings } = self.copying()?;
        let targets: Vec<(&Node, String)> = if !node_by_node {
            vec![(&self.node, format!("{}.{table}", self.db()))]
        } else {
            let local = schema::local(table, self.cluster.as_deref());
            self.nodes.iter().map(|n| (n, format!("{}.{local}", n.database))).collect()
        };
        let run = |n: &Node, t: &str| -> Result<(), StoreError> {
            let mut r = match ids {
                Some((name, ids)) => n.post_with_ids_and(&sql(t), name, ids, settings)?,
                None => n.post_with(&sql(t), settings)?,
            };
            std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| err(e.to_string()))?;
            Ok(())
        };
        std::thread::scope(|sc| {
            let handles: Vec<_> = targets.iter().map(|(n, t)| sc.spawn(|| run(n, t))).collect();
            let mut out = Ok(());
            for h in handles {
                let r = h.join().map_err(|_| StoreError::Corrupt("a copy panicked".into())).and_then(|r| r);
                out = out.and(r);
            }
            out
        })
    }

    /// Writes the generation `version`: the patched runs' chunks; every other chunk of
    /// generation `g` copied on the server, numbered up past runs that gained chunks (a run that
    /// lost some leaves numbers unused); `g`'s requests but those of the conversations computed
    /// again, and theirs; the daily rollup, when `g` has one, summed again from those requests.
    /// Readers read chunks in number order, and see every fact in the order a whole computation
    /// stores them.
    #[allow(clippy::too_many_arguments)]
    fn write_plan(
        &self,
        ws: &str,
        g: u64,
        version: u64,
        cfg: &Config,
        inp: &engine::ClockInput,
        plan: patch::Plan,
        sink: &mut dyn ImportSink,
    ) -> Result<patch::Patched, StoreError> {
        let (db, w) = (self.db(), quote(ws));
        let mut done = patch::Patched { conversations: plan.conversations, chunks: 0 };
        let mut written = RowBinary::default();
        // For each kind: which of `g`'s chunks are copied, and the number each one moves up by.
        let (mut copied, mut moved) = (Vec::new(), Vec::new());
        for (kind, metas, per_run) in plan.writes {
            let parts = kind.all_parts().iter().map(|p| quote(p)).collect::<Vec<_>>().join(", ");
            let of_kind = format!("part IN ({parts})");
            let (mut replaced, mut gained, mut steps) = (Vec::new(), 0i64, Vec::new());
            for (run, chunks) in per_run {
                let olds = &metas[run];
                replaced.extend(olds.iter().map(|m| m.seq.to_string()));
                let first = olds.first().map_or(0, |m| m.seq);
                let grew = chunks.len() as i64 - olds.len() as i64;
                let (hot_part, ids_part) = kind.parts();
                for (k, c) in chunks.into_iter().enumerate() {
                    let seq = first + gained + k as i64;
                    chunk_row(&mut written, ws, version, hot_part, seq, c.lo, c.hi, c.n, &c.hot);
                    if let Some((entries, cover)) = &c.cover {
                        chunk_row(&mut written, ws, version, chunks::COVER, seq, c.lo, c.hi, *entries, cover);
                    }
                    chunk_row(&mut written, ws, version, ids_part, seq, c.lo, c.hi, c.n, &c.ids);
                    done.chunks += 1;
                }
                if let (Some(last), true) = (olds.last(), grew > 0) {
                    gained += grew;
                    steps.push((last.seq, gained));
                }
                if written.0.len() > 1 << 24 {
                    self.insert("fact_parts", FACT_COLS, &written)?;
                    written.0.clear();
                }
            }
            copied.push(if replaced.is_empty() {
                of_kind.clone()
            } else {
                format!("({of_kind} AND seq NOT IN ({}))", replaced.join(", "))
            });
            // Past each run that gained chunks, the later ones move up by all gained so far.
            let by = steps.iter().fold("0".to_string(), |acc, (last, by)| format!("if(seq > {last}, {by}, {acc})"));
            moved.push(format!("{of_kind}, {by}"));
        }
        if plan.dict_grew {
            chunk_row(&mut written, ws, version, "dict", 0, 0, 0, inp.dims.len(), &chunks::encode_dict(&inp.dims));
        } else {
            copied.push("part = 'dict'".to_string());
        }
        self.insert("fact_parts", FACT_COLS, &written)?;
        drop(written);
        let (moved, copied) = (moved.join(", "), copied.join(" OR "));
        self.copy_within(
            "fact_parts",
            |t| {
                format!(
                    "INSERT INTO {t} ({FACT_COLS}) SELECT workspace, {version}, part, toUInt32(seq + multiIf({moved}, 0)), \
                     lo_ms, hi_ms, n, data FROM {t} WHERE workspace = {w} AND generation = {g} AND ({copied})"
                )
            },
            None,
        )?;
        sink.phase("fact chunks written");
        // The requests of the conversations not computed again (their names sent beside the
        // query, as an import's lookups send ids), then theirs.
        let touched: Vec<&str> = plan.touched.iter().map(String::as_str).collect();
        let copy = |t: &str| {
            format!(
                "INSERT INTO {t} ({REQUEST_COLS}) SELECT workspace, {version}, start_ms, closed_ms, account, channel, \
                 agent, team, outcome, public, first, conv FROM {t} WHERE workspace = {w} AND generation = {g}{}",
                if touched.is_empty() { "" } else { " AND conv NOT IN touched" }
            )
        };
        self.copy_within("requests", copy, (!touched.is_empty()).then_some(("touched", &touched[..])))?;
        self.write_requests(ws, version, inp, &plan.reqs)?;
        sink.phase("requests written");
        if self.has_rollup(ws, g)? {
            // The day as `div_euclid` gives it (instants are from 1970 on: `intDiv` rounds the
            // same), the response time as `ReqRow::response_ms` (0 unless answered).
            let answered = clock::Outcome::Answered as u8;
            self.node.exec(&format!(
                "INSERT INTO {db}.requests_daily ({DAILY_COLS}) SELECT workspace, generation, \
                 toInt64(intDiv(start_ms, {DAY_MS})) AS d, account, channel, agent, team, \
                 outcome, toInt64(if(outcome = {answered}, closed_ms - start_ms, 0)) AS delay, count() \
                 FROM {db}.requests WHERE workspace = {w} AND generation = {version} \
                 GROUP BY workspace, generation, d, account, channel, agent, team, outcome, delay"
            ))?;
        }
        self.generation_written(ws, version, cfg, inp)?;
        Ok(done)
    }

    /// Makes the change `version` visible, then drops facts two generations old (a read that
    /// began before this commit may still be reading the previous one).
    #[cfg(test)]
    fn commit(&self, ws: &str, version: u64, what: &str, previous: Option<u64>) -> Result<(), StoreError> {
        self.commit_after(ws, version, (what, false), previous, None)
    }

    /// [`Self::commit`], once sure that no other change of the workspace was committed since
    /// `started` (the last committed version it read): facts derived without that change's rows
    /// would then be taken as current. Refused instead (its rows stay uncommitted, never read).
    /// Changes made through one control plane never meet here: each holds the workspace's lock
    /// ([`ControlPlane::lock_workspace`]) from reading the state to committing. This check is
    /// what is left for processes that share no control plane (a check, then an insert: two
    /// such imports ending at the same instant can still both pass it).
    ///
    /// `what` names the change, and says whether it wrote only new keys of messages and events.
    fn commit_after(
        &self,
        ws: &str,
        version: u64,
        (what, new_keys_only): (&str, bool),
        previous: Option<u64>,
        started: Option<&State>,
    ) -> Result<(), StoreError> {
        if let Some(st) = started {
            let now = self.state(ws)?;
            if now.versions.last() != st.versions.last() {
                return Err(err(format!(
                    "another import or correction of `{ws}` was committed while this {what} ran: nothing of this \
                     one was taken; run it again"
                )));
            }
        }
        let mut w = RowBinary::default();
        w.str(ws).u64(version).i64(now_ms()).str(&format!("{what}{}", if new_keys_only { NEW_KEYS_ONLY } else { "" }));
        self.insert("imports", "workspace, version, at_ms, what", &w)?;
        if let Some(prev) = previous {
            for node in &self.nodes {
                for t in ["fact_parts", "requests", "requests_daily"] {
                    // Asynchronous mutations: a failure here costs space, never a figure.
                    let _ = node.exec(&format!(
                        "ALTER TABLE {}.{} DELETE WHERE workspace = {} AND generation < {prev}",
                        node.database,
                        schema::local(t, self.cluster.as_deref()),
                        quote(ws)
                    ));
                }
            }
        }
        Ok(())
    }

    /// A part's compact rows, then its `_ids` chunks: the full facts (the embedded store's
    /// `read_full`).
    #[allow(clippy::too_many_arguments)]
    fn full<H, F>(
        &self,
        ws: &str,
        g: u64,
        part: &str,
        (from, to): (Option<Millis>, Option<Millis>),
        hot: Decode<H>,
        ids: impl Fn(&[H], &[u8], &mut Vec<F>) -> Result<(), StoreError>,
        out: &mut Vec<F>,
    ) -> Result<(), StoreError> {
        let mut rows = Vec::new();
        self.node.each_chunk(ws, g, part, from, to, |n, b| hot(b, n, &mut rows))?;
        let mut at = 0;
        self.node.each_chunk(ws, g, &format!("{part}_ids"), from, to, |n, b| {
            let h = rows.get(at..at + n).ok_or_else(|| corrupt(format!("{part}: ids without rows")))?;
            at += n;
            ids(h, b, out)
        })
    }

    /// The compact facts of generation `g` that may lie in `[from, to)`; with `within`, the
    /// chunks of messages wholly inside it read as their covers (see `DataStore::table_covering`).
    fn stored_table(
        &self,
        ws: &str,
        g: u64,
        from: Option<Millis>,
        to: Option<Millis>,
        cover: Option<crate::Covering>,
    ) -> Result<FactTable, StoreError> {
        let within = cover.map(|c| c.within);
        let convs_read = cover.is_none_or(|c| c.conversations);
        let mut t = FactTable { dict: self.dict(ws, g)?, ..FactTable::default() };
        // The three parts over three connections at once: each streams from the shard that keeps
        // it while this machine decodes (a third of the time of one after the other).
        let node = &self.node;
        let (reqs, msgs, convs) = (&mut t.reqs, &mut t.msgs, &mut t.convs);
        let covered = &mut t.unattached_covered;
        std::thread::scope(|sc| -> Result<(), StoreError> {
            let r = sc.spawn(move || node.each_chunk(ws, g, "req", from, to, |n, b| chunks::decode_reqs(b, n, reqs)));
            let m = sc.spawn(move || match within {
                None => node.each_chunk(ws, g, "msg", from, to, |n, b| chunks::decode_msgs(b, n, msgs)),
                Some(within) => node.covered_msgs(ws, g, from, to, within, msgs, covered),
            });
            // Conversations are left out of a report that reads none.
            let c = if convs_read {
                node.each_chunk(ws, g, "conv", from, to, |n, b| chunks::decode_convs(b, n, convs))
            } else {
                Ok(())
            };
            let joined = |h: std::thread::ScopedJoinHandle<'_, Result<(), StoreError>>| {
                h.join().map_err(|_| StoreError::Corrupt("a fact reader panicked".into()))?
            };
            let (r, m) = (joined(r), joined(m));
            r.and(m).and(c)
        })?;
        // In time order, as every table's messages are (cut chunks come before covers).
        if within.is_some() {
            t.msgs.sort_by_key(|m| m.ms);
        }
        Ok(t)
    }

    /// [`Self::stored_table`] with covers, or `None` for a generation written without them.
    fn covered_table(
        &self,
        ws: &str,
        g: u64,
        from: Option<Millis>,
        to: Option<Millis>,
        cover: crate::Covering,
    ) -> Result<Option<FactTable>, StoreError> {
        let mut counts = (0, 1);
        self.select(
            &format!(
                "SELECT countIf(part = 'msg'), countIf(part = {}) FROM {}.fact_parts \
                 WHERE workspace = {} AND generation = {g}",
                quote(chunks::COVER),
                self.node.database,
                quote(ws)
            ),
            |r| {
                counts = (r.u64()?, r.u64()?);
                Ok(())
            },
        )?;
        if counts.0 != counts.1 {
            return Ok(None);
        }
        self.stored_table(ws, g, from, to, Some(cover)).map(Some)
    }

    fn dict(&self, ws: &str, g: u64) -> Result<Dict, StoreError> {
        let mut dict = None;
        self.node.each_chunk(ws, g, "dict", None, None, |_, b| {
            dict = Some(chunks::decode_dict(b)?);
            Ok(())
        })?;
        // Every generation writes its dictionary first: without it, its facts are not all there,
        // and no figure is computed from what is.
        dict.ok_or_else(|| StoreError::Corrupt(format!("the facts of `{ws}` (generation {g}) are missing")))
    }

    /// Facts of the current generation, or computed from the rows when `cfg` would place
    /// messages otherwise.
    fn facts_at(
        &self,
        ws: &str,
        cfg: &Config,
        st: &State,
        from: Option<Millis>,
        to: Option<Millis>,
    ) -> Result<Facts, StoreError> {
        let mut f = match &st.generation {
            Some((g, fp)) if *fp == facts_key(cfg) => {
                let d = self.dict(ws, *g)?;
                let mut f = Facts::default();
                self.full(
                    ws,
                    *g,
                    "req",
                    (from, to),
                    chunks::decode_reqs,
                    |h, b, o| chunks::decode_req_facts(&d, h, b, o),
                    &mut f.requests,
                )?;
                self.full(
                    ws,
                    *g,
                    "conv",
                    (from, to),
                    chunks::decode_convs,
                    |h, b, o| chunks::decode_conv_facts(&d, h, b, o),
                    &mut f.conversations,
                )?;
                self.full(
                    ws,
                    *g,
                    "msg",
                    (from, to),
                    chunks::decode_msgs,
                    |h, b, o| chunks::decode_msg_facts(&d, h, b, o),
                    &mut f.messages,
                )?;
                f
            }
            _ => {
                let (msgs, evs, _) = self.load(ws, None, &st.versions, false)?;
                let msgs: Vec<Message> = msgs.into_iter().map(|(m, _)| m).collect();
                clock::run(&msgs, &evs, cfg)
            }
        };
        f.requests.retain(|r| crate::sqlite::within(r.start_ms, from, to));
        f.messages.retain(|m| crate::sqlite::within(m.ms, from, to));
        f.conversations.retain(|c| crate::sqlite::within(c.start_ms, from, to));
        Ok(f)
    }

    /// The rows of kinds other than messages and events, as of `versions`.
    fn keyed(&self, ws: &str, versions: &[u64], kinds: &str) -> Result<Vec<(u8, String)>, StoreError> {
        let mut out = Vec::new();
        self.select(
            &format!(
                "SELECT kind, argMax(body, version) FROM {}.row_versions WHERE workspace = {} AND kind IN {kinds} \
                 AND version IN {} GROUP BY kind, id",
                self.db(),
                quote(ws),
                list(versions)
            ),
            |r| {
                out.push((r.u8()?, r.str()?));
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// Requests, the response rate and response times aggregated by ClickHouse itself, on every
    /// shard, for the period `[from, to)`, by `by` ([`crate::summary::BY`], or none): the report's
    /// `requests`, `response_rate` and `response_time`, computed where the facts are.
    pub fn response_summary(
        &self,
        ws: &str,
        cfg: &Config,
        from: Option<Millis>,
        to: Option<Millis>,
        by: Option<&str>,
    ) -> Result<Vec<Summary>, StoreError> {
        let st = self.state(ws)?;
        let cfg = &*self.attached(ws, cfg, &st.versions)?;
        let Some((g, fp)) = &st.generation else { return Ok(Vec::new()) };
        if *fp != facts_key(cfg) {
            return Err(err(
                "the stored facts were derived with other clock settings: import again to push figures down",
            ));
        }
        // ClickHouse 18.16 writes the date 0 (January 1st, 1970) as `0000-00-00`.
        let day =
            |secs: &str| format!("replaceOne(toString(toDate(toDateTime({secs}, 'UTC'))), '0000-00-00', '1970-01-01')");
        let (group, daily_group) = match by {
            // Materialized: UNION ALL in ClickHouse 18.16 refuses a constant on one side only.
            None => ("materialize('')".to_string(), "materialize('')".to_string()),
            Some(c @ ("account" | "channel" | "agent" | "team")) => (c.to_string(), c.to_string()),
            Some("day") => (day("intDiv(start_ms, 1000)"), day("day * 86400")),
            Some(other) => return Err(err(format!("cannot group by `{other}` (account, channel, agent, team, day)"))),
        };
        let answered = clock::Outcome::Answered as u8;
        let examined = clock::Outcome::Examined as u8;
        let (db, w) = (self.db(), quote(ws));
        let (from_ms, to_ms) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
        // The period's whole UTC days come from the daily rollup, when this generation has one;
        // the parts of days at its ends from the requests themselves.
        let rolled = self.rollups && self.has_rollup(ws, *g)?;
        let days = whole_days(from, to).filter(|_| rolled);
        let requests = |cond: &str| {
            format!(
                "SELECT {group} AS g, outcome, if(outcome = {answered}, closed_ms - start_ms, 0) AS d, toUInt64(1) AS n \
                 FROM {db}.requests WHERE workspace = {w} AND generation = {g} AND ({cond})"
            )
        };
        let source = match days {
            None => requests(&format!("start_ms >= {from_ms} AND start_ms < {to_ms}")),
            Some((d1, d2)) => {
                let mut cond = Vec::new();
                let mut edges = Vec::new();
                if let Some(f) = from {
                    cond.push(format!("day >= {d1}"));
                    edges.push(format!("start_ms >= {f} AND start_ms < {}", d1.saturating_mul(DAY_MS)));
                }
                if let Some(t) = to {
                    cond.push(format!("day < {d2}"));
                    edges.push(format!("start_ms >= {} AND start_ms < {t}", d2.saturating_mul(DAY_MS)));
                }
                let mut daily = format!(
                    "SELECT {daily_group} AS g, outcome, delay_ms AS d, n FROM {db}.requests_daily \
                     WHERE workspace = {w} AND generation = {g}"
                );
                for c in cond {
                    daily.push_str(&format!(" AND {c}"));
                }
                if edges.is_empty() {
                    daily
                } else {
                    let edges = edges.iter().map(|e| format!("({e})")).collect::<Vec<_>>().join(" OR ");
                    format!("{daily} UNION ALL {}", requests(&edges))
                }
            }
        };
        // Exact type-7 quantiles (`quantile` samples, `quantileTiming` caps): each group's
        // response times, sorted with how many requests share each, and the value of the k-th
        // smallest (from 0) read where the running count first passes k; then interpolated
        // between closest ranks, in the same operations as `Durations::of`. The lambdas see only
        // columns of their own SELECT: ClickHouse 18.16 does not see a subquery's inside one.
        let x = |k: &str| format!("h[arrayFirstIndex(c -> c > {k}, cs)].1");
        let q = |p: &str| {
            let lo = format!("toUInt64(floor((answered - 1) * {p}))");
            format!(
                "if(answered = 0, nan, {} + ((answered - 1) * {p} - floor((answered - 1) * {p})) * ({} - {}))",
                x(&lo),
                x(&format!("least({lo} + 1, answered - 1)")),
                x(&lo)
            )
        };
        let sql = format!(
            "SELECT g, requests, rated, answered, answered, total, lo, hi, p50, p90 FROM ( \
             SELECT g, sum(n) AS requests, sumIf(n, outcome != {examined}) AS rated, \
             sumIf(n, outcome = {answered}) AS answered, sumIf(d * toInt64(n), outcome = {answered}) AS total, \
             minIf(d, outcome = {answered}) AS lo, maxIf(d, outcome = {answered}) AS hi, \
             arraySort(groupArrayIf((d, n), outcome = {answered})) AS h, arrayCumSum(arrayMap(t -> t.2, h)) AS cs, \
             {} AS p50, {} AS p90 FROM ({source}) GROUP BY g) ORDER BY g",
            q("0.5"),
            q("0.9"),
        );
        let mut out = Vec::new();
        self.select(&sql, |r| {
            let group = r.str()?;
            let (requests, rated, answered, n) = (r.u64()?, r.u64()?, r.u64()?, r.u64()?);
            let (sum, min, max, p50, p90) = (r.i64()?, r.i64()?, r.i64()?, r.f64()?, r.f64()?);
            let group = (by.is_some() && !group.is_empty()).then_some(group);
            out.push(Summary::from_parts(group, requests, rated, answered, n, sum, min, max, p50, p90));
            Ok(())
        })?;
        Ok(out)
    }
}

impl DataStore for ClickHouseStore {
    fn request_summary(
        &self,
        ws: &str,
        cfg: &Config,
        from: Option<Millis>,
        to: Option<Millis>,
        by: Option<&str>,
    ) -> Result<Vec<Summary>, StoreError> {
        self.response_summary(ws, cfg, from, to, by)
    }

    fn changes_need_a_lock(&self) -> bool {
        true
    }

    fn set_import_workers(&mut self, workers: usize) -> bool {
        self.workers = workers.max(1);
        true
    }

    fn import(
        &mut self,
        ws: &str,
        cfg: &Config,
        strict: bool,
        records: &mut dyn Iterator<Item = Result<Located, RowError>>,
        sink: &mut dyn ImportSink,
    ) -> Result<ImportSummary, StoreError> {
        // The accounts' store knows the workspace, as the embedded store does after an import
        // (users and tokens are given for a known workspace).
        self.control.create_workspace(ws)?;
        // One change of the workspace at a time, its state read once it is this one's turn.
        let mut lock = self.control.lock_workspace(ws)?;
        let st = self.state(ws)?;
        let cfg = &*self.attached(ws, cfg, &st.versions)?;
        let v = self.next_version(&st);
        let key = cfg.clock_fingerprint();
        let mut seen = st.versions.clone();
        seen.push(v);
        let job = Importing {
            ws,
            cfg,
            key: &key,
            version: v,
            seen: &seen,
            clock_new: AtomicU64::new(0),
            clock_changed: AtomicU64::new(0),
        };
        let mut sum = ImportSummary::default();
        // Texts are read on every core while this thread sends rows (as the embedded store does).
        let node = &self.node;
        let workers = self.workers;
        let read = clock::with_texts_read(records, cfg, |records| {
            if workers <= 1 {
                import_alone(node, &job, records, &mut sum, sink)
            } else {
                import_by_workers(node, &job, workers, records, &mut sum, sink)
            }
        })?;
        sink.progress(read);
        sink.phase(crate::ROWS_STORED);
        if strict && sum.rejected_count > 0 {
            // The rows written carry a version no `imports` row names: no read takes them.
            return Ok(sum);
        }
        let stale = st.generation.as_ref().is_none_or(|(_, fp)| *fp != facts_key(cfg));
        let (new, changed) = (job.clock_new.into_inner(), job.clock_changed.into_inner());
        // Surveys, customers, posts… are no input of the clock: importing only those into a
        // workspace with facts leaves the facts as they are. Messages and events only added: the
        // conversations they touch are computed again, alone.
        let mut reread = false;
        if new + changed > 0 || (stale && !st.versions.is_empty()) || (st.generation.is_none() && sum.inserted > 0) {
            let patching = match &st.generation {
                Some((g, _)) if !stale && changed == 0 => Some(Patching { from: *g, also: &[] }),
                _ => None,
            };
            // A first import wrote each key once (a repeat within it is not written again).
            // Every key of one version but this import's changed ones: rows read as they are.
            reread = self.recompute(ws, cfg, &seen, v, st.unique && changed == 0, patching, sink)?;
        }
        still_ours(&mut lock, sink)?;
        let new_keys_only = changed == 0 && !reread;
        self.commit_after(ws, v, ("import", new_keys_only), st.generation.as_ref().map(|g| g.0), Some(&st))?;
        sink.phase("committed");
        sum.committed = true;
        Ok(sum)
    }

    fn table(&self, ws: &str, cfg: &Config, from: Option<Millis>, to: Option<Millis>) -> Result<FactTable, StoreError> {
        let st = self.state(ws)?;
        let cfg = &*self.attached(ws, cfg, &st.versions)?;
        // Facts of other settings are computed from the rows (and then credit answers at once).
        let (mut t, computed) = match &st.generation {
            Some((g, fp)) if *fp == facts_key(cfg) => (self.stored_table(ws, *g, from, to, None)?, None),
            _ => {
                let f = self.facts_at(ws, cfg, &st, None, None)?;
                (FactTable::from_facts(&f), Some(f))
            }
        };
        // `attached` read the workspace's knowledge base into `cfg`: not read again.
        let faq = cfg.faq.as_ref().map_or_else(Vec::new, |f| f.entries().to_vec());
        let mut records = self.records_at(ws, &st.versions, from, to, faq)?;
        records.credit_conversations(|| match &computed {
            Some(f) => Ok(f.first_agents()),
            None => self.facts_at(ws, cfg, &st, None, None).map(|f| f.first_agents()),
        })?;
        records.add_to(&mut t);
        t.has_faq = cfg.faq.is_some();
        Ok(crate::sqlite::clip(t, from, to))
    }

    fn table_covering(
        &self,
        ws: &str,
        cfg: &Config,
        from: Option<Millis>,
        to: Option<Millis>,
        cover: crate::Covering,
    ) -> Result<FactTable, StoreError> {
        let st = self.state(ws)?;
        let attached = &*self.attached(ws, cfg, &st.versions)?;
        let covered = match &st.generation {
            Some((g, fp)) if *fp == facts_key(attached) => self.covered_table(ws, *g, from, to, cover)?,
            _ => None,
        };
        // Facts of other settings, or written without covers: the whole table.
        let Some(mut t) = covered else { return self.table(ws, cfg, from, to) };
        let faq = attached.faq.as_ref().map_or_else(Vec::new, |f| f.entries().to_vec());
        let mut records = self.records_at(ws, &st.versions, from, to, faq)?;
        records.credit_conversations(|| self.facts_at(ws, attached, &st, None, None).map(|f| f.first_agents()))?;
        records.add_to(&mut t);
        t.has_faq = attached.faq.is_some();
        Ok(crate::sqlite::clip(t, from, to))
    }

    fn facts(&self, ws: &str, cfg: &Config, from: Option<Millis>, to: Option<Millis>) -> Result<Facts, StoreError> {
        let st = self.state(ws)?;
        let cfg = &*self.attached(ws, cfg, &st.versions)?;
        self.facts_at(ws, cfg, &st, from, to)
    }

    fn records(&self, ws: &str, from: Option<Millis>, to: Option<Millis>) -> Result<Records, StoreError> {
        let st = self.state(ws)?;
        let faq = self.faq_at(ws, &st.versions)?;
        self.records_at(ws, &st.versions, from, to, faq)
    }

    fn conversation_facts(&self, ws: &str, cfg: &Config, conversation_id: &str) -> Result<Facts, StoreError> {
        let mut f = self.facts(ws, cfg, None, None)?;
        f.requests.retain(|r| r.conversation_id == conversation_id);
        f.messages.retain(|m| m.conversation_id == conversation_id);
        f.conversations.retain(|c| c.conversation_id == conversation_id);
        Ok(f)
    }

    fn rows(&self, ws: &str) -> Result<(Vec<Message>, Vec<ConversationEvent>), StoreError> {
        let st = self.state(ws)?;
        let (msgs, evs, _) = self.load(ws, None, &st.versions, false)?;
        Ok((msgs.into_iter().map(|(m, _)| m).collect(), evs))
    }

    fn messages_by_id(&self, ws: &str, ids: &[String]) -> Result<Vec<Message>, StoreError> {
        let st = self.state(ws)?;
        let corrected: HashMap<String, Label> =
            self.corrections_at(ws, &st.versions)?.into_iter().map(|c| (c.message_id, c.label)).collect();
        let mut found: HashMap<String, Message> = HashMap::new();
        for part in ids.chunks(BATCH) {
            let idl = part.iter().map(|i| quote(i)).collect::<Vec<_>>().join(",");
            self.select(
                &format!(
                    "SELECT id, argMax(fp, version), argMax(body, version), argMax(data, version) FROM {}.row_versions \
                     WHERE workspace = {} AND kind = 0 AND id IN ({idl}) AND version IN {} GROUP BY id",
                    self.db(),
                    quote(ws),
                    list(&st.versions)
                ),
                |r| {
                    let (id, fp) = (r.str()?, r.u64()?);
                    let mut m = message_of(&id, fp, &r.str()?, &r.bytes()?)?;
                    m.corrected = corrected.get(&m.message_id).copied();
                    found.insert(m.message_id.clone(), m);
                    Ok(())
                },
            )?;
        }
        Ok(ids.iter().filter_map(|i| found.get(i).cloned()).collect())
    }

    fn workspaces(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        self.select(&format!("SELECT DISTINCT workspace FROM {}.imports ORDER BY workspace", self.db()), |r| {
            out.push(r.str()?);
            Ok(())
        })?;
        // And those created before any import (`admin workspace create`), as the embedded store
        // lists them.
        out.extend(self.control.known_workspaces()?);
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn probes(&self, ws: &str) -> Result<Vec<Probe>, StoreError> {
        let st = self.state(ws)?;
        let mut p: Vec<Probe> =
            self.keyed(ws, &st.versions, "(9)")?.iter().map(|(_, b)| parse(b)).collect::<Result<_, _>>()?;
        p.sort_by(|a, b| (a.sent_at.ms, &a.probe_id).cmp(&(b.sent_at.ms, &b.probe_id)));
        Ok(p)
    }

    fn version(&self, ws: &str) -> Result<i64, StoreError> {
        Ok(self.state(ws)?.versions.last().map_or(0, |v| *v as i64))
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
        let mut lock = self.control.lock_workspace(ws)?;
        let st = self.state(ws)?;
        let cfg = &*self.attached(ws, cfg, &st.versions)?;
        let inbound = self
            .messages_by_id(ws, &[message_id.to_string()])?
            .first()
            .is_some_and(|m| m.direction == barometre_core::model::Direction::In);
        if !inbound {
            return Ok(false);
        }
        let had = self.corrections_at(ws, &st.versions)?.iter().any(|c| c.message_id == message_id);
        if label.is_none() && !had {
            return Ok(true);
        }
        let v = self.next_version(&st);
        let mut w = RowBinary::default();
        w.str(ws).str(message_id).str(label.map_or("", Label::as_str)).str(by.unwrap_or("")).i64(now_ms()).u64(v);
        self.insert("corrections", "workspace, message_id, label, by, at_ms, version", &w)?;
        let mut seen = st.versions.clone();
        seen.push(v);
        // The labelled message's conversation alone is computed again, when the facts allow.
        let also = [message_id];
        let patching = match &st.generation {
            Some((g, fp)) if *fp == facts_key(cfg) => Some(Patching { from: *g, also: &also }),
            _ => None,
        };
        let reread = self.recompute(ws, cfg, &seen, v, st.unique, patching, sink)?;
        still_ours(&mut lock, sink)?;
        self.commit_after(ws, v, ("label", !reread), st.generation.as_ref().map(|g| g.0), Some(&st))?;
        Ok(true)
    }

    fn corrections(&self, ws: &str) -> Result<Vec<Correction>, StoreError> {
        let st = self.state(ws)?;
        self.corrections_at(ws, &st.versions)
    }

    fn import_faq_with(
        &mut self,
        ws: &str,
        cfg: &Config,
        entries: &[FaqEntry],
        sink: &mut dyn ImportSink,
    ) -> Result<FaqSummary, StoreError> {
        self.control.create_workspace(ws)?;
        let mut lock = self.control.lock_workspace(ws)?;
        let st = self.state(ws)?;
        let changed = self.faq_at(ws, &st.versions)? != entries;
        if changed {
            let v = self.next_version(&st);
            let mut w = RowBinary::default();
            w.str(ws).u64(v).str(&serde_json::to_string(entries).map_err(corrupt)?);
            self.insert("faq", "workspace, version, entries", &w)?;
            let mut seen = st.versions.clone();
            seen.push(v);
            let mut reread = false;
            if st.generation.is_some() {
                let cfg = cfg.with_faq((!entries.is_empty()).then(|| Arc::new(Faq::new(entries.to_vec()))));
                reread = self.recompute(ws, &cfg, &seen, v, st.unique, None, sink)?;
            }
            still_ours(&mut lock, sink)?;
            self.commit_after(ws, v, ("faq", !reread), st.generation.as_ref().map(|g| g.0), Some(&st))?;
        }
        drop(lock);
        let t = self.table(ws, cfg, None, None)?;
        Ok(FaqSummary::counted(entries.len(), changed, &t))
    }

    fn faq(&self, ws: &str) -> Result<Vec<FaqEntry>, StoreError> {
        let st = self.state(ws)?;
        self.faq_at(ws, &st.versions)
    }
}

/// Whether a change may still commit: its own lock held, and the caller's (a [`crate::Split`]'s
/// in the shared control plane, through `sink`). A lock lost on the way is said rather than
/// committed over.
fn still_ours(lock: &mut crate::WorkspaceLock<'_>, sink: &mut dyn ImportSink) -> Result<(), StoreError> {
    lock.check()?;
    sink.before_commit()
}

/// Reads every record on this thread, a batch looked up and written at a time; returns how many
/// records were read.
fn import_alone(
    node: &Node,
    job: &Importing,
    records: &mut dyn Iterator<Item = Result<Located, RowError>>,
    sum: &mut ImportSummary,
    sink: &mut dyn ImportSink,
) -> Result<u64, StoreError> {
    let mut read = 0u64;
    let mut batch: Vec<Located> = Vec::with_capacity(BATCH);
    let mut w = Writer::default();
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
            node.import_batch(job, &batch, &mut w)?.merge_into(sum, sink);
            batch.clear();
        }
    }
    node.import_batch(job, &batch, &mut w)?.merge_into(sum, sink);
    w.flush(node, job)?;
    Ok(read)
}

/// Reads every record on this thread and hands each to one of `workers` threads by its id
/// ([`worker_of`]); each looks its batches up and writes them (the texts' reading, the JSON and
/// the HTTP exchanges then run on every core). Refused rows reach the sink from this thread.
fn import_by_workers(
    node: &Node,
    job: &Importing,
    workers: usize,
    records: &mut dyn Iterator<Item = Result<Located, RowError>>,
    sum: &mut ImportSummary,
    sink: &mut dyn ImportSink,
) -> Result<u64, StoreError> {
    use std::sync::mpsc;
    std::thread::scope(|sc| {
        let (done_tx, done_rx) = mpsc::channel::<Result<BatchOut, StoreError>>();
        let mut to: Vec<mpsc::SyncSender<Vec<Located>>> = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (tx, rx) = mpsc::sync_channel::<Vec<Located>>(1);
            to.push(tx);
            let done = done_tx.clone();
            sc.spawn(move || {
                let mut w = Writer::default();
                for batch in rx {
                    if done.send(node.import_batch(job, &batch, &mut w)).is_err() {
                        return;
                    }
                }
                let _ = done.send(w.flush(node, job).map(|()| BatchOut::default()));
            });
        }
        drop(done_tx);
        let mut first_error: Option<StoreError> = None;
        let mut take = |r: Result<BatchOut, StoreError>, sum: &mut ImportSummary, sink: &mut dyn ImportSink| match r {
            Ok(out) => out.merge_into(sum, sink),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        };
        let mut bufs: Vec<Vec<Located>> = (0..workers).map(|_| Vec::with_capacity(BATCH)).collect();
        let mut read = 0u64;
        for rec in records {
            read += 1;
            if read.is_multiple_of(10_000) {
                sink.progress(read);
            }
            let loc = match rec {
                Ok(loc) => loc,
                Err(e) => {
                    sum.reject(e, sink);
                    continue;
                }
            };
            let k = worker_of(&loc.record, workers);
            bufs[k].push(loc);
            if bufs[k].len() == BATCH {
                let batch = std::mem::replace(&mut bufs[k], Vec::with_capacity(BATCH));
                if to[k].send(batch).is_err() {
                    break;
                }
            }
            while let Ok(r) = done_rx.try_recv() {
                take(r, sum, sink);
            }
        }
        for (k, batch) in bufs.into_iter().enumerate() {
            if !batch.is_empty() {
                let _ = to[k].send(batch);
            }
        }
        drop(to);
        for r in done_rx {
            take(r, sum, sink);
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(read),
        }
    })
}

impl Node {
    /// Looks a batch of rows up, classifies each (new, changed, the same, or a repeat of this
    /// import with other content) and writes the new and changed ones, and those seen again (so
    /// that a later repeat with other content is known as one).
    fn import_batch(&self, job: &Importing, batch: &[Located], w: &mut Writer) -> Result<BatchOut, StoreError> {
        let mut out = BatchOut::default();
        if batch.is_empty() {
            return Ok(out);
        }
        let Importing { ws, cfg, key, version: v, seen, .. } = *job;
        let sum = &mut out.counts;
        let mut stored: HashMap<(u8, String), Stored> = HashMap::new();
        // Ids written already, or never: rows this worker keeps unwritten are looked up here.
        let ids: Vec<String> = {
            let mut ids: Vec<String> = batch
                .iter()
                .map(|l| (kind_of(&l.record), keys(&l.record).1))
                .filter(|k| !w.at.contains_key(k))
                .map(|k| k.1)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        // The batch's kinds: with the workspace, the first columns of the table's key, so that
        // the lookup reads the ids' granules only.
        let kinds = {
            let mut k: Vec<u64> = batch.iter().map(|l| u64::from(kind_of(&l.record))).collect();
            k.sort_unstable();
            k.dedup();
            list(&k)
        };
        let sql = format!(
            "SELECT kind, id, argMax(fp, version), max(version), argMax(file, version), argMax(line, version), \
             argMax(body, version), argMax(data, version) FROM {}.row_versions WHERE workspace = {} AND kind IN {kinds} \
             AND id IN batch_ids \
             AND version IN {} GROUP BY kind, id FORMAT RowBinary",
            &self.database,
            quote(ws),
            list(seen)
        );
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut rows = Rows::new(if refs.is_empty() {
            self.post("SELECT 1 LIMIT 0 FORMAT RowBinary", None)?
        } else {
            self.post_with_ids(&sql, "batch_ids", &refs)?
        });
        while rows.more()? {
            let r = &mut rows;
            let (kind, id) = (r.u8()?, r.str()?);
            let (fp, version, file, line) = (r.u64()?, r.u64()?, r.str()?, r.u64()?);
            let s = Stored { fp, version, file, line, body: r.str()?, data: r.bytes()? };
            stored.insert((kind, id), s);
        }
        for loc in batch {
            let rec = &loc.record;
            let kind = kind_of(rec);
            let (col, id, conv, at_ms) = keys(rec);
            let fp = crate::keyed::fingerprint(rec) as u64;
            // A message is kept as its compact row alone (below), other rows as JSON.
            let body = if kind == 0 { String::new() } else { body(rec)? };
            if let Record::Message(m) = rec {
                if barometre_core::ingest::unattached(m) {
                    sum.unattached += 1;
                }
            }
            let k = (kind, id);
            let kept = w.at.get(&k).map(|&i| &w.pending[i]);
            // The row this one replaces, and whether this import read it already.
            let old = match (kept, w.here.get(&k)) {
                (Some(p), _) => Some((p.fp, true, &*p.file, p.line, &p.body, &p.data)),
                (None, Some((file, line))) => stored.get(&k).map(|o| (o.fp, true, &**file, *line, &o.body, &o.data)),
                (None, None) => {
                    stored.get(&k).map(|o| (o.fp, o.version == v, o.file.as_str(), o.line, &o.body, &o.data))
                }
            };
            if let Some((ofp, this_import, ofile, oline, obody, odata)) = old {
                // Equal fingerprints are confirmed on the kept row itself: a message on its
                // compact row (its JSON when written before schema 5), another row on its JSON.
                let same = ofp == fp
                    && match rec {
                        Record::Message(m) if !odata.is_empty() => rows::row_of_data(&k.1, ofp, odata)?.is(m),
                        Record::Message(_) => *obody == self::body(rec)?,
                        _ => *obody == body,
                    };
                if this_import {
                    // Seen earlier in this import.
                    if same || kind == 1 {
                        sum.rows += 1;
                        sum.unchanged += 1;
                    } else {
                        let e = barometre_core::ingest::duplicate_id(col, &k.1, ofile, oline);
                        out.rejected.push(loc.error(e));
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
                    w.here.insert(k, (loc.file.clone(), loc.line));
                    continue;
                }
                sum.updated += 1;
                if kind <= 1 {
                    job.clock_changed.fetch_add(1, Ordering::Relaxed);
                }
            } else {
                sum.rows += 1;
                sum.inserted += 1;
                if kind <= 1 {
                    job.clock_new.fetch_add(1, Ordering::Relaxed);
                }
            }
            // A message's reading of its text is kept in its compact row.
            let (tf_key, data) = match rec {
                Record::Message(m) => (key.to_string(), rows::encode_data(m, &clock::text_facts(m, cfg), loc.line)),
                _ => (String::new(), Vec::new()),
            };
            w.at.insert(k.clone(), w.pending.len());
            w.pending.push(Pending {
                kind,
                id: k.1,
                conv: conv.to_string(),
                at_ms,
                fp,
                file: loc.file.clone(),
                line: loc.line,
                tf_key,
                body,
                data,
            });
        }
        if w.pending.len() >= WRITE_ROWS {
            w.flush(self, job)?;
        }
        Ok(out)
    }
}

impl ClickHouseStore {
    /// The records of `versions` (their knowledge base `faq` given: read by the caller).
    fn records_at(
        &self,
        ws: &str,
        versions: &[u64],
        from: Option<Millis>,
        to: Option<Millis>,
        faq: Vec<FaqEntry>,
    ) -> Result<Records, StoreError> {
        records_of(self.keyed(ws, versions, "(2, 3, 4, 5, 6, 7, 8)")?, from, to, faq)
    }
}

/// The records of kinds other than messages and events from their kept JSON, `(kind, body)`,
/// those of a period inside `[from, to)`, in the embedded store's orders (so that every back end
/// gives the same rows in the same order); the knowledge base `faq` given.
pub(crate) fn records_of(
    rows: impl IntoIterator<Item = (u8, String)>,
    from: Option<Millis>,
    to: Option<Millis>,
    faq: Vec<FaqEntry>,
) -> Result<Records, StoreError> {
    let inside = |ms: Millis| crate::sqlite::within(ms, from, to);
    let mut rec = Records::default();
    for (kind, b) in rows {
        match kind {
            2 => rec.surveys.push(parse(&b)?),
            3 => rec.invitations.push(parse(&b)?),
            4 => {
                let c: barometre_core::model::Contact = parse(&b)?;
                if inside(c.queued_at.ms) {
                    rec.contacts.push(c);
                }
            }
            5 => {
                let p: barometre_core::model::Post = parse(&b)?;
                if inside(p.published_at.ms) {
                    rec.posts.push(p);
                }
            }
            6 => rec.customers.push(parse(&b)?),
            7 => rec.orders.push(parse(&b)?),
            8 => {
                let r: barometre_core::model::Review = parse(&b)?;
                if inside(r.at.ms) {
                    rec.reviews.push(r);
                }
            }
            _ => {}
        }
    }
    // The embedded store's orders, so that both give the same rows in the same order.
    rec.surveys.sort_by(|a, b| (a.answered_at.ms, &a.response_id).cmp(&(b.answered_at.ms, &b.response_id)));
    rec.invitations.sort_by(|a, b| (a.sent_at.ms, &a.invitation_id).cmp(&(b.sent_at.ms, &b.invitation_id)));
    rec.contacts.sort_by(|a, b| (a.queued_at.ms, &a.contact_id).cmp(&(b.queued_at.ms, &b.contact_id)));
    rec.posts.sort_by(|a, b| (a.published_at.ms, &a.post_id).cmp(&(b.published_at.ms, &b.post_id)));
    rec.customers.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
    rec.orders.sort_by(|a, b| a.order_id.cmp(&b.order_id));
    rec.reviews.sort_by(|a, b| (a.at.ms, &a.key).cmp(&(b.at.ms, &b.key)));
    rec.faq = faq;
    Ok(rec)
}

/// A number below 65,536 drawn once per process, plus one more at every call (never wrapping, so
/// that a process's versions never repeat): what sets apart the versions of imports that start
/// together ([`ClickHouseStore::next_version`]).
fn version_salt() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static DRAWN: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let drawn = *DRAWN.get_or_init(|| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.finish()
    });
    drawn % 65_536 + CALLS.fetch_add(1, Ordering::Relaxed)
}

// Accounts are the control plane's.
accounts_in!(ClickHouseStore, control);

/// Opens ClickHouse stores for a server's pool, each with its own control plane connection.
pub struct ClickHouseOpener {
    pub address: Address,
    pub control: Arc<dyn Fn() -> Result<Box<dyn ControlPlane + Send>, StoreError> + Send + Sync>,
}

impl crate::Opener for ClickHouseOpener {
    fn open(&self) -> Result<Box<dyn crate::Store + Send>, StoreError> {
        Ok(Box::new(ClickHouseStore::open(&self.address, (self.control)()?)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_name_host_port_database_cluster_and_nodes() {
        let a =
            Address::parse("clickhouse://u:p%40ss@127.0.0.1:18121/barometre?cluster=barometre&nodes=127.0.0.1:18122")
                .unwrap();
        assert_eq!((a.node.host.as_str(), a.node.port, a.node.database.as_str()), ("127.0.0.1", 18121, "barometre"));
        assert_eq!((a.node.user.as_deref(), a.node.password.as_deref()), (Some("u"), Some("p@ss")));
        assert_eq!(a.cluster.as_deref(), Some("barometre"));
        assert_eq!(a.nodes.iter().map(|n| n.port).collect::<Vec<_>>(), [18121, 18122]);
        let one = Address::parse("clickhouse://localhost:8123/db").unwrap();
        assert_eq!((one.cluster, one.nodes.len()), (None, 0));
        for bad in
            ["clickhouse://h/db", "clickhouse://h:80/", "clickhouse://h:80/d-b", "clickhouse://h:80/db?nodes=a:1"]
        {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn version_lists_are_never_empty() {
        assert_eq!(list(&[]), "(0)");
        assert_eq!(list(&[3, 5]), "(3,5)");
    }
}

/// Runs the conformance suite on a ClickHouse server named by `BAROMETRE_TEST_CLICKHOUSE` (one
/// server, `clickhouse://HOST:PORT`) and on the cluster named by
/// `BAROMETRE_TEST_CLICKHOUSE_CLUSTER` (`clickhouse://HOST:PORT?cluster=NAME&nodes=…`), each
/// store in a database of its own. Skipped without them, except under CI (`CI` set), where a
/// missing server fails.
#[cfg(test)]
mod conformance_tests {
    use super::*;

    fn target(var: &str) -> Option<String> {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => Some(v),
            _ if std::env::var("CI").is_ok() => panic!("{var} must name a ClickHouse server under CI"),
            _ => {
                eprintln!("{var} not set: ClickHouse conformance skipped");
                None
            }
        }
    }

    /// A fresh database's address on the server or cluster `base` names.
    fn fresh(base: &str) -> Address {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let db = format!("conf_{}_{n}", std::process::id());
        let (head, query) = base.split_once('?').unwrap_or((base, ""));
        // The server's address, without the database the URL may name.
        let at = head.find("://").map_or(0, |i| i + 3);
        let head = head[at..].split_once('/').map_or(head, |(hp, _)| &head[..at + hp.len()]);
        let url = format!("{head}/{db}{}{query}", if query.is_empty() { "" } else { "?" });
        Address::parse(&url).unwrap()
    }

    /// A store in a fresh database on the server or cluster `base` names.
    fn open_fresh(base: &str) -> (Address, ClickHouseStore) {
        let a = fresh(base);
        let s = ClickHouseStore::open(&a, Box::new(crate::SqliteStore::memory().unwrap())).unwrap();
        (a, s)
    }

    /// Runs `check` on the server, then on the cluster, each when configured.
    fn on_each_target(check: fn(&str)) {
        for var in ["BAROMETRE_TEST_CLICKHOUSE", "BAROMETRE_TEST_CLICKHOUSE_CLUSTER"] {
            if let Some(base) = target(var) {
                check(&base);
            }
        }
    }

    /// Imports a CSV text read as the file `name` into the workspace `ws`.
    fn import_csv(
        s: &mut ClickHouseStore,
        ws: &str,
        name: &str,
        kind: barometre_core::ingest::Kind,
        text: &str,
        strict: bool,
    ) -> ImportSummary {
        use barometre_core::ingest::{Format, RecordReader};
        let mut r = RecordReader::new(name, kind, Format::Csv, text.as_bytes());
        s.import(ws, &Config::default(), strict, &mut r, &mut ()).unwrap()
    }

    /// Drops a test's database on every node.
    fn drop_dbs(a: &Address) {
        for n in std::iter::once(&a.node).chain(&a.nodes) {
            let _ = n.exec(&format!("DROP DATABASE IF EXISTS {}", n.database));
        }
    }

    fn run(var: &str) {
        let Some(base) = target(var) else { return };
        let made = std::sync::Mutex::new(Vec::new());
        crate::conformance::run_all(|| {
            let a = fresh(&base);
            made.lock().unwrap().push(a.clone());
            ClickHouseStore::open(&a, Box::new(crate::SqliteStore::memory().unwrap())).unwrap()
        });
        for a in made.into_inner().unwrap() {
            drop_dbs(&a);
        }
    }

    /// The current generation's fact chunks of `w` (every part but the dictionary and names).
    fn chunks_of(s: &ClickHouseStore) -> usize {
        let g = s.state("w").unwrap().generation.unwrap().0;
        let n = s
            .node
            .text(&format!(
                "SELECT count() FROM {}.fact_parts WHERE workspace = 'w' AND generation = {g} \
                 AND part NOT IN ('dict', 'names')",
                s.db()
            ))
            .unwrap();
        n.trim().parse().unwrap()
    }

    /// Every fact of `w` computed again from its rows, as a new generation.
    fn recomputed(s: &mut ClickHouseStore) {
        let st = s.state("w").unwrap();
        let v = s.next_version(&st);
        let seen: Vec<u64> = st.versions.iter().copied().chain([v]).collect();
        let _ = s.recompute("w", &Config::default(), &seen, v, false, None, &mut ()).unwrap();
        s.commit("w", v, "test", st.generation.map(|g| g.0)).unwrap();
    }

    /// Nodes copy their own rows only when the nodes named are the cluster's servers, each once.
    fn shards_named(base: &str) {
        let (a, s) = open_fresh(base);
        assert!(s.copies_node_by_node().unwrap(), "every node named once");
        if let Some(c) = &s.cluster {
            let other = |nodes: Vec<Node>| {
                let s2 = ClickHouseStore {
                    nodes,
                    ..ClickHouseStore::open(&a, Box::new(crate::SqliteStore::memory().unwrap())).unwrap()
                };
                s2.copies_node_by_node().unwrap()
            };
            assert!(!other(vec![s.nodes[0].clone()]), "a shard left out of {c}");
            // One server under two names.
            let alias = Node { host: "localhost".into(), ..s.nodes[0].clone() };
            assert!(!other(vec![s.nodes[0].clone(), alias]), "a server named twice");
        }
        drop_dbs(&a);
    }

    /// Late rows and labels patch the facts as on the other stores: the same scenarios.
    fn patched(base: &str) {
        use crate::sqlite::patch::tests as patch;
        let made = std::sync::Mutex::new(Vec::new());
        let make = || {
            let (a, s) = open_fresh(base);
            made.lock().unwrap().push(a);
            s
        };
        patch::late_rows_give_one_imports_facts(&make, &chunks_of, &recomputed);
        patch::a_label_computes_its_conversation_again(make(), &chunks_of, &recomputed);
        patch::late_rows_at_shared_instants(&make);
        patch::a_run_gains_a_chunk(&make, &chunks_of);
        for a in made.into_inner().unwrap() {
            drop_dbs(&a);
        }
    }

    /// A generation written by an older binary (no names kept with it), or whose facts number
    /// names otherwise than the rows read now (another order), is not patched: every fact is
    /// computed again, and the next late rows are patched.
    fn unpatchable(base: &str) {
        use crate::sqlite::patch::tests as patch;
        let data = barometre_core::demo::generate(5, 4, 1_780_000_000_000);
        let n = data.messages.len();
        let (held, late1, late2) = (&data.messages[..n - 6], &data.messages[n - 6..n - 3], &data.messages[n - 3..]);
        for names in [None, Some("lo_ms + 1")] {
            let (a, mut s) = open_fresh(base);
            patch::import(&mut s, held, &data.events);
            // The current generation copied as a new one: without its names, or with others.
            let st = s.state("w").unwrap();
            let g = st.generation.as_ref().unwrap().0;
            let v = s.next_version(&st);
            let (db, keep) = (s.db().to_string(), if names.is_some() { "1" } else { "part != 'names'" });
            let lo = names.unwrap_or("lo_ms");
            s.node
                .exec(&format!(
                    "INSERT INTO {db}.fact_parts ({FACT_COLS}) SELECT workspace, {v}, part, seq, \
                     if(part = 'names', {lo}, lo_ms), hi_ms, n, data FROM {db}.fact_parts \
                     WHERE workspace = 'w' AND generation = {g} AND {keep}"
                ))
                .unwrap();
            s.node
                .exec(&format!(
                    "INSERT INTO {db}.requests ({REQUEST_COLS}) SELECT workspace, {v}, start_ms, closed_ms, account, \
                     channel, agent, team, outcome, public, first, conv FROM {db}.requests \
                     WHERE workspace = 'w' AND generation = {g}"
                ))
                .unwrap();
            s.node
                .exec(&format!(
                    "INSERT INTO {db}.generations SELECT workspace, {v}, fingerprint FROM {db}.generations \
                     WHERE workspace = 'w' AND generation = {g}"
                ))
                .unwrap();
            s.commit("w", v, "test", Some(g)).unwrap();
            assert!(!patch::patched(&patch::import(&mut s, late1, &[])), "names {names:?}");
            patch::assert_as_computed_whole(&mut s, &recomputed);
            assert!(patch::patched(&patch::import(&mut s, late2, &[])), "names {names:?}");
            patch::assert_as_computed_whole(&mut s, &recomputed);
            drop_dbs(&a);
        }
    }

    /// A patch writes the requests and the daily rollup a whole computation writes: the
    /// requests of the conversations not touched copied, theirs replaced, the rollup summed
    /// again on the server.
    fn patched_requests_and_rollup(base: &str) {
        patched_requests_and_rollup_named(base, false);
        if base.contains("cluster=") {
            patched_requests_and_rollup_named(base, true);
        }
    }

    /// [`patched_requests_and_rollup`]; with `one_node`, through an address that names one node
    /// of the cluster only: the copies then go through the `Distributed` tables.
    fn patched_requests_and_rollup_named(base: &str, one_node: bool) {
        use barometre_core::ingest::{Format, Kind, RecordReader};
        use barometre_core::time::{parse_instant, rfc3339_utc};
        #[derive(Default)]
        struct Notes(Vec<String>);
        impl ImportSink for Notes {
            fn note(&mut self, what: &str) {
                self.0.push(what.to_string());
            }
        }
        let head = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to\n";
        let (mut held, mut late) = (head.to_string(), head.to_string());
        let days = ["1970-01-01", "2026-04-06", "2026-04-07", "2026-04-08"];
        // 100 requests a day over two accounts and two channels, answered after 60, 600 or
        // 1800 s (folded many to a rollup row); every seventh unanswered, and every other one of
        // those answered by a late message; a new conversation a day, late.
        for (d, day) in days.iter().enumerate() {
            let t0 = parse_instant(&format!("{day}T08:00:00Z")).unwrap().ms;
            for k in 0..100i64 {
                let (acct, chan) = (["acme", "zeta"][k as usize % 2], ["email", "chat"][k as usize / 2 % 2]);
                let at = t0 + k * 60_000;
                held.push_str(&format!("q{d}-{k},{},in,{acct},{chan},u{k},k{d}-{k},\n", rfc3339_utc(at)));
                let answer = |delay: i64| {
                    format!("a{d}-{k},{},out,{acct},{chan},ag{},k{d}-{k},q{d}-{k}\n", rfc3339_utc(at + delay), k % 3)
                };
                if k % 7 != 0 {
                    held.push_str(&answer([60_000, 600_000, 1_800_000][k as usize % 3]));
                } else if k % 14 == 0 {
                    late.push_str(&answer(600_000));
                }
            }
            late.push_str(&format!("n{d},{},in,acme,chat,un{d},n{d},\n", rfc3339_utc(t0 + 30 * 60_000 + 1)));
        }
        let import = |s: &mut ClickHouseStore, text: &str| {
            let mut notes = Notes::default();
            let mut r = RecordReader::new("r.csv", Kind::Messages, Format::Csv, text.as_bytes());
            s.import("w", &Config::default(), false, &mut r, &mut notes).unwrap();
            notes.0
        };
        let (a, mut s) = open_fresh(base);
        if one_node {
            s.nodes.truncate(1);
        }
        // Each node copies its own rows only when the nodes named are the cluster's shards.
        assert_eq!(s.copies_node_by_node().unwrap(), !one_node);
        import(&mut s, &held);
        let notes = import(&mut s, &late);
        assert!(notes.iter().any(|n| n.starts_with("facts of 36 conversations computed again")), "{notes:?}");
        // New keys only: every row of the workspace is read as it is, without grouping.
        assert!(s.state("w").unwrap().unique);
        let (b, mut once) = open_fresh(base);
        import(&mut once, &format!("{held}{}", &late[head.len()..]));
        // Every request and rollup row of the current generation, sorted.
        let rows_of = |s: &ClickHouseStore, table: &str, cols: &str| {
            let g = s.state("w").unwrap().generation.unwrap().0;
            s.node
                .text(&format!(
                    "SELECT {cols} FROM {}.{table} WHERE workspace = 'w' AND generation = {g} ORDER BY {cols}",
                    s.db()
                ))
                .unwrap()
        };
        let reqs = "start_ms, closed_ms, account, channel, agent, team, outcome, public, first, conv";
        let daily = "day, account, channel, agent, team, outcome, delay_ms, n";
        assert_eq!(rows_of(&s, "requests", reqs), rows_of(&once, "requests", reqs));
        assert_eq!(rows_of(&s, "requests", reqs).lines().count(), 404);
        let rolled = rows_of(&s, "requests_daily", daily);
        assert_eq!(rolled, rows_of(&once, "requests_daily", daily));
        // January 1st, 1970 is day 0, and holds its 100 requests and the late one.
        let day_of = |line: &str| line.split('\t').next().unwrap().parse::<i64>().unwrap();
        let n_of = |line: &str| line.rsplit('\t').next().unwrap().parse::<u64>().unwrap();
        assert_eq!(rolled.lines().filter(|l| day_of(l) == 0).map(n_of).sum::<u64>(), 101);
        assert!(rolled.lines().count() < 404 * 4 / 5, "{} rollup rows", rolled.lines().count());
        let cfg = Config::default();
        let table = s.table("w", &cfg, None, None).unwrap();
        let at = |t: &str| Some(parse_instant(t).unwrap().ms);
        for (from, to) in
            [(None, None), (at("1970-01-01T00:00:00Z"), at("2026-04-08T00:00:00Z")), (at("2026-04-06T08:30:00Z"), None)]
        {
            for by in [None, Some("account"), Some("channel"), Some("agent"), Some("day")] {
                let got = serde_json::to_string(&s.response_summary("w", &cfg, from, to, by).unwrap()).unwrap();
                let whole = serde_json::to_string(&once.response_summary("w", &cfg, from, to, by).unwrap()).unwrap();
                let here = serde_json::to_string(&crate::summary::Summary::from_table(&table, from, to, by)).unwrap();
                assert_eq!(got, whole, "{from:?} {to:?} {by:?}");
                assert_eq!(got, here, "{from:?} {to:?} {by:?}");
            }
        }
        drop_dbs(&a);
        drop_dbs(&b);
    }

    /// Figures ClickHouse aggregates itself equal the report's, by hand too.
    fn pushed_down(base: &str) {
        use barometre_core::ingest::Kind;
        use barometre_core::report::{self, Dim, Params};
        use barometre_core::value::Value;
        let (a, mut s) = open_fresh(base);
        // Response times: k1 600 s, k2 1800 s, k3 7200 s (acme, email), k5 60 s (acme, chat); k4
        // unanswered; k6 examined.
        let rows = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to,text
a,2026-04-06T08:00:00Z,in,acme,email,u1,k1,,Ma facture ?
b,2026-04-06T08:10:00Z,out,acme,email,ag1,k1,a,Voici
c,2026-04-06T09:00:00Z,in,acme,email,u2,k2,,Mon colis ?
d,2026-04-06T09:30:00Z,out,acme,email,ag2,k2,c,Parti
e,2026-04-07T09:00:00Z,in,acme,email,u3,k3,,Mon mot de passe ?
f,2026-04-07T11:00:00Z,out,acme,email,ag1,k3,e,Réinitialisé
g,2026-04-07T10:00:00Z,in,acme,email,u4,k4,,Toujours rien ?
h,2026-04-07T10:00:00Z,in,acme,chat,u5,k5,,Vous êtes là ?
i,2026-04-07T10:01:00Z,out,acme,chat,ag2,k5,h,Oui
j,2026-04-07T12:00:00Z,in,acme,chat,u6,k6,,Une question ?
";
        import_csv(&mut s, "w", "p.csv", Kind::Messages, rows, false);
        let ev = "conversation_id,event,at\nk6,examined,2026-04-07T12:30:00Z\n";
        import_csv(&mut s, "w", "e.csv", Kind::ConversationEvents, ev, false);
        let total = s.response_summary("w", &Config::default(), None, None, None).unwrap();
        assert_eq!(total.len(), 1);
        let t = &total[0];
        let rt = &t.response_time;
        assert_eq!((t.requests, t.response_rate.denominator, t.response_rate.numerator, rt.count), (6, 5, 4, 4));
        // Sorted 60, 600, 1800, 7200: median (600 + 1800) / 2; p90 at rank 2.7: 1800 + 0.7 × 5400
        // (in milliseconds, as the report interpolates: the same rounding, compared exactly below).
        assert_eq!(
            (rt.median, rt.min, rt.max, rt.sum, rt.mean),
            (Some(1200.0), Some(60.0), Some(7200.0), 9660.0, Some(2415.0))
        );
        assert!((rt.p90.unwrap() - 5580.0).abs() < 1e-9, "{:?}", rt.p90);
        let by = s.response_summary("w", &Config::default(), None, None, Some("channel")).unwrap();
        let cfg = Config::default();
        let table = s.table("w", &cfg, None, None).unwrap();
        let rep = report::build(&table, &Params { by: Some(Dim::Channel), ..Params::default() }, &cfg);
        let same = |m: &report::Metrics, x: &crate::summary::Summary| {
            assert_eq!(m.get("response_rate"), Some(&Value::Ratio(x.response_rate.clone())));
            assert_eq!(m.get("response_time"), Some(&Value::Duration(x.response_time.clone())));
        };
        same(&rep.total.metrics, t);
        assert_eq!(rep.groups.len(), by.len());
        for (g, b) in rep.groups.iter().zip(&by) {
            assert_eq!(g.key, b.group);
            same(&g.metrics, b);
        }
        // Computed from the facts here, the same bytes.
        for dim in [None, Some("channel"), Some("agent"), Some("day")] {
            let here = crate::summary::Summary::from_table(&table, None, None, dim);
            let there = s.response_summary("w", &cfg, None, None, dim).unwrap();
            assert_eq!(serde_json::to_string(&here).unwrap(), serde_json::to_string(&there).unwrap(), "{dim:?}");
        }
        let days = s.response_summary("w", &Config::default(), None, None, Some("day")).unwrap();
        let days: Vec<_> = days.iter().map(|d| (d.group.clone().unwrap(), d.requests)).collect();
        assert_eq!(days, [("2026-04-06".to_string(), 2), ("2026-04-07".to_string(), 4)]);
        drop_dbs(&a);
    }

    /// Summaries over whole days read the daily rollup, the ends of days the requests: the same
    /// bytes as reading every request, and as the facts computed here, by hand too.
    fn rolled_up(base: &str) {
        use barometre_core::ingest::Kind;
        use barometre_core::time::parse_instant;
        let (a, mut s) = open_fresh(base);
        // Response times: April 6th k1, k2, k3 600 s each (one rollup row of three), k4
        // unanswered; April 7th k5 1800 s, k6 60 s (chat), k7 unanswered; April 8th k8 7200 s,
        // k9 600 s.
        let rows = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to
a1,2026-04-06T08:00:00Z,in,acme,email,u1,k1,
a2,2026-04-06T08:10:00Z,out,acme,email,ag1,k1,a1
b1,2026-04-06T09:00:00Z,in,acme,email,u2,k2,
b2,2026-04-06T09:10:00Z,out,acme,email,ag1,k2,b1
c1,2026-04-06T11:00:00Z,in,acme,email,u3,k3,
c2,2026-04-06T11:10:00Z,out,acme,email,ag1,k3,c1
d1,2026-04-06T13:00:00Z,in,acme,email,u4,k4,
e1,2026-04-07T08:00:00Z,in,acme,email,u5,k5,
e2,2026-04-07T08:30:00Z,out,acme,email,ag1,k5,e1
f1,2026-04-07T10:00:00Z,in,acme,chat,u6,k6,
f2,2026-04-07T10:01:00Z,out,acme,chat,ag2,k6,f1
g1,2026-04-07T12:00:00Z,in,acme,chat,u7,k7,
h1,2026-04-08T07:00:00Z,in,acme,email,u8,k8,
h2,2026-04-08T09:00:00Z,out,acme,email,ag2,k8,h1
i1,2026-04-08T09:00:00Z,in,acme,email,u9,k9,
i2,2026-04-08T09:10:00Z,out,acme,email,ag1,k9,i1
";
        import_csv(&mut s, "w", "r.csv", Kind::Messages, rows, false);
        // The rollup rows of a workspace's current generation: how many, the requests they count,
        // the most one counts.
        let rolled_rows = |s: &ClickHouseStore, ws: &str| {
            let g = s.state(ws).unwrap().generation.unwrap().0;
            let sql = format!(
                "SELECT count(), sum(n), max(n) FROM {}.requests_daily WHERE workspace = {} AND generation = {g}",
                s.db(),
                quote(ws)
            );
            s.node.text(&sql).unwrap().trim().to_string()
        };
        // Nine requests in seven rows: k1, k2 and k3 share theirs.
        assert_eq!(rolled_rows(&s, "w"), "7\t9\t3");
        let g = s.state("w").unwrap().generation.unwrap().0;
        let at = |t: &str| Some(parse_instant(t).unwrap().ms);
        let cfg = Config::default();
        let table = s.table("w", &cfg, None, None).unwrap();
        // From 10:00 on April 6th to 08:00 on April 8th: k3, k4 (end of a day), all of April 7th
        // (rollup), k8 (start of a day). Sorted 60, 600, 1800, 7200 s: median (600 + 1800) / 2;
        // p90 at rank 2.7: 1800 + 0.7 × 5400.
        let (from, to) = (at("2026-04-06T10:00:00Z"), at("2026-04-08T08:00:00Z"));
        let t = &s.response_summary("w", &cfg, from, to, None).unwrap()[0];
        let rt = &t.response_time;
        assert_eq!((t.requests, t.response_rate.denominator, t.response_rate.numerator, rt.count), (6, 6, 4, 4));
        assert_eq!((rt.median, rt.min, rt.max, rt.sum), (Some(1200.0), Some(60.0), Some(7200.0), 9660.0));
        assert!((rt.p90.unwrap() - 5580.0).abs() < 1e-9, "{:?}", rt.p90);
        // The whole of it: 600 s four times among seven answers (weights across rows).
        let all = &s.response_summary("w", &cfg, None, None, None).unwrap()[0];
        assert_eq!((all.requests, all.response_time.median), (9, Some(600.0)));
        let periods = [
            (None, None),
            (from, to),
            (at("2026-04-07T00:00:00Z"), at("2026-04-08T00:00:00Z")),
            (from, None),
            (None, to),
            (at("2026-04-07T09:00:00Z"), at("2026-04-07T23:00:00Z")),
            (at("2026-04-06T00:00:00Z"), at("2026-04-08T09:00:00Z")),
            (at("2026-04-09T00:00:00Z"), None),
        ];
        for (from, to) in periods {
            for by in [None, Some("account"), Some("channel"), Some("agent"), Some("team"), Some("day")] {
                s.rollups = true;
                let rolled = serde_json::to_string(&s.response_summary("w", &cfg, from, to, by).unwrap()).unwrap();
                s.rollups = false;
                let each = serde_json::to_string(&s.response_summary("w", &cfg, from, to, by).unwrap()).unwrap();
                let here = serde_json::to_string(&crate::summary::Summary::from_table(&table, from, to, by)).unwrap();
                assert_eq!(rolled, each, "{from:?} {to:?} {by:?}");
                assert_eq!(rolled, here, "{from:?} {to:?} {by:?}");
            }
        }
        // A file whose requests share nothing folds too little: no rollup is written, and the
        // summaries read the requests (the same figures).
        let sparse = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to
q1,2026-04-06T08:00:00Z,in,acme,email,u1,k1,
r1,2026-04-06T08:01:00Z,out,acme,email,ag1,k1,q1
q2,2026-04-06T09:00:00Z,in,acme,email,u2,k2,
r2,2026-04-06T09:02:00Z,out,acme,email,ag1,k2,q2
q3,2026-04-07T09:00:00Z,in,acme,chat,u3,k3,
r3,2026-04-07T09:03:00Z,out,acme,chat,ag2,k3,q3
q4,2026-04-08T09:00:00Z,in,acme,chat,u4,k4,
";
        import_csv(&mut s, "sparse", "s.csv", Kind::Messages, sparse, false);
        assert_eq!(rolled_rows(&s, "sparse"), "0\t0\t0", "four requests in four rows: not written");
        s.rollups = true;
        let sparse_table = s.table("sparse", &cfg, None, None).unwrap();
        for (from, to) in periods {
            for by in [None, Some("channel"), Some("day")] {
                let got = serde_json::to_string(&s.response_summary("sparse", &cfg, from, to, by).unwrap()).unwrap();
                let here =
                    serde_json::to_string(&crate::summary::Summary::from_table(&sparse_table, from, to, by)).unwrap();
                assert_eq!(got, here, "{from:?} {to:?} {by:?}");
            }
        }
        let all = &s.response_summary("sparse", &cfg, None, None, None).unwrap()[0];
        assert_eq!((all.requests, all.response_time.count, all.response_time.median), (4, 3, Some(120.0)));
        // Read indeed: five more requests written into April 7th's rollup alone count there.
        let day = parse_instant("2026-04-07T00:00:00Z").unwrap().ms / DAY_MS;
        let mut w = RowBinary::default();
        w.str("w").u64(g).i64(day).str("acme").str("email").str("ag1").str("").u8(clock::Outcome::Answered as u8);
        w.i64(1000).u64(5);
        s.insert("requests_daily", DAILY_COLS, &w).unwrap();
        let (from, to) = (at("2026-04-07T00:00:00Z"), at("2026-04-08T00:00:00Z"));
        s.rollups = true;
        assert_eq!(s.response_summary("w", &cfg, from, to, None).unwrap()[0].requests, 8);
        s.rollups = false;
        assert_eq!(s.response_summary("w", &cfg, from, to, None).unwrap()[0].requests, 3);
        drop_dbs(&a);
    }

    /// Rows imported again with changes: their last version counts, whether few keys have
    /// several versions (those alone grouped) or many (every row grouped; two under test).
    fn changed_again(base: &str) {
        use barometre_core::ingest::Kind;
        let (a, mut s) = open_fresh(base);
        let cfg = Config::default();
        let head = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to\n";
        let mut import = |rows: &[&str]| {
            let text = format!("{head}{}\n", rows.join("\n"));
            let sum = import_csv(&mut s, "w", "a.csv", Kind::Messages, &text, false);
            let t = &s.response_summary("w", &cfg, None, None, None).unwrap()[0];
            (sum.inserted, sum.updated, t.requests, t.response_time.median, t.response_time.sum)
        };
        let b = |m: &str| format!("b,2026-04-06T08:{m}:00Z,out,acme,email,ag1,k1,a");
        let d = |m: &str| format!("d,2026-04-06T09:{m}:00Z,out,acme,email,ag1,k2,c");
        let f = |m: &str| format!("f,2026-04-06T11:{m}:00Z,out,acme,email,ag1,k3,e");
        // 600, 1800 and 3600 s.
        let all = [
            "a,2026-04-06T08:00:00Z,in,acme,email,u1,k1,",
            &b("10"),
            "c,2026-04-06T09:00:00Z,in,acme,email,u2,k2,",
            &d("30"),
            "e,2026-04-06T10:00:00Z,in,acme,email,u3,k3,",
            &f("00"),
        ];
        assert_eq!(import(&all), (6, 0, 3, Some(1800.0), 6000.0));
        // b moved: 1200 s (one key of two versions).
        assert_eq!(import(&[&b("20")]), (0, 1, 3, Some(1800.0), 6600.0));
        // d moved: 2400 s (two such keys).
        assert_eq!(import(&[&d("40")]), (0, 1, 3, Some(2400.0), 7200.0));
        // f moved: 3660 s (three: every row grouped).
        assert_eq!(import(&[&f("01")]), (0, 1, 3, Some(2400.0), 7260.0));
        // b back to its first instant, its third version: 600 s.
        assert_eq!(import(&[&b("10")]), (0, 1, 3, Some(2400.0), 6660.0));
        // A new key alone: the keys of several versions are still read at their last one.
        let g = "g,2026-04-06T12:00:00Z,in,acme,email,u4,k4,";
        assert_eq!(import(&[g]), (1, 0, 4, Some(2400.0), 6660.0));
        assert!(!s.state("w").unwrap().unique);
        drop_dbs(&a);
    }

    /// A file imported again writes no row; a row with the key of one it read unchanged, later
    /// in the same import, is a duplicate named at that place.
    fn imported_again(base: &str) {
        use barometre_core::ingest::Kind;
        let (a, mut s) = open_fresh(base);
        let head = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to,text\n";
        let a1 = "a,2026-04-06T08:00:00Z,in,acme,email,u1,k1,,Bonjour";
        let b1 = "b,2026-04-06T08:10:00Z,out,acme,email,ag1,k1,a,Voici";
        let rows = |s: &ClickHouseStore| s.node.text(&format!("SELECT count() FROM {}.row_versions", s.db())).unwrap();
        let first = import_csv(&mut s, "w", "a.csv", Kind::Messages, &format!("{head}{a1}\n{b1}\n"), false);
        assert_eq!((first.inserted, rows(&s).trim()), (2, "2"));
        let again = import_csv(&mut s, "w", "b.csv", Kind::Messages, &format!("{head}{a1}\n{b1}\n{a1}\n"), false);
        assert_eq!((again.rows, again.unchanged, again.rejected_count), (3, 3, 0));
        assert_eq!(rows(&s).trim(), "2");
        let other = "a,2026-04-06T08:00:00Z,in,acme,email,u1,k1,,Bonsoir";
        let dup = import_csv(&mut s, "w", "c.csv", Kind::Messages, &format!("{head}{a1}\n{other}\n"), false);
        assert_eq!((dup.unchanged, dup.updated, dup.rejected_count), (1, 0, 1));
        assert!(dup.rejected[0].reason.contains("first at c.csv:2"), "{}", dup.rejected[0].reason);
        assert_eq!(rows(&s).trim(), "2");
        // Changed, it is written: its second version.
        let changed = import_csv(&mut s, "w", "d.csv", Kind::Messages, &format!("{head}{other}\n"), false);
        assert_eq!((changed.updated, rows(&s).trim()), (1, "3"));
        drop_dbs(&a);
    }

    /// Messages written before schema 5 (JSON only) are read from their JSON beside compact ones.
    fn json_rows_of_before(base: &str) {
        use barometre_core::ingest::Kind;
        let (a, mut s) = open_fresh(base);
        let cfg = Config::default();
        let head = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to\n";
        let csv = |rows: &str| format!("{head}{rows}");
        // k1: 600 s.
        let ab = "a,2026-04-06T08:00:00Z,in,acme,email,u1,k1,\nb,2026-04-06T08:10:00Z,out,acme,email,ag1,k1,a\n";
        import_csv(&mut s, "w", "a.csv", Kind::Messages, &csv(ab), false);
        // k2: 1800 s, as a version 4 import wrote it.
        let cd = "c,2026-04-06T09:00:00Z,in,acme,email,u2,k2,\nd,2026-04-06T09:30:00Z,out,acme,email,ag1,k2,c\n";
        let text = csv(cd);
        let mut r = barometre_core::ingest::RecordReader::new(
            "b.csv",
            Kind::Messages,
            barometre_core::ingest::Format::Csv,
            text.as_bytes(),
        );
        let st = s.state("w").unwrap();
        let v = s.next_version(&st);
        // Written as schema 4 wrote them: no `data` column named (it reads its default).
        let mut old = RowBinary::default();
        for l in &mut r {
            let l = l.unwrap();
            let Record::Message(m) = &l.record else { unreachable!() };
            let tf = clock::text_facts(m, &cfg);
            old.str("w").u8(0).str(&m.message_id).str(m.conversation_id.as_deref().unwrap_or("")).i64(m.created_at.ms);
            old.u64(v).u64(crate::keyed::fingerprint(&l.record) as u64).str(&l.file).u64(l.line);
            old.str(&cfg.clock_fingerprint()).str(&body(&l.record).unwrap()).str(&serde_json::to_string(&tf).unwrap());
        }
        s.insert(
            "row_versions",
            "workspace, kind, id, conv, at_ms, version, fp, file, line, tf_key, body, derived",
            &old,
        )
        .unwrap();
        s.commit("w", v, "import", None).unwrap();
        // k3: 3600 s; the facts computed again from all six.
        let ef = "e,2026-04-06T10:00:00Z,in,acme,email,u3,k3,\nf,2026-04-06T11:00:00Z,out,acme,email,ag1,k3,e\n";
        import_csv(&mut s, "w", "c.csv", Kind::Messages, &csv(ef), false);
        let t = &s.response_summary("w", &cfg, None, None, None).unwrap()[0];
        assert_eq!((t.requests, t.response_time.median, t.response_time.sum), (3, Some(1800.0), 6000.0));
        let (msgs, _) = s.rows("w").unwrap();
        let mut ids: Vec<_> = msgs.iter().map(|m| m.message_id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["a", "b", "c", "d", "e", "f"]);
        // Imported again, they are known from their JSON: unchanged, then one changed.
        let again = import_csv(&mut s, "w", "b.csv", Kind::Messages, &csv(cd), false);
        assert_eq!((again.unchanged, again.updated), (2, 0));
        let later = cd.replace("09:30:00Z", "09:40:00Z");
        let changed = import_csv(&mut s, "w", "b.csv", Kind::Messages, &csv(&later), false);
        assert_eq!((changed.unchanged, changed.updated), (1, 1));
        let t = &s.response_summary("w", &cfg, None, None, None).unwrap()[0];
        assert_eq!((t.requests, t.response_time.median, t.response_time.sum), (3, Some(2400.0), 6600.0));
        // An analyst's label on a message kept as JSON.
        let label = Label::of_code(1).unwrap();
        assert!(s.correct_label("w", &cfg, "c", Some(label), Some("ana")).unwrap());
        assert_eq!(s.messages_by_id("w", &["c".into()]).unwrap()[0].corrected, Some(label));
        // Other settings: every text read again, the JSON rows kept compact from then on; the
        // same figures, the label kept.
        let mut other = Config::default();
        other.competitors = vec!["Rival".into()];
        let mut none = barometre_core::ingest::RecordReader::new(
            "n.csv",
            Kind::Messages,
            barometre_core::ingest::Format::Csv,
            head.as_bytes(),
        );
        s.import("w", &other, false, &mut none, &mut ()).unwrap();
        let t = &s.response_summary("w", &other, None, None, None).unwrap()[0];
        assert_eq!((t.requests, t.response_time.median, t.response_time.sum), (3, Some(2400.0), 6600.0));
        let kept = s
            .node
            .text(&format!(
                "SELECT sum(c) FROM (SELECT argMax(data != '', version) AS c FROM {}.row_versions WHERE kind = 0 \
                 GROUP BY id)",
                s.db()
            ))
            .unwrap();
        assert_eq!(kept.trim(), "6");
        assert_eq!(s.messages_by_id("w", &["c".into()]).unwrap()[0].corrected, Some(label));
        drop_dbs(&a);
    }

    /// A database of schema 4 gains the compact rows' column (5) and the requests' conversations (6)
    /// when opened, on every node, once.
    fn upgraded_to_6(base: &str) {
        use barometre_core::ingest::Kind;
        let (a, s) = open_fresh(base);
        let cluster = s.cluster.clone();
        for n in &s.nodes {
            let db = &n.database;
            for (table, column) in [("row_versions", "data"), ("requests", "conv")] {
                let mut tables = vec![schema::local(table, cluster.as_deref())];
                if cluster.is_some() {
                    tables.push(table.to_string());
                }
                for t in tables {
                    n.exec(&format!("ALTER TABLE {db}.{t} DROP COLUMN {column}")).unwrap();
                }
            }
            n.exec(&format!("DROP TABLE {db}.schema_migrations")).unwrap();
            n.exec(&format!("CREATE TABLE {db}.schema_migrations (version UInt32, applied_ms Int64) ENGINE = TinyLog"))
                .unwrap();
            n.exec(&format!("INSERT INTO {db}.schema_migrations VALUES (1, 0), (2, 0), (3, 0), (4, 0)")).unwrap();
        }
        drop(s);
        let mut s = ClickHouseStore::open(&a, Box::new(crate::SqliteStore::memory().unwrap())).unwrap();
        assert_eq!(s.schema_version().unwrap(), 6);
        assert_eq!(s.migrate().unwrap(), 6, "again: nothing to add");
        let rows = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to
a,2026-04-06T08:00:00Z,in,acme,email,u1,k1,
b,2026-04-06T08:10:00Z,out,acme,email,ag1,k1,a
";
        import_csv(&mut s, "w", "a.csv", Kind::Messages, rows, false);
        let t = &s.response_summary("w", &Config::default(), None, None, None).unwrap()[0];
        assert_eq!((t.requests, t.response_time.median), (1, Some(600.0)));
        let compact = s.node.text(&format!("SELECT countIf(data != '') FROM {}.row_versions", s.db())).unwrap();
        assert_eq!(compact.trim(), "2");
        let convs = s.node.text(&format!("SELECT groupArray(conv) FROM {}.requests", s.db())).unwrap();
        assert_eq!(convs.trim(), "['k1']");
        drop_dbs(&a);
    }

    /// Several import workers give what one gives: the same counts, the same refused rows, the
    /// same facts.
    fn workers_import_as_one(base: &str) {
        use barometre_core::ingest::Kind;
        let (a, mut s) = open_fresh(base);
        let mut rows =
            String::from("message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to,text\n");
        // More rows than a batch (a repeat then meets its first in another batch) and than a
        // worker keeps unwritten under test (or in ClickHouse, written).
        let n = 21_000;
        for i in 0..n {
            let (d, h, m) = (1 + (i / 1440) % 28, (i / 60) % 24, i % 60);
            rows.push_str(&format!("q{i},2026-04-{d:02}T{h:02}:{m:02}:00Z,in,acme,email,u{i},k{i},,Question {i} ?\n"));
            if i % 3 == 0 {
                rows.push_str(&format!(
                    "a{i},2026-04-{d:02}T{h:02}:{m:02}:30Z,out,acme,email,ag{},k{i},q{i},Réponse\n",
                    i % 7
                ));
            }
        }
        // The same ids again with other content: refused, whichever worker takes them, wherever
        // the first one is (written, or still kept by the worker).
        rows.push_str("q7,2026-04-01T00:07:00Z,in,acme,email,u7,k7,,Autre chose\n");
        rows.push_str("q20990,2026-04-15T13:50:00Z,in,acme,email,u20990,k20990,,Autre chose\n");
        let cfg = Config::default();
        let mut sums = Vec::new();
        for (ws, workers) in [("one", 1), ("four", 4)] {
            assert!(s.set_import_workers(workers));
            sums.push(import_csv(&mut s, ws, "w.csv", Kind::Messages, &rows, false));
        }
        let (one, four) = (&sums[0], &sums[1]);
        assert_eq!((one.rows, one.inserted, one.rejected_count), (28_000, 28_000, 2));
        assert_eq!(
            (four.rows, four.inserted, four.updated, four.unchanged),
            (one.rows, one.inserted, one.updated, one.unchanged)
        );
        let mut lines: Vec<u64> = four.rejected.iter().map(|e| e.line).collect();
        lines.sort_unstable();
        assert_eq!(lines, [28_002, 28_003]);
        assert!(four.rejected.iter().all(|e| e.reason.contains("first at w.csv:")), "{:?}", four.rejected);
        assert_eq!(one.rejected.iter().map(|e| e.line).collect::<Vec<_>>(), [28_002, 28_003]);
        let f1 = s.facts("one", &cfg, None, None).unwrap().sorted();
        let f4 = s.facts("four", &cfg, None, None).unwrap().sorted();
        assert_eq!(f1.requests.len(), 21_000);
        assert_eq!(f1, f4);
        let again = import_csv(&mut s, "four", "w.csv", Kind::Messages, &rows, false);
        assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 28_000));
        drop_dbs(&a);
    }

    /// Facts kept by an older layout or other settings (schema 1's `fact_chunks`) are never read
    /// as if they were current: figures come from the rows, and the next import writes them anew.
    fn facts_of_another_layout(base: &str) {
        use barometre_core::ingest::Kind;
        let (a, mut s) = open_fresh(base);
        let rows = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to,text
a,2026-04-06T08:00:00Z,in,acme,email,u1,k1,,Ma facture ?
b,2026-04-06T08:10:00Z,out,acme,email,ag1,k1,a,Voici
c,2026-04-06T09:00:00Z,in,acme,email,u2,k2,,Mon colis ?
";
        let cfg = Config::default();
        import_csv(&mut s, "w", "o.csv", Kind::Messages, rows, false);
        let before = s.facts("w", &cfg, None, None).unwrap().sorted();
        assert_eq!(before.requests.len(), 2);
        // A strict import refused (its rows written, never committed), then every part merged:
        // the committed rows stay.
        let bad = format!("{rows}d,not a date,in,acme,email,u3,k3,,?\n");
        assert!(!import_csv(&mut s, "w", "o.csv", Kind::Messages, &bad, true).committed);
        for n in std::iter::once(&s.node).chain(&s.nodes) {
            let t = schema::local("row_versions", s.cluster.as_deref());
            n.exec(&format!("OPTIMIZE TABLE {}.{t} FINAL", n.database)).unwrap();
        }
        assert_eq!(s.rows("w").unwrap().0.len(), 3);
        assert_eq!(s.facts("w", &cfg, None, None).unwrap().sorted(), before);
        // A generation written by another layout, committed: its facts are elsewhere.
        let st = s.state("w").unwrap();
        let g = s.next_version(&st);
        let mut w = RowBinary::default();
        w.str("w").u64(g).str(&format!("{}; another layout", cfg.clock_fingerprint()));
        s.insert("generations", "workspace, generation, fingerprint", &w).unwrap();
        s.commit("w", g, "test", None).unwrap();
        assert_eq!(s.facts("w", &cfg, None, None).unwrap().sorted(), before);
        let t = s.table("w", &cfg, None, None).unwrap();
        assert_eq!(t.reqs.len(), 2);
        // The same rows again: nothing new, but the facts are written in this layout.
        let sum = import_csv(&mut s, "w", "o.csv", Kind::Messages, rows, false);
        assert_eq!(sum.unchanged, 3);
        let st = s.state("w").unwrap();
        assert_eq!(st.generation.as_ref().map(|(_, fp)| fp.clone()), Some(facts_key(&cfg)));
        assert_eq!(s.facts("w", &cfg, None, None).unwrap().sorted(), before);
        drop_dbs(&a);
    }

    /// Two imports of a workspace that start together (the same state read, the same
    /// microsecond or a clock behind its last version) take different versions above it.
    fn versions_apart(base: &str) {
        use barometre_core::ingest::Kind;
        let (a, mut s) = open_fresh(base);
        import_csv(&mut s, "w", "m.csv", Kind::Messages, crate::conformance::ROWS, false);
        let st = s.state("w").unwrap();
        let last = *st.versions.last().unwrap();
        let (one, two) = (s.next_version(&st), s.next_version(&st));
        assert!(one > last && two > last && one != two, "{last} {one} {two}");
        // A clock far behind the last version: one more, still apart.
        let behind = State { versions: vec![u64::MAX / 2], generation: None, unique: false };
        let (one, two) = (s.next_version(&behind), s.next_version(&behind));
        assert!(one > u64::MAX / 2 && two > u64::MAX / 2 && one != two);
        drop_dbs(&a);
    }

    /// Two imports of one workspace started together through two stores `open` makes (two
    /// processes or instances sharing a control plane): one waits for the other, both are
    /// taken, and the facts are those of every row.
    fn imports_together<S: crate::Store + Send>(base: &str, a: &Address, open: impl Fn() -> S + Sync) {
        use barometre_core::ingest::{Format, Kind, RecordReader};
        // Two files of other messages in the same conversations: facts missing either's rows differ.
        let file = |p: &str| {
            let mut out = String::from("message_id,created_at,direction,account,channel,author_id,conversation_id\n");
            for k in 0..200 {
                let (dir, who) = if p == "q" { ("in", format!("u{k}")) } else { ("out", "agent".to_string()) };
                let min = if p == "q" { 2 * k } else { 2 * k + 1 };
                out += &format!(
                    "{p}{k},2026-04-06T{:02}:{:02}:00Z,{dir},acme,chat,{who},c{}\n",
                    min / 60,
                    min % 60,
                    k % 50
                );
            }
            out
        };
        let (questions, answers) = (file("q"), file("a"));
        let import = |s: &mut S, name: &str, text: &str| {
            let mut r = RecordReader::new(name, Kind::Messages, Format::Csv, text.as_bytes());
            s.import("w", &Config::default(), false, &mut r, &mut ()).unwrap()
        };
        let sums = std::thread::scope(|sc| {
            let one = sc.spawn(|| import(&mut open(), "q.csv", &questions));
            let two = sc.spawn(|| import(&mut open(), "a.csv", &answers));
            [one.join().unwrap(), two.join().unwrap()]
        });
        assert!(sums.iter().all(|s| s.committed && s.inserted == 200), "both taken");
        let (b, mut whole) = open_fresh(base);
        import_csv(&mut whole, "w", "q.csv", Kind::Messages, &questions, false);
        import_csv(&mut whole, "w", "a.csv", Kind::Messages, &answers, false);
        let cfg = Config::default();
        let facts = open().facts("w", &cfg, None, None).unwrap();
        assert_eq!(facts.messages.len(), 400);
        assert_eq!(facts, whole.facts("w", &cfg, None, None).unwrap());
        drop_dbs(a);
        drop_dbs(&b);
    }

    /// Stores sharing an accounts' store (two processes of one machine).
    fn imports_together_on_one_machine(base: &str) {
        let a = fresh(base);
        let dir = tempfile::tempdir().unwrap();
        let accounts = dir.path().join("accounts.db");
        // Made before: two connections making a new SQLite file at once may find it locked.
        ClickHouseStore::open(&a, Box::new(crate::SqliteStore::open(&accounts).unwrap())).unwrap();
        imports_together(base, &a, || {
            ClickHouseStore::open(&a, Box::new(crate::SqliteStore::open(&accounts).unwrap())).unwrap()
        });
    }

    /// Instances with accounts' stores of their own, sharing a PostgreSQL control plane (two
    /// servers behind a load balancer).
    fn imports_together_through_postgresql(base: &str) {
        let Ok(url) = std::env::var("BAROMETRE_TEST_POSTGRES") else { return };
        let control = Arc::new(crate::pg::PgControlPlane::connect(&url).unwrap());
        let a = fresh(base);
        ClickHouseStore::open(&a, Box::new(crate::SqliteStore::memory().unwrap())).unwrap();
        imports_together(base, &a, || crate::Split {
            data: Box::new(ClickHouseStore::open(&a, Box::new(crate::SqliteStore::memory().unwrap())).unwrap()),
            control: control.clone(),
        });
    }

    /// A lock lost during an import (PostgreSQL restarted, the lock's connection cut): the
    /// import fails before its commit, saying so, and nothing of it is taken; imported again, it
    /// is. A label correction and a knowledge base alike.
    fn lock_lost(base: &str) {
        use barometre_core::ingest::{Format, Kind, RecordReader};
        let Ok(url) = std::env::var("BAROMETRE_TEST_POSTGRES") else { return };
        // A workspace of its own: its lock's number is this test's alone on a shared server.
        let ws = format!("lost-{}", version_salt());
        let control = Arc::new(crate::pg::PgControlPlane::connect(&url).unwrap());
        let a = fresh(base);
        let mut s = crate::Split {
            data: Box::new(ClickHouseStore::open(&a, Box::new(crate::SqliteStore::memory().unwrap())).unwrap()),
            control,
        };
        let first = "message_id,created_at,direction,account,channel,author_id,conversation_id\n\
                     q1,2026-04-06T08:00:00Z,in,acme,chat,u1,c1\n";
        let late = "message_id,created_at,direction,account,channel,author_id,conversation_id\n\
                    a1,2026-04-06T08:05:00Z,out,acme,chat,agent,c1\n";
        let import = |s: &mut crate::Split, text: &str, sink: &mut dyn ImportSink| {
            let mut r = RecordReader::new("m.csv", Kind::Messages, Format::Csv, text.as_bytes());
            s.import(&ws, &Config::default(), false, &mut r, sink)
        };
        assert!(import(&mut s, first, &mut ()).unwrap().committed);
        let before = (s.version(&ws).unwrap(), s.facts(&ws, &Config::default(), None, None).unwrap());
        /// Cuts the connection that holds the workspace's lock once the rows are written.
        struct Cut(String, i64, u64);
        impl ImportSink for Cut {
            fn phase(&mut self, done: &str) {
                // An import's rows written, or a correction's rows read back; once (an import
                // goes through both, and a backend terminated may still show its lock a moment).
                if self.2 == 0 && (done == crate::ROWS_STORED || done == "rows read back") {
                    let mut c = postgres::Client::connect(&self.0, postgres::NoTls).unwrap();
                    let (hi, lo) = (self.1 >> 32, self.1 & 0xffff_ffff);
                    let rows = c
                        .query(
                            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted \
                             AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1",
                            &[&hi, &lo],
                        )
                        .unwrap();
                    self.2 += rows.len() as u64;
                }
            }
        }
        let mut cut = Cut(url.clone(), crate::lock::key(&ws), 0);
        let e = import(&mut s, late, &mut cut).unwrap_err().to_string();
        assert_eq!(cut.2, 1, "one connection held the lock");
        assert!(e.contains("lock was lost") && e.contains("run it again"), "{e}");
        let after = (s.version(&ws).unwrap(), s.facts(&ws, &Config::default(), None, None).unwrap());
        assert_eq!(after, before, "nothing of it taken");
        // Imported again (a new connection takes the lock): taken.
        let sum = import(&mut s, late, &mut ()).unwrap();
        assert!(sum.committed && sum.inserted == 1);
        let f = s.facts(&ws, &Config::default(), None, None).unwrap();
        assert_eq!((f.messages.len(), f.requests[0].answer_id.as_deref()), (2, Some("a1")));
        // A label correction and a knowledge base alike: stopped, nothing taken, then taken.
        let cfg = Config::default();
        let v = s.version(&ws).unwrap();
        let label = Some(barometre_core::understand::Label::Complaint);
        let mut cut = Cut(url.clone(), crate::lock::key(&ws), 0);
        let e = s.correct_label_with(&ws, &cfg, "q1", label, Some("ana"), &mut cut).unwrap_err().to_string();
        assert!(cut.2 == 1 && e.contains("lock was lost"), "{e}");
        assert!(s.corrections(&ws).unwrap().is_empty() && s.version(&ws).unwrap() == v);
        assert!(s.correct_label(&ws, &cfg, "q1", label, Some("ana")).unwrap());
        assert_eq!(s.corrections(&ws).unwrap().len(), 1);
        let v = s.version(&ws).unwrap();
        let entries = [barometre_core::understand::faq::Entry::new("f1", "Ma box ne marche plus", "Redémarrez-la")];
        let mut cut = Cut(url.clone(), crate::lock::key(&ws), 0);
        let e = s.import_faq_with(&ws, &cfg, &entries, &mut cut).unwrap_err().to_string();
        assert!(cut.2 == 1 && e.contains("lock was lost"), "{e}");
        assert!(s.faq(&ws).unwrap().is_empty() && s.version(&ws).unwrap() == v);
        s.import_faq(&ws, &cfg, &entries).unwrap();
        assert_eq!(s.faq(&ws).unwrap(), entries);
        drop_dbs(&a);
    }

    #[test]
    fn a_lock_lost_during_an_import_a_label_or_a_knowledge_base_stops_it_before_its_commit() {
        on_each_target(lock_lost);
    }

    #[test]
    fn imports_of_one_workspace_started_together_are_both_taken_one_after_the_other() {
        on_each_target(imports_together_on_one_machine);
        on_each_target(imports_together_through_postgresql);
    }

    #[test]
    fn imports_that_start_together_take_different_versions() {
        on_each_target(versions_apart);
    }

    #[test]
    fn facts_of_another_layout_are_computed_from_the_rows_then_written_anew() {
        on_each_target(facts_of_another_layout);
    }

    #[test]
    fn several_import_workers_give_what_one_gives() {
        on_each_target(workers_import_as_one);
    }

    #[test]
    fn summaries_over_whole_days_read_the_daily_rollup_and_give_the_same_bytes() {
        on_each_target(rolled_up);
    }

    #[test]
    fn rows_imported_again_with_changes_count_in_their_last_version() {
        on_each_target(changed_again);
    }

    #[test]
    fn a_file_imported_again_writes_no_row_and_a_later_duplicate_is_refused() {
        on_each_target(imported_again);
    }

    #[test]
    fn messages_written_before_schema_5_are_read_from_their_json() {
        on_each_target(json_rows_of_before);
    }

    #[test]
    fn a_schema_4_database_gains_the_columns_of_versions_5_and_6_once() {
        on_each_target(upgraded_to_6);
    }

    #[test]
    fn pushed_down_figures_equal_the_reports_on_one_server_and_a_cluster() {
        on_each_target(pushed_down);
    }

    #[test]
    fn conformance_on_one_clickhouse_server() {
        run("BAROMETRE_TEST_CLICKHOUSE");
    }

    #[test]
    fn conformance_on_a_two_shard_clickhouse_cluster() {
        run("BAROMETRE_TEST_CLICKHOUSE_CLUSTER");
    }

    #[test]
    fn late_rows_and_labels_compute_their_conversations_alone_and_give_a_whole_computations_facts() {
        on_each_target(patched);
    }

    #[test]
    fn facts_of_an_older_binary_or_of_rows_in_another_order_are_computed_whole() {
        on_each_target(unpatchable);
    }

    #[test]
    fn nodes_copy_their_own_rows_only_when_the_nodes_named_are_the_clusters_shards() {
        on_each_target(shards_named);
    }

    #[test]
    fn a_patch_writes_the_requests_and_daily_rollup_a_whole_computation_writes() {
        on_each_target(patched_requests_and_rollup);
    }
}
