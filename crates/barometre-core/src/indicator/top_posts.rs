//! Top and bottom publications (seed 001): the five with the highest and the five with the
//! lowest engagement rate (engagements / reach), among those with a reach.

use super::{posts_of, slot, Drill, Indicator, Pass, Shape, Source};
use crate::drill::{post_json, Row};
use crate::value::{PostRank, TopPosts as Ranking, Value};

/// `top_posts`.
pub struct TopPosts;

const SHOWN: usize = 5;

impl Indicator for TopPosts {
    /// Every ranked publication of the group.
    type Part = Vec<PostRank>;
    fn shape(&self) -> Shape {
        Shape::Posts
    }
    fn source(&self) -> Source {
        Source::Records
    }
    fn accumulate(&self, q: &Pass<'_>) -> Vec<Vec<PostRank>> {
        let mut v = vec![Vec::new(); q.n];
        for (i, x) in q.rows.posts.iter().enumerate() {
            if x.reach > 0 {
                v[slot(q.slots.posts, i)].push(PostRank {
                    post_id: q.rows.post_ids.get(x.id as usize).cloned().unwrap_or_default(),
                    engagement_rate: x.engagements as f64 * 100.0 / x.reach as f64,
                    engagements: x.engagements,
                    reach: x.reach,
                    impressions: x.impressions,
                });
            }
        }
        v
    }
    fn merge(&self, into: &mut Vec<PostRank>, other: &Vec<PostRank>) {
        into.extend_from_slice(other);
    }
    fn finish(&self, v: &mut Vec<PostRank>, _: &Pass<'_>) -> Value {
        // Highest rate first; equal rates by id, so the ranking never depends on row order.
        v.sort_by(|a, b| b.engagement_rate.total_cmp(&a.engagement_rate).then_with(|| a.post_id.cmp(&b.post_id)));
        let top = v.iter().take(SHOWN).cloned().collect();
        let bottom = v.iter().rev().take(SHOWN).cloned().collect();
        Value::Posts(Ranking { top, bottom })
    }
    /// The group's publications (those without a reach are listed, with a null rate).
    fn explain(&self, d: &Drill<'_>) -> Vec<Row> {
        posts_of(d).map(post_json).collect()
    }
}
