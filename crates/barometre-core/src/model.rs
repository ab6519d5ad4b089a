//! The rows Baromètre imports (DATA.md), validated.

use crate::time::Stamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// customer → company
    In,
    /// company → customer
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// One message row of the `messages` import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub message_id: String,
    pub created_at: Stamp,
    pub direction: Direction,
    pub account: String,
    pub channel: String,
    pub author_id: String,
    pub conversation_id: Option<String>,
    pub reply_to: Option<String>,
    pub customer_id: Option<String>,
    pub text: Option<String>,
    pub bot: bool,
    pub public: Option<bool>,
    pub kind: Option<String>,
    pub in_scope: Option<bool>,
    /// Extension column: overrides the actionable rule when the source already decided.
    pub actionable: Option<bool>,
    pub handle_seconds: Option<f64>,
    pub team: Option<String>,
    /// What the clock reads in the text, when a store kept it instead of the text itself.
    /// `None`: derive it from `text`. Not part of the row's content.
    pub derived: Option<TextFacts>,
    /// An analyst's label for this message, kept by the store apart from the row (it survives
    /// re-imports): it wins over a `kind` column and over the text. Not part of the row's content.
    pub corrected: Option<crate::understand::Label>,
}

/// What the clock reads in a message's text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextFacts {
    /// Human `out` message with a text: carries an agent signature.
    pub signed: Option<bool>,
    /// The text only says thanks.
    pub bare_thanks: bool,
    /// `in` message with a text: its label ([`crate::understand`]).
    pub label: Option<crate::understand::Label>,
    /// `in` message whose text names a configured competitor (`[listening] competitors`).
    pub competitor: bool,
    /// `in` message: the FAQ entry that answers its text (its place in the workspace's
    /// knowledge base, from 1; 0: none), [`crate::understand::faq`].
    pub faq: u32,
    /// `in` message: the themes its words belong to, as bits in the order of
    /// [`crate::understand::themes::THEMES`].
    pub themes: u64,
}

impl Message {
    /// A message with every field empty: a buffer for readers that fill rows in place.
    pub fn empty() -> Message {
        Message {
            message_id: String::new(),
            created_at: Stamp { ms: 0, offset_s: 0 },
            direction: Direction::In,
            account: String::new(),
            channel: String::new(),
            author_id: String::new(),
            conversation_id: None,
            reply_to: None,
            customer_id: None,
            text: None,
            bot: false,
            public: None,
            kind: None,
            in_scope: None,
            actionable: None,
            handle_seconds: None,
            team: None,
            derived: None,
            corrected: None,
        }
    }

    /// A stable fingerprint of the row's content: two rows with one id and different
    /// fingerprints are a conflict, equal fingerprints a harmless repeat.
    pub fn fingerprint(&self) -> u64 {
        let mut h = ContentHash::new();
        h.str(&self.message_id);
        h.u64(self.created_at.ms as u64);
        h.u64(self.created_at.offset_s as u64);
        h.str(self.direction.as_str());
        for s in [&self.account, &self.channel, &self.author_id] {
            h.str(s);
        }
        for o in [&self.conversation_id, &self.reply_to, &self.customer_id, &self.text, &self.kind, &self.team] {
            h.opt(o.as_deref());
        }
        for b in [Some(self.bot), self.public, self.in_scope, self.actionable] {
            h.u64(match b {
                None => 2,
                Some(true) => 1,
                Some(false) => 0,
            });
        }
        h.u64(self.handle_seconds.map_or(u64::MAX, f64::to_bits));
        h.finish()
    }
}

/// Channels whose messages everyone can see unless the row says otherwise (walls, comments,
/// public tweets, reviews). Any other channel is private.
pub const PUBLIC_CHANNELS: &[&str] = &[
    "facebook_wall",
    "facebook_comment",
    "facebook_comments",
    "twitter",
    "instagram",
    "instagram_comment",
    "instagram_comments",
    "youtube",
    "linkedin",
    "review",
    "reviews",
    "forum",
    "tiktok",
];

pub fn channel_is_public(channel: &str) -> bool {
    PUBLIC_CHANNELS.contains(&channel)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Opened,
    Examined,
    Resolved,
    Reopened,
    Complaint,
    Escalated,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::Opened,
        EventKind::Examined,
        EventKind::Resolved,
        EventKind::Reopened,
        EventKind::Complaint,
        EventKind::Escalated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::Examined => "examined",
            EventKind::Resolved => "resolved",
            EventKind::Reopened => "reopened",
            EventKind::Complaint => "complaint",
            EventKind::Escalated => "escalated",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s.trim().to_ascii_lowercase())
    }
}

/// One row of the `conversation_events` import. Keyed by all its fields: events carry no id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationEvent {
    pub conversation_id: String,
    pub event: EventKind,
    pub at: Stamp,
    pub agent_id: Option<String>,
}

impl ConversationEvent {
    pub fn key(&self) -> String {
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.conversation_id,
            self.event.as_str(),
            self.at.ms,
            self.agent_id.as_deref().unwrap_or("")
        )
    }
}

/// A 64-bit content hash, deterministic across runs and Rust versions (unlike std's hasher):
/// fingerprints are stored, so this function must never change.
pub struct ContentHash(crate::fx::FxHasher);

impl ContentHash {
    pub fn new() -> Self {
        ContentHash(crate::fx::FxHasher::default())
    }
    pub fn bytes(&mut self, b: &[u8]) {
        std::hash::Hasher::write(&mut self.0, b);
    }
    pub fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.bytes(s.as_bytes());
    }
    pub fn opt(&mut self, s: Option<&str>) {
        match s {
            None => self.u64(u64::MAX),
            Some(s) => self.str(s),
        }
    }
    pub fn u64(&mut self, v: u64) {
        std::hash::Hasher::write_u64(&mut self.0, v);
    }
    pub fn finish(&self) -> u64 {
        std::hash::Hasher::finish(&self.0)
    }
}

impl Default for ContentHash {
    fn default() -> Self {
        Self::new()
    }
}

/// One answer of the `surveys` import: a score on its own scale, or a category (`answer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyAnswer {
    pub response_id: String,
    /// `csat`, `nps`, `ces` or a custom name, lower case.
    pub survey: String,
    pub score: Option<f64>,
    pub scale_min: Option<f64>,
    pub scale_max: Option<f64>,
    pub answered_at: Stamp,
    pub conversation_id: Option<String>,
    pub agent_id: Option<String>,
    pub channel: Option<String>,
    pub account: Option<String>,
    pub customer_id: Option<String>,
    pub comment: Option<String>,
    /// A categorical answer (`preferred_channel` surveys).
    pub answer: Option<String>,
}

impl SurveyAnswer {
    /// The score mapped onto 0–1 by its own scale.
    pub fn normalised(&self) -> Option<f64> {
        let (s, lo, hi) = (self.score?, self.scale_min?, self.scale_max?);
        Some((s - lo) / (hi - lo))
    }
}

/// One row of the `survey-invitations` import (seed 003: theme, sample, channel, period).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyInvitation {
    pub invitation_id: String,
    pub survey: String,
    pub sent_at: Stamp,
    pub channel: Option<String>,
    pub account: Option<String>,
    pub theme: Option<String>,
    pub customer_id: Option<String>,
}

/// One row of the `contacts` import (chat and phone queues).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub contact_id: String,
    pub channel: String,
    pub account: String,
    pub queued_at: Stamp,
    /// Absent: the contact hung up before an agent answered (abandoned).
    pub answered_at: Option<Stamp>,
    pub ended_at: Option<Stamp>,
    pub agent_id: Option<String>,
}

/// One row of the `posts` import (seed 001: impressions, reach, engagement).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    pub post_id: String,
    pub account: String,
    pub channel: String,
    pub published_at: Stamp,
    pub theme: Option<String>,
    pub impressions: u64,
    pub reach: u64,
    /// `engagements`, else the sum of `reactions`, `comments`, `shares`, `clicks`.
    pub engagements: u64,
}

/// A date as exports write it: an instant, or a bare day (local midnight in the report's zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Moment {
    At(Stamp),
    Day(chrono::NaiveDate),
}

impl Moment {
    pub fn parse(s: &str) -> Result<Moment, String> {
        // Any year: a customer since 1965, a `9999-12-31` meaning "never" (stored values are read
        // back with this too).
        match chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
            Ok(d) => Ok(Moment::Day(d)),
            Err(_) => crate::time::parse_any_instant(s).map(Moment::At),
        }
    }
    pub fn ms(&self, zone: crate::time::Zone) -> crate::time::Millis {
        match self {
            Moment::At(s) => s.ms,
            Moment::Day(d) => zone.day_start(*d),
        }
    }
    pub fn to_text(&self) -> String {
        match self {
            Moment::At(s) => s.to_rfc3339(),
            Moment::Day(d) => d.format("%Y-%m-%d").to_string(),
        }
    }
}

impl From<Moment> for String {
    fn from(m: Moment) -> String {
        m.to_text()
    }
}

impl TryFrom<String> for Moment {
    type Error = String;
    fn try_from(s: String) -> Result<Moment, String> {
        Moment::parse(&s)
    }
}

/// One row of the `customers` import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub customer_id: String,
    pub account: String,
    /// First purchase or sign-up.
    pub since: Moment,
    pub churned_at: Option<Moment>,
    pub referred_by: Option<String>,
}

/// One row of the `orders` import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: String,
    pub customer_id: String,
    pub ordered_at: Moment,
    pub amount: f64,
    /// Gross margin, a fraction 0–1.
    pub margin: Option<f64>,
    pub currency: Option<String>,
}

/// One row of the `qa-reviews` import: a criterion's score (0–100) for a conversation or an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// `review_id`, else conversation, reviewer, criterion and instant together.
    pub key: String,
    pub conversation_id: Option<String>,
    pub reviewer: Option<String>,
    pub agent_id: Option<String>,
    pub criterion: String,
    pub score: f64,
    pub at: Stamp,
}

/// Matches survey answers to the invitations they answer: same survey and customer, the latest
/// invitation sent at or before the answer. Returns, per invitation, whether it was answered,
/// and per answer, the invitation it answers.
pub fn link_invitations(answers: &[SurveyAnswer], invitations: &[SurveyInvitation]) -> (Vec<bool>, Vec<Option<usize>>) {
    let mut by_key: std::collections::HashMap<(&str, &str), Vec<usize>> = std::collections::HashMap::new();
    for (i, inv) in invitations.iter().enumerate() {
        if let Some(c) = inv.customer_id.as_deref() {
            by_key.entry((inv.survey.as_str(), c)).or_default().push(i);
        }
    }
    for v in by_key.values_mut() {
        v.sort_by_key(|&i| (invitations[i].sent_at.ms, invitations[i].invitation_id.clone()));
    }
    let mut answered = vec![false; invitations.len()];
    let mut of_answer = vec![None; answers.len()];
    for (k, a) in answers.iter().enumerate() {
        let Some(c) = a.customer_id.as_deref() else { continue };
        let Some(v) = by_key.get(&(a.survey.as_str(), c)) else { continue };
        let n = v.partition_point(|&i| invitations[i].sent_at.ms <= a.answered_at.ms);
        if n > 0 {
            let i = v[n - 1];
            answered[i] = true;
            of_answer[k] = Some(i);
        }
    }
    (answered, of_answer)
}

/// How completely a mystery-shopper probe's answer resolved the question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resolution {
    Complete,
    Partial,
    None,
}

impl Resolution {
    pub fn parse(s: &str) -> Option<Resolution> {
        match s.trim().to_ascii_lowercase().as_str() {
            "complete" => Some(Resolution::Complete),
            "partial" => Some(Resolution::Partial),
            "none" => Some(Resolution::None),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Complete => "complete",
            Resolution::Partial => "partial",
            Resolution::None => "none",
        }
    }
}

/// One row of the `probes` import: a mystery-shopper test question (seeds 002, 003).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    pub probe_id: String,
    pub campaign: String,
    pub brand: String,
    pub channel: String,
    pub sent_at: Stamp,
    pub answered_at: Option<Stamp>,
    pub resolution: Option<Resolution>,
    pub signed: Option<bool>,
}
