use super::*;
use crate::model::EventKind;
use crate::testutil::m;
use crate::time::parse_instant;

fn ev(conv: &str, kind: EventKind, at: &str) -> ConversationEvent {
    ConversationEvent { conversation_id: conv.into(), event: kind, at: parse_instant(at).unwrap(), agent_id: None }
}

fn req<'a>(f: &'a Facts, id: &str) -> &'a RequestFact {
    f.requests.iter().find(|r| r.request_id == id).unwrap()
}

fn role(f: &Facts, id: &str) -> Role {
    f.messages.iter().find(|r| r.message_id == id).unwrap().role
}

#[test]
fn consecutive_customer_messages_merge_into_one_request_timed_from_the_first() {
    let rows = vec![
        m("a", "2026-04-06T10:00:00Z", "in", "u1", "k", ""),
        m("b", "2026-04-06T10:05:00Z", "in", "u1", "k", ""),
        m("c", "2026-04-06T10:20:00Z", "out", "ag", "k", ""),
    ];
    let f = run(&rows, &[], &Config::default());
    assert_eq!(f.requests.len(), 1);
    let r = req(&f, "a");
    assert_eq!((r.messages, r.outcome, r.response_ms()), (2, Outcome::Answered, Some(20 * 60_000)));
    assert_eq!(f.messages.iter().find(|x| x.message_id == "b").unwrap().request_id.as_deref(), Some("a"));
}

#[test]
fn a_bot_reply_first_neither_answers_nor_splits_the_request() {
    let mut bot = m("b", "2026-04-06T10:01:00Z", "out", "bot", "k", "");
    bot.bot = true;
    let rows = vec![
        m("a", "2026-04-06T10:00:00Z", "in", "u1", "k", ""),
        bot,
        m("a2", "2026-04-06T10:02:00Z", "in", "u1", "k", ""),
        m("c", "2026-04-06T10:30:00Z", "out", "ag", "k", ""),
    ];
    let f = run(&rows, &[], &Config::default());
    assert_eq!(f.requests.len(), 1);
    assert_eq!(req(&f, "a").response_ms(), Some(30 * 60_000));
    assert_eq!(req(&f, "a").agent.as_deref(), Some("ag"));
    assert_eq!(role(&f, "b"), Role::Bot);
}

#[test]
fn offsets_do_not_change_the_response_time() {
    // 08:00+02:00 = 06:00Z; answered 06:20Z → 20 min.
    let rows = vec![
        m("x1", "2026-04-06T08:00:00+02:00", "in", "u1", "k1", ""),
        m("x2", "2026-04-06T06:20:00Z", "out", "agent7", "k1", "x1"),
    ];
    let f = run(&rows, &[], &Config::default());
    assert_eq!(req(&f, "x1").response_ms(), Some(20 * 60_000));
}

#[test]
fn rows_out_of_order_in_the_file_give_the_same_facts() {
    let rows = vec![
        m("a", "2026-04-06T10:00:00Z", "in", "u1", "k", ""),
        m("c", "2026-04-06T10:20:00Z", "out", "ag", "k", ""),
        m("d", "2026-04-06T11:00:00Z", "in", "u1", "k", ""),
        m("e", "2026-04-06T11:45:00Z", "out", "ag2", "k", ""),
    ];
    let mut rev = rows.clone();
    rev.reverse();
    let cfg = Config::default();
    assert_eq!(run(&rows, &[], &cfg).sorted(), run(&rev, &[], &cfg).sorted());
    let f = run(&rev, &[], &cfg);
    assert_eq!(req(&f, "d").response_ms(), Some(45 * 60_000));
    assert!(req(&f, "a").first_of_conversation && !req(&f, "d").first_of_conversation);
}

#[test]
fn an_examined_request_is_closed_without_an_answer() {
    let rows =
        vec![m("a", "2026-04-06T10:00:00Z", "in", "u1", "k", ""), m("z", "2026-04-06T12:00:00Z", "in", "u2", "k2", "")];
    let evs = vec![ev("k", EventKind::Examined, "2026-04-06T10:10:00Z")];
    let f = run(&rows, &evs, &Config::default());
    let r = req(&f, "a");
    assert_eq!((r.outcome, r.handled_ms(), r.response_ms()), (Outcome::Examined, Some(600_000), None));
    assert_eq!(req(&f, "z").outcome, Outcome::Unanswered);
}

#[test]
fn an_agent_message_opening_a_conversation_is_proactive_and_later_ones_are_replies() {
    let rows = vec![
        m("p", "2026-04-06T09:00:00Z", "out", "ag", "k", ""),
        m("a", "2026-04-06T09:30:00Z", "in", "u1", "k", ""),
        m("r", "2026-04-06T09:40:00Z", "out", "ag", "k", ""),
        m("f", "2026-04-06T09:41:00Z", "out", "ag", "k", ""),
    ];
    let f = run(&rows, &[], &Config::default());
    assert_eq!([role(&f, "p"), role(&f, "r"), role(&f, "f")], [Role::Proactive, Role::Reply, Role::Reply]);
    assert_eq!(req(&f, "a").response_ms(), Some(10 * 60_000));
    assert!(req(&f, "a").first_of_conversation);
}

#[test]
fn sessions_split_after_a_silence_longer_than_the_gap() {
    let mut rows = vec![
        m("a", "2026-04-06T10:00:00Z", "in", "u1", "", ""),
        m("b", "2026-04-06T11:00:00Z", "out", "ag", "", ""),
        m("c", "2026-04-07T13:00:00Z", "in", "u1", "", ""),
    ];
    rows[1].customer_id = Some("u1".into());
    let f = run(&rows, &[], &Config::default());
    assert_eq!(req(&f, "a").conversation_id, "a");
    assert_eq!(req(&f, "c").conversation_id, "c");
    assert!(req(&f, "c").first_of_conversation);
    let wide = Config::load(Some("[clock]\nsession_gap = \"48h\"\n"), std::iter::empty()).unwrap();
    let f = run(&rows, &[], &wide);
    assert_eq!(req(&f, "c").conversation_id, "a");
    assert!(!req(&f, "c").first_of_conversation);
}

#[test]
fn reply_chains_form_conversations_and_a_skewed_reply_is_never_negative() {
    let rows = vec![
        m("t1", "2026-04-06T10:00:00Z", "in", "u1", "", ""),
        // stamped one minute before the tweet it answers
        m("t2", "2026-04-06T09:59:00Z", "out", "ag", "", "t1"),
        m("t3", "2026-04-06T10:30:00Z", "in", "u1", "", "t2"),
        m("t4", "2026-04-06T10:35:00Z", "out", "ag", "", "t3"),
        m("s1", "2026-04-06T10:31:00Z", "in", "u1", "", ""),
    ];
    let f = run(&rows, &[], &Config::default());
    assert_eq!(req(&f, "t1").response_ms(), Some(0));
    assert_eq!(req(&f, "t3").conversation_id, "t1");
    assert_eq!(req(&f, "t3").response_ms(), Some(5 * 60_000));
    // s1 is in no chain: it is a session of its own.
    assert_eq!(req(&f, "s1").conversation_id, "s1");
    assert_eq!(req(&f, "s1").outcome, Outcome::Unanswered);
}

#[test]
fn bare_thanks_spam_and_out_of_scope_are_not_actionable() {
    assert!(is_bare_thanks("Merci beaucoup !! 🙏"));
    assert!(is_bare_thanks("thanks a lot"));
    assert!(!is_bare_thanks("Merci, mais où est mon colis ?"));
    let actionable = |m: &crate::model::Message| {
        let f = run(std::slice::from_ref(m), &[], &Config::default());
        f.messages[0].actionable
    };
    let mut a = m("a", "2026-04-06T10:00:00Z", "in", "u1", "k", "");
    assert!(actionable(&a));
    a.kind = Some("spam".into());
    assert!(!actionable(&a));
    a.kind = None;
    a.in_scope = Some(false);
    assert!(!actionable(&a));
    // An input column wins over the text: a bare thanks said actionable by the source is.
    a.in_scope = None;
    a.text = Some("merci beaucoup".into());
    assert!(!actionable(&a));
    a.actionable = Some(true);
    assert!(actionable(&a));
}
