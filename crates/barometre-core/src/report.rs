//! Aggregation: facts → the report of DATA.md (`period`, `timezone`, `group_by`, `total`,
//! `groups`), and the drill-down rows behind any figure.

use crate::clock::Facts;
use crate::config::Config;
pub use crate::drill::*;
use crate::indicator::{
    buckets, conversations_of, messages_of, posts_of, requests_of, slot, surveys_of, Drill, Figure, Grouping, Part,
    Pass, Rows, Slots, UNGROUPED,
};
use crate::metrics::{Ctx, MetricDef, Rule, METRICS};
use crate::stats::{Count, Durations, Ratio};
use crate::table::{ContactRow, ConvRow, FactTable, InvitationRow, MsgRow, PostRow, ReqRow, ReviewRow, SurveyRow};
use crate::time::{rfc3339_utc, Millis, Zone};
pub use crate::value::*;
pub use crate::vocab::Dim;
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
        self.scope().contains(ms)
    }
    /// Its period and grouping, as indicators and drill-downs read them.
    pub fn scope(&self) -> Scope {
        Scope { from: self.from, to: self.to, by: self.by, zone: self.zone }
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

/// A metric before its final form: what groups add up to the total.
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
    /// The part of an indicator of its own kind, which only it reads.
    Own(&'static dyn Figure, Part),
}

impl Acc {
    /// Adds another group's accumulator of the same plain rule (indicators of their own kind
    /// make their totals themselves: [`total_of`]).
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
            (a, _) => unreachable!("one rule, one kind of accumulator ({})", a.kind()),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Acc::Count { .. } => "count",
            Acc::Ratio { .. } => "ratio",
            Acc::Durations(_) => "durations",
            Acc::Own(..) => "own",
        }
    }

    /// The final value; durations are reordered in place (the multiset stays, for merging).
    fn finish(&mut self, q: &Pass<'_>) -> Value {
        match self {
            Acc::Count { n, known } => Value::Count(Count { value: known.then_some(*n) }),
            Acc::Ratio { num, den } => Value::Ratio(Ratio::new(*num, *den)),
            Acc::Durations(v) => Value::Duration(Durations::of(v)),
            Acc::Own(k, part) => k.finish(part, q),
        }
    }
}

/// The total of a metric from its groups' accumulators: every row is in exactly one group.
fn total_of(def: &MetricDef, groups: &[Acc], q: &Pass<'_>) -> Acc {
    if let Rule::Own(k) = def.rule {
        let parts: Vec<&Part> =
            groups.iter().filter_map(|a| if let Acc::Own(_, p) = a { Some(p) } else { None }).collect();
        return Acc::Own(k, k.total(q, &parts));
    }
    let mut t = accumulate_slots(def, &q.nothing()).pop().expect("one group, one accumulator");
    for a in groups {
        t.merge(a);
    }
    t
}

/// The metrics a group computes itself; business durations without opening hours anywhere
/// are their calendar twins and are copied instead.
fn own_metrics(ctx: &Ctx, sel: Option<MetricSet>) -> Vec<&'static MetricDef> {
    own_metric_defs(ctx.cfg, sel)
}

/// [`own_metrics`] from the configuration alone.
fn own_metric_defs(cfg: &Config, sel: Option<MetricSet>) -> Vec<&'static MetricDef> {
    let same = !cfg.has_business_hours();
    let wanted = |id: &str| sel.is_none_or(|s| s.contains(id) || (same && s.contains(&format!("{id}_business"))));
    METRICS.iter().filter(|d| !(same && d.id.ends_with("_business")) && wanted(d.id)).collect()
}

/// Whether a report of `p` reads conversations: unless no metric of its reads them (nor is of
/// its own kind), and its groups are none, accounts, channels or themes. A conversation starts
/// at its first message, in its account and channel: that message, in the same period, already
/// makes the conversation's group appear (an agent or a team may be a conversation's without
/// any of its messages in the period, so those groupings read them). When it does not, a store
/// may leave conversations out of the table ([`FactTable::convs`]): the report is the same.
pub fn reads_conversations(cfg: &Config, p: &Params) -> bool {
    if p.metrics.is_none() || !matches!(p.by, None | Some(Dim::Account | Dim::Channel | Dim::Theme)) {
        return true;
    }
    own_metric_defs(cfg, p.metrics)
        .into_iter()
        .any(|d| matches!(d.rule, Rule::ConvCount(_) | Rule::ConvRatio { .. } | Rule::ConvDuration(_) | Rule::Own(_)))
}

/// Whether a report of `p` reads messages themselves: grouped by time, or with a metric that
/// reads messages (or of its own kind, which may). When it does not, a store may cover messages
/// by groups instead of giving every one ([`FactTable::unattached_covered`]): the report is the
/// same, read from a fraction of the facts.
pub fn reads_messages(cfg: &Config, p: &Params) -> bool {
    if p.metrics.is_none() || p.by.is_some_and(Dim::is_time) {
        return true;
    }
    own_metric_defs(cfg, p.metrics)
        .into_iter()
        .any(|d| matches!(d.rule, Rule::MsgCount { .. } | Rule::MsgRatio { .. } | Rule::MsgDuration(_) | Rule::Own(_)))
}

/// Final values in registry order, twins filled in.
fn assemble(own: &[&'static MetricDef], accs: &mut [Acc], q: &Pass<'_>, sel: Option<MetricSet>) -> Metrics {
    let values = accs.iter_mut().map(|a| a.finish(q)).collect();
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
fn metrics_par(q: &Pass<'_>, sel: Option<MetricSet>) -> Metrics {
    let own = own_metrics(q.ctx, sel);
    let mut accs: Vec<Acc> =
        accumulate_all(&own, q).into_iter().map(|mut v| v.pop().expect("one group, one accumulator")).collect();
    assemble(&own, &mut accs, q, sel)
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
        Rule::SurveyRatio { .. }
        | Rule::SurveyResponseRate
        | Rule::ContactCount(_)
        | Rule::ContactRatio { .. }
        | Rule::ContactDuration(_)
        | Rule::PostSum(_)
        | Rule::PostRatio { .. }
        | Rule::Own(_) => return None,
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
fn accumulate_all(own: &[&'static MetricDef], q: &Pass<'_>) -> Vec<Vec<Acc>> {
    let (rows, sl, n, ctx) = (&q.rows, q.slots, q.n, q.ctx);
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
            vec![(k, accumulate_slots(own[k], q))]
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

/// One metric for every group at once: one sequential pass over the rows, each row adding to
/// its group's accumulator.
fn accumulate_slots(def: &MetricDef, q: &Pass<'_>) -> Vec<Acc> {
    let (rows, sl, n, ctx) = (&q.rows, q.slots, q.n, q.ctx);
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
        Rule::Own(k) => k.accumulate(q).into_iter().map(|p| Acc::Own(*k, p)).collect(),
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
    // The recurring themes compare each theme with the period before, in every rendering.
    let with_previous = with_previous || p.metrics.is_none_or(|m| m.contains("recurring_themes"));
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
    let scope = p.scope();
    let own = own_metrics(&ctx, p.metrics);
    let figures: Vec<&'static dyn Figure> =
        own.iter().filter_map(|d| if let Rule::Own(k) = d.rule { Some(k) } else { None }).collect();
    let mut groups = Vec::new();
    let mut total = None;
    if let Some(dim) = p.by {
        // Some indicators make buckets of their own instants (customers: each bucket is its own
        // period, their sign-ups, churns and orders make buckets).
        let mut extra_ms: Vec<Millis> =
            if dim.is_time() { figures.iter().flat_map(|k| k.instants(t, &scope)).collect() } else { Vec::new() };
        extra_ms.sort_unstable();
        extra_ms.dedup();
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
                .chain(extra_ms.iter().copied())
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
        // Whatever the selection (a selection's groups are the full report's): customers count
        // in their account's group, or in the `null` group of dimensions they lack.
        for d in METRICS {
            if let Rule::Own(k) = d.rule {
                k.groups(t, &g, &mut used);
            }
        }
        for &ms in &extra_ms {
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
        let q = Pass { rows, slots: &sl, n: slots, ctx: &ctx, table: t, scope, end, grouping: Some(&g) };
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
        // Metric by metric, each over all groups at once, the metrics spread over the cores.
        let mut per_metric: Vec<Vec<Acc>> = accumulate_all(&own, &q);
        // Every fact of the period is in exactly one group (facts without a value form the
        // `null` group): the total is the groups added up, not a second pass over the rows.
        let totals: Vec<Acc> = own.iter().zip(&per_metric).map(|(d, accs)| total_of(d, accs, &q)).collect();
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
            std::mem::replace(
                &mut *m.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
                Acc::Count { n: 0, known: false },
            )
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
                return Done::Total(take_total(&totals[k]).finish(&q));
            }
            let i = order[k - own.len()].1;
            Done::Group(assemble(&own, &mut take(&by_group[i]), &q, p.metrics))
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
    let total = total.unwrap_or_else(|| {
        metrics_par(&Pass { rows, slots: &UNGROUPED, n: 1, ctx: &ctx, table: t, scope, end, grouping: None }, p.metrics)
    });
    let covered: u64 =
        t.unattached_covered.iter().filter(|&&(lo, hi, _)| p.contains(lo) && p.contains(hi)).map(|c| c.2).sum();
    let unattached = msgs.iter().filter(|m| m.unattached).count() as u64 + covered;
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

/// The rows behind a figure of the imports without a clock (surveys, invitations, contacts).
fn explain_records(def: &MetricDef, d: &Drill<'_>) -> Vec<Map<String, Json>> {
    let (rec, p, group) = (d.records, &d.scope, d.group);
    let mut dict = crate::table::Dict::default();
    let keep = |ms: Millis, a: Option<&str>, c: Option<&str>, g: Option<&str>| record_in_group(p, group, ms, a, c, g);
    let (_, answered) = rec.survey_links();
    let contacts =
        rec.contacts.iter().filter(|c| keep(c.queued_at.ms, Some(&c.account), Some(&c.channel), c.agent_id.as_deref()));
    match &def.rule {
        Rule::SurveyRatio { den, num } => surveys_of(d)
            .into_iter()
            .filter(|(_, r)| den(r))
            .map(|(s, r)| with(survey_json(s), "in_numerator", Json::Bool(num(&r))))
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
        Rule::PostSum(_) | Rule::PostRatio { .. } => posts_of(d).map(post_json).collect(),
        // Rules over the clock's facts are explained by `explain`; indicators of their own kind
        // by themselves.
        Rule::MsgCount { .. }
        | Rule::MsgRatio { .. }
        | Rule::MsgDuration(_)
        | Rule::ReqCount(_)
        | Rule::ReqRatio { .. }
        | Rule::ReqDuration(_)
        | Rule::ConvCount(_)
        | Rule::ConvRatio { .. }
        | Rule::ConvDuration(_)
        | Rule::Own(_) => unreachable!("explained from the facts, or by the indicator"),
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
    // The compact facts, for the rules that read the clock's.
    let t = if def.on_records() { FactTable::default() } else { FactTable::from_facts(facts) };
    let ctx = Ctx::new(cfg, &t.dict);
    let d = Drill { facts, table: &t, ctx: &ctx, records, scope: p.scope(), group, cfg };
    if let Rule::Own(k) = def.rule {
        return Explain { metric: def.id, rows: k.explain(&d) };
    }
    if def.on_records() {
        return Explain { metric: def.id, rows: explain_records(def, &d) };
    }
    let reqs = || requests_of(&d);
    let msgs = || messages_of(&d);
    let convs = || conversations_of(&d);
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
        // Rules over imported records were answered above (`on_records`), indicators of their
        // own kind by themselves.
        Rule::SurveyRatio { .. }
        | Rule::SurveyResponseRate
        | Rule::ContactCount(_)
        | Rule::ContactRatio { .. }
        | Rule::ContactDuration(_)
        | Rule::PostSum(_)
        | Rule::PostRatio { .. }
        | Rule::Own(_) => unreachable!("explained from the records, or by the indicator"),
    };
    Explain { metric: def.id, rows }
}

#[cfg(test)]
mod tests;
