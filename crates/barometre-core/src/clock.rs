//! The conversation clock: turns message rows and conversation events into facts — which
//! conversation each message belongs to, the requests (runs of customer messages), their answers
//! and examinations, spontaneous messages. It runs once per conversation; reports only
//! aggregate its facts, so every back end computes the same figures.
//!
//! Order never depends on the file: messages are placed by instant (UTC), ties broken by reply
//! depth, then `in` before `out`, then id. A reply stamped before the message it answers (clocks
//! of two systems disagree) is placed right after that message: its response time is 0, never
//! negative.

use crate::config::Config;
use crate::model::{ConversationEvent, Direction, Message, TextFacts};
use crate::time::Millis;
use serde::Serialize;

/// What a message is to the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// `in`: part of a request.
    Customer,
    /// human `out` that is not spontaneous (answers a request, or follows up).
    Reply,
    /// human `out` sent before the customer wrote anything in the conversation.
    Proactive,
    /// automated `out`: never a response, never an agent reply.
    Bot,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Reply => "reply",
            Role::Proactive => "proactive",
            Role::Bot => "bot",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        [Role::Customer, Role::Reply, Role::Proactive, Role::Bot].into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Answered,
    Examined,
    Unanswered,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Examined => "examined",
            Outcome::Unanswered => "unanswered",
        }
    }
    pub fn parse(s: &str) -> Option<Outcome> {
        [Outcome::Answered, Outcome::Examined, Outcome::Unanswered].into_iter().find(|r| r.as_str() == s)
    }
}

/// One message, placed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageFact {
    pub message_id: String,
    pub conversation_id: String,
    pub account: String,
    pub channel: String,
    pub ms: Millis,
    pub role: Role,
    pub author_id: String,
    /// `out`: its author; `in`: the agent who answered its request.
    pub agent: Option<String>,
    /// The row's team, else (for `in`) the team of the agent who answered.
    pub team: Option<String>,
    pub public: bool,
    pub in_scope: Option<bool>,
    /// `in` messages only: needs a reply (not spam, off-topic or a bare thanks).
    pub actionable: bool,
    /// Human `out` with text: carries an agent signature.
    pub signed: Option<bool>,
    pub handle_seconds: Option<f64>,
    /// `in`: the request it belongs to (its first message's id).
    pub request_id: Option<String>,
    /// `in` message of kind `feedback`.
    pub feedback: bool,
    /// `in` message whose request got a human answer.
    pub answered: bool,
    /// `out` message that joins no conversation (no conversation id, reply chain or customer).
    pub unattached: bool,
}

/// One request: a run of customer messages, keyed by its first message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestFact {
    pub request_id: String,
    pub conversation_id: String,
    pub account: String,
    pub channel: String,
    pub customer: Option<String>,
    pub public: bool,
    pub start_ms: Millis,
    pub messages: u32,
    pub first_of_conversation: bool,
    pub outcome: Outcome,
    /// When it was answered or examined.
    pub closed_ms: Option<Millis>,
    pub answer_id: Option<String>,
    pub agent: Option<String>,
    pub team: Option<String>,
}

impl RequestFact {
    /// Answer time − request start, for answered requests.
    pub fn response_ms(&self) -> Option<Millis> {
        match self.outcome {
            Outcome::Answered => self.closed_ms.map(|c| c - self.start_ms),
            _ => None,
        }
    }
    /// Time until answered or examined.
    pub fn handled_ms(&self) -> Option<Millis> {
        self.closed_ms.map(|c| c - self.start_ms)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub requests: Vec<RequestFact>,
    pub messages: Vec<MessageFact>,
    pub conversations: Vec<ConversationFact>,
}

impl Facts {
    /// Conversation → the agent who answered its first request: survey answers and quality
    /// reviews tied to a conversation but to no agent are credited to that agent.
    pub fn first_agents(&self) -> std::collections::HashMap<String, String> {
        self.requests
            .iter()
            .filter(|r| r.first_of_conversation && r.outcome == Outcome::Answered)
            .filter_map(|r| r.agent.clone().map(|a| (r.conversation_id.clone(), a)))
            .collect()
    }
}

/// One conversation: where it started, and how (and whether) it was resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationFact {
    pub conversation_id: String,
    pub start_ms: Millis,
    pub account: String,
    pub channel: String,
    pub agent: Option<String>,
    pub team: Option<String>,
    pub first_resolved_ms: Option<Millis>,
    pub final_resolved_ms: Option<Millis>,
    pub reopens: u32,
    pub complaint_ms: Option<Millis>,
    pub complaint_resolved_ms: Option<Millis>,
    pub human_out: u32,
    pub bot_only: bool,
    /// Handled by a person: a human reply, or an event carrying an agent.
    pub human: bool,
}

impl Facts {
    /// Only the facts of one account, channel or team (see `FactTable::filtered`).
    pub fn filtered(mut self, dim: crate::report::Dim, key: &str) -> Facts {
        use crate::report::Dim;
        match dim {
            Dim::Account => {
                self.requests.retain(|r| r.account == key);
                self.messages.retain(|m| m.account == key);
                self.conversations.retain(|c| c.account == key);
            }
            Dim::Channel => {
                self.requests.retain(|r| r.channel == key);
                self.messages.retain(|m| m.channel == key);
                self.conversations.retain(|c| c.channel == key);
            }
            Dim::Team => {
                self.requests.retain(|r| r.team.as_deref() == Some(key));
                self.messages.retain(|m| m.team.as_deref() == Some(key));
                self.conversations.retain(|c| c.team.as_deref() == Some(key));
            }
            _ => {}
        }
        self
    }

    /// Sorted by id: the clock's output order is not part of its meaning.
    pub fn sorted(mut self) -> Facts {
        self.requests.sort_by(|a, b| a.request_id.cmp(&b.request_id));
        self.messages.sort_by(|a, b| a.message_id.cmp(&b.message_id));
        self.conversations.sort_by(|a, b| a.conversation_id.cmp(&b.conversation_id));
        self
    }
}

const NOT_ACTIONABLE_KINDS: &[&str] = &["spam", "off_topic", "off-topic", "offtopic", "thanks", "noise", "hors_sujet"];
const THANKS: &[&str] = &["merci", "thanks", "thank", "thx", "ty", "mercii", "merciii"];
const THANKS_FILLER: &[&str] = &[
    "beaucoup", "bcp", "mille", "you", "so", "much", "very", "a", "lot", "many", "ok", "okay", "super", "parfait",
    "top", "génial", "genial", "cool", "great", "perfect", "bien", "reçu", "recu", "noté", "note", "pour", "votre",
    "réponse", "reponse", "à", "vous", "de", "la", "encore", "again", "bonne", "journée", "journee", "soirée", "have",
    "nice", "day",
];

/// A message that only says thanks ("Merci beaucoup !", "thanks a lot 🙏") needs no reply.
pub fn is_bare_thanks(text: &str) -> bool {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    !words.is_empty()
        && words.iter().any(|w| THANKS.contains(w))
        && words.iter().all(|w| THANKS.contains(w) || THANKS_FILLER.contains(w))
}

/// What the clock reads in a message's text (or what a store kept of it).
pub fn text_facts(m: &Message, cfg: &Config) -> TextFacts {
    if let Some(d) = m.derived {
        return d;
    }
    TextFacts {
        signed: match (m.direction, m.bot) {
            (Direction::Out, false) => m.text.as_deref().map(|t| cfg.is_signed(t)),
            _ => None,
        },
        bare_thanks: m.direction == Direction::In && m.text.as_deref().is_some_and(is_bare_thanks),
    }
}

/// Whether an `in` message needs a reply: the `actionable` column when the source decided, else
/// not spam/off-topic (`kind`), not out of scope (`in_scope = false`), not a bare thanks.
pub fn is_actionable(m: &Message) -> bool {
    is_actionable_with(m, m.derived.map_or_else(|| m.text.as_deref().is_some_and(is_bare_thanks), |d| d.bare_thanks))
}

fn is_actionable_with(m: &Message, bare_thanks: bool) -> bool {
    actionable_from(m.actionable, m.kind.as_deref(), m.in_scope, bare_thanks)
}

/// The actionable rule on a row's columns (see [`is_actionable`]).
pub fn actionable_from(
    actionable: Option<bool>,
    kind: Option<&str>,
    in_scope: Option<bool>,
    bare_thanks: bool,
) -> bool {
    if let Some(a) = actionable {
        return a;
    }
    if kind.is_some_and(|k| NOT_ACTIONABLE_KINDS.contains(&k)) || in_scope == Some(false) {
        return false;
    }
    !bare_thanks
}

/// Runs the clock over every message and event of a workspace.
pub fn run(msgs: &[Message], events: &[ConversationEvent], cfg: &Config) -> Facts {
    let mut bulk = crate::engine::Bulk::default();
    bulk.reserve(msgs.len(), 0);
    for m in msgs {
        bulk.push_message(m, cfg);
    }
    for e in events {
        bulk.push_event(e);
    }
    // A repeated id keeps its first row, as everywhere else.
    let (inp, _) = bulk.finish();
    crate::engine::run(&inp, cfg).facts(&inp)
}

#[cfg(test)]
mod tests;
