//! One-shot reading: files straight into the clock's input, no store — what `report --input`
//! does. Rows are checked as an import checks them (a repeated id with other content is a bad
//! row, named with both places); a large CSV file of messages is read on two cores, cut at a row
//! boundary the reader itself confirms.

use crate::config::Config;
use crate::engine::Bulk;
use crate::ingest::source::{self, Input};
use crate::ingest::{Format, Kind, Located, Record, RecordReader, RowError};
use crate::model::Message;
use std::io::{self, Read};

/// Where a message row was read, to name it if its id repeats: 16 bytes a row, the file and the
/// id's column kept once a run of rows ([`FileRun`]).
struct Seen {
    fingerprint: u64,
    /// Its line, `u32::MAX` for a line past that (kept in `Gathered::long_lines`).
    line: u32,
    /// Its rank among everything read, bad rows included: errors come out in reading order.
    seq: u32,
}

/// Rows from `from` on were read from `file_names[file]`, their id in `column`.
struct FileRun {
    from: u32,
    file: u32,
    column: u32,
}

/// What the one-shot reader gathered: the clock's rows and where each was read.
pub struct Gathered {
    bulk: Bulk,
    seen: Vec<Seen>,
    long_lines: Vec<(u32, u64)>,
    runs: Vec<FileRun>,
    file_names: Vec<std::sync::Arc<str>>,
    /// The first refused rows of this part ([`BAD_KEPT`] at most), by reading rank.
    bad: Vec<(u32, RowError)>,
    /// Refused rows past those kept.
    bad_more: u64,
    seq: u32,
}

/// Refused rows a one-shot report keeps to print, per part: the rest are counted, so that a file
/// of bad rows costs no more memory than a file of good ones.
pub const BAD_KEPT: usize = 10_000;

impl Default for Gathered {
    fn default() -> Self {
        Gathered {
            bulk: Bulk::for_reports(),
            seen: Vec::new(),
            long_lines: Vec::new(),
            runs: Vec::new(),
            file_names: Vec::new(),
            bad: Vec::new(),
            bad_more: 0,
            seq: 0,
        }
    }
}

impl Gathered {
    pub fn take(&mut self, r: Result<Located, RowError>, cfg: &Config) {
        let loc = match r {
            Ok(l) => l,
            Err(e) => return self.take_error(e),
        };
        match &loc.record {
            Record::Message(m) => return self.take_message(m, &loc.file, loc.line, loc.id_column, cfg),
            Record::Event(e) => self.bulk.push_event(e),
            // One-shot reports read messages and events; other kinds are imported.
            _ => {}
        }
        self.seq += 1;
    }

    fn take_error(&mut self, e: RowError) {
        self.seq += 1;
        if self.bad.len() < BAD_KEPT {
            self.bad.push((self.seq, e));
        } else {
            self.bad_more += 1;
        }
    }

    /// A message row read at `file:line` (its id in `column`).
    fn take_message(&mut self, m: &Message, file: &std::sync::Arc<str>, line: u64, column: u64, cfg: &Config) {
        self.seq += 1;
        if self.file_names.last().is_none_or(|f| !std::sync::Arc::ptr_eq(f, file)) {
            self.file_names.push(file.clone());
        }
        let (row, file, column) = (self.seen.len() as u32, self.file_names.len() as u32 - 1, column as u32);
        if self.runs.last().is_none_or(|r| (r.file, r.column) != (file, column)) {
            self.runs.push(FileRun { from: row, file, column });
        }
        let line = short_line(&mut self.long_lines, row, line);
        self.seen.push(Seen { fingerprint: m.fingerprint(), line, seq: self.seq });
        self.bulk.push_message(m, cfg);
    }

    /// The clock's input, the first refused rows in reading order ([`BAD_KEPT`] at most: each
    /// part kept its first) and how many more were refused. A repeated id with other content is
    /// refused here, with both places.
    pub fn finish(mut self) -> (crate::engine::ClockInput, Vec<RowError>, u64) {
        let bulk = std::mem::take(&mut self.bulk);
        let (inp, dups) = bulk.finish();
        let mut bad = std::mem::take(&mut self.bad);
        for (row, first, id) in dups {
            if self.seen[row as usize].fingerprint != self.seen[first as usize].fingerprint {
                let ((file, line, column), (first_file, first_line, _)) = (self.place(row), self.place(first));
                let reason = crate::ingest::duplicate_id("message_id", inp.id(id), first_file, first_line);
                let error = RowError { file: file.to_string(), line, column, reason };
                bad.push((self.seen[row as usize].seq, error));
            }
        }
        bad.sort_by_key(|b| b.0);
        let total = bad.len() as u64 + self.bad_more;
        bad.truncate(BAD_KEPT);
        let more = total - bad.len() as u64;
        (inp, bad.into_iter().map(|(_, e)| e).collect(), more)
    }

    /// Where row `row` was read: file, line, column.
    fn place(&self, row: u32) -> (&str, u64, u64) {
        let line = full_line(&self.long_lines, row, self.seen[row as usize].line);
        let run = &self.runs[self.runs.partition_point(|r| r.from <= row) - 1];
        (&self.file_names[run.file as usize], line, u64::from(run.column))
    }

    /// Adds what was read after these rows; `lines` more lines came before it in its file.
    pub fn append(&mut self, part: Gathered, lines: u64) {
        if self.seq == 0 && lines == 0 {
            // Nothing read yet: the part is taken as it is, not copied.
            *self = part;
            return;
        }
        let Gathered { bulk, seen, long_lines, runs, file_names, bad, bad_more, seq: part_seq } = part;
        self.bad_more += bad_more;
        // The clock's columns are copied on other cores meanwhile.
        let my_bulk = &mut self.bulk;
        std::thread::scope(|sc| {
            sc.spawn(move || my_bulk.append(bulk));
            let (files, rows) = (self.file_names.len() as u32, self.seen.len() as u32);
            self.file_names.extend(file_names);
            self.runs.extend(runs.into_iter().map(|r| FileRun { from: r.from + rows, file: r.file + files, ..r }));
            let mut long: Vec<(u32, u64)> = long_lines.into_iter().map(|(r, l)| (r + rows, l + lines)).collect();
            let seq = self.seq;
            self.seen.extend(seen.into_iter().enumerate().map(|(k, s)| {
                let row = k as u32 + rows;
                // A long line is already shifted in `long`; a short one is shifted here.
                let line = match s.line {
                    u32::MAX => full_line(&long, row, s.line),
                    l => u64::from(l) + lines,
                };
                Seen { line: short_line(&mut long, row, line), seq: s.seq + seq, ..s }
            }));
            self.long_lines.extend(long);
            self.bad.extend(bad.into_iter().map(|(q, mut e)| {
                e.line += lines;
                (q + seq, e)
            }));
            self.seq += part_seq;
        });
    }
}

/// A row's line as [`Seen`] keeps it: `u32::MAX` for a line past that, kept in `long`.
fn short_line(long: &mut Vec<(u32, u64)>, row: u32, line: u64) -> u32 {
    u32::try_from(line).ok().filter(|&l| l != u32::MAX).unwrap_or_else(|| {
        long.push((row, line));
        u32::MAX
    })
}

/// The line of row `row` kept as `line` (see [`short_line`]).
fn full_line(long: &[(u32, u64)], row: u32, line: u32) -> u64 {
    match line {
        u32::MAX => long.iter().find(|l| l.0 == row).map_or(0, |l| l.1),
        l => u64::from(l),
    }
}

/// Below this size a file is read on one core.
const SPLIT_FROM: u64 = 4 << 20;

/// Where the line holding `b[from]` ends: after `\n`, `\r\n` or a lone `\r`; `None` when `b`
/// ends too soon to tell.
fn line_end(b: &[u8], from: usize) -> Option<usize> {
    let i = from + memchr::memchr2(b'\r', b'\n', &b[from..])?;
    match (b[i], b.get(i + 1)) {
        (b'\n', _) => Some(i + 1),
        (_, Some(b'\n')) => Some(i + 2),
        (_, Some(_)) => Some(i + 1),
        (_, None) => None,
    }
}

/// Where a CSV file can be cut in two near its middle: `(end of the header row, the start of a
/// row guessed near the middle)`, or `None` for a small file or a header with quotes. The guess
/// is the first line after the middle that reads as a whole row of the header's width with its
/// quotes closed; `read_in_halves` checks it while reading, so a line break inside quotes is never
/// taken for a cut, whatever the guess.
pub fn split_point(input: &Input) -> io::Result<Option<(u64, u64)>> {
    let size = input.len;
    if size < SPLIT_FROM {
        return Ok(None);
    }
    let buf = input.head()?;
    let head = &buf[..];
    // A blank first line or a quoted header: leave it to one reader.
    let header_end = line_end(head, 0)
        .filter(|&e| !matches!(head.first(), Some(b'\r' | b'\n')) && memchr::memchr(b'"', &head[..e]).is_none());
    let Some(header_end) = header_end else { return Ok(None) };
    let width = memchr::memchr_iter(b',', &head[..header_end]).count() + 1;
    let mid = size / 2;
    let mut window = Vec::with_capacity(1 << 18);
    input.open_at(mid)?.take(1 << 18).read_to_end(&mut window)?;
    let window = &window[..];
    let mut rec = csv::ByteRecord::new();
    let mut first = None;
    let mut at = 0;
    while let Some(start) = line_end(window, at) {
        if start >= window.len() || mid + (start as u64) >= size {
            break;
        }
        at = start;
        first.get_or_insert(start);
        let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(&window[start..]);
        let whole = matches!(rdr.read_byte_record(&mut rec), Ok(true))
            && rec.len() == width
            && (rdr.position().byte() as usize) < window.len() - start;
        let line = &window[start..start + rdr.position().byte() as usize];
        if whole && memchr::memchr_iter(b'"', line).count().is_multiple_of(2) {
            return Ok(Some((header_end as u64, mid + start as u64)));
        }
    }
    Ok(first.map(|start| (header_end as u64, mid + start as u64)))
}

/// Where the one file of an import can be cut to be read in two halves on two cores: a large
/// canonical CSV file of messages ([`source::reads_plainly`]), read with no option that changes how its
/// rows read; `(end of the header, the cut)` as [`split_point`] gives them.
pub fn halves_at(opts: &source::Options, ins: &[Input]) -> Option<(u64, u64)> {
    let [input] = ins else { return None };
    let plain = opts.kind == Kind::Messages
        && matches!(opts.format, None | Some(source::SourceFormat::Csv))
        && matches!(opts.delimiter, None | Some(b','))
        && matches!(opts.encoding, None | Some(crate::ingest::decode::Encoding::Utf8))
        && opts.rules == crate::ingest::Rules::default()
        && opts.accounts.is_empty()
        && opts.account_name.is_none()
        && opts.sheet.is_none();
    if !plain || !source::reads_plainly(&input.name, &input.head().ok()?, opts.kind) {
        return None;
    }
    split_point(input).ok().flatten()
}

/// Line breaks in `b`, counted as the readers count them.
fn breaks_in(b: &[u8]) -> u64 {
    breaks_after(b'\n', b)
}

/// Line breaks in `b`, which comes after the byte `prev`: a `\n` right after a `\r` ends the
/// same line, across reads too.
fn breaks_after(prev: u8, b: &[u8]) -> u64 {
    memchr::memchr2_iter(b'\r', b'\n', b)
        .filter(|&i| b[i] == b'\r' || (if i == 0 { prev } else { b[i - 1] }) != b'\r')
        .count() as u64
}

/// What reads one part of a file is given: its messages and its refused rows, in reading order.
/// [`read_parts`] calls one part per core.
pub trait Part: Send {
    /// A message read at `file:line`, its id in `column`; `false` to stop reading.
    fn message(&mut self, m: &Message, file: &std::sync::Arc<str>, line: u64, column: u64) -> bool;
    /// A refused row; `false` to stop reading.
    fn error(&mut self, e: RowError) -> bool;
    /// Reading is over: at the cut (`at_cut`, which only the first part can hear), or at the
    /// end of the file.
    fn finish(&mut self, at_cut: bool) {
        let _ = at_cut;
    }
}

/// The one-shot reader's part: rows gathered into the clock's input.
struct Gather<'a>(Gathered, &'a Config);

impl Part for Gather<'_> {
    fn message(&mut self, m: &Message, file: &std::sync::Arc<str>, line: u64, column: u64) -> bool {
        self.0.take_message(m, file, line, column, self.1);
        true
    }

    fn error(&mut self, e: RowError) -> bool {
        self.0.take_error(e);
        true
    }
}

/// Reads one CSV file of messages on two cores, cut at `cut`, a guessed row start: the second
/// part reads the header again, then the rows from the cut, their lines shifted back into the
/// file's. The first part reads from the file's start and checks the guess: the cut held if a row
/// of its own ends exactly there (the CSV reader, which knows quotes, says so); otherwise it reads
/// on to the end and the second part's rows are dropped. Whether the cut held comes back too.
pub fn read_in_halves(
    input: &Input,
    header_end: u64,
    cut: u64,
    cfg: &Config,
    progress: &(dyn Fn(u64) + Sync),
) -> io::Result<(Gathered, bool)> {
    let make = |room: Room| {
        let mut g = Gathered::default();
        g.seen.reserve(room.rows);
        g.bulk.reserve(room.rows, room.bytes as usize / 2);
        Gather(g, cfg)
    };
    let read = read_parts(input, header_end, cut, make, progress)?;
    let mut a = read.first.0;
    if read.held {
        a.append(read.second.0, read.lines);
    }
    Ok((a, read.held))
}

/// What a part is made with: the bytes it will read at most and about how many rows they hold.
#[derive(Clone, Copy, Debug)]
pub struct Room {
    /// The first part (from the file's start) or the second (from the cut).
    pub first: bool,
    pub bytes: u64,
    pub rows: usize,
}

/// Both parts of a file read by [`read_parts`].
pub struct Parts<P> {
    pub first: P,
    /// Read from the cut; its rows are the file's only if the cut `held`.
    pub second: P,
    pub held: bool,
    /// Lines before the second part's rows that its reader did not see: its line numbers
    /// (which count its copy of the header) plus these are the file's.
    pub lines: u64,
}

/// Reads a CSV file of messages in two parts on two cores (see [`read_in_halves`]): `make` makes
/// each part on the thread that reads it, `progress` is told of bytes read.
pub fn read_parts<P: Part>(
    input: &Input,
    header_end: u64,
    cut: u64,
    make: impl Fn(Room) -> P + Sync,
    progress: &(dyn Fn(u64) + Sync),
) -> io::Result<Parts<P>> {
    let name = input.name.to_string();
    let size = input.len;
    // The file's start, read once: its header for the second part, and its first rows to tell
    // how many rows to make room for.
    let mut head = vec![0u8; (header_end as usize).max(1 << 16).min(size as usize)];
    input.open()?.read_exact(&mut head)?;
    let header = head[..header_end as usize].to_vec();
    // After a row that ends with `\r\n`, the CSV reader stands between the two bytes.
    let mut around = Vec::with_capacity(3);
    input.open_at(cut - 2)?.take(3).read_to_end(&mut around)?;
    let row_ends_at = if around.starts_with(b"\r\n") { cut - 1 } else { cut };
    // A cut between the two bytes of a `\r\n` is no row's start: the first part reads on.
    let splits_line_end = around.get(1..3) == Some(b"\r\n".as_slice());
    let first = input.open()?;
    let second = io::Cursor::new(header.clone()).chain(input.open_at(cut)?);
    // Rows expected, from the length of the first ones: the first part makes room for the
    // second's, so that appending it copies nothing already there.
    let per_row = (head.len() as u64 / breaks_in(&head).max(1)).max(1);
    let rows = |bytes: u64| (bytes / per_row + bytes / per_row / 8) as usize;
    // `stop`: the first part's cut (it also says what is wrong with the header, if anything).
    // Comes back with what was read: the line breaks before the cut and whether it held.
    let read = |r: Box<dyn Read + Send>, room: u64, mut stop: Option<u64>| {
        let first = stop.is_some();
        let mut part = make(Room { first, bytes: room, rows: rows(room) });
        let mut rr = RecordReader::new(&name, Kind::Messages, Format::Csv, r);
        let mut go = true;
        if let Some(e) = rr.fatal.take() {
            if first {
                go = part.error(e);
            }
        }
        let mut m = Message::empty();
        let file = rr.file().clone();
        // The second part reads the header again: those bytes are not counted twice.
        let (mut rows, mut shown) = (0u64, if first { 0 } else { header_end });
        let (mut held, mut breaks) = (false, 0);
        while go {
            if let Some(cut) = stop {
                match rr.position() {
                    Some(p) if p == row_ends_at => {
                        held = true;
                        breaks = rr.line_breaks_before(cut);
                        break;
                    }
                    // A row runs over the cut (it fell inside quotes): read on alone.
                    Some(p) if p > row_ends_at => stop = None,
                    _ => {}
                }
            }
            let Some(x) = rr.next_message(&mut m) else { break };
            go = match x {
                Ok((line, column)) => part.message(&m, &file, line, column),
                Err(e) => part.error(e),
            };
            rows += 1;
            if rows.is_multiple_of(16_384) {
                let now = read_to(&rr, stop);
                progress(now.saturating_sub(shown));
                shown = now;
            }
        }
        progress(read_to(&rr, stop).saturating_sub(shown));
        part.finish(held);
        (part, breaks, held)
    };
    // Bytes read so far: the reader reads ahead of its rows, past a cut it stops at too (those
    // bytes are the other part's to say).
    fn read_to<R: Read>(rr: &RecordReader<R>, stop: Option<u64>) -> u64 {
        stop.map_or(rr.bytes_read(), |cut| rr.bytes_read().min(cut))
    }
    let ((first, breaks, held), (second, _, _)) = std::thread::scope(|sc| {
        let other = sc.spawn(|| read(Box::new(second), size - cut, None));
        let mine = read(Box::new(first), size, (!splits_line_end).then_some(cut));
        (mine, other.join().expect("the reading thread does not panic"))
    });
    // The second part's lines count its copy of the header.
    let lines = if held { breaks - breaks_in(&header) } else { 0 };
    Ok(Parts { first, second, held, lines })
}

/// The lines before the cut that the second part of [`read_parts`] does not see, counted by
/// reading the bytes between the header and the cut: what its `lines` will say if the cut
/// holds, known before the first part has read that far.
pub fn lines_before(input: &Input, header_end: u64, cut: u64) -> io::Result<u64> {
    let mut r = input.open_at(header_end)?.take(cut - header_end);
    let mut buf = vec![0u8; 1 << 16];
    let (mut n, mut last) = (0u64, b'\n');
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            return Ok(n);
        }
        n += breaks_after(last, &buf[..k]);
        last = buf[k - 1];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn msg(id: &str, text: &str) -> Message {
        let mut m = Message::empty();
        m.message_id = id.into();
        m.account = "acme".into();
        m.channel = "email".into();
        m.author_id = "u1".into();
        m.text = Some(text.into());
        m
    }

    #[test]
    fn rows_are_placed_in_their_file_and_line_across_parts_and_long_files() {
        let cfg = Config::default();
        let (a, b): (std::sync::Arc<str>, std::sync::Arc<str>) = ("a.csv".into(), "b.csv".into());
        let mut first = Gathered::default();
        first.take_message(&msg("x1", "t"), &a, 2, 1, &cfg);
        first.take_message(&msg("x2", "t"), &a, 5_000_000_000, 1, &cfg);
        let mut second = Gathered::default();
        second.take_error(RowError { file: "a.csv".into(), line: 3, column: 2, reason: "bad".into() });
        second.take_message(&msg("x3", "t"), &a, 4, 1, &cfg);
        second.take_message(&msg("x4", "t"), &a, u64::from(u32::MAX) - 10, 1, &cfg);
        // The second part's lines start 100 lines further in the file.
        first.append(second, 100);
        first.take_message(&msg("y1", "t"), &b, 2, 3, &cfg);
        let places: Vec<_> = (0..5).map(|r| first.place(r)).collect();
        assert_eq!(
            places,
            [
                ("a.csv", 2, 1),
                ("a.csv", 5_000_000_000, 1),
                ("a.csv", 104, 1),
                ("a.csv", u64::from(u32::MAX) + 90, 1),
                ("b.csv", 2, 3)
            ]
        );
        // Reading order: the bad row of the second part comes after the first part's rows.
        let seqs: Vec<u32> = first.seen.iter().map(|s| s.seq).collect();
        assert_eq!((seqs, first.bad[0].0), (vec![1, 2, 4, 5, 6], 3));
    }

    /// The lines of the rows a part read.
    struct Lines(Vec<u64>);

    impl Part for Lines {
        fn message(&mut self, _: &Message, _: &std::sync::Arc<str>, line: u64, _: u64) -> bool {
            self.0.push(line);
            true
        }
        fn error(&mut self, e: RowError) -> bool {
            self.0.push(e.line);
            true
        }
    }

    #[test]
    fn the_lines_before_the_cut_are_counted_as_the_first_part_reads_them() {
        let header = "message_id,created_at,direction,account,channel,author_id,text";
        for end in ["\n", "\r\n", "\r"] {
            // Rows 1..=40, row 7 with a line break in quotes.
            let mut rows = vec![header.to_string()];
            for i in 1..=40 {
                let text = if i == 7 { format!("\"a{end}b\"") } else { format!("t{i}") };
                rows.push(format!("x{i},2026-04-06T08:00:00Z,in,acme,chat,u{i},{text}"));
            }
            let data = rows.join(end) + end;
            let header_end = (header.len() + end.len()) as u64;
            let cut: u64 = rows[..25].iter().map(|r| (r.len() + end.len()) as u64).sum();
            let input = Input::bytes("t.csv", data.as_bytes().to_vec());
            let parts = read_parts(&input, header_end, cut, |_| Lines(Vec::new()), &|_| {}).unwrap();
            assert!(parts.held, "{end:?}");
            assert_eq!(lines_before(&input, header_end, cut).unwrap(), parts.lines, "{end:?}");
            // Row 25 starts on line 27: its index plus one, plus the break in row 7.
            let second: Vec<u64> = parts.second.0.iter().map(|l| l + parts.lines).collect();
            assert_eq!((parts.first.0.len(), second[0], second.len()), (24, 27, 16), "{end:?}");
            if end == "\r\n" {
                // One byte back, between `\r` and `\n`: not a row's start, read by one part.
                let parts = read_parts(&input, header_end, cut - 1, |_| Lines(Vec::new()), &|_| {}).unwrap();
                assert!(!parts.held);
                assert_eq!(parts.first.0.len(), 40);
            }
        }
    }

    #[test]
    fn a_crlf_across_two_reads_is_one_line_break() {
        // `\r` the last byte of the first 64 KiB read, `\n` the first of the next.
        let mut body = "x".repeat(98) + "\r\n";
        body = body.repeat(655) + &"y".repeat(35) + "\r\n" + &"z\r\n".repeat(10);
        assert_eq!(&body.as_bytes()[65_535..65_537], b"\r\n");
        let data = format!("h\n{body}");
        let input = Input::bytes("t.csv", data.as_bytes().to_vec());
        let n = lines_before(&input, 2, data.len() as u64).unwrap();
        assert_eq!(n, 655 + 1 + 10);
        assert_eq!(n, breaks_in(body.as_bytes()));
    }
}
