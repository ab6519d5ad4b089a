//! Report = drill-down, on generated data: for every indicator and every grouping (time buckets
//! in a time zone that changes to summer time inside the data), the rows `explain` lists are the
//! rows the figure counts (its count, numerator or denominator), and the groups of additive
//! figures add up to the total. Data goes through a real store, as a user's would.

use crate::{DataStore, SqliteStore};
use barometre_core::config::Config;
use barometre_core::ingest::{Format, Kind, RecordReader};
use barometre_core::metrics::METRICS;
use barometre_core::report::{self, Params, Value};
use proptest::prelude::*;

/// One generated data set, as the CSV files a user would import.
#[derive(Debug, Clone)]
struct Data {
    messages: String,
    events: String,
    surveys: String,
    invitations: String,
    contacts: String,
    reviews: String,
    customers: String,
    orders: String,
}

const ACCOUNTS: [&str; 2] = ["acme", "zen"];
const CHANNELS: [&str; 3] = ["email", "chat", "twitter"];
const AGENTS: [&str; 3] = ["ana", "bob", "chloe"];
/// 2026-03-26T00:00:00Z: Paris moves to summer time three days later.
const T0: i64 = 1_774_483_200;

fn at(s: i64) -> String {
    chrono::DateTime::from_timestamp(T0 + s, 0).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}

prop_compose! {
    /// A conversation: a few customer messages, maybe agent or bot replies, maybe events.
    fn conversation(k: usize)(
        account in 0..2usize, channel in 0..3usize, start in 0i64..(8 * 86_400),
        shape in proptest::collection::vec((0u8..4, 1i64..20_000), 1..5),
        events in proptest::collection::vec((0u8..5, 0u8..2, 1i64..40_000), 0..3),
    ) -> (String, String) {
        let (acc, ch) = (ACCOUNTS[account], CHANNELS[channel]);
        let mut m = String::new();
        let mut t = start;
        for (j, (kind, gap)) in shape.iter().enumerate() {
            t += gap;
            let (dir, author, bot) = match kind {
                0 | 1 => ("in", format!("cust{k}"), ""),
                2 => ("out", AGENTS[(k + j) % 3].to_string(), ""),
                _ => ("out", "bot".to_string(), "true"),
            };
            m.push_str(&format!("m{k}x{j},{},{dir},{acc},{ch},{author},k{k},{bot},cust{k}\n", at(t)));
        }
        let mut e = String::new();
        for (j, (kind, signed, gap)) in events.iter().enumerate() {
            let name = ["resolved", "reopened", "complaint", "examined", "resolved"][*kind as usize];
            let agent = if *signed == 1 { AGENTS[j % 3] } else { "" };
            e.push_str(&format!("k{k},{name},{},{agent}\n", at(start + gap)));
        }
        (m, e)
    }
}

fn data() -> impl Strategy<Value = Data> {
    (
        (0usize..14).prop_flat_map(|n| (0..n).map(conversation).collect::<Vec<_>>()),
        proptest::collection::vec((0u8..3, 0u8..11, 0usize..14, 0i64..(9 * 86_400), 0u8..2), 0..8),
        proptest::collection::vec((0usize..14, 0i64..(9 * 86_400), 0u8..2), 0..6),
        proptest::collection::vec((0usize..3, 0i64..(9 * 86_400), 0i64..900, 0u8..2), 0..5),
        proptest::collection::vec((0usize..14, 0u8..3, 0u8..101, 0i64..(9 * 86_400)), 0..6),
        proptest::collection::vec((0usize..6, -40i64..9, proptest::option::of(0i64..9), 0u8..2), 0..5),
        proptest::collection::vec((0usize..6, 0i64..9, 1u32..500), 0..6),
    )
        .prop_map(|(convs, surveys, invitations, contacts, reviews, customers, orders)| {
            let mut d = Data {
                messages: "message_id,created_at,direction,account,channel,author_id,conversation_id,bot,customer_id\n".into(),
                events: "conversation_id,event,at,agent_id\n".into(),
                surveys: "response_id,survey,score,scale_min,scale_max,answered_at,conversation_id,customer_id,account,channel\n".into(),
                invitations: "invitation_id,survey,sent_at,channel,account,customer_id,theme\n".into(),
                contacts: "contact_id,channel,account,queued_at,answered_at,agent_id\n".into(),
                reviews: "conversation_id,reviewer,criterion,score,at\n".into(),
                customers: "customer_id,account,since,churned_at,referred_by\n".into(),
                orders: "order_id,customer_id,ordered_at,amount,margin\n".into(),
            };
            for (m, e) in convs {
                d.messages.push_str(&m);
                d.events.push_str(&e);
            }
            for (i, (kind, score, k, t, own)) in surveys.into_iter().enumerate() {
                let (name, lo, hi, sc) = match kind {
                    0 => ("csat", 1, 5, 1 + score % 5),
                    1 => ("nps", 0, 10, score),
                    _ => ("ces", 1, 7, 1 + score % 7),
                };
                // Half carry their own account and channel; the others get them through their
                // invitation or conversation.
                let (acc, ch) = if own == 1 { (ACCOUNTS[k % 2], CHANNELS[k % 3]) } else { ("", "") };
                d.surveys.push_str(&format!("r{i},{name},{sc},{lo},{hi},{},k{k},cust{k},{acc},{ch}\n", at(t)));
            }
            for (i, (k, t, th)) in invitations.into_iter().enumerate() {
                let theme = ["livraison", "facture"][th as usize];
                d.invitations.push_str(&format!(
                    "i{i},csat,{},{},{},cust{k},{theme}\n",
                    at(t),
                    CHANNELS[k % 3],
                    ACCOUNTS[k % 2]
                ));
            }
            for (i, (ch, t, wait, answered)) in contacts.into_iter().enumerate() {
                let ans = if answered == 1 { at(t + wait) } else { String::new() };
                d.contacts.push_str(&format!("c{i},{},acme,{},{ans},{}\n", CHANNELS[ch], at(t), AGENTS[ch]));
            }
            for (k, crit, score, t) in reviews {
                let c = ["exactitude", "ton", "hors_grille"][crit as usize];
                d.reviews.push_str(&format!("k{k},qa,{c},{score},{}\n", at(t)));
            }
            for (c, since, churn, referred) in customers {
                let day = |d: i64| (chrono::NaiveDate::from_ymd_opt(2026, 3, 26).unwrap() + chrono::Duration::days(d)).to_string();
                let churned = churn.map(|x| day(since.max(0) + x)).unwrap_or_default();
                let by = if referred == 1 { "cust0" } else { "" };
                d.customers.push_str(&format!("cust{c},{},{},{churned},{by}\n", ACCOUNTS[c % 2], day(since)));
            }
            for (i, (c, t, amount)) in orders.into_iter().enumerate() {
                d.orders.push_str(&format!("o{i},cust{c},{},{amount},0.5\n", at(t * 86_400 + 3600)));
            }
            d
        })
}

fn store_of(d: &Data, cfg: &Config) -> SqliteStore {
    let mut s = SqliteStore::memory().unwrap();
    for (kind, text) in [
        (Kind::Messages, &d.messages),
        (Kind::ConversationEvents, &d.events),
        (Kind::Surveys, &d.surveys),
        (Kind::SurveyInvitations, &d.invitations),
        (Kind::Contacts, &d.contacts),
        (Kind::Reviews, &d.reviews),
        (Kind::Customers, &d.customers),
        (Kind::Orders, &d.orders),
    ] {
        let mut r = RecordReader::new("gen.csv", kind, Format::Csv, text.as_bytes());
        assert!(r.fatal.is_none(), "{kind:?}: {:?}", r.fatal);
        let sum = s.import("default", cfg, false, &mut r, &mut ()).unwrap();
        // Duplicate ids with other content are the only refusals a generator can make.
        assert!(sum.rejected.iter().all(|e| e.reason.contains("duplicate")), "{kind:?}: {:?}", sum.rejected);
    }
    s
}

/// What a drill-down must hold for a figure: (rows, rows marked `in_numerator`) — `None` where
/// the figure is not a count of rows (a mean of scores, the customers' figures).
fn expected(v: &Value) -> Option<(u64, Option<u64>)> {
    Some(match v {
        Value::Count(c) => (c.value?, None),
        Value::Ratio(r) => (r.denominator, Some(r.numerator)),
        Value::Duration(d) => (d.count, None),
        Value::Mean(m) => (m.count, None),
        Value::Nps(n) => (n.count, None),
        Value::Badge(b) => (b.response_rate.denominator, Some(b.response_rate.numerator)),
        Value::Weighted(w) => (w.criteria.iter().map(|c| c.count).sum(), None),
        Value::Channels(c) => (c.channels.iter().map(|x| x.contacts).sum(), None),
        Value::Activity(a) => (a.messages, None),
        Value::Themes(t) => (t.with_theme, None),
        Value::Posts(_) | Value::Retention(_) | Value::Amount(_) => return None,
    })
}

fn config() -> Config {
    let toml = "[iqs]\ncriteria = { exactitude = 60, ton = 40 }\n[engagement_score]\ncriteria = { ton = 1 }\n";
    Config::load(Some(toml), std::iter::empty()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_figure_lists_the_rows_it_counts_in_every_grouping(d in data()) {
        let cfg = config();
        let store = store_of(&d, &cfg);
        let dims = [None, Some("account"), Some("channel"), Some("agent"), Some("team"), Some("day"), Some("week"), Some("month"), Some("theme")];
        for by in dims {
            let p = Params::parse(Some("2026-03-26"), Some("2026-04-05"), by, Some("Europe/Paris")).unwrap();
            let (from, to) = report::load_span(&cfg, &p, false);
            let table = store.table("default", &cfg, from, to).unwrap();
            let rep = report::build(&table, &p, &cfg);
            let facts = store.facts("default", &cfg, from, to).unwrap();
            let records = store.records_credited("default", &cfg, p.from, p.to).unwrap();
            let scopes = std::iter::once((None, &rep.total.metrics, true))
                .chain(rep.groups.iter().map(|g| (g.key.as_deref(), &g.metrics, false)));
            for (key, metrics, total) in scopes {
                for def in METRICS.iter() {
                    let Some(v) = metrics.get(def.id) else { continue };
                    let Some((rows, num)) = expected(v) else { continue };
                    // The total's drill-down is asked without grouping.
                    let q = if total { Params { by: None, ..p } } else { p };
                    // The `null` group is asked as `null`.
                    let e = report::explain(def, &facts, &records, &q, if total { None } else { Some(key.unwrap_or("null")) }, &cfg);
                    prop_assert_eq!(e.rows.len() as u64, rows, "{} by {:?}, group {:?}", def.id, by, key);
                    if let Some(n) = num {
                        let marked = e.rows.iter().filter(|r| r.get("in_numerator") == Some(&serde_json::Value::Bool(true))).count() as u64;
                        prop_assert_eq!(marked, n, "numerator of {} by {:?}, group {:?}", def.id, by, key);
                    }
                }
            }
            // Additive figures: the groups add up to the total (every fact in exactly one group).
            if by.is_some() {
                for def in METRICS.iter() {
                    // Indicators of their own kind are not sums (customer figures: a customer
                    // present at the start of every bucket counts in each).
                    let additive = matches!(rep.total.metrics.get(def.id), Some(Value::Count(_) | Value::Ratio(_) | Value::Duration(_)))
                        && !matches!(def.rule, barometre_core::metrics::Rule::Own(_));
                    if !additive {
                        continue;
                    }
                    let n = |v: Option<&Value>| match v {
                        Some(Value::Count(c)) => c.value.unwrap_or(0),
                        Some(Value::Ratio(r)) => r.denominator,
                        Some(Value::Duration(x)) => x.count,
                        _ => 0,
                    };
                    let sum: u64 = rep.groups.iter().map(|g| n(g.metrics.get(def.id))).sum();
                    prop_assert_eq!(sum, n(rep.total.metrics.get(def.id)), "groups of {} by {:?}", def.id, by);
                }
            }
        }
    }
}
