//! Channel preferences (seed 004): each channel's share of contacts (conversations and queued
//! contacts), of customers (by the channel each uses most, ties to the first name) and of
//! declared preferences (the `preferred_channel` survey).

use super::{conversations_of, slot, Drill, Indicator, Pass, Shape, Source};
use crate::drill::{contact_json, conversation_row, record_in_group, with, Row};
use crate::table::NONE;
use crate::value::{ChannelPreferences as Shares, ChannelShare, Value};
use serde_json::json;
use std::collections::BTreeMap;

/// `channel_preferences`.
pub struct ChannelPreferences;

/// Contacts and declared preferences per channel id; per customer, requests per channel.
#[derive(Clone, Default)]
pub struct Part {
    contacts: BTreeMap<u32, u64>,
    /// (customer number, channel) of every request: sorted once, counted in runs.
    customers: Vec<(u64, u32)>,
    declared: BTreeMap<u32, u64>,
}

impl Indicator for ChannelPreferences {
    type Part = Part;
    fn shape(&self) -> Shape {
        Shape::Channels
    }
    fn source(&self) -> Source {
        Source::Conversations
    }
    fn accumulate(&self, q: &Pass<'_>) -> Vec<Part> {
        let (rows, sl) = (&q.rows, q.slots);
        let mut v = vec![Part::default(); q.n];
        for (i, c) in rows.convs.iter().enumerate() {
            *v[slot(sl.convs, i)].contacts.entry(c.channel).or_default() += 1;
        }
        for (i, c) in rows.contacts.iter().enumerate() {
            *v[slot(sl.contacts, i)].contacts.entry(c.channel).or_default() += 1;
        }
        for (i, r) in rows.reqs.iter().enumerate() {
            if r.customer != 0 {
                v[slot(sl.reqs, i)].customers.push((r.customer, r.channel));
            }
        }
        for (i, s) in rows.surveys.iter().enumerate() {
            if s.answer != NONE {
                *v[slot(sl.surveys, i)].declared.entry(s.answer).or_default() += 1;
            }
        }
        v
    }
    fn merge(&self, into: &mut Part, other: &Part) {
        for (k, v) in &other.contacts {
            *into.contacts.entry(*k).or_default() += v;
        }
        for (k, v) in &other.declared {
            *into.declared.entry(*k).or_default() += v;
        }
        into.customers.extend_from_slice(&other.customers);
    }
    fn finish(&self, p: &mut Part, q: &Pass<'_>) -> Value {
        let name = |k: u32| q.rows.dict.and_then(|d| d.name(k)).unwrap_or("");
        crate::stats::sort_pairs(&mut p.customers);
        let customers = &p.customers;
        let mut main: BTreeMap<u32, u64> = BTreeMap::new();
        let mut i = 0;
        while i < customers.len() {
            // One customer's requests, by channel: the channel used most, ties to the first name.
            let cust = customers[i].0;
            let mut best: Option<(u64, u32)> = None;
            while i < customers.len() && customers[i].0 == cust {
                let ch = customers[i].1;
                let mut n = 0;
                while i < customers.len() && customers[i] == (cust, ch) {
                    n += 1;
                    i += 1;
                }
                let better = match best {
                    None => true,
                    Some((bn, bch)) => n > bn || (n == bn && name(ch) < name(bch)),
                };
                if better {
                    best = Some((n, ch));
                }
            }
            if let Some((_, ch)) = best {
                *main.entry(ch).or_default() += 1;
            }
        }
        let (contacts, declared) = (&p.contacts, &p.declared);
        let mut ids: Vec<u32> = contacts.keys().chain(main.keys()).chain(declared.keys()).copied().collect();
        ids.sort_unstable();
        ids.dedup();
        let (tc, tu, td) = (contacts.values().sum::<u64>(), main.values().sum::<u64>(), declared.values().sum::<u64>());
        let share = |n: u64, t: u64| (t > 0).then(|| n as f64 * 100.0 / t as f64);
        let mut channels: Vec<ChannelShare> = ids
            .into_iter()
            .map(|k| {
                let (c, u, d) = (
                    contacts.get(&k).copied().unwrap_or(0),
                    main.get(&k).copied().unwrap_or(0),
                    declared.get(&k).copied().unwrap_or(0),
                );
                ChannelShare {
                    channel: name(k).to_string(),
                    contacts: c,
                    contact_share: share(c, tc),
                    customers: u,
                    customer_share: share(u, tu),
                    declared: d,
                    declared_share: share(d, td),
                }
            })
            .collect();
        channels.sort_by(|a, b| b.contacts.cmp(&a.contacts).then_with(|| a.channel.cmp(&b.channel)));
        Value::Channels(Shares { channels })
    }
    /// The contacts behind the shares: the period's conversations and queued contacts (calls,
    /// chats in a queue), each saying which it is.
    fn explain(&self, d: &Drill<'_>) -> Vec<Row> {
        let s = d.scope;
        conversations_of(d)
            .map(|(f, _)| with(conversation_row(f), "contact", json!("conversation")))
            .chain(
                d.records
                    .contacts
                    .iter()
                    .filter(|c| {
                        let (a, ch) = (Some(c.account.as_str()), Some(c.channel.as_str()));
                        record_in_group(&s, d.group, c.queued_at.ms, a, ch, c.agent_id.as_deref())
                    })
                    .map(|c| with(contact_json(c), "contact", json!("queued"))),
            )
            .collect()
    }
}
