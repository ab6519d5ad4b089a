//! An import that only appends messages (and events) recomputes the conversations they touch
//! and rewrites the fact chunks those are stored in ([`crate::patch`]); every other fact stays
//! as written.

use super::read_dict;
use crate::chunks;
use crate::patch::{self, Item, Kind, Meta, Written};
use crate::StoreError;
use barometre_core::config::Config;
use barometre_core::engine::{self, ClockInput};
use rusqlite::{params, Transaction};

/// Past this share of the messages (held in touched conversations, or new), writing every fact
/// again costs less than patching chunk by chunk.
const MOST: usize = 4;

/// A run of stored chunks (positions among the part's) and the chunks that replace it.
type Rewrite = (std::ops::Range<usize>, Vec<Written>);

/// What a patch did: the conversations and chunks it wrote again.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Patched {
    pub conversations: usize,
    pub chunks: usize,
}

/// Replaces the facts of the conversations that rows `before..` of `inp` (every live row, in
/// stored order, the new ones last), the held rows `also` (changed in place: a label) and the
/// new events naming `events` touch. `None` when it
/// cannot, and the caller writes every fact again: the stored dimensions are not the first of
/// `inp`'s (a name first seen in events now comes after new rows' names), or too much changed.
pub(super) fn patch_facts(
    tx: &Transaction,
    ws: &str,
    cfg: &Config,
    inp: &ClockInput,
    before: usize,
    also: &[u32],
    events: &[String],
) -> Result<Option<Patched>, StoreError> {
    let dict = read_dict(tx, ws)?;
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

    // Everything is computed before anything is written: a patch that would not leave out as
    // many messages as the touched conversations held is not written at all.
    let mut writes: Vec<(Kind, Vec<Meta>, Vec<Rewrite>)> = Vec::new();
    let mut msgs_left_out = 0;
    let mut get = tx.prepare_cached("SELECT n, data FROM fact_chunks WHERE workspace = ? AND part = ? AND seq = ?")?;
    for kind in Kind::ALL {
        let (hot_part, ids_part) = kind.parts();
        let metas: Vec<Meta> = {
            let mut st = tx.prepare_cached(
                "SELECT seq, lo_ms, hi_ms FROM fact_chunks WHERE workspace = ? AND part = ? ORDER BY seq",
            )?;
            let v = st
                .query_map(params![ws, hot_part], |r| Ok(Meta { seq: r.get(0)?, lo: r.get(1)?, hi: r.get(2)? }))?
                .collect::<Result<_, _>>()?;
            v
        };
        let (rows, ids) = match kind {
            Kind::Req => chunks::encode_reqs_rows(&out.reqs, inp),
            Kind::Conv => chunks::encode_convs_rows(&out.convs, inp),
            Kind::Msg => chunks::encode_msgs_rows(&out.msgs, inp),
        };
        let new = patch::items(kind, &rows, &ids)?;
        let runs = patch::runs(&metas, &ch.spans, new.iter().map(|it| it.key));
        let mut per_run: Vec<Rewrite> = Vec::new();
        if metas.is_empty() {
            if !new.is_empty() {
                per_run.push((0..0, patch::merge(kind, new)?));
            }
        } else {
            // New facts are sorted, and so are the runs: each run's are the next ones.
            let mut next = 0;
            for run in runs {
                let mut stored = Vec::with_capacity(run.len());
                for m in &metas[run.clone()] {
                    let (n, hot): (usize, Vec<u8>) =
                        get.query_row(params![ws, hot_part, m.seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
                    let ids: Vec<u8> = get.query_row(params![ws, ids_part, m.seq], |r| r.get(1))?;
                    stored.push((chunks::unplanes(&hot, kind.size(), n)?, ids));
                }
                let mut all: Vec<Item> = Vec::new();
                for (rows, ids) in &stored {
                    for it in patch::items(kind, rows, ids)? {
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
                while next < new.len() && run.contains(&patch::place(&metas, new[next].key)) {
                    all.push(new[next]);
                    next += 1;
                }
                per_run.push((run, patch::merge(kind, all)?));
            }
            if next != new.len() {
                return Err(StoreError::Corrupt(format!("{hot_part}: new facts outside the chunks patched")));
            }
        }
        writes.push((kind, metas, per_run));
    }
    drop(get);
    if msgs_left_out != ch.held {
        // The stored facts are not the rows' before this import: compute everything again.
        return Ok(None);
    }

    let mut patched = Patched { conversations: out.convs.len(), chunks: 0 };
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
    for (kind, metas, per_run) in writes {
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
    if inp.dims.len() > dict.len() {
        tx.execute(
            "INSERT INTO fact_chunks (workspace, part, seq, lo_ms, hi_ms, n, data) VALUES (?, 'dict', 0, 0, 0, ?, ?) \
             ON CONFLICT (workspace, part, seq) DO UPDATE SET n = excluded.n, data = excluded.data",
            params![ws, inp.dims.len(), chunks::encode_dict(&inp.dims)],
        )?;
    }
    Ok(Some(patched))
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;
    use crate::{DataStore, ImportSink};
    use barometre_core::config::Config;
    use barometre_core::ingest::{Located, Record};
    use barometre_core::model::{ConversationEvent, Message};
    use std::sync::Arc;

    /// What an import said beside its phases.
    #[derive(Default)]
    struct Notes(Vec<String>);

    impl ImportSink for Notes {
        fn note(&mut self, what: &str) {
            self.0.push(what.to_string());
        }
    }

    fn import(s: &mut SqliteStore, msgs: &[Message], evs: &[ConversationEvent]) -> Notes {
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

    fn patched(n: &Notes) -> bool {
        n.0.iter().any(|x| x.starts_with("facts of "))
    }

    /// The facts and tables of two stores, whole and over a week.
    fn assert_same(a: &SqliteStore, b: &SqliteStore, (from, to): (i64, i64)) {
        let cfg = Config::default();
        for (f, t) in [(None, None), (Some(from), Some(to))] {
            assert_eq!(a.facts("w", &cfg, f, t).unwrap(), b.facts("w", &cfg, f, t).unwrap());
            assert_eq!(a.table("w", &cfg, f, t).unwrap(), b.table("w", &cfg, f, t).unwrap());
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
            let mut s = SqliteStore::memory().unwrap();
            import(&mut s, &held, &evs[..cut]);
            let before = chunks(&s);
            let n1 = import(&mut s, &one, &evs[cut..]);
            let n2 = import(&mut s, &two, &[]);
            // The same rows in the same order, in one import.
            let mut whole = SqliteStore::memory().unwrap();
            let all: Vec<Message> = held.iter().chain(&one).chain(&two).cloned().collect();
            let mut all_evs = evs[..cut].to_vec();
            all_evs.extend_from_slice(&evs[cut..]);
            import(&mut whole, &all, &all_evs);
            assert_same(&s, &whole, (end - 3 * 86_400_000, end - 86_400_000));
            assert_as_computed_whole(&mut s);
            runs += 2;
            patches += usize::from(patched(&n1)) + usize::from(patched(&n2));
            if patched(&n1) {
                // Chunks of 256 facts in tests: a few of the store's are written again.
                assert!(before.len() > 20, "{} chunks", before.len());
            }
            // The same late rows again: nothing changes, nothing is computed.
            let again = import(&mut s, &two, &[]);
            assert!(!patched(&again));
            assert_same(&s, &whole, (end - 3 * 86_400_000, end - 86_400_000));
        }
        assert!(patches * 4 >= runs * 3, "{patches} of {runs} imports patched");
    }

    /// Exports that give instants to the second hold many facts at one instant, ordered by id,
    /// across chunk cuts: a late message sorts among them, in whichever chunk its id puts it.
    #[test]
    fn late_messages_at_instants_many_facts_share_take_their_place_by_id() {
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
        let mut s = SqliteStore::memory().unwrap();
        import(&mut s, &held, &[]);
        let notes = import(&mut s, &later, &[]);
        assert!(patched(&notes), "{:?}", notes.0);
        let mut whole = SqliteStore::memory().unwrap();
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
    fn assert_as_computed_whole(s: &mut SqliteStore) {
        let cfg = Config::default();
        let patched = (s.facts("w", &cfg, None, None).unwrap(), s.table("w", &cfg, None, None).unwrap());
        let tx = s.conn.transaction().unwrap();
        super::super::recompute(&tx, "w", &cfg, false).unwrap();
        tx.commit().unwrap();
        assert_eq!(patched, (s.facts("w", &cfg, None, None).unwrap(), s.table("w", &cfg, None, None).unwrap()));
    }

    /// An analyst's label computes its message's conversation again, and only it.
    #[test]
    fn a_label_correction_gives_the_facts_of_a_whole_computation() {
        use barometre_core::understand::Label;
        let data = barometre_core::demo::generate(9, 6, 1_780_000_000_000);
        let mut s = SqliteStore::memory().unwrap();
        import(&mut s, &data.messages, &data.events);
        let cfg = Config::default();
        let inbound: Vec<&Message> =
            data.messages.iter().filter(|m| m.direction == barometre_core::model::Direction::In).collect();
        let before = s.facts("w", &cfg, None, None).unwrap();
        let chunks_before = chunks(&s);
        for (k, label) in [(3, Label::Complaint), (400, Label::Question), (401, Label::ThanksOnly)] {
            assert!(s.correct_label("w", &cfg, &inbound[k].message_id, Some(label), Some("ana")).unwrap());
            assert_as_computed_whole(&mut s);
        }
        let after = s.facts("w", &cfg, None, None).unwrap();
        let label_of = |f: &barometre_core::clock::Facts, id: &str| {
            f.messages.iter().find(|m| m.message_id == id).and_then(|m| m.label)
        };
        assert_eq!(label_of(&after, &inbound[3].message_id), Some(Label::Complaint));
        assert_eq!(label_of(&after, &inbound[401].message_id), Some(Label::ThanksOnly));
        let differing = before.messages.iter().zip(&after.messages).filter(|(a, b)| a != b).count();
        assert!((1..=3).contains(&differing), "{differing} message facts differ");
        assert_eq!(chunks(&s).len(), chunks_before.len());
        // Taken back: as before.
        for k in [3, 400, 401] {
            assert!(s.correct_label("w", &cfg, &inbound[k].message_id, None, None).unwrap());
        }
        assert_as_computed_whole(&mut s);
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
        assert_as_computed_whole(&mut s);
        // In order again (computed whole just now), the next late message is patched.
        let mut next = late[0].clone();
        next.message_id = "late-again".into();
        assert!(patched(&import(&mut s, &[next], &[])));
        assert_as_computed_whole(&mut s);
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
        assert_as_computed_whole(&mut s);
        let mut whole = SqliteStore::memory().unwrap();
        import(&mut whole, &[held, late].concat(), &[]);
        assert_same(&s, &whole, (t.ms, t.ms + 1));
    }
}
