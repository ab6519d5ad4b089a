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
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

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
#[derive(Debug)]
pub struct Flights {
    map: Mutex<(HashMap<String, Entry>, usize)>,
    cv: Condvar,
    budget: usize,
}

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
        Flights { map: Mutex::new((HashMap::new(), 0)), cv: Condvar::new(), budget }
    }

    fn lock(&self) -> MutexGuard<'_, (HashMap<String, Entry>, usize)> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer for `key` at store `version`: cached, the previous one while another request
    /// computes it, or computed here by `compute` (then kept for the others).
    pub fn get<E>(
        &self,
        key: &str,
        version: i64,
        compute: impl FnOnce() -> Result<Bytes, E>,
    ) -> Result<(Bytes, Served), E> {
        let mut g = self.lock();
        loop {
            let e = g.0.entry(key.to_string()).or_default();
            match (&e.done, e.computing) {
                // A newer answer than asked for (an import landed between reading the version
                // and getting here) is as fresh as can be.
                (Some((v, b)), _) if *v >= version => return Ok((b.clone(), Served::Fresh)),
                (Some((v, b)), true) if *v < version => return Ok((b.clone(), Served::Previous)),
                (_, true) => g = self.cv.wait(g).unwrap_or_else(PoisonError::into_inner),
                (_, false) => {
                    e.computing = true;
                    break;
                }
            }
        }
        drop(g);
        // Whatever happens in `compute` (an error, a panic), the key is released for the others.
        struct Release<'a>(&'a Flights, &'a str);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                let mut g = self.0.lock();
                if let Some(e) = g.0.get_mut(self.1) {
                    e.computing = false;
                }
                drop(g);
                self.0.cv.notify_all();
            }
        }
        let release = Release(self, key);
        let bytes = compute()?;
        {
            let mut g = self.lock();
            let (map, used) = &mut *g;
            if let Some(old) = map.get_mut(key).and_then(|e| e.done.take()) {
                *used -= old.1.len();
            }
            // Over budget: answers not being computed go, until this one fits.
            if *used + bytes.len() > self.budget {
                map.retain(|k, e| {
                    if e.computing || k == key {
                        return true;
                    }
                    if let Some((_, b)) = &e.done {
                        *used -= b.len();
                    }
                    false
                });
            }
            if bytes.len() <= self.budget {
                *used += bytes.len();
                if let Some(e) = map.get_mut(key) {
                    e.done = Some((version, bytes.clone()));
                }
            }
        }
        drop(release);
        Ok((bytes, Served::Computed))
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
    use std::sync::{Arc, Barrier};

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
                    f.get::<()>("ws/q", 7, || {
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
        let leader = {
            let (f, in_compute, go_on) = (f.clone(), in_compute.clone(), go_on.clone());
            std::thread::spawn(move || {
                f.get::<()>("k", 2, || {
                    in_compute.wait();
                    go_on.wait();
                    Ok(Bytes::from_static(b"v2"))
                })
                .unwrap()
            })
        };
        in_compute.wait();
        assert_eq!(
            f.get::<()>("k", 2, || panic!("computed twice")).unwrap(),
            (Bytes::from_static(b"v1"), Served::Previous)
        );
        go_on.wait();
        assert_eq!(leader.join().unwrap(), (Bytes::from_static(b"v2"), Served::Computed));
        assert_eq!(
            f.get::<()>("k", 2, || panic!("computed twice")).unwrap(),
            (Bytes::from_static(b"v2"), Served::Fresh)
        );
    }

    #[test]
    fn a_failed_computation_lets_the_next_request_try() {
        let f = Flights::new(1 << 20);
        assert!(f.get("k", 1, || Err("store busy")).is_err());
        assert_eq!(f.get::<()>("k", 1, || Ok(Bytes::from_static(b"ok"))).unwrap().1, Served::Computed);
    }

    #[test]
    fn the_cache_keeps_to_its_byte_budget() {
        let f = Flights::new(1000);
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
