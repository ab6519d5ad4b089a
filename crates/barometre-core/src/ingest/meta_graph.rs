//! Meta Graph API dumps, as the API returns them (one response per file, or one per line):
//!
//! - page conversations (`/{page-id}/conversations?fields=participants,messages{…}`, Messenger and
//!   Instagram): a message is `out` when written by the page (or Instagram account), else `in`;
//!   channel `facebook_messenger`, or `instagram` when participants carry a `username`; private;
//! - the page feed (`/{page-id}/feed?fields=…,comments{…,comments{…}}`) or a post's comments: every
//!   comment and reply is a public message (`facebook_wall`), `out` when the page wrote it; a thread
//!   (a top-level comment and its replies) is one conversation; a comment without `from` (hidden by
//!   privacy) is a customer's;
//! - post insights (`/{post-id}/insights`, several posts at once, or the `insights` field of a
//!   feed): `post_impressions` (or `post_media_view`) → impressions, `post_impressions_unique` (or
//!   `post_total_media_view_unique`) → reach, `post_engaged_users` → engagements, else the sum of
//!   reactions, comments, shares and clicks; a post whose insights lack impressions or reach is
//!   refused, naming the metric (never guessed from another one).
//!
//! The page is the `--account` given, else the one participant every conversation shares, else the
//! author of the feed's posts. Graph writes offsets without a colon (`+0000`) and lists messages
//! newest first: order is never relied on. Ids are kept apart from other sources (`meta:` prefix).
//! The account of a row is the page's name as the dump gives it (`--account-name` to set it).

use super::source::{api_instant, id_of, located, refused, ApiRows, Input, Options, Response, Rows};
use super::*;
use serde_json::Value;

#[derive(Default)]
struct Learned {
    /// The company's own ids (page, Instagram account).
    own: Vec<String>,
    /// id → display name (name, or username).
    names: HashMap<String, String>,
    /// post id → its publication instant, as written.
    posts: HashMap<String, Value>,
}

pub(super) fn rows(inputs: Vec<Input>, opts: &Options) -> Result<Box<dyn Rows>, RowError> {
    let mut l = Learned::default();
    let given: Vec<String> = opts.accounts.iter().map(|a| a.trim_start_matches('@').to_string()).collect();
    // Participants of each conversation, per platform: the page is the one they all share.
    let mut shared: [Option<Vec<String>>; 2] = [None, None];
    let mut post_authors: Vec<String> = Vec::new();
    let (inputs, unreadable) = super::source::learn_each(inputs, |_, rs| {
        for r in rs {
            walk_objects(&r.value, &mut |o| {
                if let Some(ps) = o.get("participants").and_then(|p| p.get("data")).and_then(Value::as_array) {
                    let ig = ps.iter().any(|p| p.get("username").is_some());
                    let ids: Vec<String> = ps.iter().filter_map(|p| p.get("id").and_then(id_of)).collect();
                    for p in ps {
                        if let (Some(id), Some(n)) = (p.get("id").and_then(id_of), name_of(p)) {
                            l.names.insert(id, n);
                        }
                    }
                    let slot = &mut shared[usize::from(ig)];
                    *slot = Some(match slot.take() {
                        None => ids,
                        Some(prev) => prev.into_iter().filter(|x| ids.contains(x)).collect(),
                    });
                }
                let time = o.get("created_time").or_else(|| o.get("timestamp"));
                if let (Some(id), Some(t)) = (o.get("id").and_then(id_of), time) {
                    if let Some(page) = post_page(o) {
                        post_authors.extend(page);
                        l.posts.insert(id, t.clone());
                    }
                }
                if let Some(from) = o.get("from") {
                    if let (Some(id), Some(n)) = (from.get("id").and_then(id_of), name_of(from)) {
                        l.names.entry(id).or_insert(n);
                    }
                }
            });
        }
    });
    // The accounts given (by id, or by the name the dump gives them), and those the dump shows:
    // a page given alone still leaves its Instagram account recognised.
    for g in given {
        let by_name = l.names.iter().find(|(_, n)| n.eq_ignore_ascii_case(&g)).map(|(id, _)| id.clone());
        l.own.push(by_name.unwrap_or(g));
    }
    for ids in shared.iter().flatten() {
        if let [one] = ids.as_slice() {
            l.own.push(one.clone());
        }
    }
    l.own.extend(post_authors);
    l.own.sort();
    l.own.dedup();
    if l.own.is_empty() {
        return Err(super::source::source_error(
            &inputs,
            "cannot tell the page from its customers (a single conversation, and no post): say it with --account PAGE_ID",
        ));
    }
    let l = Arc::new(l);
    let rows = ApiRows::new(inputs, move |input: &Input, rs: Vec<Response>, out: &mut VecDeque<_>| {
        for r in &rs {
            response_rows(input, r, &l, out);
        }
    });
    Ok(Box::new(rows.said_first(unreadable)))
}

fn name_of(p: &Value) -> Option<String> {
    p.get("name").or_else(|| p.get("username")).and_then(Value::as_str).map(str::to_string)
}

/// An Instagram media object (a post of an Instagram account).
fn ig_media(o: &serde_json::Map<String, Value>) -> bool {
    ["media_type", "media_url", "caption", "permalink", "media_product_type"].iter().any(|k| o.contains_key(*k))
}

/// Whether an object is a post, and its page when known. A Facebook post's id is
/// `<page>_<post>` and the page wrote it; a comment's is `<post>_<comment>`, written by someone
/// else (asked with `reactions` or `attachments`, it has a post's fields: they do not decide).
fn post_page(o: &serde_json::Map<String, Value>) -> Option<Option<String>> {
    if o.get("parent").is_some() {
        return None;
    }
    if ig_media(o) {
        return Some(o.get("owner").and_then(|w| w.get("id")).and_then(id_of));
    }
    let id = o.get("id").and_then(id_of)?;
    let (prefix, _) = id.split_once('_')?;
    let from = o.get("from").and_then(|f| f.get("id")).and_then(id_of);
    let permalink = o.get("permalink_url").and_then(Value::as_str).unwrap_or("");
    let by_page = match from {
        Some(f) => f == prefix,
        None => permalink.contains("/posts/") || o.contains_key("status_type") || o.contains_key("story"),
    };
    by_page.then(|| Some(prefix.to_string()))
}

/// A post in the second pass: its page is known.
fn is_post(o: &serde_json::Map<String, Value>, l: &Learned) -> bool {
    o.get("parent").is_none() && (own_post(o, l) || ig_media(o) || post_page(o).is_some())
}

/// Every object of a response, depth first.
fn walk_objects(v: &Value, f: &mut dyn FnMut(&serde_json::Map<String, Value>)) {
    match v {
        Value::Object(o) => {
            f(o);
            for x in o.values() {
                walk_objects(x, f);
            }
        }
        Value::Array(a) => {
            for x in a {
                walk_objects(x, f);
            }
        }
        _ => {}
    }
}

fn response_rows(input: &Input, r: &Response, l: &Learned, out: &mut VecDeque<Result<Located, RowError>>) {
    let Value::Object(top) = &r.value else {
        out.push_back(refused(input, r.line, "a Graph response is an object".into()));
        return;
    };
    if let Some(e) = top.get("error") {
        let msg = e.get("message").and_then(Value::as_str).unwrap_or("unknown error");
        out.push_back(refused(input, r.line, format!("the file holds a Graph API error, not data: {msg}")));
        return;
    }
    match top.get("data") {
        Some(Value::Array(items)) => {
            let insights: Vec<&Value> = items.iter().filter(|x| x.get("values").is_some()).collect();
            if !insights.is_empty() {
                insight_posts(input, r, &insights, l, out);
            }
            for item in items.iter().filter(|x| x.get("values").is_none()) {
                let Some(o) = item.as_object() else { continue };
                if o.contains_key("participants") || o.get("messages").is_some() {
                    conversation(input, r, o, l, out);
                } else if is_post(o, l) {
                    post(input, r, o, l, out);
                } else if o.get("id").and_then(id_of).is_some_and(|id| id.starts_with("m_")) {
                    message(input, r, o, None, l, out);
                } else {
                    let from = o.get("from").and_then(|f| f.get("id")).and_then(id_of).unwrap_or_default();
                    comment(input, r, o, None, &account(l, &[&from]), l, out);
                }
            }
        }
        // One object asked by its id: a conversation, or a post (or comment) with its comments.
        _ if top.contains_key("participants") || top.contains_key("messages") => conversation(input, r, top, l, out),
        _ if is_post(top, l) => post(input, r, top, l, out),
        _ if top.contains_key("comments") || top.contains_key("replies") => {
            let from = top.get("from").and_then(|f| f.get("id")).and_then(id_of).unwrap_or_default();
            comment(input, r, top, None, &account(l, &[&from]), l, out);
        }
        _ => {
            // Several ids at once (`?ids=…`): an object of responses keyed by id.
            let mut any = false;
            for v in top.values() {
                if let Some(Value::Array(items)) = v.get("data") {
                    any = true;
                    let insights: Vec<&Value> = items.iter().filter(|x| x.get("values").is_some()).collect();
                    insight_posts(input, r, &insights, l, out);
                }
            }
            if !any {
                out.push_back(refused(
                    input,
                    r.line,
                    "nothing Baromètre reads in this Graph response (conversations, a feed, comments or insights)"
                        .into(),
                ));
            }
        }
    }
}

fn own_post(o: &serde_json::Map<String, Value>, l: &Learned) -> bool {
    o.get("id")
        .and_then(id_of)
        .and_then(|id| id.split_once('_').map(|(p, _)| p.to_string()))
        .is_some_and(|p| l.own.contains(&p))
}

/// The account of rows where `ids` take part: the page (or Instagram account) among them, by
/// the name the dump gives it; else the first one known.
fn account(l: &Learned, ids: &[&str]) -> String {
    let own =
        ids.iter().find(|i| l.own.iter().any(|o| o == *i)).map(|i| i.to_string()).or_else(|| l.own.first().cloned());
    own.map_or_else(|| "meta".to_string(), |id| l.names.get(&id).cloned().unwrap_or(id))
}

fn conversation(
    input: &Input,
    r: &Response,
    o: &serde_json::Map<String, Value>,
    l: &Learned,
    out: &mut VecDeque<Result<Located, RowError>>,
) {
    let Some(cid) = o.get("id").and_then(id_of) else {
        out.push_back(refused(input, r.line, "a conversation without its `id`".into()));
        return;
    };
    let parts: Vec<&Value> = o
        .get("participants")
        .and_then(|p| p.get("data"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let ig = parts.iter().any(|p| p.get("username").is_some());
    let ids: Vec<String> = parts.iter().filter_map(|p| p.get("id").and_then(id_of)).collect();
    let customer = ids.iter().find(|id| !l.own.contains(id)).cloned();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let ctx = Conv {
        id: format!("meta:{cid}"),
        channel: if ig { "instagram" } else { "facebook_messenger" },
        customer,
        account: account(l, &refs),
    };
    if let Some(Value::Array(ms)) = o.get("messages").and_then(|m| m.get("data")) {
        for m in ms {
            if let Some(m) = m.as_object() {
                message(input, r, m, Some(&ctx), l, out);
            }
        }
    }
}

struct Conv {
    id: String,
    channel: &'static str,
    customer: Option<String>,
    account: String,
}

fn message(
    input: &Input,
    r: &Response,
    m: &serde_json::Map<String, Value>,
    conv: Option<&Conv>,
    l: &Learned,
    out: &mut VecDeque<Result<Located, RowError>>,
) {
    let Some(id) = m.get("id").and_then(id_of) else {
        out.push_back(refused(input, r.line, "a message without its `id`".into()));
        return;
    };
    let line = r.line_of("id", &id);
    let created = match m.get("created_time").map(api_instant) {
        Some(Ok(t)) => t,
        Some(Err(e)) => return out.push_back(refused(input, line, format!("message {id}: `created_time`: {e}"))),
        None => return out.push_back(refused(input, line, format!("message {id}: no `created_time`"))),
    };
    let from = m.get("from").and_then(|f| f.get("id")).and_then(id_of);
    let ig = m.get("from").is_some_and(|f| f.get("username").is_some());
    let own = from.as_ref().is_some_and(|f| l.own.contains(f));
    let to_ids: Vec<String> = m
        .get("to")
        .and_then(|t| t.get("data"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|p| p.get("id").and_then(id_of)).collect())
        .unwrap_or_default();
    let mut ids: Vec<&str> = to_ids.iter().map(String::as_str).collect();
    ids.extend(from.as_deref());
    let acct = conv.map_or_else(|| account(l, &ids), |c| c.account.clone());
    let to = to_ids.iter().find(|id| !l.own.contains(id)).cloned();
    let customer = if own { conv.and_then(|c| c.customer.clone()).or(to) } else { from.clone() };
    let msg = Message {
        message_id: format!("meta:{id}"),
        created_at: created,
        direction: if own { Direction::Out } else { Direction::In },
        account: acct,
        channel: conv.map_or(if ig { "instagram" } else { "facebook_messenger" }, |c| c.channel).to_string(),
        author_id: format!("meta:{}", from.unwrap_or_else(|| "unknown".into())),
        conversation_id: conv.map(|c| c.id.clone()),
        customer_id: customer.map(|c| format!("meta:{c}")),
        text: m.get("message").and_then(Value::as_str).filter(|t| !t.trim().is_empty()).map(str::to_string),
        public: Some(false),
        ..Message::empty()
    };
    out.push_back(located(input, line, Record::Message(msg)));
}

fn post(
    input: &Input,
    r: &Response,
    o: &serde_json::Map<String, Value>,
    l: &Learned,
    out: &mut VecDeque<Result<Located, RowError>>,
) {
    // A feed post's id is `<page>_<post>`: its comments are with that page.
    let id = o.get("id").and_then(id_of).unwrap_or_default();
    let page = account(l, &[id.split_once('_').map_or("", |(p, _)| p)]);
    if let Some(Value::Array(cs)) = o.get("comments").and_then(|c| c.get("data")) {
        for c in cs {
            if let Some(c) = c.as_object() {
                comment(input, r, c, None, &page, l, out);
            }
        }
    }
    if let Some(Value::Array(ins)) = o.get("insights").and_then(|i| i.get("data")) {
        let refs: Vec<&Value> = ins.iter().collect();
        let extra = Counts::of(o);
        insight_post(input, r, o.get("id").and_then(id_of), &refs, extra, l, out);
    }
}

/// A comment and its replies: the top-level comment's id is the thread's conversation.
fn comment(
    input: &Input,
    r: &Response,
    c: &serde_json::Map<String, Value>,
    thread: Option<(&str, &str)>,
    page: &str,
    l: &Learned,
    out: &mut VecDeque<Result<Located, RowError>>,
) {
    let Some(id) = c.get("id").and_then(id_of) else {
        out.push_back(refused(input, r.line, "a comment without its `id`".into()));
        return;
    };
    let line = r.line_of("id", &id);
    let time = c.get("created_time").or_else(|| c.get("timestamp"));
    let created = match time.map(api_instant) {
        Some(Ok(t)) => t,
        Some(Err(e)) => return out.push_back(refused(input, line, format!("comment {id}: `created_time`: {e}"))),
        None => return out.push_back(refused(input, line, format!("comment {id}: no `created_time`"))),
    };
    let from = c.get("from").and_then(|f| f.get("id")).and_then(id_of);
    let ig = c.get("username").is_some() || c.get("from").is_some_and(|f| f.get("username").is_some());
    let own = from.as_ref().is_some_and(|f| l.own.contains(f));
    // A comment hidden by privacy has no author: a customer of its own.
    let author = from.clone().unwrap_or_else(|| format!("anonymous:{id}"));
    let parent = c.get("parent").and_then(|p| p.get("id")).and_then(id_of);
    let (root, root_author) = match thread {
        Some((t, a)) => (t.to_string(), a.to_string()),
        None => match &parent {
            // A reply listed on its own: its thread is its parent's.
            Some(p) => (p.clone(), String::new()),
            None => (id.clone(), author.clone()),
        },
    };
    let customer = if own {
        (!root_author.is_empty() && !l.own.contains(&root_author)).then(|| root_author.clone())
    } else {
        Some(author.clone())
    };
    let msg = Message {
        message_id: format!("meta:{id}"),
        created_at: created,
        direction: if own { Direction::Out } else { Direction::In },
        account: page.to_string(),
        channel: if ig { "instagram" } else { "facebook_wall" }.to_string(),
        author_id: format!("meta:{author}"),
        conversation_id: Some(format!("meta:{root}")),
        reply_to: parent.map(|p| format!("meta:{p}")),
        customer_id: customer.map(|c| format!("meta:{c}")),
        text: c
            .get("message")
            .or_else(|| c.get("text"))
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string),
        public: Some(true),
        ..Message::empty()
    };
    out.push_back(located(input, line, Record::Message(msg)));
    let replies = c.get("comments").or_else(|| c.get("replies")).and_then(|x| x.get("data")).and_then(Value::as_array);
    for reply in replies.into_iter().flatten() {
        if let Some(reply) = reply.as_object() {
            comment(input, r, reply, Some((&root, &root_author)), page, l, out);
        }
    }
}

/// Reactions, comments and shares a post's fields count (`reactions.summary(total_count)`, …).
#[derive(Default, Clone, Copy)]
struct Counts {
    reactions: Option<u64>,
    comments: Option<u64>,
    shares: Option<u64>,
}

impl Counts {
    fn of(o: &serde_json::Map<String, Value>) -> Counts {
        let total = |k: &str| {
            o.get(k).and_then(|x| x.get("summary")).and_then(|s| s.get("total_count")).and_then(Value::as_u64)
        };
        Counts {
            reactions: total("reactions"),
            comments: total("comments"),
            shares: o.get("shares").and_then(|s| s.get("count")).and_then(Value::as_u64),
        }
    }
}

/// Insight rows of several posts, grouped by the post their `id` names (`<post>/insights/…`).
fn insight_posts(
    input: &Input,
    r: &Response,
    rows: &[&Value],
    l: &Learned,
    out: &mut VecDeque<Result<Located, RowError>>,
) {
    let mut by_post: Vec<(String, Vec<&Value>)> = Vec::new();
    for x in rows {
        let post = x.get("id").and_then(Value::as_str).and_then(|i| i.split('/').next()).unwrap_or("").to_string();
        match by_post.iter_mut().find(|(p, _)| *p == post) {
            Some((_, v)) => v.push(x),
            None => by_post.push((post, vec![x])),
        }
    }
    for (post, xs) in by_post {
        insight_post(input, r, Some(post).filter(|p| !p.is_empty()), &xs, Counts::default(), l, out);
    }
}

fn insight_post(
    input: &Input,
    r: &Response,
    post: Option<String>,
    rows: &[&Value],
    extra: Counts,
    l: &Learned,
    out: &mut VecDeque<Result<Located, RowError>>,
) {
    let Some(post) = post else {
        out.push_back(refused(input, r.line, "insights that name no post".into()));
        return;
    };
    let line = r.line_of("id", &post);
    let metric = |names: &[&str]| -> Option<u64> {
        rows.iter().find(|x| x.get("name").and_then(Value::as_str).is_some_and(|n| names.contains(&n))).and_then(|x| {
            let v = x.get("values")?.as_array()?.last()?.get("value")?;
            match v {
                Value::Number(n) => n.as_u64(),
                // `post_reactions_by_type_total`: a count per reaction.
                Value::Object(m) => Some(m.values().filter_map(Value::as_u64).sum()),
                _ => None,
            }
        })
    };
    let impressions = metric(&["post_impressions", "post_media_view"]);
    let reach = metric(&["post_impressions_unique", "post_total_media_view_unique"]);
    let (Some(impressions), Some(reach)) = (impressions, reach) else {
        let missing = if impressions.is_none() {
            "impressions (`post_impressions` or `post_media_view`)"
        } else {
            "reach (`post_impressions_unique`)"
        };
        out.push_back(refused(input, line, format!("post {post}: its insights have no {missing}: ask the API for it")));
        return;
    };
    let parts = [
        extra.reactions.or_else(|| metric(&["post_reactions_by_type_total"])),
        extra.comments,
        extra.shares,
        metric(&["post_clicks"]),
    ];
    let engagements = match metric(&["post_engaged_users"]) {
        Some(e) => e,
        // Counts of nothing are no zero: a post whose export holds no interaction at all is
        // refused, naming what to ask for.
        None if parts.iter().all(Option::is_none) => {
            out.push_back(refused(
                input,
                line,
                format!("post {post}: no engagement in the export: ask for `post_clicks` and `post_reactions_by_type_total` (or the post's `reactions`, `comments`, `shares` summaries)"),
            ));
            return;
        }
        None => parts.iter().flatten().sum(),
    };
    let Some(published) = l.posts.get(&post) else {
        out.push_back(refused(
            input,
            line,
            format!(
                "post {post}: its publication time is in the page feed, not in its insights: import the feed with them"
            ),
        ));
        return;
    };
    let published_at = match api_instant(published) {
        Ok(t) => t,
        Err(e) => return out.push_back(refused(input, line, format!("post {post}: {e}"))),
    };
    let p = Post {
        post_id: format!("meta:{post}"),
        account: account(l, &[post.split_once('_').map_or("", |(p, _)| p)]),
        channel: "facebook".into(),
        published_at,
        theme: None,
        impressions,
        reach,
        engagements,
    };
    out.push_back(located(input, line, Record::Post(p)));
}
