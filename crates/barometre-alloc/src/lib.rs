//! Baromètre's global allocator: large blocks (1 MiB and more) are carved from one reserved range
//! of addresses and, once freed, their pages are kept for the next large block instead of being
//! given back to the system.
//!
//! Why: a report over ten million messages goes through phases (reading, interning, the clock,
//! aggregation) that each fill gigabytes of fresh vectors while the previous phase's are freed.
//! With the system allocator every such vector is a new mapping, and every 4 KiB page of it costs
//! a page fault and its zeroing when first written — 3 to 7 µs a page on a virtual machine, page
//! faults taking turns between threads: measured, 45 % of a one-shot report's time went there.
//! Reusing freed pages turns that into plain writes.
//!
//! The range asks Linux for transparent huge pages (2 MiB): a fresh vector of 100 MiB then costs
//! 50 page faults instead of 25,600. A process that caps what it keeps (a server) goes back to
//! small pages, which a cap can hold.
//!
//! Small blocks go to the system allocator unchanged. The kept pages are bounded by the process's
//! peak of large blocks (what it held at some moment); a long-running process can cap what it
//! keeps with [`keep_at_most`]. If the addresses cannot be reserved (a system that refuses to
//! overcommit), everything goes to the system allocator.
//!
//! ```
//! use std::alloc::{GlobalAlloc, Layout};
//! let a = barometre_alloc::Retain;
//! let layout = Layout::from_size_align(8 << 20, 8).unwrap();
//! // SAFETY: the layout is not zero-sized; the block is freed with the layout it was made with.
//! unsafe {
//!     let p = a.alloc_zeroed(layout);
//!     assert!(!p.is_null() && *p.add(12345) == 0);
//!     a.dealloc(p, layout);
//! }
//! ```
//!
//! Install it in a binary with `#[global_allocator] static A: barometre_alloc::Retain = barometre_alloc::Retain;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Blocks from this size are large.
pub const LARGE: usize = 1 << 20;
const PAGE: usize = 4096;
/// Addresses reserved (none of it memory until written).
const RESERVE: usize = 256 << 30;
/// Free ranges remembered; a range that finds no room is left unused (never reused, never lost).
const SLOTS: usize = 1024;

/// Where large blocks lie in the reserved range, as offsets: the bookkeeping, without memory.
///
/// Everything from `top` is free; below it, `free` lists the free ranges (sorted, merged, none
/// ending at `top`). Pages from `touched` on were never written (they read as zero).
#[derive(Clone, Debug)]
pub struct Book {
    size: usize,
    top: usize,
    touched: usize,
    free: Vec<(usize, usize)>,
}

impl Book {
    /// A range of `size` bytes, all free.
    pub const fn new(size: usize) -> Book {
        Book { size, top: 0, touched: 0, free: Vec::new() }
    }

    /// A block of `len` bytes: the lowest free range that holds it, else the top. Its offset,
    /// and how many of its first bytes may hold old data (the rest reads as zero).
    pub fn take(&mut self, len: usize) -> Option<(usize, usize)> {
        if let Some(i) = self.free.iter().position(|&(_, n)| n >= len) {
            let (s, n) = self.free[i];
            if n == len {
                self.free.remove(i);
            } else {
                self.free[i] = (s + len, n - len);
            }
            return Some((s, self.dirty(s, len)));
        }
        let s = self.top;
        if len > self.size - s {
            return None;
        }
        let dirty = self.dirty(s, len);
        self.top = s + len;
        self.touched = self.touched.max(self.top);
        Some((s, dirty))
    }

    /// Gives back `[s, s + len)`. A range that would need more than the remembered slots is left
    /// out of reuse.
    pub fn give(&mut self, s: usize, len: usize) {
        if s + len == self.top {
            self.top = s;
            if let Some(&(fs, fl)) = self.free.last() {
                if fs + fl == self.top {
                    self.top = fs;
                    self.free.pop();
                }
            }
            return;
        }
        let i = self.free.partition_point(|&(fs, _)| fs < s);
        let joins_prev = i > 0 && self.free[i - 1].0 + self.free[i - 1].1 == s;
        let joins_next = i < self.free.len() && s + len == self.free[i].0;
        match (joins_prev, joins_next) {
            (true, true) => {
                self.free[i - 1].1 += len + self.free[i].1;
                self.free.remove(i);
            }
            (true, false) => self.free[i - 1].1 += len,
            (false, true) => self.free[i] = (s, len + self.free[i].1),
            (false, false) if self.free.len() < SLOTS => self.free.insert(i, (s, len)),
            (false, false) => {}
        }
    }

    /// Grows the block `[s, s + old)` to `new` bytes where it lies, if what follows is free.
    pub fn grow(&mut self, s: usize, old: usize, new: usize) -> bool {
        let end = s + old;
        let more = new - old;
        if end == self.top {
            if more > self.size - end {
                return false;
            }
            self.top = s + new;
            self.touched = self.touched.max(self.top);
            return true;
        }
        let i = self.free.partition_point(|&(fs, _)| fs < end);
        match self.free.get(i) {
            Some(&(fs, fl)) if fs == end && fl >= more => {
                if fl == more {
                    self.free.remove(i);
                } else {
                    self.free[i] = (fs + more, fl - more);
                }
                true
            }
            _ => false,
        }
    }

    fn dirty(&self, s: usize, len: usize) -> usize {
        len.min(self.touched.saturating_sub(s))
    }

    /// Bytes of written pages kept free for reuse.
    pub fn kept(&self) -> usize {
        self.free.iter().map(|&(_, n)| n).sum::<usize>() + (self.touched - self.top)
    }

    /// Forgets that `[s, s + len)` was written: its pages were given back to the system.
    fn forget(&mut self, s: usize, len: usize) {
        if s + len >= self.touched && s >= self.top {
            self.touched = s;
        }
    }
}

/// The book of the reserved range. The lock is never held while calling an allocator that could
/// take it again: the book's own vector is small, so the system allocator's.
static BOOK: Mutex<Book> = Mutex::new(Book::new(RESERVE));
/// Start of the reserved range; 0 until the first large block, `usize::MAX` when refused. Read
/// without the lock: freeing a small block must not wait for it (nor take it twice).
static BASE: AtomicUsize = AtomicUsize::new(0);
static KEEP: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Caps the freed pages kept for reuse: past `bytes`, freed large blocks go back to the system.
/// Unbounded by default (a command runs, then exits); a server sets a cap.
///
/// A capped process also keeps to 4 KiB pages: the kernel may fill a huge page half given back
/// again (khugepaged), and the cap would no longer bound its memory.
pub fn keep_at_most(bytes: usize) {
    KEEP.store(bytes, Ordering::Relaxed);
    if bytes != usize::MAX {
        // Under the book's lock: the range is reserved under it too.
        let _book = book();
        HUGE.store(false, Ordering::Relaxed);
        let base = BASE.load(Ordering::Acquire);
        if base != 0 && base != usize::MAX {
            small_pages(base, RESERVE);
        }
    }
}

/// Whether the reserved range asks for huge pages (until a cap is set).
static HUGE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Where the large blocks stand: bytes held by live blocks, and bytes of written pages kept free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub live: usize,
    pub kept: usize,
    /// The highest end of the written pages: what large blocks add to the process's memory.
    pub touched: usize,
}

/// The large blocks' figures now (for timings and tests).
pub fn usage() -> Usage {
    let b = book();
    let kept = b.kept();
    Usage { live: b.touched - kept, kept, touched: b.touched }
}

fn book() -> std::sync::MutexGuard<'static, Book> {
    // Nothing panics while the lock is held; a poisoned lock still holds a consistent book.
    BOOK.lock().unwrap_or_else(|e| e.into_inner())
}

fn pages(n: usize) -> usize {
    n.div_ceil(PAGE) * PAGE
}

/// The global allocator (see the crate's documentation).
pub struct Retain;

impl Retain {
    /// A large block from the reserved range: its address and how many of its bytes may hold old
    /// data; `None` when the range is refused or full.
    fn take(len: usize) -> Option<(*mut u8, usize)> {
        let mut book = book();
        let mut base = BASE.load(Ordering::Acquire);
        if base == 0 {
            base = reserve();
            // Set under the book's lock: only one thread ever reserves.
            BASE.store(base, Ordering::Release);
        }
        if base == usize::MAX {
            return None;
        }
        let (s, dirty) = book.take(len)?;
        Some(((base + s) as *mut u8, dirty))
    }

    /// The offset of `p` in the reserved range, if it lies there.
    fn offset(p: *mut u8) -> Option<usize> {
        let (base, a) = (BASE.load(Ordering::Acquire), p as usize);
        (base != 0 && base != usize::MAX && a >= base && a < base + RESERVE).then(|| a - base)
    }

    fn give(s: usize, len: usize) {
        let mut book = book();
        book.give(s, len);
        if book.kept() > KEEP.load(Ordering::Relaxed) && give_back(BASE.load(Ordering::Acquire) + s, len) {
            book.forget(s, len);
        }
    }

    fn large(layout: &Layout) -> bool {
        layout.size() >= LARGE && layout.align() <= PAGE
    }
}

/// Reserves the range of addresses: its start, or `usize::MAX` when refused.
#[cfg(unix)]
fn reserve() -> usize {
    // SAFETY: a fresh private anonymous mapping, touching no existing memory.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            RESERVE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return usize::MAX;
    }
    if HUGE.load(Ordering::Relaxed) {
        hugepages(p as usize, RESERVE);
    }
    p as usize
}

/// Asks for the range to be backed by 2 MiB pages where the system allows it (Linux's
/// transparent huge pages, `madvise` mode by default): a fresh vector of 100 MiB then costs 50
/// page faults instead of 25,600. Measured: the faults were most of a stored report's loading.
/// A refusal (another system, huge pages off) leaves 4 KiB pages: nothing else changes.
#[cfg(target_os = "linux")]
fn hugepages(at: usize, len: usize) {
    // SAFETY: advice on the range just mapped, which holds no block yet; no memory is touched.
    let _ = unsafe { libc::madvise(at as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
}

#[cfg(all(unix, not(target_os = "linux")))]
fn hugepages(_: usize, _: usize) {}

/// Takes back [`hugepages`]' advice.
#[cfg(target_os = "linux")]
fn small_pages(at: usize, len: usize) {
    // SAFETY: advice on the reserved range; no memory is touched or freed.
    let _ = unsafe { libc::madvise(at as *mut libc::c_void, len, libc::MADV_NOHUGEPAGE) };
}

#[cfg(not(target_os = "linux"))]
fn small_pages(_: usize, _: usize) {}

/// Elsewhere every block is the system allocator's.
#[cfg(not(unix))]
fn reserve() -> usize {
    usize::MAX
}

/// Gives the pages of `[at, at + len)` back to the system; whether it did.
#[cfg(unix)]
fn give_back(at: usize, len: usize) -> bool {
    // SAFETY: the pages belong to the reserved range and to no block any more.
    unsafe { libc::madvise(at as *mut libc::c_void, len, libc::MADV_DONTNEED) == 0 }
}

#[cfg(not(unix))]
fn give_back(_: usize, _: usize) -> bool {
    false
}

// SAFETY: large blocks are disjoint page-aligned ranges of one private mapping, handed out and
// taken back under a lock; everything else is the system allocator's.
unsafe impl GlobalAlloc for Retain {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::large(&layout) {
            if let Some((p, _)) = Self::take(pages(layout.size())) {
                return p;
            }
        }
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Self::large(&layout) {
            if let Some((p, dirty)) = Self::take(pages(layout.size())) {
                // SAFETY: the block is ours, at least `layout.size()` bytes long.
                unsafe { std::ptr::write_bytes(p, 0, dirty.min(layout.size())) };
                return p;
            }
        }
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match Self::offset(ptr) {
            Some(s) => Self::give(s, pages(layout.size())),
            // SAFETY: not ours, so the system allocator's, with this layout.
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` rounded to the alignment does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let moved = |this: &Self| {
            // SAFETY: a non-zero size; the old block is valid for `layout.size()` bytes and the
            // new one for `new_size`; the old one is freed with its own layout.
            unsafe {
                let q = this.alloc(new_layout);
                if !q.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, q, layout.size().min(new_size));
                    this.dealloc(ptr, layout);
                }
                q
            }
        };
        match Self::offset(ptr) {
            Some(s) => {
                let (old, new) = (pages(layout.size()), pages(new_size));
                if new <= old {
                    if new < old {
                        Self::give(s + new, old - new);
                    }
                    return ptr;
                }
                if book().grow(s, old, new) {
                    return ptr;
                }
                moved(self)
            }
            None if Self::large(&new_layout) && new_size > layout.size() => moved(self),
            // SAFETY: the system allocator's block, with the caller's arguments.
            None => unsafe { System.realloc(ptr, layout, new_size) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Blocks held, as (start, len), checked against the book after each step.
    fn check(book: &Book, held: &[(usize, usize)]) {
        let mut all: Vec<(usize, usize, bool)> = held.iter().map(|&(s, n)| (s, n, true)).collect();
        all.extend(book.free.iter().map(|&(s, n)| (s, n, false)));
        all.sort();
        let mut end = 0;
        for &(s, n, _) in &all {
            assert!(s >= end, "blocks and free ranges overlap: {all:?}");
            assert!(n > 0);
            end = s + n;
        }
        assert!(end <= book.top || all.is_empty(), "a range past the top: {all:?}, top {}", book.top);
        assert!(book.top <= book.touched && book.touched <= book.size);
        assert!(book.free.windows(2).all(|w| w[0].0 + w[0].1 < w[1].0), "free ranges left unmerged: {:?}", book.free);
        assert!(book.free.last().is_none_or(|&(s, n)| s + n < book.top), "a free range ends at the top");
        // Every byte below the top is held or free: nothing leaks while slots remain.
        let covered: usize = all.iter().map(|&(_, n, _)| n).sum();
        assert_eq!(covered, book.top);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Take(usize),
        Give(usize),
        Grow(usize, usize),
        Shrink(usize, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1usize..40).prop_map(Op::Take),
            any::<usize>().prop_map(Op::Give),
            (any::<usize>(), 1usize..20).prop_map(|(i, n)| Op::Grow(i, n)),
            (any::<usize>(), any::<usize>()).prop_map(|(i, n)| Op::Shrink(i, n)),
        ]
    }

    proptest! {
        /// Whatever the order of takes, gives, growths and shrinks, blocks never overlap, free
        /// ranges stay merged, and every byte below the top is accounted for.
        #[test]
        fn blocks_never_overlap_and_nothing_leaks(ops in proptest::collection::vec(op(), 1..200)) {
            let mut book = Book::new(400);
            let mut held: Vec<(usize, usize)> = Vec::new();
            for o in ops {
                match o {
                    Op::Take(n) => {
                        if let Some((s, _)) = book.take(n) {
                            held.push((s, n));
                        } else {
                            // Refused only when no free range and no room at the top hold it.
                            prop_assert!(book.free.iter().all(|&(_, f)| f < n) && book.size - book.top < n);
                        }
                    }
                    Op::Give(i) if !held.is_empty() => {
                        let (s, n) = held.swap_remove(i % held.len());
                        book.give(s, n);
                    }
                    Op::Grow(i, more) if !held.is_empty() => {
                        let i = i % held.len();
                        let (s, n) = held[i];
                        if book.grow(s, n, n + more) {
                            held[i].1 = n + more;
                        }
                    }
                    Op::Shrink(i, by) if !held.is_empty() => {
                        let i = i % held.len();
                        let (s, n) = held[i];
                        let by = by % n;
                        if by > 0 {
                            book.give(s + n - by, by);
                            held[i].1 = n - by;
                        }
                    }
                    _ => {}
                }
                check(&book, &held);
            }
        }
    }

    #[test]
    fn a_freed_block_is_reused_and_reads_as_old_data() {
        let mut b = Book::new(100);
        assert_eq!(b.take(10), Some((0, 0)), "fresh pages read as zero");
        let (a, c) = (0, 10);
        assert_eq!(b.take(10), Some((c, 0)));
        b.give(a, 10);
        assert_eq!(b.take(4), Some((a, 4)), "the lowest free range first, with its old data");
        let (d, _) = b.take(30).unwrap();
        assert_eq!(d, c + 10, "the top when no free range holds it");
        b.give(d, 30);
        b.give(c, 10);
        // The top came down past both; their pages are kept.
        assert_eq!(b.top, a + 4);
        // Written up to 50 (the 30 bytes at 20): all of [4, 50) is kept.
        assert_eq!(b.kept(), 46);
        assert_eq!(b.take(60), Some((a + 4, 46)), "only what was written before may hold old data");
    }

    #[test]
    fn pages_given_back_read_as_zero_again() {
        let mut b = Book::new(100);
        assert_eq!(b.take(10), Some((0, 0)));
        assert_eq!(b.take(10), Some((10, 0)));
        b.give(10, 10);
        assert_eq!(b.kept(), 10);
        b.forget(10, 10);
        assert_eq!(b.kept(), 0);
        assert_eq!(b.take(20), Some((10, 0)), "given back to the system: nothing to clear");
    }

    #[test]
    fn blocks_given_back_past_the_cap_come_back_zeroed() {
        let a = Retain;
        let l = Layout::from_size_align(2 * LARGE, 8).unwrap();
        keep_at_most(0);
        // SAFETY: one block at a time, freed with its layout.
        unsafe {
            let p = a.alloc(l);
            std::ptr::write_bytes(p, 0xab, l.size());
            a.dealloc(p, l);
            let z = a.alloc_zeroed(l);
            assert!((0..l.size()).step_by(4093).all(|i| *z.add(i) == 0));
            a.dealloc(z, l);
        }
        keep_at_most(usize::MAX);
    }

    #[test]
    fn large_blocks_keep_their_contents_through_reallocation() {
        let a = Retain;
        let l = Layout::from_size_align(LARGE, 8).unwrap();
        // SAFETY: layouts are non-zero; every block is freed once with its current layout.
        unsafe {
            let p = a.alloc(l);
            for i in 0..LARGE {
                *p.add(i) = (i % 251) as u8;
            }
            let q = a.alloc(l);
            let p = a.realloc(p, l, 3 * LARGE);
            let big = Layout::from_size_align(3 * LARGE, 8).unwrap();
            assert!((0..LARGE).all(|i| *p.add(i) == (i % 251) as u8));
            a.dealloc(q, l);
            let small = a.realloc(p, big, 100);
            assert!((0..100).all(|i| *small.add(i) == (i % 251) as u8));
            a.dealloc(small, Layout::from_size_align(100, 8).unwrap());
            // A small block grown large moves into the range with its bytes.
            let s = a.alloc(Layout::from_size_align(64, 8).unwrap());
            *s.add(63) = 7;
            let s = a.realloc(s, Layout::from_size_align(64, 8).unwrap(), 2 * LARGE);
            assert_eq!(*s.add(63), 7);
            let z = a.alloc_zeroed(Layout::from_size_align(4 * LARGE, 8).unwrap());
            assert!((0..4 * LARGE).step_by(997).all(|i| *z.add(i) == 0), "a reused block is zeroed");
            a.dealloc(z, Layout::from_size_align(4 * LARGE, 8).unwrap());
            a.dealloc(s, Layout::from_size_align(2 * LARGE, 8).unwrap());
        }
    }

    /// The reserved range asks for huge pages until a cap is set, then for small ones (Linux:
    /// the mapping's `VmFlags` in `/proc/self/smaps` say `hg`, then `nh`).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_capped_process_keeps_to_small_pages() {
        let a = Retain;
        let l = Layout::from_size_align(LARGE, 8).unwrap();
        // SAFETY: a non-zero layout, freed once with it.
        unsafe { a.dealloc(a.alloc(l), l) };
        let base = BASE.load(Ordering::Acquire);
        assert!(base != 0 && base != usize::MAX);
        let flags = || {
            let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
            let at = format!("{base:x}-");
            let from = smaps.find(&at).expect("the reserved range is mapped");
            let line = smaps[from..].lines().find(|l| l.starts_with("VmFlags:")).unwrap().to_string();
            line
        };
        keep_at_most(1 << 30);
        assert!(flags().contains(" nh"), "{}", flags());
        keep_at_most(usize::MAX);
    }
}
