//! Customer figures (seed 004; [`crate::customers`]): retention, churn, referral and the three
//! CLVs. A customer belongs to an account, not to a channel, agent or theme; a period is what
//! they are measured over, so a time bucket is its own period (its calendar span within the
//! report's), holding every customer.

use super::{Drill, Grouping, Indicator, Pass, Shape, Source};
use crate::customers::{figures, membership, value, CustomerMetric as K};
use crate::drill::{bucket_of_key, bucket_start, group_matches, Row, Scope};
use crate::model::{Customer, Order};
use crate::table::FactTable;
use crate::time::{Millis, EARLIEST_MS, END_MS};
use crate::value::Value;
use crate::vocab::Dim;
use serde_json::{json, Value as Json};
use std::collections::HashSet;

/// `retention_rate`, `churn_rate`, `referral_rate`, `clv`, `clv_historical`, `clv_predictive`.
pub struct Customers(pub K);

/// Whose figures, over which period.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// `None`: every customer; else the customers of these accounts (dict ids).
    accounts: Option<Vec<u32>>,
    from: Option<Millis>,
    to: Option<Millis>,
}

impl Customers {
    /// Whether a customer is a row behind the figure, and whether it counts in its numerator.
    fn counted(&self, c: &Customer, from: Option<Millis>, to: Option<Millis>, s: &Scope) -> Option<bool> {
        let m = membership(c, from, to, s.zone);
        let (keep, num) = match self.0 {
            K::Churn => (m.start, m.lost),
            K::Referral => (m.new, c.referred_by.is_some()),
            K::Retention | K::Clv | K::ClvHistorical | K::ClvPredictive => (m.start || m.new || m.end, m.end),
        };
        keep.then_some(num)
    }
}

impl Indicator for Customers {
    type Part = Part;
    fn shape(&self) -> Shape {
        match self.0 {
            K::Retention => Shape::Retention,
            K::Churn | K::Referral => Shape::Ratio,
            K::Clv | K::ClvHistorical | K::ClvPredictive => Shape::Amount,
        }
    }
    fn source(&self) -> Source {
        Source::Records
    }

    fn accumulate(&self, q: &Pass<'_>) -> Vec<Part> {
        let s = q.scope;
        let period = |accounts| Part { accounts, from: s.from, to: s.to };
        let Some(g) = q.grouping else { return vec![period(None)] };
        (0..q.n)
            .map(|i| match g.dim {
                Dim::Account => period(Some(if i > 0 { vec![i as u32 - 1] } else { Vec::new() })),
                d if d.is_time() => {
                    // The bucket's calendar period (the first bucket's start is its first
                    // instant, not its calendar start), within the report's.
                    let b = &g.buckets[i];
                    let start = bucket_start(b.0, d, s.zone);
                    Part {
                        accounts: None,
                        from: Some(s.from.map_or(start, |f| f.max(start))),
                        to: Some(s.to.map_or(b.1, |x| x.min(b.1))),
                    }
                }
                // Customers have no channel, agent, team or theme: all in the `null` group.
                _ => period(if i == 0 { None } else { Some(Vec::new()) }),
            })
            .collect()
    }

    fn merge(&self, into: &mut Part, other: &Part) {
        into.accounts = match (into.accounts.take(), &other.accounts) {
            (Some(mut a), Some(b)) => {
                a.extend_from_slice(b);
                a.sort_unstable();
                a.dedup();
                Some(a)
            }
            _ => None,
        };
        into.from = into.from.zip(other.from).map(|(a, b)| a.min(b));
        into.to = into.to.zip(other.to).map(|(a, b)| a.max(b));
    }

    /// Every customer over the report's period: a total is not its buckets merged.
    fn total(&self, q: &Pass<'_>, _: &[&Part]) -> Part {
        self.accumulate(&q.alone()).pop().expect("one group, one part")
    }

    fn finish(&self, p: &mut Part, q: &Pass<'_>) -> Value {
        let t = q.table;
        let cs: Vec<&Customer> = t
            .customers
            .iter()
            .filter(|c| p.accounts.as_ref().is_none_or(|a| t.dict.get(&c.account).is_some_and(|id| a.contains(&id))))
            .collect();
        let os: Vec<&Order> = match p.accounts {
            None => t.orders.iter().collect(),
            Some(_) => {
                let ids: HashSet<&str> = cs.iter().map(|c| c.customer_id.as_str()).collect();
                t.orders.iter().filter(|o| ids.contains(o.customer_id.as_str())).collect()
            }
        };
        value(self.0, &figures(&cs, &os, p.from, p.to, q.scope.zone))
    }

    /// Sign-ups, churns and orders make time buckets too: each bucket is its own period.
    fn instants(&self, t: &FactTable, s: &Scope) -> Vec<Millis> {
        t.customers
            .iter()
            .flat_map(|c| std::iter::once(c.since.ms(s.zone)).chain(c.churned_at.map(|m| m.ms(s.zone))))
            .chain(t.orders.iter().map(|o| o.ordered_at.ms(s.zone)))
            .filter(|&ms| s.contains(ms) && (EARLIEST_MS..END_MS).contains(&ms))
            .collect()
    }

    /// Customers count in their account's group, or in the `null` group of dimensions they lack.
    fn groups(&self, t: &FactTable, g: &Grouping, used: &mut [bool]) {
        for c in &t.customers {
            match g.dim {
                Dim::Account => {
                    if let Some(a) = t.dict.get(&c.account) {
                        used[Grouping::slot_of_name(a)] = true;
                    }
                }
                d if d.is_time() => {}
                _ => used[0] = true,
            }
        }
    }

    /// The group's customers (or orders, for the CLVs) over the group's period, as the report
    /// decides them.
    fn explain(&self, d: &Drill<'_>) -> Vec<Row> {
        let (s, rec, group) = (&d.scope, d.records, d.group);
        let bucket = s.by.filter(|x| x.is_time()).and_then(|x| group.and_then(|g| bucket_of_key(g, x, s.zone)));
        let (from, to) = match bucket {
            Some((b0, b1)) => (Some(s.from.map_or(b0, |f| f.max(b0))), Some(s.to.map_or(b1, |t| t.min(b1)))),
            None => (s.from, s.to),
        };
        let (lo, hi) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
        let in_group = |account: Option<&str>| match s.by.filter(|_| group.is_some()) {
            None => true,
            // An order of a customer the data does not know belongs to no account (the report's
            // `null` account group has no customer figures).
            Some(Dim::Account) => account.is_some() && group_matches(account.map(str::to_string), group),
            Some(x) if x.is_time() => bucket.is_some(),
            Some(_) => group_matches(None, group),
        };
        match self.0 {
            K::Clv | K::ClvHistorical | K::ClvPredictive => {
                let accounts: std::collections::HashMap<&str, &str> =
                    rec.customers.iter().map(|c| (c.customer_id.as_str(), c.account.as_str())).collect();
                rec.orders
                    .iter()
                    .filter(|o| {
                        let t = o.ordered_at.ms(s.zone);
                        t >= lo && t < hi && in_group(accounts.get(o.customer_id.as_str()).copied())
                    })
                    .map(|o| {
                        let Json::Object(m) = json!({
                            "order_id": o.order_id, "customer_id": o.customer_id,
                            "ordered_at": o.ordered_at.to_text(), "amount": o.amount,
                            "margin": o.margin, "currency": o.currency,
                        }) else {
                            unreachable!()
                        };
                        m
                    })
                    .collect()
            }
            K::Retention | K::Churn | K::Referral => rec
                .customers
                .iter()
                .filter(|c| in_group(Some(&c.account)))
                .filter_map(|c| {
                    let num = self.counted(c, from, to, s)?;
                    let m = membership(c, from, to, s.zone);
                    let Json::Object(row) = json!({
                        "customer_id": c.customer_id, "account": c.account,
                        "since": c.since.to_text(), "churned_at": c.churned_at.map(|x| x.to_text()),
                        "referred_by": c.referred_by, "at_start": m.start, "at_end": m.end,
                        "new": m.new, "lost": m.lost, "in_numerator": num,
                    }) else {
                        unreachable!()
                    };
                    Some(row)
                })
                .collect(),
        }
    }
}
