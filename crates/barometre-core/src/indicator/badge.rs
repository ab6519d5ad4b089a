//! The "very responsive" badge (seed 001): over the window before a period's end (7 days by
//! default), response rate ≥ the threshold and median response time below it. A time bucket's
//! badge is the window before the bucket's own end, whatever the report's bounds; any other
//! group's, the window before the period's end, within the group.

use super::{Drill, Indicator, Pass, Shape, Source};
use crate::clock::RequestFact;
use crate::config::Config;
use crate::drill::{bucket_of_key, group_matches, request_key, request_row, secs, with, Row};
use crate::stats::{Durations, Ratio};
use crate::table::{FactTable, ReqRow};
use crate::time::{rfc3339_utc, Millis};
use crate::value::{Badge, BadgeThresholds, Value, Window};
use serde_json::Value as Json;
use std::sync::Arc;

/// `responsiveness_badge`.
pub struct Responsiveness;

/// The requests of one window, and where it ends.
pub struct Part {
    /// Shared by the buckets of a time grouping (their windows overlap), else the group's own.
    rows: Arc<Vec<ReqRow>>,
    range: std::ops::Range<usize>,
    end: Millis,
}

/// Whether a request's channel is one the badge looks at (`[badge] channels`, all by default).
fn counted(cfg: &Config, channel: Option<&str>) -> bool {
    cfg.badge.channels.as_ref().is_none_or(|c| channel.is_some_and(|n| c.iter().any(|x| x == n)))
}

fn in_badge(t: &FactTable, cfg: &Config, r: &ReqRow) -> bool {
    counted(cfg, t.dict.name(r.channel))
}

impl Indicator for Responsiveness {
    type Part = Part;
    fn shape(&self) -> Shape {
        Shape::Badge
    }
    fn source(&self) -> Source {
        Source::Requests
    }

    fn accumulate(&self, q: &Pass<'_>) -> Vec<Part> {
        let (t, cfg) = (q.table, q.ctx.cfg);
        let w = cfg.badge.window_ms;
        match q.grouping {
            Some(g) if g.dim.is_time() => {
                // Each bucket looks back from its own end: one sorted copy, a slice per bucket.
                let mut all: Vec<ReqRow> = t.reqs.iter().filter(|r| in_badge(t, cfg, r)).copied().collect();
                all.sort_by_key(|r| r.start_ms);
                let all = Arc::new(all);
                (0..q.n)
                    .map(|i| {
                        let end = g.buckets.get(i).map_or(q.end, |b| b.1.min(q.end));
                        let lo = all.partition_point(|r| r.start_ms < end - w);
                        let hi = all.partition_point(|r| r.start_ms < end);
                        Part { rows: all.clone(), range: lo..hi, end }
                    })
                    .collect()
            }
            _ => {
                let lo = q.end - w;
                let mut parts: Vec<Vec<ReqRow>> = vec![Vec::new(); q.n];
                for r in t.reqs.iter().filter(|r| r.start_ms >= lo && r.start_ms < q.end && in_badge(t, cfg, r)) {
                    parts[q.grouping.map_or(0, |g| g.req(r))].push(*r);
                }
                parts.into_iter().map(|v| Part { range: 0..v.len(), rows: Arc::new(v), end: q.end }).collect()
            }
        }
    }

    fn merge(&self, into: &mut Part, other: &Part) {
        let mut v: Vec<ReqRow> = into.rows[into.range.clone()].to_vec();
        v.extend_from_slice(&other.rows[other.range.clone()]);
        *into = Part { range: 0..v.len(), rows: Arc::new(v), end: into.end.max(other.end) };
    }

    /// The period's window, as if ungrouped: a total's badge is not its buckets' windows merged.
    fn total(&self, q: &Pass<'_>, _: &[&Part]) -> Part {
        self.accumulate(&q.alone()).pop().expect("one group, one part")
    }

    fn finish(&self, part: &mut Part, q: &Pass<'_>) -> Value {
        let b = &q.ctx.cfg.badge;
        let reqs = &part.rows[part.range.clone()];
        // The window's response rate and response time, by the same request rules as
        // `response_rate` and `response_time`.
        let rated = reqs.iter().filter(|r| r.rated());
        let rate = Ratio::new(rated.clone().filter(|r| r.answered()).count() as u64, rated.count() as u64);
        let mut d: Vec<i64> = reqs.iter().filter_map(ReqRow::response_ms).collect();
        let time = Durations::of(&mut d);
        let max_s = secs(b.max_median_ms);
        let earned = rate.value.is_some_and(|v| v >= b.min_rate) && time.median.is_some_and(|m| m < max_s);
        Value::Badge(Badge {
            earned,
            response_rate: rate,
            response_time: time,
            window: Window { from: rfc3339_utc(part.end - b.window_ms), to: rfc3339_utc(part.end) },
            thresholds: BadgeThresholds { response_rate: b.min_rate, response_time: max_s },
        })
    }

    /// The requests of the group's window the rate counts, each marked as the rate marks it.
    fn explain(&self, d: &Drill<'_>) -> Vec<Row> {
        let (s, t, cfg) = (&d.scope, d.table, d.cfg);
        let data_end = s.to.unwrap_or_else(|| t.data_end());
        let rk = |r: &RequestFact| s.by.is_none_or(|x| group_matches(request_key(r, x, s.zone), d.group));
        let bucket = s.by.filter(|x| x.is_time()).zip(d.group).map(|(x, k)| bucket_of_key(k, x, s.zone));
        let (end, in_group): (Millis, &dyn Fn(&RequestFact) -> bool) = match bucket {
            Some(Some((_, bend))) => (bend.min(data_end), &|_| true),
            Some(None) => (data_end, &|_| false),
            None => (data_end, &rk),
        };
        let start = end - cfg.badge.window_ms;
        d.facts
            .requests
            .iter()
            .zip(&t.reqs)
            .filter(|(r, _)| r.start_ms >= start && r.start_ms < end && in_group(r))
            .filter(|(r, _)| counted(cfg, Some(&r.channel)))
            .filter(|(_, x)| x.rated())
            .map(|(r, x)| with(request_row(r, cfg), "in_numerator", Json::Bool(x.answered())))
            .collect()
    }
}
