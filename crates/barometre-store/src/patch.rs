//! The facts of a few conversations replaced inside stored fact chunks: what an import that
//! only appends messages writes, instead of every fact again (which conversations, and their
//! facts: [`barometre_core::engine::changed`] and [`barometre_core::engine::run_only`]).
//!
//! Facts are stored sorted — by instant, then by id (message, request) or name (conversation) —
//! in numbered chunks of at most [`CHUNK_ROWS`], each with its first and last instants. A patch
//! rewrites only the chunks that held the replaced facts or where the new ones sort: each run of
//! neighbouring chunks is read, its replaced facts left out, the new ones merged in that order,
//! and cut again into chunks of at most [`CHUNK_ROWS`]. Readers, which read chunks in number
//! order, then see every fact in the order a whole computation stores them.

use std::ops::Range;

use crate::chunks::{self, CHUNK_ROWS, R};
use crate::StoreError;
use barometre_core::config::Config;
use barometre_core::engine::{self, ClockInput};
use barometre_core::table::Dict;

/// Past this share of the messages (held in touched conversations, or new), writing every fact
/// again costs less than patching chunk by chunk.
const MOST: usize = 4;

/// A run of stored chunks (positions among the part's) and the chunks that replace it.
pub type Rewrite = (Range<usize>, Vec<Written>);

/// What a patch did: the conversations and chunks it wrote again.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Patched {
    pub conversations: usize,
    pub chunks: usize,
}

/// A workspace's stored facts, as a patch reads them: every back end that keeps the chunks.
pub trait Stored {
    /// The dictionary the stored facts number their dimensions by.
    fn dict(&mut self) -> Result<Dict, StoreError>;
    /// A part's chunks, in number order.
    fn metas(&mut self, part: &str) -> Result<Vec<Meta>, StoreError>;
    /// A chunk's fact count and stored bytes.
    fn chunk(&mut self, part: &str, seq: i64) -> Result<(usize, Vec<u8>), StoreError>;
}

/// What a patch writes: for each kind, its chunks as they were and the runs replaced; and
/// whether the dictionary grew (new names, after the stored ones).
pub struct Plan {
    pub writes: Vec<(Kind, Vec<Meta>, Vec<Rewrite>)>,
    pub dict_grew: bool,
    /// The conversations computed again.
    pub conversations: usize,
    /// Their names: every fact of a conversation of one of these names is replaced.
    pub touched: Vec<String>,
    /// Their requests, computed again (sorted as stored): what a back end that keeps requests
    /// apart (ClickHouse's `requests`) writes in place of theirs.
    pub reqs: Vec<engine::ReqOut>,
}

/// The patch that replaces the facts of the conversations that rows `before..` of `inp` (every
/// live row, in stored order, the new ones last), the held rows `also` (changed in place: a
/// label) and the new events naming `events` touch: those conversations alone run through the
/// clock ([`engine::changed`], [`engine::run_only`]), and only the chunks that held their facts,
/// or where the new ones sort, are written again. Everything is computed before anything is
/// written. `None` when it cannot, and the caller writes every fact again: the stored dimensions
/// are not the first of `inp`'s (a name first seen in events now comes after new rows' names),
/// kept facts number customers otherwise than `inp` (rows read back in another order), the
/// stored facts are not the rows' before this import, or too much changed.
pub fn plan(
    stored: &mut dyn Stored,
    cfg: &Config,
    inp: &ClockInput,
    before: usize,
    also: &[u32],
    events: &[String],
) -> Result<Option<Plan>, StoreError> {
    let dict = stored.dict()?;
    // Stored facts number dimensions as the dictionary does: new names may only come after.
    if dict.len() > inp.dims.len() || dict.names().zip(inp.dims.names()).any(|(a, b)| a != b) {
        return Ok(None);
    }
    let ch = engine::changed(inp, before, also, events.iter().map(String::as_str), cfg.session_gap_ms);
    if (ch.held + inp.len() - before) * MOST > inp.len() {
        return Ok(None);
    }
    let mut out = engine::run_only(inp, cfg, &|k| ch.names.contains(inp.conv_name(k)));
    out.sort(inp);
    let gone = |c: &str| ch.names.contains(c);

    // A patch that would not leave out as many messages as the touched conversations held is
    // not written at all.
    let mut writes: Vec<(Kind, Vec<Meta>, Vec<Rewrite>)> = Vec::new();
    let mut msgs_left_out = 0;
    for kind in Kind::ALL {
        let (hot_part, ids_part) = kind.parts();
        let metas = stored.metas(hot_part)?;
        let (rows, ids) = match kind {
            Kind::Req => chunks::encode_reqs_rows(&out.reqs, inp),
            Kind::Conv => chunks::encode_convs_rows(&out.convs, inp),
            Kind::Msg => chunks::encode_msgs_rows(&out.msgs, inp),
        };
        let new = items(kind, &rows, &ids)?;
        let runs = runs(&metas, &ch.spans, new.iter().map(|it| it.key));
        let mut per_run: Vec<Rewrite> = Vec::new();
        if metas.is_empty() {
            if !new.is_empty() {
                per_run.push((0..0, merge(kind, new)?));
            }
        } else {
            // New facts are sorted, and so are the runs: each run's are the next ones.
            let mut next = 0;
            for run in runs {
                let mut kept = Vec::with_capacity(run.len());
                for m in &metas[run.clone()] {
                    let (n, hot) = stored.chunk(hot_part, m.seq)?;
                    let (_, ids) = stored.chunk(ids_part, m.seq)?;
                    kept.push((chunks::unplanes(&hot, kind.size(), n)?, ids));
                }
                let mut all: Vec<Item> = Vec::new();
                for (rows, ids) in &kept {
                    for it in items(kind, rows, ids)? {
                        if gone(it.conv) {
                            msgs_left_out += usize::from(kind == Kind::Msg);
                            continue;
                        }
                        // The facts kept number customers as the rows read back do, or the
                        // rows do not come in the order the facts were computed in: then
                        // every fact is computed again. Checked by the name at the kept number:
                        // the same as looking the name's number up (names and numbers go one to
                        // one), without building the names' hash table for it (0.19 s of ten
                        // late answers into a million messages).
                        if kind == Kind::Req {
                            let same = match (it.customer, it.customer_number()) {
                                (None, 0) => true,
                                (Some(c), k) if k > 0 => {
                                    u32::try_from(k - 1).ok().and_then(|k| inp.names.name(k)) == Some(c)
                                }
                                _ => false,
                            };
                            if !same {
                                return Ok(None);
                            }
                        }
                        all.push(it);
                    }
                }
                while next < new.len() && run.contains(&place(&metas, new[next].key)) {
                    all.push(new[next]);
                    next += 1;
                }
                per_run.push((run, merge(kind, all)?));
            }
            if next != new.len() {
                return Err(StoreError::Corrupt(format!("{hot_part}: new facts outside the chunks patched")));
            }
        }
        writes.push((kind, metas, per_run));
    }
    if msgs_left_out != ch.held {
        // The stored facts are not the rows' before this import: compute everything again.
        return Ok(None);
    }
    Ok(Some(Plan {
        writes,
        dict_grew: inp.dims.len() > dict.len(),
        conversations: out.convs.len(),
        touched: ch.names.into_iter().collect(),
        reqs: out.reqs,
    }))
}

/// Whether `inp` names first the `n` names whose [`names_hash`] stored facts kept as `hash`:
/// then the facts' customer numbers are `inp`'s, and a patch may keep them.
pub fn same_names(inp: &ClockInput, n: usize, hash: i64) -> bool {
    n <= inp.names.len() && names_hash(inp, n) == hash
}

/// The first `n` names of `inp`, in number order, as FNV-1a sees them (stable across builds):
/// kept with stored facts, it tells whether rows read again number names (customers among
/// them) as the facts do — the rows the facts came from, read first and in the same order.
pub fn names_hash(inp: &ClockInput, n: usize) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for k in 0..n {
        // Each name, then a byte no UTF-8 text holds: "ab","c" and "a","bc" differ.
        for &b in inp.names.name(k as u32).unwrap_or("").as_bytes().iter().chain(&[0xff]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h as i64
}

/// A kind of fact, stored as two parts (and messages' cover).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Req,
    Conv,
    Msg,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Req, Kind::Conv, Kind::Msg];

    /// Its parts: compact rows, then ids.
    pub fn parts(self) -> (&'static str, &'static str) {
        match self {
            Kind::Req => ("req", "req_ids"),
            Kind::Conv => ("conv", "conv_ids"),
            Kind::Msg => ("msg", "msg_ids"),
        }
    }

    /// Every part a chunk of this kind is stored as.
    pub fn all_parts(self) -> &'static [&'static str] {
        match self {
            Kind::Req => &["req", "req_ids"],
            Kind::Conv => &["conv", "conv_ids"],
            Kind::Msg => &["msg", "msg_ids", chunks::COVER],
        }
    }

    /// The bytes of one compact row.
    pub fn size(self) -> usize {
        match self {
            Kind::Req => chunks::REQ_SIZE,
            Kind::Conv => chunks::CONV_SIZE,
            Kind::Msg => chunks::MSG_SIZE,
        }
    }

    /// One fact's ids, read past: the id its ties are ordered by, its conversation's name and
    /// (requests) its customer (the layouts of `chunks::encode_*`).
    #[allow(clippy::type_complexity)]
    fn ids<'a>(self, r: &mut R<'a>) -> Result<(&'a str, &'a str, Option<&'a str>), StoreError> {
        Ok(match self {
            Kind::Req => {
                let (id, conv, customer) = (r.str_ref()?, r.str_ref()?, r.opt_ref()?);
                r.opt_ref()?;
                r.u32()?;
                (id, conv, customer)
            }
            Kind::Msg => {
                let (id, conv) = (r.str_ref()?, r.str_ref()?);
                r.str_ref()?;
                r.opt_ref()?;
                (id, conv, None)
            }
            Kind::Conv => {
                let conv = r.str_ref()?;
                (conv, conv, None)
            }
        })
    }
}

/// A stored chunk's number and its first and last instants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    pub seq: i64,
    pub lo: i64,
    pub hi: i64,
}

/// The first chunk (a position in `metas`, which is in number order) holding instant `k`, else
/// the one `k` sorts at the end of, else the first. `metas` is not empty.
pub fn place(metas: &[Meta], k: i64) -> usize {
    let j = metas.partition_point(|m| m.hi < k);
    if j == metas.len() {
        j - 1
    } else if metas[j].lo <= k {
        j
    } else {
        j.saturating_sub(1)
    }
}

/// The chunks a patch rewrites, as runs of neighbours (positions in `metas`): every chunk that
/// meets one of `spans` (the replaced facts' instants), and for each of `keys` (the new facts'
/// instants) every chunk holding it — two neighbours may, on equal instants — else its
/// [`place`]. Chunks outside the runs keep their facts and their order around them.
pub fn runs(metas: &[Meta], spans: &[(i64, i64)], keys: impl IntoIterator<Item = i64>) -> Vec<Range<usize>> {
    let mut hit = vec![false; metas.len()];
    if metas.is_empty() {
        return Vec::new();
    }
    for &(a, b) in spans {
        let mut j = metas.partition_point(|m| m.hi < a);
        while j < metas.len() && metas[j].lo <= b {
            hit[j] = true;
            j += 1;
        }
    }
    for k in keys {
        let mut j = place(metas, k);
        hit[j] = true;
        while j + 1 < metas.len() && metas[j + 1].lo <= k {
            j += 1;
            hit[j] = true;
        }
    }
    let mut out: Vec<Range<usize>> = Vec::new();
    for (j, _) in hit.iter().enumerate().filter(|(_, &h)| h) {
        match out.last_mut() {
            Some(r) if r.end == j => r.end = j + 1,
            _ => out.push(j..j + 1),
        }
    }
    out
}

/// One fact: its instant, the id its ties are ordered by, its conversation's name, its compact
/// row and its ids, as stored.
#[derive(Clone, Copy, Debug)]
pub struct Item<'a> {
    pub key: i64,
    tie: &'a str,
    pub conv: &'a str,
    /// A request's customer, by name.
    pub customer: Option<&'a str>,
    hot: &'a [u8],
    ids: &'a [u8],
}

impl Item<'_> {
    /// A request's customer, by the number its compact row keeps (`ReqRow::customer`: the
    /// customer's number among the workspace's names, plus one; 0 for none).
    pub fn customer_number(&self) -> u64 {
        u64::from_le_bytes(self.hot[33..41].try_into().expect("a request row holds 41 bytes"))
    }
}

/// The facts of rows laid one after another (`chunks::encode_*_rows`, or a stored chunk's
/// planes undone) with their ids.
pub fn items<'a>(kind: Kind, rows: &'a [u8], ids: &'a [u8]) -> Result<Vec<Item<'a>>, StoreError> {
    let size = kind.size();
    let mut r = R::new(ids);
    let mut out = Vec::with_capacity(rows.len() / size);
    for hot in rows.chunks_exact(size) {
        let start = r.at();
        let (tie, conv, customer) = kind.ids(&mut r)?;
        let key = i64::from_le_bytes(hot[..8].try_into().expect("8 bytes"));
        out.push(Item { key, tie, conv, customer, hot, ids: &ids[start..r.at()] });
    }
    if r.at() != ids.len() {
        return Err(StoreError::Corrupt(format!("{}: ids for more facts than rows", kind.parts().1)));
    }
    Ok(out)
}

/// A chunk a patch writes.
#[derive(Debug)]
pub struct Written {
    pub n: usize,
    pub lo: i64,
    pub hi: i64,
    /// Compact rows by byte planes.
    pub hot: Vec<u8>,
    pub ids: Vec<u8>,
    /// Messages: the cover and its entries' count.
    pub cover: Option<(usize, Vec<u8>)>,
}

/// A run's facts in their stored order — `kept`, then `new`, both as stored — cut into chunks
/// of at most [`CHUNK_ROWS`] facts, as even as can be (none when no fact is left).
pub fn merge(kind: Kind, mut all: Vec<Item>) -> Result<Vec<Written>, StoreError> {
    // As the clock's output is sorted (`ClockOut::sort`): two conversations of one name that
    // start at one instant by their rows.
    all.sort_by(|a, b| {
        a.key.cmp(&b.key).then_with(|| a.tie.cmp(b.tie)).then_with(|| {
            if kind == Kind::Conv {
                chunks::conv_row(a.hot).cmp(&chunks::conv_row(b.hot))
            } else {
                std::cmp::Ordering::Equal
            }
        })
    });
    let m = all.len().div_ceil(CHUNK_ROWS);
    let mut out = Vec::with_capacity(m);
    let mut at = 0;
    for c in 0..m {
        let n = all.len() / m + usize::from(c < all.len() % m);
        let part = &all[at..at + n];
        at += n;
        let mut rows = Vec::with_capacity(n * kind.size());
        let mut ids = Vec::new();
        for it in part {
            rows.extend_from_slice(it.hot);
            ids.extend_from_slice(it.ids);
        }
        let hot = chunks::planes(&rows, kind.size());
        let cover = if kind == Kind::Msg {
            let mut msgs = Vec::with_capacity(n);
            chunks::decode_msgs(&hot, n, &mut msgs)?;
            Some(chunks::encode_cover(&msgs))
        } else {
            None
        };
        out.push(Written { n, lo: part[0].key, hi: part[n - 1].key, hot, ids, cover });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metas(v: &[(i64, i64)]) -> Vec<Meta> {
        v.iter().enumerate().map(|(k, &(lo, hi))| Meta { seq: k as i64, lo, hi }).collect()
    }

    #[test]
    fn an_instant_takes_the_chunks_holding_it_else_the_one_it_follows() {
        let m = metas(&[(10, 20), (20, 30), (40, 50)]);
        assert_eq!(place(&m, 5), 0, "before every chunk: the first");
        assert_eq!(place(&m, 15), 0);
        assert_eq!(place(&m, 20), 0, "the first of two holding it");
        assert_eq!(place(&m, 35), 1, "in a gap: the chunk before");
        assert_eq!(place(&m, 60), 2, "after every chunk: the last");
        assert_eq!(runs(&m, &[], [20]), vec![0..2], "equal instants on both sides of a cut");
        assert_eq!(runs(&m, &[], [35]), vec![1..2]);
        assert_eq!(runs(&m, &[(45, 47)], [5]), vec![0..1, 2..3]);
        assert_eq!(runs(&m, &[(25, 41)], []), vec![1..3]);
        assert_eq!(runs(&m, &[(31, 39)], []), Vec::<Range<usize>>::new(), "a span between chunks holds none");
        assert!(runs(&[], &[(0, 9)], [3]).is_empty());
    }
}
