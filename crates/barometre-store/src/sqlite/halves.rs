//! A canonical CSV file of messages imported into an empty workspace on two cores: each half of
//! the file is read, checked, encoded into row chunks and gathered into the clock's input on a
//! core of its own, while this thread writes the chunks as they come. The same rows, refusals
//! and facts as the one-reader import ([`DataStore::import`](crate::DataStore::import)); what
//! that import learns from its id table as it goes (a repeated id) is learnt here once both
//! halves are read, from the clock's input, and the repeats' rows are then marked dead.

use super::{mark_dead, now_ms, self_fingerprint, write_facts, Reread};
use crate::rows;
use crate::{ImportSink, ImportSummary, StoreError};
use barometre_core::clock;
use barometre_core::config::Config;
use barometre_core::engine::Bulk;
use barometre_core::ingest::source::Input;
use barometre_core::ingest::{self, RowError};
use barometre_core::model::Message;
use barometre_core::oneshot::{self, Part, Room};
use rusqlite::{params, Connection, TransactionBehavior};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

/// What a reading half sends the writing thread.
enum Msg {
    /// A chunk of rows (its count, keys and data), in the half's reading order.
    Chunk { half: usize, n: usize, keys: Vec<u8>, data: Vec<u8> },
    /// A refused row of the first half, or of the second once the first is read.
    Error(RowError),
    /// The half is read; for the first, whether it stopped at the cut (the second half's rows
    /// are then the file's).
    Done { half: usize, held: bool },
}

/// Where the first half stands, as the second half sees it.
const READING: u8 = 0;
const HELD: u8 = 1;
const MISSED: u8 = 2;

/// Refused rows of the second half held while the first half is read (refusals are said in
/// the file's order): past these, the second half waits.
const HELD_ERRORS: usize = 10_000;

/// One half being read.
struct Half<'a> {
    half: usize,
    cfg: &'a Config,
    src: i64,
    /// Lines before this half's rows that its reader does not count.
    shift: u64,
    bulk: Bulk,
    enc: rows::Encoder,
    /// The first row of each chunk sent.
    starts: Vec<u32>,
    rows: u32,
    unattached: u64,
    /// The id's column (one per file).
    column: u64,
    out: SyncSender<Msg>,
    /// The second half's refusals while the first half is read, and where the first stands.
    held: Option<(SyncSender<RowError>, &'a AtomicU8)>,
    stopped: bool,
}

impl Half<'_> {
    fn send_chunk(&mut self) {
        let (n, keys, data) = self.enc.take();
        // The next chunk is about as large as this one: room made once, not grown.
        self.enc.reserve(keys.len(), data.len());
        self.stopped |= self.out.send(Msg::Chunk { half: self.half, n, keys, data }).is_err();
    }

    fn first_state(&self) -> u8 {
        self.held.as_ref().map_or(HELD, |(_, s)| s.load(Ordering::Acquire))
    }
}

impl Part for Half<'_> {
    fn message(&mut self, m: &Message, _file: &Arc<str>, line: u64, column: u64) -> bool {
        if self.first_state() == MISSED {
            return false;
        }
        if ingest::unattached(m) {
            self.unattached += 1;
        }
        let tf = clock::text_facts(m, self.cfg);
        self.bulk.push_read(m, &tf);
        self.column = column;
        if self.enc.is_empty() {
            self.starts.push(self.rows);
        }
        self.rows += 1;
        if self.enc.push(m, &tf, m.fingerprint(), self.src, line + self.shift) {
            self.send_chunk();
        }
        !self.stopped
    }

    fn error(&mut self, mut e: RowError) -> bool {
        e.line += self.shift;
        let sent = match (&self.held, self.first_state()) {
            (_, MISSED) => return false,
            (Some((wait, _)), READING) => wait.send(e).is_ok(),
            _ => self.out.send(Msg::Error(e)).is_ok(),
        };
        self.stopped |= !sent;
        !self.stopped
    }

    fn finish(&mut self, at_cut: bool) {
        if !self.enc.is_empty() {
            self.send_chunk();
        }
        let _ = self.out.send(Msg::Done { half: self.half, held: at_cut });
    }
}

/// Imports `input` into `ws` if the workspace is empty; `None` (nothing done) otherwise.
#[allow(clippy::too_many_arguments)]
pub(super) fn import(
    conn: &mut Connection,
    ws: &str,
    cfg: &Config,
    strict: bool,
    input: &Input,
    (header_end, cut): (u64, u64),
    progress: &(dyn Fn(u64) + Sync),
    sink: &mut dyn ImportSink,
) -> Result<Option<ImportSummary>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let empty: bool = tx.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM message_chunks WHERE workspace = ?1) AND NOT EXISTS (SELECT 1 FROM conversation_events WHERE workspace = ?1)",
        [ws],
        |r| r.get(0),
    )?;
    if !empty {
        return Ok(None);
    }
    tx.execute("INSERT OR IGNORE INTO workspaces (name, created_ms) VALUES (?, ?)", params![ws, now_ms()])?;
    tx.execute("INSERT INTO imports (workspace, started_ms) VALUES (?, ?)", params![ws, now_ms()])?;
    let import_id = tx.last_insert_rowid();
    let stale = self_fingerprint(&tx, ws)?.as_deref() != Some(cfg.clock_fingerprint().as_str());
    tx.execute("INSERT INTO sources (import_id, file) VALUES (?, ?)", params![import_id, &*input.name])?;
    let src = tx.last_insert_rowid();
    let mut sum = ImportSummary::default();
    // Chunk `k` of half `h` is stored as `seqs[h][k]`.
    let mut seqs: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
    let first = AtomicU8::new(READING);
    let (out, rx) = sync_channel::<Msg>(8);
    let (wait, waiting) = sync_channel::<RowError>(HELD_ERRORS);
    let parts = std::thread::scope(|sc| -> Result<_, StoreError> {
        let (first, out) = (&first, out);
        let make = move |room: Room| -> Half<'_> {
            let half = usize::from(!room.first);
            let mut bulk = Bulk::default();
            bulk.reserve(room.rows, room.bytes as usize / 2);
            // The second half's lines start after the first's; an unreadable file is said by
            // the first half.
            let shift = if room.first { 0 } else { oneshot::lines_before(input, header_end, cut).unwrap_or(0) };
            Half {
                half,
                cfg,
                src,
                shift,
                bulk,
                enc: rows::Encoder::default(),
                starts: Vec::new(),
                rows: 0,
                unattached: 0,
                column: 1,
                out: out.clone(),
                held: (!room.first).then(|| (wait.clone(), first)),
                stopped: false,
            }
        };
        let reading = sc.spawn(move || oneshot::read_parts(input, header_end, cut, make, progress));
        let wrote = write(&tx, ws, &rx, &waiting, first, &mut seqs, &mut sum, sink);
        // A writer that failed stops the readers: their next send finds no one.
        drop((rx, waiting));
        let parts = reading.join().expect("the reading threads do not panic");
        wrote?;
        Ok(parts)
    })?;
    // The file could not be opened where it is cut (its rows, once reading starts, fail as rows):
    // nothing was read; the one-reader import says what is wrong with it.
    let Ok(parts) = parts else {
        tx.rollback()?;
        return Ok(None);
    };
    sink.phase(crate::ROWS_STORED);
    let (mut a, b) = (parts.first, parts.second);
    if parts.held {
        if b.shift != parts.lines {
            return Err(StoreError::Corrupt(format!(
                "{}: the second half's lines were counted as {} after the first's, its reader says {}",
                input.name, b.shift, parts.lines
            )));
        }
    } else {
        let mut drop = tx.prepare_cached("DELETE FROM message_chunks WHERE workspace = ? AND seq = ?")?;
        for &s in &seqs[1] {
            drop.execute(params![ws, s])?;
        }
    }
    // Each chunk's first row in the file's order, and where it is stored.
    let mut places: Vec<(u32, u32)> = a.starts.iter().copied().zip(seqs[0].iter().copied()).collect();
    let mut valid = u64::from(a.rows);
    sum.unattached = a.unattached;
    if parts.held {
        places.extend(b.starts.iter().map(|&r| r + a.rows).zip(seqs[1].iter().copied()));
        valid += u64::from(b.rows);
        sum.unattached += b.unattached;
        a.bulk.append(b.bulk);
    }
    let (inp, dups) = a.bulk.finish();
    // A repeated id: the first row read stays; a repeat with the same content is unchanged, one
    // with other content refused naming both places. Either is marked dead where it is stored.
    let place = |row: u32| {
        let (start, seq) = places[places.partition_point(|p| p.0 <= row) - 1];
        (seq, row - start)
    };
    let mut dead: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut reread = Reread::default();
    let mut refused = 0u64;
    for &(row, first, _) in &dups {
        let ((seq, idx), (fseq, fidx)) = (place(row), place(first));
        let (m, line) = reread.row(&tx, ws, seq, idx, |r| (r.message(), r.line))?;
        let (same, first_line) = reread.row(&tx, ws, fseq, fidx, |r| (r.is(&m), r.line))?;
        if same {
            sum.unchanged += 1;
        } else {
            refused += 1;
            let reason = ingest::duplicate_id("message_id", &m.message_id, &input.name, first_line);
            sum.reject(RowError { file: input.name.to_string(), line, column: a.column, reason }, sink);
        }
        dead.entry(seq).or_default().push(idx);
    }
    drop(reread);
    sum.rows = valid - refused;
    sum.inserted = valid - dups.len() as u64;
    if strict && sum.rejected_count > 0 {
        tx.rollback()?;
        return Ok(Some(sum));
    }
    if !dead.is_empty() {
        mark_dead(&tx, ws, &dead)?;
    }
    if sum.inserted > 0 || stale {
        write_facts(&tx, ws, cfg, &inp)?;
        sink.phase("facts computed and stored");
    }
    tx.commit()?;
    sink.phase("committed");
    sum.committed = true;
    Ok(Some(sum))
}

/// Writes the halves' chunks as they come and hands their refusals to `sink`, the second half's
/// once the first half is read and its cut held. Returns once both halves are read.
#[allow(clippy::too_many_arguments)]
fn write(
    tx: &rusqlite::Transaction,
    ws: &str,
    rx: &Receiver<Msg>,
    waiting: &Receiver<RowError>,
    first: &AtomicU8,
    seqs: &mut [Vec<u32>; 2],
    sum: &mut ImportSummary,
    sink: &mut dyn ImportSink,
) -> Result<(), StoreError> {
    let mut put =
        tx.prepare_cached("INSERT INTO message_chunks (workspace, seq, n, keys, data) VALUES (?, ?, ?, ?, ?)")?;
    let mut next_seq = 0u32;
    let mut done = [false; 2];
    // Whether the first half is read, and then whether its cut held.
    let mut first_read: Option<bool> = None;
    // The second half's refusals held so far: said once the cut held, else dropped with its rows
    // (a missed cut means that half read from inside a quoted cell).
    let said = |sum: &mut ImportSummary, sink: &mut dyn ImportSink, held: bool| {
        while let Ok(e) = waiting.try_recv() {
            if held {
                sum.reject(e, sink);
            }
        }
    };
    while !(done[0] && done[1]) {
        let Ok(msg) = rx.recv() else {
            // A reading thread ended without saying so: it panicked, and the join says why.
            return Ok(());
        };
        // The second half's refusals sent before this message come first.
        if let Some(held) = first_read {
            said(sum, sink, held);
        }
        match msg {
            Msg::Chunk { half, n, keys, data } => {
                put.execute(params![ws, next_seq, n, keys, data])?;
                seqs[half].push(next_seq);
                next_seq += 1;
            }
            Msg::Error(e) => sum.reject(e, sink),
            Msg::Done { half: 0, held } => {
                done[0] = true;
                first_read = Some(held);
                first.store(if held { HELD } else { MISSED }, Ordering::Release);
                // Past this, the second half sends at most one more refusal the wait: it is
                // never blocked behind a full wait while this thread waits for it.
                said(sum, sink, held);
            }
            Msg::Done { .. } => done[1] = true,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{DataStore, SqliteStore};
    use barometre_core::config::Config;
    use barometre_core::ingest::source::Input;

    fn listing(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_new_store_file_is_built_aside_and_placed_with_its_log_only_when_written() {
        let cfg = Config::default();
        let (data, cut, _) = crate::conformance::halves_file();
        let header_end = data.find('\n').unwrap() as u64 + 1;
        let input = Input::bytes("t.csv", data.as_bytes().to_vec());
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("b.db");
        let sum = SqliteStore::import_new(&path, "w", &cfg, false, &input, (header_end, cut), &|_| {}, &mut ())
            .unwrap()
            .unwrap();
        assert_eq!((sum.inserted, sum.unchanged, sum.rejected_count, sum.committed), (173, 3, 4, true));
        // Nothing left beside it once closed, and it opens as any store does: with its log.
        assert_eq!(listing(d.path()), ["b.db"]);
        let s = SqliteStore::open(&path).unwrap();
        let mode: String = s.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        let ok: String = s.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!((mode.as_str(), ok.as_str()), ("wal", "ok"));
        let mut mem = SqliteStore::memory().unwrap();
        mem.import_in_halves("w", &cfg, false, &input, (header_end, cut), &|_| {}, &mut ()).unwrap().unwrap();
        let rows = |s: &SqliteStore| {
            let mut m = s.rows("w").unwrap().0;
            m.sort_by(|a, b| a.message_id.cmp(&b.message_id));
            m
        };
        assert_eq!(rows(&s), rows(&mem));
        assert_eq!(
            s.facts("w", &cfg, None, None).unwrap().sorted(),
            mem.facts("w", &cfg, None, None).unwrap().sorted()
        );
        drop(s);
        // A file that came to exist meanwhile is left as it is: the caller imports into it.
        let other = d.path().join("o.db");
        drop(SqliteStore::open(&other).unwrap());
        let before = std::fs::read(&other).unwrap();
        let none = SqliteStore::import_new(&other, "w", &cfg, false, &input, (header_end, cut), &|_| {}, &mut ());
        assert!(none.unwrap().is_none());
        assert_eq!(std::fs::read(&other).unwrap(), before);
        assert_eq!(listing(d.path()), ["b.db", "o.db"]);
        // Strict mode and a bad row: nothing taken, an empty store made, as usual.
        let strict = d.path().join("s.db");
        let sum = SqliteStore::import_new(&strict, "w", &cfg, true, &input, (header_end, cut), &|_| {}, &mut ())
            .unwrap()
            .unwrap();
        assert!(!sum.committed);
        assert!(SqliteStore::open(&strict).unwrap().rows("w").unwrap().0.is_empty());
        assert_eq!(listing(d.path()), ["b.db", "o.db", "s.db"]);
    }
}
