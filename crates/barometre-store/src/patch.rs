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
