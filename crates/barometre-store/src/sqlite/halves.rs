//! A canonical CSV file of messages imported into an empty workspace on two cores: each half of
//! the file is read, checked, encoded into row chunks and gathered into the clock's input on a
//! core of its own, while this thread writes the chunks as they come. The same rows, refusals
//! and facts as the one-reader import ([`DataStore::import`](crate::DataStore::import)); what
//! that import learns from its id table as it goes (a repeated id) is learnt here once both
//! halves are read, from the clock's input, and the repeats' rows are then marked dead.

use super::SqliteStore;
use super::{begin_import, holds_nothing, mark_dead, write_facts, Reread};
use crate::rows;
use crate::DataStore;
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
use std::path::Path;
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

/// The number of the second half's first chunk of rows: past any the first half takes (a chunk
/// holds thousands of rows).
const SECOND_HALF_SEQ: u32 = 1 << 30;

/// Refused rows of the second half held while the first half is read (refusals are said in
/// the file's order): past these, the second half waits.
const HELD_ERRORS: usize = if cfg!(test) { 3 } else { 10_000 };

/// One half being read.
struct Half<'a> {
    half: usize,
    cfg: &'a Config,
    src: i64,
    /// Lines before this half's rows that its reader does not count (`Err`: they could not be
    /// counted, and this half reads nothing).
    shift: std::io::Result<u64>,
    bulk: Bulk,
    enc: rows::Encoder,
    /// The first row of each chunk sent.
    starts: Vec<u32>,
    rows: u32,
    unattached: u64,
    /// The id's column (one per file), once a message is read.
    column: Option<u64>,
    out: SyncSender<Msg>,
    /// The second half's refusals while the first half is read, and where the first stands.
    held: Option<(SyncSender<RowError>, &'a AtomicU8)>,
    stopped: bool,
    /// Whether `Done` was sent.
    done: bool,
}

impl Drop for Half<'_> {
    /// A half dropped unread to its end (its reader panicked) still says it is done: the writer,
    /// and a second half waiting for the first, never wait for it.
    fn drop(&mut self) {
        if !self.done {
            let _ = self.out.send(Msg::Done { half: self.half, held: false });
        }
    }
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
        let Ok(shift) = self.shift else { return false };
        if self.first_state() == MISSED {
            return false;
        }
        if ingest::unattached(m) {
            self.unattached += 1;
        }
        let tf = clock::text_facts(m, self.cfg);
        self.bulk.push_read(m, &tf);
        self.column = Some(column);
        if self.enc.is_empty() {
            self.starts.push(self.rows);
        }
        self.rows += 1;
        if self.enc.push(m, &tf, m.fingerprint(), self.src, line + shift) {
            self.send_chunk();
        }
        !self.stopped
    }

    fn error(&mut self, mut e: RowError) -> bool {
        let Ok(shift) = self.shift else { return false };
        e.line += shift;
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
        self.done = true;
        let _ = self.out.send(Msg::Done { half: self.half, held: at_cut });
    }
}

impl SqliteStore {
    /// [`DataStore::import_in_halves`] into a store file that does not exist yet, the first
    /// import of a large export: the file is built beside `path` with no journal (nothing in it
    /// to keep safe: it is new, and no one else sees it), synced once, then linked into place —
    /// half the bytes written, and no log synced (a million messages: 1.22 s → 0.94 s, median of
    /// 7). `None`, with nothing done: `path` exists, is not a plain file name, its folder's file
    /// system has no hard links, or the file takes the one-reader import. Another process that makes `path` meanwhile wins: this import then
    /// fails, its rows said, nothing placed.
    #[allow(clippy::too_many_arguments)]
    pub fn import_new(
        path: &Path,
        ws: &str,
        cfg: &Config,
        strict: bool,
        input: &Input,
        at: (u64, u64),
        progress: &(dyn Fn(u64) + Sync),
        sink: &mut dyn ImportSink,
    ) -> Result<Option<ImportSummary>, StoreError> {
        let plain = path.to_str().is_some_and(|p| p != ":memory:" && !p.starts_with("file:"));
        // A dangling link exists too: only a name that holds nothing is new.
        if !plain || std::fs::symlink_metadata(path).is_ok() {
            return Ok(None);
        }
        let Some(aside) = Aside::make(path) else { return Ok(None) };
        // The file is placed by a hard link, which never replaces a file made meanwhile: a file
        // system without them (FAT, some network mounts) takes the usual import, before anything
        // is read.
        let probe = aside.path.with_extension("importing-link");
        let linked = std::fs::hard_link(&aside.path, &probe).is_ok();
        let _ = std::fs::remove_file(&probe);
        if !linked {
            return Ok(None);
        }
        let io = |e: std::io::Error| StoreError::Backend {
            engine: "SQLite",
            message: format!("{}: {e}", aside.path.display()),
        };
        let built = (|| {
            let mut s = Self::setup(Connection::open(&aside.path)?, false)?;
            // Opened before the connection and closed after it (see `SqliteStore::aside`).
            let file = std::fs::File::open(&aside.path).map(Arc::new).ok();
            s.aside = file.clone();
            let sum = s.import_in_halves(ws, cfg, strict, input, at, progress, sink)?;
            if sum.as_ref().is_some_and(|s| s.committed) {
                // The file says how it is opened from now on: with its write-ahead log.
                s.conn.execute_batch("PRAGMA journal_mode = WAL;")?;
            }
            s.conn.close().map_err(|(_, e)| StoreError::from(e))?;
            drop(file);
            Ok::<_, StoreError>(sum)
        })();
        match built? {
            Some(sum) if sum.committed => {
                std::fs::File::open(&aside.path).and_then(|f| f.sync_all()).map_err(io)?;
                match std::fs::hard_link(&aside.path, path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        return Err(StoreError::Backend {
                            engine: "SQLite",
                            message: format!(
                                "{} was made by another process during this import: nothing was placed, import again",
                                path.display()
                            ),
                        });
                    }
                    Err(e) => return Err(io(e)),
                }
                // The new name made durable, where the file system lets a folder be synced.
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
                let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
                Ok(Some(sum))
            }
            // Strict mode refused a row: the file is dropped (a rollback means nothing without a
            // journal), and an empty store made, as the one-reader import leaves it.
            Some(sum) => Self::open(path).map(|_| Some(sum)),
            None => Ok(None),
        }
    }
}

/// The file a new store is built in, beside its place: named after this process and made here
/// (no other call can have it), removed with its log files when dropped. Ones that processes
/// no longer running left behind (killed mid-import) are removed when the next is made.
struct Aside {
    path: std::path::PathBuf,
}

impl Aside {
    fn make(path: &Path) -> Option<Aside> {
        use std::sync::atomic::AtomicU64;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = path.file_name()?.to_string_lossy().into_owned();
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let prefix = format!(".{name}.");
        // Without /proc, no process can be told gone: nothing is removed.
        if Path::new("/proc/self").exists() {
            for e in std::fs::read_dir(dir).ok()?.flatten() {
                let f = e.file_name().to_string_lossy().into_owned();
                if let Some(pid) = aside_pid(&f, &prefix) {
                    if !Path::new("/proc").join(pid).exists() {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
            }
        }
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let path = dir.join(format!("{prefix}{}-{nanos}-{n}.importing", std::process::id()));
        std::fs::OpenOptions::new().write(true).create_new(true).open(&path).ok()?;
        Some(Aside { path })
    }
}

/// The process that made the side file `f` of the store whose side files start with `prefix`:
/// `PREFIX{pid}-{nanos}-{n}.importing` and its log files, every field digits (a sibling store
/// named `NAME.2024-01-01` has side files of its own, never taken for these).
fn aside_pid<'f>(f: &'f str, prefix: &str) -> Option<&'f str> {
    let rest = f.strip_prefix(prefix)?;
    let stem = [".importing", ".importing-wal", ".importing-shm", ".importing-journal", ".importing-link"]
        .iter()
        .find_map(|end| rest.strip_suffix(end))?;
    let fields: Vec<&str> = stem.split('-').collect();
    let digits = |x: &&str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    (fields.len() == 3 && fields.iter().all(digits)).then(|| fields[0])
}

impl Drop for Aside {
    fn drop(&mut self) {
        for end in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{end}", self.path.display()));
        }
    }
}

/// Imports `input` into `ws` if the workspace is empty; `None` (nothing done) otherwise.
/// `aside`: the file of a store built aside, synced as the import goes ([`Flusher`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn import(
    conn: &mut Connection,
    aside: Option<Arc<std::fs::File>>,
    ws: &str,
    cfg: &Config,
    strict: bool,
    input: &Input,
    (header_end, cut): (u64, u64),
    progress: &(dyn Fn(u64) + Sync),
    sink: &mut dyn ImportSink,
) -> Result<Option<ImportSummary>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !holds_nothing(&tx, ws)? {
        return Ok(None);
    }
    let (import_id, stale) = begin_import(&tx, ws, cfg)?;
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
            let shift = if room.first { Ok(0) } else { oneshot::lines_before(input, header_end, cut) };
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
                column: None,
                out: out.clone(),
                held: (!room.first).then(|| (wait.clone(), first)),
                stopped: false,
                done: false,
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
    sink.note(&format!("{}: cut at byte {cut} {}", input.name, if parts.held { "held" } else { "missed" }));
    sink.phase(crate::ROWS_STORED);
    let flushing = Flusher::start(aside);
    let (mut a, mut b) = (parts.first, parts.second);
    if parts.held {
        // The second half's lines could not be counted, or were counted otherwise than its reader
        // counts them: nothing is kept, and one reader takes the file.
        if !matches!(&b.shift, Ok(n) if *n == parts.lines) {
            tx.rollback()?;
            return Ok(None);
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
        a.bulk.append(std::mem::take(&mut b.bulk));
    }
    let (inp, dups) = std::mem::take(&mut a.bulk).finish();
    // A repeated id: the first row read stays; a repeat with the same content is unchanged, one
    // with other content refused naming both places. Either is marked dead where it is stored.
    let place = |row: u32| {
        let (start, seq) = places[places.partition_point(|p| p.0 <= row) - 1];
        (seq, row - start)
    };
    let mut dead: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut reread = Reread::default();
    let mut refused = 0u64;
    let column = a.column.or(b.column).unwrap_or(1);
    for &(row, first, _) in &dups {
        let ((seq, idx), (fseq, fidx)) = (place(row), place(first));
        let (m, line) = reread.row(&tx, ws, seq, idx, |r| (r.message(), r.line))?;
        let (same, first_line) = reread.row(&tx, ws, fseq, fidx, |r| (r.is(&m), r.line))?;
        if same {
            sum.unchanged += 1;
        } else {
            refused += 1;
            let reason = ingest::duplicate_id("message_id", &m.message_id, &input.name, first_line);
            sum.reject_in_line_order(RowError { file: input.name.to_string(), line, column, reason }, sink);
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
    drop(flushing);
    sum.committed = true;
    Ok(Some(sum))
}

/// Sends the pages of a store built aside to the disk as they are written, from another
/// thread, until dropped. Why: the system keeps written pages in memory for half a minute
/// before writing them, so the store's final sync wrote all of a million messages' 150 MB at
/// once: 0.16 s of waiting. Synced every 30 ms from the end of the rows on, while the
/// processors compute and write the facts, the pages left for it took 0.03 s (2026-12-03).
///
/// Only for a store built aside (no journal, no other connection): a store in use keeps its
/// new pages in its write-ahead log, and its file's handles are SQLite's alone (closing another
/// handle of the file would drop SQLite's locks on it).
struct Flusher {
    stop: Option<SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flusher {
    /// Starts syncing `file` (nothing without one).
    fn start(file: Option<Arc<std::fs::File>>) -> Flusher {
        let Some(file) = file else { return Flusher { stop: None, thread: None } };
        let (stop, stopped) = sync_channel::<()>(0);
        let thread = std::thread::spawn(move || {
            // A failed sync changes nothing: the store is synced whole once placed.
            while file.sync_data().is_ok()
                && stopped.recv_timeout(std::time::Duration::from_millis(30))
                    == Err(std::sync::mpsc::RecvTimeoutError::Timeout)
            {}
        });
        Flusher { stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread at once.
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
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
    // Each half's chunks numbered in its reading order, the second's after every number the
    // first can take: the file's order, the order the facts are computed in. Rows read back
    // later (an import that appends, `sqlite::patch`) must come in that order, or names would be
    // numbered otherwise than in the facts kept. (Numbered as they came, in turns, then again
    // in order, two updates rewrote every chunk: 60-70 ms of a million messages' import.)
    let mut next_seq = [0u32, SECOND_HALF_SEQ];
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
                put.execute(params![ws, next_seq[half], n, keys, data])?;
                seqs[half].push(next_seq[half]);
                next_seq[half] += 1;
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
    use crate::conformance::Said;
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
        crate::conformance::same_rows_and_facts(&s, &mem, "w", &cfg);
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

    /// Rows read back after an import in halves come in the file's order, the order its facts
    /// were computed in: messages appended later keep every name's number (distinct customers
    /// counted alike) as after one reader's import.
    #[test]
    fn messages_appended_after_an_import_in_halves_find_the_numbers_of_one_readers_import() {
        use barometre_core::ingest::{Format, Kind, RecordReader};
        let cfg = Config::default();
        let (data, cut, _) = crate::conformance::halves_file();
        let header_end = data.find('\n').unwrap() as u64 + 1;
        let input = Input::bytes("t.csv", data.as_bytes().to_vec());
        let mut halves = SqliteStore::memory().unwrap();
        halves.import_in_halves("w", &cfg, false, &input, (header_end, cut), &|_| {}, &mut ()).unwrap().unwrap();
        let seqs: Vec<i64> = halves
            .conn
            .prepare("SELECT seq FROM message_chunks ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        // Each half's chunks in its order, the second's after the first's.
        let k = seqs.iter().filter(|&&s| s < i64::from(super::SECOND_HALF_SEQ)).count();
        let second = i64::from(super::SECOND_HALF_SEQ);
        let want: Vec<i64> = (0..k as i64).chain(second..second + (seqs.len() - k) as i64).collect();
        assert!(k > 0 && k < seqs.len(), "both halves hold chunks: {seqs:?}");
        assert_eq!(seqs, want);
        let mut one = SqliteStore::memory().unwrap();
        let mut r = RecordReader::new("t.csv", Kind::Messages, Format::Csv, data.as_bytes());
        one.import("w", &cfg, false, &mut r, &mut ()).unwrap();
        let late = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to,text\r\n\
                    z1,2026-04-06T12:00:00Z,in,acme,chat,u-new,k3,,Encore\r\n\
                    z2,2026-04-06T12:05:00Z,out,acme,chat,agent9,k3,z1,Voici\r\n\
                    z3,2026-04-06T12:06:00Z,in,bolt,email,u7,k50,,Et moi\r\n";
        for s in [&mut halves, &mut one] {
            let mut r = RecordReader::new("late.csv", Kind::Messages, Format::Csv, late.as_bytes());
            assert_eq!(s.import("w", &cfg, false, &mut r, &mut ()).unwrap().inserted, 3);
        }
        assert_eq!(halves.table("w", &cfg, None, None).unwrap(), one.table("w", &cfg, None, None).unwrap());
        crate::conformance::same_rows_and_facts(&halves, &one, "w", &cfg);
    }

    #[test]
    fn refusals_are_said_in_the_files_order_past_those_the_second_half_holds() {
        let cfg = Config::default();
        // Rows 1..=40; 4 bad rows in the first half, 10 in the second (more than it holds while
        // the first is read: it waits), none in a workspace that another one's rows share.
        let mut rows = vec!["message_id,created_at,direction,account,channel,author_id".to_string()];
        for i in 1..=40 {
            let bad = (5..=8).contains(&i) || (25..=34).contains(&i);
            let at = if bad { "nope".to_string() } else { format!("2026-04-06T08:{i:02}:00Z") };
            rows.push(format!("m{i},{at},in,acme,chat,u{i}"));
        }
        let data = rows.join("\n") + "\n";
        let cut: u64 = rows[..21].iter().map(|r| r.len() as u64 + 1).sum();
        let header_end = rows[0].len() as u64 + 1;
        let input = Input::bytes("t.csv", data.as_bytes().to_vec());
        let mut s = SqliteStore::memory().unwrap();
        let mut r = barometre_core::ingest::RecordReader::new(
            "o.csv",
            barometre_core::ingest::Kind::Messages,
            barometre_core::ingest::Format::Csv,
            data.as_bytes(),
        );
        s.import("other", &cfg, false, &mut r, &mut ()).unwrap();
        let mut said = Said(Vec::new());
        let sum = s.import_in_halves("w", &cfg, false, &input, (header_end, cut), &|_| {}, &mut said).unwrap().unwrap();
        assert_eq!((sum.rows, sum.inserted, sum.rejected_count), (26, 26, 14));
        let lines: Vec<&str> = said.0.iter().map(|e| e.split(": ").next().unwrap_or_default()).collect();
        let want: Vec<String> = [5, 6, 7, 8].into_iter().chain(25..=34).map(|i| format!("t.csv:{}:2", i + 1)).collect();
        assert_eq!(lines, want);
        assert_eq!(s.rows("w").unwrap().0.len(), 26);
        assert_eq!(s.rows("other").unwrap().0.len(), 26);
    }

    #[test]
    fn the_refused_rows_kept_are_the_files_first_ones_as_one_reader_keeps_them() {
        let cfg = Config::default();
        // m1 repeated with other content on line 3, then more bad rows than a summary keeps.
        let mut rows = vec!["message_id,created_at,direction,account,channel,author_id".to_string()];
        rows.push("m1,2026-04-06T08:00:00Z,in,acme,chat,u1".into());
        rows.push("m1,2026-04-06T08:00:00Z,in,acme,chat,u2".into());
        for i in 0..crate::REJECTED_KEPT + 5 {
            rows.push(format!("b{i},nope,in,acme,chat,u{i}"));
        }
        rows.push("m2,2026-04-06T09:00:00Z,in,acme,chat,u2".into());
        let data = rows.join("\n") + "\n";
        let cut: u64 = rows[..rows.len() / 2].iter().map(|r| r.len() as u64 + 1).sum();
        let header_end = rows[0].len() as u64 + 1;
        let input = Input::bytes("t.csv", data.as_bytes().to_vec());
        let mut halves = SqliteStore::memory().unwrap();
        let got =
            halves.import_in_halves("w", &cfg, false, &input, (header_end, cut), &|_| {}, &mut ()).unwrap().unwrap();
        let mut whole = SqliteStore::memory().unwrap();
        let mut r = barometre_core::ingest::RecordReader::new(
            "t.csv",
            barometre_core::ingest::Kind::Messages,
            barometre_core::ingest::Format::Csv,
            data.as_bytes(),
        );
        let want = whole.import("w", &cfg, false, &mut r, &mut ()).unwrap();
        assert_eq!(want.rejected_count, crate::REJECTED_KEPT as u64 + 6);
        assert_eq!((want.rejected.len(), want.rejected[0].line, want.rejected[1].line), (crate::REJECTED_KEPT, 3, 4));
        assert_eq!(got, want);
    }

    #[test]
    fn only_side_files_of_this_stores_name_are_taken_for_one() {
        let p = ".b.db.";
        assert_eq!(super::aside_pid(".b.db.123-456-0.importing", p), Some("123"));
        assert_eq!(super::aside_pid(".b.db.123-456-0.importing-wal", p), Some("123"));
        assert_eq!(super::aside_pid(".b.db.123-456-0.importing-link", p), Some("123"));
        // A sibling store's (`b.db.2024-01-01`), a name cut short, another file.
        assert_eq!(super::aside_pid(".b.db.2024-01-01.9-8-7.importing", p), None);
        assert_eq!(super::aside_pid(".b.db.123-456.importing", p), None);
        assert_eq!(super::aside_pid(".b.db.123-456-0.importing.bak", p), None);
        assert_eq!(super::aside_pid("b.db", p), None);
    }
}
