use super::*;
use crate::clock::run;
use crate::model::{ConversationEvent, EventKind, Message};
use crate::testutil::m;
use crate::time::parse_instant;

fn on(mut x: Message, channel: &str, text: Option<&str>) -> Message {
    x.channel = channel.into();
    x.text = text.map(str::to_string);
    x
}

/// Four conversations, hand-timed (see each comment).
fn scenario() -> (Vec<Message>, Vec<ConversationEvent>) {
    let mut bot = m("bot", "2026-04-06T10:02:00Z", "out", "bot", "k2", "");
    bot.bot = true;
    let rows = vec![
        // k1, twitter (public): a1 answered in 3 min, a2 in 30 min.
        on(m("a1", "2026-04-06T10:00:00Z", "in", "u1", "k1", ""), "twitter", None),
        on(m("r1", "2026-04-06T10:03:00Z", "out", "ag1", "k1", ""), "twitter", None),
        on(m("a2", "2026-04-06T10:30:00Z", "in", "u1", "k1", ""), "twitter", None),
        on(m("r2", "2026-04-06T11:00:00Z", "out", "ag2", "k1", ""), "twitter", None),
        // k2, messenger (private): two customer messages, a bot, no human → unanswered.
        on(m("b1", "2026-04-06T10:00:00Z", "in", "u2", "k2", ""), "facebook_messenger", None),
        on(m("b2", "2026-04-06T10:01:00Z", "in", "u2", "k2", ""), "facebook_messenger", None),
        on(bot, "facebook_messenger", Some("Réponse automatique")),
        // k3, email: examined after 30 min.
        m("c1", "2026-04-06T12:00:00Z", "in", "u3", "k3", ""),
        // k4, email: a signed proactive message, then a request answered in 2 h.
        on(
            m("p1", "2026-04-06T09:00:00Z", "out", "ag1", "k4", ""),
            "email",
            Some("Bonjour, votre colis part demain ^AB"),
        ),
        m("d1", "2026-04-06T09:10:00Z", "in", "u4", "k4", ""),
        on(m("d2", "2026-04-06T11:10:00Z", "out", "ag1", "k4", ""), "email", Some("Voilà")),
    ];
    let evs = vec![ConversationEvent {
        conversation_id: "k3".into(),
        event: EventKind::Examined,
        at: parse_instant("2026-04-06T12:30:00Z").unwrap(),
        agent_id: None,
    }];
    (rows, evs)
}

fn report(rows: &[Message], evs: &[ConversationEvent], p: &Params, cfg: &Config) -> Report {
    let f = run(rows, evs, cfg);
    build(&crate::table::FactTable::from_facts(&f), p, cfg)
}

fn ratio(m: &Metrics, id: &str) -> (Option<f64>, u64, u64) {
    match m.get(id) {
        Some(Value::Ratio(r)) => (r.value, r.numerator, r.denominator),
        other => panic!("{id}: {other:?}"),
    }
}
fn count(m: &Metrics, id: &str) -> Option<u64> {
    match m.get(id) {
        Some(Value::Count(c)) => c.value,
        other => panic!("{id}: {other:?}"),
    }
}
fn dur(m: &Metrics, id: &str) -> (u64, Option<f64>, Option<f64>, Option<f64>) {
    match m.get(id) {
        Some(Value::Duration(d)) => (d.count, d.mean, d.median, d.p90),
        other => panic!("{id}: {other:?}"),
    }
}
fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn every_message_indicator_matches_the_hand_computation() {
    let (rows, evs) = scenario();
    let r = report(&rows, &evs, &Params::default(), &Config::default());
    let t = &r.total.metrics;
    assert_eq!(count(t, "messages_received"), Some(6)); // a1 a2 b1 b2 c1 d1
    assert_eq!(count(t, "agent_replies"), Some(3)); // r1 r2 d2 (not the bot, not p1)
    assert_eq!(count(t, "proactive_messages"), Some(1)); // p1
    assert_eq!(count(t, "in_scope_messages"), None); // no row says
    assert_eq!(count(t, "actionable_messages"), Some(6));
    assert_eq!(count(t, "requests"), Some(5)); // a1 a2 b1 c1 d1
    assert_eq!(ratio(t, "response_rate"), (Some(75.0), 3, 4)); // 3 / (5 − 1 examined)
    assert_eq!(ratio(t, "unanswered_rate"), (Some(20.0), 1, 5)); // b1
    assert_eq!(ratio(t, "requests_handled_within_target"), (Some(60.0), 3, 5)); // a1 a2 c1 ≤ 1 h
    assert_eq!(ratio(t, "public_response_rate"), (Some(100.0), 2, 2)); // a1 a2
    assert_eq!(ratio(t, "private_response_rate"), (Some(50.0), 1, 2)); // d1 of b1 d1
    assert_eq!(ratio(t, "signed_reply_rate"), (Some(50.0), 1, 2)); // p1 of p1 d2 (others have no text)
                                                                   // first responses: a1 180 s, d1 7200 s → p90 = 180 + 0.9 × 7020 = 6498
    let (n, mean, median, p90) = dur(t, "first_response_time");
    assert_eq!(n, 2);
    assert!(close(mean, 3690.0) && close(median, 3690.0) && close(p90, 6498.0));
    // all responses: 180, 1800, 7200 → p90 = 1800 + 0.8 × 5400 = 6120
    let (n, mean, median, p90) = dur(t, "response_time");
    assert_eq!(n, 3);
    assert!(close(mean, 3060.0) && close(median, 1800.0) && close(p90, 6120.0));
    // no opening hours configured: business durations equal calendar ones
    assert_eq!(dur(t, "response_time_business"), dur(t, "response_time"));
    assert_eq!(dur(t, "agent_handle_time"), (0, None, None, None));
}

#[test]
fn groups_by_channel_split_requests_and_messages() {
    let (rows, evs) = scenario();
    let p = Params { by: Some(Dim::Channel), ..Params::default() };
    let r = report(&rows, &evs, &p, &Config::default());
    let keys: Vec<_> = r.groups.iter().map(|g| g.key.clone().unwrap()).collect();
    assert_eq!(keys, ["email", "facebook_messenger", "twitter"]);
    let email = &r.groups[0].metrics;
    assert_eq!(ratio(email, "response_rate"), (Some(100.0), 1, 1)); // d1; c1 examined
    assert_eq!(count(email, "messages_received"), Some(2));
    let fb = &r.groups[1].metrics;
    assert_eq!(ratio(fb, "response_rate"), (Some(0.0), 0, 1));
    assert_eq!(dur(fb, "first_response_time"), (0, None, None, None));
}

#[test]
fn groups_by_agent_follow_who_answered_and_keep_the_rest_apart() {
    let (rows, evs) = scenario();
    let p = Params { by: Some(Dim::Agent), ..Params::default() };
    let r = report(&rows, &evs, &p, &Config::default());
    let keys: Vec<_> = r.groups.iter().map(|g| g.key.clone()).collect();
    assert_eq!(keys, [Some("ag1".into()), Some("ag2".into()), None]);
    assert_eq!(count(&r.groups[0].metrics, "agent_replies"), Some(2)); // r1 d2
    assert_eq!(count(&r.groups[0].metrics, "proactive_messages"), Some(1)); // p1
    assert_eq!(dur(&r.groups[0].metrics, "response_time").0, 2); // a1 d1
    assert_eq!(ratio(&r.groups[2].metrics, "unanswered_rate"), (Some(50.0), 1, 2));
    // b1 of b1 c1
}

#[test]
fn a_period_attributes_requests_to_their_first_message_even_if_answered_later() {
    let (rows, evs) = scenario();
    let p = Params {
        from: Some(parse_instant("2026-04-06T09:00:00Z").unwrap().ms),
        to: Some(parse_instant("2026-04-06T10:00:00Z").unwrap().ms),
        ..Params::default()
    };
    let r = report(&rows, &evs, &p, &Config::default());
    let t = &r.total.metrics;
    assert_eq!(count(t, "requests"), Some(1)); // d1, answered at 11:10 — after the period
    assert_eq!(ratio(t, "response_rate"), (Some(100.0), 1, 1));
    assert_eq!(count(t, "messages_received"), Some(1));
    assert_eq!(count(t, "proactive_messages"), Some(1));
    assert_eq!(r.period.from.as_deref(), Some("2026-04-06T09:00:00Z"));
}

#[test]
fn business_hours_variant_skips_the_weekend_and_the_lunch_break() {
    let rows = vec![
        // Fri 17:30 Paris → answered Mon 09:30 Paris: 30 min + 30 min open.
        m("f1", "2026-04-10T17:30:00+02:00", "in", "u1", "k", ""),
        m("f2", "2026-04-13T09:30:00+02:00", "out", "ag", "k", ""),
        // Tue 12:00 → 14:00 over lunch: 30 + 30 min open.
        m("g1", "2026-04-14T12:00:00+02:00", "in", "u2", "g", ""),
        m("g2", "2026-04-14T14:00:00+02:00", "out", "ag", "g", ""),
    ];
    let cfg = Config::load(
        Some(
            r#"[accounts.acme]
timezone = "Europe/Paris"
[accounts.acme.hours]
mon = ["09:00-12:30", "13:30-18:00"]
tue = ["09:00-12:30", "13:30-18:00"]
fri = ["09:00-12:30", "13:30-18:00"]
"#,
        ),
        std::iter::empty(),
    )
    .unwrap();
    let r = report(&rows, &[], &Params::default(), &cfg);
    let (n, mean, _, _) = dur(&r.total.metrics, "response_time_business");
    assert_eq!(n, 2);
    assert!(close(mean, 3600.0));
    let (_, cal_mean, _, _) = dur(&r.total.metrics, "response_time");
    // calendar: Fri 17:30 → Mon 09:30 = 64 h; Tue 2 h → mean 33 h
    assert!(close(cal_mean, 33.0 * 3600.0));
}

fn badge_of(r: &Report) -> &Badge {
    match r.total.metrics.get("responsiveness_badge") {
        Some(Value::Badge(b)) => b,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_badge_needs_ninety_percent_and_a_median_strictly_under_five_minutes() {
    // Ten requests over the last week; nine answered after the given minutes, one never.
    let build_rows = |minutes: &[i64]| {
        let mut rows = Vec::new();
        for (i, mins) in minutes.iter().enumerate() {
            let start = parse_instant("2026-04-01T10:00:00Z").unwrap().ms + i as i64 * 3_600_000;
            let mut q = m(&format!("q{i}"), "2026-04-01T10:00:00Z", "in", "u", &format!("c{i}"), "");
            q.created_at.ms = start;
            rows.push(q);
            if *mins >= 0 {
                let mut a = m(&format!("a{i}"), "2026-04-01T10:00:00Z", "out", "ag", &format!("c{i}"), "");
                a.created_at.ms = start + mins * 60_000;
                rows.push(a);
            }
        }
        rows
    };
    let p = Params { to: Some(parse_instant("2026-04-05T00:00:00Z").unwrap().ms), ..Params::default() };
    let cfg = Config::default();
    // median of 1..9 min = 5 min: not strictly under 5 → not earned, though 90 %.
    let r = report(&build_rows(&[1, 2, 3, 4, 5, 6, 7, 8, 9, -1]), &[], &p, &cfg);
    let b = badge_of(&r);
    assert_eq!((b.response_rate.numerator, b.response_rate.denominator), (9, 10));
    assert_eq!((b.earned, b.response_time.median), (false, Some(300.0)));
    // 1,2,3,4,4,6,7,8,9 → median 4 min → earned.
    let r = report(&build_rows(&[1, 2, 3, 4, 4, 6, 7, 8, 9, -1]), &[], &p, &cfg);
    assert!(badge_of(&r).earned);
    // two unanswered → 80 % → not earned.
    let r = report(&build_rows(&[1, 2, 3, 4, 4, 6, 7, 8, -1, -1]), &[], &p, &cfg);
    assert!(!badge_of(&r).earned);
}

#[test]
fn explain_lists_the_denominator_with_the_numerator_marked() {
    let (rows, evs) = scenario();
    let cfg = Config::default();
    let f = run(&rows, &evs, &cfg);
    let e = explain(crate::metrics::find("unanswered_rate").unwrap(), &f, &Params::default(), None, &cfg);
    assert_eq!(e.rows.len(), 5);
    let marked: Vec<&str> = e
        .rows
        .iter()
        .filter(|r| r["in_numerator"] == Json::Bool(true))
        .map(|r| r["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(marked, ["b1"]);
    let p = Params { by: Some(Dim::Channel), ..Params::default() };
    let e = explain(crate::metrics::find("messages_received").unwrap(), &f, &p, Some("twitter"), &cfg);
    let ids: Vec<&str> = e.rows.iter().map(|r| r["message_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a1", "a2"]);
}

#[test]
fn time_buckets_use_the_report_zone() {
    // 23:30Z on 5 April is 01:30 on 6 April in Paris.
    let ms = parse_instant("2026-04-05T23:30:00Z").unwrap().ms;
    assert_eq!(time_key(ms, Dim::Day, Zone::UTC), "2026-04-05");
    assert_eq!(time_key(ms, Dim::Day, Zone::parse("Europe/Paris").unwrap()), "2026-04-06");
    assert_eq!(time_key(ms, Dim::Week, Zone::UTC), "2026-W14");
    assert_eq!(time_key(ms, Dim::Month, Zone::UTC), "2026-04");
}

mod invariants {
    use super::*;
    use proptest::prelude::*;

    fn arb_rows() -> impl Strategy<Value = Vec<Message>> {
        prop::collection::vec((0i64..5000, any::<bool>(), 0u8..4, 0u8..3, prop::bool::weighted(0.1), 0u8..3), 1..40)
            .prop_map(|v| {
                v.into_iter()
                    .enumerate()
                    .map(|(i, (min, inbound, conv, cust, bot, chan))| {
                        let mut x = m(
                            &format!("m{i}"),
                            "2026-04-06T00:00:00Z",
                            if inbound { "in" } else { "out" },
                            if inbound { "u" } else { "ag" },
                            if conv == 0 { "" } else { ["", "k1", "k2", "k3"][conv as usize] },
                            "",
                        );
                        x.created_at.ms += min * 60_000;
                        x.customer_id = Some(format!("c{cust}"));
                        x.bot = bot && !inbound;
                        x.channel = ["email", "twitter", "chat"][chan as usize].into();
                        x
                    })
                    .collect()
            })
    }

    proptest! {
        #[test]
        fn shuffling_rows_and_rewriting_offsets_changes_no_figure(
            rows in arb_rows(),
            seed in any::<u64>(),
            offsets in prop::collection::vec(-12i32..=14, 40),
        ) {
            let cfg = Config::default();
            let p = Params { by: Some(Dim::Channel), ..Params::default() };
            let a = serde_json::to_string(&report(&rows, &[], &p, &cfg)).unwrap();
            let mut shuffled = rows.clone();
            // Fisher–Yates with a tiny LCG: deterministic for a given seed.
            let mut s = seed;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            for (x, o) in shuffled.iter_mut().zip(offsets) {
                x.created_at.offset_s = o * 3600;
            }
            let b = serde_json::to_string(&report(&shuffled, &[], &p, &cfg)).unwrap();
            prop_assert_eq!(a, b);
        }
    }
}

#[test]
fn scope_actionable_and_handle_time_from_their_columns() {
    let mut rows = vec![
        m("i1", "2026-04-06T10:00:00Z", "in", "u1", "k1", ""),
        m("i2", "2026-04-06T10:01:00Z", "in", "u2", "k2", ""),
        m("i3", "2026-04-06T10:02:00Z", "in", "u3", "k3", ""),
        m("o1", "2026-04-06T10:05:00Z", "out", "ag", "k1", ""),
        m("o2", "2026-04-06T10:06:00Z", "out", "ag", "k2", ""),
        m("o3", "2026-04-06T10:07:00Z", "out", "ag", "k3", ""),
    ];
    rows[0].in_scope = Some(true);
    rows[1].in_scope = Some(false); // out of scope: not actionable either
    rows[2].text = Some("Merci beaucoup !".into()); // a bare thanks: not actionable
    rows[3].handle_seconds = Some(90.0);
    rows[4].handle_seconds = Some(30.0);
    rows[5].bot = true;
    rows[5].handle_seconds = Some(1000.0); // a bot's time is no agent's time
    let r = report(&rows, &[], &Params::default(), &Config::default());
    let t = &r.total.metrics;
    assert_eq!(count(t, "in_scope_messages"), Some(1));
    assert_eq!(count(t, "actionable_messages"), Some(1));
    // (90 + 30) / 2 = 60 s; median of two = 60; p90 = 30 + 0.9 × 60 = 84
    assert_eq!(dur(t, "agent_handle_time"), (2, Some(60.0), Some(60.0), Some(84.0)));
}
