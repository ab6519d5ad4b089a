//! The rows behind a figure, as DATA.md's drill-down shows them, and the groups they fall in:
//! calendar buckets, group keys, the JSON row of each kind of fact or record. One place, so that
//! a report's groups and its drill-down's cannot part.

use crate::clock::{ConversationFact, MessageFact, RequestFact};
use crate::config::Config;
use crate::model::{Contact, Customer, Order, Post, Review, SurveyAnswer, SurveyInvitation};
use crate::table::FactTable;
use crate::time::{rfc3339_utc, Millis, Zone};
use crate::vocab::Dim;
use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{json, Map, Value as Json};

/// One row of a drill-down.
pub type Row = Map<String, Json>;

/// The period and grouping a figure is computed over: `[from, to)` (open ends = all data), the
/// grouping, the zone of calendar buckets.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub by: Option<Dim>,
    pub zone: Zone,
}

impl Scope {
    pub fn contains(&self, ms: Millis) -> bool {
        self.from.is_none_or(|f| ms >= f) && self.to.is_none_or(|t| ms < t)
    }
}

/// Calendar bucket of an instant: `2026-04-06`, ISO week `2026-W15`, month `2026-04`.
pub fn time_key(ms: Millis, dim: Dim, zone: Zone) -> String {
    let d = zone.local(ms).date();
    match dim {
        Dim::Week => {
            let w = d.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }
        Dim::Month => format!("{:04}-{:02}", d.year(), d.month()),
        _ => d.format("%Y-%m-%d").to_string(),
    }
}

/// The instant the calendar bucket of `ms` starts.
pub fn bucket_start(ms: Millis, dim: Dim, zone: Zone) -> Millis {
    let d = zone.local(ms).date();
    let first = match dim {
        Dim::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
        Dim::Month => d.with_day(1).unwrap_or(d),
        _ => d,
    };
    zone.day_start(first)
}

/// The calendar bucket a key names (`2026-04-06`, `2026-W15`, `2026-04`): its start and end.
pub fn bucket_of_key(key: &str, dim: Dim, zone: Zone) -> Option<(Millis, Millis)> {
    let first = match dim {
        Dim::Week => {
            let (y, w) = key.split_once("-W")?;
            NaiveDate::from_isoywd_opt(y.parse().ok()?, w.parse().ok()?, chrono::Weekday::Mon)?
        }
        Dim::Month => NaiveDate::parse_from_str(&format!("{key}-01"), "%Y-%m-%d").ok()?,
        Dim::Day => NaiveDate::parse_from_str(key, "%Y-%m-%d").ok()?,
        _ => return None,
    };
    // Only the years the data can hold: a key like `+262142-12-31` names no bucket.
    if !(1970..2100).contains(&first.year()) {
        return None;
    }
    let start = zone.day_start(first);
    (time_key(start, dim, zone) == key).then(|| (start, bucket_end(start, dim, zone)))
}

/// The instant a bucket ends.
pub fn bucket_end(ms: Millis, dim: Dim, zone: Zone) -> Millis {
    let d = zone.local(ms).date();
    let next = match dim {
        Dim::Week => d + Duration::days(7 - i64::from(d.weekday().num_days_from_monday())),
        Dim::Month => {
            let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
            NaiveDate::from_ymd_opt(y, m, 1).unwrap()
        }
        _ => d + Duration::days(1),
    };
    zone.day_start(next)
}

pub fn request_key(r: &RequestFact, dim: Dim, zone: Zone) -> Option<String> {
    match dim {
        Dim::Account => Some(r.account.clone()),
        Dim::Channel => Some(r.channel.clone()),
        Dim::Agent => r.agent.clone(),
        Dim::Team => r.team.clone(),
        Dim::Theme => None,
        _ => Some(time_key(r.start_ms, dim, zone)),
    }
}

pub fn message_key(m: &MessageFact, dim: Dim, zone: Zone) -> Option<String> {
    match dim {
        Dim::Account => Some(m.account.clone()),
        Dim::Channel => Some(m.channel.clone()),
        Dim::Agent => m.agent.clone(),
        Dim::Team => m.team.clone(),
        Dim::Theme => None,
        _ => Some(time_key(m.ms, dim, zone)),
    }
}

pub fn secs(ms: Millis) -> f64 {
    ms as f64 / 1000.0
}

pub fn group_matches(key: Option<String>, want: Option<&str>) -> bool {
    match want {
        None => true,
        Some("" | "null") => key.is_none(),
        Some(w) => key.as_deref() == Some(w),
    }
}

pub fn request_row(r: &RequestFact, cfg: &Config) -> Map<String, Json> {
    let cal = cfg.calendar(&r.account);
    let Json::Object(m) = json!({
        "message_id": r.request_id,
        "conversation_id": r.conversation_id,
        "account": r.account,
        "channel": r.channel,
        "customer": r.customer,
        "public": r.public,
        "start": rfc3339_utc(r.start_ms),
        "messages": r.messages,
        "first_of_conversation": r.first_of_conversation,
        "outcome": r.outcome.as_str(),
        "answer_message_id": r.answer_id,
        "closed_at": r.closed_ms.map(rfc3339_utc),
        "agent": r.agent,
        "team": r.team,
        "response_seconds": r.response_ms().map(secs),
        "response_seconds_business": r.response_ms().and(r.closed_ms).map(|e| secs(cal.open_ms(r.start_ms, e))),
        "handled_seconds": r.handled_ms().map(secs),
    }) else {
        unreachable!()
    };
    m
}

pub fn conversation_key(c: &ConversationFact, dim: Dim, zone: Zone) -> Option<String> {
    match dim {
        Dim::Account => Some(c.account.clone()),
        Dim::Channel => Some(c.channel.clone()),
        Dim::Agent => c.agent.clone(),
        Dim::Team => c.team.clone(),
        Dim::Theme => None,
        _ => Some(time_key(c.start_ms, dim, zone)),
    }
}

pub fn conversation_row(c: &ConversationFact) -> Map<String, Json> {
    let Json::Object(o) = json!({
        "conversation_id": c.conversation_id,
        "start": rfc3339_utc(c.start_ms),
        "account": c.account,
        "channel": c.channel,
        "agent": c.agent,
        "team": c.team,
        "resolved_at": c.first_resolved_ms.map(rfc3339_utc),
        "final_resolved_at": c.final_resolved_ms.map(rfc3339_utc),
        "reopens": c.reopens,
        "complaint_at": c.complaint_ms.map(rfc3339_utc),
        "complaint_resolved_at": c.complaint_resolved_ms.map(rfc3339_utc),
        "human_out_messages": c.human_out,
        "bot_only": c.bot_only,
        "human_handled": c.human,
        "participants": c.participants,
        "public": c.public,
    }) else {
        unreachable!()
    };
    o
}

pub fn message_row(m: &MessageFact) -> Map<String, Json> {
    let Json::Object(o) = json!({
        "message_id": m.message_id,
        "conversation_id": m.conversation_id,
        "account": m.account,
        "channel": m.channel,
        "created_at": rfc3339_utc(m.ms),
        "role": m.role.as_str(),
        "author_id": m.author_id,
        "agent": m.agent,
        "team": m.team,
        "public": m.public,
        "in_scope": m.in_scope,
        "actionable": m.actionable,
        "label": m.label,
        "label_source": m.label_source,
        "competitor": m.competitor,
        "themes": m.themes,
        "signed": m.signed,
        "handle_seconds": m.handle_seconds,
        "request_id": m.request_id,
        "unattached": m.unattached,
    }) else {
        unreachable!()
    };
    o
}

pub fn with(mut row: Map<String, Json>, k: &str, v: Json) -> Map<String, Json> {
    row.insert(k.into(), v);
    row
}

/// The rows behind a figure: for a count, the rows counted; for a ratio, the rows of its
/// denominator, each with `in_numerator`; for a duration, the rows measured, with `value_seconds`;
/// for the badge, the requests of its window. The same rules as the report decide.
/// Rows of the imports that need no clock, for drill-downs.
#[derive(Debug, Default, Clone)]
pub struct Records {
    pub reviews: Vec<Review>,
    pub customers: Vec<Customer>,
    pub orders: Vec<Order>,
    pub posts: Vec<Post>,
    pub surveys: Vec<SurveyAnswer>,
    pub contacts: Vec<Contact>,
    pub invitations: Vec<SurveyInvitation>,
    /// The workspace's knowledge base: a message's FAQ match names its entry by place.
    pub faq: Vec<crate::understand::faq::Entry>,
    /// Conversation → the agent who answered its first request ([`Facts::first_agents`]), when
    /// an answer or a review needs it ([`Records::needs_conversation_agents`]).
    pub conversation_agents: std::collections::HashMap<String, String>,
}

impl Records {
    /// Whether an answer or a review is tied to a conversation but to no agent.
    pub fn needs_conversation_agents(&self) -> bool {
        self.surveys.iter().any(|s| s.agent_id.is_none() && s.conversation_id.is_some())
            || self.reviews.iter().any(|r| r.agent_id.is_none() && r.conversation_id.is_some())
    }

    /// Fills [`Records::conversation_agents`] with `agents` ([`Facts::first_agents`]), asked only
    /// when an answer or a review needs them.
    pub fn credit_conversations<E>(
        &mut self,
        agents: impl FnOnce() -> Result<std::collections::HashMap<String, String>, E>,
    ) -> Result<(), E> {
        if self.needs_conversation_agents() {
            self.conversation_agents = agents()?;
        }
        Ok(())
    }

    /// The agent a quality review counts for: its own, else its conversation's first agent.
    pub fn review_agent<'a>(&'a self, r: &'a Review) -> Option<&'a str> {
        r.agent_id
            .as_deref()
            .or_else(|| r.conversation_id.as_ref().and_then(|c| self.conversation_agents.get(c)).map(String::as_str))
    }

    /// Adds survey answers, invitations, contacts, reviews, posts, customers and orders to a
    /// report's table, each survey answer where [`Records::survey_links`] credits it (the rule the
    /// drill-down shares). Every store builds its tables with it, so all give the same rows.
    pub fn add_to(&self, t: &mut FactTable) {
        let (credits, answered) = self.survey_links();
        for (s, c) in self.surveys.iter().zip(credits) {
            t.surveys.push(FactTable::survey_row_of(&mut t.dict, s, c.agent, c.invitation));
        }
        for c in &self.contacts {
            t.contacts.push(FactTable::contact_row(&mut t.dict, c));
        }
        for r in &self.reviews {
            t.reviews.push(FactTable::review_row(&mut t.dict, r, self.review_agent(r)));
        }
        for (i, a) in self.invitations.iter().zip(answered) {
            t.invitations.push(FactTable::invitation_row(&mut t.dict, i, a));
        }
        for p in &self.posts {
            t.push_post(p);
        }
        for c in &self.customers {
            t.dict.id(&c.account);
        }
        t.customers.clone_from(&self.customers);
        t.orders.clone_from(&self.orders);
    }

    /// Each survey answer as reports credit it ([`Records::survey_links`]).
    pub fn survey_credits(&self) -> Vec<SurveyCredit<'_>> {
        self.survey_links().0
    }

    /// Answers and invitations linked once: each answer as reports credit it — the one rule the
    /// report and its drill-down share: its own account, channel and agent; else its
    /// invitation's account and channel and its conversation's first agent; the theme of its
    /// invitation — and, for each invitation, whether an answer answered it.
    pub fn survey_links(&self) -> (Vec<SurveyCredit<'_>>, Vec<bool>) {
        let (answered, invitation_of) = crate::model::link_invitations(&self.surveys, &self.invitations);
        let credits = self
            .surveys
            .iter()
            .zip(invitation_of)
            .map(|(a, inv)| {
                let inv = inv.map(|i| &self.invitations[i]);
                SurveyCredit {
                    invitation: inv,
                    account: a.account.as_deref().or(inv.and_then(|i| i.account.as_deref())),
                    channel: a.channel.as_deref().or(inv.and_then(|i| i.channel.as_deref())),
                    agent: a.agent_id.as_deref().or_else(|| {
                        a.conversation_id.as_ref().and_then(|c| self.conversation_agents.get(c)).map(String::as_str)
                    }),
                    theme: inv.and_then(|i| i.theme.as_deref()),
                }
            })
            .collect();
        (credits, answered)
    }
}

/// Whether a record at `ms` with these names belongs to `group` of the period's grouping.
pub fn record_in_group(
    p: &Scope,
    group: Option<&str>,
    ms: Millis,
    account: Option<&str>,
    channel: Option<&str>,
    agent: Option<&str>,
) -> bool {
    p.contains(ms) && p.by.is_none_or(|d| group_matches(record_key(ms, account, channel, agent, d, p.zone), group))
}

/// Where a survey answer counts ([`Records::survey_credits`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurveyCredit<'a> {
    pub invitation: Option<&'a SurveyInvitation>,
    pub account: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub agent: Option<&'a str>,
    pub theme: Option<&'a str>,
}

pub fn record_key(
    ms: Millis,
    account: Option<&str>,
    channel: Option<&str>,
    agent: Option<&str>,
    dim: Dim,
    zone: Zone,
) -> Option<String> {
    match dim {
        Dim::Account => account.map(str::to_string),
        Dim::Channel => channel.map(str::to_string),
        Dim::Agent => agent.map(str::to_string),
        Dim::Team | Dim::Theme => None,
        _ => Some(time_key(ms, dim, zone)),
    }
}

pub fn survey_json(a: &SurveyAnswer) -> Map<String, Json> {
    let Json::Object(m) = json!({
        "response_id": a.response_id,
        "survey": a.survey,
        "score": a.score,
        "scale_min": a.scale_min,
        "scale_max": a.scale_max,
        "normalised": a.normalised(),
        "answered_at": rfc3339_utc(a.answered_at.ms),
        "conversation_id": a.conversation_id,
        "agent_id": a.agent_id,
        "channel": a.channel,
        "account": a.account,
        "customer_id": a.customer_id,
        "answer": a.answer,
    }) else {
        unreachable!()
    };
    m
}

pub fn post_json(x: &Post) -> Map<String, Json> {
    let Json::Object(m) = json!({
        "post_id": x.post_id,
        "account": x.account,
        "channel": x.channel,
        "published_at": rfc3339_utc(x.published_at.ms),
        "theme": x.theme,
        "impressions": x.impressions,
        "reach": x.reach,
        "engagements": x.engagements,
        "engagement_rate": (x.reach > 0).then(|| x.engagements as f64 * 100.0 / x.reach as f64),
    }) else {
        unreachable!()
    };
    m
}

pub fn contact_json(c: &Contact) -> Map<String, Json> {
    let Json::Object(m) = json!({
        "contact_id": c.contact_id,
        "channel": c.channel,
        "account": c.account,
        "queued_at": rfc3339_utc(c.queued_at.ms),
        "answered_at": c.answered_at.map(|a| rfc3339_utc(a.ms)),
        "ended_at": c.ended_at.map(|a| rfc3339_utc(a.ms)),
        "agent_id": c.agent_id,
        "wait_seconds": c.answered_at.map(|a| secs(a.ms - c.queued_at.ms)),
    }) else {
        unreachable!()
    };
    m
}
