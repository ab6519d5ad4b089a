//! Indicators: what every one of them shares — the rows a report reads, the group of each row,
//! what a rule needs beyond the rows ([`Ctx`]) — and the one trait an indicator of its own kind
//! implements ([`Indicator`]): accumulate over each group, merge, finish, explain. Its figure and
//! the rows behind it come from the same file, so they cannot disagree.
//!
//! Plain indicators (a count, a ratio or a duration over one table) are declared in the registry
//! ([`crate::metrics`]); the others are one file each under `indicator/`, named in the registry
//! by `Rule::Own(&THE_INDICATOR)`.

use crate::calendar::Calendar;
use crate::clock::Facts;
use crate::config::Config;
use crate::drill::{bucket_end, bucket_start, group_matches, record_in_group, time_key, Records, Row, Scope};
use crate::table::{
    ContactRow, ConvRow, Dict, FactTable, InvitationRow, MsgRow, PostRow, ReqRow, ReviewRow, SurveyRow,
};
use crate::time::{Millis, Zone};
pub use crate::value::Shape;
use crate::value::Value;
use crate::vocab::Dim;
use std::any::Any;

pub mod activity;
pub mod badge;
pub mod channel_preferences;
pub mod customer;
pub mod faq;
pub mod nps;
pub mod sentiment;
pub mod survey_mean;
pub mod themes;
pub mod top_posts;
pub mod weighted;

/// What a rule needs beyond the facts: the configuration, and each account's calendar by id.
pub struct Ctx<'a> {
    pub cfg: &'a Config,
    calendars: Vec<&'a Calendar>,
}

impl<'a> Ctx<'a> {
    pub fn new(cfg: &'a Config, dict: &Dict) -> Ctx<'a> {
        Ctx { cfg, calendars: dict.names().map(|n| cfg.calendar(n)).collect() }
    }
    /// Open time between two instants in the business hours of account `account` (a dict id).
    pub fn business_between(&self, account: u32, from: Millis, to: Millis) -> Millis {
        match self.calendars.get(account as usize) {
            Some(c) => c.open_ms(from, to),
            None => (to - from).max(0),
        }
    }

    /// Open time between a request's start and `end` in its account's business hours.
    pub fn business(&self, r: &ReqRow, end: Millis) -> Millis {
        match self.calendars.get(r.account as usize) {
            Some(c) => c.open_ms(r.start_ms, end),
            None => end - r.start_ms,
        }
    }
}

/// What the rows behind a figure are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Messages,
    Requests,
    Conversations,
    /// Imported records: survey answers, invitations, contacts, posts, reviews, customers.
    Records,
}

/// Calendar buckets over the data's instants `[lo, hi]`: (start, end, key), in order. Dense when
/// the span is short (most reports: no sort needed); past [`DENSE_BUCKETS`] only the buckets that
/// hold data are built, so that two far-apart rows cost two buckets, not every day between them.
pub fn buckets<I: Iterator<Item = Millis>>(
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
pub fn dense_buckets(lo: Millis, hi: Millis, dim: Dim, zone: Zone) -> Vec<(Millis, Millis, String)> {
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
pub fn sparse_buckets(sorted: &[Millis], dim: Dim, zone: Zone) -> Vec<(Millis, Millis, String)> {
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
pub struct Grouping {
    pub dim: Dim,
    pub buckets: Vec<(Millis, Millis, String)>,
}

impl Grouping {
    pub fn slot_of_name(id: u32) -> usize {
        if id == crate::table::NONE {
            0
        } else {
            id as usize + 1
        }
    }
    pub fn req(&self, r: &ReqRow) -> usize {
        match self.dim {
            Dim::Account => Self::slot_of_name(r.account),
            Dim::Channel => Self::slot_of_name(r.channel),
            Dim::Agent => Self::slot_of_name(r.agent),
            Dim::Team => Self::slot_of_name(r.team),
            Dim::Theme => 0,
            _ => self.bucket(r.start_ms),
        }
    }
    pub fn msg(&self, m: &MsgRow) -> usize {
        match self.dim {
            Dim::Account => Self::slot_of_name(m.account),
            Dim::Channel => Self::slot_of_name(m.channel),
            Dim::Agent => Self::slot_of_name(m.agent),
            Dim::Team => Self::slot_of_name(m.team),
            Dim::Theme => 0,
            _ => self.bucket(m.ms),
        }
    }
    pub fn conv(&self, c: &ConvRow) -> usize {
        match self.dim {
            Dim::Account => Self::slot_of_name(c.account),
            Dim::Channel => Self::slot_of_name(c.channel),
            Dim::Agent => Self::slot_of_name(c.agent),
            Dim::Team => Self::slot_of_name(c.team),
            Dim::Theme => 0,
            _ => self.bucket(c.start_ms),
        }
    }
    pub fn post(&self, x: &PostRow) -> usize {
        match self.dim {
            Dim::Account => Self::slot_of_name(x.account),
            Dim::Channel => Self::slot_of_name(x.channel),
            Dim::Theme => Self::slot_of_name(x.theme),
            Dim::Agent | Dim::Team => 0,
            _ => self.bucket(x.ms),
        }
    }
    /// Group of a row of another import (survey, contact, invitation); no team.
    pub fn other(&self, ms: Millis, account: u32, channel: u32, agent: u32) -> usize {
        match self.dim {
            Dim::Account => Self::slot_of_name(account),
            Dim::Channel => Self::slot_of_name(channel),
            Dim::Agent => Self::slot_of_name(agent),
            Dim::Team | Dim::Theme => 0,
            _ => self.bucket(ms),
        }
    }
    pub fn bucket(&self, ms: Millis) -> usize {
        self.buckets.partition_point(|b| b.1 <= ms)
    }
}

/// All the compact rows a report reads.
#[derive(Default, Clone, Copy)]
pub struct Rows<'a> {
    pub dict: Option<&'a crate::table::Dict>,
    pub reviews: &'a [ReviewRow],
    pub posts: &'a [PostRow],
    pub post_ids: &'a [String],
    pub reqs: &'a [ReqRow],
    pub msgs: &'a [MsgRow],
    pub convs: &'a [ConvRow],
    pub surveys: &'a [SurveyRow],
    pub contacts: &'a [ContactRow],
    pub invitations: &'a [InvitationRow],
}

/// The group of each row (`None`: every row in group 0).
#[derive(Default)]
pub struct Slots<'a> {
    pub reviews: Option<&'a [u32]>,
    pub posts: Option<&'a [u32]>,
    pub reqs: Option<&'a [u32]>,
    pub msgs: Option<&'a [u32]>,
    pub convs: Option<&'a [u32]>,
    pub surveys: Option<&'a [u32]>,
    pub contacts: Option<&'a [u32]>,
    pub invitations: Option<&'a [u32]>,
}

pub fn slot(s: Option<&[u32]>, i: usize) -> usize {
    s.map_or(0, |v| v[i] as usize)
}

/// No grouping: every row in group 0.
pub static UNGROUPED: Slots<'static> = Slots {
    reviews: None,
    posts: None,
    reqs: None,
    msgs: None,
    convs: None,
    surveys: None,
    contacts: None,
    invitations: None,
};

/// One pass of a report over its period: the rows, the group of each, what the groups are.
#[derive(Clone, Copy)]
pub struct Pass<'a> {
    /// The period's rows (customers and orders are read from `table`).
    pub rows: Rows<'a>,
    pub slots: &'a Slots<'a>,
    /// How many groups (1 when the report is not grouped).
    pub n: usize,
    pub ctx: &'a Ctx<'a>,
    /// Every fact loaded, beyond the period too (a badge looks back before it).
    pub table: &'a FactTable,
    pub scope: Scope,
    /// The period's end: its `to`, else the data's end.
    pub end: Millis,
    pub grouping: Option<&'a Grouping>,
}

impl<'a> Pass<'a> {
    /// The same period, not grouped: what a total is.
    pub fn alone(&self) -> Pass<'a> {
        Pass { slots: &UNGROUPED, n: 1, grouping: None, ..*self }
    }
    /// No row at all, one group: where a total starts from before the groups are merged in.
    pub fn nothing(&self) -> Pass<'a> {
        Pass { rows: Rows { dict: self.rows.dict, post_ids: self.rows.post_ids, ..Rows::default() }, ..self.alone() }
    }
}

/// What a drill-down reads: the facts and records, the period and grouping, the group asked for.
pub struct Drill<'a> {
    pub facts: &'a Facts,
    /// The facts, compact (empty for indicators over records).
    pub table: &'a FactTable,
    pub ctx: &'a Ctx<'a>,
    pub records: &'a Records,
    pub scope: Scope,
    /// The group's key (`None`: every row of the period; `"null"`: rows without a value).
    pub group: Option<&'a str>,
    pub cfg: &'a Config,
}

/// An indicator of its own kind: one file, one implementation.
///
/// A report calls [`Indicator::accumulate`] once for all its groups, finishes each group's part,
/// and finishes the total's ([`Indicator::total`]); `explain` lists the rows the same rules
/// counted. Adding one is a new file under `indicator/` and one registry line.
pub trait Indicator: Sync + 'static {
    /// A group's running state: what groups add up.
    type Part: Send + 'static;
    fn shape(&self) -> Shape;
    fn source(&self) -> Source;
    /// One part per group ([`Pass::n`]), each row added to its group's.
    fn accumulate(&self, q: &Pass<'_>) -> Vec<Self::Part>;
    /// Adds `other`'s rows to `into`: the part of the two groups' union.
    fn merge(&self, into: &mut Self::Part, other: &Self::Part);
    /// The total's part. Every row of the period is in exactly one group, so by default it is
    /// the groups' parts merged (no second pass over the rows); an indicator whose groups look
    /// beyond their own rows (a time bucket's badge window, a bucket's customers) overrides it.
    fn total(&self, q: &Pass<'_>, parts: &[&Self::Part]) -> Self::Part {
        let mut t = self.accumulate(&q.nothing()).pop().expect("one group, one part");
        for p in parts {
            self.merge(&mut t, p);
        }
        t
    }
    /// The figure (the part may be reordered in place).
    fn finish(&self, part: &mut Self::Part, q: &Pass<'_>) -> Value;
    /// The rows behind the figure of `d.group`, marked as the figure counts them.
    fn explain(&self, d: &Drill<'_>) -> Vec<Row>;
    /// Instants that make time buckets besides the rows' (customers' sign-ups, churns, orders).
    fn instants(&self, _t: &FactTable, _scope: &Scope) -> Vec<Millis> {
        Vec::new()
    }
    /// Groups this indicator fills besides its rows' (customers: their account's group).
    fn groups(&self, _t: &FactTable, _g: &Grouping, _used: &mut [bool]) {}
}

/// A part whose type only its indicator knows.
pub type Part = Box<dyn Any + Send>;

/// [`Indicator`] with its part's type hidden, as the registry holds it (`Rule::Own`).
pub trait Figure: Sync {
    fn shape(&self) -> Shape;
    fn source(&self) -> Source;
    fn accumulate(&self, q: &Pass<'_>) -> Vec<Part>;
    fn total(&self, q: &Pass<'_>, parts: &[&Part]) -> Part;
    fn finish(&self, part: &mut Part, q: &Pass<'_>) -> Value;
    fn explain(&self, d: &Drill<'_>) -> Vec<Row>;
    fn instants(&self, t: &FactTable, scope: &Scope) -> Vec<Millis>;
    fn groups(&self, t: &FactTable, g: &Grouping, used: &mut [bool]);
}

fn part_of<T: 'static>(p: &Part) -> &T {
    p.downcast_ref().expect("a part is finished by the indicator that made it")
}

impl<I: Indicator> Figure for I {
    fn shape(&self) -> Shape {
        Indicator::shape(self)
    }
    fn source(&self) -> Source {
        Indicator::source(self)
    }
    fn accumulate(&self, q: &Pass<'_>) -> Vec<Part> {
        Indicator::accumulate(self, q).into_iter().map(|p| Box::new(p) as Part).collect()
    }
    fn total(&self, q: &Pass<'_>, parts: &[&Part]) -> Part {
        let parts: Vec<&I::Part> = parts.iter().map(|p| part_of::<I::Part>(p)).collect();
        Box::new(Indicator::total(self, q, &parts))
    }
    fn finish(&self, part: &mut Part, q: &Pass<'_>) -> Value {
        Indicator::finish(self, part.downcast_mut().expect("a part is finished by the indicator that made it"), q)
    }
    fn explain(&self, d: &Drill<'_>) -> Vec<Row> {
        Indicator::explain(self, d)
    }
    fn instants(&self, t: &FactTable, scope: &Scope) -> Vec<Millis> {
        Indicator::instants(self, t, scope)
    }
    fn groups(&self, t: &FactTable, g: &Grouping, used: &mut [bool]) {
        Indicator::groups(self, t, g, used)
    }
}

/// The survey answers of a drill-down's group as the report credits them (through their
/// invitation and conversation: [`Records::survey_links`]), each with the compact row the
/// report's rules read.
pub fn surveys_of<'a>(d: &Drill<'a>) -> Vec<(&'a crate::model::SurveyAnswer, SurveyRow)> {
    let mut dict = Dict::default();
    let (credits, _) = d.records.survey_links();
    d.records
        .surveys
        .iter()
        .zip(credits)
        .filter(|(s, c)| match d.scope.by {
            Some(Dim::Theme) => {
                d.scope.contains(s.answered_at.ms) && group_matches(c.theme.map(str::to_string), d.group)
            }
            _ => record_in_group(&d.scope, d.group, s.answered_at.ms, c.account, c.channel, c.agent),
        })
        .map(|(s, c)| (s, FactTable::survey_row_of(&mut dict, s, c.agent, c.invitation)))
        .collect()
}

/// The running sums of one survey table, group by group: `add` folds a row into its group's part.
pub fn per_survey<P: Clone>(q: &Pass<'_>, empty: P, mut add: impl FnMut(&mut P, &SurveyRow)) -> Vec<P> {
    let mut v = vec![empty; q.n];
    for (i, s) in q.rows.surveys.iter().enumerate() {
        add(&mut v[slot(q.slots.surveys, i)], s);
    }
    v
}

/// The messages of a drill-down's period and group, each with its compact row.
pub fn messages_of<'a>(
    d: &Drill<'a>,
) -> impl Iterator<Item = (&'a crate::clock::MessageFact, &'a MsgRow)> + Clone + 'a {
    let (s, group) = (d.scope, d.group);
    d.facts.messages.iter().zip(&d.table.msgs).filter(move |(f, m)| {
        s.contains(m.ms) && s.by.is_none_or(|x| group_matches(crate::drill::message_key(f, x, s.zone), group))
    })
}

/// The requests of a drill-down's period and group, each with its compact row.
pub fn requests_of<'a>(
    d: &Drill<'a>,
) -> impl Iterator<Item = (&'a crate::clock::RequestFact, &'a ReqRow)> + Clone + 'a {
    let (s, group) = (d.scope, d.group);
    d.facts.requests.iter().zip(&d.table.reqs).filter(move |(f, r)| {
        s.contains(r.start_ms) && s.by.is_none_or(|x| group_matches(crate::drill::request_key(f, x, s.zone), group))
    })
}

/// The conversations of a drill-down's period and group, each with its compact row.
pub fn conversations_of<'a>(
    d: &Drill<'a>,
) -> impl Iterator<Item = (&'a crate::clock::ConversationFact, &'a ConvRow)> + Clone + 'a {
    let (s, group) = (d.scope, d.group);
    d.facts.conversations.iter().zip(&d.table.convs).filter(move |(f, c)| {
        s.contains(c.start_ms)
            && s.by.is_none_or(|x| group_matches(crate::drill::conversation_key(f, x, s.zone), group))
    })
}

/// The publications of a drill-down's group, as the report groups them.
pub fn posts_of<'a>(d: &Drill<'a>) -> impl Iterator<Item = &'a crate::model::Post> + 'a {
    let s = d.scope;
    let group = d.group;
    d.records.posts.iter().filter(move |x| {
        s.contains(x.published_at.ms)
            && s.by.is_none_or(|dim| {
                let key = match dim {
                    Dim::Account => Some(x.account.clone()),
                    Dim::Channel => Some(x.channel.clone()),
                    Dim::Theme => x.theme.clone(),
                    Dim::Agent | Dim::Team => None,
                    _ => Some(time_key(x.published_at.ms, dim, s.zone)),
                };
                group_matches(key, group)
            })
    })
}
