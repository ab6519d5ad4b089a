//! Message rows as the embedded store keeps them: chunks of up to [`ROWS_PER_CHUNK`] rows, each
//! chunk one SQLite row holding two blobs — `keys` (every row's id and content fingerprint, what
//! an import reads to know a row again) and `data` (the rest of the row, what the clock and the
//! exports read). Why not one SQLite row per message: a keyed B-tree insert of 28 bound values
//! cost 4.5 s of a one-million-message import (measured 2026-12-02); a chunk is one insert.
//!
//! A row that a later import changes is not rewritten in place: its new version goes into that
//! import's chunk and the old one is marked in its chunk's `dead` bitmap. Readers skip dead rows.
//!
//! Layout (little-endian; `v` is an unsigned LEB128 varint; an optional string is `v(len + 1)`
//! then its bytes, `v(0)` for none):
//! - `keys`: per row, `v(len)` id bytes, `u64` fingerprint.
//! - `data`: per row, `i64` created ms, `i32` UTC offset, `u16` flags, `u8` label code, `v` FAQ
//!   entry, `v` themes, account, channel and author (`v(len)` bytes), conversation, reply-to,
//!   customer, text, kind and team (optional strings), `f64` handle seconds when flagged,
//!   `v` source, `v` line.

use crate::chunks::{R, W};
use crate::StoreError;
use barometre_core::model::{Direction, Message, TextFacts};
use barometre_core::time::Stamp;
use barometre_core::understand::Label;

/// Rows a chunk holds at most (a few in tests, so that their files make several chunks).
pub const ROWS_PER_CHUNK: usize = if cfg!(test) { 32 } else { 65_536 };

/// Bytes of rows after which a chunk is written whatever its row count: long e-mail bodies would
/// otherwise make blobs past SQLite's limit (10⁹ bytes) and chunks too large to read back whole.
pub const CHUNK_BYTES: usize = 64 << 20;

/// About the bytes `m` takes in a chunk.
fn weight(m: &Message) -> usize {
    let opt = |s: &Option<String>| s.as_deref().map_or(0, str::len);
    48 + m.message_id.len()
        + m.account.len()
        + m.channel.len()
        + m.author_id.len()
        + [&m.conversation_id, &m.reply_to, &m.customer_id, &m.text, &m.kind, &m.team]
            .into_iter()
            .map(opt)
            .sum::<usize>()
}

/// Whether a chunk of `n` rows weighing about `bytes` is full (see [`CHUNK_BYTES`]).
fn full(n: usize, bytes: usize) -> bool {
    n == ROWS_PER_CHUNK || bytes >= CHUNK_BYTES
}

/// A row to store: the message (its `derived` unused), what the clock read in its text, its
/// fingerprint and where it was read (the `sources` id and line).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub m: Message,
    pub tf: TextFacts,
    pub fp: u64,
    pub src: i64,
    pub line: u64,
}

/// Rows gathered for the next chunk: full at [`ROWS_PER_CHUNK`] rows or [`CHUNK_BYTES`].
#[derive(Default)]
pub struct Batch {
    pub rows: Vec<Row>,
    bytes: usize,
}

impl Batch {
    /// Adds a row; whether the batch is now full.
    pub fn push(&mut self, r: Row) -> bool {
        self.bytes += weight(&r.m);
        self.rows.push(r);
        full(self.rows.len(), self.bytes)
    }

    /// The batch's chunk (its row count, keys and data), the batch left empty.
    pub fn take(&mut self) -> (usize, Vec<u8>, Vec<u8>) {
        let (keys, data) = encode(&self.rows);
        let n = self.rows.len();
        self.rows.clear();
        self.bytes = 0;
        (n, keys, data)
    }
}

/// A stored row, its strings borrowed from the chunk.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    pub id: &'a str,
    pub fp: u64,
    pub ms: i64,
    pub offset_s: i32,
    pub direction: Direction,
    pub account: &'a str,
    pub channel: &'a str,
    pub author: &'a str,
    pub conversation_id: Option<&'a str>,
    pub reply_to: Option<&'a str>,
    pub customer_id: Option<&'a str>,
    pub text: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub team: Option<&'a str>,
    pub bot: bool,
    pub public: Option<bool>,
    pub in_scope: Option<bool>,
    pub actionable: Option<bool>,
    pub handle_seconds: Option<f64>,
    pub tf: TextFacts,
    pub src: i64,
    pub line: u64,
}

impl<'a> RowRef<'a> {
    /// The row as the clock's input takes it, with an analyst's label: no copy of its strings.
    pub fn kept(&self, corrected: Option<Label>) -> barometre_core::engine::Kept<'a> {
        barometre_core::engine::Kept {
            id: self.id,
            ms: self.ms,
            inbound: self.direction == Direction::In,
            bot: self.bot,
            account: self.account,
            channel: self.channel,
            author: self.author,
            team: self.team,
            conversation_id: self.conversation_id,
            reply_to: self.reply_to,
            customer_id: self.customer_id,
            public: self.public,
            kind: self.kind,
            in_scope: self.in_scope,
            actionable: self.actionable,
            handle_seconds: self.handle_seconds,
            signed: self.tf.signed,
            bare_thanks: self.tf.bare_thanks,
            label: self.tf.label,
            competitor: self.tf.competitor,
            faq: self.tf.faq,
            themes: self.tf.themes,
            corrected,
        }
    }
}

impl RowRef<'_> {
    /// The row, owned (to write it again).
    pub fn row(&self) -> Row {
        Row { m: Message { derived: None, ..self.message() }, tf: self.tf, fp: self.fp, src: self.src, line: self.line }
    }

    /// The message as imported; `derived` carries the kept text facts.
    pub fn message(&self) -> Message {
        let s = |x: Option<&str>| x.map(str::to_string);
        Message {
            message_id: self.id.to_string(),
            created_at: Stamp { ms: self.ms, offset_s: self.offset_s },
            direction: self.direction,
            account: self.account.to_string(),
            channel: self.channel.to_string(),
            author_id: self.author.to_string(),
            conversation_id: s(self.conversation_id),
            reply_to: s(self.reply_to),
            customer_id: s(self.customer_id),
            text: s(self.text),
            bot: self.bot,
            public: self.public,
            kind: s(self.kind),
            in_scope: self.in_scope,
            actionable: self.actionable,
            handle_seconds: self.handle_seconds,
            team: s(self.team),
            derived: Some(self.tf),
            corrected: None,
        }
    }
}

fn tri(v: Option<bool>) -> u16 {
    match v {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    }
}

fn tri_of(c: u16) -> Option<bool> {
    match c & 3 {
        1 => Some(false),
        2 => Some(true),
        _ => None,
    }
}

/// Encodes rows into a chunk's `keys` and `data` blobs.
pub fn encode(rows: &[Row]) -> (Vec<u8>, Vec<u8>) {
    let mut keys = W(Vec::with_capacity(rows.len() * 20));
    let mut data = W(Vec::with_capacity(rows.len() * 64));
    for r in rows {
        encode_row(&mut keys, &mut data, &r.m, &r.tf, r.fp, r.src, r.line);
    }
    (keys.0, data.0)
}

/// Adds one row to a chunk's blobs.
fn encode_row(keys: &mut W, data: &mut W, m: &Message, t: &TextFacts, fp: u64, src: i64, line: u64) {
    keys.str(&m.message_id);
    keys.0.extend_from_slice(&fp.to_le_bytes());
    let flags = u16::from(m.direction == Direction::Out)
        | u16::from(m.bot) << 1
        | tri(m.public) << 2
        | tri(m.in_scope) << 4
        | tri(m.actionable) << 6
        | tri(t.signed) << 8
        | u16::from(t.bare_thanks) << 10
        | u16::from(t.competitor) << 11
        | u16::from(m.handle_seconds.is_some()) << 12;
    data.0.extend_from_slice(&m.created_at.ms.to_le_bytes());
    data.0.extend_from_slice(&m.created_at.offset_s.to_le_bytes());
    data.0.extend_from_slice(&flags.to_le_bytes());
    data.0.push(Label::code(t.label));
    data.v(u64::from(t.faq));
    data.v(t.themes);
    data.str(&m.account);
    data.str(&m.channel);
    data.str(&m.author_id);
    for o in [&m.conversation_id, &m.reply_to, &m.customer_id, &m.text, &m.kind, &m.team] {
        data.opt(o.as_deref());
    }
    if let Some(h) = m.handle_seconds {
        data.0.extend_from_slice(&h.to_bits().to_le_bytes());
    }
    data.v(src as u64);
    data.v(line);
}

/// One row's `data` bytes, its id and fingerprint kept apart (how the ClickHouse back end keeps a
/// message beside its key columns).
pub fn encode_data(m: &Message, tf: &TextFacts, line: u64) -> Vec<u8> {
    let mut keys = W(Vec::new());
    let mut data = W(Vec::with_capacity(weight(m)));
    encode_row(&mut keys, &mut data, m, tf, 0, 0, line);
    data.0
}

/// The row of id `id` and fingerprint `fp` whose [`encode_data`] bytes are `data`.
pub fn row_of_data<'a>(id: &'a str, fp: u64, data: &'a [u8]) -> Result<RowRef<'a>, StoreError> {
    let mut d = R::new(data);
    let r = read_data(id, fp, &mut d)?;
    if d.at() != data.len() {
        return Err(StoreError::Corrupt("message row longer than its fields".into()));
    }
    Ok(r)
}

/// A chunk encoded as rows come, none of them kept: full at the same bounds as a [`Batch`].
#[derive(Default)]
pub struct Encoder {
    keys: W,
    data: W,
    n: usize,
    bytes: usize,
}

impl Encoder {
    /// Adds a row; whether the chunk is now full.
    pub fn push(&mut self, m: &Message, tf: &TextFacts, fp: u64, src: i64, line: u64) -> bool {
        self.bytes += weight(m);
        self.n += 1;
        encode_row(&mut self.keys, &mut self.data, m, tf, fp, src, line);
        full(self.n, self.bytes)
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Room for `keys` and `data` bytes more.
    pub fn reserve(&mut self, keys: usize, data: usize) {
        self.keys.0.reserve(keys);
        self.data.0.reserve(data);
    }

    /// The chunk (its row count, keys and data), the encoder left empty.
    pub fn take(&mut self) -> (usize, Vec<u8>, Vec<u8>) {
        let n = std::mem::take(&mut self.n);
        self.bytes = 0;
        (n, std::mem::take(&mut self.keys.0), std::mem::take(&mut self.data.0))
    }
}

/// Calls `each` with every key of a chunk: its place, id and fingerprint.
pub fn each_key<'a>(
    keys: &'a [u8],
    n: usize,
    mut each: impl FnMut(usize, &'a str, u64) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut k = R::new(keys);
    for i in 0..n {
        let id = k.str_ref()?;
        let fp = u64::from_le_bytes(k.fixed()?);
        each(i, id, fp)?;
    }
    Ok(())
}

/// Whether row `i` is marked dead in `dead` (a bitmap; none marked when absent).
pub fn is_dead(dead: Option<&[u8]>, i: usize) -> bool {
    dead.and_then(|d| d.get(i / 8)).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

/// Marks rows `idx` dead in a chunk of `n` rows whose bitmap was `dead`.
pub fn mark_dead(dead: Option<&[u8]>, n: usize, idx: &[u32]) -> Vec<u8> {
    let mut d = dead.map(<[u8]>::to_vec).unwrap_or_default();
    d.resize(n.div_ceil(8), 0);
    for &i in idx {
        d[i as usize / 8] |= 1 << (i % 8);
    }
    d
}

/// Reads the row at the readers' places and moves them past it.
fn read_one<'a>(k: &mut R<'a>, d: &mut R<'a>) -> Result<RowRef<'a>, StoreError> {
    let id = k.str_ref()?;
    let fp = u64::from_le_bytes(k.fixed()?);
    read_data(id, fp, d)
}

/// The row of id `id` and fingerprint `fp` whose `data` bytes `d` is at.
fn read_data<'a>(id: &'a str, fp: u64, d: &mut R<'a>) -> Result<RowRef<'a>, StoreError> {
    let ms = i64::from_le_bytes(d.fixed()?);
    let offset_s = i32::from_le_bytes(d.fixed()?);
    let flags = u16::from_le_bytes(d.fixed()?);
    let label = Label::of_code(d.fixed::<1>()?[0]);
    let faq = u32::try_from(d.v()?).map_err(|_| StoreError::Corrupt("message chunk: FAQ entry".into()))?;
    let themes = d.v()?;
    let (account, channel, author) = (d.str_ref()?, d.str_ref()?, d.str_ref()?);
    let (conversation_id, reply_to, customer_id) = (d.opt_ref()?, d.opt_ref()?, d.opt_ref()?);
    let (text, kind, team) = (d.opt_ref()?, d.opt_ref()?, d.opt_ref()?);
    let handle_seconds =
        if flags & (1 << 12) != 0 { Some(f64::from_bits(u64::from_le_bytes(d.fixed()?))) } else { None };
    let src = d.v()? as i64;
    let line = d.v()?;
    Ok(RowRef {
        id,
        fp,
        ms,
        offset_s,
        direction: if flags & 1 != 0 { Direction::Out } else { Direction::In },
        account,
        channel,
        author,
        conversation_id,
        reply_to,
        customer_id,
        text,
        kind,
        team,
        bot: flags & 2 != 0,
        public: tri_of(flags >> 2),
        in_scope: tri_of(flags >> 4),
        actionable: tri_of(flags >> 6),
        handle_seconds,
        tf: TextFacts {
            signed: tri_of(flags >> 8),
            bare_thanks: flags & (1 << 10) != 0,
            label,
            competitor: flags & (1 << 11) != 0,
            faq,
            themes,
        },
        src,
        line,
    })
}

/// Calls `each` with every live row of a chunk, in the chunk's order, with its place.
pub fn each_row<'a>(
    keys: &'a [u8],
    data: &'a [u8],
    n: usize,
    dead: Option<&[u8]>,
    mut each: impl FnMut(usize, RowRef<'a>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut k = R::new(keys);
    let mut d = R::new(data);
    for i in 0..n {
        let r = read_one(&mut k, &mut d)?;
        if !is_dead(dead, i) {
            each(i, r)?;
        }
    }
    if k.at() != keys.len() || d.at() != data.len() {
        return Err(StoreError::Corrupt("message chunk longer than its rows".into()));
    }
    Ok(())
}

/// Where each row of a chunk starts in its `keys` and `data` blobs, and where the last ends
/// (`n + 1` entries): a row can then be read alone.
pub fn offsets(keys: &[u8], data: &[u8], n: usize) -> Result<Vec<(u32, u32)>, StoreError> {
    if n > ROWS_PER_CHUNK {
        return Err(StoreError::Corrupt(format!("message chunk of {n} rows")));
    }
    let mut at = Vec::with_capacity(n + 1);
    let mut k = R::new(keys);
    let mut d = R::new(data);
    for _ in 0..n {
        at.push((k.at() as u32, d.at() as u32));
        read_one(&mut k, &mut d)?;
    }
    at.push((k.at() as u32, d.at() as u32));
    Ok(at)
}

/// The one row whose bytes are `keys` and `data` (as cut by [`offsets`]).
pub fn row_of<'a>(keys: &'a [u8], data: &'a [u8]) -> Result<RowRef<'a>, StoreError> {
    let (mut k, mut d) = (R::new(keys), R::new(data));
    let r = read_one(&mut k, &mut d)?;
    if k.at() != keys.len() || d.at() != data.len() {
        return Err(StoreError::Corrupt("message row longer than its fields".into()));
    }
    Ok(r)
}

impl RowRef<'_> {
    /// Whether `m` has this row's content (what the clock read in the text apart).
    pub fn is(&self, m: &Message) -> bool {
        self.id == m.message_id
            && self.ms == m.created_at.ms
            && self.offset_s == m.created_at.offset_s
            && self.direction == m.direction
            && self.account == m.account
            && self.channel == m.channel
            && self.author == m.author_id
            && self.conversation_id == m.conversation_id.as_deref()
            && self.reply_to == m.reply_to.as_deref()
            && self.customer_id == m.customer_id.as_deref()
            && self.text == m.text.as_deref()
            && self.kind == m.kind.as_deref()
            && self.team == m.team.as_deref()
            && self.bot == m.bot
            && self.public == m.public
            && self.in_scope == m.in_scope
            && self.actionable == m.actionable
            && self.handle_seconds.map(f64::to_bits) == m.handle_seconds.map(f64::to_bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, text: Option<&str>, handle: Option<f64>) -> Message {
        Message {
            message_id: id.into(),
            created_at: Stamp { ms: -1_234_567, offset_s: -3600 },
            direction: Direction::Out,
            account: "Compte é".into(),
            channel: "x".into(),
            author_id: "a🙂".into(),
            conversation_id: Some(String::new()),
            reply_to: None,
            customer_id: Some("c".into()),
            text: text.map(str::to_string),
            bot: true,
            public: Some(false),
            kind: None,
            in_scope: Some(true),
            actionable: None,
            handle_seconds: handle,
            team: Some("t".into()),
            derived: None,
            corrected: None,
        }
    }

    #[test]
    fn one_row_kept_apart_from_its_key_reads_back_whole() {
        let m = message("m1", Some("bonjour\r\nà vous 🙂"), Some(12.5));
        let tf = TextFacts {
            signed: Some(false),
            bare_thanks: false,
            label: Label::of_code(2),
            competitor: true,
            faq: 3,
            themes: 5,
        };
        let data = encode_data(&m, &tf, 42);
        let r = row_of_data("m1", 9, &data).unwrap();
        let mut want = m.clone();
        want.derived = Some(tf);
        assert_eq!((r.message(), r.fp, r.line, r.src), (want, 9, 42, 0));
        assert!(r.is(&m));
        assert!(row_of_data("m1", 9, &data[..data.len() - 1]).is_err());
        let mut longer = data.clone();
        longer.push(0);
        assert!(row_of_data("m1", 9, &longer).is_err());
    }

    #[test]
    fn rows_come_back_as_written_except_the_dead() {
        let a = message("m1", Some("bonjour\r\nà vous"), Some(12.5));
        let b = message("m2", None, None);
        let tf = TextFacts {
            signed: Some(true),
            bare_thanks: true,
            label: Label::of_code(3),
            competitor: true,
            faq: 300,
            themes: 1 << 40,
        };
        let rows = [
            Row { m: a.clone(), tf, fp: u64::MAX, src: 7, line: 1 << 40 },
            Row { m: b.clone(), tf: TextFacts::default(), fp: 1, src: 1, line: 2 },
        ];
        let (keys, data) = encode(&rows);
        let mut back = Vec::new();
        each_row(&keys, &data, 2, None, |i, r| {
            back.push((i, r.message(), r.fp, r.src, r.line));
            Ok(())
        })
        .unwrap();
        let mut want_a = a.clone();
        want_a.derived = Some(tf);
        let mut want_b = b.clone();
        want_b.derived = Some(TextFacts::default());
        assert_eq!(back, vec![(0, want_a, u64::MAX, 7, 1 << 40), (1, want_b.clone(), 1, 1, 2)]);
        let mut owned = Vec::new();
        each_row(&keys, &data, 2, None, |_, r| {
            owned.push(r.row());
            Ok(())
        })
        .unwrap();
        assert_eq!(owned, rows, "written again as read");
        let dead = mark_dead(None, 2, &[0]);
        assert_eq!(dead, vec![1]);
        let mut live = Vec::new();
        each_row(&keys, &data, 2, Some(&dead), |i, r| {
            live.push((i, r.id.to_string()));
            Ok(())
        })
        .unwrap();
        assert_eq!(live, vec![(1, "m2".to_string())]);
        let mut ks = Vec::new();
        each_key(&keys, 2, |i, id, fp| {
            ks.push((i, id.to_string(), fp));
            Ok(())
        })
        .unwrap();
        assert_eq!(ks, vec![(0, "m1".into(), u64::MAX), (1, "m2".into(), 1)]);
    }

    #[test]
    fn a_row_is_read_alone_from_its_offsets() {
        let (a, b) = (message("m1", Some("un"), None), message("m22", None, Some(1.0)));
        let tf = TextFacts::default();
        let (keys, data) = encode(&[
            Row { m: a.clone(), tf, fp: 1, src: 1, line: 2 },
            Row { m: b.clone(), tf, fp: 2, src: 1, line: 3 },
        ]);
        let at = offsets(&keys, &data, 2).unwrap();
        assert_eq!(at.len(), 3);
        assert_eq!(at[2], (keys.len() as u32, data.len() as u32));
        let (k, d) = (at[1].0 as usize..at[2].0 as usize, at[1].1 as usize..at[2].1 as usize);
        let r = row_of(&keys[k.clone()], &data[d.clone()]).unwrap();
        assert!(r.is(&b) && !r.is(&a));
        assert_eq!((r.fp, r.line), (2, 3));
        assert!(row_of(&keys[k], &data[at[0].1 as usize..at[2].1 as usize]).is_err(), "two rows' data");
        assert!(offsets(&keys, &data, ROWS_PER_CHUNK + 1).is_err());
    }

    #[test]
    fn a_batch_is_full_at_its_row_count_or_its_bytes() {
        let row =
            |text: String| Row { m: message("m", Some(&text), None), tf: TextFacts::default(), fp: 0, src: 1, line: 1 };
        let mut b = Batch::default();
        assert!((1..ROWS_PER_CHUNK).all(|_| !b.push(row(String::new()))));
        assert!(b.push(row(String::new())), "full at {ROWS_PER_CHUNK} rows");
        let (n, keys, data) = b.take();
        assert_eq!(n, ROWS_PER_CHUNK);
        assert!(b.rows.is_empty() && each_row(&keys, &data, n, None, |_, _| Ok(())).is_ok());
        assert!(!b.push(row("x".repeat(CHUNK_BYTES / 2))));
        assert!(b.push(row("x".repeat(CHUNK_BYTES / 2))), "full at {CHUNK_BYTES} bytes");
    }

    #[test]
    fn a_cut_chunk_is_corrupt_not_a_panic() {
        let a = message("m1", Some("texte"), None);
        let (keys, data) = encode(&[Row { m: a, tf: TextFacts::default(), fp: 3, src: 1, line: 1 }]);
        for cut in 0..data.len() {
            assert!(each_row(&keys, &data[..cut], 1, None, |_, _| Ok(())).is_err(), "cut at {cut}");
        }
        assert!(each_row(&keys, &data, 2, None, |_, _| Ok(())).is_err());
    }
}
