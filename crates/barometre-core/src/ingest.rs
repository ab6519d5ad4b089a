//! Reading import files row by row: CSV, JSON Lines and the *Customer Support on Twitter* layout.
//!
//! Readers stream: they hold one row at a time (the Twitter layout keeps a small index of its
//! threads, built in a first pass). Every bad row becomes a [`RowError`] naming file, line and
//! column; the next row is read as if nothing happened, so nothing valid is lost.

use crate::fx::FxHashMap as HashMap;
use crate::model::{
    Contact, ConversationEvent, Customer, Direction, EventKind, Message, Moment, Order, Post, SurveyAnswer,
    SurveyInvitation,
};
use crate::model::{Probe, Resolution, Review};
use crate::time::{parse_instant, parse_twitter_date, Stamp};
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;

/// Whether a message row can join no conversation: an `out` row with no conversation id, no reply
/// to anything and no customer (an export that lost them). Such rows are kept but announced:
/// reported as answering nothing, they would silently drag a response rate to zero. (A customer's
/// reply to it would make it the start of a thread: the clock's facts know that case apart.)
pub fn unattached(m: &Message) -> bool {
    m.direction == Direction::Out && m.conversation_id.is_none() && m.reply_to.is_none() && m.customer_id.is_none()
}

/// One rejected row (or a file-level problem, then at line 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RowError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.reason)
    }
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Messages,
    ConversationEvents,
    Surveys,
    SurveyInvitations,
    Contacts,
    Posts,
    Customers,
    Orders,
    Reviews,
    Probes,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "messages" => Some(Kind::Messages),
            "conversation-events" | "conversation_events" | "events" => Some(Kind::ConversationEvents),
            "surveys" => Some(Kind::Surveys),
            "survey-invitations" | "survey_invitations" => Some(Kind::SurveyInvitations),
            "contacts" => Some(Kind::Contacts),
            "posts" => Some(Kind::Posts),
            "customers" => Some(Kind::Customers),
            "orders" => Some(Kind::Orders),
            "qa-reviews" | "qa_reviews" | "scores" => Some(Kind::Reviews),
            "probes" => Some(Kind::Probes),
            _ => None,
        }
    }
    pub fn required(self) -> &'static [&'static str] {
        match self {
            Kind::Messages => &["message_id", "created_at", "direction", "account", "channel", "author_id"],
            Kind::ConversationEvents => &["conversation_id", "event", "at"],
            Kind::Surveys => &["response_id", "survey", "answered_at"],
            Kind::SurveyInvitations => &["invitation_id", "survey", "sent_at"],
            Kind::Contacts => &["contact_id", "channel", "account", "queued_at"],
            Kind::Posts => &["post_id", "account", "channel", "published_at", "impressions", "reach"],
            Kind::Customers => &["customer_id", "account", "since"],
            Kind::Orders => &["order_id", "customer_id", "ordered_at", "amount"],
            Kind::Reviews => &["criterion", "score", "at"],
            Kind::Probes => &["probe_id", "campaign", "brand", "channel", "sent_at"],
        }
    }
}

/// How a file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
    Twcs,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "twcs" => Some(Format::Twcs),
            _ => None,
        }
    }
    /// Guesses from the file name: `.jsonl`/`.ndjson` are JSON Lines, anything else CSV.
    pub fn from_path(path: &str) -> Format {
        let p = path.to_ascii_lowercase();
        if p.ends_with(".jsonl") || p.ends_with(".ndjson") || p.ends_with(".json") {
            Format::Jsonl
        } else {
            Format::Csv
        }
    }
}

/// A validated row.
// Messages are nearly every row: boxing them would cost an allocation each for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Message(Message),
    Event(ConversationEvent),
    Survey(SurveyAnswer),
    Invitation(SurveyInvitation),
    Contact(Contact),
    Post(Post),
    Customer(Customer),
    Order(Order),
    Review(Review),
    Probe(Probe),
}

/// A validated row and where it was read, to name it in later errors (a duplicate id).
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub file: Arc<str>,
    pub line: u64,
    /// Column of the row's id.
    pub id_column: u64,
    pub record: Record,
}

impl Located {
    pub fn error(&self, reason: String) -> RowError {
        RowError { file: self.file.to_string(), line: self.line, column: self.id_column, reason }
    }
}

/// `s.trim()`, without the look at every character when the ends are plain ASCII (printable ASCII
/// is never Unicode white space): most cells.
#[inline]
fn trim(s: &str) -> &str {
    match s.as_bytes() {
        [a, .., b] if (0x21..0x7f).contains(a) && (0x21..0x7f).contains(b) => s,
        [a] if (0x21..0x7f).contains(a) => s,
        _ => s.trim(),
    }
}

/// A row's fields by name, whatever the file format.
trait Fields {
    /// The trimmed value, `None` when the column is absent or the cell empty.
    fn get(&self, name: &str) -> Result<Option<&str>, (u64, String)>;
    /// The value as written (message text keeps its spaces).
    fn raw(&self, name: &str) -> Result<Option<&str>, (u64, String)>;
    /// Where the field is (or would be), 1-based.
    fn col(&self, name: &str) -> u64;
    /// Whether the file has this column at all.
    fn has(&self, name: &str) -> bool;
}

type FieldResult<T> = Result<T, (u64, String)>;

#[inline(always)]
fn required<'a, F: Fields + ?Sized>(f: &'a F, name: &str) -> FieldResult<&'a str> {
    f.get(name)?.ok_or_else(|| (f.col(name), format!("missing value for required column `{name}`")))
}

fn opt_string(f: &dyn Fields, name: &str) -> FieldResult<Option<String>> {
    Ok(f.get(name)?.map(str::to_string))
}

/// `true/false/1/0/yes/no`, any case.
pub fn parse_bool(s: &str) -> Option<bool> {
    // Compared without lowering a copy: this runs for several columns of every row.
    let s = s.trim();
    let is = |w: &str| s.eq_ignore_ascii_case(w);
    if is("true") || s == "1" || is("yes") || is("y") || is("t") {
        Some(true)
    } else if is("false") || s == "0" || is("no") || is("n") || is("f") {
        Some(false)
    } else {
        None
    }
}

#[inline(always)]
fn opt_bool<F: Fields + ?Sized>(f: &F, name: &str) -> FieldResult<Option<bool>> {
    match f.get(name)? {
        None => Ok(None),
        Some(v) => parse_bool(v)
            .map(Some)
            .ok_or_else(|| (f.col(name), format!("`{v}` in column `{name}` is not a boolean (true/false/1/0/yes/no)"))),
    }
}

fn instant<F: Fields + ?Sized>(f: &F, name: &str) -> FieldResult<Stamp> {
    let v = required(f, name)?;
    parse_instant(v).map_err(|e| (f.col(name), format!("column `{name}`: {e}")))
}

fn message_from(f: &dyn Fields) -> FieldResult<Message> {
    let mut m = Message::empty();
    message_into(f, &mut m)?;
    Ok(m)
}

fn set(to: &mut String, s: &str) {
    to.clear();
    to.push_str(s);
}

fn set_opt(to: &mut Option<String>, s: Option<&str>) {
    match (to.as_mut(), s) {
        (_, None) => *to = None,
        (Some(t), Some(s)) => set(t, s),
        (None, Some(s)) => *to = Some(s.to_string()),
    }
}

/// Validates a message row into `m`, reusing the memory of its strings: reading millions of
/// rows then allocates almost nothing. On error `m` holds no meaningful row.
fn message_into<F: Fields + ?Sized>(f: &F, m: &mut Message) -> FieldResult<()> {
    set(&mut m.message_id, required(f, "message_id")?);
    m.created_at = instant(f, "created_at")?;
    let d = required(f, "direction")?;
    m.direction = if d.eq_ignore_ascii_case("in") {
        Direction::In
    } else if d.eq_ignore_ascii_case("out") {
        Direction::Out
    } else {
        return Err((f.col("direction"), format!("unknown direction `{d}` (expected `in` or `out`)")));
    };
    m.handle_seconds = match f.get("handle_seconds")? {
        None => None,
        Some(v) => match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Some(x),
            _ => {
                return Err((
                    f.col("handle_seconds"),
                    format!("`{v}` in column `handle_seconds` is not a number of seconds ≥ 0"),
                ))
            }
        },
    };
    set(&mut m.account, required(f, "account")?);
    set(&mut m.channel, required(f, "channel")?);
    m.channel.make_ascii_lowercase();
    set(&mut m.author_id, required(f, "author_id")?);
    set_opt(&mut m.conversation_id, f.get("conversation_id")?);
    set_opt(&mut m.reply_to, f.get("reply_to")?);
    set_opt(&mut m.customer_id, f.get("customer_id")?);
    set_opt(&mut m.text, f.raw("text")?);
    m.bot = opt_bool(f, "bot")?.unwrap_or(false);
    m.public = opt_bool(f, "public")?;
    set_opt(&mut m.kind, f.get("kind")?);
    if let Some(k) = &mut m.kind {
        k.make_ascii_lowercase();
    }
    m.in_scope = opt_bool(f, "in_scope")?;
    m.actionable = opt_bool(f, "actionable")?;
    set_opt(&mut m.team, f.get("team")?);
    m.derived = None;
    Ok(())
}

fn event_from(f: &dyn Fields) -> FieldResult<ConversationEvent> {
    let conversation_id = required(f, "conversation_id")?.to_string();
    let e = required(f, "event")?;
    let event = EventKind::parse(e).ok_or_else(|| {
        (
            f.col("event"),
            format!("unknown event `{e}` (expected opened, examined, resolved, reopened, complaint or escalated)"),
        )
    })?;
    Ok(ConversationEvent { conversation_id, event, at: instant(f, "at")?, agent_id: opt_string(f, "agent_id")? })
}

fn record_from(kind: Kind, f: &dyn Fields) -> FieldResult<(u64, Record)> {
    match kind {
        Kind::Messages => message_from(f).map(|m| (f.col("message_id"), Record::Message(m))),
        Kind::ConversationEvents => event_from(f).map(|e| (f.col("conversation_id"), Record::Event(e))),
        Kind::Surveys => survey_from(f).map(|x| (f.col("response_id"), Record::Survey(x))),
        Kind::SurveyInvitations => invitation_from(f).map(|x| (f.col("invitation_id"), Record::Invitation(x))),
        Kind::Contacts => contact_from(f).map(|x| (f.col("contact_id"), Record::Contact(x))),
        Kind::Posts => post_from(f).map(|x| (f.col("post_id"), Record::Post(x))),
        Kind::Customers => customer_from(f).map(|x| (f.col("customer_id"), Record::Customer(x))),
        Kind::Orders => order_from(f).map(|x| (f.col("order_id"), Record::Order(x))),
        Kind::Reviews => review_from(f).map(|x| (f.col("criterion"), Record::Review(x))),
        Kind::Probes => probe_from(f).map(|x| (f.col("probe_id"), Record::Probe(x))),
    }
}

fn probe_from(f: &dyn Fields) -> FieldResult<Probe> {
    let sent_at = instant(f, "sent_at")?;
    let answered_at = opt_instant(f, "answered_at")?;
    if answered_at.is_some_and(|a| a.ms < sent_at.ms) {
        return Err((f.col("answered_at"), "answered_at is before sent_at".into()));
    }
    let resolution = match f.get("resolution")? {
        None => None,
        Some(v) => Some(Resolution::parse(v).ok_or_else(|| {
            (f.col("resolution"), format!("unknown resolution `{v}` (expected complete, partial or none)"))
        })?),
    };
    Ok(Probe {
        probe_id: required(f, "probe_id")?.to_string(),
        campaign: required(f, "campaign")?.to_string(),
        brand: required(f, "brand")?.to_string(),
        channel: required(f, "channel")?.to_ascii_lowercase(),
        sent_at,
        answered_at,
        resolution,
        signed: opt_bool(f, "signed")?,
    })
}

fn review_from(f: &dyn Fields) -> FieldResult<Review> {
    let criterion = required(f, "criterion")?.to_ascii_lowercase();
    let score =
        number(f, "score")?.ok_or_else(|| (f.col("score"), "missing value for required column `score`".into()))?;
    if !(0.0..=100.0).contains(&score) {
        return Err((f.col("score"), format!("score {score} is outside 0–100")));
    }
    let at = instant(f, "at")?;
    let conversation_id = opt_string(f, "conversation_id")?;
    let reviewer = opt_string(f, "reviewer")?;
    let agent_id = opt_string(f, "agent_id")?;
    if conversation_id.is_none() && agent_id.is_none() {
        return Err((f.col("conversation_id"), "a review names a `conversation_id` or an `agent_id`".into()));
    }
    let key = match f.get("review_id")? {
        Some(k) => k.to_string(),
        None => format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            conversation_id.as_deref().unwrap_or(""),
            agent_id.as_deref().unwrap_or(""),
            reviewer.as_deref().unwrap_or(""),
            criterion,
            at.ms
        ),
    };
    Ok(Review { key, conversation_id, reviewer, agent_id, criterion, score, at })
}

/// A customer's or an order's date: any year (a bank's customer since 1965, a `9999-12-31` that
/// means "never"); these dates do not make calendar buckets, message instants do.
fn moment(f: &dyn Fields, name: &str) -> FieldResult<Option<Moment>> {
    match f.get(name)? {
        None => Ok(None),
        Some(v) => Moment::parse(v).map(Some).map_err(|e| (f.col(name), format!("column `{name}`: {e}"))),
    }
}

fn customer_from(f: &dyn Fields) -> FieldResult<Customer> {
    let since =
        moment(f, "since")?.ok_or_else(|| (f.col("since"), "missing value for required column `since`".into()))?;
    let churned_at = moment(f, "churned_at")?;
    if let (Moment::At(a), Some(Moment::At(b))) = (since, churned_at) {
        if b.ms < a.ms {
            return Err((f.col("churned_at"), "churned_at is before since".into()));
        }
    }
    if let (Moment::Day(a), Some(Moment::Day(b))) = (since, churned_at) {
        if b < a {
            return Err((f.col("churned_at"), "churned_at is before since".into()));
        }
    }
    Ok(Customer {
        customer_id: required(f, "customer_id")?.to_string(),
        account: required(f, "account")?.to_string(),
        since,
        churned_at,
        referred_by: opt_string(f, "referred_by")?,
    })
}

fn order_from(f: &dyn Fields) -> FieldResult<Order> {
    let ordered_at = moment(f, "ordered_at")?
        .ok_or_else(|| (f.col("ordered_at"), "missing value for required column `ordered_at`".into()))?;
    let amount =
        number(f, "amount")?.ok_or_else(|| (f.col("amount"), "missing value for required column `amount`".into()))?;
    let margin = number(f, "margin")?;
    if let Some(m) = margin {
        if !(0.0..=1.0).contains(&m) {
            return Err((f.col("margin"), format!("margin {m} is not a fraction between 0 and 1")));
        }
    }
    Ok(Order {
        order_id: required(f, "order_id")?.to_string(),
        customer_id: required(f, "customer_id")?.to_string(),
        ordered_at,
        amount,
        margin,
        currency: f.get("currency")?.map(str::to_ascii_uppercase),
    })
}

/// The largest count a row may carry (a million billion impressions, far above any real post):
/// sums over many rows then stay exact in 64 bits instead of wrapping around to a small figure.
pub const MAX_COUNT: u64 = 1_000_000_000_000_000;

fn count_of(f: &dyn Fields, name: &str) -> FieldResult<Option<u64>> {
    match f.get(name)? {
        None => Ok(None),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n <= MAX_COUNT => Ok(Some(n)),
            Ok(_) => {
                Err((f.col(name), format!("`{v}` in column `{name}` is above the largest count accepted (10^15)")))
            }
            Err(_) if !v.starts_with('-') && !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()) => {
                Err((f.col(name), format!("`{v}` in column `{name}` is above the largest count accepted (10^15)")))
            }
            Err(_) => Err((f.col(name), format!("`{v}` in column `{name}` is not a whole number ≥ 0"))),
        },
    }
}

fn post_from(f: &dyn Fields) -> FieldResult<Post> {
    let need = |name: &str| {
        count_of(f, name)?.ok_or_else(|| (f.col(name), format!("missing value for required column `{name}`")))
    };
    let engagements = match count_of(f, "engagements")? {
        Some(e) => e,
        None => {
            let parts = ["reactions", "comments", "shares", "clicks"];
            let mut any = false;
            let mut sum = 0u64;
            for p in parts {
                if let Some(x) = count_of(f, p)? {
                    any = true;
                    // Four parts of at most MAX_COUNT each: no overflow.
                    sum += x;
                }
            }
            if !any {
                let at = ["engagements", "reactions", "comments", "shares", "clicks"].into_iter().find(|c| f.has(c));
                return Err((
                    at.map_or(1, |c| f.col(c)),
                    "missing `engagements` (or its parts: reactions, comments, shares, clicks)".into(),
                ));
            }
            sum
        }
    };
    Ok(Post {
        post_id: required(f, "post_id")?.to_string(),
        account: required(f, "account")?.to_string(),
        channel: required(f, "channel")?.to_ascii_lowercase(),
        published_at: instant(f, "published_at")?,
        theme: opt_string(f, "theme")?,
        impressions: need("impressions")?,
        reach: need("reach")?,
        engagements,
    })
}

fn number(f: &dyn Fields, name: &str) -> FieldResult<Option<f64>> {
    match f.get(name)? {
        None => Ok(None),
        Some(v) => match v.replace(',', ".").parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            _ => Err((f.col(name), format!("`{v}` in column `{name}` is not a number"))),
        },
    }
}

fn opt_instant(f: &dyn Fields, name: &str) -> FieldResult<Option<Stamp>> {
    match f.get(name)? {
        None => Ok(None),
        Some(v) => parse_instant(v).map(Some).map_err(|e| (f.col(name), format!("column `{name}`: {e}"))),
    }
}

fn lower(f: &dyn Fields, name: &str) -> FieldResult<Option<String>> {
    Ok(f.get(name)?.map(str::to_ascii_lowercase))
}

/// A survey answer: a score needs its scale, inside which it must lie (never guessed); NPS is
/// asked on 0–10; an answer without a score must carry a category (`answer`).
fn survey_from(f: &dyn Fields) -> FieldResult<SurveyAnswer> {
    let response_id = required(f, "response_id")?.to_string();
    let survey = required(f, "survey")?.to_ascii_lowercase();
    let answered_at = instant(f, "answered_at")?;
    let score = number(f, "score")?;
    let (lo, hi) = (number(f, "scale_min")?, number(f, "scale_max")?);
    let answer = opt_string(f, "answer")?;
    if let Some(sc) = score {
        let (Some(lo), Some(hi)) = (lo, hi) else {
            let col = if lo.is_none() { "scale_min" } else { "scale_max" };
            return Err((
                f.col(col),
                format!("a score needs its scale: `{col}` is missing (the scale is never guessed)"),
            ));
        };
        if hi <= lo {
            return Err((f.col("scale_max"), format!("scale_max {hi} must be above scale_min {lo}")));
        }
        if sc < lo || sc > hi {
            return Err((f.col("score"), format!("score {sc} is outside its scale {lo}–{hi}")));
        }
        if survey == "nps" && (lo != 0.0 || hi != 10.0) {
            return Err((f.col("scale_min"), format!("an NPS answer is on a 0–10 scale, not {lo}–{hi}")));
        }
    } else if answer.is_none() {
        return Err((f.col("score"), "missing value: an answer needs a `score` or an `answer`".into()));
    }
    Ok(SurveyAnswer {
        response_id,
        survey,
        score,
        scale_min: lo,
        scale_max: hi,
        answered_at,
        conversation_id: opt_string(f, "conversation_id")?,
        agent_id: opt_string(f, "agent_id")?,
        channel: lower(f, "channel")?,
        account: opt_string(f, "account")?,
        customer_id: opt_string(f, "customer_id")?,
        comment: f.raw("comment")?.map(str::to_string),
        answer,
    })
}

fn invitation_from(f: &dyn Fields) -> FieldResult<SurveyInvitation> {
    Ok(SurveyInvitation {
        invitation_id: required(f, "invitation_id")?.to_string(),
        survey: required(f, "survey")?.to_ascii_lowercase(),
        sent_at: instant(f, "sent_at")?,
        channel: lower(f, "channel")?,
        account: opt_string(f, "account")?,
        theme: opt_string(f, "theme")?,
        customer_id: opt_string(f, "customer_id")?,
    })
}

/// A queued contact: answered after it was queued, ended after it was answered.
fn contact_from(f: &dyn Fields) -> FieldResult<Contact> {
    let queued_at = instant(f, "queued_at")?;
    let answered_at = opt_instant(f, "answered_at")?;
    let ended_at = opt_instant(f, "ended_at")?;
    if let Some(a) = answered_at {
        if a.ms < queued_at.ms {
            return Err((f.col("answered_at"), "answered_at is before queued_at".into()));
        }
    }
    if let Some(e) = ended_at {
        if e.ms < answered_at.unwrap_or(queued_at).ms {
            return Err((f.col("ended_at"), "ended_at is before the contact was answered (or queued)".into()));
        }
    }
    Ok(Contact {
        contact_id: required(f, "contact_id")?.to_string(),
        channel: required(f, "channel")?.to_ascii_lowercase(),
        account: required(f, "account")?.to_string(),
        queued_at,
        answered_at,
        ended_at,
        agent_id: opt_string(f, "agent_id")?,
    })
}

/// Wraps a byte stream and remembers where lines break, so that a row's line is right whatever
/// the line ends (`\n`, `\r\n`, or a lone `\r` as old Mac exports write).
pub struct LineCounter<R> {
    inner: R,
    pos: u64,
    prev_cr: bool,
    breaks: VecDeque<u64>,
    lines_before: u64,
    /// Only `\n` breaks a line (a file whose rows end in `\n` and whose texts hold bare CRs).
    lf_only: bool,
    /// Where the last whole row ended ([`LineCounter::mark`]): reading more than
    /// [`MAX_ROW_BYTES`] past it is refused.
    mark: u64,
}

/// The longest row a reader takes: past it (a quote never closed makes the rest of a file one
/// row) reading stops with an error instead of holding the rest of the file in memory.
pub const MAX_ROW_BYTES: u64 = 64 << 20;

impl<R: Read> LineCounter<R> {
    pub fn new(inner: R) -> Self {
        LineCounter { inner, pos: 0, prev_cr: false, breaks: VecDeque::new(), lines_before: 0, lf_only: false, mark: 0 }
    }

    /// A whole row was read up to here.
    pub fn mark(&mut self) {
        self.mark = self.pos;
    }

    /// Counts `\n` only: a lone `\r` inside a row is a character of its text, not a line.
    fn lf_only(inner: R) -> Self {
        LineCounter { lf_only: true, ..LineCounter::new(inner) }
    }

    /// The 1-based line holding byte `offset`. Offsets must be asked in increasing order.
    pub fn line_of(&mut self, offset: u64) -> u64 {
        while let Some(&b) = self.breaks.front() {
            if b < offset {
                self.breaks.pop_front();
                self.lines_before += 1;
            } else {
                break;
            }
        }
        self.lines_before + 1
    }

    pub fn bytes_read(&self) -> u64 {
        self.pos
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos - self.mark > MAX_ROW_BYTES {
            return Err(io::Error::other(format!(
                "a row runs past {} MiB (a quote never closed?)",
                MAX_ROW_BYTES >> 20
            )));
        }
        let n = self.inner.read(buf)?;
        let data = &buf[..n];
        for i in memchr::memchr2_iter(b'\r', b'\n', data) {
            let at = self.pos + i as u64;
            // `\r\n` is one break: the `\n` right after a `\r` is not counted again.
            let after_cr = if i == 0 { self.prev_cr } else { data[i - 1] == b'\r' };
            if self.lf_only {
                if data[i] == b'\n' {
                    self.breaks.push_back(at);
                }
            } else if data[i] == b'\r' || !after_cr {
                self.breaks.push_back(at);
            }
        }
        if n > 0 {
            self.prev_cr = data[n - 1] == b'\r';
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Every column name the formats know: looked up by position, not hashed, on every row.
const KNOWN: [&str; 24] = [
    "message_id",
    "created_at",
    "direction",
    "account",
    "channel",
    "author_id",
    "conversation_id",
    "reply_to",
    "customer_id",
    "text",
    "bot",
    "public",
    "kind",
    "in_scope",
    "actionable",
    "handle_seconds",
    "team",
    "event",
    "at",
    "agent_id",
    "tweet_id",
    "inbound",
    "response_tweet_id",
    "in_response_to_tweet_id",
];

#[inline(always)]
fn known_slot(name: &str) -> Option<usize> {
    // A match compiles to a switch on length and a few comparisons: this runs for every field
    // of every row. The test below keeps it in step with KNOWN.
    Some(match name {
        "message_id" => 0,
        "created_at" => 1,
        "direction" => 2,
        "account" => 3,
        "channel" => 4,
        "author_id" => 5,
        "conversation_id" => 6,
        "reply_to" => 7,
        "customer_id" => 8,
        "text" => 9,
        "bot" => 10,
        "public" => 11,
        "kind" => 12,
        "in_scope" => 13,
        "actionable" => 14,
        "handle_seconds" => 15,
        "team" => 16,
        "event" => 17,
        "at" => 18,
        "agent_id" => 19,
        "tweet_id" => 20,
        "inbound" => 21,
        "response_tweet_id" => 22,
        "in_response_to_tweet_id" => 23,
        _ => return None,
    })
}

/// A CSV header: column positions by name.
struct Header {
    map: HashMap<String, usize>,
    slots: [Option<usize>; KNOWN.len()],
}

impl Header {
    fn new(map: HashMap<String, usize>) -> Header {
        let mut slots = [None; KNOWN.len()];
        for (k, name) in KNOWN.iter().enumerate() {
            slots[k] = map.get(*name).copied();
        }
        Header { map, slots }
    }
    // Always inlined: with the name a constant, the lookup folds to one array read.
    #[inline(always)]
    fn get(&self, name: &str) -> Option<usize> {
        match known_slot(name) {
            Some(k) => self.slots[k],
            None => self.map.get(name).copied(),
        }
    }
}

struct CsvFields<'a> {
    header: &'a Header,
    rec: &'a csv::ByteRecord,
    /// The row's bytes, when valid UTF-8 as a whole: checked once, not cell by cell.
    whole: Option<&'a str>,
}

impl<'a> CsvFields<'a> {
    fn new(header: &'a Header, rec: &'a csv::ByteRecord) -> Self {
        CsvFields { header, rec, whole: std::str::from_utf8(rec.as_slice()).ok() }
    }
}

impl Fields for CsvFields<'_> {
    #[inline(always)]
    fn raw(&self, name: &str) -> FieldResult<Option<&str>> {
        let Some(i) = self.header.get(name) else { return Ok(None) };
        // A cell of a row that is valid UTF-8 as a whole is a slice of it, unless the cell cuts a
        // character (then it is not valid on its own, and said so below).
        if let Some(s) = self.whole.and_then(|w| w.get(self.rec.range(i)?)) {
            return Ok(Some(s).filter(|s| !trim(s).is_empty()));
        }
        let Some(b) = self.rec.get(i) else { return Ok(None) };
        match std::str::from_utf8(b) {
            Ok(s) if trim(s).is_empty() => Ok(None),
            Ok(s) => Ok(Some(s)),
            Err(e) => Err((
                i as u64 + 1,
                format!("column `{name}` is not valid UTF-8 (bad byte at offset {} of the cell)", e.valid_up_to()),
            )),
        }
    }
    #[inline(always)]
    fn get(&self, name: &str) -> FieldResult<Option<&str>> {
        Ok(self.raw(name)?.map(trim))
    }
    fn col(&self, name: &str) -> u64 {
        self.header.get(name).map_or(1, |i| i as u64 + 1)
    }
    fn has(&self, name: &str) -> bool {
        self.header.get(name).is_some()
    }
}

/// Reads a CSV file's header, checking that the required columns are there.
fn csv_header<R: Read>(
    rdr: &mut csv::Reader<LineCounter<R>>,
    file: &str,
    required: &[&str],
) -> Result<(Header, usize), RowError> {
    let err = |column, reason| RowError { file: file.to_string(), line: 1, column, reason };
    let h = rdr.byte_headers().map_err(|e| err(1, format!("cannot read the header row: {e}")))?.clone();
    if h.iter().all(<[u8]>::is_empty) {
        return Err(err(1, "the file is empty: no header row".into()));
    }
    let mut map = HashMap::default();
    for (i, name) in h.iter().enumerate() {
        let name = std::str::from_utf8(name)
            .map_err(|_| {
                err(
                    i as u64 + 1,
                    "header is not valid UTF-8 (an export in Windows-1252, as Excel writes in France? save it as CSV UTF-8)"
                        .into(),
                )
            })?
            .trim_start_matches('\u{feff}')
            .trim()
            .to_ascii_lowercase();
        map.entry(name).or_insert(i);
    }
    let missing: Vec<&str> = required.iter().copied().filter(|r| !map.contains_key(*r)).collect();
    if !missing.is_empty() {
        let found: Vec<String> = h.iter().map(|c| String::from_utf8_lossy(c).trim().to_string()).collect();
        return Err(err(h.len() as u64 + 1, header_problem(&missing, &found)));
    }
    Ok((Header::new(map), h.len()))
}

/// A header problem said once, whole: every missing column, the columns found, the closest name
/// for each, and the separator when the header reads as one column.
fn header_problem(missing: &[&str], found: &[String]) -> String {
    let list = |v: &[&str]| v.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
    let mut s = if missing.len() == 1 {
        format!("missing required column {} in the header", list(missing))
    } else {
        format!("missing required columns {} in the header", list(missing))
    };
    if let [one] = found {
        if let Some(sep) = [';', '\t', '|'].into_iter().find(|c| one.contains(*c)) {
            let shown = if sep == '\t' { "a tab".to_string() } else { format!("`{sep}`") };
            s.push_str(&format!(" — the header reads as one column: the separator looks like {shown}, not `,`"));
            return s;
        }
    }
    let shown: Vec<&str> = found.iter().map(String::as_str).filter(|c| !c.is_empty()).collect();
    s.push_str(&format!(" (found: {})", list(&shown)));
    let hints: Vec<String> =
        missing.iter().filter_map(|m| closest(m, &shown).map(|c| format!("`{c}` for `{m}`?"))).collect();
    if !hints.is_empty() {
        s.push_str(&format!("; closest: {}", hints.join(", ")));
    }
    s
}

/// The found column most like a wanted one: a usual other name for it (French or English
/// exports), else one a few letters away.
fn closest<'a>(wanted: &str, found: &[&'a str]) -> Option<&'a str> {
    const ALSO: &[(&str, &[&str])] = &[
        ("message_id", &["id", "message", "msg_id", "tweet_id", "identifiant"]),
        ("created_at", &["date", "created", "timestamp", "time", "horodatage", "date_heure", "datetime"]),
        ("direction", &["sens", "type", "in_out", "inbound", "entrant"]),
        ("account", &["compte", "page", "brand", "marque", "company", "entreprise"]),
        ("channel", &["canal", "source", "medium", "réseau", "reseau"]),
        ("author_id", &["auteur", "author", "from", "user", "utilisateur", "sender", "expediteur"]),
        ("conversation_id", &["conversation", "thread", "thread_id", "ticket", "ticket_id", "fil"]),
        ("text", &["message", "body", "contenu", "texte", "content"]),
    ];
    let norm = |s: &str| s.trim().to_lowercase().replace([' ', '-'], "_");
    if let Some((_, names)) = ALSO.iter().find(|(w, _)| *w == wanted) {
        if let Some(c) = found.iter().find(|c| names.contains(&norm(c).as_str())) {
            return Some(c);
        }
    }
    found
        .iter()
        .map(|c| (edit_distance(&norm(c), wanted), *c))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// Levenshtein distance (header names are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn csv_reader<R: Read>(r: R) -> csv::Reader<LineCounter<R>> {
    csv_reader_with(r, b',')
}

fn csv_reader_with<R: Read>(r: R, delimiter: u8) -> csv::Reader<LineCounter<R>> {
    csv::ReaderBuilder::new().flexible(true).has_headers(true).delimiter(delimiter).from_reader(LineCounter::new(r))
}

/// The separator of a CSV file from its first bytes: of `,` `;` tab and `|`, the one its header
/// line holds most often outside quotes (a French Excel export writes `;`); `,` when none.
pub fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; 4];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                if let Some(k) = [b',', b';', b'\t', b'|'].iter().position(|c| *c == b) {
                    counts[k] += 1;
                }
            }
            _ => {}
        }
    }
    // Ties go to the comma, the format's own.
    let best = (0..4).max_by_key(|&k| (counts[k], k == 0)).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        [b',', b';', b'\t', b'|'][best]
    }
}

/// How a separator is named in messages.
pub fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        c => format!("`{}`", c as char),
    }
}

/// A CSV row that could not be read as one.
struct BadRow {
    line: u64,
    column: u64,
    reason: String,
    /// Nothing more can be read from the file.
    last: bool,
}

/// The next row of a CSV file: its line and fields, or why it is not a row.
fn next_csv<'a, R: Read>(
    rdr: &mut csv::Reader<LineCounter<R>>,
    header: &'a Header,
    width: usize,
    rec: &'a mut csv::ByteRecord,
) -> Option<Result<(u64, CsvFields<'a>), BadRow>> {
    match rdr.read_byte_record(rec) {
        Ok(false) => None,
        Err(e) => {
            let off = e.position().map_or(rdr.get_ref().bytes_read(), |p| p.byte());
            let line = rdr.get_mut().line_of(off);
            Some(Err(BadRow {
                line,
                column: 1,
                reason: format!("unreadable CSV, reading stops here: {e}"),
                last: true,
            }))
        }
        Ok(true) => {
            rdr.get_mut().mark();
            let off = rec.position().map_or(0, |p| p.byte());
            let line = rdr.get_mut().line_of(off);
            if rec.len() != width {
                let column = rec.len().min(width) as u64 + 1;
                let reason = format!("row has {} fields, the header has {}", rec.len(), width);
                return Some(Err(BadRow { line, column, reason, last: false }));
            }
            Some(Ok((line, CsvFields::new(header, rec))))
        }
    }
}

/// Streams validated records out of one file.
pub struct RecordReader<R: Read> {
    file: Arc<str>,
    kind: Kind,
    inner: Inner<R>,
    /// Set when the file itself is unreadable (bad header): every row is then lost.
    pub fatal: Option<RowError>,
}

// One reader per file: the size of the CSV variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Inner<R: Read> {
    Csv { rdr: csv::Reader<LineCounter<R>>, header: Header, width: usize, rec: csv::ByteRecord },
    Jsonl { lines: LineReader<R> },
    Twcs(Box<TwcsReader<R>>),
    Done,
}

impl<R: Read> RecordReader<R> {
    /// Opens `r` (named `file` in errors). For [`Format::Twcs`] use [`RecordReader::twcs`].
    pub fn new(file: &str, kind: Kind, format: Format, r: R) -> Self {
        Self::with_delimiter(file, kind, format, r, b',')
    }

    /// [`RecordReader::new`] for a CSV file whose separator is `delimiter` (see
    /// [`sniff_delimiter`]).
    pub fn with_delimiter(file: &str, kind: Kind, format: Format, r: R, delimiter: u8) -> Self {
        let mut me = RecordReader { file: Arc::from(file), kind, inner: Inner::Done, fatal: None };
        match format {
            Format::Csv | Format::Twcs => {
                let mut rdr = csv_reader_with(r, delimiter);
                match csv_header(&mut rdr, file, kind.required()) {
                    Ok((header, width)) => me.inner = Inner::Csv { rdr, header, width, rec: csv::ByteRecord::new() },
                    Err(e) => me.fatal = Some(e),
                }
            }
            Format::Jsonl => me.inner = Inner::Jsonl { lines: LineReader::new(r) },
        }
        me
    }

    /// The Twitter layout needs two reads of the file: `first` builds the thread index,
    /// `second` yields the messages.
    pub fn twcs(file: &str, first: R, second: R) -> Self {
        let mut me = RecordReader { file: Arc::from(file), kind: Kind::Messages, inner: Inner::Done, fatal: None };
        match TwcsReader::new(file, first, second) {
            Ok(t) => me.inner = Inner::Twcs(Box::new(t)),
            Err(e) => me.fatal = Some(e),
        }
        me
    }

    /// Where the next row starts: a CSV file's byte offset, after the rows read so far (`None`
    /// for other layouts, or once reading has stopped).
    pub fn position(&self) -> Option<u64> {
        match &self.inner {
            Inner::Csv { rdr, .. } => Some(rdr.position().byte()),
            _ => None,
        }
    }

    /// Line breaks before byte `offset` of a CSV file (0 for other layouts), once the rows
    /// before it were read; offsets are asked in increasing order.
    pub fn line_breaks_before(&mut self, offset: u64) -> u64 {
        match &mut self.inner {
            Inner::Csv { rdr, .. } => rdr.get_mut().line_of(offset) - 1,
            _ => 0,
        }
    }

    /// Bytes consumed so far, for a progress bar.
    pub fn bytes_read(&self) -> u64 {
        match &self.inner {
            Inner::Csv { rdr, .. } => rdr.get_ref().bytes_read(),
            Inner::Jsonl { lines } => lines.pos,
            Inner::Twcs(t) => t.rdr.get_ref().bytes_read(),
            Inner::Done => 0,
        }
    }
}

impl<R: Read> RecordReader<R> {
    /// The next row of a messages file, validated into `m` (whose strings' memory is reused):
    /// `(line, column of the id)`, or the row's error. Same rows and errors as the iterator.
    pub fn next_message(&mut self, m: &mut Message) -> Option<Result<(u64, u64), RowError>> {
        let Inner::Csv { rdr, header, width, rec } = &mut self.inner else {
            return self.next().map(|r| {
                r.and_then(|l| match l.record {
                    Record::Message(x) => {
                        *m = x;
                        Ok((l.line, l.id_column))
                    }
                    _ => Err(l.error("not a message".into())),
                })
            });
        };
        if self.kind != Kind::Messages {
            return self.next().map(|r| r.and_then(|l| Err(l.error("not a message".into()))));
        }
        let err = |line, column, reason| RowError { file: self.file.to_string(), line, column, reason };
        match next_csv(rdr, header, *width, rec)? {
            Ok((line, f)) => Some(match message_into(&f, m) {
                Ok(()) => Ok((line, f.col("message_id"))),
                Err((c, r)) => Err(err(line, c, r)),
            }),
            Err(bad) => {
                if bad.last {
                    self.inner = Inner::Done;
                }
                Some(Err(err(bad.line, bad.column, bad.reason)))
            }
        }
    }

    /// The file's name, as errors give it.
    pub fn file(&self) -> &Arc<str> {
        &self.file
    }
}

impl<R: Read> Iterator for RecordReader<R> {
    type Item = Result<Located, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let file = self.file.clone();
        let err = |line, column, reason| RowError { file: file.to_string(), line, column, reason };
        let ok = |line, (id_column, record)| Located { file: file.clone(), line, id_column, record };
        match &mut self.inner {
            Inner::Done => None,
            Inner::Csv { rdr, header, width, rec } => match next_csv(rdr, header, *width, rec)? {
                Ok((line, f)) => {
                    Some(record_from(self.kind, &f).map(|x| ok(line, x)).map_err(|(c, r)| err(line, c, r)))
                }
                Err(bad) => {
                    if bad.last {
                        self.inner = Inner::Done;
                    }
                    Some(Err(err(bad.line, bad.column, bad.reason)))
                }
            },
            Inner::Jsonl { lines } => loop {
                let (line, bytes) = match lines.next_line() {
                    Ok(None) => return None,
                    Ok(Some(x)) => x,
                    Err(e) => {
                        let line = lines.line;
                        self.inner = Inner::Done;
                        return Some(Err(err(line, 1, format!("cannot read: {e}"))));
                    }
                };
                let text = match std::str::from_utf8(&bytes) {
                    Ok(t) => t,
                    Err(e) => {
                        let col = String::from_utf8_lossy(&bytes[..e.valid_up_to()]).chars().count() as u64 + 1;
                        return Some(Err(err(line, col, "line is not valid UTF-8".into())));
                    }
                };
                if text.trim().is_empty() {
                    continue;
                }
                return Some(match JsonFields::parse(text) {
                    Ok(f) => record_from(self.kind, &f).map(|x| ok(line, x)).map_err(|(c, r)| err(line, c, r)),
                    Err((c, r)) => Err(err(line, c, r)),
                });
            },
            Inner::Twcs(t) => t.next().map(|r| r.map(|(line, m)| ok(line, (1, Record::Message(m))))),
        }
    }
}

/// Splits a byte stream into lines at `\n`, `\r\n` or a lone `\r`.
struct LineReader<R> {
    r: BufReader<R>,
    pos: u64,
    line: u64,
    pending_lf_skip: bool,
}

impl<R: Read> LineReader<R> {
    fn new(r: R) -> Self {
        LineReader { r: BufReader::with_capacity(1 << 16, r), pos: 0, line: 0, pending_lf_skip: false }
    }

    fn next_line(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        let line = self.next_raw_line()?;
        // A UTF-8 byte-order mark (Windows tools write one) is not part of the first row.
        Ok(line.map(|(n, mut l)| {
            if n == 1 && l.starts_with(b"\xEF\xBB\xBF") {
                l.drain(..3);
            }
            (n, l)
        }))
    }

    fn next_raw_line(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        let mut out = Vec::new();
        loop {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                if out.is_empty() {
                    return Ok(None);
                }
                self.line += 1;
                return Ok(Some((self.line, out)));
            }
            let mut i = 0;
            if self.pending_lf_skip {
                self.pending_lf_skip = false;
                if buf[0] == b'\n' {
                    i = 1;
                }
            }
            let start = i;
            while i < buf.len() && buf[i] != b'\n' && buf[i] != b'\r' {
                i += 1;
            }
            out.extend_from_slice(&buf[start..i]);
            if out.len() as u64 > MAX_ROW_BYTES {
                return Err(io::Error::other(format!("a line runs past {} MiB", MAX_ROW_BYTES >> 20)));
            }
            if i < buf.len() {
                self.pending_lf_skip = buf[i] == b'\r';
                self.r.consume(i + 1);
                self.pos += (i + 1) as u64;
                self.line += 1;
                return Ok(Some((self.line, out)));
            }
            self.r.consume(i);
            self.pos += i as u64;
        }
    }
}

struct JsonFields {
    values: HashMap<String, (String, u64)>,
}

impl JsonFields {
    fn parse(text: &str) -> FieldResult<JsonFields> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| (e.column() as u64, format!("invalid JSON: {e}")))?;
        let serde_json::Value::Object(map) = v else {
            return Err((1, "a JSON Lines row must be an object".into()));
        };
        let mut values = HashMap::default();
        for (k, v) in map {
            let col = text.find(&format!("\"{k}\"")).map_or(1, |b| text[..b].chars().count() as u64 + 1);
            let s = match v {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => s,
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
                serde_json::Value::Object(_) => return Err((col, format!("field `{k}` must not be an object"))),
            };
            values.insert(k.to_ascii_lowercase(), (s, col));
        }
        Ok(JsonFields { values })
    }
}

impl Fields for JsonFields {
    fn raw(&self, name: &str) -> FieldResult<Option<&str>> {
        Ok(self.values.get(name).map(|(s, _)| s.as_str()).filter(|s| !s.trim().is_empty()))
    }
    fn get(&self, name: &str) -> FieldResult<Option<&str>> {
        Ok(self.raw(name)?.map(str::trim))
    }
    fn col(&self, name: &str) -> u64 {
        self.values.get(name).map_or(1, |(_, c)| *c)
    }
    fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
}

const TWCS_COLUMNS: &[&str] =
    &["tweet_id", "author_id", "inbound", "created_at", "text", "response_tweet_id", "in_response_to_tweet_id"];

/// The *Customer Support on Twitter* layout, as the public file and its copies really are: a
/// leading unnamed index column (pandas' `to_csv`), parent ids written as floats (`3.0`: pandas
/// stores a column with gaps as floats), `TRUE`/`FALSE` from a spreadsheet's re-save, bare CRs
/// inside texts. Company accounts are the non-inbound authors; an inbound tweet belongs to the
/// company of its thread (the earliest company tweet under the same root), else to the first
/// @mention naming a company.
struct TwcsReader<R: Read> {
    file: String,
    rdr: csv::Reader<LineCounter<R>>,
    header: Header,
    width: usize,
    rec: csv::ByteRecord,
    /// Thread root of every tweet that answers another (the others are their own root).
    root: HashMap<String, String>,
    /// thread root → (time, company) of its earliest company tweet.
    thread_company: HashMap<String, (i64, String)>,
    /// lower-cased company handle → handle as written.
    companies: HashMap<String, String>,
}

/// A stream whose first bytes were read ahead, put back in front.
type Peeked<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// Whether rows end in `\n`: then a lone `\r` is part of a text (the public file has some), not
/// a row end. A file without any `\n` in its first 64 KiB ends its rows in bare CRs.
fn rows_end_in_lf<R: Read>(r: R) -> io::Result<(bool, Peeked<R>)> {
    let mut head = Vec::with_capacity(1 << 16);
    let mut r = r;
    (&mut r).take(1 << 16).read_to_end(&mut head)?;
    let lf = head.contains(&b'\n');
    Ok((lf, io::Cursor::new(head).chain(r)))
}

fn twcs_reader<R: Read>(r: R, lf: bool) -> csv::Reader<LineCounter<R>> {
    if !lf {
        return csv_reader(r);
    }
    csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(LineCounter::lf_only(r))
}

/// An id as written by a tool that stored it as a number: `3.0` or `1.19237e+05` is the id `3` or
/// `119237`. Anything else (a handle, an id with a real fraction) is kept as it is.
pub fn integral_id(s: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() || b.iter().all(u8::is_ascii_digit) {
        return Cow::Borrowed(s);
    }
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => match s[i + 1..].trim_start_matches('+').parse::<usize>() {
            Ok(e) if e <= 30 => (&s[..i], e),
            _ => return Cow::Borrowed(s),
        },
        None => (s, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() || !int.bytes().all(|c| c.is_ascii_digit()) || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return Cow::Borrowed(s);
    }
    // Shift the point `exp` places right; what stays after it must be zeros.
    let mut digits = String::with_capacity(int.len() + exp);
    digits.push_str(int);
    let moved = frac.len().min(exp);
    digits.push_str(&frac[..moved]);
    if !frac[moved..].bytes().all(|c| c == b'0') {
        return Cow::Borrowed(s);
    }
    for _ in moved..exp {
        digits.push('0');
    }
    let t = digits.trim_start_matches('0');
    Cow::Owned(if t.is_empty() { "0".to_string() } else { t.to_string() })
}

/// Every tweet's thread root, in time linear in the tweets (each chain walked once, roots
/// remembered): a 40,000-tweet reply chain costs what 40,000 separate tweets do. A cycle's root
/// is its smallest id, whichever tweet it is entered from.
fn thread_roots(parent: &HashMap<String, String>) -> HashMap<String, String> {
    thread_roots_counted(parent).0
}

/// [`thread_roots`] and how many steps up a chain it took (a test bounds them by the tweets).
fn thread_roots_counted(parent: &HashMap<String, String>) -> (HashMap<String, String>, usize) {
    let mut steps = 0usize;
    let mut root: HashMap<String, String> = HashMap::default();
    let mut path: Vec<&str> = Vec::new();
    let mut on_path: HashMap<&str, usize> = HashMap::default();
    for start in parent.keys() {
        if root.contains_key(start.as_str()) {
            continue;
        }
        // Emptied by removing the last walk's entries: `clear` would cost the map's whole
        // capacity (the longest chain's) for every walk after it.
        for t in &path {
            on_path.remove(t);
        }
        path.clear();
        let mut cur: &str = start;
        let found: String = loop {
            if let Some(r) = root.get(cur) {
                break r.clone();
            }
            if let Some(&at) = on_path.get(cur) {
                // A cycle: every tweet on it shares one root, its smallest id.
                break path[at..].iter().min().map_or_else(|| cur.to_string(), |m| m.to_string());
            }
            steps += 1;
            match parent.get(cur) {
                Some(p) if p != cur => {
                    on_path.insert(cur, path.len());
                    path.push(cur);
                    cur = p;
                }
                _ => break cur.to_string(),
            }
        };
        for t in &path {
            root.insert(t.to_string(), found.clone());
        }
    }
    (root, steps)
}

impl<R: Read> TwcsReader<R> {
    fn new(file: &str, first: R, second: R) -> Result<Self, RowError> {
        let unreadable =
            |e: io::Error| RowError { file: file.to_string(), line: 1, column: 1, reason: format!("cannot read: {e}") };
        let (lf, first) = rows_end_in_lf(first).map_err(unreadable)?;
        let mut rdr = twcs_reader(first, lf);
        let (header, width) = csv_header(&mut rdr, file, TWCS_COLUMNS)?;
        let mut rec = csv::ByteRecord::new();
        let mut parent = HashMap::default();
        let mut company_tweets: Vec<(String, i64, String)> = Vec::new();
        let mut companies = HashMap::default();
        while let Ok(true) = rdr.read_byte_record(&mut rec) {
            rdr.get_mut().mark();
            if rec.len() != width {
                continue;
            }
            let f = CsvFields::new(&header, &rec);
            let (Ok(Some(id)), Ok(Some(inbound))) = (f.get("tweet_id"), f.get("inbound")) else { continue };
            let id = integral_id(id);
            if let Ok(Some(p)) = f.get("in_response_to_tweet_id") {
                parent.insert(id.to_string(), integral_id(p).into_owned());
            }
            if parse_bool(inbound) == Some(false) {
                if let (Ok(Some(a)), Ok(Some(t))) = (f.get("author_id"), f.get("created_at")) {
                    let ms = parse_twitter_date(t).map_or(i64::MAX, |s| s.ms);
                    companies.insert(a.to_ascii_lowercase(), a.to_string());
                    company_tweets.push((id.into_owned(), ms, a.to_string()));
                }
            }
        }
        let root = thread_roots(&parent);
        drop(parent);
        let mut thread_company: HashMap<String, (i64, String)> = HashMap::default();
        for (id, ms, author) in company_tweets {
            let r = root.get(&id).cloned().unwrap_or(id);
            let e = thread_company.entry(r).or_insert((ms, author.clone()));
            if (ms, &author) < (e.0, &e.1) {
                *e = (ms, author);
            }
        }
        let mut rdr2 = twcs_reader(second, lf);
        let (header, width) = csv_header(&mut rdr2, file, TWCS_COLUMNS)?;
        Ok(TwcsReader { file: file.to_string(), rdr: rdr2, header, width, rec, root, thread_company, companies })
    }

    fn next(&mut self) -> Option<Result<(u64, Message), RowError>> {
        match self.rdr.read_byte_record(&mut self.rec) {
            Ok(false) => None,
            Err(e) => {
                let at = self.rdr.get_ref().bytes_read();
                let line = self.rdr.get_mut().line_of(at);
                Some(Err(RowError { file: self.file.clone(), line, column: 1, reason: format!("unreadable CSV: {e}") }))
            }
            Ok(true) => {
                self.rdr.get_mut().mark();
                let off = self.rec.position().map_or(0, |p| p.byte());
                let line = self.rdr.get_mut().line_of(off);
                let err = |(column, reason)| RowError { file: self.file.clone(), line, column, reason };
                // A blank CRLF line read with LF as the row end: one cell holding a CR.
                if self.rec.len() == 1 && self.rec.get(0).is_some_and(|c| c.iter().all(u8::is_ascii_whitespace)) {
                    return self.next();
                }
                if self.rec.len() != self.width {
                    let col = self.rec.len().min(self.width) as u64 + 1;
                    return Some(Err(err((
                        col,
                        format!("row has {} fields, the header has {}", self.rec.len(), self.width),
                    ))));
                }
                let f = CsvFields::new(&self.header, &self.rec);
                Some(self.message(&f).map(|m| (line, m)).map_err(err))
            }
        }
    }

    /// The handle a tweet opens with (`@115712 …`), unless it is a company's.
    fn opening_customer(&self, text: &str) -> Option<String> {
        let h = handle(text.trim_start().strip_prefix('@')?);
        (!h.is_empty() && !self.companies.contains_key(&h.to_ascii_lowercase())).then(|| h.to_string())
    }

    fn message(&self, f: &dyn Fields) -> FieldResult<Message> {
        let id = integral_id(required(f, "tweet_id")?).into_owned();
        // Authors are handles or anonymised numbers written as text: read as they are (a handle
        // `1e5` is not 100000).
        let author = required(f, "author_id")?.to_string();
        let inbound_s = required(f, "inbound")?;
        let inbound = parse_bool(inbound_s)
            .ok_or_else(|| (f.col("inbound"), format!("`{inbound_s}` in column `inbound` is not True or False")))?;
        let created = required(f, "created_at")?;
        let created_at = parse_twitter_date(created).map_err(|e| (f.col("created_at"), e))?;
        // A CRLF file read with `\n` as the row end leaves the CR on the row's last cell.
        let text =
            f.raw("text")?.map(|t| t.strip_suffix('\r').unwrap_or(t).to_string()).filter(|t| !t.trim().is_empty());
        let reply_to = f.get("in_response_to_tweet_id")?.map(|p| integral_id(p).into_owned());
        let account = if !inbound {
            author.clone()
        } else if let Some((_, c)) = self.thread_company.get(self.root.get(&id).unwrap_or(&id)) {
            c.clone()
        } else {
            text.as_deref()
                .and_then(|t| first_company_mention(t, &self.companies))
                .unwrap_or_else(|| "(unknown)".to_string())
        };
        Ok(Message {
            message_id: id,
            created_at,
            direction: if inbound { Direction::In } else { Direction::Out },
            account,
            channel: "twitter".into(),
            // A company tweet that replies to nothing in the file names its customer by the
            // @mention it opens with: it then joins that customer's conversation instead of
            // standing alone.
            customer_id: if inbound {
                Some(author.clone())
            } else if reply_to.is_none() {
                text.as_deref().and_then(|t| self.opening_customer(t))
            } else {
                None
            },
            author_id: author,
            reply_to,
            text,
            public: Some(true),
            ..Message::empty()
        })
    }
}

/// The handle at the start of `rest`, the text right after an `@`.
fn handle(rest: &str) -> &str {
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
    &rest[..end]
}

fn first_company_mention(text: &str, companies: &HashMap<String, String>) -> Option<String> {
    text.split('@').skip(1).find_map(|rest| companies.get(&handle(rest).to_ascii_lowercase()).cloned())
}

#[cfg(test)]
mod tests;
