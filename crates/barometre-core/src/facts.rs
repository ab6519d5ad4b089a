//! The clock's facts: what each message is to the conversation it belongs to, the requests (runs
//! of customer messages) and their outcome, the conversations. Stores keep them; reports aggregate
//! them. Only the clock ([`crate::clock`], [`crate::engine`]) makes them.

use crate::time::Millis;
use crate::vocab::Dim;
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

/// A message's themes: bits in the order of [`crate::understand::themes::THEMES`], written as
/// their ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Themes(pub u64);

impl Themes {
    pub fn ids(self) -> impl Iterator<Item = &'static str> {
        crate::understand::themes::THEMES
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 >> i & 1 == 1)
            .map(|(_, t)| t.id)
    }
}

impl Serialize for Themes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.ids())
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
    /// `in` message: its label — an analyst's, else its `kind` column's, else its text's.
    pub label: Option<crate::understand::Label>,
    pub label_source: Option<crate::understand::LabelSource>,
    /// `in` message naming a configured competitor.
    pub competitor: bool,
    /// `in` message: the FAQ entry that answers it, by its place in the workspace's knowledge
    /// base (from 1), [`crate::understand::faq`].
    pub faq: Option<u32>,
    /// `in` message: the themes its words belong to ([`crate::understand::themes`]).
    pub themes: Themes,
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
    /// Distinct customers who wrote in it.
    pub participants: u32,
    /// A customer wrote in it in public.
    pub public: bool,
}

impl Facts {
    /// Only the facts of one account, channel or team (see `FactTable::filtered`).
    pub fn filtered(mut self, dim: Dim, key: &str) -> Facts {
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
