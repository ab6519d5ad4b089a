//! A string interner with one arena: each distinct string is stored once, in one growing buffer,
//! found again through a hash table of ids. Millions of customer ids and message ids then cost
//! their bytes and a few integers, not an allocation each.

use crate::fx::FxHasher;
use hashbrown::HashTable;
use std::hash::Hasher;

#[derive(Default, Clone)]
pub struct Interner {
    arena: String,
    spans: Vec<(u32, u32)>,
    table: HashTable<u32>,
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

fn hash(s: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(s.as_bytes());
    h.finish()
}

impl Interner {
    pub fn with_capacity(n: usize, bytes: usize) -> Interner {
        Interner {
            arena: String::with_capacity(bytes),
            spans: Vec::with_capacity(n),
            table: HashTable::with_capacity(n),
        }
    }

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

    /// The id of a string, if interned.
    pub fn find(&self, s: &str) -> Option<u32> {
        let (arena, spans) = (&self.arena, &self.spans);
        self.table
            .find(hash(s), |&i| {
                let (a, n) = spans[i as usize];
                &arena[a as usize..(a + n) as usize] == s
            })
            .copied()
    }

    /// The id of a string, interning it if new; the flag says whether it was new.
    pub fn intern(&mut self, s: &str) -> (u32, bool) {
        let h = hash(s);
        let (arena, spans) = (&self.arena, &self.spans);
        if let Some(&i) = self.table.find(h, |&i| {
            let (a, n) = spans[i as usize];
            &arena[a as usize..(a + n) as usize] == s
        }) {
            return (i, false);
        }
        let id = self.spans.len() as u32;
        self.spans.push((self.arena.len() as u32, s.len() as u32));
        self.arena.push_str(s);
        let (arena, spans) = (&self.arena, &self.spans);
        self.table.insert_unique(h, id, |&i| {
            let (a, n) = spans[i as usize];
            hash(&arena[a as usize..(a + n) as usize])
        });
        (id, true)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.spans.iter().map(|&(a, n)| &self.arena[a as usize..(a + n) as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_twice_gives_the_same_id() {
        let mut i = Interner::default();
        assert_eq!(i.intern("acme"), (0, true));
        assert_eq!(i.intern("zeta"), (1, true));
        assert_eq!(i.intern("acme"), (0, false));
        assert_eq!((i.get(1), i.find("zeta"), i.find("nope")), (Some("zeta"), Some(1), None));
        assert_eq!(i.iter().collect::<Vec<_>>(), ["acme", "zeta"]);
    }
}
