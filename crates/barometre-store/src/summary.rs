//! Request figures an engine can aggregate where the facts are (`barometre summary`): requests,
//! the response rate and the response times, by account, channel, agent, team or UTC day. The
//! ClickHouse back end pushes them down to every shard; here they are computed from compact
//! facts, the same way, so that both give the same bytes — and the report's figures.

use barometre_core::clock::Outcome;
use barometre_core::stats::{Durations, Ratio};
use barometre_core::table::FactTable;
use barometre_core::time::Millis;
use std::collections::BTreeMap;

/// One group's request figures (the report's `requests`, `response_rate` and `response_time`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    /// The group (`None`: the total, or requests without an agent or team).
    pub group: Option<String>,
    pub requests: u64,
    pub response_rate: Ratio,
    pub response_time: Durations,
}

/// What a summary may be grouped by.
pub const BY: [&str; 5] = ["account", "channel", "agent", "team", "day"];

impl Summary {
    /// Summaries from the requests of `t` that start in `[from, to)`, grouped by `by`, in the
    /// order of their group's name (the total alone without `by`).
    pub fn from_table(t: &FactTable, from: Option<Millis>, to: Option<Millis>, by: Option<&str>) -> Vec<Summary> {
        let name = |id: u32| t.dict.name(id).unwrap_or("").to_string();
        let mut groups: BTreeMap<String, (u64, u64, u64, Vec<i64>)> = BTreeMap::new();
        for r in t.reqs.iter().filter(|r| crate::sqlite::within(r.start_ms, from, to)) {
            let key = match by {
                Some("account") => name(r.account),
                Some("channel") => name(r.channel),
                Some("agent") => name(r.agent),
                Some("team") => name(r.team),
                Some("day") => utc_day(r.start_ms),
                _ => String::new(),
            };
            let g = groups.entry(key).or_default();
            g.0 += 1;
            g.1 += u64::from(r.outcome != Outcome::Examined);
            if let Some(ms) = r.response_ms() {
                g.2 += 1;
                g.3.push(ms);
            }
        }
        groups
            .into_iter()
            .map(|(key, (requests, rated, answered, mut times))| Summary {
                group: (by.is_some() && !key.is_empty()).then_some(key),
                requests,
                response_rate: Ratio::new(answered, rated),
                response_time: Durations::of(&mut times),
            })
            .collect()
    }

    /// From what an engine aggregated: counts, and the response times' count, exact sum,
    /// smallest, largest and type-7 median and 90th percentile, all in milliseconds.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        group: Option<String>,
        requests: u64,
        rated: u64,
        answered: u64,
        n: u64,
        sum_ms: i64,
        min_ms: i64,
        max_ms: i64,
        median_ms: f64,
        p90_ms: f64,
    ) -> Summary {
        // As `Durations::of` computes them: the same operations, the same bits.
        let response_time = if n == 0 {
            Durations::of(&mut [])
        } else {
            Durations {
                count: n,
                mean: Some(sum_ms as f64 / n as f64 / 1000.0),
                median: Some(median_ms / 1000.0),
                p90: Some(p90_ms / 1000.0),
                min: Some(min_ms as f64 / 1000.0),
                max: Some(max_ms as f64 / 1000.0),
                sum: sum_ms as f64 / 1000.0,
            }
        };
        Summary { group, requests, response_rate: Ratio::new(answered, rated), response_time }
    }
}

fn utc_day(ms: Millis) -> String {
    let days = ms.div_euclid(86_400_000);
    chrono::NaiveDate::from_num_days_from_ce_opt(719_163 + days as i32)
        .map_or_else(String::new, |d| d.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_dates() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(1_775_519_999_999), "2026-04-06");
        assert_eq!(utc_day(-1), "1969-12-31");
    }
}
