//! What the clock reads in a message's text and kind: thanks that are no request, rows that call
//! for no action, agent signatures.

use crate::config::Config;
use crate::model::{Direction, Message, TextFacts};

pub use crate::words::is_bare_thanks;
use crate::words::NOT_ACTIONABLE_KINDS;

/// What the clock reads in a message's text (or what a store kept of it).
pub fn text_facts(m: &Message, cfg: &Config) -> TextFacts {
    if let Some(d) = m.derived {
        return d;
    }
    TextFacts {
        signed: match (m.direction, m.bot) {
            (Direction::Out, false) => m.text.as_deref().map(|t| cfg.is_signed(t)),
            _ => None,
        },
        bare_thanks: m.direction == Direction::In && m.text.as_deref().is_some_and(is_bare_thanks),
        label: match (m.direction, m.text.as_deref()) {
            (Direction::In, Some(t)) if !t.trim().is_empty() => Some(crate::understand::label(t)),
            _ => None,
        },
        competitor: m.direction == Direction::In
            && m.text.as_deref().is_some_and(|t| crate::understand::names_any(t, &cfg.competitors)),
        themes: match (m.direction, m.text.as_deref()) {
            (Direction::In, Some(t)) => crate::understand::faq::theme_bits(t),
            _ => 0,
        },
        faq: match (m.direction, m.text.as_deref(), &cfg.faq) {
            (Direction::In, Some(t), Some(faq)) => faq.answer(t).unwrap_or(0),
            _ => 0,
        },
    }
}

/// The actionable rule on a row's columns: the `actionable` column when the source decided, else
/// not spam/off-topic (`kind`), not out of scope (`in_scope = false`, the column's or, without
/// it, the label's), else not a bare thanks — by the word list or by the label. Scope is settled
/// before the label is read: a row its source says is in scope stays so whatever the text.
pub fn actionable_from(
    actionable: Option<bool>,
    kind: Option<&str>,
    in_scope: Option<bool>,
    bare_thanks: bool,
    label: Option<crate::understand::Label>,
) -> bool {
    if let Some(a) = actionable {
        return a;
    }
    if kind.is_some_and(|k| NOT_ACTIONABLE_KINDS.contains(&k)) || in_scope == Some(false) {
        return false;
    }
    !bare_thanks && label != Some(crate::understand::Label::ThanksOnly)
}

type Row = Result<crate::ingest::Located, crate::ingest::RowError>;

/// Rows in a piece of [`with_texts_read`]: what one core reads at a time.
const PIECE_ROWS: usize = 512;
/// Bytes of text after which a piece is closed whatever its row count (long e-mail bodies); a
/// few kilobytes in tests, which close pieces that way without reading megabytes.
const PIECE_BYTES: usize = if cfg!(test) { 4096 } else { 4 << 20 };
/// Pieces taken from the source ahead of the one being given: rows held at once stay bounded.
const AHEAD: usize = 8;

/// Hands `take` an import's rows, each message's text already read ([`text_facts`], kept in
/// [`Message::derived`]) on every core: pieces of rows are read by helper threads while `take`
/// works, and by `take`'s own thread when it would otherwise wait.
///
/// Why: reading texts (labels, themes, signatures, the knowledge base) is most of an import of
/// real exports — 4.5 of 5.5 s for a million short French messages on one core, measured
/// 2026-12-02 — and a message's reading depends on its text and the configuration only: rows
/// come out in the order they came in, errors untouched, and every figure stays the same.
///
/// ```
/// use barometre_core::{config::Config, ingest::{Located, Record}, model::{Direction, Message}};
/// let cfg = Config::default();
/// let mut m = Message::empty();
/// m.direction = Direction::In;
/// m.text = Some("Merci beaucoup !".into());
/// let rows = (0..2000).map(|i| Ok(Located { file: "a.csv".into(), line: i, id_column: 1, record: Record::Message(m.clone()) }));
/// let read: Vec<_> = barometre_core::text::with_texts_read(&mut rows.into_iter(), &cfg, |r| r.collect());
/// assert_eq!(read.len(), 2000);
/// for (i, r) in read.iter().enumerate() {
///     let Ok(Located { line, record: Record::Message(r), .. }) = r else { unreachable!() };
///     assert_eq!((*line, r.derived), (i as u64, Some(barometre_core::text::text_facts(&m, &cfg))));
/// }
/// ```
pub fn with_texts_read<T>(
    rows: &mut dyn Iterator<Item = Row>,
    cfg: &Config,
    take: impl FnOnce(&mut dyn Iterator<Item = Row>) -> T,
) -> T {
    let helpers = std::thread::available_parallelism().map_or(1, |n| n.get()).saturating_sub(1);
    let shared = Pieces::default();
    std::thread::scope(|sc| {
        for _ in 0..helpers {
            sc.spawn(|| shared.help(cfg));
        }
        // Helpers stop when `take` returns or panics.
        let _stop = Stop(&shared);
        let mut given =
            InOrder { rows, cfg, shared: &shared, issued: 0, next: 0, ended: false, ready: Vec::new().into_iter() };
        take(&mut given)
    })
}

fn read_piece(rows: &mut [Row], cfg: &Config) {
    for r in rows {
        if let Ok(crate::ingest::Located { record: crate::ingest::Record::Message(m), .. }) = r {
            if m.derived.is_none() {
                m.derived = Some(text_facts(m, cfg));
            }
        }
    }
}

#[derive(Default)]
struct Queue {
    /// Pieces to read, by number, lowest first.
    todo: std::collections::VecDeque<(usize, Vec<Row>)>,
    /// Pieces read, by number.
    done: std::collections::HashMap<usize, Vec<Row>>,
    stopped: bool,
    /// A helper's panic, raised again on the thread that gives the rows: a piece it never
    /// finished must not be waited for.
    panic: Option<Box<dyn std::any::Any + Send>>,
}

#[derive(Default)]
struct Pieces {
    q: std::sync::Mutex<Queue>,
    changed: std::sync::Condvar,
}

impl Pieces {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.q.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A helper: reads pieces until stopped.
    fn help(&self, cfg: &Config) {
        self.help_with(|piece| read_piece(piece, cfg));
    }

    fn help_with(&self, read_piece: impl Fn(&mut [Row])) {
        let mut q = self.lock();
        loop {
            if q.stopped {
                return;
            }
            if let Some((no, mut piece)) = q.todo.pop_front() {
                drop(q);
                let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_piece(&mut piece)));
                q = self.lock();
                match read {
                    Ok(()) => {
                        q.done.insert(no, piece);
                    }
                    Err(p) => {
                        q.panic = Some(p);
                        self.changed.notify_all();
                        return;
                    }
                }
                self.changed.notify_all();
            } else {
                q = self.changed.wait(q).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        }
    }
}

struct Stop<'a>(&'a Pieces);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        let mut q = self.0.lock();
        q.stopped = true;
        // Pieces not yet read are not read: nobody will take them.
        q.todo.clear();
        drop(q);
        self.0.changed.notify_all();
    }
}

/// The rows again, in order, their texts read.
struct InOrder<'a, 'r> {
    rows: &'r mut dyn Iterator<Item = Row>,
    cfg: &'a Config,
    shared: &'a Pieces,
    /// Pieces queued so far, and the number of the next one to give.
    issued: usize,
    next: usize,
    ended: bool,
    ready: std::vec::IntoIter<Row>,
}

impl InOrder<'_, '_> {
    /// Queues pieces until [`AHEAD`] wait or the source ends.
    fn top_up(&mut self) {
        while !self.ended && self.issued - self.next < AHEAD {
            let mut piece = Vec::with_capacity(PIECE_ROWS);
            let mut bytes = 0;
            for r in &mut *self.rows {
                if let Ok(crate::ingest::Located { record: crate::ingest::Record::Message(m), .. }) = &r {
                    bytes += m.text.as_deref().map_or(0, str::len);
                }
                piece.push(r);
                if piece.len() == PIECE_ROWS || bytes >= PIECE_BYTES {
                    break;
                }
            }
            if piece.len() < PIECE_ROWS && bytes < PIECE_BYTES {
                self.ended = true;
            }
            if piece.is_empty() {
                break;
            }
            if bytes == 0 {
                // Nothing to read but absences: read here, not handed to another core.
                read_piece(&mut piece, self.cfg);
                self.shared.lock().done.insert(self.issued, piece);
            } else {
                self.shared.lock().todo.push_back((self.issued, piece));
                self.shared.changed.notify_all();
            }
            self.issued += 1;
        }
    }

    /// Piece `next`, read by a helper or, rather than wait, by this thread.
    fn piece(&mut self) -> Vec<Row> {
        let mut q = self.shared.lock();
        loop {
            if let Some(p) = q.panic.take() {
                drop(q);
                std::panic::resume_unwind(p);
            }
            if let Some(p) = q.done.remove(&self.next) {
                return p;
            }
            if let Some((no, mut piece)) = q.todo.pop_front() {
                drop(q);
                read_piece(&mut piece, self.cfg);
                if no == self.next {
                    return piece;
                }
                q = self.shared.lock();
                q.done.insert(no, piece);
            } else {
                q = self.shared.changed.wait(q).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        }
    }
}

impl Iterator for InOrder<'_, '_> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        loop {
            if let Some(r) = self.ready.next() {
                return Some(r);
            }
            self.top_up();
            if self.next == self.issued {
                return None;
            }
            let piece = self.piece();
            self.next += 1;
            self.ready = piece.into_iter();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Located, Record, RowError};
    use crate::model::Direction;

    /// Row `i`: an error every 7th, a message with a text every 3rd (long ones now and then,
    /// which close pieces early), else a message without text.
    fn row(i: u64) -> Row {
        if i.is_multiple_of(7) {
            return Err(RowError { file: "a.csv".into(), line: i, column: 2, reason: format!("bad {i}") });
        }
        let mut m = Message { message_id: format!("m{i}"), direction: Direction::In, ..Message::empty() };
        if i.is_multiple_of(3) {
            let long = if i.is_multiple_of(300) { "x".repeat(PIECE_BYTES) } else { String::new() };
            m.text = Some(format!("Bonjour, ma commande {i} n'est pas arrivée, merci {long}"));
        }
        Ok(Located { file: "a.csv".into(), line: i, id_column: 1, record: Record::Message(m) })
    }

    #[test]
    fn rows_come_out_in_order_with_every_text_read_and_errors_untouched() {
        let cfg = Config::default();
        let n = 5_000;
        let got: Vec<Row> = with_texts_read(&mut (0..n).map(row), &cfg, |r| r.collect());
        assert_eq!(got.len(), n as usize);
        for (i, r) in got.into_iter().enumerate() {
            let mut want = row(i as u64);
            if let Ok(Located { record: Record::Message(m), .. }) = &mut want {
                m.derived = Some(text_facts(m, &cfg));
            }
            assert_eq!(r, want, "row {i}");
        }
    }

    #[test]
    fn a_helper_that_panics_raises_the_panic_instead_of_a_wait() {
        let cfg = Config::default();
        let pieces = Pieces::default();
        pieces.lock().todo.push_back((0, vec![row(3)]));
        let raised = std::thread::scope(|sc| {
            sc.spawn(|| pieces.help_with(|_| panic!("a text no reading survives")));
            // The helper takes the piece before the reader asks for it.
            while !pieces.lock().todo.is_empty() {
                std::thread::yield_now();
            }
            let mut rows = std::iter::empty();
            let mut given = InOrder {
                rows: &mut rows,
                cfg: &cfg,
                shared: &pieces,
                issued: 1,
                next: 0,
                ended: true,
                ready: Vec::new().into_iter(),
            };
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| given.next()))
        });
        assert!(raised.is_err(), "the helper's panic reaches the reader");
    }

    #[test]
    fn a_reader_that_stops_early_or_panics_stops_the_helpers() {
        let cfg = Config::default();
        let first: Vec<Row> = with_texts_read(&mut (0..100_000).map(row), &cfg, |r| r.take(10).collect());
        assert_eq!(first.len(), 10);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            with_texts_read(&mut (0..100_000).map(row), &cfg, |r| {
                r.nth(1000);
                panic!("the store failed");
            })
        }));
        assert!(panicked.is_err());
    }
}
