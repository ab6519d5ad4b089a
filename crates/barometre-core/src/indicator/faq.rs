//! Questions the knowledge base already answers (METRICS §8, `faq_answerable_questions`):
//! incoming messages labelled question or technical question that an entry of the workspace's
//! FAQ answers ([`crate::understand::faq`]), as a share of the messages received. The drill-down
//! lists the messages received, each question answered with the entry that answers it. Without
//! a knowledge base the figure is `null`.

use super::{messages_of, slot, Drill, Indicator, Pass, Shape, Source};
use crate::drill::{message_row, with, Row};
use crate::facts::Role;
use crate::stats::Ratio;
use crate::value::Value;
use serde_json::{json, Value as Json};

/// `faq_answerable_questions`.
pub struct FaqAnswerable;

impl Indicator for FaqAnswerable {
    /// Answerable questions, messages received.
    type Part = [u64; 2];
    fn shape(&self) -> Shape {
        Shape::Ratio
    }
    fn source(&self) -> Source {
        Source::Messages
    }
    fn accumulate(&self, q: &Pass<'_>) -> Vec<[u64; 2]> {
        let mut v = vec![[0u64; 2]; q.n];
        for (i, m) in q.rows.msgs.iter().enumerate() {
            if m.role == Role::Customer {
                let p = &mut v[slot(q.slots.msgs, i)];
                p[1] += 1;
                p[0] += u64::from(m.answered_by_faq());
            }
        }
        v
    }
    fn merge(&self, into: &mut [u64; 2], other: &[u64; 2]) {
        into[0] += other[0];
        into[1] += other[1];
    }
    /// `null` without a knowledge base: "the FAQ answers none" would be a figure about a FAQ
    /// that does not exist.
    fn finish(&self, p: &mut [u64; 2], q: &Pass<'_>) -> Value {
        let r = Ratio::new(p[0], p[1]);
        Value::Ratio(if q.table.has_faq { r } else { Ratio { value: None, ..r } })
    }
    /// The messages received, each with `in_numerator`; a question answered names its entry
    /// (`faq_entry`: id, question, answer).
    fn explain(&self, d: &Drill<'_>) -> Vec<Row> {
        messages_of(d)
            .filter(|(_, m)| m.role == Role::Customer)
            .map(|(f, m)| {
                let counted = m.answered_by_faq();
                let entry = counted.then(|| d.records.faq.get(m.faq as usize - 1)).flatten();
                let row = with(message_row(f), "in_numerator", Json::Bool(counted));
                match entry {
                    Some(e) => with(row, "faq_entry", json!({"id": e.id, "question": e.question, "answer": e.answer})),
                    None if counted => with(row, "faq_entry", json!({"position": m.faq})),
                    None => row,
                }
            })
            .collect()
    }
}
