//! Aggregation: facts → the report of DATA.md (`period`, `timezone`, `group_by`, `total`,
//! `groups`), and the drill-down rows behind any figure.

use crate::clock::{MessageFact, RequestFact};
use crate::config::Config;
use crate::metrics::{Ctx, MetricDef, Rule, METRICS};
use crate::stats::{Count, Durations, Ratio};
use crate::time::{rfc3339_utc, Millis, Zone};
use chrono::{Datelike, Duration, NaiveDate};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value as Json};

/// A grouping dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    Account,
    Channel,
    Agent,
    Team,
    Day,
    Week,
    Month,
}

impl Dim {
    pub const ALL: [Dim; 7] = [Dim::Account, Dim::Channel, Dim::Agent, Dim::Team, Dim::Day, Dim::Week, Dim::Month];
    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Account => "account",
            Dim::Channel => "channel",
            Dim::Agent => "agent",
            Dim::Team => "team",
            Dim::Day => "day",
            Dim::Week => "week",
            Dim::Month => "month",
        }
    }
    pub fn parse(s: &str) -> Option<Dim> {
        Dim::ALL.into_iter().find(|d| d.as_str() == s)
    }
    pub fn is_time(self) -> bool {
        matches!(self, Dim::Day | Dim::Week | Dim::Month)
    }
}

/// What to report: a period `[from, to)` (open ends = all data), an optional grouping, the zone
/// of calendar buckets.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub by: Option<Dim>,
    pub zone: Zone,
}

impl Default for Params {
    fn default() -> Self {
        Params { from: None, to: None, by: None, zone: Zone::UTC }
    }
}

impl Params {
    fn contains(&self, ms: Millis) -> bool {
        self.from.is_none_or(|f| ms >= f) && self.to.is_none_or(|t| ms < t)
    }
    /// The period just before, of equal length (both ends needed).
    pub fn previous(&self) -> Option<Params> {
        let (f, t) = (self.from?, self.to?);
        Some(Params { from: Some(f - (t - f)), to: Some(f), ..*self })
    }
}

/// The facts a report reads (they may reach beyond the period: the badge looks back 7 days).
#[derive(Clone, Copy)]
pub struct FactSet<'a> {
    pub requests: &'a [RequestFact],
    pub messages: &'a [MessageFact],
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Badge {
    pub earned: bool,
    pub response_rate: Ratio,
    pub response_time: Durations,
    pub window: Window,
    pub thresholds: BadgeThresholds,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadgeThresholds {
    pub response_rate: f64,
    pub response_time: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Count(Count),
    Ratio(Ratio),
    Duration(Durations),
    Badge(Badge),
}

/// Metrics in registry order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metrics(pub Vec<(&'static str, Value)>);

impl Metrics {
    pub fn get(&self, id: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| *k == id).map(|(_, v)| v)
    }
}

impl Serialize for Metrics {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Total {
    pub metrics: Metrics,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub key: Option<String>,
    pub metrics: Metrics,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Period {
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub period: Period,
    pub timezone: String,
    pub group_by: Option<&'static str>,
    pub total: Total,
    pub groups: Vec<Group>,
}

/// Calendar bucket of an instant: `2026-04-06`, ISO week `2026-W15`, month `2026-04`.
pub fn time_key(ms: Millis, dim: Dim, zone: Zone) -> String {
    let d = zone.local(ms).date();
    match dim {
        Dim::Week => {
            let w = d.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }
        Dim::Month => format!("{:04}-{:02}", d.year(), d.month()),
        _ => d.format("%Y-%m-%d").to_string(),
    }
}

/// The instant a bucket ends.
fn bucket_end(ms: Millis, dim: Dim, zone: Zone) -> Millis {
    let d = zone.local(ms).date();
    let next = match dim {
        Dim::Week => d + Duration::days(7 - i64::from(d.weekday().num_days_from_monday())),
        Dim::Month => {
            let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
            NaiveDate::from_ymd_opt(y, m, 1).unwrap()
        }
        _ => d + Duration::days(1),
    };
    zone.day_start(next)
}

pub fn request_key(r: &RequestFact, dim: Dim, zone: Zone) -> Option<String> {
    match dim {
        Dim::Account => Some(r.account.clone()),
        Dim::Channel => Some(r.channel.clone()),
        Dim::Agent => r.agent.clone(),
        Dim::Team => r.team.clone(),
        _ => Some(time_key(r.start_ms, dim, zone)),
    }
}

pub fn message_key(m: &MessageFact, dim: Dim, zone: Zone) -> Option<String> {
    match dim {
        Dim::Account => Some(m.account.clone()),
        Dim::Channel => Some(m.channel.clone()),
        Dim::Agent => m.agent.clone(),
        Dim::Team => m.team.clone(),
        _ => Some(time_key(m.ms, dim, zone)),
    }
}

fn secs(ms: Millis) -> f64 {
    ms as f64 / 1000.0
}

/// One metric over the given requests and messages.
fn value(def: &MetricDef, reqs: &[&RequestFact], msgs: &[&MessageFact], ctx: &Ctx, badge: &dyn Fn() -> Badge) -> Value {
    match &def.rule {
        Rule::MsgCount { pred, known } => {
            let n = msgs.iter().filter(|m| pred(m)).count() as u64;
            let any = known.is_none_or(|k| msgs.iter().any(|m| k(m)));
            Value::Count(Count { value: any.then_some(n) })
        }
        Rule::ReqCount(p) => Value::Count(Count { value: Some(reqs.iter().filter(|r| p(r, ctx)).count() as u64) }),
        Rule::ReqRatio { den, num } => {
            let d: Vec<_> = reqs.iter().filter(|r| den(r, ctx)).collect();
            Value::Ratio(Ratio::new(d.iter().filter(|r| num(r, ctx)).count() as u64, d.len() as u64))
        }
        Rule::MsgRatio { den, num } => {
            let d: Vec<_> = msgs.iter().filter(|m| den(m)).collect();
            Value::Ratio(Ratio::new(d.iter().filter(|m| num(m)).count() as u64, d.len() as u64))
        }
        Rule::ReqDuration(f) => {
            Value::Duration(Durations::from_seconds(reqs.iter().filter_map(|r| f(r, ctx)).map(secs).collect()))
        }
        Rule::MsgDuration(f) => Value::Duration(Durations::from_seconds(msgs.iter().filter_map(|m| f(m)).collect())),
        Rule::Badge => Value::Badge(badge()),
    }
}

fn badge(all: &[RequestFact], in_group: &dyn Fn(&RequestFact) -> bool, end: Millis, cfg: &Config) -> Badge {
    let b = &cfg.badge;
    let start = end - b.window_ms;
    let reqs: Vec<&RequestFact> = all
        .iter()
        .filter(|r| r.start_ms >= start && r.start_ms < end && in_group(r))
        .filter(|r| b.channels.as_ref().is_none_or(|c| c.contains(&r.channel)))
        .collect();
    let ctx = Ctx { cfg };
    let (Value::Ratio(rate), Value::Duration(time)) = (
        value(crate::metrics::find("response_rate").unwrap(), &reqs, &[], &ctx, &|| unreachable!()),
        value(crate::metrics::find("response_time").unwrap(), &reqs, &[], &ctx, &|| unreachable!()),
    ) else {
        unreachable!("response_rate is a ratio, response_time a duration")
    };
    let max_s = secs(b.max_median_ms);
    let earned = rate.value.is_some_and(|v| v >= b.min_rate) && time.median.is_some_and(|m| m < max_s);
    Badge {
        earned,
        response_rate: rate,
        response_time: time,
        window: Window { from: rfc3339_utc(start), to: rfc3339_utc(end) },
        thresholds: BadgeThresholds { response_rate: b.min_rate, response_time: max_s },
    }
}

/// The instant just after the latest fact: the period end when none is given.
fn data_end(f: FactSet) -> Millis {
    let a = f.requests.iter().map(|r| r.start_ms).max();
    let b = f.messages.iter().map(|m| m.ms).max();
    a.max(b).map_or(0, |t| t + 1)
}

fn metrics_for(reqs: &[&RequestFact], msgs: &[&MessageFact], ctx: &Ctx, badge: &dyn Fn() -> Badge) -> Metrics {
    Metrics(METRICS.iter().map(|d| (d.id, value(d, reqs, msgs, ctx, badge))).collect())
}

/// Builds the report.
pub fn build(facts: FactSet, p: &Params, cfg: &Config) -> Report {
    let ctx = Ctx { cfg };
    let reqs: Vec<&RequestFact> = facts.requests.iter().filter(|r| p.contains(r.start_ms)).collect();
    let msgs: Vec<&MessageFact> = facts.messages.iter().filter(|m| p.contains(m.ms)).collect();
    let end = p.to.unwrap_or_else(|| data_end(facts));
    let total = metrics_for(&reqs, &msgs, &ctx, &|| badge(facts.requests, &|_| true, end, cfg));
    let mut groups = Vec::new();
    if let Some(dim) = p.by {
        let mut keys: Vec<Option<String>> = reqs
            .iter()
            .map(|r| request_key(r, dim, p.zone))
            .chain(msgs.iter().map(|m| message_key(m, dim, p.zone)))
            .collect();
        // Named groups first, then the group of facts without a value (`null`).
        keys.sort_by(|a, b| (a.is_none(), a).cmp(&(b.is_none(), b)));
        keys.dedup();
        for key in keys {
            let gr: Vec<&RequestFact> = reqs.iter().copied().filter(|r| request_key(r, dim, p.zone) == key).collect();
            let gm: Vec<&MessageFact> = msgs.iter().copied().filter(|m| message_key(m, dim, p.zone) == key).collect();
            let gend = if dim.is_time() {
                let first = gr.iter().map(|r| r.start_ms).chain(gm.iter().map(|m| m.ms)).min().unwrap_or(end);
                bucket_end(first, dim, p.zone).min(end)
            } else {
                end
            };
            let k = key.clone();
            let in_group = move |r: &RequestFact| dim.is_time() || request_key(r, dim, p.zone) == k;
            let metrics = metrics_for(&gr, &gm, &ctx, &|| badge(facts.requests, &in_group, gend, cfg));
            groups.push(Group { key, metrics });
        }
    }
    Report {
        period: Period { from: p.from.map(rfc3339_utc), to: p.to.map(rfc3339_utc) },
        timezone: p.zone.name(),
        group_by: p.by.map(Dim::as_str),
        total: Total { metrics: total },
        groups,
    }
}

/// The drill-down of DATA.md: `{"metric", "rows"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explain {
    pub metric: &'static str,
    pub rows: Vec<Map<String, Json>>,
}

fn group_matches(key: Option<String>, want: Option<&str>) -> bool {
    match want {
        None => true,
        Some("" | "null") => key.is_none(),
        Some(w) => key.as_deref() == Some(w),
    }
}

pub fn request_row(r: &RequestFact, ctx: &Ctx) -> Map<String, Json> {
    let cal = ctx.cfg.calendar(&r.account);
    let Json::Object(m) = json!({
        "message_id": r.request_id,
        "conversation_id": r.conversation_id,
        "account": r.account,
        "channel": r.channel,
        "customer": r.customer,
        "public": r.public,
        "start": rfc3339_utc(r.start_ms),
        "messages": r.messages,
        "first_of_conversation": r.first_of_conversation,
        "outcome": r.outcome.as_str(),
        "answer_message_id": r.answer_id,
        "closed_at": r.closed_ms.map(rfc3339_utc),
        "agent": r.agent,
        "team": r.team,
        "response_seconds": r.response_ms().map(secs),
        "response_seconds_business": r.response_ms().and(r.closed_ms).map(|e| secs(cal.open_ms(r.start_ms, e))),
        "handled_seconds": r.handled_ms().map(secs),
    }) else {
        unreachable!()
    };
    m
}

pub fn message_row(m: &MessageFact) -> Map<String, Json> {
    let Json::Object(o) = json!({
        "message_id": m.message_id,
        "conversation_id": m.conversation_id,
        "account": m.account,
        "channel": m.channel,
        "created_at": rfc3339_utc(m.ms),
        "role": m.role.as_str(),
        "author_id": m.author_id,
        "agent": m.agent,
        "team": m.team,
        "public": m.public,
        "in_scope": m.in_scope,
        "actionable": m.actionable,
        "signed": m.signed,
        "handle_seconds": m.handle_seconds,
        "request_id": m.request_id,
    }) else {
        unreachable!()
    };
    o
}

/// The rows behind a figure: for a count, the rows counted; for a ratio, the rows of its
/// denominator, each with `in_numerator`; for a duration, the rows measured, with `value_seconds`;
/// for the badge, the requests of its window.
pub fn explain(def: &'static MetricDef, facts: FactSet, p: &Params, group: Option<&str>, cfg: &Config) -> Explain {
    let ctx = Ctx { cfg };
    let rk = |r: &RequestFact| p.by.is_none_or(|d| group_matches(request_key(r, d, p.zone), group));
    let mk = |m: &MessageFact| p.by.is_none_or(|d| group_matches(message_key(m, d, p.zone), group));
    let reqs = || facts.requests.iter().filter(|r| p.contains(r.start_ms) && rk(r));
    let msgs = || facts.messages.iter().filter(|m| p.contains(m.ms) && mk(m));
    let rows = match &def.rule {
        Rule::MsgCount { pred, .. } => msgs().filter(|m| pred(m)).map(message_row).collect(),
        Rule::ReqCount(pr) => reqs().filter(|r| pr(r, &ctx)).map(|r| request_row(r, &ctx)).collect(),
        Rule::ReqRatio { den, num } => reqs()
            .filter(|r| den(r, &ctx))
            .map(|r| {
                let mut row = request_row(r, &ctx);
                row.insert("in_numerator".into(), Json::Bool(num(r, &ctx)));
                row
            })
            .collect(),
        Rule::MsgRatio { den, num } => msgs()
            .filter(|m| den(m))
            .map(|m| {
                let mut row = message_row(m);
                row.insert("in_numerator".into(), Json::Bool(num(m)));
                row
            })
            .collect(),
        Rule::ReqDuration(f) => reqs()
            .filter_map(|r| {
                f(r, &ctx).map(|v| {
                    let mut row = request_row(r, &ctx);
                    row.insert("value_seconds".into(), json!(secs(v)));
                    row
                })
            })
            .collect(),
        Rule::MsgDuration(f) => msgs()
            .filter_map(|m| {
                f(m).map(|v| {
                    let mut row = message_row(m);
                    row.insert("value_seconds".into(), json!(v));
                    row
                })
            })
            .collect(),
        Rule::Badge => {
            let end = p.to.unwrap_or_else(|| data_end(facts));
            let start = end - cfg.badge.window_ms;
            facts
                .requests
                .iter()
                .filter(|r| r.start_ms >= start && r.start_ms < end && rk(r))
                .filter(|r| cfg.badge.channels.as_ref().is_none_or(|c| c.contains(&r.channel)))
                .map(|r| request_row(r, &ctx))
                .collect()
        }
    };
    Explain { metric: def.id, rows }
}

#[cfg(test)]
mod tests;
