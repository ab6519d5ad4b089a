//! An import that only appends messages (and events) recomputes the conversations they touch
//! and rewrites the fact chunks those are stored in ([`crate::patch`]); every other fact stays
//! as written.

use super::read_dict;
use crate::chunks;
use crate::patch::{self, Meta, Patched};
use crate::StoreError;
use barometre_core::config::Config;
use barometre_core::engine::ClockInput;
use rusqlite::{params, Transaction};

/// The stored chunks of a workspace, as a patch reads them.
struct Tx<'a, 'c> {
    tx: &'a Transaction<'c>,
    ws: &'a str,
}

impl patch::Stored for Tx<'_, '_> {
    fn dict(&mut self) -> Result<barometre_core::table::Dict, StoreError> {
        read_dict(self.tx, self.ws)
    }
    fn metas(&mut self, part: &str) -> Result<Vec<Meta>, StoreError> {
        let mut st = self.tx.prepare_cached(
            "SELECT seq, lo_ms, hi_ms FROM fact_chunks WHERE workspace = ? AND part = ? ORDER BY seq",
        )?;
        let v = st
            .query_map(params![self.ws, part], |r| Ok(Meta { seq: r.get(0)?, lo: r.get(1)?, hi: r.get(2)? }))?
            .collect::<Result<_, _>>()?;
        Ok(v)
    }
    fn chunk(&mut self, part: &str, seq: i64) -> Result<(usize, Vec<u8>), StoreError> {
        let mut get =
            self.tx.prepare_cached("SELECT n, data FROM fact_chunks WHERE workspace = ? AND part = ? AND seq = ?")?;
        Ok(get.query_row(params![self.ws, part, seq], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }
}

/// Replaces the facts of the conversations that rows `before..` of `inp` (every live row, in
/// stored order, the new ones last), the held rows `also` (changed in place: a label) and the
/// new events naming `events` touch ([`patch::plan`]). `None` when it cannot, and the caller
/// writes every fact again.
pub(super) fn patch_facts(
    tx: &Transaction,
    ws: &str,
    cfg: &Config,
    inp: &ClockInput,
    before: usize,
    also: &[u32],
    events: &[String],
) -> Result<Option<Patched>, StoreError> {
    let Some(plan) = patch::plan(&mut Tx { tx, ws }, cfg, inp, before, also, events)? else {
        return Ok(None);
    };
    let mut patched = Patched { conversations: plan.conversations, chunks: 0 };
    let mut put = tx.prepare_cached(
        "INSERT INTO fact_chunks (workspace, part, seq, lo_ms, hi_ms, n, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )?;
    let mut del = tx.prepare_cached("DELETE FROM fact_chunks WHERE workspace = ? AND part = ? AND seq = ?")?;
    // Numbers after a run move up by the chunks it gained, in two steps (negative, then back):
    // a number is unique at every row an UPDATE writes.
    let mut away =
        tx.prepare_cached("UPDATE fact_chunks SET seq = -seq - 1 - ? WHERE workspace = ? AND part = ? AND seq > ?")?;
    let mut back =
        tx.prepare_cached("UPDATE fact_chunks SET seq = -seq - 1 WHERE workspace = ? AND part = ? AND seq < 0")?;
    for (kind, metas, per_run) in plan.writes {
        // From the last run back: moving later chunks never moves an earlier run's.
        for (run, written) in per_run.into_iter().rev() {
            let old: Vec<i64> = metas[run.clone()].iter().map(|m| m.seq).collect();
            let first = old.first().copied().unwrap_or(0);
            let last = old.last().copied().unwrap_or(-1);
            let gained = written.len().saturating_sub(old.len()) as i64;
            for part in kind.all_parts() {
                for &s in &old {
                    del.execute(params![ws, part, s])?;
                }
                if gained > 0 {
                    away.execute(params![gained, ws, part, last])?;
                    back.execute(params![ws, part])?;
                }
            }
            let (hot_part, ids_part) = kind.parts();
            for (k, w) in written.into_iter().enumerate() {
                let seq = first + k as i64;
                put.execute(params![ws, hot_part, seq, w.lo, w.hi, w.n, w.hot])?;
                if let Some((entries, cover)) = w.cover {
                    put.execute(params![ws, chunks::COVER, seq, w.lo, w.hi, entries, cover])?;
                }
                put.execute(params![ws, ids_part, seq, w.lo, w.hi, w.n, w.ids])?;
                patched.chunks += 1;
            }
        }
    }
    if plan.dict_grew {
        tx.execute(
            "INSERT INTO fact_chunks (workspace, part, seq, lo_ms, hi_ms, n, data) VALUES (?, 'dict', 0, 0, 0, ?, ?) \
             ON CONFLICT (workspace, part, seq) DO UPDATE SET n = excluded.n, data = excluded.data",
            params![ws, inp.dims.len(), chunks::encode_dict(&inp.dims)],
        )?;
    }
    Ok(Some(patched))
}

/// The patch's checks, on this store; [`crate::pg_data`] runs them too.
#[cfg(test)]
pub(crate) mod tests {
    use super::super::SqliteStore;
    use crate::{DataStore, ImportSink};
    use barometre_core::config::Config;
    use barometre_core::ingest::{Located, Record};
    use barometre_core::model::{ConversationEvent, Message};
    use std::sync::Arc;

    /// What an import said beside its phases.
    #[derive(Default)]
    pub(crate) struct Notes(Vec<String>);

    impl ImportSink for Notes {
        fn note(&mut self, what: &str) {
            self.0.push(what.to_string());
        }
    }

    pub(crate) fn import(s: &mut impl DataStore, msgs: &[Message], evs: &[ConversationEvent]) -> Notes {
        let file: Arc<str> = "late.csv".into();
        let mut recs = msgs
            .iter()
            .map(|m| Record::Message(m.clone()))
            .chain(evs.iter().map(|e| Record::Event(e.clone())))
            .enumerate()
            .map(|(k, record)| Ok(Located { file: file.clone(), line: k as u64 + 2, id_column: 1, record }));
        let mut notes = Notes::default();
        let sum = s.import("w", &Config::default(), false, &mut recs, &mut notes).unwrap();
        assert!(sum.committed && sum.rejected_count == 0);
        notes
    }

    pub(crate) fn patched(n: &Notes) -> bool {
        n.0.iter().any(|x| x.starts_with("facts of "))
    }

    /// `t` with its customers numbered as its requests meet them. A store numbers customers in
    /// the order it reads rows back, and two stores may read one set of rows in two orders
    /// (ClickHouse: by change, then key): equal tables so numbered put the same requests with
    /// the same customers. (`assert_as_computed_whole` compares the numbers themselves.)
    fn by_customers_met(mut t: barometre_core::table::FactTable) -> barometre_core::table::FactTable {
        let mut met = std::collections::HashMap::new();
        for r in &mut t.reqs {
            if r.customer != 0 {
                let next = met.len() as u64 + 1;
                r.customer = *met.entry(r.customer).or_insert(next);
            }
        }
        t
    }

    /// The facts, tables and reports of two stores, whole and over a week.
    fn assert_same(a: &impl DataStore, b: &impl DataStore, (from, to): (i64, i64)) {
        use barometre_core::report::{build, Params};
        let cfg = Config::default();
        for (f, t) in [(None, None), (Some(from), Some(to))] {
            assert_eq!(a.facts("w", &cfg, f, t).unwrap(), b.facts("w", &cfg, f, t).unwrap());
            let (ta, tb) = (a.table("w", &cfg, f, t).unwrap(), b.table("w", &cfg, f, t).unwrap());
            let (ta, tb) = (by_customers_met(ta), by_customers_met(tb));
            assert_eq!(ta, tb);
            // (Bounds past any instant, `(0, i64::MAX)`, are the whole period.)
            let fmt = |ms: Option<i64>| ms.filter(|&ms| ms > 0 && ms < i64::MAX).map(barometre_core::time::rfc3339_utc);
            for by in [None, Some("account"), Some("channel"), Some("agent"), Some("day")] {
                let p = Params::parse(fmt(f).as_deref(), fmt(t).as_deref(), by, None).unwrap();
                let report = |t| serde_json::to_string(&build(t, &p, &cfg)).unwrap();
                assert_eq!(report(&ta), report(&tb), "by {by:?}");
            }
        }
    }

    /// Fact chunks of every part, in number order: (part, seq, n).
    fn chunks(s: &SqliteStore) -> Vec<(String, i64, i64)> {
        s.conn
            .prepare("SELECT part, seq, n FROM fact_chunks WHERE part <> 'dict' ORDER BY part, seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn late_messages_and_events_recompute_their_conversations_and_give_one_imports_facts() {
        late_rows_give_one_imports_facts(
            &|| SqliteStore::memory().unwrap(),
            &|s: &SqliteStore| chunks(s).len(),
            &|s: &mut SqliteStore| recomputed(s),
        );
    }

    /// Every fact of `s`'s workspace `w` computed again from its rows, as a back end does when
    /// it cannot patch.
    fn recomputed(s: &mut SqliteStore) {
        let tx = s.conn.transaction().unwrap();
        super::super::recompute(&tx, "w", &Config::default(), false).unwrap();
        tx.commit().unwrap();
    }

    /// Late messages and events, in two imports, patch the facts (most of the time), and give
    /// the facts of one import of every row: on stores made by `make`, whose fact chunks
    /// `chunks` counts, and whose facts `whole` computes again from the rows.
    pub(crate) fn late_rows_give_one_imports_facts<S: DataStore>(
        make: &dyn Fn() -> S,
        chunks: &dyn Fn(&S) -> usize,
        whole: &dyn Fn(&mut S),
    ) {
        let end = 1_780_000_000_000;
        let mut patches = 0;
        let mut runs = 0;
        for seed in 0..10u64 {
            let data = barometre_core::demo::generate(seed, 6, end);
            let (msgs, evs) = (&data.messages, &data.events);
            // Late: a few messages spread over the whole period (replies, customers' messages,
            // threads' first messages), in two imports; the other rows first.
            let step = 97 + seed as usize * 31;
            let late1: Vec<usize> = (seed as usize % step..msgs.len()).step_by(step).collect();
            let late2: Vec<usize> = ((seed as usize + 5) % step..msgs.len()).step_by(step * 2 + 1).collect();
            let is_late = |k: &usize| late1.contains(k) || late2.contains(k);
            let held: Vec<Message> = (0..msgs.len()).filter(|k| !is_late(k)).map(|k| msgs[k].clone()).collect();
            let one: Vec<Message> = late1.iter().filter(|k| !late2.contains(k)).map(|&k| msgs[k].clone()).collect();
            let two: Vec<Message> = late2.iter().map(|&k| msgs[k].clone()).collect();
            let cut = evs.len() - evs.len() / 10;
            let mut s = make();
            import(&mut s, &held, &evs[..cut]);
            let before = chunks(&s);
            let n1 = import(&mut s, &one, &evs[cut..]);
            let n2 = import(&mut s, &two, &[]);
            // The same rows in the same order, in one import.
            let mut once = make();
            let all: Vec<Message> = held.iter().chain(&one).chain(&two).cloned().collect();
            let mut all_evs = evs[..cut].to_vec();
            all_evs.extend_from_slice(&evs[cut..]);
            import(&mut once, &all, &all_evs);
            assert_same(&s, &once, (end - 3 * 86_400_000, end - 86_400_000));
            assert_as_computed_whole(&mut s, whole);
            runs += 2;
            patches += usize::from(patched(&n1)) + usize::from(patched(&n2));
            if patched(&n1) {
                // Chunks of 256 facts in tests: a few of the store's are written again.
                assert!(before > 20, "{before} chunks");
            }
            // The same late rows again: nothing changes, nothing is computed.
            let again = import(&mut s, &two, &[]);
            assert!(!patched(&again));
            assert_same(&s, &once, (end - 3 * 86_400_000, end - 86_400_000));
        }
        assert!(patches * 4 >= runs * 3, "{patches} of {runs} imports patched");
    }

    /// Exports that give instants to the second hold many facts at one instant, ordered by id,
    /// across chunk cuts: a late message sorts among them, in whichever chunk its id puts it.
    #[test]
    fn late_messages_at_instants_many_facts_share_take_their_place_by_id() {
        late_rows_at_shared_instants(&|| SqliteStore::memory().unwrap());
    }

    #[test]
    fn a_run_that_gains_a_chunk_moves_the_later_ones_up() {
        a_run_gains_a_chunk(&|| SqliteStore::memory().unwrap(), &|s: &SqliteStore| chunks(s).len());
    }

    /// Three full chunks of each kind (256 facts a chunk in tests), and a late message that sorts
    /// into the first: that chunk is written again as two, and the two after it move up.
    pub(crate) fn a_run_gains_a_chunk<S: DataStore>(make: &dyn Fn() -> S, chunks: &dyn Fn(&S) -> usize) {
        let t = barometre_core::time::parse_instant("2026-04-06T08:00:00Z").unwrap();
        let msg = |id: String, minute: i64| Message {
            message_id: id.clone(),
            created_at: barometre_core::time::Stamp { ms: t.ms + minute * 60_000 + 1, ..t },
            account: "acme".into(),
            channel: "chat".into(),
            author_id: format!("u-{id}"),
            conversation_id: Some(format!("c-{id}")),
            ..Message::empty()
        };
        let held: Vec<Message> = (0..768).map(|k| msg(format!("m{k:04}"), k * 10)).collect();
        let mut s = make();
        import(&mut s, &held, &[]);
        let before = chunks(&s);
        let late = [msg("late".into(), 5)];
        let notes = import(&mut s, &late, &[]);
        assert!(patched(&notes), "{:?}", notes.0);
        assert!(chunks(&s) > before, "{before} chunks, then {}", chunks(&s));
        let mut whole = make();
        import(&mut whole, &held.iter().chain(&late).cloned().collect::<Vec<_>>(), &[]);
        assert_same(&s, &whole, (t.ms, t.ms + 3_000 * 60_000));
    }

    /// Full chunks cut inside one instant, and late messages that take their place by id: runs
    /// of chunks written again with more chunks than they had (later chunks move up).
    pub(crate) fn late_rows_at_shared_instants<S: DataStore>(make: &dyn Fn() -> S) {
        use barometre_core::model::Direction;
        let t = barometre_core::time::parse_instant("2026-04-06T08:00:00Z").unwrap();
        let msg = |k: usize, at: usize| {
            let inbound = k % 3 != 2;
            Message {
                message_id: format!("m{k:04}"),
                created_at: barometre_core::time::Stamp { ms: t.ms + at as i64 * 60_000, ..t },
                direction: if inbound { Direction::In } else { Direction::Out },
                account: "acme".into(),
                channel: "chat".into(),
                author_id: if inbound { format!("u{}", k % 40) } else { "agent".into() },
                conversation_id: Some(format!("c{}", k % 60)),
                ..Message::empty()
            }
        };
        // 900 messages at three instants (chunks of 256 facts cut inside one instant).
        let late = [5, 301, 302, 555, 894, 897, 899];
        let held: Vec<Message> = (0..900).filter(|k| !late.contains(k)).map(|k| msg(k, k % 3)).collect();
        // Each opens a conversation: no held fact of theirs spans the chunks, only their
        // instants and ids place them.
        let later: Vec<Message> =
            late.iter().map(|&k| Message { conversation_id: Some(format!("new{k}")), ..msg(k, k % 3) }).collect();
        let mut s = make();
        import(&mut s, &held, &[]);
        let notes = import(&mut s, &later, &[]);
        assert!(patched(&notes), "{:?}", notes.0);
        let mut whole = make();
        import(&mut whole, &held.iter().chain(&later).cloned().collect::<Vec<_>>(), &[]);
        assert_same(&s, &whole, (t.ms + 60_000, t.ms + 60_001));
    }

    /// Overlapping exports give an event twice: stored once, counted once, in a first import as
    /// in a later one (before, the first import's facts counted it twice until the next one).
    #[test]
    fn an_event_given_twice_in_a_first_import_counts_once() {
        let data = barometre_core::demo::generate(4, 3, 1_780_000_000_000);
        let twice: Vec<ConversationEvent> = data.events.iter().chain(&data.events).cloned().collect();
        let mut s = SqliteStore::memory().unwrap();
        import(&mut s, &data.messages, &twice);
        let mut once = SqliteStore::memory().unwrap();
        import(&mut once, &data.messages, &data.events);
        let cfg = Config::default();
        let reopens = |s: &SqliteStore| {
            s.facts("w", &cfg, None, None).unwrap().conversations.iter().map(|c| c.reopens).sum::<u32>()
        };
        assert!(reopens(&once) > 0, "the demo's conversations are reopened");
        assert_eq!(reopens(&s), reopens(&once));
        assert_same(&s, &once, (0, i64::MAX));
    }

    /// A store's facts and tables, then the same after computing every fact again from its rows:
    /// what a patch wrote must be what a whole computation writes.
    pub(crate) fn assert_as_computed_whole<S: DataStore>(s: &mut S, whole: &dyn Fn(&mut S)) {
        let cfg = Config::default();
        let patched = (s.facts("w", &cfg, None, None).unwrap(), s.table("w", &cfg, None, None).unwrap());
        whole(s);
        assert_eq!(patched, (s.facts("w", &cfg, None, None).unwrap(), s.table("w", &cfg, None, None).unwrap()));
    }

    /// An analyst's label computes its message's conversation again, and only it.
    #[test]
    fn a_label_correction_gives_the_facts_of_a_whole_computation() {
        a_label_computes_its_conversation_again(
            SqliteStore::memory().unwrap(),
            &|s: &SqliteStore| chunks(s).len(),
            &|s: &mut SqliteStore| recomputed(s),
        );
    }

    /// Labels set and taken back on a store `s` (see [`late_rows_give_one_imports_facts`]).
    pub(crate) fn a_label_computes_its_conversation_again<S: DataStore>(
        mut s: S,
        chunks: &dyn Fn(&S) -> usize,
        whole: &dyn Fn(&mut S),
    ) {
        use barometre_core::understand::Label;
        let data = barometre_core::demo::generate(9, 6, 1_780_000_000_000);
        import(&mut s, &data.messages, &data.events);
        let cfg = Config::default();
        let inbound: Vec<&Message> =
            data.messages.iter().filter(|m| m.direction == barometre_core::model::Direction::In).collect();
        let before = s.facts("w", &cfg, None, None).unwrap();
        let chunks_before = chunks(&s);
        for (k, label) in [(3, Label::Complaint), (400, Label::Question), (401, Label::ThanksOnly)] {
            assert!(s.correct_label("w", &cfg, &inbound[k].message_id, Some(label), Some("ana")).unwrap());
            assert_as_computed_whole(&mut s, whole);
        }
        let after = s.facts("w", &cfg, None, None).unwrap();
        let label_of = |f: &barometre_core::clock::Facts, id: &str| {
            f.messages.iter().find(|m| m.message_id == id).and_then(|m| m.label)
        };
        assert_eq!(label_of(&after, &inbound[3].message_id), Some(Label::Complaint));
        assert_eq!(label_of(&after, &inbound[401].message_id), Some(Label::ThanksOnly));
        let differing = before.messages.iter().zip(&after.messages).filter(|(a, b)| a != b).count();
        assert!((1..=3).contains(&differing), "{differing} message facts differ");
        assert_eq!(chunks(&s), chunks_before);
        // Taken back: as before.
        for k in [3, 400, 401] {
            assert!(s.correct_label("w", &cfg, &inbound[k].message_id, None, None).unwrap());
        }
        assert_as_computed_whole(&mut s, whole);
        assert_eq!(s.facts("w", &cfg, None, None).unwrap(), before);
    }

    /// Rows that do not come back in the order the stored facts were computed in (two chunks
    /// swapped) would number customers otherwise than the kept facts: found, and every fact is
    /// computed again instead of patched.
    #[test]
    fn rows_read_back_in_another_order_than_the_facts_were_computed_in_are_not_patched() {
        let data = barometre_core::demo::generate(2, 4, 1_780_000_000_000);
        let held = &data.messages;
        // Chunks 5 and 6 swapped (32 rows a chunk in tests: every account, channel and agent is
        // named before them, so the dimensions keep their numbers), and a late message in the
        // conversation of a row of chunk 5: the chunks it rewrites hold requests of customers
        // the swapped chunks name first.
        let first = &held[170];
        let late = &[Message {
            message_id: "late-1".into(),
            created_at: barometre_core::time::Stamp { ms: first.created_at.ms + 1_000, ..first.created_at },
            ..first.clone()
        }];
        let mut s = SqliteStore::memory().unwrap();
        import(&mut s, held, &data.events);
        s.conn
            .execute_batch(
                "UPDATE message_chunks SET seq = -1 WHERE seq = 5; UPDATE message_chunks SET seq = 5 WHERE seq = 6;
                 UPDATE message_chunks SET seq = 6 WHERE seq = -1;",
            )
            .unwrap();
        let notes = import(&mut s, late, &[]);
        assert!(!patched(&notes), "{:?}", notes.0);
        assert_as_computed_whole(&mut s, &recomputed);
        // In order again (computed whole just now), the next late message is patched.
        let mut next = late[0].clone();
        next.message_id = "late-again".into();
        assert!(patched(&import(&mut s, &[next], &[])));
        assert_as_computed_whole(&mut s, &recomputed);
    }

    /// Two conversations of one name starting at one instant — a thread `X1` and a session
    /// named after its first message `X1` — come in one order whether patched or computed whole.
    #[test]
    fn conversations_of_one_name_and_start_keep_one_order() {
        use barometre_core::model::Direction;
        let t = barometre_core::time::parse_instant("2026-04-06T08:00:00Z").unwrap();
        let msg = |id: &str, s: i64, dir: Direction, who: &str, conv: Option<&str>, customer: Option<&str>| Message {
            message_id: id.into(),
            created_at: barometre_core::time::Stamp { ms: t.ms + s * 1000, ..t },
            direction: dir,
            account: "acme".into(),
            channel: "chat".into(),
            author_id: who.into(),
            conversation_id: conv.map(str::to_string),
            customer_id: customer.map(str::to_string),
            ..Message::empty()
        };
        let held = vec![
            msg("X1", 0, Direction::In, "u1", None, Some("u1")),
            msg("T1", 0, Direction::In, "u2", Some("X1"), Some("u2")),
            msg("T2", 60, Direction::Out, "agent", Some("X1"), None),
        ];
        let late = vec![msg("T3", 120, Direction::In, "u2", Some("X1"), Some("u2"))];
        // Other conversations: a patch is worth it (a few messages of many).
        let mut held = held;
        for k in 0..40 {
            let c = format!("c{k}");
            held.push(msg(&format!("o{k}"), 300 + k, Direction::In, &format!("v{k}"), Some(&c), None));
        }
        let mut s = SqliteStore::memory().unwrap();
        import(&mut s, &held, &[]);
        assert!(patched(&import(&mut s, &late, &[])));
        let cfg = Config::default();
        let convs = s.facts("w", &cfg, None, None).unwrap().conversations;
        assert_eq!(convs.iter().filter(|c| c.conversation_id == "X1" && c.start_ms == t.ms).count(), 2);
        assert_as_computed_whole(&mut s, &recomputed);
        let mut whole = SqliteStore::memory().unwrap();
        import(&mut whole, &[held, late].concat(), &[]);
        assert_same(&s, &whole, (t.ms, t.ms + 1));
    }
}
