//! A weighted score of criteria (seed 004): the internal quality score over quality reviews, the
//! engagement score. Σ weight × criterion mean / Σ weights of the criteria scored in the group;
//! weights from the configuration (`[iqs] criteria`, `[engagement_score] criteria`), scores 0–100.

use super::{slot, Drill, Indicator, Pass, Shape, Source};
use crate::config::Config;
use crate::drill::{record_in_group, Row};
use crate::time::rfc3339_utc;
use crate::value::{Criterion, Value, Weighted as Score};
use serde_json::{json, Value as Json};

/// The configured weighted indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Iqs,
    Engagement,
}

impl Index {
    pub fn weights(self, cfg: &Config) -> &std::collections::BTreeMap<String, f64> {
        match self {
            Index::Iqs => &cfg.iqs,
            Index::Engagement => &cfg.engagement_score,
        }
    }
}

/// `iqs`, `engagement_score`.
pub struct Weighted(pub Index);

impl Indicator for Weighted {
    /// Per configured criterion (weight order): Σ scores, count.
    type Part = Vec<(f64, u64)>;
    fn shape(&self) -> Shape {
        Shape::Weighted
    }
    fn source(&self) -> Source {
        Source::Records
    }
    fn accumulate(&self, q: &Pass<'_>) -> Vec<Self::Part> {
        let weights = self.0.weights(q.ctx.cfg);
        // The criterion of each configured name, as interned in this table.
        let ids: Vec<Option<u32>> = weights.keys().map(|k| q.rows.dict.and_then(|d| d.get(k))).collect();
        let mut v = vec![vec![(0.0, 0u64); ids.len()]; q.n];
        for (i, r) in q.rows.reviews.iter().enumerate() {
            if let Some(c) = ids.iter().position(|x| *x == Some(r.criterion)) {
                let e = &mut v[slot(q.slots.reviews, i)][c];
                e.0 += r.score;
                e.1 += 1;
            }
        }
        v
    }
    fn merge(&self, into: &mut Self::Part, other: &Self::Part) {
        for (a, b) in into.iter_mut().zip(other) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }
    fn finish(&self, sums: &mut Self::Part, q: &Pass<'_>) -> Value {
        let names = self.0.weights(q.ctx.cfg);
        let means: Vec<Option<f64>> = sums.iter().map(|&(s, n)| (n > 0).then(|| s / n as f64)).collect();
        let total_w: f64 = names.values().zip(&means).filter(|(_, m)| m.is_some()).map(|(w, _)| w).sum();
        let criteria: Vec<Criterion> = names
            .iter()
            .zip(sums.iter().zip(&means))
            .map(|((name, w), (&(_, n), m))| Criterion {
                criterion: name.clone(),
                weight: *w,
                mean: *m,
                count: n,
                share: m.filter(|_| total_w > 0.0).map(|m| w * m / total_w),
            })
            .collect();
        let value = (total_w > 0.0).then(|| criteria.iter().filter_map(|c| c.share).sum());
        Value::Weighted(Score { value, criteria })
    }
    /// The reviews the score adds up: of its configured criteria only, credited to their agent
    /// or their conversation's first agent, as the report credits them.
    fn explain(&self, d: &Drill<'_>) -> Vec<Row> {
        let weights = self.0.weights(d.cfg);
        d.records
            .reviews
            .iter()
            .filter(|r| weights.contains_key(&r.criterion))
            .filter(|r| record_in_group(&d.scope, d.group, r.at.ms, None, None, d.records.review_agent(r)))
            .map(|r| {
                let Json::Object(m) = json!({
                    "review_key": r.key, "conversation_id": r.conversation_id, "reviewer": r.reviewer,
                    "agent_id": r.agent_id, "criterion": r.criterion, "score": r.score, "at": rfc3339_utc(r.at.ms),
                }) else {
                    unreachable!()
                };
                m
            })
            .collect()
    }
}
