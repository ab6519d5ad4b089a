//! The binary layout of fact chunks: fixed-size little-endian rows stored by byte planes (see
//! [`planes`]), strings with a varint length. Reports read only the `req`/`msg`/`conv` chunks;
//! drill-downs add the `*_ids` chunks, stored in the same order.

use crate::StoreError;
use barometre_core::clock::{ConversationFact, MessageFact, Outcome, RequestFact, Role};
use barometre_core::engine::{ClockInput, ClockOut, ConvOut, MsgOut, ReqOut};
use barometre_core::table::{ConvRow, Dict, MsgRow, ReqRow, NONE};

/// Facts a chunk holds at most; a few hundred in tests, whose stores then hold many chunks.
pub const CHUNK_ROWS: usize = if cfg!(test) { 256 } else { 65_536 };

#[derive(Default)]
pub struct W(pub Vec<u8>);

impl W {
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    /// An unsigned LEB128 varint: most lengths take one byte.
    pub(crate) fn v(&mut self, mut x: u64) {
        while x >= 0x80 {
            self.0.push((x as u8) | 0x80);
            x >>= 7;
        }
        self.0.push(x as u8);
    }
    pub(crate) fn str(&mut self, s: &str) {
        self.v(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    /// `v(0)` for none, else `v(len + 1)` and the bytes.
    pub(crate) fn opt(&mut self, s: Option<&str>) {
        match s {
            None => self.v(0),
            Some(s) => {
                self.v(s.len() as u64 + 1);
                self.0.extend_from_slice(s.as_bytes());
            }
        }
    }
}

/// Stores fixed-size rows of `size` bytes by byte planes: for each byte of the row, either one
/// byte (`0`, then the byte) when every row has the same byte there, or the plane (`1`, then that
/// byte of every row). In a chunk of facts sorted by instant, the high bytes of instants, names'
/// numbers and absent values are the same in every row: chunks shrink about threefold, which is
/// that much less for an import to write and for a report to read.
pub fn planes(rows: &[u8], size: usize) -> Vec<u8> {
    let n = rows.len() / size;
    let mut out = Vec::with_capacity(rows.len() / 3 + size * 2);
    for k in 0..size {
        let first = rows.get(k).copied().unwrap_or(0);
        if (0..n).all(|i| rows[i * size + k] == first) {
            out.push(0);
            out.push(first);
        } else {
            out.push(1);
            out.extend((0..n).map(|i| rows[i * size + k]));
        }
    }
    out
}

/// The rows [`planes`] stored, `n` rows of `size` bytes, at once.
pub fn unplanes(b: &[u8], size: usize, n: usize) -> Result<Vec<u8>, StoreError> {
    let mut rows = Vec::with_capacity(n * size);
    unplanes_each(b, size, n, |block| rows.extend_from_slice(block))?;
    Ok(rows)
}

/// Rows a block of [`unplanes_each`] holds: a few kilobytes, in the first-level cache.
const BLOCK_ROWS: usize = 128;

/// The rows [`planes`] stored, handed to `each` a block of up to [`BLOCK_ROWS`] rows at a time.
/// Why blocks: writing a plane's byte into every row of a whole chunk (3 MB) at a stride of the
/// row's size went through memory once a plane — 14 % of a stored report's time (measured
/// 2026-12-02); a block stays in the cache while all its planes are written, and the caller reads
/// it there.
pub fn unplanes_each(b: &[u8], size: usize, n: usize, mut each: impl FnMut(&[u8])) -> Result<(), StoreError> {
    let bad = || StoreError::Corrupt(format!("fact chunk planes for {n} rows of {size} bytes"));
    // A chunk whose bytes are all constant says nothing of its row count: it is bounded here.
    if n > CHUNK_ROWS {
        return Err(bad());
    }
    // The constant bytes make a template row; the varying planes are then written over it.
    let mut template = vec![0u8; size];
    let mut varying: Vec<(usize, &[u8])> = Vec::new();
    let mut at = 0;
    for (k, t) in template.iter_mut().enumerate() {
        match b.get(at) {
            Some(0) => {
                *t = *b.get(at + 1).ok_or_else(bad)?;
                at += 2;
            }
            Some(1) => {
                varying.push((k, b.get(at + 1..at + 1 + n).ok_or_else(bad)?));
                at += 1 + n;
            }
            _ => return Err(bad()),
        }
    }
    if at != b.len() {
        return Err(bad());
    }
    if size == 0 {
        return Ok(());
    }
    let mut block: Vec<u8> = template.repeat(BLOCK_ROWS.min(n));
    for first in (0..n).step_by(BLOCK_ROWS) {
        let len = BLOCK_ROWS.min(n - first);
        let rows = &mut block[..len * size];
        for &(k, plane) in &varying {
            for (row, &v) in rows.chunks_exact_mut(size).zip(&plane[first..first + len]) {
                row[k] = v;
            }
        }
        each(rows);
    }
    Ok(())
}

pub struct R<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> R<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        R { b, at: 0 }
    }
    /// Where the next read starts.
    pub(crate) fn at(&self) -> usize {
        self.at
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        let short = || StoreError::Corrupt("chunk too short".into());
        let s = self.b.get(self.at..self.at.checked_add(n).ok_or_else(short)?).ok_or_else(short)?;
        self.at += n;
        Ok(s)
    }
    pub(crate) fn fixed<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }
    pub(crate) fn u32(&mut self) -> Result<u32, StoreError> {
        Ok(u32::from_le_bytes(self.fixed()?))
    }
    pub(crate) fn v(&mut self) -> Result<u64, StoreError> {
        let mut x = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)?[0];
            x |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(x);
            }
        }
        Err(StoreError::Corrupt("chunk: varint too long".into()))
    }
    fn utf8(b: &'a [u8]) -> Result<&'a str, StoreError> {
        std::str::from_utf8(b).map_err(|_| StoreError::Corrupt("chunk: string not UTF-8".into()))
    }
    /// A string, borrowed from the chunk.
    pub(crate) fn str_ref(&mut self) -> Result<&'a str, StoreError> {
        let n = self.v()? as usize;
        Self::utf8(self.take(n)?)
    }
    /// An optional string ([`W::opt`]), borrowed from the chunk.
    pub(crate) fn opt_ref(&mut self) -> Result<Option<&'a str>, StoreError> {
        match self.v()? {
            0 => Ok(None),
            n => Ok(Some(Self::utf8(self.take(n as usize - 1)?)?)),
        }
    }
    fn str(&mut self) -> Result<String, StoreError> {
        self.str_ref().map(str::to_string)
    }
    fn opt(&mut self) -> Result<Option<String>, StoreError> {
        Ok(self.opt_ref()?.map(str::to_string))
    }
}

fn outcome_code(o: Outcome) -> u8 {
    match o {
        Outcome::Answered => 0,
        Outcome::Examined => 1,
        Outcome::Unanswered => 2,
    }
}
fn outcome_of(c: u8) -> Outcome {
    match c & 3 {
        0 => Outcome::Answered,
        1 => Outcome::Examined,
        _ => Outcome::Unanswered,
    }
}
fn role_code(r: Role) -> u8 {
    match r {
        Role::Customer => 0,
        Role::Reply => 1,
        Role::Proactive => 2,
        Role::Bot => 3,
    }
}
fn role_of(c: u8) -> Role {
    match c {
        0 => Role::Customer,
        1 => Role::Reply,
        2 => Role::Proactive,
        _ => Role::Bot,
    }
}
fn tri(v: Option<bool>) -> u8 {
    match v {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    }
}
fn tri_of(c: u8) -> Option<bool> {
    match c & 3 {
        1 => Some(false),
        2 => Some(true),
        _ => None,
    }
}

/// One chunk of a part, encoded: what a store writes.
pub struct Encoded {
    pub part: &'static str,
    pub seq: usize,
    /// The first and last row's instants.
    pub lo: i64,
    pub hi: i64,
    pub n: usize,
    pub data: Vec<u8>,
}

/// The part that says what each chunk of messages covers ([`encode_cover`]).
pub const COVER: &str = "msg_cover";

/// Encodes the clock's output chunk by chunk, in the order every store writes it — requests,
/// conversations, then messages; each chunk's compact rows, then (messages) its cover, then its
/// ids — handing each to `put`, which says whether to go on. On one thread: the reference that
/// [`encode_all_par`], which stores use, is tested against.
#[cfg(test)]
pub fn encode_all(out: &ClockOut, inp: &ClockInput, mut put: impl FnMut(Encoded) -> bool) {
    type Cover<T> = fn(&[T]) -> (usize, Vec<u8>);
    fn part<T>(
        all: &[T],
        (hot_part, ids_part): (&'static str, &'static str),
        ms: impl Fn(&T) -> i64,
        encode: impl Fn(&[T]) -> (Vec<u8>, Vec<u8>),
        cover: Option<Cover<T>>,
        put: &mut impl FnMut(Encoded) -> bool,
    ) -> bool {
        all.chunks(CHUNK_ROWS).enumerate().all(|(seq, rows)| {
            let (hot, ids) = encode(rows);
            let (lo, hi, n) = (ms(&rows[0]), ms(&rows[rows.len() - 1]), rows.len());
            put(Encoded { part: hot_part, seq, lo, hi, n, data: hot })
                && cover.is_none_or(|c| {
                    let (n, data) = c(rows);
                    put(Encoded { part: COVER, seq, lo, hi, n, data })
                })
                && put(Encoded { part: ids_part, seq, lo, hi, n, data: ids })
        })
    }
    let _ = part(&out.reqs, ("req", "req_ids"), |x| x.row.start_ms, |r| encode_reqs(r, inp), None, &mut put)
        && part(&out.convs, ("conv", "conv_ids"), |x| x.row.start_ms, |r| encode_convs(r, inp), None, &mut put)
        && part(
            &out.msgs,
            ("msg", "msg_ids"),
            |x| x.row.ms,
            |r| encode_msgs(r, inp),
            Some(|r: &[MsgOut]| encode_cover(r.iter().map(|x| &x.row))),
            &mut put,
        );
}

/// Threads that encode fact chunks while the importing thread writes them (which mostly waits).
pub fn encoders() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Chunks encoded ahead of the one being written, at most: memory stays bounded.
const AHEAD: usize = 8;

/// Encodes the clock's output chunk by chunk on `threads` threads at once, handing each chunk
/// to `put` on this thread in the order every store writes them — requests, conversations, then
/// messages; each chunk's compact rows, then (messages) its cover, then its ids — while `put`
/// says to go on. Why several threads: encoding (ids looked up for every fact) took 0.51–0.57 s
/// of a million messages' facts, writing them 0.08 s (measured 2026-12-02): one encoder kept the
/// writer waiting.
pub fn encode_all_par(out: &ClockOut, inp: &ClockInput, threads: usize, mut put: impl FnMut(Encoded) -> bool) {
    #[derive(Clone, Copy)]
    enum Job {
        Req(usize),
        Conv(usize),
        Msg(usize),
    }
    let chunks = |n: usize| n.div_ceil(CHUNK_ROWS);
    let jobs: Vec<Job> = (0..chunks(out.reqs.len()))
        .map(Job::Req)
        .chain((0..chunks(out.convs.len())).map(Job::Conv))
        .chain((0..chunks(out.msgs.len())).map(Job::Msg))
        .collect();
    let slice = |all_len: usize, i: usize| i * CHUNK_ROWS..((i + 1) * CHUNK_ROWS).min(all_len);
    /// A chunk's parts: its compact rows, its cover (messages), its ids.
    fn parts<T>(
        rows: &[T],
        seq: usize,
        (hot_part, ids_part): (&'static str, &'static str),
        ms: impl Fn(&T) -> i64,
        (hot, ids): (Vec<u8>, Vec<u8>),
        cover: Option<(usize, Vec<u8>)>,
    ) -> Vec<Encoded> {
        let (lo, hi, n) = (ms(&rows[0]), ms(&rows[rows.len() - 1]), rows.len());
        let mut v = vec![Encoded { part: hot_part, seq, lo, hi, n, data: hot }];
        v.extend(cover.map(|(k, data)| Encoded { part: COVER, seq, lo, hi, n: k, data }));
        v.push(Encoded { part: ids_part, seq, lo, hi, n, data: ids });
        v
    }
    let encode = |job: Job| -> Vec<Encoded> {
        match job {
            Job::Req(seq) => {
                let rows = &out.reqs[slice(out.reqs.len(), seq)];
                parts(rows, seq, ("req", "req_ids"), |x| x.row.start_ms, encode_reqs(rows, inp), None)
            }
            Job::Conv(seq) => {
                let rows = &out.convs[slice(out.convs.len(), seq)];
                parts(rows, seq, ("conv", "conv_ids"), |x| x.row.start_ms, encode_convs(rows, inp), None)
            }
            Job::Msg(seq) => {
                let rows = &out.msgs[slice(out.msgs.len(), seq)];
                parts(
                    rows,
                    seq,
                    ("msg", "msg_ids"),
                    |x| x.row.ms,
                    encode_msgs(rows, inp),
                    Some(encode_cover(rows.iter().map(|x| &x.row))),
                )
            }
        }
    };
    struct Shared {
        /// Encoded jobs not yet written, by number.
        done: std::collections::HashMap<usize, Vec<Encoded>>,
        /// The next job to hand out and the next to write.
        next: usize,
        written: usize,
        stop: bool,
    }
    let shared = std::sync::Mutex::new(Shared { done: Default::default(), next: 0, written: 0, stop: false });
    let changed = std::sync::Condvar::new();
    let lock = || shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    std::thread::scope(|sc| {
        for _ in 0..threads.max(1) {
            sc.spawn(|| loop {
                let mut s = lock();
                while !s.stop && s.next < jobs.len() && s.next >= s.written + AHEAD {
                    s = changed.wait(s).unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                if s.stop || s.next >= jobs.len() {
                    return;
                }
                let j = s.next;
                s.next += 1;
                drop(s);
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| encode(jobs[j]))) {
                    Ok(e) => {
                        lock().done.insert(j, e);
                        changed.notify_all();
                    }
                    // The writer is told not to wait for this job; the scope raises the panic.
                    Err(p) => {
                        lock().stop = true;
                        changed.notify_all();
                        std::panic::resume_unwind(p);
                    }
                }
            });
        }
        'write: for j in 0..jobs.len() {
            let mut s = lock();
            let encoded = loop {
                if let Some(e) = s.done.remove(&j) {
                    break e;
                }
                if s.stop {
                    break 'write;
                }
                s = changed.wait(s).unwrap_or_else(std::sync::PoisonError::into_inner);
            };
            s.written = j + 1;
            drop(s);
            changed.notify_all();
            for e in encoded {
                if !put(e) {
                    break 'write;
                }
            }
        }
        lock().stop = true;
        changed.notify_all();
    });
}

pub fn encode_dict(d: &Dict) -> Vec<u8> {
    let mut w = W::default();
    w.u32(d.len() as u32);
    for n in d.names() {
        w.str(n);
    }
    w.0
}

pub fn decode_dict(b: &[u8]) -> Result<Dict, StoreError> {
    let mut r = R::new(b);
    let n = r.u32()?;
    let names = (0..n).map(|_| r.str()).collect::<Result<Vec<_>, _>>()?;
    Ok(Dict::from_names(names))
}

pub fn encode_reqs(rows: &[ReqOut], inp: &ClockInput) -> (Vec<u8>, Vec<u8>) {
    let (hot, ids) = encode_reqs_rows(rows, inp);
    (planes(&hot, REQ_SIZE), ids)
}

/// [`encode_reqs`]'s rows one after another, before [`planes`]: what a patch merges.
pub fn encode_reqs_rows(rows: &[ReqOut], inp: &ClockInput) -> (Vec<u8>, Vec<u8>) {
    let mut w = W(Vec::with_capacity(rows.len() * REQ_SIZE));
    let mut ids = W::default();
    for (k, x) in rows.iter().enumerate() {
        warm(rows, k, |y| {
            inp.ids.touch(y.first) ^ inp.touch_conv(y.conv) ^ inp.ids.touch(y.answer) ^ inp.names.touch(y.customer)
        });
        let r = &x.row;
        w.i64(r.start_ms);
        w.i64(r.closed_ms);
        w.u32(r.account);
        w.u32(r.channel);
        w.u32(r.agent);
        w.u32(r.team);
        w.u8(outcome_code(r.outcome) | u8::from(r.public) << 2 | u8::from(r.first) << 3);
        w.i64(r.customer as i64);
        ids.str(inp.id(x.first));
        ids.str(inp.conv_name(x.conv));
        ids.opt((x.customer != NONE).then(|| inp.names.name(x.customer).unwrap_or_default()));
        ids.opt((x.answer != NONE).then(|| inp.id(x.answer)));
        ids.u32(x.messages);
    }
    (w.0, ids.0)
}

fn le64(b: &[u8]) -> i64 {
    i64::from_le_bytes(b.try_into().expect("8 bytes"))
}
fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b.try_into().expect("4 bytes"))
}

/// Rows whose names [`warm`] loads into the cache together.
const WARM: usize = 64;

/// Every [`WARM`] rows (at `k`), loads the names the next ones look up into the processor's
/// cache. Why: facts are encoded in instant order while their names lie in reading order, so
/// each lookup is a trip to main memory; encoding takes one at a time, a loop that only
/// `touch`es keeps dozens in flight. Measured on a million messages (2026-12-03): encoding and
/// writing the facts went from 0.44–0.51 s to 0.25–0.29 s.
#[inline]
fn warm<T>(rows: &[T], k: usize, touch: impl Fn(&T) -> u8) {
    if k.is_multiple_of(WARM) {
        std::hint::black_box(rows[k..].iter().take(WARM).fold(0, |t, y| t ^ touch(y)));
    }
}

pub(crate) const REQ_SIZE: usize = 41;
pub(crate) const MSG_SIZE: usize = 47;

pub fn decode_reqs(b: &[u8], n: usize, out: &mut Vec<ReqRow>) -> Result<(), StoreError> {
    out.reserve(n.min(CHUNK_ROWS));
    unplanes_each(b, REQ_SIZE, n, |b| {
        out.extend(b.chunks_exact(REQ_SIZE).map(|x| {
            let f = x[32];
            ReqRow {
                start_ms: le64(&x[0..8]),
                closed_ms: le64(&x[8..16]),
                account: le32(&x[16..20]),
                channel: le32(&x[20..24]),
                agent: le32(&x[24..28]),
                team: le32(&x[28..32]),
                outcome: outcome_of(f),
                public: f & 4 != 0,
                first: f & 8 != 0,
                customer: le64(&x[33..41]) as u64,
            }
        }))
    })
}

pub fn encode_msgs(rows: &[MsgOut], inp: &ClockInput) -> (Vec<u8>, Vec<u8>) {
    let (hot, ids) = encode_msgs_rows(rows, inp);
    (planes(&hot, MSG_SIZE), ids)
}

/// [`encode_msgs`]'s rows one after another, before [`planes`]: what a patch merges.
pub fn encode_msgs_rows(rows: &[MsgOut], inp: &ClockInput) -> (Vec<u8>, Vec<u8>) {
    let mut w = W(Vec::with_capacity(rows.len() * MSG_SIZE));
    let mut ids = W::default();
    for (k, x) in rows.iter().enumerate() {
        warm(rows, k, |y| {
            let author = inp.rows.get(y.msg as usize).map_or(NONE, |r| r.author);
            inp.ids.touch(y.msg) ^ inp.touch_conv(y.conv) ^ inp.ids.touch(y.request) ^ inp.names.touch(author)
        });
        let m = &x.row;
        w.i64(m.ms);
        w.u32(m.account);
        w.u32(m.channel);
        w.u32(m.agent);
        w.u32(m.team);
        w.i64(m.handle_ms);
        // Bit 7 of the role byte: an `out` message attached to nothing.
        w.u8(role_code(m.role) | u8::from(m.unattached) << 7);
        w.u8(tri(m.in_scope)
            | tri(m.signed) << 2
            | u8::from(m.public) << 4
            | u8::from(m.actionable) << 5
            | u8::from(m.feedback) << 6
            | u8::from(m.answered) << 7);
        w.u8(m.label);
        w.u32(m.faq);
        w.i64(m.themes as i64);
        ids.str(inp.id(x.msg));
        ids.str(inp.conv_name(x.conv));
        ids.str(inp.names.name(inp.rows[x.msg as usize].author).unwrap_or_default());
        ids.opt((x.request != NONE).then(|| inp.id(x.request)));
    }
    (w.0, ids.0)
}

/// What a chunk of messages holds for a report that reads no message itself
/// ([`barometre_core::report::reads_messages`]): its unattached messages' count, then each
/// account, channel, agent and team it holds, with its latest instant (`v` unattached, `v`
/// count, then per entry four `u32` and an `i64`, by instant). A few entries for 65,536 rows.
pub fn encode_cover<'a>(rows: impl IntoIterator<Item = &'a MsgRow>) -> (usize, Vec<u8>) {
    let mut latest: std::collections::HashMap<[u32; 4], i64> = std::collections::HashMap::new();
    let mut unattached = 0u64;
    for m in rows {
        unattached += u64::from(m.unattached);
        let e = latest.entry([m.account, m.channel, m.agent, m.team]).or_insert(m.ms);
        *e = (*e).max(m.ms);
    }
    let mut entries: Vec<([u32; 4], i64)> = latest.into_iter().collect();
    entries.sort_unstable_by_key(|&(k, ms)| (ms, k));
    let mut w = W::default();
    w.v(unattached);
    w.v(entries.len() as u64);
    for (k, ms) in &entries {
        for x in k {
            w.u32(*x);
        }
        w.i64(*ms);
    }
    (entries.len(), w.0)
}

/// Rows standing for a chunk's messages ([`encode_cover`]), onto `out`; its unattached count.
pub fn decode_cover(b: &[u8], out: &mut Vec<MsgRow>) -> Result<u64, StoreError> {
    let mut r = R::new(b);
    let unattached = r.v()?;
    let n = r.v()?;
    for _ in 0..n {
        let [account, channel, agent, team] = [r.u32()?, r.u32()?, r.u32()?, r.u32()?];
        let ms = i64::from_le_bytes(r.fixed()?);
        out.push(MsgRow {
            ms,
            account,
            channel,
            agent,
            team,
            handle_ms: i64::MIN,
            role: Role::Customer,
            public: false,
            in_scope: None,
            actionable: false,
            signed: None,
            feedback: false,
            label: 0,
            faq: 0,
            themes: 0,
            answered: false,
            unattached: false,
        });
    }
    if r.at() != b.len() {
        return Err(StoreError::Corrupt("message cover: trailing bytes".into()));
    }
    Ok(unattached)
}

pub fn decode_msgs(b: &[u8], n: usize, out: &mut Vec<MsgRow>) -> Result<(), StoreError> {
    out.reserve(n.min(CHUNK_ROWS));
    unplanes_each(b, MSG_SIZE, n, |b| {
        out.extend(b.chunks_exact(MSG_SIZE).map(|x| {
            let f = x[33];
            MsgRow {
                ms: le64(&x[0..8]),
                account: le32(&x[8..12]),
                channel: le32(&x[12..16]),
                agent: le32(&x[16..20]),
                team: le32(&x[20..24]),
                handle_ms: le64(&x[24..32]),
                role: role_of(x[32] & 0x7f),
                in_scope: tri_of(f),
                signed: tri_of(f >> 2),
                public: f & 16 != 0,
                actionable: f & 32 != 0,
                feedback: f & 64 != 0,
                answered: f & 128 != 0,
                unattached: x[32] & 0x80 != 0,
                label: x[34],
                faq: le32(&x[35..39]),
                themes: le64(&x[39..47]) as u64,
            }
        }))
    })
}

fn name(d: &Dict, id: u32) -> String {
    d.name(id).unwrap_or_default().to_string()
}
fn opt_name(d: &Dict, id: u32) -> Option<String> {
    if id == NONE {
        None
    } else {
        d.name(id).map(str::to_string)
    }
}

/// Rebuilds full request facts from compact rows and their ids.
pub fn decode_req_facts(d: &Dict, rows: &[ReqRow], ids: &[u8], out: &mut Vec<RequestFact>) -> Result<(), StoreError> {
    let mut r = R::new(ids);
    for x in rows {
        out.push(RequestFact {
            request_id: r.str()?,
            conversation_id: r.str()?,
            customer: r.opt()?,
            answer_id: r.opt()?,
            messages: r.u32()?,
            account: name(d, x.account),
            channel: name(d, x.channel),
            public: x.public,
            start_ms: x.start_ms,
            first_of_conversation: x.first,
            outcome: x.outcome,
            closed_ms: x.closed(),
            agent: opt_name(d, x.agent),
            team: opt_name(d, x.team),
        });
    }
    Ok(())
}

pub fn decode_msg_facts(d: &Dict, rows: &[MsgRow], ids: &[u8], out: &mut Vec<MessageFact>) -> Result<(), StoreError> {
    let mut r = R::new(ids);
    for x in rows {
        out.push(MessageFact {
            message_id: r.str()?,
            conversation_id: r.str()?,
            author_id: r.str()?,
            request_id: r.opt()?,
            account: name(d, x.account),
            channel: name(d, x.channel),
            ms: x.ms,
            role: x.role,
            agent: opt_name(d, x.agent),
            team: opt_name(d, x.team),
            public: x.public,
            in_scope: x.in_scope,
            actionable: x.actionable,
            signed: x.signed,
            handle_seconds: x.handle().map(|h| h as f64 / 1000.0),
            feedback: x.feedback,
            label: x.label(),
            label_source: x.label_source(),
            competitor: x.names_competitor(),
            faq: (x.faq != 0).then_some(x.faq),
            themes: barometre_core::clock::Themes(x.themes),
            answered: x.answered,
            unattached: x.unattached,
        });
    }
    Ok(())
}

pub(crate) const CONV_SIZE: usize = 69;

pub fn encode_convs(rows: &[ConvOut], inp: &ClockInput) -> (Vec<u8>, Vec<u8>) {
    let (hot, ids) = encode_convs_rows(rows, inp);
    (planes(&hot, CONV_SIZE), ids)
}

/// [`encode_convs`]'s rows one after another, before [`planes`]: what a patch merges.
pub fn encode_convs_rows(rows: &[ConvOut], inp: &ClockInput) -> (Vec<u8>, Vec<u8>) {
    let mut w = W(Vec::with_capacity(rows.len() * CONV_SIZE));
    let mut ids = W::default();
    for (k, x) in rows.iter().enumerate() {
        warm(rows, k, |y| inp.touch_conv(y.conv));
        let c = &x.row;
        for v in [c.start_ms, c.first_resolved_ms, c.final_resolved_ms, c.complaint_ms, c.complaint_resolved_ms] {
            w.i64(v);
        }
        for v in [c.account, c.channel, c.agent, c.team, c.reopens, c.human_out] {
            w.u32(v);
        }
        // Bit 0: automated replies only; bit 1: handled by a person; bit 2: public.
        w.u8(u8::from(c.bot_only) | u8::from(c.human) << 1 | u8::from(c.public) << 2);
        w.u32(c.participants);
        ids.str(inp.conv_name(x.conv));
    }
    (w.0, ids.0)
}

pub fn decode_convs(b: &[u8], n: usize, out: &mut Vec<ConvRow>) -> Result<(), StoreError> {
    out.reserve(n.min(CHUNK_ROWS));
    unplanes_each(b, CONV_SIZE, n, |b| out.extend(b.chunks_exact(CONV_SIZE).map(conv_row)))
}

/// A conversation's compact row from its bytes (row-major, [`encode_convs_rows`]).
pub fn conv_row(x: &[u8]) -> ConvRow {
    ConvRow {
        start_ms: le64(&x[0..8]),
        first_resolved_ms: le64(&x[8..16]),
        final_resolved_ms: le64(&x[16..24]),
        complaint_ms: le64(&x[24..32]),
        complaint_resolved_ms: le64(&x[32..40]),
        account: le32(&x[40..44]),
        channel: le32(&x[44..48]),
        agent: le32(&x[48..52]),
        team: le32(&x[52..56]),
        reopens: le32(&x[56..60]),
        human_out: le32(&x[60..64]),
        bot_only: x[64] & 1 != 0,
        human: x[64] & 2 != 0,
        public: x[64] & 4 != 0,
        participants: le32(&x[65..69]),
    }
}

pub fn decode_conv_facts(
    d: &Dict,
    rows: &[ConvRow],
    ids: &[u8],
    out: &mut Vec<ConversationFact>,
) -> Result<(), StoreError> {
    let mut r = R::new(ids);
    let at = |x: i64| (x != i64::MIN).then_some(x);
    for c in rows {
        out.push(ConversationFact {
            conversation_id: r.str()?,
            start_ms: c.start_ms,
            account: name(d, c.account),
            channel: name(d, c.channel),
            agent: opt_name(d, c.agent),
            team: opt_name(d, c.team),
            first_resolved_ms: at(c.first_resolved_ms),
            final_resolved_ms: at(c.final_resolved_ms),
            reopens: c.reopens,
            complaint_ms: at(c.complaint_ms),
            complaint_resolved_ms: at(c.complaint_resolved_ms),
            human_out: c.human_out,
            bot_only: c.bot_only,
            human: c.human,
            participants: c.participants,
            public: c.public,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo's messages (about forty chunks of 256 facts in tests) encoded on one thread and
    /// on three: the same chunks in the same order; and a writer that stops early stops them all.
    #[test]
    fn chunks_encoded_at_once_come_in_the_order_of_one_encoder() {
        let cfg = barometre_core::config::Config::default();
        let data = barometre_core::demo::generate(5, 30, 1_780_000_000_000);
        let mut bulk = barometre_core::engine::Bulk::default();
        for m in &data.messages {
            bulk.push_message(m, &cfg);
        }
        let inp = bulk.finish().0;
        let mut out = barometre_core::engine::run(&inp, &cfg);
        out.sort(&inp);
        let mut one = Vec::new();
        encode_all(&out, &inp, |c| {
            one.push((c.part, c.seq, c.lo, c.hi, c.n, c.data));
            true
        });
        assert!(one.iter().filter(|c| c.0 == "msg").count() > 10, "{} chunks", one.len());
        for threads in [1, 3] {
            let mut par = Vec::new();
            encode_all_par(&out, &inp, threads, |c| {
                par.push((c.part, c.seq, c.lo, c.hi, c.n, c.data));
                true
            });
            assert!(par == one, "{threads} threads");
        }
        let mut taken = 0;
        encode_all_par(&out, &inp, 2, |_| {
            taken += 1;
            taken < 5
        });
        assert_eq!(taken, 5, "nothing is handed after the writer said stop");
    }

    #[test]
    fn byte_planes_keep_rows_and_shrink_constant_bytes() {
        // Three rows of 4 bytes: byte 0 varies, bytes 1–3 are the same in every row.
        let rows = [1, 9, 0, 0, 2, 9, 0, 0, 3, 9, 0, 0];
        let p = planes(&rows, 4);
        assert_eq!(p, vec![1, 1, 2, 3, 0, 9, 0, 0, 0, 0]);
        assert_eq!(unplanes(&p, 4, 3).unwrap(), rows);
        assert_eq!(unplanes(&planes(&[], 4), 4, 0).unwrap(), Vec::<u8>::new());
        for cut in 0..p.len() {
            assert!(unplanes(&p[..cut], 4, 3).is_err(), "cut at {cut}");
        }
        assert!(unplanes(&[p.as_slice(), &[0]].concat(), 4, 3).is_err(), "trailing bytes");
        assert!(unplanes(&[2, 0, 0, 0, 0, 0, 0, 0], 4, 1).is_err(), "unknown plane kind");
    }

    #[test]
    fn strings_take_a_varint_length() {
        let mut w = W::default();
        w.str("é");
        w.opt(None);
        w.opt(Some(""));
        w.str(&"x".repeat(300));
        assert_eq!(&w.0[..5], &[2, 0xc3, 0xa9, 0, 1]);
        assert_eq!(&w.0[5..7], &[0xac, 0x02], "300 in two bytes");
        let mut r = R::new(&w.0);
        assert_eq!(r.str().unwrap(), "é");
        assert_eq!(r.opt().unwrap(), None);
        assert_eq!(r.opt().unwrap(), Some(String::new()));
        assert_eq!(r.str().unwrap().len(), 300);
        assert!(R::new(&[5, b'a']).str().is_err(), "shorter than its length");
    }
}
