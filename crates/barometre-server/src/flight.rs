//! Bounded work under load: computed reports coalesced per workspace and query (single flight,
//! readers served the previous version while the next one is computed), a cap on how many heavy
//! computations run at once, and a byte budget for the cache.
//!
//! After an import every cached report is stale; without coalescing, each of 200 waiting clients
//! would compute its own copy of the same report at once, each holding a table of facts in
//! memory. Here one client computes, the others get the previous answer (or wait for the first
//! one), and at most [`Permits`] computations of any kind run together.

use axum::body::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// How long the request that finds a report stale waits for the new one before it is given the
/// previous version (the computation goes on in the background).
pub const GRACE: std::time::Duration = std::time::Duration::from_millis(150);

/// A counting semaphore for blocking threads.
#[derive(Debug)]
pub struct Permits {
    free: Mutex<usize>,
    cv: Condvar,
}

/// A permit held; given back when dropped.
pub struct Permit<'a>(&'a Permits);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.cv.notify_one();
    }
}

impl Permits {
    pub fn new(n: usize) -> Permits {
        Permits { free: Mutex::new(n.max(1)), cv: Condvar::new() }
    }

    /// Waits for a free permit.
    pub fn acquire(&self) -> Permit<'_> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self.cv.wait(free).unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Permit(self)
    }
}

#[derive(Debug, Default)]
struct Entry {
    /// The last answer computed, and the store version it was computed at.
    done: Option<(i64, Bytes)>,
    /// Someone is computing this key now.
    computing: bool,
}

/// Reports by key, computed once per store version.
/// The end of a key's computation, however it ends (an answer, an error, a panic): dropped, it
/// keeps the answer if there is one and releases the key for the requests waiting on it.
struct Finish {
    flights: Arc<Flights>,
    key: String,
    version: i64,
    bytes: Option<Bytes>,
    /// A background computation: it gives back its place among [`BACKGROUND`].
    background: bool,
}

impl Finish {
    fn new(flights: &Arc<Flights>, key: &str, version: i64, background: bool) -> Finish {
        Finish { flights: flights.clone(), key: key.to_string(), version, bytes: None, background }
    }
}

impl Drop for Finish {
    fn drop(&mut self) {
        self.flights.finish(&self.key, self.version, self.bytes.take());
        if self.background {
            self.flights.background.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

#[derive(Debug)]
pub struct Flights {
    map: Mutex<(HashMap<String, Entry>, usize)>,
    cv: Condvar,
    budget: usize,
    /// Background recomputations under way (at most [`BACKGROUND`]).
    background: std::sync::atomic::AtomicUsize,
}

/// Background recomputations at once, at most: past it a stale report is served as it is and
/// recomputed by a later request (they queue for the computation permits anyway).
pub const BACKGROUND: usize = 4;

/// What [`Flights::get`] answered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// The cached answer of the current version.
    Fresh,
    /// The previous version's, while another request computes the current one.
    Previous,
    /// Computed by this request.
    Computed,
}

impl Flights {
    /// A cache whose answers add up to at most `budget` bytes.
    pub fn new(budget: usize) -> Flights {
        Flights {
            map: Mutex::new((HashMap::new(), 0)),
            cv: Condvar::new(),
            budget,
            background: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, (HashMap<String, Entry>, usize)> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer for `key` at store `version`: cached; else, when an earlier version's answer
    /// exists, that one while the new one is computed in the background (the request that finds
    /// it stale waits up to [`GRACE`] for the new one, so a small store still answers fresh);
    /// else computed here by `compute`, the other requests for the key waiting for it.
    pub fn get<E: std::fmt::Debug + Send + 'static>(
        self: &Arc<Self>,
        key: &str,
        version: i64,
        compute: impl FnOnce() -> Result<Bytes, E> + Send + 'static,
    ) -> Result<(Bytes, Served), E> {
        let mut g = self.lock();
        loop {
            let e = g.0.entry(key.to_string()).or_default();
            match (&e.done, e.computing) {
                // A newer answer than asked for (an import landed between reading the version
                // and getting here) is as fresh as can be.
                (Some((v, b)), _) if *v >= version => return Ok((b.clone(), Served::Fresh)),
                (Some((_, b)), true) => return Ok((b.clone(), Served::Previous)),
                (Some((_, b)), false) => {
                    use std::sync::atomic::Ordering::SeqCst;
                    let previous = b.clone();
                    if self.background.fetch_add(1, SeqCst) >= BACKGROUND {
                        self.background.fetch_sub(1, SeqCst);
                        return Ok((previous, Served::Previous));
                    }
                    e.computing = true;
                    drop(g);
                    let done = Finish::new(self, key, version, true);
                    let spawned = std::thread::Builder::new().name("report".into()).spawn(move || {
                        let mut done = done;
                        match compute() {
                            Ok(b) => done.bytes = Some(b),
                            Err(err) => eprintln!("report computation failed: {err:?}"),
                        }
                    });
                    // A thread the system refused dropped its `Finish`: the key is released.
                    if spawned.is_err() {
                        return Ok((previous, Served::Previous));
                    }
                    return Ok(self.wait_for(key, version, previous));
                }
                (None, true) => g = self.cv.wait(g).unwrap_or_else(PoisonError::into_inner),
                (None, false) => {
                    e.computing = true;
                    break;
                }
            }
        }
        drop(g);
        let mut done = Finish::new(self, key, version, false);
        let bytes = compute()?;
        done.bytes = Some(bytes.clone());
        drop(done);
        Ok((bytes, Served::Computed))
    }

    /// Waits up to [`GRACE`] for `key`'s answer at `version`, else gives `previous`.
    fn wait_for(&self, key: &str, version: i64, previous: Bytes) -> (Bytes, Served) {
        let deadline = std::time::Instant::now() + GRACE;
        let mut g = self.lock();
        loop {
            let e = g.0.get(key);
            if let Some((v, b)) = e.and_then(|e| e.done.as_ref()) {
                if *v >= version {
                    return (b.clone(), Served::Computed);
                }
            }
            if e.is_none_or(|e| !e.computing) {
                return (previous, Served::Previous);
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return (previous, Served::Previous);
            }
            g = self.cv.wait_timeout(g, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// A background computation's end: its answer kept (if any), the key released.
    fn finish(&self, key: &str, version: i64, bytes: Option<Bytes>) {
        if let Some(b) = &bytes {
            self.store(key, version, b);
        }
        let mut g = self.lock();
        if let Some(e) = g.0.get_mut(key) {
            e.computing = false;
        }
        drop(g);
        self.cv.notify_all();
    }

    /// Keeps `bytes` as `key`'s answer at `version`, within the byte budget.
    fn store(&self, key: &str, version: i64, bytes: &Bytes) {
        let mut g = self.lock();
        let (map, used) = &mut *g;
        if let Some(old) = map.get_mut(key).and_then(|e| e.done.take()) {
            *used -= old.1.len();
        }
        // Over budget: answers not being computed go, until this one fits.
        if *used + bytes.len() > self.budget {
            let victims: Vec<String> = map
                .iter()
                .filter(|(k, e)| !e.computing && k.as_str() != key && e.done.is_some())
                .map(|(k, _)| k.clone())
                .collect();
            for k in victims {
                if *used + bytes.len() <= self.budget {
                    break;
                }
                if let Some((_, b)) = map.remove(&k).and_then(|e| e.done) {
                    *used -= b.len();
                }
            }
        }
        if bytes.len() <= self.budget {
            if let Some(e) = map.get_mut(key) {
                *used += bytes.len();
                e.done = Some((version, bytes.clone()));
            }
        }
    }

    /// Bytes of answers kept.
    pub fn used(&self) -> usize {
        self.lock().1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Barrier;

    #[test]
    fn fifty_simultaneous_requests_compute_one_report() {
        let f = Arc::new(Flights::new(1 << 20));
        let computed = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(50));
        let threads: Vec<_> = (0..50)
            .map(|_| {
                let (f, computed, start) = (f.clone(), computed.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    let computed = computed.clone();
                    f.get::<()>("ws/q", 7, move || {
                        computed.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(200));
                        Ok(Bytes::from_static(b"v7"))
                    })
                    .unwrap()
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap().0, Bytes::from_static(b"v7"));
        }
        assert_eq!(computed.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn readers_get_the_previous_version_while_the_next_is_computed() {
        let f = Arc::new(Flights::new(1 << 20));
        f.get::<()>("k", 1, || Ok(Bytes::from_static(b"v1"))).unwrap();
        let (in_compute, go_on) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
        let (a, b) = (in_compute.clone(), go_on.clone());
        // The request that finds v1 stale starts v2 in the background, waits its grace, and is
        // given v1 (v2 is still being computed).
        let t = std::time::Instant::now();
        let first = f
            .get::<()>("k", 2, move || {
                a.wait();
                b.wait();
                Ok(Bytes::from_static(b"v2"))
            })
            .unwrap();
        assert_eq!(first, (Bytes::from_static(b"v1"), Served::Previous));
        assert!(t.elapsed() >= GRACE);
        in_compute.wait();
        // Everyone else meanwhile: v1 at once, nothing computed twice.
        assert_eq!(
            f.get::<()>("k", 2, || panic!("computed twice")).unwrap(),
            (Bytes::from_static(b"v1"), Served::Previous)
        );
        go_on.wait();
        eventually("v2 never landed", || {
            let got = f.get::<()>("k", 2, || panic!("computed twice")).unwrap();
            if got.1 != Served::Fresh {
                return false;
            }
            assert_eq!(got.0, Bytes::from_static(b"v2"));
            true
        });
    }

    /// Asks `landed` until it says yes, for ten seconds at most.
    fn eventually(what: &str, mut landed: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !landed() {
            assert!(std::time::Instant::now() < deadline, "{what}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    #[test]
    fn a_background_computation_that_panics_does_not_freeze_its_report() {
        let f = Arc::new(Flights::new(1 << 20));
        f.get::<()>("k", 1, || Ok(Bytes::from_static(b"v1"))).unwrap();
        let got = f.get::<()>("k", 2, || panic!("a bug in a report")).unwrap();
        assert_eq!(got, (Bytes::from_static(b"v1"), Served::Previous));
        // The key is released: a later request computes v2.
        eventually("the key stayed frozen", || {
            f.get::<()>("k", 2, || Ok(Bytes::from_static(b"v2"))).unwrap().0 == Bytes::from_static(b"v2")
        });
    }

    #[test]
    fn a_quick_computation_answers_fresh_within_the_grace() {
        let f = Arc::new(Flights::new(1 << 20));
        f.get::<()>("k", 1, || Ok(Bytes::from_static(b"v1"))).unwrap();
        let got = f.get::<()>("k", 2, || Ok(Bytes::from_static(b"v2"))).unwrap();
        assert_eq!(got, (Bytes::from_static(b"v2"), Served::Computed));
    }

    #[test]
    fn a_failed_computation_lets_the_next_request_try() {
        let f = Arc::new(Flights::new(1 << 20));
        assert!(f.get("k", 1, || Err("store busy")).is_err());
        assert_eq!(f.get::<()>("k", 1, || Ok(Bytes::from_static(b"ok"))).unwrap().1, Served::Computed);
    }

    #[test]
    fn the_cache_keeps_to_its_byte_budget() {
        let f = Arc::new(Flights::new(1000));
        for i in 0..100 {
            f.get::<()>(&format!("k{i}"), 1, || Ok(Bytes::from(vec![b'x'; 300]))).unwrap();
            assert!(f.used() <= 1000, "{}", f.used());
        }
    }

    #[test]
    fn permits_bound_the_computations_running_together() {
        let p = Arc::new(Permits::new(2));
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (p, now, most) = (p.clone(), now.clone(), most.clone());
                std::thread::spawn(move || {
                    let _permit = p.acquire();
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    now.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
