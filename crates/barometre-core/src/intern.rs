//! A string interner with one arena: each distinct string is stored once, in one growing buffer,
//! found again through an open-addressing table of ids. Millions of customer ids and message ids
//! then cost their bytes and a few integers, not an allocation each.
//!
//! Why not a general hash map: at ten million keys every probe is a trip to main memory, and a
//! map that keeps only ids must read the arena to rehash or to reject a candidate. Here a slot
//! holds 32 bits of the hash beside the id, so a new key costs one slot read (its tag rejects
//! the others) and growth re-hashes the arena in id order (sequential reads).
//!
//! Millions of names at once go through [`intern_all`] instead: a [`Strings`] column, hashed as
//! rows are read, is partitioned by hash into pieces the processor's cache holds and deduplicated
//! piece by piece, with the same ids as interning one by one would give.

use crate::fx::FxHasher;
use std::hash::Hasher;
use std::sync::OnceLock;

const EMPTY: u32 = u32::MAX;
/// The length that marks an absent entry in a [`Strings`] column.
const ABSENT: u32 = u32::MAX;
/// The length that marks an entry equal to the last value of its field.
const DITTO: u32 = u32::MAX - 1;

#[derive(Clone, Copy)]
struct Slot {
    tag: u32,
    id: u32,
}

#[derive(Default, Clone)]
pub struct Interner {
    arena: String,
    spans: Vec<(u32, u32)>,
    /// Built on first use: an interner made by [`intern_all`] may never be searched.
    slots: OnceLock<Vec<Slot>>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Interner {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// The hash the interner files a string under.
#[inline]
pub fn hash(s: &str) -> u64 {
    hash_bytes(s.as_bytes())
}

#[inline]
fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(b);
    h.finish()
}

#[inline]
fn tag(h: u64) -> u32 {
    (h >> 32) as u32
}

/// A table of `size` slots (a power of two) holding every id of `spans`.
fn build(arena: &str, spans: &[(u32, u32)], size: usize) -> Vec<Slot> {
    let mut slots = vec![Slot { tag: 0, id: EMPTY }; size];
    let mask = size - 1;
    for (id, &(a, n)) in spans.iter().enumerate() {
        let h = hash_bytes(&arena.as_bytes()[a as usize..(a + n) as usize]);
        let mut i = h as usize & mask;
        while slots[i].id != EMPTY {
            i = (i + 1) & mask;
        }
        slots[i] = Slot { tag: tag(h), id: id as u32 };
    }
    slots
}

/// Slots for `n` strings: at most half full, so probes stay short.
fn size_for(n: usize) -> usize {
    (n * 2).next_power_of_two().max(16)
}

impl Interner {
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The string of an id.
    pub fn get(&self, id: u32) -> Option<&str> {
        let &(a, n) = self.spans.get(id as usize)?;
        Some(&self.arena[a as usize..(a + n) as usize])
    }

    /// Loads the string of `id` into the processor's cache (its first byte; 0 for none): a
    /// loop over many ids doing only this keeps many memory reads in flight at once.
    #[inline]
    pub fn touch(&self, id: u32) -> u8 {
        match self.spans.get(id as usize) {
            Some(&(a, n)) if n > 0 => self.arena.as_bytes()[a as usize],
            _ => 0,
        }
    }

    fn table(&self) -> &[Slot] {
        self.slots.get_or_init(|| build(&self.arena, &self.spans, size_for(self.spans.len())))
    }

    #[inline]
    fn is(&self, id: u32, s: &str) -> bool {
        let (a, n) = self.spans[id as usize];
        n as usize == s.len() && &self.arena.as_bytes()[a as usize..(a + n) as usize] == s.as_bytes()
    }

    /// Slot of `s` (hash `h`): where it is, or the empty slot where it would go.
    #[inline]
    fn probe(&self, slots: &[Slot], h: u64, s: &str) -> usize {
        let mask = slots.len() - 1;
        let t = tag(h);
        let mut i = h as usize & mask;
        loop {
            let slot = slots[i];
            if slot.id == EMPTY || (slot.tag == t && self.is(slot.id, s)) {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// The id of a string, if interned.
    pub fn find(&self, s: &str) -> Option<u32> {
        let slots = self.table();
        let id = slots[self.probe(slots, hash(s), s)].id;
        (id != EMPTY).then_some(id)
    }

    /// The id of a string, interning it if new; the flag says whether it was new.
    #[inline]
    pub fn intern(&mut self, s: &str) -> (u32, bool) {
        self.intern_hashed(hash(s), s)
    }

    /// Room for `n` more strings of `bytes` bytes in all: the table is built once at its final
    /// size, instead of again at each doubling (a million ids interned: the rebuilds hashed
    /// every id twice more).
    pub fn reserve(&mut self, n: usize, bytes: usize) {
        let need = size_for(self.spans.len() + n);
        // Not `table()`: a table never built would be built at the current size, then again.
        if self.slots.get().is_none_or(|t| t.len() < need) {
            self.slots = OnceLock::from(build(&self.arena, &self.spans, need));
        }
        self.spans.reserve(n);
        self.arena.reserve(bytes);
    }

    /// Loads into the processor's cache the slot where a string of hash `h` is looked for (what
    /// it gives means nothing: fold it into a black box): a loop over many hashes doing only
    /// this keeps many memory reads in flight, and [`Interner::intern_hashed`] then finds them in
    /// the cache.
    #[inline]
    pub fn touch_hash(&self, h: u64) -> u32 {
        self.slots.get().map_or(0, |slots| slots[h as usize & (slots.len() - 1)].id)
    }

    /// [`Interner::intern`] with the string's [`hash`] already computed (`h` must be it).
    pub fn intern_hashed(&mut self, h: u64, s: &str) -> (u32, bool) {
        debug_assert_eq!(h, hash(s), "the hash given is the string's");
        let need = size_for(self.spans.len() + 1);
        if self.table().len() < need {
            // Id order reads the arena front to back; only the slot writes are scattered.
            self.slots = OnceLock::from(build(&self.arena, &self.spans, need));
        }
        let slots = self.slots.get().expect("built above");
        let i = self.probe(slots, h, s);
        if slots[i].id != EMPTY {
            return (slots[i].id, false);
        }
        let id = self.spans.len() as u32;
        self.spans.push((self.arena.len() as u32, s.len() as u32));
        self.arena.push_str(s);
        self.slots.get_mut().expect("built above")[i] = Slot { tag: tag(h), id };
        (id, true)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.spans.iter().map(|&(a, n)| &self.arena[a as usize..(a + n) as usize])
    }
}

/// A column of optional strings, hashed as they come, to be interned all at once. Entries may
/// come in rows of `stride` fields (a row's author, conversation…); a field equal to the last
/// value that field had (rows without one in between) is kept as a mark, neither stored nor
/// hashed nor sorted again.
#[derive(Clone)]
pub struct Strings {
    arena: String,
    /// (offset, length); length [`ABSENT`] for no string, `DITTO` for the field's last value.
    spans: Vec<(u32, u32)>,
    /// The hash of each stored string (absent entries and marks have none), in entry order.
    hashes: Vec<u64>,
    stride: usize,
    /// For each field, the span of its last value.
    last: Vec<Option<(u32, u32)>>,
}

impl Default for Strings {
    fn default() -> Self {
        Strings::with_stride(1)
    }
}

impl Strings {
    /// A column of rows of `stride` fields.
    pub fn with_stride(stride: usize) -> Strings {
        Strings { arena: String::new(), spans: Vec::new(), hashes: Vec::new(), stride, last: vec![None; stride] }
    }

    /// Room for `entries` more entries of `bytes` bytes in all: memory reserved, not touched,
    /// so that growing never copies what is there.
    pub fn reserve(&mut self, entries: usize, bytes: usize) {
        self.spans.reserve(entries);
        self.hashes.reserve(entries);
        self.arena.reserve(bytes);
    }

    pub fn push(&mut self, s: Option<&str>) {
        let f = self.spans.len() % self.stride;
        match s {
            None => self.spans.push((0, ABSENT)),
            Some(s) => {
                if let Some((a, n)) = self.last[f] {
                    if &self.arena.as_bytes()[a as usize..(a + n) as usize] == s.as_bytes() {
                        self.spans.push((0, DITTO));
                        return;
                    }
                }
                let at = u32::try_from(self.arena.len()).expect("the strings of one column stay under 4 GiB");
                self.spans.push((at, s.len() as u32));
                self.hashes.push(hash(s));
                self.arena.push_str(s);
                self.last[f] = Some((at, s.len() as u32));
            }
        }
    }

    /// Spells out every mark: entries can then be left out without breaking them.
    pub(crate) fn resolve(&mut self) {
        let mut hashes = Vec::with_capacity(self.spans.len());
        let mut old = self.hashes.iter();
        let mut last = vec![(0, 0, 0); self.stride];
        for e in 0..self.spans.len() {
            let f = e % self.stride;
            match self.spans[e].1 {
                ABSENT => {}
                DITTO => {
                    let (a, n, h) = last[f];
                    self.spans[e] = (a, n);
                    hashes.push(h);
                }
                _ => {
                    let h = *old.next().expect("a hash for each stored string");
                    last[f] = (self.spans[e].0, self.spans[e].1, h);
                    hashes.push(h);
                }
            }
        }
        self.hashes = hashes;
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Adds `other`'s entries (whole rows, of the same stride) after these.
    pub fn append(&mut self, other: Strings) {
        assert_eq!((self.stride, self.spans.len() % self.stride), (other.stride, 0), "whole rows of one stride");
        let base = u32::try_from(self.arena.len()).expect("the strings of one column stay under 4 GiB");
        u32::try_from(self.arena.len() + other.arena.len()).expect("the strings of one column stay under 4 GiB");
        self.arena.push_str(&other.arena);
        // The other's first row has no mark: it never saw these rows.
        self.spans.extend(other.spans.iter().map(|&(a, n)| if n >= DITTO { (a, n) } else { (a + base, n) }));
        self.hashes.extend_from_slice(&other.hashes);
        self.last = other.last.iter().map(|l| l.map(|(a, n)| (a + base, n))).collect();
    }

    /// Entry `e` spelled out: its string, `None` when absent. Marks must be spelled out first
    /// ([`Strings::permute_rows`] does).
    pub(crate) fn entry(&self, e: usize) -> Option<&str> {
        let (a, n) = self.spans[e];
        debug_assert!(n != DITTO, "marks spelled out");
        (n != ABSENT).then(|| &self.arena[a as usize..(a + n) as usize])
    }

    /// Whole rows (of `stride` entries each) in the order `rows` names them (a permutation of
    /// the row numbers), as if pushed in that order: the bytes stay where they are, and an entry
    /// equal to its field's entry in the row before becomes a mark again.
    pub fn permute_rows(&mut self, rows: &[u32]) {
        self.resolve();
        assert_eq!(rows.len() * self.stride, self.spans.len(), "a place for every row");
        // Each entry's hash among the stored ones.
        let mut hash_of = Vec::with_capacity(self.spans.len());
        let mut h = 0u32;
        for s in &self.spans {
            hash_of.push(h);
            h += u32::from(s.1 != ABSENT);
        }
        let mut spans = Vec::with_capacity(self.spans.len());
        let mut hashes = Vec::with_capacity(self.hashes.len());
        let mut last: Vec<Option<(u32, u32)>> = vec![None; self.stride];
        let bytes = self.arena.as_bytes();
        let text = |(a, n): (u32, u32)| &bytes[a as usize..(a + n) as usize];
        for &r in rows {
            for (f, last) in last.iter_mut().enumerate() {
                let e = r as usize * self.stride + f;
                let s = self.spans[e];
                if s.1 == ABSENT {
                    spans.push(s);
                } else if last.is_some_and(|l| l == s || text(l) == text(s)) {
                    spans.push((0, DITTO));
                } else {
                    spans.push(s);
                    hashes.push(self.hashes[hash_of[e] as usize]);
                    *last = Some(s);
                }
            }
        }
        self.spans = spans;
        self.hashes = hashes;
        self.last = last;
    }

    /// Only the entries whose index `keep` accepts, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) {
        self.resolve();
        let (mut k, mut h, mut kh) = (0, 0, 0);
        for e in 0..self.spans.len() {
            let stored = self.spans[e].1 != ABSENT;
            if keep(e) {
                self.spans[k] = self.spans[e];
                k += 1;
                if stored {
                    self.hashes[kh] = self.hashes[h];
                    kh += 1;
                }
            }
            h += usize::from(stored);
        }
        self.spans.truncate(k);
        self.hashes.truncate(kh);
        self.last = vec![None; self.stride];
    }
}

/// What [`intern_unique`] gives back.
pub struct Interned {
    /// Each entry's id; `u32::MAX` for an absent entry.
    pub ids: Vec<u32>,
    /// For each id, the entry where its string first appears.
    pub firsts: Vec<u32>,
    pub interner: Interner,
}

/// What [`intern_all`] gives back: the ids of the stored entries only; every entry's id comes
/// from [`Named::ids`], walking the column again (a column of names is mostly marks and absent
/// entries, whose ids need not be written out).
pub struct Named {
    stored: Vec<u32>,
    /// For each id, the entry where its string first appears.
    pub firsts: Vec<u32>,
    pub interner: Interner,
}

impl Named {
    /// Each entry of `col` (the column interned) with its id, in order; `u32::MAX` for an absent
    /// entry, a mark taking its field's last id.
    pub fn ids<'a>(&'a self, col: &'a Strings) -> EntryIds<'a> {
        EntryIds::new(col, &self.stored)
    }
}

/// Every entry's id from the stored entries' ones (see [`Named::ids`]).
pub struct EntryIds<'a> {
    spans: std::slice::Iter<'a, (u32, u32)>,
    stored: std::slice::Iter<'a, u32>,
    last: Vec<u32>,
    field: usize,
}

impl<'a> EntryIds<'a> {
    fn new(col: &'a Strings, stored: &'a [u32]) -> Self {
        EntryIds { spans: col.spans.iter(), stored: stored.iter(), last: vec![EMPTY; col.stride], field: 0 }
    }
}

impl Iterator for EntryIds<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        let s = self.spans.next()?;
        let f = self.field;
        self.field = if f + 1 == self.last.len() { 0 } else { f + 1 };
        Some(match s.1 {
            ABSENT => EMPTY,
            DITTO => self.last[f],
            _ => {
                let id = *self.stored.next().expect("an id for each stored string");
                self.last[f] = id;
                id
            }
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl ExactSizeIterator for EntryIds<'_> {}

/// A stored entry in its partition, with up to `N` bytes of its string: names that repeat are
/// then compared without a trip to the arena. Columns whose strings seldom repeat (message ids)
/// keep none: they are compared only when their hashes are equal.
#[derive(Clone, Copy)]
struct Ent<const N: usize> {
    h: u64,
    e: u32,
    len: u32,
    bytes: [u8; N],
}

impl<const N: usize> Default for Ent<N> {
    fn default() -> Self {
        Ent { h: 0, e: 0, len: 0, bytes: [0; N] }
    }
}

/// Interns a column at once. Ids are numbered in order of first appearance, as interning the
/// entries one by one would number them, and strings are compared byte for byte (a shared hash
/// never merges two names).
///
/// Why in bulk: one table of millions of names is a trip to main memory a lookup. Here the
/// entries are scattered, short strings inline, into partitions by the top bits of their hash,
/// small enough for the processor's cache; each partition is deduplicated on its own (on every
/// core), and only the results go back to entry order.
pub fn intern_all(col: &Strings) -> Named {
    let (stored, firsts) = rank::<16>(col);
    // The arena is copied whole (one sequential copy): an id's span points at its first entry's
    // bytes.
    let spans = firsts.iter().map(|&e| col.spans[e as usize]).collect();
    Named { stored, firsts, interner: Interner { arena: col.arena.clone(), spans, ..Interner::default() } }
}

/// [`intern_all`] for a column whose strings seldom repeat (message ids): no bytes kept beside
/// the hashes, and the column's memory becomes the interner's.
pub fn intern_unique(col: Strings) -> Interned {
    let (stored, firsts) = rank::<0>(&col);
    let ids = EntryIds::new(&col, &stored).collect();
    drop(stored);
    let Strings { arena, spans, .. } = col;
    let spans = if firsts.len() == spans.len() && firsts.iter().enumerate().all(|(g, &e)| g == e as usize) {
        spans
    } else {
        firsts.iter().map(|&e| spans[e as usize]).collect()
    };
    Interned { ids, firsts, interner: Interner { arena, spans, ..Interner::default() } }
}

/// Each stored entry's id and each id's first entry (see [`intern_all`]).
fn rank<const N: usize>(col: &Strings) -> (Vec<u32>, Vec<u32>) {
    let Strings { arena, spans, hashes, .. } = col;
    let bytes = arena.as_bytes();
    let text = |(a, n): (u32, u32)| &bytes[a as usize..a as usize + n as usize];
    // Marks and absent entries are left out of the partitions.
    let present = hashes.len();
    debug_assert_eq!(present, spans.iter().filter(|s| s.1 < DITTO).count());
    let bits = (present / 4096).max(1).next_power_of_two().trailing_zeros().min(10);
    let parts = 1usize << bits;
    let part = |h: u64| if bits == 0 { 0 } else { (h >> (64 - bits)) as usize };

    let mut start = vec![0usize; parts + 1];
    for &h in hashes {
        start[part(h) + 1] += 1;
    }
    for p in 0..parts {
        start[p + 1] += start[p];
    }
    // Scatter: each partition gets its entries, in entry order.
    // Entries are numbered among the stored ones (`Ent::e`); `entry_of` maps back.
    let mut ents = vec![Ent::<N>::default(); present];
    let mut entry_of = Vec::with_capacity(present);
    let mut at = start.clone();
    let mut hs = hashes.iter();
    for (e, &s) in spans.iter().enumerate() {
        if s.1 >= DITTO {
            continue;
        }
        let h = *hs.next().expect("a hash for each stored string");
        let p = part(h);
        let mut x = Ent { h, e: entry_of.len() as u32, len: s.1, bytes: [0; N] };
        entry_of.push(e as u32);
        if s.1 as usize <= N {
            x.bytes[..s.1 as usize].copy_from_slice(text(s));
        }
        ents[at[p]] = x;
        at[p] += 1;
    }
    drop(at);

    // Dedup each partition: `rep[k]` is the first entry of the partition with k's string.
    let same = |x: &Ent<N>, y: &Ent<N>| {
        x.h == y.h
            && x.len == y.len
            && if x.len as usize <= N {
                x.bytes == y.bytes
            } else {
                text(spans[entry_of[x.e as usize] as usize]) == text(spans[entry_of[y.e as usize] as usize])
            }
    };
    let dedup = |base: usize, ents: &[Ent<N>], rep: &mut [u32]| {
        let mut slots: Vec<u32> = Vec::new();
        let mut k0 = 0;
        while k0 < ents.len() {
            let p = part(ents[k0].h);
            let k1 = start[p + 1] - base;
            let size = ((k1 - k0) * 2).next_power_of_two().max(16);
            slots.clear();
            slots.resize(size, EMPTY);
            let mask = size - 1;
            for k in k0..k1 {
                let x = &ents[k];
                let mut i = (x.h as usize) & mask;
                rep[k] = loop {
                    let j = slots[i];
                    if j == EMPTY {
                        slots[i] = k as u32;
                        break (base + k) as u32;
                    }
                    if same(x, &ents[j as usize]) {
                        break (base + j as usize) as u32;
                    }
                    i = (i + 1) & mask;
                };
            }
            k0 = k1;
        }
    };
    let mut rep = vec![0u32; present];
    // Two halves on two cores, split at a partition boundary.
    let mid = start[parts / 2];
    let (ea, eb) = ents.split_at(mid);
    let (ra, rb) = rep.split_at_mut(mid);
    std::thread::scope(|sc| {
        sc.spawn(|| dedup(mid, eb, rb));
        dedup(0, ea, ra);
    });

    let n = spans.len();
    // Every entry present and none repeated (message ids, as a rule): each entry is its own id.
    if present == n && rep.iter().enumerate().all(|(k, &r)| r == k as u32) {
        let ids: Vec<u32> = (0..n as u32).collect();
        return (ids.clone(), ids);
    }
    // Ids in order of first appearance: a stored entry's id is the rank of its group's first
    // entry among all first entries. Each entry's first is written in entry order (one scattered
    // write an entry; the first lies in the same partition, in cache), then read front to back.
    let mut first_of = vec![0u32; present];
    let mut first_bits = vec![0u64; present.div_ceil(64)];
    for (k, x) in ents.iter().enumerate() {
        first_of[x.e as usize] = ents[rep[k] as usize].e;
        if rep[k] == k as u32 {
            first_bits[x.e as usize / 64] |= 1 << (x.e % 64);
        }
    }
    drop((ents, rep));
    let mut before = Vec::with_capacity(first_bits.len());
    let mut acc = 0u32;
    for w in &first_bits {
        before.push(acc);
        acc += w.count_ones();
    }
    let rank = |e: u32| {
        let (w, b) = (e as usize / 64, e % 64);
        before[w] + (first_bits[w] & ((1u64 << b) - 1)).count_ones()
    };
    let mut firsts = Vec::with_capacity(acc as usize);
    for (p, f) in first_of.iter_mut().enumerate() {
        if *f == p as u32 {
            firsts.push(entry_of[p]);
        }
        *f = rank(*f);
    }
    drop(entry_of);
    (first_of, firsts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_reserved_before_or_between_strings_changes_no_id() {
        let words: Vec<String> = (0..5000).map(|k| format!("id-{}", k % 3700)).collect();
        let mut plain = Interner::default();
        let mut sized = Interner::default();
        sized.reserve(10, 40);
        for (k, w) in words.iter().enumerate() {
            if k == 1234 {
                sized.reserve(4000, 40_000);
            }
            assert_eq!(sized.intern(w), plain.intern(w), "{w}");
        }
        assert_eq!((sized.len(), plain.len()), (3700, 3700));
        assert!((0..3700).all(|k| sized.find(&format!("id-{k}")) == Some(k)));
        assert_eq!(sized.find("id-3700"), None);
        // A table never built, over strings already held, is built once and finds them.
        let mut held = sized.clone();
        held.slots = OnceLock::new();
        held.reserve(100, 0);
        assert_eq!(held.find("id-42"), Some(42));
    }

    #[test]
    fn touching_an_id_reads_its_first_byte_and_nothing_past_the_strings() {
        let mut i = Interner::default();
        let (a, _) = i.intern("acme");
        let (e, _) = i.intern("");
        assert_eq!((i.touch(a), i.touch(e), i.touch(e + 1), i.touch(u32::MAX)), (b'a', 0, 0, 0));
    }

    #[test]
    fn interning_with_the_hash_given_after_touching_equals_interning() {
        let mut plain = Interner::default();
        let mut hashed = Interner::default();
        assert_eq!(hashed.touch_hash(hash("x")), 0, "no table yet");
        hashed.reserve(3000, 30_000);
        for k in 0..5000 {
            let s = format!("id-{}", k % 3000);
            std::hint::black_box(hashed.touch_hash(hash(&s)));
            assert_eq!(hashed.intern_hashed(hash(&s), &s), plain.intern(&s));
        }
        assert_eq!(hashed, plain);
    }

    #[test]
    fn interning_twice_gives_the_same_id() {
        let mut i = Interner::default();
        assert_eq!(i.find("acme"), None);
        assert_eq!(i.intern("acme"), (0, true));
        assert_eq!(i.intern("zeta"), (1, true));
        assert_eq!(i.intern("acme"), (0, false));
        assert_eq!((i.get(1), i.find("zeta"), i.find("nope")), (Some("zeta"), Some(1), None));
        assert_eq!(i.iter().collect::<Vec<_>>(), ["acme", "zeta"]);
    }

    #[test]
    fn growth_keeps_every_id() {
        let mut i = Interner::default();
        let names: Vec<String> = (0..50_000).map(|k| format!("m{k}")).collect();
        for (k, n) in names.iter().enumerate() {
            assert_eq!(i.intern(n), (k as u32, true));
        }
        for (k, n) in names.iter().enumerate().rev() {
            assert_eq!(i.intern(n), (k as u32, false));
            assert_eq!(i.find(n), Some(k as u32));
        }
        assert_eq!((i.len(), i.find(""), i.intern("").0), (50_000, None, 50_000));
    }

    proptest::proptest! {
        #[test]
        fn interning_all_at_once_equals_one_by_one(
            names in proptest::collection::vec(proptest::option::of("[a-c]{0,3}|m[0-9]{1,5}|x{20,30}|y[ab]{16,17}"), 0..3000),
            stride in 1usize..4,
            drop_every in 0usize..5,
        ) {
            // Whole rows of `stride` fields; some rows left out afterwards when asked.
            let rows = names.len() / stride;
            let names = &names[..rows * stride];
            let mut col = Strings::with_stride(stride);
            for n in names {
                col.push(n.as_deref());
            }
            let out = |e: usize| drop_every > 0 && (e / stride) % (drop_every + 2) == 1;
            if drop_every > 0 {
                col.retain(|e| !out(e));
            }
            let names: Vec<_> = names.iter().enumerate().filter(|(e, _)| !out(*e)).map(|(_, n)| n.clone()).collect();
            let all = intern_all(&col);
            let all_ids: Vec<u32> = all.ids(&col).collect();
            let unique = intern_unique(col.clone());
            proptest::prop_assert_eq!((&unique.ids, &unique.firsts, &unique.interner), (&all_ids, &all.firsts, &all.interner));
            let mut one = Interner::default();
            for (e, n) in names.iter().enumerate() {
                match n {
                    None => proptest::prop_assert_eq!(all_ids[e], u32::MAX),
                    Some(s) => {
                        let (id, new) = one.intern(s);
                        proptest::prop_assert_eq!(all_ids[e], id);
                        proptest::prop_assert_eq!(new, all.firsts[id as usize] == e as u32);
                    }
                }
            }
            proptest::prop_assert_eq!(&all.interner, &one);
            for s in names.iter().flatten() {
                proptest::prop_assert_eq!(all.interner.find(s), one.find(s));
            }
        }
    }

    #[test]
    fn bulk_interning_keeps_names_that_share_a_hash_apart() {
        // Enough entries for several partitions; every name distinct but for the repeats.
        let names: Vec<String> = (0..20_000).map(|k| format!("c{}", k % 7_000)).collect();
        let mut col = Strings::default();
        for n in &names {
            col.push(Some(n));
        }
        let all = intern_all(&col);
        assert_eq!(all.interner.len(), 7_000);
        for ((e, n), id) in names.iter().enumerate().zip(all.ids(&col)) {
            assert_eq!(id, (e % 7_000) as u32);
            assert_eq!(all.interner.get(id), Some(n.as_str()));
        }
    }
}
