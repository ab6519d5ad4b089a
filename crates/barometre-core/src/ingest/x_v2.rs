//! X API v2 pages, as the API returns them: tweet objects (`/2/tweets/search/recent`,
//! `/2/users/:id/mentions`, `/2/users/:id/tweets`, with `conversation_id`, `author_id`,
//! `created_at`, `in_reply_to_user_id`, `referenced_tweets` and the `includes.users` expansion,
//! paged by `meta.next_token`: one page per file or per line) and direct-message events
//! (`/2/dm_events`).
//!
//! Which side is the company's is said with `--account @handle` (or the account's numeric id): a
//! tweet is `out` when the company wrote it. Only the page's `data` are messages (`includes.tweets`
//! are context the query did not select); an edited tweet counts once, as its latest version (the
//! earlier ids of `edit_history_tweet_ids` are dropped). Tweets are public on channel `twitter`,
//! DMs private on `twitter_dm`, conversations keyed by `conversation_id` / `dm_conversation_id`.
//! Ids are kept apart from other sources (`x:` prefix); the account is the company's handle.

use super::source::{api_instant, id_of, located, refused, ApiRows, Input, Options, Response, Rows};
use super::*;
use serde_json::Value;

struct Learned {
    own: Vec<String>,
    handle: String,
    superseded: std::collections::HashSet<String>,
    /// Tweet → its author: the customer a reply answers when the page does not say
    /// `in_reply_to_user_id`.
    authors: HashMap<String, String>,
}

pub(super) fn rows(inputs: Vec<Input>, opts: &Options) -> Result<Box<dyn Rows>, RowError> {
    if opts.accounts.is_empty() {
        return Err(super::source::source_error(
            &inputs,
            "an X export does not say which account is the company's: give it with --account @handle (or its id)",
        ));
    }
    // lower-cased handle → (id, handle as written).
    let mut users: HashMap<String, (String, String)> = HashMap::default();
    let mut superseded = std::collections::HashSet::new();
    let mut authors: HashMap<String, String> = HashMap::default();
    let (inputs, unreadable) = super::source::learn_each(inputs, |_, rs| {
        for r in rs {
            for u in
                r.value.get("includes").and_then(|i| i.get("users")).and_then(Value::as_array).into_iter().flatten()
            {
                if let (Some(id), Some(name)) = (u.get("id").and_then(id_of), u.get("username").and_then(Value::as_str))
                {
                    users.insert(name.to_ascii_lowercase(), (id, name.to_string()));
                }
            }
            for t in data_items(&r.value) {
                let Some(id) = t.get("id").and_then(id_of) else { continue };
                if let Some(a) = t.get("author_id").and_then(id_of) {
                    authors.insert(id.clone(), a);
                }
                for e in t.get("edit_history_tweet_ids").and_then(Value::as_array).into_iter().flatten() {
                    if let Some(e) = id_of(e).filter(|e| *e != id) {
                        superseded.insert(e);
                    }
                }
            }
        }
    });
    let mut own = Vec::new();
    let mut handle = String::new();
    for a in &opts.accounts {
        let a = a.trim();
        let bare = a.trim_start_matches('@');
        if !a.starts_with('@') && bare.bytes().all(|b| b.is_ascii_digit()) {
            own.push(bare.to_string());
            if handle.is_empty() {
                handle = users.values().find(|(id, _)| id == bare).map_or(bare.to_string(), |(_, n)| n.clone());
            }
        } else {
            match users.get(&bare.to_ascii_lowercase()) {
                Some((id, name)) => {
                    own.push(id.clone());
                    if handle.is_empty() {
                        handle = name.clone();
                    }
                }
                None => {
                    return Err(super::source::source_error(
                        &inputs,
                        format!(
                            "--account {a}: no such user in the pages' `includes.users` (ask the API with expansions=author_id, or give the account's numeric id)"
                        ),
                    ))
                }
            }
            if handle.is_empty() {
                handle = bare.to_string();
            }
        }
    }
    let l = Arc::new(Learned { own, handle, superseded, authors });
    let rows = ApiRows::new(inputs, move |input: &Input, rs: Vec<Response>, out: &mut VecDeque<_>| {
        for r in &rs {
            // `errors` name deleted or protected tweets the page refers to: not rows of it.
            if r.value.get("data").is_none() {
                if r.value.get("meta").is_none() {
                    out.push_back(refused(input, r.line, "not an X API v2 page (no `data`, no `meta`)".into()));
                }
                continue;
            }
            for t in data_items(&r.value) {
                item(input, r, t, &l, out);
            }
        }
    });
    Ok(Box::new(rows.said_first(unreadable)))
}

/// A page's `data`: a list of tweets, or one tweet (a lookup by id).
fn data_items(v: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    match v.get("data") {
        Some(Value::Array(a)) => Box::new(a.iter()),
        Some(one @ Value::Object(_)) => Box::new(std::iter::once(one)),
        _ => Box::new(std::iter::empty()),
    }
}

fn item(input: &Input, r: &Response, t: &Value, l: &Learned, out: &mut VecDeque<Result<Located, RowError>>) {
    let Some(id) = t.get("id").and_then(id_of) else {
        out.push_back(refused(input, r.line, "an item without its `id`".into()));
        return;
    };
    let line = r.line_of("id", &id);
    if l.superseded.contains(&id) {
        return;
    }
    let dm = t.get("dm_conversation_id").is_some() || t.get("event_type").is_some();
    if dm && t.get("event_type").and_then(Value::as_str).is_some_and(|e| e != "MessageCreate") {
        // Participants joining or leaving: not messages.
        return;
    }
    let refs = t.get("referenced_tweets").and_then(Value::as_array);
    let is_ref = |kind: &str| refs.into_iter().flatten().any(|x| x.get("type").and_then(Value::as_str) == Some(kind));
    // A retweet repeats someone else's tweet: neither a request nor a reply (a quote says
    // something of its own and is kept).
    if is_ref("retweeted") {
        return;
    }
    let created = match t.get("created_at").map(api_instant) {
        Some(Ok(x)) => x,
        Some(Err(e)) => return out.push_back(refused(input, line, format!("{id}: `created_at`: {e}"))),
        None => {
            return out.push_back(refused(
                input,
                line,
                format!("{id}: no `created_at` (ask the API with tweet.fields=created_at)"),
            ))
        }
    };
    let author = t.get("author_id").or_else(|| t.get("sender_id")).and_then(id_of);
    let Some(author) = author else {
        return out.push_back(refused(
            input,
            line,
            format!("{id}: no `author_id` (ask the API with tweet.fields=author_id)"),
        ));
    };
    let own = l.own.contains(&author);
    let replied = refs
        .and_then(|a| a.iter().find(|x| x.get("type").and_then(Value::as_str) == Some("replied_to")))
        .and_then(|x| x.get("id"))
        .and_then(id_of);
    let (conversation, customer) = if dm {
        let c = t.get("dm_conversation_id").and_then(id_of);
        // One-to-one conversations are named `<lower id>-<higher id>`: the customer is the other.
        let other = c.as_deref().and_then(|c| c.split('-').find(|p| !l.own.iter().any(|o| o == p)).map(str::to_string));
        (c.map(|c| format!("x:dm:{c}")), if own { other } else { Some(author.clone()) })
    } else {
        let to = t
            .get("in_reply_to_user_id")
            .and_then(id_of)
            .or_else(|| replied.as_ref().and_then(|r| l.authors.get(r).cloned()))
            .filter(|u| !l.own.contains(u));
        let customer = if own { to } else { Some(author.clone()) };
        // Under one tweet, each customer's exchange with the company is its own conversation (as
        // each comment thread of a Facebook post): answering one customer answers no other.
        let conv = t.get("conversation_id").and_then(id_of).map(|c| match &customer {
            Some(u) => format!("x:{c}:{u}"),
            None => format!("x:{c}"),
        });
        (conv, customer)
    };
    let reply_to = replied.as_ref().map(|p| format!("x:{p}"));
    let m = Message {
        message_id: format!("x:{id}"),
        created_at: created,
        direction: if own { Direction::Out } else { Direction::In },
        account: l.handle.clone(),
        channel: if dm { "twitter_dm" } else { "twitter" }.into(),
        author_id: format!("x:{author}"),
        conversation_id: conversation,
        reply_to,
        customer_id: customer.map(|c| format!("x:{c}")),
        text: t.get("text").and_then(Value::as_str).filter(|s| !s.trim().is_empty()).map(str::to_string),
        public: Some(!dm),
        ..Message::empty()
    };
    out.push_back(located(input, line, Record::Message(m)));
}
