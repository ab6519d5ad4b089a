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
    let e = explain(
        crate::metrics::find("unanswered_rate").unwrap(),
        &f,
        &Records::default(),
        &Params::default(),
        None,
        &cfg,
    );
    assert_eq!(e.rows.len(), 5);
    let marked: Vec<&str> = e
        .rows
        .iter()
        .filter(|r| r["in_numerator"] == Json::Bool(true))
        .map(|r| r["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(marked, ["b1"]);
    let p = Params { by: Some(Dim::Channel), ..Params::default() };
    let e =
        explain(crate::metrics::find("messages_received").unwrap(), &f, &Records::default(), &p, Some("twitter"), &cfg);
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

        #[test]
        fn a_metric_selection_is_the_full_report_restricted(
            rows in arb_rows(),
            bits in 1u64..(1 << 20),
            by in prop::sample::select(vec![None, Some(Dim::Channel), Some(Dim::Agent), Some(Dim::Day)]),
        ) {
            let cfg = Config::default();
            // Spread twenty random bits over the whole registry.
            let ids: Vec<&str> = METRICS
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << (i * 20 / METRICS.len())) != 0 && !(i + bits as usize).is_multiple_of(3))
                .map(|(_, d)| d.id)
                .collect();
            prop_assume!(!ids.is_empty());
            let full = report(&rows, &[], &Params { by, ..Params::default() }, &cfg);
            let p = Params { by, ..Params::default() }.with_metrics(Some(&ids.join(","))).unwrap();
            let some = report(&rows, &[], &p, &cfg);
            let restrict = |m: &Metrics| Metrics(m.0.iter().filter(|(k, _)| ids.contains(k)).cloned().collect());
            prop_assert_eq!(&some.total.metrics, &restrict(&full.total.metrics));
            prop_assert_eq!(some.groups.len(), full.groups.len());
            for (g, f) in some.groups.iter().zip(&full.groups) {
                prop_assert_eq!(&g.key, &f.key);
                prop_assert_eq!(&g.metrics, &restrict(&f.metrics));
            }
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
    rows[2].text = Some("Merci beaucoup !".into()); // a bare thanks: in scope, not actionable
    rows[3].handle_seconds = Some(90.0);
    rows[4].handle_seconds = Some(30.0);
    rows[5].bot = true;
    rows[5].handle_seconds = Some(1000.0); // a bot's time is no agent's time
    let r = report(&rows, &[], &Params::default(), &Config::default());
    let t = &r.total.metrics;
    // i1 by its column, i3 by its text (a thanks is about the service); i2's column says no.
    assert_eq!(count(t, "in_scope_messages"), Some(2));
    // i1 only: i2 is out of scope, i3 only thanks.
    assert_eq!(count(t, "actionable_messages"), Some(1));
    // (90 + 30) / 2 = 60 s; median of two = 60; p90 = 30 + 0.9 × 60 = 84
    assert_eq!(dur(t, "agent_handle_time"), (2, Some(60.0), Some(60.0), Some(84.0)));
}

mod seed_004 {
    //! Seed 004's worked examples, built from raw rows.
    use super::*;
    use crate::model::{Contact, SurveyAnswer};
    use crate::table::FactTable;
    use crate::time::Stamp;

    fn answer(i: usize, survey: &str, score: f64, lo: f64, hi: f64, agent: Option<&str>) -> SurveyAnswer {
        SurveyAnswer {
            response_id: format!("r{i}"),
            survey: survey.into(),
            score: Some(score),
            scale_min: Some(lo),
            scale_max: Some(hi),
            answered_at: Stamp::utc(1_775_455_200_000 + i as i64 * 60_000),
            conversation_id: None,
            agent_id: agent.map(str::to_string),
            channel: Some("email".into()),
            account: Some("acme".into()),
            customer_id: None,
            comment: None,
            answer: None,
        }
    }

    fn build_with(surveys: &[SurveyAnswer], contacts: &[Contact], p: &Params) -> Report {
        let mut t = FactTable::default();
        for s in surveys {
            let row = FactTable::survey_row(&mut t.dict, s, None);
            t.surveys.push(row);
        }
        for c in contacts {
            let row = FactTable::contact_row(&mut t.dict, c);
            t.contacts.push(row);
        }
        build(&t, p, &Config::default())
    }

    fn mean(m: &Metrics, id: &str) -> (Option<f64>, u64, Option<f64>, Option<f64>, bool) {
        match m.get(id) {
            Some(Value::Mean(x)) => (x.value, x.count, x.scale_min, x.scale_max, x.lower_is_better),
            other => panic!("{id}: {other:?}"),
        }
    }

    #[test]
    fn csat_thirty_positive_of_fifty_is_sixty_percent() {
        // 30 answers of 4 or 5 (positive), 20 of 1–3, on 1–5 stars.
        let v: Vec<SurveyAnswer> = (0..50)
            .map(|i| {
                answer(i, "csat", [5.0, 4.0, 3.0, 2.0, 1.0][if i < 30 { i % 2 } else { 2 + i % 3 }], 1.0, 5.0, None)
            })
            .collect();
        let r = build_with(&v, &[], &Params::default());
        assert_eq!(ratio(&r.total.metrics, "csat"), (Some(60.0), 30, 50));
        // mean on the original scale: 15 × 5 + 15 × 4 + (7 × 3 + 7 × 2 + 6 × 1) = 135 + 41 = 176 → 3.52
        let sum: f64 = v.iter().map(|a| a.score.unwrap()).sum();
        assert_eq!(sum, 176.0);
        assert_eq!(mean(&r.total.metrics, "csat_mean"), (Some(3.52), 50, Some(1.0), Some(5.0), false));
    }

    #[test]
    fn csat_on_other_scales_is_normalised_and_a_mixed_mean_is_null() {
        // 8 of 0–10 → 0.8 ≥ 0.75 positive; 7 of 0–10 → 0.7 not; 4 of 1–5 → 0.75 positive.
        let v = vec![
            answer(0, "csat", 8.0, 0.0, 10.0, None),
            answer(1, "csat", 7.0, 0.0, 10.0, None),
            answer(2, "csat", 4.0, 1.0, 5.0, None),
        ];
        let r = build_with(&v, &[], &Params::default());
        assert_eq!(ratio(&r.total.metrics, "csat"), (Some(200.0 / 3.0), 2, 3));
        // No common scale, no mean (it used to average 8, 7 and 4 into 6.33).
        let (value, n, lo, hi, _) = mean(&r.total.metrics, "csat_mean");
        assert_eq!((value, n, lo, hi), (None, 3, None, None));
    }

    #[test]
    fn nps_seventy_percent_promoters_minus_ten_percent_detractors_is_sixty() {
        // 100 answers: 70 of 9–10, 20 of 7–8, 10 of 0–6.
        let v: Vec<SurveyAnswer> = (0..100)
            .map(|i| {
                answer(
                    i,
                    "nps",
                    if i < 70 {
                        9.0 + (i % 2) as f64
                    } else if i < 90 {
                        7.0
                    } else {
                        6.0
                    },
                    0.0,
                    10.0,
                    None,
                )
            })
            .collect();
        let r = build_with(&v, &[], &Params::default());
        match r.total.metrics.get("nps") {
            Some(Value::Nps(n)) => {
                assert_eq!((n.promoters, n.passives, n.detractors, n.count), (70, 20, 10, 100));
                assert!(close(n.value, 60.0));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ces_is_the_mean_effort_and_lower_is_better() {
        // Σ = 2 + 3 + 5 + 2 = 12 over 4 answers → 3.
        let v: Vec<SurveyAnswer> =
            [2.0, 3.0, 5.0, 2.0].iter().enumerate().map(|(i, &s)| answer(i, "ces", s, 1.0, 7.0, None)).collect();
        let r = build_with(&v, &[], &Params::default());
        assert_eq!(mean(&r.total.metrics, "ces"), (Some(3.0), 4, Some(1.0), Some(7.0), true));
    }

    #[test]
    fn csat_by_agent_gives_per_reply_satisfaction() {
        let v = vec![
            answer(0, "csat", 5.0, 1.0, 5.0, Some("julie")),
            answer(1, "csat", 2.0, 1.0, 5.0, Some("julie")),
            answer(2, "csat", 4.0, 1.0, 5.0, Some("karim")),
        ];
        let r = build_with(&v, &[], &Params { by: Some(Dim::Agent), ..Params::default() });
        let keys: Vec<_> = r.groups.iter().map(|g| g.key.clone().unwrap()).collect();
        assert_eq!(keys, ["julie", "karim"]);
        assert_eq!(ratio(&r.groups[0].metrics, "csat"), (Some(50.0), 1, 2));
        assert_eq!(ratio(&r.groups[1].metrics, "csat"), (Some(100.0), 1, 1));
        assert_eq!(ratio(&r.total.metrics, "csat"), (Some(200.0 / 3.0), 2, 3));
    }

    #[test]
    fn wait_five_hundred_minutes_over_two_hundred_calls_is_two_and_a_half_minutes() {
        // 200 calls served: 100 waited 1 min, 100 waited 4 min → 500 min; 25 abandoned apart.
        let t0 = 1_775_455_200_000i64;
        let mut v: Vec<Contact> = (0..225)
            .map(|i| Contact {
                contact_id: format!("c{i}"),
                channel: "phone".into(),
                account: "acme".into(),
                queued_at: Stamp::utc(t0 + i as i64 * 1000),
                answered_at: (i < 200)
                    .then(|| Stamp::utc(t0 + i as i64 * 1000 + if i < 100 { 60_000 } else { 240_000 })),
                ended_at: None,
                agent_id: None,
            })
            .collect();
        v[0].ended_at = Some(Stamp::utc(t0 + 60_000 + 300_000)); // one call lasted 5 min
        let r = build_with(&[], &v, &Params::default());
        let t = &r.total.metrics;
        let (n, mean, median, _) = dur(t, "average_wait_time");
        assert_eq!(n, 200);
        assert!(close(mean, 150.0)); // 2.5 min
        assert!(close(median, 150.0)); // (60 + 240) / 2 between the 100th and 101st
                                       // 25 abandoned of 225 queued = 11.1 %, and not averaged into the wait
        let (v, n, d) = ratio(t, "abandon_rate");
        assert_eq!((n, d), (25, 225));
        assert!(close(v, 100.0 / 9.0));
        assert_eq!(count(t, "contacts"), Some(225));
        assert_eq!(dur(t, "contact_handle_time"), (1, Some(300.0), Some(300.0), Some(300.0)));
    }

    #[test]
    fn an_empty_period_gives_null_not_zero() {
        let r = build_with(&[], &[], &Params::default());
        assert_eq!(ratio(&r.total.metrics, "csat"), (None, 0, 0));
        assert_eq!(mean(&r.total.metrics, "ces").0, None);
        assert_eq!(dur(&r.total.metrics, "average_wait_time").1, None);
    }
}

mod resolution {
    //! METRICS.md §3 from raw rows and events.
    use super::*;

    fn ev(conv: &str, kind: EventKind, at: &str) -> ConversationEvent {
        ConversationEvent { conversation_id: conv.into(), event: kind, at: parse_instant(at).unwrap(), agent_id: None }
    }

    fn scenario() -> (Vec<Message>, Vec<ConversationEvent>) {
        let mut bot = m("b2", "2026-04-06T09:01:00Z", "out", "bot", "bots", "");
        bot.bot = true;
        let mut fb1 = m("f1", "2026-04-06T09:00:00Z", "in", "u5", "fb1", "");
        fb1.kind = Some("feedback".into());
        let mut fb2 = m("f2", "2026-04-06T09:00:00Z", "in", "u6", "fb2", "");
        fb2.kind = Some("feedback".into());
        let rows = vec![
            // Monday 2026-04-06: a complaint, one human reply, resolved Wednesday.
            m("c1", "2026-04-06T10:00:00Z", "in", "u1", "comp", ""),
            m("c2", "2026-04-06T10:30:00Z", "out", "ag", "comp", ""),
            // Reopened twice, resolved three times; two human replies.
            m("r1", "2026-04-06T09:00:00Z", "in", "u2", "reo", ""),
            m("r2", "2026-04-06T09:10:00Z", "out", "ag", "reo", ""),
            m("r3", "2026-04-06T11:30:00Z", "in", "u2", "reo", ""),
            m("r4", "2026-04-06T11:40:00Z", "out", "ag", "reo", ""),
            // Reopened and not resolved again.
            m("o1", "2026-04-06T09:00:00Z", "in", "u3", "open", ""),
            m("o2", "2026-04-06T09:05:00Z", "out", "ag", "open", ""),
            // The bot alone handled this one.
            m("b1", "2026-04-06T09:00:00Z", "in", "u4", "bots", ""),
            bot,
            // Two reviews, one answered.
            fb1,
            m("f1r", "2026-04-06T09:30:00Z", "out", "ag", "fb1", ""),
            fb2,
        ];
        let evs = vec![
            ev("comp", EventKind::Complaint, "2026-04-06T10:00:00Z"),
            ev("comp", EventKind::Resolved, "2026-04-08T10:00:00Z"),
            ev("reo", EventKind::Resolved, "2026-04-06T10:00:00Z"),
            ev("reo", EventKind::Reopened, "2026-04-06T11:00:00Z"),
            ev("reo", EventKind::Resolved, "2026-04-06T12:00:00Z"),
            ev("reo", EventKind::Reopened, "2026-04-07T09:00:00Z"),
            ev("reo", EventKind::Resolved, "2026-04-07T10:00:00Z"),
            ev("open", EventKind::Resolved, "2026-04-06T09:30:00Z"),
            ev("open", EventKind::Reopened, "2026-04-06T10:00:00Z"),
            ev("bots", EventKind::Resolved, "2026-04-06T09:02:00Z"),
        ];
        (rows, evs)
    }

    #[test]
    fn resolution_figures_match_the_hand_computation() {
        let (rows, evs) = scenario();
        let r = report(&rows, &evs, &Params::default(), &Config::default());
        let t = &r.total.metrics;
        // comp: Monday 10:00 → Wednesday 10:00 = 172 800 s (seed 004: two days).
        assert_eq!(dur(t, "complaint_resolution_time"), (1, Some(172_800.0), Some(172_800.0), Some(172_800.0)));
        // Human resolved conversations: comp (172 800 s), reo (09:00 → 10:00 = 3 600 s),
        // open (09:00 → 09:30 = 1 800 s); the bot-only one is apart.
        let (n, mean, median, _) = dur(t, "resolution_time");
        assert_eq!(n, 3);
        assert!(close(mean, (172_800.0 + 3_600.0 + 1_800.0) / 3.0) && close(median, 3_600.0));
        // Full: comp 172 800, reo 09:00 Monday → 10:00 Tuesday = 90 000; open was reopened and
        // never resolved again, so it has none.
        let (n, mean, _, _) = dur(t, "full_resolution_time");
        assert_eq!(n, 2);
        assert!(close(mean, (172_800.0 + 90_000.0) / 2.0));
        // Reopened: reo and open, of three resolved.
        assert_eq!(ratio(t, "reopen_rate").1, 2);
        assert_eq!(ratio(t, "reopen_rate").2, 3);
        // One human reply: comp and open; reo had two.
        assert_eq!((ratio(t, "first_contact_resolution_rate").1, ratio(t, "first_contact_resolution_rate").2), (2, 3));
        assert_eq!(count(t, "bot_only_conversations"), Some(1));
        // b1 09:00 → resolved 09:02
        assert_eq!(dur(t, "bot_resolution_time"), (1, Some(120.0), Some(120.0), Some(120.0)));
        assert_eq!(ratio(t, "feedback_response_rate"), (Some(50.0), 1, 2));
        assert_eq!(count(t, "conversations"), Some(6));
    }

    #[test]
    fn business_resolution_counts_open_hours_only() {
        let (rows, evs) = scenario();
        // Open 09:00–18:00 UTC on weekdays: comp's complaint Monday 10:00 → Wednesday 10:00 is
        // 8 h + 9 h + 1 h = 18 h open.
        let cfg = Config::load(
            Some("[accounts.acme.hours]\nmon = [\"09:00-18:00\"]\ntue = [\"09:00-18:00\"]\nwed = [\"09:00-18:00\"]\n"),
            std::iter::empty(),
        )
        .unwrap();
        let r = report(&rows, &evs, &Params::default(), &cfg);
        assert_eq!(dur(&r.total.metrics, "complaint_resolution_time_business").1, Some(18.0 * 3600.0));
    }

    #[test]
    fn explain_lists_the_conversations_behind_the_reopen_rate() {
        let (rows, evs) = scenario();
        let cfg = Config::default();
        let f = run(&rows, &evs, &cfg);
        let e = explain(
            crate::metrics::find("reopen_rate").unwrap(),
            &f,
            &Records::default(),
            &Params::default(),
            None,
            &cfg,
        );
        let mut reopened: Vec<&str> = e
            .rows
            .iter()
            .filter(|r| r["in_numerator"] == Json::Bool(true))
            .map(|r| r["conversation_id"].as_str().unwrap())
            .collect();
        reopened.sort_unstable();
        assert_eq!(reopened, ["open", "reo"]);
    }
}

mod publications {
    use super::*;
    use crate::model::Post;
    use crate::table::FactTable;
    use crate::time::Stamp;

    fn post(id: &str, theme: &str, impressions: u64, reach: u64, engagements: u64) -> Post {
        Post {
            post_id: id.into(),
            account: "acme".into(),
            channel: "facebook".into(),
            published_at: Stamp::utc(1_775_455_200_000),
            theme: Some(theme.into()),
            impressions,
            reach,
            engagements,
        }
    }

    #[test]
    fn engagement_is_the_ratio_of_sums_and_ranks_posts() {
        let mut t = FactTable::default();
        for p in [
            post("p1", "promo", 2000, 1000, 50), // 5 %
            post("p2", "promo", 400, 100, 20),   // 20 %
            post("p3", "conseil", 900, 300, 30), // 10 %
            post("p4", "conseil", 50, 0, 3),     // no reach: not ranked
        ] {
            t.push_post(&p);
        }
        let r = build(&t, &Params { by: Some(Dim::Theme), ..Params::default() }, &Config::default());
        let m = &r.total.metrics;
        assert_eq!(count(m, "impressions"), Some(3350));
        assert_eq!(count(m, "reach"), Some(1400));
        // Σ engagements / Σ reach = 103 / 1400, not the mean of the rates.
        assert_eq!(ratio(m, "engagement_rate"), (Some(103.0 * 100.0 / 1400.0), 103, 1400));
        assert_eq!(ratio(m, "engagement_rate_by_impressions").1, 103);
        match m.get("top_posts") {
            Some(Value::Posts(p)) => {
                let top: Vec<&str> = p.top.iter().map(|x| x.post_id.as_str()).collect();
                let bottom: Vec<&str> = p.bottom.iter().map(|x| x.post_id.as_str()).collect();
                assert_eq!((top, bottom), (vec!["p2", "p3", "p1"], vec!["p1", "p3", "p2"]));
            }
            other => panic!("{other:?}"),
        }
        let keys: Vec<_> = r.groups.iter().map(|g| g.key.clone().unwrap()).collect();
        assert_eq!(keys, ["conseil", "promo"]);
        assert_eq!(ratio(&r.groups[1].metrics, "engagement_rate"), (Some(70.0 * 100.0 / 1100.0), 70, 1100));
    }
}

mod customer_figures {
    //! Seed 004's customer examples from raw customer and order rows.
    use super::*;
    use crate::model::{Customer, Moment, Order};
    use crate::table::FactTable;

    fn day(s: &str) -> Moment {
        Moment::parse(s).unwrap()
    }
    fn cust(i: usize, since: &str, churned: Option<&str>, referred: bool) -> Customer {
        Customer {
            customer_id: format!("c{i}"),
            account: if i.is_multiple_of(2) { "acme".into() } else { "zeta".into() },
            since: day(since),
            churned_at: churned.map(day),
            referred_by: referred.then(|| "c0".to_string()),
        }
    }
    fn year_2026() -> Params {
        Params {
            from: Some(parse_instant("2026-01-01T00:00:00Z").unwrap().ms),
            to: Some(parse_instant("2027-01-01T00:00:00Z").unwrap().ms),
            ..Params::default()
        }
    }
    fn with(customers: Vec<Customer>, orders: Vec<Order>, p: &Params) -> Report {
        let mut t = FactTable::default();
        for c in &customers {
            t.dict.id(&c.account);
        }
        t.customers = customers;
        t.orders = orders;
        build(&t, p, &Config::default())
    }

    #[test]
    fn retention_s200_e200_n20_is_ninety_percent_and_churn_20_of_250_is_eight() {
        // 200 at the start; 20 of them leave during the year; 20 new join (5 by referral).
        let mut v: Vec<Customer> =
            (0..200).map(|i| cust(i, "2025-03-01", (i < 20).then_some("2026-06-01"), false)).collect();
        v.extend((200..220).map(|i| cust(i, "2026-04-01", None, i < 205)));
        // One customer churned before the period: in no figure.
        v.push(cust(999, "2024-01-01", Some("2025-12-31"), false));
        let r = with(v, vec![], &year_2026());
        match r.total.metrics.get("retention_rate") {
            Some(Value::Retention(x)) => {
                assert_eq!((x.customers_start, x.customers_end, x.new_customers), (200, 200, 20));
                assert_eq!(x.value, Some(90.0));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(ratio(&r.total.metrics, "churn_rate"), (Some(10.0), 20, 200));
        assert_eq!(ratio(&r.total.metrics, "referral_rate"), (Some(25.0), 5, 20));
        // Seed 004's churn: 20 lost of 250 at the start → 8 %.
        let v: Vec<Customer> =
            (0..250).map(|i| cust(i, "2025-03-01", (i < 20).then_some("2026-02-01"), false)).collect();
        assert_eq!(ratio(&with(v, vec![], &year_2026()).total.metrics, "churn_rate"), (Some(8.0), 20, 250));
    }

    #[test]
    fn clv_fifty_times_five_times_three_is_seven_hundred_fifty() {
        // One customer for three years at the end of 2026, five orders of 50 € in 2026.
        let c = cust(0, "2024-01-01", None, false);
        let orders: Vec<Order> = (0..5)
            .map(|i| Order {
                order_id: format!("o{i}"),
                customer_id: "c0".into(),
                ordered_at: day(&format!("2026-0{}-15", i + 1)),
                amount: 50.0,
                margin: Some(0.4),
                currency: Some("EUR".into()),
            })
            .collect();
        let r = with(vec![c], orders, &year_2026());
        let amount = |id: &str| match r.total.metrics.get(id) {
            Some(Value::Amount(a)) => (a.value, a.currency.clone(), a.customers, a.orders),
            other => panic!("{other:?}"),
        };
        // lifetime 2024-01-01 → 2027-01-01 = 3 calendar years; 5 orders in the year 2026.
        let (v, cur, c, o) = amount("clv");
        assert_eq!(v, Some(750.0));
        assert_eq!((cur.as_deref(), c, o), (Some("EUR"), 1, 5));
        // historical: Σ 250 × 0.4 margin for one customer = 100
        assert!(close(amount("clv_historical").0, 100.0));
        // predictive: (5 / 12 per month) × 50 × 36 months: the same 750
        assert!(close(amount("clv_predictive").0, 750.0));
    }

    #[test]
    fn without_a_start_the_start_based_figures_are_null() {
        let v = vec![cust(0, "2025-03-01", None, false)];
        let r = with(v, vec![], &Params::default());
        assert_eq!(ratio(&r.total.metrics, "churn_rate").0, None);
        assert_eq!(
            r.total.metrics.get("retention_rate").map(|v| matches!(v, Value::Retention(x) if x.value.is_none())),
            Some(true)
        );
    }

    #[test]
    fn by_account_and_by_month_each_group_is_its_own_population_or_period() {
        let v: Vec<Customer> = (0..8).map(|i| cust(i, "2025-03-01", (i < 2).then_some("2026-01-15"), false)).collect();
        let p = Params { by: Some(Dim::Account), ..year_2026() };
        let r = with(v.clone(), vec![], &p);
        // acme: c0 c2 c4 c6 (c0 lost) · zeta: c1 c3 c5 c7 (c1 lost)
        assert_eq!(ratio(&r.groups[0].metrics, "churn_rate"), (Some(25.0), 1, 4));
        assert_eq!(ratio(&r.groups[1].metrics, "churn_rate"), (Some(25.0), 1, 4));
        let p = Params { by: Some(Dim::Month), ..year_2026() };
        let mut t = FactTable { customers: v, ..FactTable::default() };
        // a message in January and one in February give the months
        t.msgs.push(crate::table::FactTable::msg_row(
            &mut t.dict,
            &run(&[m("x", "2026-01-10T00:00:00Z", "in", "u", "k", "")], &[], &Config::default()).messages[0],
        ));
        t.msgs.push(crate::table::FactTable::msg_row(
            &mut t.dict,
            &run(&[m("y", "2026-02-10T00:00:00Z", "in", "u", "k", "")], &[], &Config::default()).messages[0],
        ));
        let r = build(&t, &p, &Config::default());
        // January: 8 at its start, 2 lost → 25 %; February: 6 at its start, none lost.
        assert_eq!(ratio(&r.groups[0].metrics, "churn_rate"), (Some(25.0), 2, 8));
        assert_eq!(ratio(&r.groups[1].metrics, "churn_rate"), (Some(0.0), 0, 6));
    }
}

mod quality {
    use super::*;
    use crate::model::Review;
    use crate::table::FactTable;
    use crate::time::Stamp;

    fn review(agent: &str, criterion: &str, score: f64) -> Review {
        Review {
            key: format!("{agent}{criterion}{score}"),
            conversation_id: None,
            reviewer: Some("qa".into()),
            agent_id: Some(agent.into()),
            criterion: criterion.into(),
            score,
            at: Stamp::utc(1_775_455_200_000),
        }
    }

    #[test]
    fn iqs_is_the_weighted_mean_of_criteria_with_each_share_shown() {
        let cfg =
            Config::load(Some("[iqs]\ncriteria = { accuracy = 50, tone = 30, speed = 20 }\n"), std::iter::empty())
                .unwrap();
        let mut t = FactTable::default();
        for r in [
            review("julie", "accuracy", 80.0),
            review("julie", "accuracy", 100.0), // mean 90
            review("julie", "tone", 70.0),
            review("karim", "tone", 50.0), // tone mean (70 + 50) / 2 = 60
            review("karim", "speed", 40.0),
            review("karim", "politesse", 0.0), // not configured: ignored
        ] {
            let row = FactTable::review_row(&mut t.dict, &r, None);
            t.reviews.push(row);
        }
        let r = build(&t, &Params { by: Some(Dim::Agent), ..Params::default() }, &cfg);
        let w = |m: &Metrics| match m.get("iqs") {
            Some(Value::Weighted(w)) => w.clone(),
            other => panic!("{other:?}"),
        };
        // (50 × 90 + 30 × 60 + 20 × 40) / 100 = 45 + 18 + 8 = 71
        let total = w(&r.total.metrics);
        assert!(close(total.value, 71.0));
        let shares: Vec<(String, Option<f64>)> =
            total.criteria.iter().map(|c| (c.criterion.clone(), c.share)).collect();
        assert_eq!(shares, [("accuracy".into(), Some(45.0)), ("speed".into(), Some(8.0)), ("tone".into(), Some(18.0))]);
        // julie: accuracy 90, tone 70, no speed → (50 × 90 + 30 × 70) / 80 = 82.5
        assert!(close(w(&r.groups[0].metrics).value, 82.5));
        // Nothing configured: null.
        let none = build(&t, &Params::default(), &Config::default());
        assert_eq!(w(&none.total.metrics).value, None);
    }
}

mod channels {
    use super::*;
    use crate::model::SurveyAnswer;
    use crate::table::FactTable;
    use crate::time::Stamp;

    #[test]
    fn channel_preferences_share_contacts_customers_and_declared_choices() {
        let mut rows = Vec::new();
        // u1: 2 requests by email, 1 by chat → email; u2: chat; u3: chat.
        for (i, (cust, ch)) in
            [("u1", "email"), ("u1", "email"), ("u1", "chat"), ("u2", "chat"), ("u3", "chat")].iter().enumerate()
        {
            let mut x = m(&format!("m{i}"), "2026-04-06T10:00:00Z", "in", cust, &format!("k{i}"), "");
            x.channel = ch.to_string();
            rows.push(x);
        }
        let f = run(&rows, &[], &Config::default());
        let mut t = FactTable::from_facts(&f);
        for (i, ans) in ["Chat", "email", "chat", "phone"].iter().enumerate() {
            let a = SurveyAnswer {
                response_id: format!("s{i}"),
                survey: "preferred_channel".into(),
                score: None,
                scale_min: None,
                scale_max: None,
                answered_at: Stamp::utc(1_775_470_000_000),
                conversation_id: None,
                agent_id: None,
                channel: None,
                account: None,
                customer_id: None,
                comment: None,
                answer: Some(ans.to_string()),
            };
            let row = FactTable::survey_row(&mut t.dict, &a, None);
            t.surveys.push(row);
        }
        let r = build(&t, &Params::default(), &Config::default());
        let Some(Value::Channels(c)) = r.total.metrics.get("channel_preferences") else { panic!() };
        let got: Vec<(&str, u64, u64, u64)> =
            c.channels.iter().map(|x| (x.channel.as_str(), x.contacts, x.customers, x.declared)).collect();
        // contacts: chat 3 conversations, email 2; customers: chat 2 (u2, u3), email 1 (u1);
        // declared: chat 2 (any case), email 1, phone 1.
        assert_eq!(got, [("chat", 3, 2, 2), ("email", 2, 1, 1), ("phone", 0, 0, 1)]);
        assert_eq!(c.channels[0].contact_share, Some(60.0));
        assert_eq!(c.channels[0].declared_share, Some(50.0));
    }
}

#[rstest::rstest]
fn an_empty_period_gives_null_never_zero_for_every_indicator(
    #[values(None, Some(Dim::Account), Some(Dim::Day))] by: Option<Dim>,
) {
    use crate::metrics::{Shape, METRICS};
    let (rows, evs) = scenario();
    // A period with no data at all.
    let p = Params {
        from: Some(parse_instant("2030-01-01T00:00:00Z").unwrap().ms),
        to: Some(parse_instant("2030-02-01T00:00:00Z").unwrap().ms),
        by,
        ..Params::default()
    };
    let r = report(&rows, &evs, &p, &Config::default());
    assert!(r.groups.is_empty());
    for def in METRICS {
        let v = r.total.metrics.get(def.id).unwrap_or_else(|| panic!("{} missing", def.id));
        let json = serde_json::to_value(v).unwrap();
        match def.shape() {
            // A count of nothing is 0 (there were none), except where the data cannot say.
            Shape::Count => assert!(json["value"] == 0 || json["value"].is_null(), "{}: {json}", def.id),
            Shape::Duration => {
                assert!(json["count"] == 0 && json["median"].is_null() && json["mean"].is_null(), "{}: {json}", def.id)
            }
            Shape::Badge => assert_eq!(json["earned"], false, "{}", def.id),
            Shape::Posts => assert!(json["top"].as_array().unwrap().is_empty(), "{}", def.id),
            Shape::Channels => assert!(json["channels"].as_array().unwrap().is_empty(), "{}", def.id),
            _ => assert!(json["value"].is_null(), "{}: {json}", def.id),
        }
    }
}

#[test]
fn the_same_inputs_give_the_same_bytes() {
    // Every kind of data (customers and surveys too): two builds, as two processes would run them.
    let end = parse_instant("2026-04-06T00:00:00Z").unwrap().ms;
    let d = crate::demo::generate(3, 21, end);
    let cfg = Config::default();
    let build_once = || {
        let f = run(&d.messages, &d.events, &cfg);
        let mut t = crate::table::FactTable::from_facts(&f);
        for s in &d.surveys {
            let row = crate::table::FactTable::survey_row(&mut t.dict, s, None);
            t.surveys.push(row);
        }
        for c in &d.customers {
            t.dict.id(&c.account);
        }
        t.customers.clone_from(&d.customers);
        t.orders.clone_from(&d.orders);
        let p =
            Params { from: Some(end - 14 * 86_400_000), to: Some(end), by: Some(Dim::Account), ..Params::default() };
        serde_json::to_string(&build(&t, &p, &cfg)).unwrap()
    };
    assert_eq!(build_once(), build_once());
}

#[rstest::rstest]
fn a_filtered_report_equals_its_group_in_the_grouped_report(
    #[values((Dim::Account, "velo-city"), (Dim::Channel, "email"), (Dim::Team, "Chat"))] filter: (Dim, &str),
) {
    let end = parse_instant("2026-04-06T00:00:00Z").unwrap().ms;
    let d = crate::demo::generate(5, 21, end);
    let cfg = Config::default();
    let f = run(&d.messages, &d.events, &cfg);
    let mut t = crate::table::FactTable::from_facts(&f);
    for s in &d.surveys {
        let row = crate::table::FactTable::survey_row(&mut t.dict, s, None);
        t.surveys.push(row);
    }
    for c in &d.contacts {
        let row = crate::table::FactTable::contact_row(&mut t.dict, c);
        t.contacts.push(row);
    }
    let p = Params { from: Some(end - 14 * 86_400_000), to: Some(end), ..Params::default() };
    let grouped = build(&t, &Params { by: Some(filter.0), ..p }, &cfg);
    let group = grouped.groups.iter().find(|g| g.key.as_deref() == Some(filter.1)).expect("the group exists");
    let alone = build(&t.filtered(filter.0, filter.1), &p, &cfg);
    assert_eq!(serde_json::to_value(&alone.total.metrics).unwrap(), serde_json::to_value(&group.metrics).unwrap());
}

#[test]
fn a_metric_selection_reports_only_those_metrics_with_the_same_figures() {
    let (rows, evs) = scenario();
    let sel = "response_rate, first_response_time,response_time_business,responsiveness_badge";
    for by in [None, Some("channel"), Some("day")] {
        let all = Params::parse(None, None, by, None).unwrap();
        let p = all.with_metrics(Some(sel)).unwrap();
        let (full, some) = (report(&rows, &evs, &all, &Config::default()), report(&rows, &evs, &p, &Config::default()));
        let ids = |m: &Metrics| m.0.iter().map(|(k, _)| *k).collect::<Vec<_>>();
        // Registry order, whatever the order of the list.
        let want = ["response_rate", "first_response_time", "responsiveness_badge", "response_time_business"];
        let mut want: Vec<&str> = want.to_vec();
        want.sort_by_key(|id| crate::metrics::index(id));
        assert_eq!(ids(&some.total.metrics), want);
        for id in &want {
            assert_eq!(some.total.metrics.get(id), full.total.metrics.get(id), "{id}");
        }
        assert_eq!(some.groups.len(), full.groups.len());
        for (g, f) in some.groups.iter().zip(&full.groups) {
            assert_eq!(g.key, f.key);
            assert_eq!(ids(&g.metrics), want);
            for id in &want {
                assert_eq!(g.metrics.get(id), f.metrics.get(id), "{id} of {:?}", g.key);
            }
        }
    }
    // The hand figures of the scenario: 3 of 4 examined requests, business twin = calendar time.
    let p = Params::default().with_metrics(Some("response_rate,response_time_business")).unwrap();
    let t = report(&rows, &evs, &p, &Config::default()).total.metrics;
    assert_eq!(ratio(&t, "response_rate"), (Some(75.0), 3, 4));
    assert_eq!(dur(&t, "response_time_business").0, 3);
    assert!(t.get("response_time").is_none());
}

#[rstest::rstest]
#[case::unknown_id("response_rate,nope", "unknown metric `nope`")]
#[case::empty_list(" , ", "no metric named")]
fn a_bad_metric_selection_is_refused(#[case] list: &str, #[case] says: &str) {
    let e = Params::default().with_metrics(Some(list)).unwrap_err();
    assert!(e.contains(says), "{e}");
}

proptest::proptest! {
    #[test]
    fn sparse_time_buckets_are_the_dense_ones_that_hold_data(
        offsets in proptest::collection::vec(0i64..(3 * 365 * 86_400_000), 1..60),
        dim in proptest::sample::select(vec![Dim::Day, Dim::Week, Dim::Month]),
    ) {
        let zone = Zone::parse("Europe/Paris").unwrap();
        let base = parse_instant("2025-01-01T00:00:00Z").unwrap().ms;
        let mut all: Vec<i64> = offsets.iter().map(|o| base + o).collect();
        all.sort_unstable();
        all.dedup();
        let dense = crate::indicator::dense_buckets(all[0], *all.last().unwrap(), dim, zone);
        let held: Vec<_> =
            dense.into_iter().filter(|b| all.iter().any(|&t| b.0 <= t && t < b.1)).collect();
        proptest::prop_assert_eq!(crate::indicator::sparse_buckets(&all, dim, zone), held);
    }
}

#[test]
fn rows_a_century_apart_make_two_day_buckets_not_thirty_thousand() {
    let zone = Zone::UTC;
    let a = parse_instant("1971-01-01T10:00:00Z").unwrap().ms;
    let b = parse_instant("2099-12-31T10:00:00Z").unwrap().ms;
    let got = super::buckets(a, b, Dim::Day, zone, || [a, b].into_iter());
    let keys: Vec<&str> = got.iter().map(|x| x.2.as_str()).collect();
    assert_eq!(keys, vec!["1971-01-01", "2099-12-31"]);
}

/// A report that reads no conversation is the same without them when grouped by account,
/// channel or theme (or not at all): a conversation's first message, in the same period, makes
/// its group appear. Not by agent: a conversation that starts with an agent's message is
/// credited to whoever answers its first request, here after the period, and only the
/// conversation makes that agent's group appear — so that grouping reads conversations.
#[rstest::rstest]
#[case::total(None, false)]
#[case::by_account(Some(Dim::Account), false)]
#[case::by_channel(Some(Dim::Channel), false)]
#[case::by_theme(Some(Dim::Theme), false)]
#[case::by_agent(Some(Dim::Agent), true)]
#[case::by_team(Some(Dim::Team), true)]
fn a_report_reads_conversations_only_where_leaving_them_out_could_change_it(
    #[case] by: Option<Dim>,
    #[case] reads: bool,
) {
    let cfg = Config::default();
    let mut rows = vec![
        m("p1", "2026-04-06T09:00:00Z", "out", "ag1", "k1", ""),
        m("q1", "2026-04-06T11:00:00Z", "in", "u1", "k1", ""),
        m("a1", "2026-04-06T11:05:00Z", "out", "ag2", "k1", "q1"),
    ];
    for x in &mut rows {
        x.team = (x.author_id.starts_with("ag")).then(|| format!("team-{}", x.author_id));
    }
    let p = Params { to: Some(parse_instant("2026-04-06T10:00:00Z").unwrap().ms), by, ..Params::default() }
        .with_metrics(Some("response_rate,response_time"))
        .unwrap();
    assert_eq!(reads_conversations(&cfg, &p), reads);
    let whole = crate::table::FactTable::from_facts(&run(&rows, &[], &cfg));
    let without = crate::table::FactTable { convs: Vec::new(), ..whole.clone() };
    let json = |t| serde_json::to_string(&build(t, &p, &cfg)).unwrap();
    assert_eq!(json(&without) == json(&whole), !reads, "{by:?}");
    // Every selection of the full report reads them.
    assert!(reads_conversations(&cfg, &Params { by, ..Params::default() }));
}
