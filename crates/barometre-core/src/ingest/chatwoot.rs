//! Chatwoot, as its application API returns it (one response per file, or one per line):
//! conversation lists (`GET /api/v1/accounts/{id}/conversations`: `data.payload`) and each
//! conversation's messages (`GET …/conversations/{id}/messages`: `payload`).
//!
//! - `message_type` 0 is an incoming message (`in`), 1 an outgoing one (`out`), 3 a template sent
//!   automatically (`out`, a bot's); 2 is activity, not a message, except that "… marked resolved …"
//!   is a `resolved` event and "… reopened …" a `reopened` one; `private` notes are skipped;
//! - a bot's reply is `sender_type: "AgentBot"` in some payloads and `sender.type: "agent_bot"` in
//!   others (`captain_assistant` too): both are honoured;
//! - `created_at` is Unix seconds; a conversation is `chatwoot:<id>`, on the channel of its inbox
//!   (`Channel::WebWidget` → `chat`, `Channel::Email` → `email`, `Channel::FacebookPage` →
//!   `facebook_messenger`, …; `chat` when no list says it);
//! - a list's `messages` are the last message only, not a history: read only for a conversation
//!   whose messages are not in the source (same ids, so nothing is counted twice either way).
//!
//! Contacts and agents are numbered apart (`chatwoot:contact:<id>`, `chatwoot:user:<id>`); the
//! account is `chatwoot` (`--account-name` to set the brand).

use super::source::{id_of, located, refused, ApiRows, Input, Options, Response, Rows};
use super::*;
use crate::model::{ConversationEvent, EventKind};
use serde_json::Value;

#[derive(Default)]
struct Learned {
    /// conversation → channel of its inbox.
    channel: HashMap<String, String>,
    /// conversation → its contact.
    contact: HashMap<String, String>,
    /// Conversations whose messages response is in the source.
    with_history: std::collections::HashSet<String>,
}

/// A Chatwoot inbox type as a channel of Baromètre.
pub fn channel(inbox: &str) -> String {
    match inbox.trim_start_matches("Channel::") {
        "WebWidget" | "Api" => "chat".into(),
        "Email" => "email".into(),
        "FacebookPage" => "facebook_messenger".into(),
        "TwitterProfile" => "twitter_dm".into(),
        "Instagram" => "instagram".into(),
        "Whatsapp" | "TwilioWhatsapp" => "whatsapp".into(),
        "Sms" | "TwilioSms" => "sms".into(),
        "Telegram" => "telegram".into(),
        "Line" => "line".into(),
        "Voice" => "phone".into(),
        other => other.to_ascii_lowercase(),
    }
}

/// Whether a response is a messages page (its payload's items carry `message_type`).
fn messages_of(v: &Value) -> Option<&Vec<Value>> {
    let p = v.get("payload")?.as_array()?;
    p.iter().any(|m| m.get("message_type").is_some()).then_some(p)
}

fn conversations_of(v: &Value) -> Option<&Vec<Value>> {
    v.get("data")
        .and_then(|d| d.get("payload"))
        .or_else(|| v.get("payload"))
        .and_then(Value::as_array)
        .filter(|p| p.iter().any(|c| c.get("inbox_id").is_some() && c.get("message_type").is_none()))
}

pub(super) fn rows(inputs: Vec<Input>, _opts: &Options) -> Result<Box<dyn Rows>, RowError> {
    let mut l = Learned::default();
    let (inputs, unreadable) = super::source::learn_each(inputs, |_, rs| {
        for r in rs {
            if let Some(ms) = messages_of(&r.value) {
                for m in ms {
                    if let Some(c) = m.get("conversation_id").and_then(id_of) {
                        l.with_history.insert(c);
                    }
                }
                if let (Some(c), Some(contact)) = (
                    ms.iter().find_map(|m| m.get("conversation_id").and_then(id_of)),
                    r.value.get("meta").and_then(|m| m.get("contact")).and_then(|c| c.get("id")).and_then(id_of),
                ) {
                    l.contact.entry(c).or_insert(contact);
                }
            }
            if let Some(cs) = conversations_of(&r.value) {
                for c in cs {
                    let Some(id) = c.get("id").and_then(id_of) else { continue };
                    if let Some(ch) = c.get("meta").and_then(|m| m.get("channel")).and_then(Value::as_str) {
                        l.channel.insert(id.clone(), channel(ch));
                    }
                    if let Some(s) =
                        c.get("meta").and_then(|m| m.get("sender")).and_then(|s| s.get("id")).and_then(id_of)
                    {
                        l.contact.insert(id, s);
                    }
                }
            }
        }
    });
    let l = Arc::new(l);
    let rows = ApiRows::new(inputs, move |input: &Input, rs: Vec<Response>, out: &mut VecDeque<_>| {
        for r in &rs {
            if let Some(ms) = messages_of(&r.value) {
                for m in ms {
                    message(input, r, m, &l, out);
                }
            } else if let Some(cs) = conversations_of(&r.value) {
                for c in cs {
                    let Some(id) = c.get("id").and_then(id_of) else { continue };
                    // A list holds a conversation's last message, not its history: read alone, a
                    // last customer message would be a request never answered. Said, not guessed.
                    if !l.with_history.contains(&id) {
                        out.push_back(refused(
                            input,
                            r.line_of("id", &id),
                            format!(
                                "conversation {id}: the list holds its last message only: import its messages (GET …/conversations/{id}/messages)"
                            ),
                        ));
                    }
                }
            } else if r.value.get("payload").is_none() && r.value.get("data").is_none() {
                out.push_back(refused(input, r.line, "not a Chatwoot response (no `payload`)".into()));
            }
        }
    });
    Ok(Box::new(rows.said_first(unreadable)))
}

fn message(input: &Input, r: &Response, m: &Value, l: &Learned, out: &mut VecDeque<Result<Located, RowError>>) {
    let Some(id) = m.get("id").and_then(id_of) else {
        out.push_back(refused(input, r.line, "a message without its `id`".into()));
        return;
    };
    let line = r.line_of("id", &id);
    let Some(conv) = m.get("conversation_id").and_then(id_of) else {
        out.push_back(refused(input, line, format!("message {id}: no `conversation_id`")));
        return;
    };
    let at = match m.get("created_at").map(super::source::api_instant) {
        Some(Ok(t)) => t,
        Some(Err(e)) => return out.push_back(refused(input, line, format!("message {id}: `created_at`: {e}"))),
        None => return out.push_back(refused(input, line, format!("message {id}: no `created_at`"))),
    };
    let kind = match m.get("message_type") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(99),
        Some(Value::String(s)) => match s.as_str() {
            "incoming" => 0,
            "outgoing" => 1,
            "activity" => 2,
            "template" => 3,
            _ => 99,
        },
        _ => 99,
    };
    // Conversation, contact and agent numbers are an account's own: two Chatwoot accounts (or
    // instances) in one workspace stay apart by their account number.
    let ns = match m.get("account_id").and_then(id_of) {
        Some(a) => format!("chatwoot:{a}"),
        None => "chatwoot".to_string(),
    };
    let conversation_id = format!("{ns}:{conv}");
    if kind == 2 {
        let text = m.get("content").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
        let event = if text.contains("reopened") || text.contains("réouvert") || text.contains("rouvert") {
            EventKind::Reopened
        } else if text.contains("marked resolved")
            || text.contains("marquée comme résolue")
            || text.contains("résolue par")
        {
            EventKind::Resolved
        } else {
            return;
        };
        out.push_back(located(
            input,
            line,
            Record::Event(ConversationEvent { conversation_id, event, at, agent_id: None }),
        ));
        return;
    }
    if m.get("private").and_then(Value::as_bool) == Some(true) {
        return;
    }
    if kind > 3 {
        out.push_back(refused(input, line, format!("message {id}: unknown `message_type`")));
        return;
    }
    let sender_type = m.get("sender_type").and_then(Value::as_str).unwrap_or("");
    let inner_type = m.get("sender").and_then(|s| s.get("type")).and_then(Value::as_str).unwrap_or("");
    let bot = kind == 3
        || sender_type.eq_ignore_ascii_case("AgentBot")
        || matches!(inner_type, "agent_bot" | "captain_assistant")
        || sender_type.contains("Captain");
    let sender = m.get("sender_id").or_else(|| m.get("sender").and_then(|s| s.get("id"))).and_then(id_of);
    let incoming = kind == 0;
    let author = match (&sender, incoming, bot) {
        (Some(s), true, _) => format!("{ns}:contact:{s}"),
        (Some(s), false, true) => format!("{ns}:bot:{s}"),
        (Some(s), false, false) => format!("{ns}:user:{s}"),
        (None, _, true) => format!("{ns}:bot"),
        (None, true, _) => {
            l.contact.get(&conv).map_or_else(|| format!("{ns}:contact"), |c| format!("{ns}:contact:{c}"))
        }
        (None, false, false) => format!("{ns}:user"),
    };
    let customer = if incoming { sender.clone() } else { l.contact.get(&conv).cloned() };
    let msg = Message {
        message_id: format!("{ns}:{id}"),
        created_at: at,
        direction: if incoming { Direction::In } else { Direction::Out },
        account: "chatwoot".into(),
        channel: l.channel.get(&conv).cloned().unwrap_or_else(|| "chat".into()),
        author_id: author,
        conversation_id: Some(conversation_id),
        customer_id: customer.map(|c| format!("{ns}:contact:{c}")),
        text: m.get("content").and_then(Value::as_str).filter(|t| !t.trim().is_empty()).map(str::to_string),
        bot,
        public: Some(false),
        ..Message::empty()
    };
    out.push_back(located(input, line, Record::Message(msg)));
}
