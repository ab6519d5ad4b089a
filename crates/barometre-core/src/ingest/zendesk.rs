//! Zendesk Support exports, as the API returns them (one page per file, or one per line):
//!
//! - the incremental ticket export (`tickets`, with its `users` side-load): not messages (a
//!   ticket's `description` repeats its first comment) but what the other files need: each
//!   ticket's requester and channel, each user's role; deleted tickets are left out;
//! - incremental ticket events with their comment events (`ticket_events` and their
//!   `child_events`): a public comment is `in` when its author is an end-user (the `users` role;
//!   the ticket's requester when no role is known), `out` when an agent or an admin; private notes
//!   are skipped; a status change to `solved` (or to `closed` from anything but `solved`) is a
//!   `resolved` event, a change from `solved`/`closed` back to another status a `reopened` one;
//!   `solved` → `closed` is not a second resolution;
//! - `satisfaction_ratings`: `good` and `bad` are CSAT answers (1 and 0 on a 0–1 scale), credited to
//!   the ticket and its assignee; `offered` and `unoffered` are not answers.
//!
//! A ticket is a conversation (`zendesk:ticket:<id>`), on the channel its `via.channel` names
//! (`email`, `web` → `web_form`, `chat`, `voice` → `phone`, `twitter`, `facebook` →
//! `facebook_wall`…). Ids are kept apart from other sources (`zendesk:` prefix): a comment 1041 and
//! a spreadsheet's row 1041 are two messages. The account is `zendesk` (`--account-name` to set the
//! brand).

use super::source::{api_instant, id_of, located, refused, ApiRows, Input, Options, Response, Rows};
use super::*;
use crate::model::{ConversationEvent, EventKind, SurveyAnswer};
use serde_json::Value;

#[derive(Default)]
struct Ticket {
    requester: Option<String>,
    assignee: Option<String>,
    channel: Option<String>,
    deleted: bool,
}

#[derive(Default)]
struct Learned {
    /// user id → role (`end-user`, `agent`, `admin`).
    roles: HashMap<String, String>,
    tickets: HashMap<String, Ticket>,
    /// ticket → channel of its earliest comment, when the tickets export is not there.
    first_channel: HashMap<String, (i64, String)>,
}

/// A Zendesk `via.channel` as a channel of Baromètre.
pub fn channel(via: &str) -> String {
    match via.to_ascii_lowercase().as_str() {
        "web" | "web_form" | "web_widget" | "mobile_sdk" | "mobile" | "help_center" | "web_service" => {
            "web_form".into()
        }
        "chat" | "native_messaging" | "chat_transcript" | "messaging" | "sunshine_conversations" => "chat".into(),
        "voice" | "phone" | "phone_call_inbound" | "phone_call_outbound" | "voicemail" => "phone".into(),
        "facebook" | "facebook_post" => "facebook_wall".into(),
        "facebook_message" | "facebook_messenger" => "facebook_messenger".into(),
        "instagram_dm" | "instagram" => "instagram".into(),
        "email" | "mail" => "email".into(),
        other => other.to_string(),
    }
}

/// A ticket's (or comment's) channel from its `via`: the channel, told apart by `source.rel` where
/// one channel carries both public and private messages (a tweet or a direct message, a post or a
/// Messenger message).
fn via_channel(v: Option<&Value>) -> Option<String> {
    let v = v?;
    let c = channel(v.get("channel").and_then(Value::as_str)?);
    let rel = v.get("source").and_then(|s| s.get("rel")).and_then(Value::as_str).unwrap_or("");
    Some(match (c.as_str(), rel) {
        ("twitter", "direct_message") => "twitter_dm".into(),
        ("facebook_wall", "message") => "facebook_messenger".into(),
        _ => c,
    })
}

pub(super) fn rows(inputs: Vec<Input>, _opts: &Options) -> Result<Box<dyn Rows>, RowError> {
    let mut l = Learned::default();
    let mut has_history = false;
    let (inputs, unreadable) = super::source::learn_each(inputs, |_, rs| {
        for r in rs {
            for u in array(&r.value, "users") {
                if let (Some(id), Some(role)) = (u.get("id").and_then(id_of), u.get("role").and_then(Value::as_str)) {
                    l.roles.insert(id, role.to_ascii_lowercase());
                }
            }
            for t in array(&r.value, "tickets") {
                let Some(id) = t.get("id").and_then(id_of) else { continue };
                l.tickets.insert(
                    id,
                    Ticket {
                        requester: t.get("requester_id").and_then(id_of),
                        assignee: t.get("assignee_id").and_then(id_of),
                        channel: via_channel(t.get("via")),
                        deleted: t.get("status").and_then(Value::as_str) == Some("deleted"),
                    },
                );
            }
            for e in array(&r.value, "ticket_events") {
                has_history = true;
                let Some(ticket) = e.get("ticket_id").and_then(id_of) else { continue };
                for c in e.get("child_events").and_then(Value::as_array).into_iter().flatten() {
                    if !is_comment(c) {
                        continue;
                    }
                    if let (Some(ch), Ok(at)) = (via_channel(c.get("via")), instant_of(c, e)) {
                        let slot = l.first_channel.entry(ticket.clone()).or_insert((at.ms, ch.clone()));
                        if at.ms < slot.0 {
                            *slot = (at.ms, ch);
                        }
                    }
                }
            }
            has_history |= r.value.get("satisfaction_ratings").is_some();
        }
    });
    if !has_history && unreadable.is_empty() {
        return Err(super::source::source_error(
            &inputs,
            "Zendesk tickets alone hold no messages (a ticket is its current state): import them with the incremental ticket events (include=comment_events) or the satisfaction ratings",
        ));
    }
    let l = Arc::new(l);
    let rows = ApiRows::new(inputs, move |input: &Input, rs: Vec<Response>, out: &mut VecDeque<_>| {
        for r in &rs {
            for e in array(&r.value, "ticket_events") {
                event(input, r, e, &l, out);
            }
            for s in array(&r.value, "satisfaction_ratings") {
                rating(input, r, s, &l, out);
            }
        }
    });
    Ok(Box::new(rows.said_first(unreadable)))
}

fn array<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// A comment event: `Comment`, and the channel-specific kinds of the audits reference
/// (`VoiceComment`, `FacebookComment`, `TwitterComment`…).
fn is_comment(c: &Value) -> bool {
    let t = |k: &str| c.get(k).and_then(Value::as_str);
    t("event_type").or_else(|| t("type")).is_some_and(|k| k.ends_with("Comment"))
}

/// A child event's instant: its own `created_at`, else its audit's (`created_at`, `timestamp`).
fn instant_of(c: &Value, parent: &Value) -> Result<Stamp, String> {
    match c.get("created_at").filter(|v| !v.is_null()) {
        Some(v) => api_instant(v),
        None => match parent.get("created_at").filter(|v| !v.is_null()) {
            Some(v) => api_instant(v),
            None => api_instant(parent.get("timestamp").unwrap_or(&Value::Null)),
        },
    }
}

impl Learned {
    fn channel_of(&self, ticket: &str) -> String {
        self.tickets
            .get(ticket)
            .and_then(|t| t.channel.clone())
            .or_else(|| self.first_channel.get(ticket).map(|(_, c)| c.clone()))
            .unwrap_or_else(|| "zendesk".into())
    }
}

fn event(input: &Input, r: &Response, e: &Value, l: &Learned, out: &mut VecDeque<Result<Located, RowError>>) {
    let audit = e.get("id").and_then(id_of).unwrap_or_default();
    let line = r.line_of("id", &audit);
    let Some(ticket) = e.get("ticket_id").and_then(id_of) else {
        out.push_back(refused(input, line, format!("ticket event {audit}: no `ticket_id`")));
        return;
    };
    let info = l.tickets.get(&ticket);
    if info.is_some_and(|t| t.deleted) {
        return;
    }
    let conversation = format!("zendesk:ticket:{ticket}");
    for c in e.get("child_events").and_then(Value::as_array).into_iter().flatten() {
        let cid = c.get("id").and_then(id_of).unwrap_or_default();
        let cline = r.line_of("id", &cid);
        if is_comment(c) {
            let public = c.get("public").or_else(|| c.get("comment_public")).and_then(Value::as_bool).unwrap_or(true);
            if !public {
                continue;
            }
            let at = match instant_of(c, e) {
                Ok(t) => t,
                Err(err) => {
                    out.push_back(refused(input, cline, format!("comment {cid}: {err}")));
                    continue;
                }
            };
            let Some(author) = c.get("author_id").or_else(|| e.get("updater_id")).and_then(id_of) else {
                out.push_back(refused(input, cline, format!("comment {cid}: no `author_id`")));
                continue;
            };
            let requester = info.and_then(|t| t.requester.clone());
            let incoming = match l.roles.get(&author).map(String::as_str) {
                Some("end-user") | Some("end_user") => true,
                Some(_) => false,
                None if requester.as_deref() == Some(author.as_str()) => true,
                // Anyone else without a known role (a colleague in copy, a deleted user) is not
                // taken for an agent: that would close the customer's request.
                None => {
                    out.push_back(refused(
                        input,
                        cline,
                        format!(
                            "comment {cid}: cannot tell whether user {author} is a customer or an agent: import the tickets export with its users (include=users)"
                        ),
                    ));
                    continue;
                }
            };
            let text = c.get("plain_body").or_else(|| c.get("body")).and_then(Value::as_str);
            let channel = l.channel_of(&ticket);
            let m = Message {
                message_id: format!("zendesk:comment:{cid}"),
                created_at: at,
                direction: if incoming { Direction::In } else { Direction::Out },
                account: "zendesk".into(),
                channel: channel.clone(),
                author_id: format!("zendesk:user:{author}"),
                conversation_id: Some(conversation.clone()),
                customer_id: if incoming { Some(author.clone()) } else { requester }
                    .map(|u| format!("zendesk:user:{u}")),
                text: text.filter(|t| !t.trim().is_empty()).map(str::to_string),
                // Said, not left to the channel's default: a Zendesk `instagram` ticket is a DM.
                public: Some(matches!(channel.as_str(), "twitter" | "facebook_wall")),
                ..Message::empty()
            };
            out.push_back(located(input, cline, Record::Message(m)));
            continue;
        }
        let kind = c.get("event_type").or_else(|| c.get("type")).and_then(Value::as_str);
        // A change of status, or a ticket created already solved (a call logged after the fact).
        if kind != Some("Change") && kind != Some("Create") {
            continue;
        }
        // The incremental export names the changed field by its key (`"status": "solved"`); the
        // audits API by `field_name` and `value`: both are read.
        let (new, old) = match (c.get("status"), c.get("field_name").and_then(Value::as_str)) {
            (Some(v), _) => (v.as_str(), c.get("previous_value").and_then(Value::as_str)),
            (None, Some("status")) => {
                (c.get("value").and_then(Value::as_str), c.get("previous_value").and_then(Value::as_str))
            }
            _ => continue,
        };
        let Some(new) = new else { continue };
        let closed = |s: &str| s == "solved" || s == "closed";
        let event = if (new == "solved" && old != Some("solved")) || (new == "closed" && !old.is_some_and(closed)) {
            EventKind::Resolved
        } else if old.is_some_and(closed) && !closed(new) {
            EventKind::Reopened
        } else {
            continue;
        };
        let at = match instant_of(c, e) {
            Ok(t) => t,
            Err(err) => {
                out.push_back(refused(input, cline, format!("status change {cid}: {err}")));
                continue;
            }
        };
        let updater = e.get("updater_id").and_then(id_of);
        let agent = updater.filter(|u| matches!(l.roles.get(u).map(String::as_str), Some("agent") | Some("admin")));
        let ev = ConversationEvent {
            conversation_id: conversation.clone(),
            event,
            at,
            agent_id: agent.map(|a| format!("zendesk:user:{a}")),
        };
        out.push_back(located(input, cline, Record::Event(ev)));
    }
}

fn rating(input: &Input, r: &Response, s: &Value, l: &Learned, out: &mut VecDeque<Result<Located, RowError>>) {
    let Some(id) = s.get("id").and_then(id_of) else {
        out.push_back(refused(input, r.line, "a satisfaction rating without its `id`".into()));
        return;
    };
    let line = r.line_of("id", &id);
    let score = match s.get("score").and_then(Value::as_str) {
        Some("good") => 1.0,
        Some("bad") => 0.0,
        // Offered or not offered: a survey sent, not an answer.
        _ => return,
    };
    let at = s.get("updated_at").filter(|v| !v.is_null()).or_else(|| s.get("created_at"));
    let answered_at = match at.map(api_instant) {
        Some(Ok(t)) => t,
        Some(Err(e)) => return out.push_back(refused(input, line, format!("rating {id}: {e}"))),
        None => return out.push_back(refused(input, line, format!("rating {id}: no `updated_at`"))),
    };
    let ticket = s.get("ticket_id").and_then(id_of);
    let assignee = s
        .get("assignee_id")
        .and_then(id_of)
        .or_else(|| ticket.as_ref().and_then(|t| l.tickets.get(t)?.assignee.clone()));
    let a = SurveyAnswer {
        response_id: format!("zendesk:rating:{id}"),
        survey: "csat".into(),
        score: Some(score),
        scale_min: Some(0.0),
        scale_max: Some(1.0),
        answered_at,
        conversation_id: ticket.as_ref().map(|t| format!("zendesk:ticket:{t}")),
        agent_id: assignee.map(|a| format!("zendesk:user:{a}")),
        channel: ticket.as_ref().map(|t| l.channel_of(t)),
        account: Some("zendesk".into()),
        customer_id: s.get("requester_id").and_then(id_of).map(|u| format!("zendesk:user:{u}")),
        comment: s.get("comment").and_then(Value::as_str).filter(|c| !c.trim().is_empty()).map(str::to_string),
        answer: None,
    };
    out.push_back(located(input, line, Record::Survey(a)));
}
