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
use crate::time::{parse_twitter_date, DateRule, Stamp};
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
    /// Every kind, in the order summaries list them.
    pub const ALL: [Kind; 10] = [
        Kind::Messages,
        Kind::ConversationEvents,
        Kind::Surveys,
        Kind::SurveyInvitations,
        Kind::Contacts,
        Kind::Posts,
        Kind::Customers,
        Kind::Orders,
        Kind::Reviews,
        Kind::Probes,
    ];

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
    /// The column that identifies a row, when a file without it may have ids derived from each
    /// row's content (customers are named by other files' rows: their ids are never made up).
    pub fn id_field(self) -> Option<&'static str> {
        match self {
            Kind::Messages => Some("message_id"),
            Kind::Surveys => Some("response_id"),
            Kind::SurveyInvitations => Some("invitation_id"),
            Kind::Contacts => Some("contact_id"),
            Kind::Posts => Some("post_id"),
            Kind::Orders => Some("order_id"),
            Kind::Probes => Some("probe_id"),
            Kind::ConversationEvents | Kind::Customers | Kind::Reviews => None,
        }
    }

    /// The column holding a row's instant (the one whose layout is recognised).
    pub fn instant_field(self) -> &'static str {
        match self {
            Kind::Messages => "created_at",
            Kind::ConversationEvents | Kind::Reviews => "at",
            Kind::Surveys => "answered_at",
            Kind::SurveyInvitations | Kind::Probes => "sent_at",
            Kind::Contacts => "queued_at",
            Kind::Posts => "published_at",
            Kind::Customers => "since",
            Kind::Orders => "ordered_at",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Messages => "messages",
            Kind::ConversationEvents => "conversation-events",
            Kind::Surveys => "surveys",
            Kind::SurveyInvitations => "survey-invitations",
            Kind::Contacts => "contacts",
            Kind::Posts => "posts",
            Kind::Customers => "customers",
            Kind::Orders => "orders",
            Kind::Reviews => "qa-reviews",
            Kind::Probes => "probes",
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

impl Record {
    /// The kind of file such a row comes from.
    pub fn kind(&self) -> Kind {
        match self {
            Record::Message(_) => Kind::Messages,
            Record::Event(_) => Kind::ConversationEvents,
            Record::Survey(_) => Kind::Surveys,
            Record::Invitation(_) => Kind::SurveyInvitations,
            Record::Contact(_) => Kind::Contacts,
            Record::Post(_) => Kind::Posts,
            Record::Customer(_) => Kind::Customers,
            Record::Order(_) => Kind::Orders,
            Record::Review(_) => Kind::Reviews,
            Record::Probe(_) => Kind::Probes,
        }
    }

    /// Every field of the row in a fixed order, each followed by a separator (absent: a lone
    /// `0x1e`): a spelling that stays the same from one build to the next, unlike `Debug`'s. What a
    /// stored row's fingerprint is computed from.
    pub fn spell(&self, out: &mut Vec<u8>) {
        let mut w = Speller(out);
        match self {
            Record::Message(m) => {
                w.s(&m.message_id).s(&m.account);
                Self::spell_message(m, &mut w);
                w.b(Some(m.bot)).b(m.public).o(m.kind.as_deref()).b(m.in_scope).b(m.actionable);
                w.f(m.handle_seconds).o(m.team.as_deref()).i(i64::from(m.created_at.offset_s));
            }
            Record::Event(e) => {
                w.s(&e.conversation_id).s(e.event.as_str()).t(e.at).o(e.agent_id.as_deref());
            }
            Record::Survey(a) => {
                w.s(&a.response_id).o(a.account.as_deref());
                Self::spell_survey(a, &mut w);
                w.f(a.scale_min).f(a.scale_max).o(a.agent_id.as_deref()).o(a.channel.as_deref());
                w.o(a.comment.as_deref());
            }
            Record::Invitation(i) => {
                w.s(&i.invitation_id).o(i.account.as_deref()).s(&i.survey).t(i.sent_at);
                w.o(i.channel.as_deref()).o(i.theme.as_deref()).o(i.customer_id.as_deref());
            }
            Record::Contact(c) => {
                w.s(&c.contact_id).s(&c.account).s(&c.channel).t(c.queued_at);
                w.o(c.answered_at.map(|x| x.to_rfc3339()).as_deref()).o(c.ended_at.map(|x| x.to_rfc3339()).as_deref());
                w.o(c.agent_id.as_deref());
            }
            Record::Post(p) => {
                w.s(&p.post_id).s(&p.account).s(&p.channel).t(p.published_at).o(p.theme.as_deref());
                w.i(p.impressions as i64).i(p.reach as i64).i(p.engagements as i64);
            }
            Record::Customer(c) => {
                w.s(&c.customer_id).s(&c.account).s(&c.since.to_text());
                w.o(c.churned_at.map(|m| m.to_text()).as_deref()).o(c.referred_by.as_deref());
            }
            Record::Order(o) => {
                w.s(&o.order_id).s(&o.customer_id).s(&o.ordered_at.to_text()).f(Some(o.amount)).f(o.margin);
                w.o(o.currency.as_deref());
            }
            Record::Review(r) => {
                w.s(&r.key).o(r.conversation_id.as_deref()).o(r.reviewer.as_deref()).o(r.agent_id.as_deref());
                w.s(&r.criterion).f(Some(r.score)).t(r.at);
            }
            Record::Probe(p) => {
                w.s(&p.probe_id).s(&p.campaign).s(&p.brand).s(&p.channel).t(p.sent_at);
                w.o(p.answered_at.map(|x| x.to_rfc3339()).as_deref());
                w.o(p.resolution.map(Resolution::as_str)).b(p.signed);
            }
        }
    }

    /// What a message is, whatever an export adds around it: its instant, side, channel, author,
    /// conversation and text.
    fn spell_message(m: &Message, w: &mut Speller) {
        w.i(m.created_at.ms).s(m.direction.as_str()).s(&m.channel).s(&m.author_id);
        w.o(m.conversation_id.as_deref()).o(m.reply_to.as_deref()).o(m.customer_id.as_deref()).o(m.text.as_deref());
    }

    fn spell_survey(a: &SurveyAnswer, w: &mut Speller) {
        w.s(&a.survey).t(a.answered_at).o(a.customer_id.as_deref()).o(a.conversation_id.as_deref());
        w.f(a.score).o(a.answer.as_deref());
    }

    /// The id of a row read from a file without an id column: from what the row says, not from
    /// every column (a status or an assignee that changes in a later export, or a column added,
    /// leaves it as it was; so does `--account-name`), instants as UTC milliseconds (a spreadsheet
    /// and its CSV copy give the same ids).
    pub fn content_id(&self) -> String {
        let mut out = Vec::with_capacity(256);
        let mut w = Speller(&mut out);
        match self {
            Record::Message(m) => Self::spell_message(m, &mut w),
            Record::Survey(a) => Self::spell_survey(a, &mut w),
            Record::Invitation(i) => {
                w.s(&i.survey).i(i.sent_at.ms).o(i.customer_id.as_deref()).o(i.channel.as_deref());
            }
            Record::Contact(c) => {
                w.s(&c.channel).i(c.queued_at.ms).o(c.agent_id.as_deref());
            }
            Record::Post(p) => {
                w.s(&p.channel).i(p.published_at.ms).o(p.theme.as_deref());
            }
            Record::Order(o) => {
                w.s(&o.customer_id).s(&o.ordered_at.to_text()).f(Some(o.amount));
            }
            Record::Probe(p) => {
                w.s(&p.campaign).s(&p.brand).s(&p.channel).i(p.sent_at.ms);
            }
            Record::Event(_) | Record::Customer(_) | Record::Review(_) => {}
        }
        content_id(std::iter::once(out.as_slice()))
    }

    /// Gives the row the id `id` (a row of a file without an id column).
    fn set_id(&mut self, id: String) {
        match self {
            Record::Message(m) => m.message_id = id,
            Record::Survey(a) => a.response_id = id,
            Record::Invitation(i) => i.invitation_id = id,
            Record::Contact(c) => c.contact_id = id,
            Record::Post(p) => p.post_id = id,
            Record::Order(o) => o.order_id = id,
            Record::Probe(p) => p.probe_id = id,
            Record::Event(_) | Record::Customer(_) | Record::Review(_) => {}
        }
    }

    /// `--account-name`: the brand every row of a source reports under (rows without an account
    /// of their own, like orders, are left as they are).
    pub fn set_account(&mut self, name: &str) {
        match self {
            Record::Message(m) => set(&mut m.account, name),
            Record::Survey(s) => s.account = Some(name.to_string()),
            Record::Invitation(i) => i.account = Some(name.to_string()),
            Record::Contact(c) => set(&mut c.account, name),
            Record::Post(p) => set(&mut p.account, name),
            Record::Customer(c) => set(&mut c.account, name),
            Record::Probe(p) => set(&mut p.brand, name),
            Record::Event(_) | Record::Order(_) | Record::Review(_) => {}
        }
    }
}

/// Writes fields for [`Record::spell`].
struct Speller<'a>(&'a mut Vec<u8>);

impl Speller<'_> {
    fn s(&mut self, v: &str) -> &mut Self {
        self.0.extend_from_slice(v.as_bytes());
        self.0.push(0x1f);
        self
    }
    fn o(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.s(v),
            None => {
                self.0.extend_from_slice(&[0x1e, 0x1f]);
                self
            }
        }
    }
    fn i(&mut self, v: i64) -> &mut Self {
        self.s(&v.to_string())
    }
    fn t(&mut self, v: Stamp) -> &mut Self {
        self.i(v.ms).i(i64::from(v.offset_s))
    }
    fn f(&mut self, v: Option<f64>) -> &mut Self {
        self.o(v.map(|x| format!("{:x}", x.to_bits())).as_deref())
    }
    fn b(&mut self, v: Option<bool>) -> &mut Self {
        self.o(v.map(|x| if x { "1" } else { "0" }))
    }
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

/// The rule of repeated ids, for every import (the CLI's one-shot reports, every store): a row
/// whose id was seen earlier in the same import is the same row when its content is the same
/// (counted unchanged), and refused when it differs, naming where the first one is.
pub fn duplicate_id(field: &str, id: &str, first_file: &str, first_line: u64) -> String {
    format!("duplicate {field} `{id}` with other content (first at {first_file}:{first_line})")
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

/// How a source's columns, values and instants are read: `--map`, `--map-value`,
/// `--date-format`, `--tz` (or a `[mappings.NAME]` table of the configuration).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    /// `(field, column)`: the field is read from that column.
    pub columns: Vec<(String, String)>,
    /// `(field, value written, value meant)`, compared without case.
    pub values: Vec<(String, String, String)>,
    pub dates: DateRule,
}

impl Rules {
    /// `FIELD=COLUMN`.
    pub fn parse_map(s: &str) -> Result<(String, String), String> {
        match s.split_once('=') {
            Some((f, c)) if !f.trim().is_empty() && !c.trim().is_empty() => {
                Ok((f.trim().to_ascii_lowercase(), c.trim().to_string()))
            }
            _ => Err(format!("`{s}` is not FIELD=COLUMN (e.g. created_at=Date)")),
        }
    }
    /// `FIELD:SOURCE=VALUE`.
    pub fn parse_map_value(s: &str) -> Result<(String, String, String), String> {
        let bad = || format!("`{s}` is not FIELD:SOURCE=VALUE (e.g. direction:Entrant=in)");
        let (f, rest) = s.split_once(':').ok_or_else(bad)?;
        let (from, to) = rest.split_once('=').ok_or_else(bad)?;
        if f.trim().is_empty() || from.trim().is_empty() {
            return Err(bad());
        }
        Ok((f.trim().to_ascii_lowercase(), from.trim().to_string(), to.trim().to_string()))
    }
}

/// A stable id for a row that has none: 128 bits of FNV-1a over its cells (each followed by a
/// separator, so that `ab|c` and `a|bc` differ). The same row gives the same id on every import;
/// two rows with identical content are the same row.
pub fn content_id<'a>(cells: impl Iterator<Item = &'a [u8]>) -> String {
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for c in cells {
        for &b in c.trim_ascii() {
            h = (h ^ u128::from(b)).wrapping_mul(PRIME);
        }
        h = (h ^ 0x1f).wrapping_mul(PRIME);
    }
    format!("row-{h:032x}")
}

/// A row's fields by name, whatever the file format.
trait Fields {
    /// How this source's instants are read.
    fn dates(&self) -> &DateRule {
        &DateRule::NONE
    }
    /// The file has no id column: the row's id is derived from its content once it is read.
    fn derives_id(&self) -> bool {
        false
    }
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
    f.dates().parse(v).map_err(|e| (f.col(name), format!("column `{name}`: {e}")))
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
    // The usual English and French words for the two sides are read as such (a French tool
    // writes `Entrant`/`Sortant`); anything else is said, with `--map-value` to translate it.
    let is = |words: &[&str]| words.iter().any(|w| d.eq_ignore_ascii_case(w));
    m.direction = if is(&["in", "inbound", "incoming", "entrant", "entrante"]) {
        Direction::In
    } else if is(&["out", "outbound", "outgoing", "sortant", "sortante"]) {
        Direction::Out
    } else {
        return Err((
            f.col("direction"),
            format!("unknown direction `{d}` (expected `in` or `out`; translate it with --map-value direction:{d}=in)"),
        ));
    };
    m.handle_seconds = match f.get("handle_seconds")? {
        None => None,
        Some(v) if thousands_or_decimal(v) => {
            return Err((f.col("handle_seconds"), ambiguous_number(v, "handle_seconds")))
        }
        Some(v) => match plain_number(v).parse::<f64>() {
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
    let (col, mut rec) = record_as_read(kind, f)?;
    if f.derives_id() {
        let id = rec.content_id();
        rec.set_id(id);
    }
    Ok((col, rec))
}

fn record_as_read(kind: Kind, f: &dyn Fields) -> FieldResult<(u64, Record)> {
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

/// A number as a French spreadsheet writes it: a decimal comma (`1408,93`) and thousands set
/// apart by spaces (`3 588`, with the no-break spaces Excel uses). A comma is read as the decimal
/// point only when it is the only separator: `1,234.5` stays unreadable rather than misread.
pub fn plain_number(v: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    if !v.bytes().any(|b| b == b',' || b == b' ' || b >= 0x80) {
        return Cow::Borrowed(v);
    }
    let mut t: String = v.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
    if !t.contains('.') && t.matches(',').count() == 1 {
        t = t.replace(',', ".");
    }
    Cow::Owned(t)
}

fn count_of(f: &dyn Fields, name: &str) -> FieldResult<Option<u64>> {
    match f.get(name)? {
        None => Ok(None),
        Some(v) => match plain_number(v).parse::<u64>() {
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

/// `1,234` or `12,500`: a thousands comma (English) or a decimal one (French) — never guessed.
fn thousands_or_decimal(v: &str) -> bool {
    let v = v.trim().trim_start_matches('-');
    match v.split_once(',') {
        Some((a, b)) => {
            (1..=3).contains(&a.len())
                && b.len() == 3
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

fn ambiguous_number(v: &str, name: &str) -> String {
    format!(
        "`{v}` in column `{name}` reads as a thousands separator or as a decimal comma: write it without the comma, or with a decimal point"
    )
}

fn number(f: &dyn Fields, name: &str) -> FieldResult<Option<f64>> {
    match f.get(name)? {
        None => Ok(None),
        Some(v) if thousands_or_decimal(v) => Err((f.col(name), ambiguous_number(v, name))),
        Some(v) => match plain_number(v).parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            _ => Err((f.col(name), format!("`{v}` in column `{name}` is not a number"))),
        },
    }
}

fn opt_instant(f: &dyn Fields, name: &str) -> FieldResult<Option<Stamp>> {
    match f.get(name)? {
        None => Ok(None),
        Some(v) => f.dates().parse(v).map(Some).map_err(|e| (f.col(name), format!("column `{name}`: {e}"))),
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
mod chatwoot;
pub mod decode;
mod delimited;
mod json;
mod jsonl;
mod meta_graph;
pub mod source;
mod twcs;
mod x_v2;
mod xlsx;
mod zendesk;

use delimited::*;
pub use delimited::{delimiter_name, sniff_delimiter, LineCounter, MAX_ROW_BYTES};
use jsonl::*;
pub use twcs::integral_id;
use twcs::*;

pub struct RecordReader<R: Read> {
    file: Arc<str>,
    kind: Kind,
    inner: Inner<R>,
    /// Set when the file itself is unreadable (bad header): every row is then lost.
    pub fatal: Option<RowError>,
    rules: Option<Arc<Rules>>,
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
        let mut me = RecordReader { file: Arc::from(file), kind, inner: Inner::Done, fatal: None, rules: None };
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

    /// A CSV or JSON Lines file read with a source's [`Rules`]; a CSV without its id column gets
    /// ids derived from each row's content ([`content_id`]).
    pub fn with_rules(file: &str, kind: Kind, format: Format, r: R, delimiter: u8, rules: Arc<Rules>) -> Self {
        let mut me =
            RecordReader { file: Arc::from(file), kind, inner: Inner::Done, fatal: None, rules: Some(rules.clone()) };
        match format {
            Format::Csv | Format::Twcs => {
                let mut rdr = csv_reader_with(r, delimiter);
                match csv_header_with(&mut rdr, file, kind.required(), kind.id_field(), rules) {
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
        let mut me =
            RecordReader { file: Arc::from(file), kind: Kind::Messages, inner: Inner::Done, fatal: None, rules: None };
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
                return Some(match JsonFields::parse_with(text, self.rules.clone()) {
                    Ok(f) => record_from(self.kind, &f).map(|x| ok(line, x)).map_err(|(c, r)| err(line, c, r)),
                    Err((c, r)) => Err(err(line, c, r)),
                });
            },
            Inner::Twcs(t) => t.next().map(|r| r.map(|(line, m)| ok(line, (1, Record::Message(m))))),
        }
    }
}

#[cfg(test)]
mod tests;
