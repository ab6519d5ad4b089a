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
use crate::model::{ConversationEvent, Direction, EventKind, Message, TextFacts};
use crate::time::Millis;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

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
}

impl Facts {
    /// Sorted by id: the clock's output order is not part of its meaning.
    pub fn sorted(mut self) -> Facts {
        self.requests.sort_by(|a, b| a.request_id.cmp(&b.request_id));
        self.messages.sort_by(|a, b| a.message_id.cmp(&b.message_id));
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
    if let Some(a) = m.actionable {
        return a;
    }
    if m.kind.as_deref().is_some_and(|k| NOT_ACTIONABLE_KINDS.contains(&k)) || m.in_scope == Some(false) {
        return false;
    }
    !bare_thanks
}

/// Assigns every message its conversation: `conversation_id`, else the root of its reply chain,
/// else a session of one customer with one account on one channel, cut by silences longer than
/// the session gap. Reconstructed conversations are named after their root or first message.
pub fn assign_conversations(msgs: &[Message], session_gap_ms: Millis) -> Vec<String> {
    let idx: HashMap<&str, usize> = msgs.iter().enumerate().map(|(i, m)| (m.message_id.as_str(), i)).collect();
    let replied: HashSet<&str> = msgs.iter().filter_map(|m| m.reply_to.as_deref()).collect();
    let mut conv: Vec<Option<String>> = vec![None; msgs.len()];
    for (i, m) in msgs.iter().enumerate() {
        if m.conversation_id.is_none() && m.reply_to.is_none() && !replied.contains(m.message_id.as_str()) {
            continue;
        }
        let mut cur = i;
        let mut steps = 0;
        conv[i] = Some(loop {
            let c = &msgs[cur];
            if let Some(id) = &c.conversation_id {
                break id.clone();
            }
            match c.reply_to.as_deref() {
                None => break c.message_id.clone(),
                Some(p) => match idx.get(p) {
                    Some(&j) if steps < msgs.len() => {
                        cur = j;
                        steps += 1;
                    }
                    // The parent is not in the data: the chain is named after it.
                    Some(_) | None => break p.to_string(),
                },
            }
        });
    }
    let mut sessions: HashMap<(&str, &str, &str), Vec<usize>> = HashMap::new();
    for (i, m) in msgs.iter().enumerate() {
        if conv[i].is_some() {
            continue;
        }
        match m.customer() {
            Some(c) => sessions.entry((&m.account, &m.channel, c)).or_default().push(i),
            // An `out` row with no customer, thread or parent stands alone.
            None => conv[i] = Some(m.message_id.clone()),
        }
    }
    for (_, mut v) in sessions {
        v.sort_by(|&a, &b| {
            (msgs[a].created_at.ms, &msgs[a].message_id).cmp(&(msgs[b].created_at.ms, &msgs[b].message_id))
        });
        let mut name = msgs[v[0]].message_id.clone();
        let mut last = msgs[v[0]].created_at.ms;
        for &i in &v {
            if msgs[i].created_at.ms - last > session_gap_ms {
                name = msgs[i].message_id.clone();
            }
            last = msgs[i].created_at.ms;
            conv[i] = Some(name.clone());
        }
    }
    conv.into_iter().map(|c| c.expect("every message placed")).collect()
}

/// Runs the clock over every message and event of a workspace.
pub fn run(msgs: &[Message], events: &[ConversationEvent], cfg: &Config) -> Facts {
    let conv = assign_conversations(msgs, cfg.session_gap_ms);
    let mut by_conv: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in conv.iter().enumerate() {
        by_conv.entry(c.as_str()).or_default().push(i);
    }
    let mut ev_by_conv: HashMap<&str, Vec<&ConversationEvent>> = HashMap::new();
    for e in events {
        ev_by_conv.entry(e.conversation_id.as_str()).or_default().push(e);
    }
    let mut facts = Facts::default();
    let mut keys: Vec<&str> = by_conv.keys().copied().collect();
    keys.sort_unstable();
    for k in keys {
        let evs = ev_by_conv.get(k).map(Vec::as_slice).unwrap_or(&[]);
        conversation(k, &by_conv[k], msgs, evs, cfg, &mut facts);
    }
    facts
}

enum Item<'a> {
    Msg(usize),
    Event(&'a ConversationEvent),
}

fn conversation(
    id: &str,
    members: &[usize],
    msgs: &[Message],
    events: &[&ConversationEvent],
    cfg: &Config,
    out: &mut Facts,
) {
    let local: HashMap<&str, usize> = members.iter().map(|&i| (msgs[i].message_id.as_str(), i)).collect();
    // Effective instant and reply depth: a reply never precedes what it answers.
    let mut eff: HashMap<usize, (Millis, u32)> = HashMap::new();
    for &i in members {
        let mut path = vec![i];
        let mut base = None;
        while let Some(&top) = path.last() {
            if let Some(&v) = eff.get(&top) {
                base = Some(v);
                path.pop();
                break;
            }
            match msgs[top].reply_to.as_deref().and_then(|p| local.get(p)) {
                Some(&p) if !path.contains(&p) && path.len() <= members.len() => path.push(p),
                _ => break,
            }
        }
        let mut acc = base;
        while let Some(j) = path.pop() {
            let v = match acc {
                None => (msgs[j].created_at.ms, 0),
                Some((t, d)) => (msgs[j].created_at.ms.max(t), d + 1),
            };
            eff.insert(j, v);
            acc = Some(v);
        }
    }
    let mut items: Vec<(Millis, u32, u8, &str, Item)> = members
        .iter()
        .map(|&i| {
            let (t, d) = eff[&i];
            let dir = if msgs[i].direction == Direction::In { 0 } else { 1 };
            (t, d, dir, msgs[i].message_id.as_str(), Item::Msg(i))
        })
        .collect();
    for e in events {
        items.push((e.at.ms, u32::MAX, 2, e.event.as_str(), Item::Event(e)));
    }
    items.sort_by(|a, b| (a.0, a.1, a.2, a.3).cmp(&(b.0, b.1, b.2, b.3)));

    let mut open: Option<usize> = None; // index into out.requests
    let mut seen_customer = false;
    let mut first_request = true;
    let req_base = out.requests.len();
    let msg_base = out.messages.len();
    for (t, _, _, _, item) in &items {
        match item {
            Item::Event(e) => {
                if e.event == EventKind::Examined {
                    if let Some(r) = open.take() {
                        out.requests[r].outcome = Outcome::Examined;
                        out.requests[r].closed_ms = Some(*t);
                        if out.requests[r].agent.is_none() {
                            out.requests[r].agent = e.agent_id.clone();
                        }
                    }
                }
            }
            Item::Msg(i) => {
                let m = &msgs[*i];
                let mut fact = MessageFact {
                    message_id: m.message_id.clone(),
                    conversation_id: id.to_string(),
                    account: m.account.clone(),
                    channel: m.channel.clone(),
                    ms: m.created_at.ms,
                    role: Role::Customer,
                    author_id: m.author_id.clone(),
                    agent: None,
                    team: m.team.clone(),
                    public: m.is_public(),
                    in_scope: m.in_scope,
                    actionable: false,
                    signed: None,
                    handle_seconds: m.handle_seconds,
                    request_id: None,
                };
                match m.direction {
                    Direction::In => {
                        seen_customer = true;
                        fact.actionable = is_actionable_with(m, text_facts(m, cfg).bare_thanks);
                        let r = match open {
                            Some(r) => {
                                out.requests[r].messages += 1;
                                r
                            }
                            None => {
                                out.requests.push(RequestFact {
                                    request_id: m.message_id.clone(),
                                    conversation_id: id.to_string(),
                                    account: m.account.clone(),
                                    channel: m.channel.clone(),
                                    customer: m.customer().map(str::to_string),
                                    public: m.is_public(),
                                    start_ms: *t,
                                    messages: 1,
                                    first_of_conversation: first_request,
                                    outcome: Outcome::Unanswered,
                                    closed_ms: None,
                                    answer_id: None,
                                    agent: None,
                                    team: m.team.clone(),
                                });
                                first_request = false;
                                open = Some(out.requests.len() - 1);
                                out.requests.len() - 1
                            }
                        };
                        fact.request_id = Some(out.requests[r].request_id.clone());
                    }
                    Direction::Out if m.bot => fact.role = Role::Bot,
                    Direction::Out => {
                        fact.agent = Some(m.author_id.clone());
                        fact.signed = text_facts(m, cfg).signed;
                        fact.role = if let Some(r) = open.take() {
                            let rq = &mut out.requests[r];
                            rq.outcome = Outcome::Answered;
                            rq.closed_ms = Some(*t);
                            rq.answer_id = Some(m.message_id.clone());
                            rq.agent = Some(m.author_id.clone());
                            if m.team.is_some() {
                                rq.team = m.team.clone();
                            }
                            Role::Reply
                        } else if seen_customer {
                            Role::Reply
                        } else {
                            Role::Proactive
                        };
                    }
                }
                out.messages.push(fact);
            }
        }
    }
    // Customer messages take the agent and team of whoever handled their request.
    let by_req: HashMap<String, (Option<String>, Option<String>)> =
        out.requests[req_base..].iter().map(|r| (r.request_id.clone(), (r.agent.clone(), r.team.clone()))).collect();
    for f in &mut out.messages[msg_base..] {
        if let Some((agent, team)) = f.request_id.as_ref().and_then(|r| by_req.get(r)) {
            f.agent = agent.clone();
            if f.team.is_none() {
                f.team = team.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests;
