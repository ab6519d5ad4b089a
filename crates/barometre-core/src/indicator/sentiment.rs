//! The sentiment balance (METRICS §8): of the incoming messages that give an opinion, positive
//! feedback counts +100, negative feedback and complaints −100; the balance is their mean, from
//! −100 (all negative) to +100 (all positive). Shown as a mean on that scale.

use super::{messages_of, slot, Drill, Indicator, Pass, Shape, Source};
use crate::drill::{message_row, with, Row};
use crate::facts::Role;
use crate::understand::Label;
use crate::value::{Mean, Value};
use serde_json::json;

/// `sentiment_balance`.
pub struct SentimentBalance;

/// What a message adds: +100, −100, or nothing (no opinion, or not a customer's).
fn score(role: Role, label: Option<Label>) -> Option<f64> {
    if role != Role::Customer {
        return None;
    }
    match label? {
        Label::FeedbackPositive => Some(100.0),
        Label::FeedbackNegative | Label::Complaint => Some(-100.0),
        _ => None,
    }
}

impl Indicator for SentimentBalance {
    /// Positive, negative.
    type Part = [u64; 2];
    fn shape(&self) -> Shape {
        Shape::Mean
    }
    fn source(&self) -> Source {
        Source::Messages
    }
    fn accumulate(&self, q: &Pass<'_>) -> Vec<[u64; 2]> {
        let mut v = vec![[0u64; 2]; q.n];
        for (i, m) in q.rows.msgs.iter().enumerate() {
            match score(m.role, m.label()) {
                Some(s) if s > 0.0 => v[slot(q.slots.msgs, i)][0] += 1,
                Some(_) => v[slot(q.slots.msgs, i)][1] += 1,
                None => {}
            }
        }
        v
    }
    fn merge(&self, into: &mut [u64; 2], other: &[u64; 2]) {
        into[0] += other[0];
        into[1] += other[1];
    }
    fn finish(&self, p: &mut [u64; 2], _: &Pass<'_>) -> Value {
        let n = p[0] + p[1];
        Value::Mean(Mean {
            value: (n > 0).then(|| (p[0] as f64 - p[1] as f64) * 100.0 / n as f64),
            count: n,
            scale_min: (n > 0).then_some(-100.0),
            scale_max: (n > 0).then_some(100.0),
            lower_is_better: false,
        })
    }
    /// The messages that give an opinion, each with what it adds.
    fn explain(&self, d: &Drill<'_>) -> Vec<Row> {
        messages_of(d)
            .filter_map(|(m, _)| score(m.role, m.label).map(|v| with(message_row(m), "value", json!(v))))
            .collect()
    }
}
