//! Aggregation: facts → the report of DATA.md (`period`, `timezone`, `group_by`, `total`,
//! `groups`), and the drill-down rows behind any figure.

use crate::clock::{ConversationFact, Facts, MessageFact, RequestFact};
use crate::config::Config;
use crate::metrics::{Ctx, MetricDef, Rule, METRICS};
use crate::model::{Contact, Customer, Order, Post, Review, SurveyAnswer, SurveyInvitation};
use crate::stats::{Count, Durations, Ratio};
use crate::table::{
    ContactRow, ConvRow, FactTable, InvitationRow, MsgRow, PostRow, ReqRow, ReviewRow, SurveyKind, SurveyRow,
};
use crate::time::{rfc3339_utc, Millis, Zone};
pub use crate::value::*;
pub use crate::vocab::Dim;
use chrono::{Datelike, Duration, NaiveDate};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value as Json};
use std::borrow::Cow;

/// What to report: a period `[from, to)` (open ends = all data), an optional grouping, the zone
/// of calendar buckets.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub by: Option<Dim>,
    pub zone: Zone,
    /// Only these indicators (all of them when `None`): the others are neither computed nor
    /// reported.
    pub metrics: Option<MetricSet>,
}

/// Metrics picked from the registry (`--metrics`): one bit per registry entry, in as many words
/// as the registry needs (it grows with every indicator: no cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetricSet([u64; METRIC_WORDS]);

const METRIC_WORDS: usize = METRICS.len().div_ceil(64);

impl MetricSet {
    /// From a comma-separated list of metric ids (`response_rate,first_response_time`).
    pub fn parse(list: &str) -> Result<MetricSet, String> {
        let mut set = MetricSet([0; METRIC_WORDS]);
        for id in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let i = crate::metrics::index(id)
                .ok_or_else(|| format!("unknown metric `{id}` (`barometre metrics` lists them)"))?;
            set.0[i / 64] |= 1 << (i % 64);
        }
        if set.0.iter().all(|w| *w == 0) {
            return Err("no metric named in the list".into());
        }
        Ok(set)
    }
    pub fn contains(self, id: &str) -> bool {
        crate::metrics::index(id).is_some_and(|i| self.0[i / 64] & (1 << (i % 64)) != 0)
    }
}

impl Default for Params {
    fn default() -> Self {
        Params { from: None, to: None, by: None, zone: Zone::UTC, metrics: None }
    }
}

impl Params {
    /// From the words of the CLI and the API: bounds (RFC 3339 instants or local dates in `tz`),
    /// a grouping, a time zone.
    pub fn parse(from: Option<&str>, to: Option<&str>, by: Option<&str>, tz: Option<&str>) -> Result<Params, String> {
        let zone = Zone::parse(tz.unwrap_or("UTC"))?;
        let bound = |s: Option<&str>, what: &str| {
            s.map(|s| crate::time::parse_bound(s, zone)).transpose().map_err(|e| format!("{what}: {e}"))
        };
        let (from, to) = (bound(from, "from")?, bound(to, "to")?);
        if let (Some(f), Some(t)) = (from, to) {
            if t <= f {
                return Err("`to` must be after `from`".into());
            }
        }
        let by = match by {
            None => None,
            Some(b) => Some(Dim::parse(b).ok_or_else(|| format!("unknown grouping `{b}`"))?),
        };
        Ok(Params { from, to, by, zone, metrics: None })
    }
    /// Restricts the report to a comma-separated list of metric ids (`None`: every metric).
    pub fn with_metrics(self, list: Option<&str>) -> Result<Params, String> {
        Ok(Params { metrics: list.map(MetricSet::parse).transpose()?, ..self })
    }

    fn contains(&self, ms: Millis) -> bool {
        self.from.is_none_or(|f| ms >= f) && self.to.is_none_or(|t| ms < t)
    }
    /// The period just before, of equal length (both ends needed).
    pub fn previous(&self) -> Option<Params> {
        let (f, t) = (self.from?, self.to?);
        Some(Params { from: Some(f - (t - f)), to: Some(f), ..*self })
    }
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
    /// What the figures cannot see in the data (present only when there is something to say).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_quality: Vec<Note>,
}

/// A data-quality note of a report: what kind, how many rows, and what to do, in both languages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub kind: &'static str,
    pub count: u64,
    pub message_fr: String,
    pub message_en: String,
}

/// The note for `n` `out` messages attached to no conversation.
pub fn unattached_note(n: u64) -> Note {
    Note {
        kind: "unattached_replies",
        count: n,
        message_fr: format!(
            "{n} réponses d'agent n'ont pu être rattachées à aucune conversation : ajoutez conversation_id, reply_to ou customer_id (chacune reste seule et ne répond à aucune demande)"
        ),
        message_en: format!(
            "{n} agent replies could not be attached: add conversation_id, reply_to or customer_id (each stands alone and answers no request)"
        ),
    }
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

/// The instant the calendar bucket of `ms` starts.
fn bucket_start(ms: Millis, dim: Dim, zone: Zone) -> Millis {
    let d = zone.local(ms).date();
    let first = match dim {
        Dim::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
        Dim::Month => d.with_day(1).unwrap_or(d),
        _ => d,
    };
    zone.day_start(first)
}

/// The calendar bucket a key names (`2026-04-06`, `2026-W15`, `2026-04`): its start and end.
pub fn bucket_of_key(key: &str, dim: Dim, zone: Zone) -> Option<(Millis, Millis)> {
    let first = match dim {
        Dim::Week => {
            let (y, w) = key.split_once("-W")?;
            NaiveDate::from_isoywd_opt(y.parse().ok()?, w.parse().ok()?, chrono::Weekday::Mon)?
        }
        Dim::Month => NaiveDate::parse_from_str(&format!("{key}-01"), "%Y-%m-%d").ok()?,
        Dim::Day => NaiveDate::parse_from_str(key, "%Y-%m-%d").ok()?,
        _ => return None,
    };
    // Only the years the data can hold: a key like `+262142-12-31` names no bucket.
    if !(1970..2100).contains(&first.year()) {
        return None;
    }
    let start = zone.day_start(first);
    (time_key(start, dim, zone) == key).then(|| (start, bucket_end(start, dim, zone)))
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
        Dim::Theme => None,
        _ => Some(time_key(r.start_ms, dim, zone)),
    }
}

pub fn message_key(m: &MessageFact, dim: Dim, zone: Zone) -> Option<String> {
    match dim {
        Dim::Account => Some(m.account.clone()),
        Dim::Channel => Some(m.channel.clone()),
        Dim::Agent => m.agent.clone(),
        Dim::Team => m.team.clone(),
        Dim::Theme => None,
        _ => Some(time_key(m.ms, dim, zone)),
    }
}

/// A survey answer's score and scale as a mean adds it up: as given, or mapped linearly onto
/// `onto` when it was asked on another scale.
fn survey_score(s: &SurveyRow, onto: Option<(f64, f64)>) -> Option<(f64, f64, f64)> {
    let score = s.score()?;
    Some(match onto {
        Some((lo, hi)) if (s.scale_min, s.scale_max) != (lo, hi) => {
            (lo + (score - s.scale_min) / (s.scale_max - s.scale_min) * (hi - lo), lo, hi)
        }
        _ => (score, s.scale_min, s.scale_max),
    })
}

fn secs(ms: Millis) -> f64 {
    ms as f64 / 1000.0
}

/// A metric before its final form: what groups add up to the total.
#[derive(Clone)]
enum Acc {
    Count {
        n: u64,
        known: bool,
    },
    Ratio {
        num: u64,
        den: u64,
    },
    Durations(Vec<i64>),
    /// Computed once the groups are known, from each group's own window or records (the badge,
    /// the customer figures), not by summing rows.
    Later,
    Mean {
        sum: f64,
        n: u64,
        lo: f64,
        hi: f64,
        mixed: bool,
        lower: bool,
    },
    Nps {
        pro: u64,
        pas: u64,
        det: u64,
    },
    Posts(Vec<PostRank>),
    /// Per configured criterion (weight order): Σ scores, count.
    Weighted {
        names: Vec<(String, f64)>,
        sums: Vec<(f64, u64)>,
    },
    /// Contacts and declared preferences per channel id; per customer, requests per channel.
    Channels {
        names: std::sync::Arc<Vec<String>>,
        contacts: std::collections::BTreeMap<u32, u64>,
        /// (customer hash, channel) of every request: sorted once, counted in runs.
        customers: Vec<(u64, u32)>,
        declared: std::collections::BTreeMap<u32, u64>,
    },
}

impl Acc {
    fn merge(&mut self, other: &Acc) {
        match (self, other) {
            (Acc::Count { n, known }, Acc::Count { n: m, known: k }) => {
                *n += m;
                *known |= k;
            }
            (Acc::Ratio { num, den }, Acc::Ratio { num: a, den: b }) => {
                *num += a;
                *den += b;
            }
            (Acc::Durations(v), Acc::Durations(w)) => v.extend_from_slice(w),
            (
                Acc::Mean { sum, n, lo, hi, mixed, .. },
                Acc::Mean { sum: s2, n: n2 @ 1.., lo: l2, hi: h2, mixed: m2, .. },
            ) => {
                if *n > 0 && (*lo != *l2 || *hi != *h2) {
                    *mixed = true;
                }
                if *n == 0 {
                    (*lo, *hi) = (*l2, *h2);
                }
                *sum += s2;
                *n += n2;
                *mixed |= m2;
            }
            (Acc::Posts(v), Acc::Posts(w)) => v.extend_from_slice(w),
            (
                Acc::Channels { names, contacts, customers, declared },
                Acc::Channels { names: n2, contacts: c2, customers: u2, declared: d2 },
            ) => {
                // The total starts from an empty accumulator: it takes the groups' names.
                if names.is_empty() {
                    *names = n2.clone();
                }
                for (k, v) in c2 {
                    *contacts.entry(*k).or_default() += v;
                }
                for (k, v) in d2 {
                    *declared.entry(*k).or_default() += v;
                }
                customers.extend_from_slice(u2);
            }
            (Acc::Weighted { sums, .. }, Acc::Weighted { sums: other, .. }) => {
                for (a, b) in sums.iter_mut().zip(other) {
                    a.0 += b.0;
                    a.1 += b.1;
                }
            }
            (Acc::Nps { pro, pas, det }, Acc::Nps { pro: a, pas: b, det: c }) => {
                *pro += a;
                *pas += b;
                *det += c;
            }
            _ => {}
        }
    }

    /// The final value; durations are reordered in place (the multiset stays, for merging).
    /// `later` computes the metrics that are not sums over rows (badge, customers).
    fn finish(&mut self, def: &MetricDef, later: &dyn Fn(&MetricDef) -> Value) -> Value {
        match self {
            Acc::Count { n, known } => Value::Count(Count { value: known.then_some(*n) }),
            Acc::Ratio { num, den } => Value::Ratio(Ratio::new(*num, *den)),
            Acc::Durations(v) => Value::Duration(Durations::of(v)),
            Acc::Later => later(def),
            Acc::Mean { sum, n, lo, hi, mixed, lower } => Value::Mean(Mean {
                // Scores on different scales have no common mean: never guessed (METRICS §4).
                value: (*n > 0 && !*mixed).then(|| *sum / *n as f64),
                count: *n,
                scale_min: (*n > 0 && !*mixed).then_some(*lo),
                scale_max: (*n > 0 && !*mixed).then_some(*hi),
                lower_is_better: *lower,
            }),
            Acc::Channels { names, contacts, customers, declared } => {
                let name = |k: u32| names.get(k as usize).map_or("", String::as_str);
                crate::stats::sort_pairs(customers);
                let mut main: std::collections::BTreeMap<u32, u64> = std::collections::BTreeMap::new();
                let mut i = 0;
                while i < customers.len() {
                    // One customer's requests, by channel: the channel used most, ties to the
                    // first name.
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
                let mut ids: Vec<u32> = contacts.keys().chain(main.keys()).chain(declared.keys()).copied().collect();
                ids.sort_unstable();
                ids.dedup();
                let (tc, tu, td) =
                    (contacts.values().sum::<u64>(), main.values().sum::<u64>(), declared.values().sum::<u64>());
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
                            channel: names.get(k as usize).cloned().unwrap_or_default(),
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
                Value::Channels(ChannelPreferences { channels })
            }
            Acc::Weighted { names, sums } => {
                let means: Vec<Option<f64>> = sums.iter().map(|&(s, n)| (n > 0).then(|| s / n as f64)).collect();
                let total_w: f64 = names.iter().zip(&means).filter(|(_, m)| m.is_some()).map(|((_, w), _)| w).sum();
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
                Value::Weighted(Weighted { value, criteria })
            }
            Acc::Posts(v) => {
                // Highest rate first; equal rates by id, so the ranking never depends on row order.
                v.sort_by(|a, b| {
                    b.engagement_rate.total_cmp(&a.engagement_rate).then_with(|| a.post_id.cmp(&b.post_id))
                });
                let top = v.iter().take(5).cloned().collect();
                let bottom = v.iter().rev().take(5).cloned().collect();
                Value::Posts(TopPosts { top, bottom })
            }
            Acc::Nps { pro, pas, det } => {
                let count = *pro + *pas + *det;
                Value::Nps(Nps {
                    value: (count > 0).then(|| (*pro as f64 - *det as f64) * 100.0 / count as f64),
                    promoters: *pro,
                    passives: *pas,
                    detractors: *det,
                    count,
                })
            }
        }
    }
}

/// One metric over the given requests and messages, before its final form.
fn accumulate(def: &MetricDef, reqs: &[ReqRow], msgs: &[MsgRow], ctx: &Ctx) -> Acc {
    let rows = Rows { reqs, msgs, ..Rows::default() };
    accumulate_slots(def, &rows, &Slots::default(), 1, ctx).pop().unwrap_or(Acc::Later)
}

/// One metric over the given requests and messages.
fn value(def: &MetricDef, reqs: &[ReqRow], msgs: &[MsgRow], ctx: &Ctx, badge: &(dyn Fn() -> Badge + Sync)) -> Value {
    accumulate(def, reqs, msgs, ctx).finish(def, &|_| Value::Badge(badge()))
}

fn badge<'a>(reqs: impl Iterator<Item = &'a ReqRow>, end: Millis, ctx: &Ctx) -> Badge {
    let b = &ctx.cfg.badge;
    let start = end - b.window_ms;
    let reqs: Vec<ReqRow> = reqs.filter(|r| r.start_ms >= start && r.start_ms < end).copied().collect();
    let (Value::Ratio(rate), Value::Duration(time)) = (
        value(crate::metrics::find("response_rate").unwrap(), &reqs, &[], ctx, &|| unreachable!()),
        value(crate::metrics::find("response_time").unwrap(), &reqs, &[], ctx, &|| unreachable!()),
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

/// The metrics a group computes itself; business durations without opening hours anywhere
/// are their calendar twins and are copied instead.
fn own_metrics(ctx: &Ctx, sel: Option<MetricSet>) -> Vec<&'static MetricDef> {
    let same = !ctx.cfg.has_business_hours();
    let wanted = |id: &str| sel.is_none_or(|s| s.contains(id) || (same && s.contains(&format!("{id}_business"))));
    METRICS.iter().filter(|d| !(same && d.id.ends_with("_business")) && wanted(d.id)).collect()
}

/// Final values in registry order, twins filled in.
fn assemble(
    own: &[&'static MetricDef],
    accs: &mut [Acc],
    later: &dyn Fn(&MetricDef) -> Value,
    sel: Option<MetricSet>,
) -> Metrics {
    let values = own.iter().zip(accs.iter_mut()).map(|(d, a)| a.finish(d, later)).collect();
    assemble_values(own, values, sel)
}

/// [`assemble`] from the metrics' values (in `own` order).
fn assemble_values(own: &[&'static MetricDef], values: Vec<Value>, sel: Option<MetricSet>) -> Metrics {
    let mut out: Vec<(&'static str, Value)> = own.iter().map(|d| d.id).zip(values).collect();
    for d in METRICS {
        if out.iter().all(|(k, _)| *k != d.id) {
            let twin = d.id.strip_suffix("_business").unwrap_or(d.id);
            if let Some(v) = out.iter().find(|(k, _)| *k == twin).map(|(_, v)| v.clone()) {
                out.push((d.id, v));
            }
        }
    }
    if let Some(sel) = sel {
        out.retain(|(id, _)| sel.contains(id));
    }
    out.sort_by_key(|(id, _)| crate::metrics::index(id));
    Metrics(out)
}

/// All metrics of the whole period, spread over the cores (a report without groups).
fn metrics_par(rows: &Rows, ctx: &Ctx, later: &dyn Fn(&MetricDef) -> Value, sel: Option<MetricSet>) -> Metrics {
    let own = own_metrics(ctx, sel);
    let mut accs: Vec<Acc> = accumulate_all(&own, rows, &Slots::default(), 1, ctx)
        .into_iter()
        .map(|mut v| v.pop().unwrap_or(Acc::Later))
        .collect();
    assemble(&own, &mut accs, later, sel)
}

/// Runs `jobs` on every core (reports of many groups), keeping their order.
fn parallel<T: Send>(n: usize, job: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |x| x.get()).min(n);
    if threads <= 1 {
        return (0..n).map(job).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done: std::sync::Mutex<Vec<(usize, T)>> = std::sync::Mutex::new(Vec::with_capacity(n));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if k >= n {
                    break;
                }
                let v = job(k);
                done.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((k, v));
            });
        }
    });
    let mut v = done.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    v.sort_by_key(|(k, _)| *k);
    v.into_iter().map(|(_, x)| x).collect()
}

/// Calendar buckets over the data's instants `[lo, hi]`: (start, end, key), in order. Dense when
/// the span is short (most reports: no sort needed); past [`DENSE_BUCKETS`] only the buckets that
/// hold data are built, so that two far-apart rows cost two buckets, not every day between them.
fn buckets<I: Iterator<Item = Millis>>(
    lo: Millis,
    hi: Millis,
    dim: Dim,
    zone: Zone,
    instants: impl Fn() -> I,
) -> Vec<(Millis, Millis, String)> {
    let shortest = match dim {
        Dim::Week => 7 * 86_400_000,
        Dim::Month => 28 * 86_400_000,
        _ => 23 * 3_600_000,
    };
    if (hi - lo) / shortest < DENSE_BUCKETS {
        return dense_buckets(lo, hi, dim, zone);
    }
    let mut all: Vec<Millis> = instants().collect();
    all.sort_unstable();
    all.dedup();
    sparse_buckets(&all, dim, zone)
}

/// Every calendar bucket from `lo` to `hi`, empty or not; the first starts at `lo`.
fn dense_buckets(lo: Millis, hi: Millis, dim: Dim, zone: Zone) -> Vec<(Millis, Millis, String)> {
    let mut out = Vec::new();
    let mut t = lo;
    while t <= hi {
        let end = bucket_end(t, dim, zone);
        out.push((t, end, time_key(t, dim, zone)));
        if end <= t {
            break;
        }
        t = end;
    }
    out
}

/// The buckets of [`dense_buckets`] that hold one of the `sorted` instants, and no other.
fn sparse_buckets(sorted: &[Millis], dim: Dim, zone: Zone) -> Vec<(Millis, Millis, String)> {
    let mut out: Vec<(Millis, Millis, String)> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let t = sorted[i];
        let end = bucket_end(t, dim, zone);
        let start = match out.last() {
            None => t,
            Some(prev) => bucket_start(t, dim, zone).max(prev.1),
        };
        out.push((start, end, time_key(t, dim, zone)));
        if end <= t {
            break;
        }
        i += sorted[i..].partition_point(|&x| x < end);
    }
    out
}

/// Calendar buckets built one after the other, empty or not, below this count.
const DENSE_BUCKETS: i64 = 4_000;

/// Where facts go when grouped: by interned name, or by calendar bucket.
struct Grouping {
    dim: Dim,
    buckets: Vec<(Millis, Millis, String)>,
}

impl Grouping {
    fn slot_of_name(id: u32) -> usize {
        if id == crate::table::NONE {
            0
        } else {
            id as usize + 1
        }
    }
    fn req(&self, r: &ReqRow) -> usize {
        match self.dim {
            Dim::Account => Self::slot_of_name(r.account),
            Dim::Channel => Self::slot_of_name(r.channel),
            Dim::Agent => Self::slot_of_name(r.agent),
            Dim::Team => Self::slot_of_name(r.team),
            Dim::Theme => 0,
            _ => self.bucket(r.start_ms),
        }
    }
    fn msg(&self, m: &MsgRow) -> usize {
        match self.dim {
            Dim::Account => Self::slot_of_name(m.account),
            Dim::Channel => Self::slot_of_name(m.channel),
            Dim::Agent => Self::slot_of_name(m.agent),
            Dim::Team => Self::slot_of_name(m.team),
            Dim::Theme => 0,
            _ => self.bucket(m.ms),
        }
    }
    fn conv(&self, c: &ConvRow) -> usize {
        match self.dim {
            Dim::Account => Self::slot_of_name(c.account),
            Dim::Channel => Self::slot_of_name(c.channel),
            Dim::Agent => Self::slot_of_name(c.agent),
            Dim::Team => Self::slot_of_name(c.team),
            Dim::Theme => 0,
            _ => self.bucket(c.start_ms),
        }
    }
    fn post(&self, x: &PostRow) -> usize {
        match self.dim {
            Dim::Account => Self::slot_of_name(x.account),
            Dim::Channel => Self::slot_of_name(x.channel),
            Dim::Theme => Self::slot_of_name(x.theme),
            Dim::Agent | Dim::Team => 0,
            _ => self.bucket(x.ms),
        }
    }
    /// Group of a row of another import (survey, contact, invitation); no team.
    fn other(&self, ms: Millis, account: u32, channel: u32, agent: u32) -> usize {
        match self.dim {
            Dim::Account => Self::slot_of_name(account),
            Dim::Channel => Self::slot_of_name(channel),
            Dim::Agent => Self::slot_of_name(agent),
            Dim::Team | Dim::Theme => 0,
            _ => self.bucket(ms),
        }
    }
    fn bucket(&self, ms: Millis) -> usize {
        self.buckets.partition_point(|b| b.1 <= ms)
    }
}

/// A plain per-row rule, with its running state (one slot per group), by the table it reads.
/// Every plain metric is computed by these — in a fused pass with the other metrics of its table,
/// or alone — so a plain rule has one interpreter.
enum Plain {
    Msgs(St<MsgRow>),
    Reqs(St<ReqRow>),
    Convs(St<ConvRow>),
}

/// How a plain rule reads a row of one table: its predicates and measures, with the context when
/// the registry's functions take it (requests' business hours, conversations' durations).
trait PlainRow: Sized {
    type Pred: Copy;
    type Dur: Copy;
    fn test(p: Self::Pred, r: &Self, ctx: &Ctx) -> bool;
    fn measure(f: Self::Dur, r: &Self, ctx: &Ctx) -> Option<Millis>;
}

impl PlainRow for MsgRow {
    type Pred = fn(&MsgRow) -> bool;
    type Dur = fn(&MsgRow) -> Option<Millis>;
    #[inline(always)]
    fn test(p: Self::Pred, r: &Self, _: &Ctx) -> bool {
        p(r)
    }
    #[inline(always)]
    fn measure(f: Self::Dur, r: &Self, _: &Ctx) -> Option<Millis> {
        f(r)
    }
}

impl PlainRow for ReqRow {
    type Pred = fn(&ReqRow, &Ctx) -> bool;
    type Dur = fn(&ReqRow, &Ctx) -> Option<Millis>;
    #[inline(always)]
    fn test(p: Self::Pred, r: &Self, ctx: &Ctx) -> bool {
        p(r, ctx)
    }
    #[inline(always)]
    fn measure(f: Self::Dur, r: &Self, ctx: &Ctx) -> Option<Millis> {
        f(r, ctx)
    }
}

impl PlainRow for ConvRow {
    type Pred = fn(&ConvRow) -> bool;
    type Dur = fn(&ConvRow, &Ctx) -> Option<Millis>;
    #[inline(always)]
    fn test(p: Self::Pred, r: &Self, _: &Ctx) -> bool {
        p(r)
    }
    #[inline(always)]
    fn measure(f: Self::Dur, r: &Self, ctx: &Ctx) -> Option<Millis> {
        f(r, ctx)
    }
}

/// A count (with, for messages, whether any row carries the information at all), a ratio or
/// durations over the rows of one table.
enum St<R: PlainRow> {
    Count { pred: R::Pred, known: Option<R::Pred>, c: Vec<(u64, bool)> },
    Ratio { den: R::Pred, num: R::Pred, c: Vec<(u64, u64)> },
    Dur { f: R::Dur, v: Vec<Vec<i64>> },
}

/// The plain state of a metric over `n` groups; `None` for a metric of its own kind.
fn plain(def: &MetricDef, n: usize) -> Option<Plain> {
    fn count<R: PlainRow>(pred: R::Pred, known: Option<R::Pred>, n: usize) -> St<R> {
        St::Count { pred, known, c: vec![(0, known.is_none()); n] }
    }
    fn ratio<R: PlainRow>(den: R::Pred, num: R::Pred, n: usize) -> St<R> {
        St::Ratio { den, num, c: vec![(0, 0); n] }
    }
    fn dur<R: PlainRow>(f: R::Dur, n: usize) -> St<R> {
        St::Dur { f, v: vec![Vec::new(); n] }
    }
    Some(match def.rule {
        Rule::MsgCount { pred, known } => Plain::Msgs(count(pred, known, n)),
        Rule::MsgRatio { den, num } => Plain::Msgs(ratio(den, num, n)),
        Rule::MsgDuration(f) => Plain::Msgs(dur(f, n)),
        Rule::ReqCount(pred) => Plain::Reqs(count(pred, None, n)),
        Rule::ReqRatio { den, num } => Plain::Reqs(ratio(den, num, n)),
        Rule::ReqDuration(f) => Plain::Reqs(dur(f, n)),
        Rule::ConvCount(pred) => Plain::Convs(count(pred, None, n)),
        Rule::ConvRatio { den, num } => Plain::Convs(ratio(den, num, n)),
        Rule::ConvDuration(f) => Plain::Convs(dur(f, n)),
        Rule::Badge
        | Rule::SurveyRatio { .. }
        | Rule::SurveyMean { .. }
        | Rule::Nps
        | Rule::SurveyResponseRate
        | Rule::ContactCount(_)
        | Rule::ContactRatio { .. }
        | Rule::ContactDuration(_)
        | Rule::PostSum(_)
        | Rule::PostRatio { .. }
        | Rule::TopPosts
        | Rule::Customers(_)
        | Rule::Weighted(_)
        | Rule::ChannelPreferences => return None,
    })
}

impl<R: PlainRow> St<R> {
    #[inline]
    fn take(&mut self, block: &[R], ks: BlockSlots, ctx: &Ctx) {
        match self {
            St::Count { pred, known, c } => {
                for (r, k) in block.iter().zip(ks) {
                    c[k].0 += u64::from(R::test(*pred, r, ctx));
                    if let Some(kf) = known {
                        c[k].1 |= R::test(*kf, r, ctx);
                    }
                }
            }
            St::Ratio { den, num, c } => {
                for (r, k) in block.iter().zip(ks) {
                    if R::test(*den, r, ctx) {
                        c[k].1 += 1;
                        c[k].0 += u64::from(R::test(*num, r, ctx));
                    }
                }
            }
            St::Dur { f, v } => {
                for (r, k) in block.iter().zip(ks) {
                    if let Some(x) = R::measure(*f, r, ctx) {
                        v[k].push(x);
                    }
                }
            }
        }
    }

    fn into_accs(self) -> Vec<Acc> {
        match self {
            St::Count { c, .. } => c.into_iter().map(|(n, known)| Acc::Count { n, known }).collect(),
            St::Ratio { c, .. } => c.into_iter().map(|(num, den)| Acc::Ratio { num, den }).collect(),
            St::Dur { v, .. } => v.into_iter().map(Acc::Durations).collect(),
        }
    }
}

/// Rows a fused pass takes at a time: small enough to stay in cache while every metric reads them.
const BLOCK: usize = 2048;

/// Every plain metric of one table in a single pass over its rows: the rows are read once, block
/// by block, every metric taking each block while it is in cache.
fn fused<R: PlainRow>(mut st: Vec<St<R>>, rows: &[R], sl: Option<&[u32]>, ctx: &Ctx) -> Vec<Vec<Acc>> {
    for (b, block) in rows.chunks(BLOCK).enumerate() {
        let ks = block_slots(sl, b, block.len());
        for s in st.iter_mut() {
            s.take(block, ks.clone(), ctx);
        }
    }
    st.into_iter().map(St::into_accs).collect()
}

/// The groups of block `b` (of `len` rows): its slice of the rows' groups, or group 0 throughout.
fn block_slots(s: Option<&[u32]>, b: usize, len: usize) -> BlockSlots<'_> {
    match s {
        Some(v) => BlockSlots::Of(v[b * BLOCK..b * BLOCK + len].iter()),
        None => BlockSlots::Zero(len),
    }
}

#[derive(Clone)]
enum BlockSlots<'a> {
    Of(std::slice::Iter<'a, u32>),
    Zero(usize),
}

impl Iterator for BlockSlots<'_> {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        match self {
            BlockSlots::Of(it) => it.next().map(|&k| k as usize),
            BlockSlots::Zero(0) => None,
            BlockSlots::Zero(n) => {
                *n -= 1;
                Some(0)
            }
        }
    }
}

/// Every metric, per group: plain metrics fused by table, the others one by one, all jobs spread
/// over the cores. Returns, per metric (in `own` order), one accumulator per group.
fn accumulate_all(own: &[&'static MetricDef], rows: &Rows, sl: &Slots, n: usize, ctx: &Ctx) -> Vec<Vec<Acc>> {
    // Which table each plain metric reads (0 messages, 1 requests, 2 conversations).
    let table = |d: &MetricDef| match plain(d, 0) {
        Some(Plain::Msgs(_)) => Some(0),
        Some(Plain::Reqs(_)) => Some(1),
        Some(Plain::Convs(_)) => Some(2),
        None => None,
    };
    let of_table = |t: usize| (0..own.len()).filter(|&k| table(own[k]) == Some(t)).collect::<Vec<usize>>();
    let others: Vec<usize> = (0..own.len()).filter(|&k| table(own[k]).is_none()).collect();
    // Jobs: one per table, then one per other metric.
    let jobs = 3 + others.len();
    let done = parallel(jobs, |j| {
        if j < 3 {
            let idx = of_table(j);
            let states = idx.iter().filter_map(|&k| plain(own[k], n));
            let accs = match j {
                0 => fused(states.filter_map(Plain::msgs).collect(), rows.msgs, sl.msgs, ctx),
                1 => fused(states.filter_map(Plain::reqs).collect(), rows.reqs, sl.reqs, ctx),
                _ => fused(states.filter_map(Plain::convs).collect(), rows.convs, sl.convs, ctx),
            };
            idx.into_iter().zip(accs).collect::<Vec<_>>()
        } else {
            let k = others[j - 3];
            vec![(k, accumulate_slots(own[k], rows, sl, n, ctx))]
        }
    });
    let mut out: Vec<Option<Vec<Acc>>> = (0..own.len()).map(|_| None).collect();
    for (k, accs) in done.into_iter().flatten() {
        out[k] = Some(accs);
    }
    out.into_iter().map(|a| a.unwrap_or_default()).collect()
}

impl Plain {
    fn msgs(self) -> Option<St<MsgRow>> {
        match self {
            Plain::Msgs(s) => Some(s),
            Plain::Reqs(_) | Plain::Convs(_) => None,
        }
    }
    fn reqs(self) -> Option<St<ReqRow>> {
        match self {
            Plain::Reqs(s) => Some(s),
            Plain::Msgs(_) | Plain::Convs(_) => None,
        }
    }
    fn convs(self) -> Option<St<ConvRow>> {
        match self {
            Plain::Convs(s) => Some(s),
            Plain::Msgs(_) | Plain::Reqs(_) => None,
        }
    }
}

/// All the compact rows a report reads.
#[derive(Default, Clone, Copy)]
struct Rows<'a> {
    dict: Option<&'a crate::table::Dict>,
    reviews: &'a [ReviewRow],
    posts: &'a [PostRow],
    post_ids: &'a [String],
    reqs: &'a [ReqRow],
    msgs: &'a [MsgRow],
    convs: &'a [ConvRow],
    surveys: &'a [SurveyRow],
    contacts: &'a [ContactRow],
    invitations: &'a [InvitationRow],
}

/// The group of each row (`None`: every row in group 0).
#[derive(Default)]
struct Slots<'a> {
    reviews: Option<&'a [u32]>,
    posts: Option<&'a [u32]>,
    reqs: Option<&'a [u32]>,
    msgs: Option<&'a [u32]>,
    convs: Option<&'a [u32]>,
    surveys: Option<&'a [u32]>,
    contacts: Option<&'a [u32]>,
    invitations: Option<&'a [u32]>,
}

fn slot(s: Option<&[u32]>, i: usize) -> usize {
    s.map_or(0, |v| v[i] as usize)
}

/// One metric for every group at once: one sequential pass over the rows, each row adding to
/// its group's accumulator.
fn accumulate_slots(def: &MetricDef, rows: &Rows, sl: &Slots, n: usize, ctx: &Ctx) -> Vec<Acc> {
    // A plain rule is computed as in a fused pass, alone: one interpreter for it.
    if let Some(p) = plain(def, n) {
        let mut accs = match p {
            Plain::Msgs(st) => fused(vec![st], rows.msgs, sl.msgs, ctx),
            Plain::Reqs(st) => fused(vec![st], rows.reqs, sl.reqs, ctx),
            Plain::Convs(st) => fused(vec![st], rows.convs, sl.convs, ctx),
        };
        return accs.pop().unwrap_or_default();
    }
    match &def.rule {
        Rule::Badge | Rule::Customers(_) => vec![Acc::Later; n],
        Rule::ChannelPreferences => {
            let names: std::sync::Arc<Vec<String>> =
                std::sync::Arc::new(rows.dict.map(|d| d.names().map(str::to_string).collect()).unwrap_or_default());
            let mut v: Vec<Acc> = (0..n)
                .map(|_| Acc::Channels {
                    names: names.clone(),
                    contacts: Default::default(),
                    customers: Default::default(),
                    declared: Default::default(),
                })
                .collect();
            let mut add = |k: usize, f: &mut dyn FnMut(&mut Acc)| f(&mut v[k]);
            for (i, c) in rows.convs.iter().enumerate() {
                add(slot(sl.convs, i), &mut |a| {
                    if let Acc::Channels { contacts, .. } = a {
                        *contacts.entry(c.channel).or_default() += 1;
                    }
                });
            }
            for (i, c) in rows.contacts.iter().enumerate() {
                add(slot(sl.contacts, i), &mut |a| {
                    if let Acc::Channels { contacts, .. } = a {
                        *contacts.entry(c.channel).or_default() += 1;
                    }
                });
            }
            for (i, r) in rows.reqs.iter().enumerate() {
                if r.customer != 0 {
                    add(slot(sl.reqs, i), &mut |a| {
                        if let Acc::Channels { customers, .. } = a {
                            customers.push((r.customer, r.channel));
                        }
                    });
                }
            }
            for (i, s) in rows.surveys.iter().enumerate() {
                if s.answer != crate::table::NONE {
                    add(slot(sl.surveys, i), &mut |a| {
                        if let Acc::Channels { declared, .. } = a {
                            *declared.entry(s.answer).or_default() += 1;
                        }
                    });
                }
            }
            v
        }
        Rule::Weighted(index) => {
            let names: Vec<(String, f64)> = index.weights(ctx.cfg).iter().map(|(k, w)| (k.clone(), *w)).collect();
            // The criterion of each configured name, as interned in this table.
            let ids: Vec<Option<u32>> = names.iter().map(|(k, _)| rows.dict.and_then(|d| d.get(k))).collect();
            let mut v = vec![vec![(0.0, 0u64); names.len()]; n];
            for (i, r) in rows.reviews.iter().enumerate() {
                if let Some(c) = ids.iter().position(|x| *x == Some(r.criterion)) {
                    let e = &mut v[slot(sl.reviews, i)][c];
                    e.0 += r.score;
                    e.1 += 1;
                }
            }
            v.into_iter().map(|sums| Acc::Weighted { names: names.clone(), sums }).collect()
        }
        Rule::SurveyRatio { den, num } => {
            let mut c = vec![(0u64, 0u64); n];
            for (i, s) in rows.surveys.iter().enumerate() {
                if den(s) {
                    let e = &mut c[slot(sl.surveys, i)];
                    e.1 += 1;
                    e.0 += u64::from(num(s));
                }
            }
            c.into_iter().map(|(num, den)| Acc::Ratio { num, den }).collect()
        }
        Rule::SurveyMean { pred, onto } => {
            let lower = !def.higher_is_better;
            let mut v = vec![Acc::Mean { sum: 0.0, n: 0, lo: 0.0, hi: 0.0, mixed: false, lower }; n];
            for (i, s) in rows.surveys.iter().enumerate() {
                if let (true, Some((score, lo, hi))) = (pred(s), survey_score(s, *onto)) {
                    let one = Acc::Mean { sum: score, n: 1, lo, hi, mixed: false, lower };
                    v[slot(sl.surveys, i)].merge(&one);
                }
            }
            v
        }
        Rule::Nps => {
            let mut v = vec![Acc::Nps { pro: 0, pas: 0, det: 0 }; n];
            for (i, s) in rows.surveys.iter().enumerate() {
                let (SurveyKind::Nps, Some(score)) = (s.kind, s.score()) else { continue };
                if let Acc::Nps { pro, pas, det } = &mut v[slot(sl.surveys, i)] {
                    if score >= 9.0 {
                        *pro += 1;
                    } else if score <= 6.0 {
                        *det += 1;
                    } else {
                        *pas += 1;
                    }
                }
            }
            v
        }
        Rule::SurveyResponseRate => {
            let mut c = vec![(0u64, 0u64); n];
            for (i, x) in rows.invitations.iter().enumerate() {
                let e = &mut c[slot(sl.invitations, i)];
                e.1 += 1;
                e.0 += u64::from(x.answered);
            }
            c.into_iter().map(|(num, den)| Acc::Ratio { num, den }).collect()
        }
        Rule::ContactCount(p) => {
            let mut c = vec![0u64; n];
            for (i, x) in rows.contacts.iter().enumerate() {
                c[slot(sl.contacts, i)] += u64::from(p(x));
            }
            c.into_iter().map(|n| Acc::Count { n, known: true }).collect()
        }
        Rule::ContactRatio { den, num } => {
            let mut c = vec![(0u64, 0u64); n];
            for (i, x) in rows.contacts.iter().enumerate() {
                if den(x) {
                    let e = &mut c[slot(sl.contacts, i)];
                    e.1 += 1;
                    e.0 += u64::from(num(x));
                }
            }
            c.into_iter().map(|(num, den)| Acc::Ratio { num, den }).collect()
        }
        Rule::ContactDuration(f) => {
            let mut v = vec![Vec::new(); n];
            for (i, x) in rows.contacts.iter().enumerate() {
                if let Some(d) = f(x) {
                    v[slot(sl.contacts, i)].push(d);
                }
            }
            v.into_iter().map(Acc::Durations).collect()
        }
        Rule::PostSum(f) => {
            let mut c = vec![0u64; n];
            for (i, x) in rows.posts.iter().enumerate() {
                // Rows carry at most MAX_COUNT each; past u64 a sum sticks at its ceiling, an
                // absurd figure rather than one wrapped round to a plausible small one.
                let e = &mut c[slot(sl.posts, i)];
                *e = e.saturating_add(f(x));
            }
            c.into_iter().map(|n| Acc::Count { n, known: true }).collect()
        }
        Rule::PostRatio { num, den } => {
            let mut c = vec![(0u64, 0u64); n];
            for (i, x) in rows.posts.iter().enumerate() {
                let e = &mut c[slot(sl.posts, i)];
                e.0 = e.0.saturating_add(num(x));
                e.1 = e.1.saturating_add(den(x));
            }
            c.into_iter().map(|(num, den)| Acc::Ratio { num, den }).collect()
        }
        Rule::TopPosts => {
            let mut v = vec![Vec::new(); n];
            for (i, x) in rows.posts.iter().enumerate() {
                if x.reach > 0 {
                    v[slot(sl.posts, i)].push(PostRank {
                        post_id: rows.post_ids.get(x.id as usize).cloned().unwrap_or_default(),
                        engagement_rate: x.engagements as f64 * 100.0 / x.reach as f64,
                        engagements: x.engagements,
                        reach: x.reach,
                        impressions: x.impressions,
                    });
                }
            }
            v.into_iter().map(Acc::Posts).collect()
        }
        // Plain rules were computed above.
        Rule::MsgCount { .. }
        | Rule::MsgRatio { .. }
        | Rule::MsgDuration(_)
        | Rule::ReqCount(_)
        | Rule::ReqRatio { .. }
        | Rule::ReqDuration(_)
        | Rule::ConvCount(_)
        | Rule::ConvRatio { .. }
        | Rule::ConvDuration(_) => unreachable!("a plain rule is computed by `plain`"),
    }
}

/// The span of facts a report over `p` needs: its period, the badge window before its end, and
/// (for tables) the previous period. Every front end loads the same span, so the same inputs give
/// the same bytes.
pub fn load_span(cfg: &Config, p: &Params, with_previous: bool) -> (Option<Millis>, Option<Millis>) {
    let mut from = p.from;
    // Grouped by time, each bucket's badge looks back over the window before the bucket's own
    // end: the first bucket's window starts a window before the period does.
    let by_time = p.by.is_some_and(Dim::is_time);
    let reach = |f: Millis| if by_time { f - cfg.badge.window_ms } else { f };
    if let Some(to) = p.to {
        let mut lo = to - cfg.badge.window_ms;
        if let Some(f) = p.from {
            lo = lo.min(reach(f));
        }
        if with_previous {
            if let Some(prev) = p.previous() {
                lo = lo.min(prev.to.unwrap_or(lo) - cfg.badge.window_ms).min(prev.from.map_or(lo, reach));
            }
        }
        from = from.map(|f| f.min(lo));
    } else {
        from = None;
    }
    (from, p.to)
}

/// Builds the report from compact facts.
pub fn build(t: &FactTable, p: &Params, cfg: &Config) -> Report {
    let ctx = Ctx::new(cfg, &t.dict);
    // Rows are copied, not referenced: each group's rows then lie together in memory, and every
    // metric's pass over them reads sequentially (ten times faster on ten million messages).
    let all = p.from.is_none() && p.to.is_none();
    let reqs: Cow<[ReqRow]> =
        if all { Cow::Borrowed(&t.reqs) } else { t.reqs.iter().filter(|r| p.contains(r.start_ms)).copied().collect() };
    let msgs: Cow<[MsgRow]> =
        if all { Cow::Borrowed(&t.msgs) } else { t.msgs.iter().filter(|m| p.contains(m.ms)).copied().collect() };
    let convs: Cow<[ConvRow]> = if all {
        Cow::Borrowed(&t.convs)
    } else {
        t.convs.iter().filter(|x| p.contains(x.start_ms)).copied().collect()
    };
    let posts: Vec<PostRow> = t.posts.iter().filter(|x| p.contains(x.ms)).copied().collect();
    let reviews: Vec<ReviewRow> = t.reviews.iter().filter(|x| p.contains(x.ms)).copied().collect();
    let surveys: Vec<SurveyRow> = t.surveys.iter().filter(|x| p.contains(x.ms)).copied().collect();
    let contacts: Vec<ContactRow> = t.contacts.iter().filter(|x| p.contains(x.ms)).copied().collect();
    let invitations: Vec<InvitationRow> = t.invitations.iter().filter(|x| p.contains(x.ms)).copied().collect();
    let rows = Rows {
        dict: Some(&t.dict),
        reviews: &reviews,
        posts: &posts,
        post_ids: &t.post_ids,
        reqs: &reqs,
        msgs: &msgs,
        convs: &convs,
        surveys: &surveys,
        contacts: &contacts,
        invitations: &invitations,
    };
    let end = p.to.unwrap_or_else(|| t.data_end());
    let in_badge = |r: &ReqRow| {
        cfg.badge.channels.as_ref().is_none_or(|c| t.dict.name(r.channel).is_some_and(|n| c.iter().any(|x| x == n)))
    };
    // The requests of the badge's window before the period end (time buckets have their own).
    let window = |end: Millis| {
        let lo = end - cfg.badge.window_ms;
        t.reqs.iter().filter(move |r| r.start_ms >= lo && r.start_ms < end && in_badge(r))
    };
    let end_window: Vec<&ReqRow> = window(end).collect();
    let customers_of = |account: Option<u32>| -> (Vec<&Customer>, Vec<&Order>) {
        let cs: Vec<&Customer> =
            t.customers.iter().filter(|c| account.is_none_or(|a| t.dict.get(&c.account) == Some(a))).collect();
        let ids: std::collections::HashSet<&str> = cs.iter().map(|c| c.customer_id.as_str()).collect();
        let os = t.orders.iter().filter(|o| account.is_none() || ids.contains(o.customer_id.as_str())).collect();
        (cs, os)
    };
    let customer_value = |k, account: Option<u32>, from: Option<Millis>, to: Option<Millis>| {
        let (cs, os) = customers_of(account);
        crate::customers::value(k, &crate::customers::figures(&cs, &os, from, to, p.zone))
    };
    let total_badge = |d: &MetricDef| match d.rule {
        Rule::Customers(k) => customer_value(k, None, p.from, p.to),
        Rule::Badge => Value::Badge(badge(end_window.iter().copied(), end, &ctx)),
        // Only the badge and the customer figures are computed later (`Acc::Later`).
        Rule::MsgCount { .. }
        | Rule::MsgRatio { .. }
        | Rule::MsgDuration(_)
        | Rule::ReqCount(_)
        | Rule::ReqRatio { .. }
        | Rule::ReqDuration(_)
        | Rule::ConvCount(_)
        | Rule::ConvRatio { .. }
        | Rule::ConvDuration(_)
        | Rule::ChannelPreferences
        | Rule::SurveyRatio { .. }
        | Rule::SurveyMean { .. }
        | Rule::Nps
        | Rule::SurveyResponseRate
        | Rule::ContactCount(_)
        | Rule::ContactRatio { .. }
        | Rule::ContactDuration(_)
        | Rule::PostSum(_)
        | Rule::PostRatio { .. }
        | Rule::TopPosts
        | Rule::Weighted(_) => unreachable!("summed from the rows"),
    };
    let mut groups = Vec::new();
    let mut total = None;
    if let Some(dim) = p.by {
        // Customers' figures are per bucket too (each bucket is its own period): their sign-ups,
        // churns and orders make buckets when a customer indicator is asked for.
        let with_customers = p
            .metrics
            .is_none_or(|sel| METRICS.iter().any(|d| matches!(d.rule, Rule::Customers(_)) && sel.contains(d.id)));
        let customer_ms: Vec<Millis> = if dim.is_time() && with_customers {
            t.customers
                .iter()
                .flat_map(|c| std::iter::once(c.since.ms(p.zone)).chain(c.churned_at.map(|m| m.ms(p.zone))))
                .chain(t.orders.iter().map(|o| o.ordered_at.ms(p.zone)))
                .filter(|&ms| p.contains(ms) && (crate::time::EARLIEST_MS..crate::time::END_MS).contains(&ms))
                .collect()
        } else {
            Vec::new()
        };
        let all_ms = || {
            reqs.iter()
                .map(|r| r.start_ms)
                .chain(msgs.iter().map(|m| m.ms))
                .chain(convs.iter().map(|x| x.start_ms))
                .chain(posts.iter().map(|x| x.ms))
                .chain(reviews.iter().map(|x| x.ms))
                .chain(surveys.iter().map(|x| x.ms))
                .chain(contacts.iter().map(|x| x.ms))
                .chain(invitations.iter().map(|x| x.ms))
                .chain(customer_ms.iter().copied())
        };
        let g = Grouping {
            dim,
            buckets: match dim.is_time().then(|| all_ms().min().zip(all_ms().max())).flatten() {
                Some((lo, hi)) => buckets(lo, hi, dim, p.zone, all_ms),
                None => Vec::new(),
            },
        };
        let slots = if dim.is_time() { g.buckets.len() } else { t.dict.len() + 1 };
        // The group of every row, the three big tables on every core.
        let mut big = parallel(3, |j| match j {
            0 => reqs.iter().map(|r| g.req(r) as u32).collect::<Vec<u32>>(),
            1 => msgs.iter().map(|m| g.msg(m) as u32).collect(),
            _ => convs.iter().map(|c| g.conv(c) as u32).collect(),
        });
        let vslot = big.pop().unwrap_or_default();
        let mslot = big.pop().unwrap_or_default();
        let rslot = big.pop().unwrap_or_default();
        let pslot: Vec<u32> = posts.iter().map(|x| g.post(x) as u32).collect();
        let qslot: Vec<u32> =
            reviews.iter().map(|x| g.other(x.ms, crate::table::NONE, crate::table::NONE, x.agent) as u32).collect();
        let sslot: Vec<u32> = surveys
            .iter()
            .map(|x| if dim == Dim::Theme { Grouping::slot_of_name(x.theme) } else { g.other(x.ms, x.account, x.channel, x.agent) } as u32)
            .collect();
        let cslot: Vec<u32> = contacts.iter().map(|x| g.other(x.ms, x.account, x.channel, x.agent) as u32).collect();
        let islot: Vec<u32> = invitations
            .iter()
            .map(|x| {
                if dim == Dim::Theme {
                    Grouping::slot_of_name(x.theme)
                } else {
                    g.other(x.ms, x.account, x.channel, crate::table::NONE)
                }
            } as u32)
            .collect();
        let mut used = vec![false; slots];
        for &k in rslot
            .iter()
            .chain(&mslot)
            .chain(&vslot)
            .chain(&pslot)
            .chain(&qslot)
            .chain(&sslot)
            .chain(&cslot)
            .chain(&islot)
        {
            used[k as usize] = true;
        }
        // Customers count in their account's group, or in the `null` group of dimensions they lack.
        for c in &t.customers {
            match dim {
                Dim::Account => {
                    if let Some(a) = t.dict.get(&c.account) {
                        used[Grouping::slot_of_name(a)] = true;
                    }
                }
                _ if dim.is_time() => {}
                _ => used[0] = true,
            }
        }
        for &ms in &customer_ms {
            used[g.bucket(ms)] = true;
        }
        let sl = Slots {
            reviews: Some(&qslot),
            posts: Some(&pslot),
            reqs: Some(&rslot),
            msgs: Some(&mslot),
            convs: Some(&vslot),
            surveys: Some(&sslot),
            contacts: Some(&cslot),
            invitations: Some(&islot),
        };
        // The badge looks back over the window before the period end, group by group.
        let mut gw: Vec<Vec<&ReqRow>> = vec![Vec::new(); slots];
        let mut by_start: Vec<&ReqRow> = Vec::new();
        if dim.is_time() {
            by_start = t.reqs.iter().filter(|r| in_badge(r)).collect();
            by_start.sort_by_key(|r| r.start_ms);
        } else {
            for r in &end_window {
                gw[g.req(r)].push(r);
            }
        }
        let mut order: Vec<(Option<String>, usize)> = (0..slots)
            .filter(|&i| used[i])
            .map(|i| {
                let key = if dim.is_time() {
                    Some(g.buckets[i].2.clone())
                } else if i == 0 {
                    None
                } else {
                    t.dict.name(i as u32 - 1).map(str::to_string)
                };
                (key, i)
            })
            .collect();
        // Named groups first (time buckets in order), then the facts without a value (`null`).
        order.sort_by(|a, b| (a.0.is_none(), &a.0).cmp(&(b.0.is_none(), &b.0)));
        let group_badge = |i: usize, d: &MetricDef| {
            if let Rule::Customers(k) = d.rule {
                // Customers have an account, and a period: each time bucket is one.
                return match dim {
                    Dim::Account if i > 0 => customer_value(k, Some(i as u32 - 1), p.from, p.to),
                    _ if dim.is_time() => {
                        // The bucket's calendar period (the first bucket's start is its first
                        // instant, not its calendar start), within the report's.
                        let b = &g.buckets[i];
                        let start = bucket_start(b.0, dim, p.zone);
                        let from = p.from.map_or(start, |f| f.max(start));
                        let to = p.to.map_or(b.1, |x| x.min(b.1));
                        customer_value(k, None, Some(from), Some(to))
                    }
                    _ if i == 0 && dim != Dim::Account => customer_value(k, None, p.from, p.to),
                    _ => crate::customers::value(k, &Default::default()),
                };
            }
            Value::Badge(if dim.is_time() {
                let gend = g.buckets[i].1.min(end);
                let lo = by_start.partition_point(|r| r.start_ms < gend - cfg.badge.window_ms);
                let hi = by_start.partition_point(|r| r.start_ms < gend);
                badge(by_start[lo..hi].iter().copied(), gend, &ctx)
            } else {
                badge(gw[i].iter().copied(), end, &ctx)
            })
        };
        // Metric by metric, each over all groups at once, the metrics spread over the cores.
        let own = own_metrics(&ctx, p.metrics);
        let mut per_metric: Vec<Vec<Acc>> = accumulate_all(&own, &rows, &sl, slots, &ctx);
        // Every fact of the period is in exactly one group (facts without a value form the
        // `null` group): the total is the groups added up, not a second pass over the rows.
        let mut totals: Vec<Acc> = own.iter().map(|d| accumulate(d, &[], &[], &ctx)).collect();
        for (t, slots_acc) in totals.iter_mut().zip(&per_metric) {
            for a in slots_acc {
                t.merge(a);
            }
        }
        // Each group takes its accumulators (moved, not copied); job 0 finishes the total.
        let mut by_group: Vec<Vec<Acc>> = (0..slots).map(|_| Vec::with_capacity(own.len())).collect();
        for m in per_metric.drain(..) {
            for (i, a) in m.into_iter().enumerate() {
                by_group[i].push(a);
            }
        }
        let by_group: Vec<std::sync::Mutex<Vec<Acc>>> = by_group.into_iter().map(std::sync::Mutex::new).collect();
        // The total's metrics are jobs of their own: finishing them (selections over every
        // value, sorting every customer's channels) is most of the work, one metric at a time.
        let totals: Vec<std::sync::Mutex<Acc>> = totals.into_iter().map(std::sync::Mutex::new).collect();
        let take_total = |m: &std::sync::Mutex<Acc>| -> Acc {
            std::mem::replace(&mut *m.lock().unwrap_or_else(std::sync::PoisonError::into_inner), Acc::Later)
        };
        let take = |m: &std::sync::Mutex<Vec<Acc>>| {
            std::mem::take(&mut *m.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
        };
        enum Done {
            Total(Value),
            Group(Metrics),
        }
        let mut finished = parallel(own.len() + order.len(), |k| {
            if k < own.len() {
                return Done::Total(take_total(&totals[k]).finish(own[k], &total_badge));
            }
            let i = order[k - own.len()].1;
            Done::Group(assemble(&own, &mut take(&by_group[i]), &|d| group_badge(i, d), p.metrics))
        });
        let rest = finished.split_off(own.len());
        let values = finished.into_iter().map(|d| if let Done::Total(v) = d { v } else { unreachable!() }).collect();
        total = Some(assemble_values(&own, values, p.metrics));
        groups = order
            .into_iter()
            .zip(rest)
            .map(|((key, _), d)| Group { key, metrics: if let Done::Group(m) = d { m } else { unreachable!() } })
            .collect();
    }
    let total = total.unwrap_or_else(|| metrics_par(&rows, &ctx, &total_badge, p.metrics));
    let unattached = msgs.iter().filter(|m| m.unattached).count() as u64;
    Report {
        period: Period { from: p.from.map(rfc3339_utc), to: p.to.map(rfc3339_utc) },
        timezone: p.zone.name(),
        group_by: p.by.map(Dim::as_str),
        total: Total { metrics: total },
        groups,
        data_quality: if unattached > 0 { vec![unattached_note(unattached)] } else { Vec::new() },
    }
}

/// The drill-down of DATA.md: `{"metric", "rows"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explain {
    pub metric: &'static str,
    pub rows: Vec<Map<String, Json>>,
}

impl Explain {
    /// Keeps the rows counted in a ratio's numerator (rows of other metrics have no flag and stay).
    pub fn numerator_only(&mut self) {
        self.rows.retain(|r| r.get("in_numerator").is_none_or(|v| v == &Json::Bool(true)));
    }
}

fn group_matches(key: Option<String>, want: Option<&str>) -> bool {
    match want {
        None => true,
        Some("" | "null") => key.is_none(),
        Some(w) => key.as_deref() == Some(w),
    }
}

pub fn request_row(r: &RequestFact, cfg: &Config) -> Map<String, Json> {
    let cal = cfg.calendar(&r.account);
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

pub fn conversation_key(c: &ConversationFact, dim: Dim, zone: Zone) -> Option<String> {
    match dim {
        Dim::Account => Some(c.account.clone()),
        Dim::Channel => Some(c.channel.clone()),
        Dim::Agent => c.agent.clone(),
        Dim::Team => c.team.clone(),
        Dim::Theme => None,
        _ => Some(time_key(c.start_ms, dim, zone)),
    }
}

pub fn conversation_row(c: &ConversationFact) -> Map<String, Json> {
    let Json::Object(o) = json!({
        "conversation_id": c.conversation_id,
        "start": rfc3339_utc(c.start_ms),
        "account": c.account,
        "channel": c.channel,
        "agent": c.agent,
        "team": c.team,
        "resolved_at": c.first_resolved_ms.map(rfc3339_utc),
        "final_resolved_at": c.final_resolved_ms.map(rfc3339_utc),
        "reopens": c.reopens,
        "complaint_at": c.complaint_ms.map(rfc3339_utc),
        "complaint_resolved_at": c.complaint_resolved_ms.map(rfc3339_utc),
        "human_out_messages": c.human_out,
        "bot_only": c.bot_only,
        "human_handled": c.human,
    }) else {
        unreachable!()
    };
    o
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
        "unattached": m.unattached,
    }) else {
        unreachable!()
    };
    o
}

fn with(mut row: Map<String, Json>, k: &str, v: Json) -> Map<String, Json> {
    row.insert(k.into(), v);
    row
}

/// The rows behind a figure: for a count, the rows counted; for a ratio, the rows of its
/// denominator, each with `in_numerator`; for a duration, the rows measured, with `value_seconds`;
/// for the badge, the requests of its window. The same rules as the report decide.
/// Rows of the imports that need no clock, for drill-downs.
#[derive(Debug, Default, Clone)]
pub struct Records {
    pub reviews: Vec<Review>,
    pub customers: Vec<Customer>,
    pub orders: Vec<Order>,
    pub posts: Vec<Post>,
    pub surveys: Vec<SurveyAnswer>,
    pub contacts: Vec<Contact>,
    pub invitations: Vec<SurveyInvitation>,
    /// Conversation → the agent who answered its first request ([`Facts::first_agents`]), when
    /// an answer or a review needs it ([`Records::needs_conversation_agents`]).
    pub conversation_agents: std::collections::HashMap<String, String>,
}

impl Records {
    /// Whether an answer or a review is tied to a conversation but to no agent.
    pub fn needs_conversation_agents(&self) -> bool {
        self.surveys.iter().any(|s| s.agent_id.is_none() && s.conversation_id.is_some())
            || self.reviews.iter().any(|r| r.agent_id.is_none() && r.conversation_id.is_some())
    }

    /// Fills [`Records::conversation_agents`] with `agents` ([`Facts::first_agents`]), asked only
    /// when an answer or a review needs them.
    pub fn credit_conversations<E>(
        &mut self,
        agents: impl FnOnce() -> Result<std::collections::HashMap<String, String>, E>,
    ) -> Result<(), E> {
        if self.needs_conversation_agents() {
            self.conversation_agents = agents()?;
        }
        Ok(())
    }

    /// The agent a quality review counts for: its own, else its conversation's first agent.
    pub fn review_agent<'a>(&'a self, r: &'a Review) -> Option<&'a str> {
        r.agent_id
            .as_deref()
            .or_else(|| r.conversation_id.as_ref().and_then(|c| self.conversation_agents.get(c)).map(String::as_str))
    }

    /// Each survey answer as reports credit it ([`Records::survey_links`]).
    pub fn survey_credits(&self) -> Vec<SurveyCredit<'_>> {
        self.survey_links().0
    }

    /// Answers and invitations linked once: each answer as reports credit it — the one rule the
    /// report and its drill-down share: its own account, channel and agent; else its
    /// invitation's account and channel and its conversation's first agent; the theme of its
    /// invitation — and, for each invitation, whether an answer answered it.
    pub fn survey_links(&self) -> (Vec<SurveyCredit<'_>>, Vec<bool>) {
        let (answered, invitation_of) = crate::model::link_invitations(&self.surveys, &self.invitations);
        let credits = self
            .surveys
            .iter()
            .zip(invitation_of)
            .map(|(a, inv)| {
                let inv = inv.map(|i| &self.invitations[i]);
                SurveyCredit {
                    invitation: inv,
                    account: a.account.as_deref().or(inv.and_then(|i| i.account.as_deref())),
                    channel: a.channel.as_deref().or(inv.and_then(|i| i.channel.as_deref())),
                    agent: a.agent_id.as_deref().or_else(|| {
                        a.conversation_id.as_ref().and_then(|c| self.conversation_agents.get(c)).map(String::as_str)
                    }),
                    theme: inv.and_then(|i| i.theme.as_deref()),
                }
            })
            .collect();
        (credits, answered)
    }
}

/// Whether a record at `ms` with these names belongs to `group` of the period's grouping.
fn record_in_group(
    p: &Params,
    group: Option<&str>,
    ms: Millis,
    account: Option<&str>,
    channel: Option<&str>,
    agent: Option<&str>,
) -> bool {
    p.contains(ms) && p.by.is_none_or(|d| group_matches(record_key(ms, account, channel, agent, d, p.zone), group))
}

/// Where a survey answer counts ([`Records::survey_credits`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurveyCredit<'a> {
    pub invitation: Option<&'a SurveyInvitation>,
    pub account: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub agent: Option<&'a str>,
    pub theme: Option<&'a str>,
}

fn record_key(
    ms: Millis,
    account: Option<&str>,
    channel: Option<&str>,
    agent: Option<&str>,
    dim: Dim,
    zone: Zone,
) -> Option<String> {
    match dim {
        Dim::Account => account.map(str::to_string),
        Dim::Channel => channel.map(str::to_string),
        Dim::Agent => agent.map(str::to_string),
        Dim::Team | Dim::Theme => None,
        _ => Some(time_key(ms, dim, zone)),
    }
}

fn survey_json(a: &SurveyAnswer) -> Map<String, Json> {
    let Json::Object(m) = json!({
        "response_id": a.response_id,
        "survey": a.survey,
        "score": a.score,
        "scale_min": a.scale_min,
        "scale_max": a.scale_max,
        "normalised": a.normalised(),
        "answered_at": rfc3339_utc(a.answered_at.ms),
        "conversation_id": a.conversation_id,
        "agent_id": a.agent_id,
        "channel": a.channel,
        "account": a.account,
        "customer_id": a.customer_id,
        "answer": a.answer,
    }) else {
        unreachable!()
    };
    m
}

fn post_json(x: &Post) -> Map<String, Json> {
    let Json::Object(m) = json!({
        "post_id": x.post_id,
        "account": x.account,
        "channel": x.channel,
        "published_at": rfc3339_utc(x.published_at.ms),
        "theme": x.theme,
        "impressions": x.impressions,
        "reach": x.reach,
        "engagements": x.engagements,
        "engagement_rate": (x.reach > 0).then(|| x.engagements as f64 * 100.0 / x.reach as f64),
    }) else {
        unreachable!()
    };
    m
}

fn contact_json(c: &Contact) -> Map<String, Json> {
    let Json::Object(m) = json!({
        "contact_id": c.contact_id,
        "channel": c.channel,
        "account": c.account,
        "queued_at": rfc3339_utc(c.queued_at.ms),
        "answered_at": c.answered_at.map(|a| rfc3339_utc(a.ms)),
        "ended_at": c.ended_at.map(|a| rfc3339_utc(a.ms)),
        "agent_id": c.agent_id,
        "wait_seconds": c.answered_at.map(|a| secs(a.ms - c.queued_at.ms)),
    }) else {
        unreachable!()
    };
    m
}

/// The rows behind a figure of the imports without a clock (surveys, invitations, contacts).
fn explain_records(
    def: &MetricDef,
    rec: &Records,
    p: &Params,
    group: Option<&str>,
    cfg: &Config,
) -> Vec<Map<String, Json>> {
    let mut dict = crate::table::Dict::default();
    let keep = |ms: Millis, a: Option<&str>, c: Option<&str>, g: Option<&str>| record_in_group(p, group, ms, a, c, g);
    // Answers grouped as the report credits them (through their invitation and conversation).
    let (credits, answered) = rec.survey_links();
    let surveys = rec.surveys.iter().zip(&credits).filter(|(s, c)| match p.by {
        Some(Dim::Theme) => p.contains(s.answered_at.ms) && group_matches(c.theme.map(str::to_string), group),
        _ => keep(s.answered_at.ms, c.account, c.channel, c.agent),
    });
    let contacts =
        rec.contacts.iter().filter(|c| keep(c.queued_at.ms, Some(&c.account), Some(&c.channel), c.agent_id.as_deref()));
    match &def.rule {
        Rule::SurveyRatio { den, num } => surveys
            .filter_map(|(s, c)| {
                let r = FactTable::survey_row_of(&mut dict, s, c.agent, c.invitation);
                den(&r).then(|| with(survey_json(s), "in_numerator", Json::Bool(num(&r))))
            })
            .collect(),
        Rule::SurveyMean { pred, onto } => surveys
            .filter_map(|(s, c)| {
                let r = FactTable::survey_row_of(&mut dict, s, c.agent, c.invitation);
                let (score, _, _) = survey_score(&r, *onto).filter(|_| pred(&r))?;
                // What the mean adds up: the score itself, or as mapped onto the common scale.
                Some(with(survey_json(s), "value", json!(score)))
            })
            .collect(),
        Rule::Nps => surveys
            .filter(|(s, _)| s.survey == "nps" && s.score.is_some())
            .map(|(s, _)| {
                let sc = s.score.unwrap_or_default();
                let class = if sc >= 9.0 {
                    "promoter"
                } else if sc <= 6.0 {
                    "detractor"
                } else {
                    "passive"
                };
                with(survey_json(s), "nps_class", json!(class))
            })
            .collect(),
        Rule::SurveyResponseRate => rec
            .invitations
            .iter()
            .zip(answered)
            .filter(|(i, _)| {
                p.contains(i.sent_at.ms)
                    && p.by.is_none_or(|d| {
                        let key = match d {
                            Dim::Theme => i.theme.clone(),
                            _ => record_key(i.sent_at.ms, i.account.as_deref(), i.channel.as_deref(), None, d, p.zone),
                        };
                        group_matches(key, group)
                    })
            })
            .map(|(i, a)| {
                let Json::Object(m) = json!({
                    "invitation_id": i.invitation_id, "survey": i.survey, "sent_at": rfc3339_utc(i.sent_at.ms),
                    "channel": i.channel, "account": i.account, "theme": i.theme, "customer_id": i.customer_id,
                    "in_numerator": a,
                }) else {
                    unreachable!()
                };
                m
            })
            .collect(),
        Rule::ContactCount(pred) => {
            contacts.filter(|c| pred(&FactTable::contact_row(&mut dict, c))).map(contact_json).collect()
        }
        Rule::ContactRatio { den, num } => contacts
            .filter_map(|c| {
                let r = FactTable::contact_row(&mut dict, c);
                den(&r).then(|| with(contact_json(c), "in_numerator", Json::Bool(num(&r))))
            })
            .collect(),
        Rule::ContactDuration(f) => contacts
            .filter_map(|c| {
                f(&FactTable::contact_row(&mut dict, c)).map(|v| with(contact_json(c), "value_seconds", json!(secs(v))))
            })
            .collect(),
        Rule::Customers(k) => {
            use crate::customers::CustomerMetric as K;
            // The group's period and members, as the report decides them: a time bucket is its
            // own period (its calendar span within the report's) holding every customer; an
            // account's group, its customers over the report's period; any other dimension's
            // `null` group, every customer (customers have no channel, agent, team or theme).
            let bucket = p.by.filter(|d| d.is_time()).and_then(|d| group.and_then(|g| bucket_of_key(g, d, p.zone)));
            let (from, to) = match bucket {
                Some((s, e)) => (Some(p.from.map_or(s, |f| f.max(s))), Some(p.to.map_or(e, |t| t.min(e)))),
                None => (p.from, p.to),
            };
            let (lo, hi) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
            let in_group = |account: Option<&str>| match p.by.filter(|_| group.is_some()) {
                None => true,
                // An order of a customer the data does not know belongs to no account (the report's
                // `null` account group has no customer figures).
                Some(Dim::Account) => account.is_some() && group_matches(account.map(str::to_string), group),
                Some(d) if d.is_time() => bucket.is_some(),
                Some(_) => group_matches(None, group),
            };
            match k {
                K::Clv | K::ClvHistorical | K::ClvPredictive => {
                    let accounts: std::collections::HashMap<&str, &str> =
                        rec.customers.iter().map(|c| (c.customer_id.as_str(), c.account.as_str())).collect();
                    rec.orders
                        .iter()
                        .filter(|o| {
                            let t = o.ordered_at.ms(p.zone);
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
                        let since = c.since.ms(p.zone);
                        let churned = c.churned_at.map(|m| m.ms(p.zone));
                        let present = |t: i64| since < t && churned.is_none_or(|ch| ch >= t);
                        let start = from.is_some() && present(lo);
                        let new = since >= lo && since < hi;
                        let lost = start && churned.is_some_and(|ch| ch >= lo && ch < hi);
                        let (keep, num) = match k {
                            K::Churn => (start, lost),
                            K::Referral => (new, c.referred_by.is_some()),
                            K::Retention | K::Clv | K::ClvHistorical | K::ClvPredictive => {
                                (start || new || present(hi), present(hi))
                            }
                        };
                        keep.then(|| {
                            let Json::Object(m) = json!({
                                "customer_id": c.customer_id, "account": c.account,
                                "since": c.since.to_text(), "churned_at": c.churned_at.map(|x| x.to_text()),
                                "referred_by": c.referred_by, "at_start": start, "at_end": present(hi),
                                "new": new, "lost": lost, "in_numerator": num,
                            }) else {
                                unreachable!()
                            };
                            m
                        })
                    })
                    .collect(),
            }
        }
        // The reviews the score adds up: of its configured criteria only, credited to their agent
        // or their conversation's first agent, as the report credits them.
        Rule::Weighted(index) => rec
            .reviews
            .iter()
            .filter(|r| index.weights(cfg).contains_key(&r.criterion))
            .filter(|r| keep(r.at.ms, None, None, rec.review_agent(r)))
            .map(|r| {
                let Json::Object(m) = json!({
                    "review_key": r.key, "conversation_id": r.conversation_id, "reviewer": r.reviewer,
                    "agent_id": r.agent_id, "criterion": r.criterion, "score": r.score, "at": rfc3339_utc(r.at.ms),
                }) else {
                    unreachable!()
                };
                m
            })
            .collect(),
        Rule::PostSum(_) | Rule::PostRatio { .. } | Rule::TopPosts => rec
            .posts
            .iter()
            .filter(|x| {
                p.contains(x.published_at.ms)
                    && p.by.is_none_or(|d| {
                        let key = match d {
                            Dim::Account => Some(x.account.clone()),
                            Dim::Channel => Some(x.channel.clone()),
                            Dim::Theme => x.theme.clone(),
                            Dim::Agent | Dim::Team => None,
                            _ => Some(time_key(x.published_at.ms, d, p.zone)),
                        };
                        group_matches(key, group)
                    })
            })
            .map(post_json)
            .collect(),
        // Rules over the clock's facts are explained by `explain`.
        Rule::MsgCount { .. }
        | Rule::MsgRatio { .. }
        | Rule::MsgDuration(_)
        | Rule::ReqCount(_)
        | Rule::ReqRatio { .. }
        | Rule::ReqDuration(_)
        | Rule::ConvCount(_)
        | Rule::ConvRatio { .. }
        | Rule::ConvDuration(_)
        | Rule::Badge
        | Rule::ChannelPreferences => unreachable!("explained from the facts"),
    }
}

pub fn explain(
    def: &'static MetricDef,
    facts: &Facts,
    records: &Records,
    p: &Params,
    group: Option<&str>,
    cfg: &Config,
) -> Explain {
    if def.on_records() {
        return Explain { metric: def.id, rows: explain_records(def, records, p, group, cfg) };
    }
    let t = FactTable::from_facts(facts);
    let ctx = Ctx::new(cfg, &t.dict);
    let rk = |r: &RequestFact| p.by.is_none_or(|d| group_matches(request_key(r, d, p.zone), group));
    let mk = |m: &MessageFact| p.by.is_none_or(|d| group_matches(message_key(m, d, p.zone), group));
    let reqs = || facts.requests.iter().zip(&t.reqs).filter(|(f, r)| p.contains(r.start_ms) && rk(f));
    let msgs = || facts.messages.iter().zip(&t.msgs).filter(|(f, m)| p.contains(m.ms) && mk(f));
    let ck = |c: &ConversationFact| p.by.is_none_or(|d| group_matches(conversation_key(c, d, p.zone), group));
    let convs = || facts.conversations.iter().zip(&t.convs).filter(|(f, c)| p.contains(c.start_ms) && ck(f));
    let rows = match &def.rule {
        Rule::MsgCount { pred, .. } => msgs().filter(|(_, m)| pred(m)).map(|(f, _)| message_row(f)).collect(),
        Rule::ReqCount(pr) => reqs().filter(|(_, r)| pr(r, &ctx)).map(|(f, _)| request_row(f, cfg)).collect(),
        Rule::ReqRatio { den, num } => reqs()
            .filter(|(_, r)| den(r, &ctx))
            .map(|(f, r)| with(request_row(f, cfg), "in_numerator", Json::Bool(num(r, &ctx))))
            .collect(),
        Rule::MsgRatio { den, num } => msgs()
            .filter(|(_, m)| den(m))
            .map(|(f, m)| with(message_row(f), "in_numerator", Json::Bool(num(m))))
            .collect(),
        Rule::ReqDuration(d) => reqs()
            .filter_map(|(f, r)| d(r, &ctx).map(|v| with(request_row(f, cfg), "value_seconds", json!(secs(v)))))
            .collect(),
        Rule::MsgDuration(d) => {
            msgs().filter_map(|(f, m)| d(m).map(|v| with(message_row(f), "value_seconds", json!(secs(v))))).collect()
        }
        Rule::ConvCount(pr) => convs().filter(|(_, c)| pr(c)).map(|(f, _)| conversation_row(f)).collect(),
        Rule::ConvRatio { den, num } => convs()
            .filter(|(_, c)| den(c))
            .map(|(f, c)| with(conversation_row(f), "in_numerator", Json::Bool(num(c))))
            .collect(),
        Rule::ConvDuration(d) => convs()
            .filter_map(|(f, c)| d(c, &ctx).map(|v| with(conversation_row(f), "value_seconds", json!(secs(v)))))
            .collect(),
        // The contacts behind the shares: the period's conversations and queued contacts (calls,
        // chats in a queue), each saying which it is.
        Rule::ChannelPreferences => convs()
            .map(|(f, _)| with(conversation_row(f), "contact", json!("conversation")))
            .chain(
                records
                    .contacts
                    .iter()
                    .filter(|c| {
                        let (a, ch) = (Some(c.account.as_str()), Some(c.channel.as_str()));
                        record_in_group(p, group, c.queued_at.ms, a, ch, c.agent_id.as_deref())
                    })
                    .map(|c| with(contact_json(c), "contact", json!("queued"))),
            )
            .collect(),
        Rule::Badge => {
            let data_end = p.to.unwrap_or_else(|| t.data_end());
            // A time bucket's badge is the window before the bucket's end (as the report computes
            // it); any other group's, the window before the period's end, within the group.
            let bucket = p.by.filter(|d| d.is_time()).zip(group).map(|(d, k)| bucket_of_key(k, d, p.zone));
            let (end, in_group): (Millis, &dyn Fn(&RequestFact) -> bool) = match bucket {
                Some(Some((_, bend))) => (bend.min(data_end), &|_| true),
                Some(None) => (data_end, &|_| false),
                None => (data_end, &rk),
            };
            let start = end - cfg.badge.window_ms;
            // The badge's rate is the response rate of its window: its requests, each marked as
            // that rate marks it.
            let Some(Rule::ReqRatio { den, num }) = crate::metrics::find("response_rate").map(|d| &d.rule) else {
                unreachable!("response_rate is a ratio of requests")
            };
            facts
                .requests
                .iter()
                .zip(&t.reqs)
                .filter(|(r, _)| r.start_ms >= start && r.start_ms < end && in_group(r))
                .filter(|(r, _)| cfg.badge.channels.as_ref().is_none_or(|c| c.contains(&r.channel)))
                .filter(|(_, x)| den(x, &ctx))
                .map(|(r, x)| with(request_row(r, cfg), "in_numerator", Json::Bool(num(x, &ctx))))
                .collect()
        }
        // Rules over imported records were answered above (`on_records`).
        Rule::SurveyRatio { .. }
        | Rule::SurveyMean { .. }
        | Rule::Nps
        | Rule::SurveyResponseRate
        | Rule::ContactCount(_)
        | Rule::ContactRatio { .. }
        | Rule::ContactDuration(_)
        | Rule::PostSum(_)
        | Rule::PostRatio { .. }
        | Rule::TopPosts
        | Rule::Customers(_)
        | Rule::Weighted(_) => unreachable!("explained from the records"),
    };
    Explain { metric: def.id, rows }
}

#[cfg(test)]
mod tests;
