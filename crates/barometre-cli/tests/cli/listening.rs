//! Message understanding from the command line: labels in the report and its drill-down, an
//! analyst's corrections kept across re-imports, the labels exported, the harness.

use super::{bin, json, run, s, write};

const ROWS: &str = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to,kind,text
m1,2026-04-06T08:00:00Z,in,acme,email,u1,k1,,complaint,Mon colis n'est jamais arrivé
m2,2026-04-06T08:05:00Z,in,acme,twitter,u2,k2,,,Gagnez 500 € par jour depuis chez vous 👉 bit.ly/xx
m3,2026-04-06T08:10:00Z,in,acme,email,u3,k3,,question,Vous êtes ouverts dimanche ?
m4,2026-04-06T08:30:00Z,out,acme,email,agent7,k1,m1,,Nous regardons
";

/// (numerator, denominator) of a listening figure.
fn share(db: &str, id: &str) -> (u64, u64) {
    let r = json(&run(&["report", "--db", db, "--format", "json", "--metrics", id]));
    let v = &r["total"]["metrics"][id];
    (v["numerator"].as_u64().unwrap(), v["denominator"].as_u64().unwrap())
}

#[test]
fn labels_count_and_an_analysts_correction_survives_a_reimport() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let db = s(&db);
    let f = write(dir.path(), "m.csv", ROWS);
    assert_eq!(run(&["import", "messages", s(&f), "--db", db]).status.code(), Some(0));
    // Three messages received: m1 a complaint and m3 a question by their `kind` column, m2 spam
    // by its text.
    assert_eq!(share(db, "complaint_messages"), (1, 3));
    assert_eq!(share(db, "question_messages"), (1, 3));
    assert_eq!(share(db, "spam_messages"), (1, 3));
    let r = json(&run(&["report", "--db", db, "--format", "json", "--metrics", "complaint_messages"]));
    // 1 of 3 → 33.3 %
    assert!((r["total"]["metrics"]["complaint_messages"]["value"].as_f64().unwrap() - 100.0 / 3.0).abs() < 1e-9);

    // The analyst says m3 is a complaint: 2 of 3, the question gone.
    let o = run(&["label", "m3", "complaint", "--by", "julie", "--db", db]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(share(db, "complaint_messages"), (2, 3));
    assert_eq!(share(db, "question_messages"), (0, 3));
    // Importing the same file again keeps it.
    assert_eq!(run(&["import", "messages", s(&f), "--db", db]).status.code(), Some(0));
    assert_eq!(share(db, "complaint_messages"), (2, 3));

    // The drill-down lists the two complaints, each saying where its label comes from.
    let e = json(&run(&["explain", "complaint_messages", "--numerator", "--format", "json", "--db", db]));
    let rows: Vec<(String, String, String)> = e["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["message_id"].as_str().unwrap().to_string(),
                r["label"].as_str().unwrap().to_string(),
                r["label_source"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("m1".to_string(), "complaint".to_string(), "column".to_string()),
            ("m3".to_string(), "complaint".to_string(), "correction".to_string())
        ]
    );
    // Exported with the messages and the conversations.
    let out = String::from_utf8(run(&["export", "messages", "--db", db]).stdout).unwrap();
    let m3 = out.lines().find(|l| l.starts_with("m3,")).unwrap();
    assert!(m3.contains(",complaint,correction,"), "{m3}");
    let m2 = out.lines().find(|l| l.starts_with("m2,")).unwrap();
    assert!(m2.contains(",spam,text,false,false,"), "{m2}");
    let conv = String::from_utf8(run(&["export", "conversations", "--db", db]).stdout).unwrap();
    let k3 = conv.lines().find(|l| l.starts_with("k3,")).unwrap();
    assert!(k3.ends_with(",complaint=1,1,1,false"), "{k3}");
    let list = String::from_utf8(run(&["label", "--list", "--db", db]).stdout).unwrap();
    assert!(list.contains("m3,complaint,julie,"), "{list}");

    // Removed: the column speaks again. Unknown or outgoing messages are said, exit 1.
    assert_eq!(run(&["label", "m3", "--clear", "--db", db]).status.code(), Some(0));
    assert_eq!(share(db, "question_messages"), (1, 3));
    let o = run(&["label", "m4", "other", "--db", db]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no incoming message"));
    let o = run(&["label", "m1", "grumpy", "--db", db]);
    assert_ne!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown label `grumpy`"));
}

#[test]
fn the_harness_meets_its_targets_and_says_so() {
    let o = bin().args(["eval", "--format", "json"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    let e = json(&o);
    assert_eq!(e["meets_targets"], true);
    assert!(e["macro_f1"].as_f64().unwrap() >= 0.80);
    assert!(e["labels"]["complaint"]["f1"].as_f64().unwrap() >= 0.85);
    assert!(e["actionable"]["f1"].as_f64().unwrap() >= 0.85);
    // The confusion matrix adds up to the messages measured.
    let total: u64 = e["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, e["messages"].as_u64().unwrap());
    // A file of your own: two messages, one right.
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "mine.jsonl",
        "{\"id\":\"a\",\"lang\":\"fr\",\"text\":\"Gagnez 500 € par jour depuis chez vous 👉 bit.ly/xx\",\"label\":\"spam\"}\n\
         {\"id\":\"b\",\"lang\":\"fr\",\"text\":\"Gagnez 500 € par jour depuis chez vous 👉 bit.ly/xx\",\"label\":\"question\"}\n",
    );
    let e = json(&run(&["eval", "--file", s(&f), "--format", "json"]));
    assert_eq!(e["messages"], 2);
    assert_eq!(e["accuracy"], 0.5);
}

#[test]
fn competitors_named_and_the_sentiment_balance_as_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let db = s(&db);
    let rows = "message_id,created_at,direction,account,channel,author_id,conversation_id,kind,text
s1,2026-04-06T08:00:00Z,in,acme,email,u1,k1,feedback_positive,Super service merci
s2,2026-04-06T08:01:00Z,in,acme,email,u2,k2,complaint,\"Colis perdu, chez free ça arrive pas\"
s3,2026-04-06T08:02:00Z,in,acme,twitter,u3,k3,feedback_negative,Moins bien que #SFR
s4,2026-04-06T08:03:00Z,in,acme,twitter,u4,k4,question,Vous êtes ouverts ?
s5,2026-04-06T08:04:00Z,in,acme,twitter,u5,k5,question,C'est quoi freedom mobile ?
";
    let f = write(dir.path(), "m.csv", rows);
    let cfg = write(dir.path(), "b.toml", "[listening]\ncompetitors = [\"Free\", \"SFR\"]\n");
    let other = write(dir.path(), "o.toml", "[listening]\ncompetitors = [\"Orange\"]\n");
    assert_eq!(run(&["import", "messages", s(&f), "--db", db, "--config", s(&cfg)]).status.code(), Some(0));
    let metrics = |config: &std::path::Path| {
        let r = json(&run(&[
            "report",
            "--db",
            db,
            "--config",
            s(config),
            "--format",
            "json",
            "--metrics",
            "competitor_mentions,sentiment_balance,unanswered_public_questions",
        ]));
        r["total"]["metrics"].clone()
    };
    let m = metrics(&cfg);
    // s2 (« free ») and s3 (#SFR) name a competitor; « freedom » does not: 2 of 5.
    assert_eq!(
        (m["competitor_mentions"]["numerator"].as_u64(), m["competitor_mentions"]["denominator"].as_u64()),
        (Some(2), Some(5))
    );
    // +100 (s1), −100 (s2, a complaint), −100 (s3): (100 − 200) / 3 = −33.3; s4, s5 give no opinion.
    assert_eq!(m["sentiment_balance"]["count"], 3);
    assert!((m["sentiment_balance"]["value"].as_f64().unwrap() - (-100.0 / 3.0)).abs() < 1e-9);
    assert_eq!(m["sentiment_balance"]["scale_min"], -100.0);
    // s4 and s5: questions tweeted in public, never answered (s1, s2 are e-mails; s3 no question).
    assert_eq!(m["unanswered_public_questions"]["value"], 2);
    // Another list reads the texts again: none names Orange.
    assert_eq!(metrics(&other)["competitor_mentions"]["numerator"], 0);
    // The drill-down lists what the balance adds up.
    let e = json(&run(&["explain", "sentiment_balance", "--format", "json", "--db", db, "--config", s(&cfg)]));
    let values: Vec<(String, f64)> = e["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["message_id"].as_str().unwrap().to_string(), r["value"].as_f64().unwrap()))
        .collect();
    assert_eq!(values, [("s1".to_string(), 100.0), ("s2".to_string(), -100.0), ("s3".to_string(), -100.0)]);
}

#[test]
fn questions_the_faq_answers_as_by_hand_kept_across_reimports_and_a_new_faq() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let db = s(&db);
    // Labels by the `kind` column, so that only the FAQ match is under test.
    let rows = "message_id,created_at,direction,account,channel,author_id,conversation_id,kind,text
f1,2026-04-06T08:00:00Z,in,acme,email,u1,k1,question,\"Bjr, jveux resilier mon abonement, comment faire ?\"
f2,2026-04-06T08:01:00Z,in,acme,twitter,u2,k2,technical_question,@acme mon eSIM ne s'active pas avec le QR code ??
f3,2026-04-06T08:02:00Z,in,acme,twitter,u3,k3,question,Vous recrutez des techniciens à Lyon ?
f4,2026-04-06T08:03:00Z,in,acme,email,u4,k4,complaint,Impossible de résilier mon abonnement depuis un mois !!
f5,2026-04-06T08:04:00Z,out,acme,email,agent7,k1,,Comment résilier mon abonnement : espace client
";
    let faq = "id,question,réponse
cancel,Comment résilier mon abonnement ?,\"Depuis l'espace client, rubrique Contrat.\"
esim,Comment activer mon eSIM ?,\"Scannez le QR code reçu par e-mail, puis redémarrez.\"
";
    let f = write(dir.path(), "m.csv", rows);
    let q = write(dir.path(), "faq.csv", faq);
    assert_eq!(run(&["import", "messages", s(&f), "--db", db]).status.code(), Some(0));
    // No FAQ yet: no figure (not 0 %), the messages counted all the same.
    assert_eq!(share(db, "faq_answerable_questions"), (0, 4));
    let r = json(&run(&["report", "--db", db, "--format", "json", "--metrics", "faq_answerable_questions"]));
    assert!(r["total"]["metrics"]["faq_answerable_questions"]["value"].is_null());
    let o = run(&["import", "faq", s(&q), "--db", db, "--lang", "en"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    // f1 and f4 match `cancel`, f2 `esim`; f3 nothing. f4 is a complaint, not a question; the
    // agent's reply f5 is no message received: 2 questions of 4 messages received.
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("3 messages received find an answer in it, 2 of them questions")
    );
    assert_eq!(share(db, "faq_answerable_questions"), (2, 4));
    let entries = |db: &str| {
        let e = json(&run(&["explain", "faq_answerable_questions", "--format", "json", "--db", db]));
        e["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["message_id"].as_str().unwrap().to_string(), r["faq_entry"]["id"].as_str().map(str::to_string)))
            .collect::<Vec<_>>()
    };
    let want = |a: Option<&str>, b: Option<&str>| {
        vec![
            ("f1".to_string(), a.map(str::to_string)),
            ("f2".to_string(), b.map(str::to_string)),
            ("f3".to_string(), None),
            ("f4".to_string(), None),
        ]
    };
    assert_eq!(entries(db), want(Some("cancel"), Some("esim")));
    // The messages again, the FAQ again: nothing changes.
    assert_eq!(run(&["import", "messages", s(&f), "--db", db]).status.code(), Some(0));
    let o = run(&["import", "faq", s(&q), "--db", db, "--lang", "en"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("2 entries (unchanged)"));
    assert_eq!(share(db, "faq_answerable_questions"), (2, 4));
    // An analyst says f4 asks a question: it counts, with its entry.
    assert_eq!(run(&["label", "f4", "question", "--db", db]).status.code(), Some(0));
    assert_eq!(share(db, "faq_answerable_questions"), (3, 4));
    assert_eq!(run(&["label", "f4", "--clear", "--db", db]).status.code(), Some(0));
    // A new knowledge base replaces the old one: only the eSIM entry is left.
    let q2 = write(
        dir.path(),
        "faq2.json",
        r#"[{"id": "esim", "question": "Comment activer mon eSIM ?", "answer": "Scannez le QR code."}]"#,
    );
    assert_eq!(run(&["import", "faq", s(&q2), "--db", db]).status.code(), Some(0));
    assert_eq!(share(db, "faq_answerable_questions"), (1, 4));
    assert_eq!(entries(db), want(None, Some("esim")));
    // A bad row is said with its place, the others taken (exit 2); no entry at all: exit 1.
    let bad = write(
        dir.path(),
        "bad.csv",
        "question,answer\nComment activer mon eSIM ?,Scannez le QR code.\nSans réponse ?,\n",
    );
    let o = run(&["import", "faq", s(&bad), "--db", db]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.csv:3:1: FAQ entry without an answer"));
    let none = write(dir.path(), "none.csv", "titre,texte\na,b\n");
    assert_eq!(run(&["import", "faq", s(&none), "--db", db]).status.code(), Some(1));
    assert_eq!(share(db, "faq_answerable_questions"), (1, 4), "a failed import changes nothing");
}

#[test]
fn activity_by_hour_of_week_in_the_reports_zone_as_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let db = s(&db);
    // Monday 6 April 2026: 08:10Z and 08:50Z are 10 h in Paris, 12:00Z is 14 h; Sunday 29 March
    // 00:30Z is 1 h in Paris (winter time), 01:30Z is 3 h (summer time from 01:00Z). The agent's
    // reply is no message received.
    let rows = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to,text
a1,2026-04-06T08:10:00Z,in,acme,email,u1,k1,,Bonjour
a2,2026-04-06T08:50:00Z,in,acme,email,u2,k2,,Bonjour
a3,2026-04-06T12:00:00Z,in,acme,email,u3,k3,,Bonjour
a4,2026-03-29T00:30:00Z,in,acme,email,u4,k4,,Bonjour
a5,2026-03-29T01:30:00Z,in,acme,email,u5,k5,,Bonjour
a6,2026-04-06T08:20:00Z,out,acme,email,agent7,k1,a1,Bonjour
";
    let f = write(dir.path(), "m.csv", rows);
    assert_eq!(run(&["import", "messages", s(&f), "--db", db]).status.code(), Some(0));
    let value = |tz: &str| {
        let r = json(&run(&["report", "--db", db, "--tz", tz, "--format", "json", "--metrics", "activity_by_hour"]));
        r["total"]["metrics"]["activity_by_hour"].clone()
    };
    let v = value("Europe/Paris");
    assert_eq!(v["messages"], 5);
    assert_eq!(v["zone"], "Europe/Paris");
    assert_eq!(v["hours"][0][10], 2);
    assert_eq!(v["hours"][0][14], 1);
    assert_eq!(v["hours"][6][1], 1);
    assert_eq!(v["hours"][6][3], 1);
    assert_eq!(v["hours"][6][2], 0, "02:00 did not exist in Paris that night");
    let total: u64 =
        v["hours"].as_array().unwrap().iter().flat_map(|d| d.as_array().unwrap()).map(|x| x.as_u64().unwrap()).sum();
    assert_eq!(total, 5);
    assert_eq!(v["peak"], serde_json::json!({"day": "mon", "hour": 10, "messages": 2}));
    // In UTC the Monday messages are at 8 h and 12 h.
    let u = value("UTC");
    assert_eq!(
        (u["hours"][0][8].as_u64(), u["hours"][0][12].as_u64(), u["hours"][6][0].as_u64()),
        (Some(2), Some(1), Some(1))
    );
    // The drill-down lists the five messages with their day and hour.
    let e = json(&run(&["explain", "activity_by_hour", "--tz", "Europe/Paris", "--format", "json", "--db", db]));
    let mut got: Vec<(String, String, u64)> = e["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (r["message_id"].as_str().unwrap().into(), r["day"].as_str().unwrap().into(), r["hour"].as_u64().unwrap())
        })
        .collect();
    got.sort();
    let want = [("a1", "mon", 10), ("a2", "mon", 10), ("a3", "mon", 14), ("a4", "sun", 1), ("a5", "sun", 3)];
    assert_eq!(got, want.map(|(a, b, c)| (a.to_string(), b.to_string(), c)));
    // The table says the busiest hour.
    let table = |lang: &str| {
        let o = run(&["report", "--db", db, "--tz", "Europe/Paris", "--metrics", "activity_by_hour", "--lang", lang]);
        String::from_utf8(o.stdout).unwrap()
    };
    assert!(table("fr").contains("lun. 10 h (2)"), "{}", table("fr"));
    assert!(table("en").contains("Mon 10:00 (2)"), "{}", table("en"));
}

#[test]
fn community_threads_count_public_conversations_with_three_customers_as_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let db = s(&db);
    // t1: a public thread where u1 (twice), u2 and u3 write, and the brand answers: 3 customers.
    // t2: public, 2 customers. t3: 3 customers, but by e-mail (private).
    let rows = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to,text
c1,2026-04-06T08:00:00Z,in,acme,facebook_wall,u1,t1,,Panne chez vous ?
c2,2026-04-06T08:01:00Z,in,acme,facebook_wall,u2,t1,,Pareil ici
c3,2026-04-06T08:02:00Z,out,acme,facebook_wall,agent7,t1,c1,Nous regardons
c4,2026-04-06T08:03:00Z,in,acme,facebook_wall,u1,t1,,Merci
c5,2026-04-06T08:04:00Z,in,acme,facebook_wall,u3,t1,,Moi aussi
c6,2026-04-06T09:00:00Z,in,acme,twitter,u4,t2,,Une question
c7,2026-04-06T09:01:00Z,in,acme,twitter,u5,t2,,Pareil
c8,2026-04-06T10:00:00Z,in,acme,email,u6,t3,,Bonjour
c9,2026-04-06T10:01:00Z,in,acme,email,u7,t3,,Bonjour
c10,2026-04-06T10:02:00Z,in,acme,email,u8,t3,,Bonjour
";
    let f = write(dir.path(), "m.csv", rows);
    assert_eq!(run(&["import", "messages", s(&f), "--db", db]).status.code(), Some(0));
    let r = json(&run(&["report", "--db", db, "--format", "json", "--metrics", "community_threads"]));
    assert_eq!(r["total"]["metrics"]["community_threads"]["value"], 1);
    let e = json(&run(&["explain", "community_threads", "--format", "json", "--db", db]));
    let rows = e["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0]["conversation_id"].as_str(), rows[0]["participants"].as_u64()), (Some("t1"), Some(3)));
    assert_eq!(rows[0]["public"], true);
    // Every conversation says its customers in the export.
    let x = run(&["export", "conversations", "--db", db]);
    let out = String::from_utf8_lossy(&x.stdout);
    let head: Vec<&str> = out.lines().next().unwrap().split(',').collect();
    let at = head.iter().position(|h| *h == "participants").expect("a participants column");
    let t1 = out.lines().find(|l| l.starts_with("t1,")).unwrap();
    assert_eq!(t1.split(',').nth(at), Some("3"), "{out}");
}

#[test]
fn recurring_themes_with_their_change_against_the_period_before_as_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let db = s(&db);
    // The week before: one delivery, two bills. The week: three deliveries (n1 also a delay,
    // n2 also a loss), one bill, one message about nothing; the agent's reply is not received.
    let rows = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to,text
p1,2026-03-31T08:00:00Z,in,acme,email,u1,k1,,Colis pas livré
p2,2026-04-01T08:00:00Z,in,acme,email,u2,k2,,Ma facture est fausse
p3,2026-04-02T08:00:00Z,in,acme,email,u3,k3,,Facture en double
n1,2026-04-06T08:00:00Z,in,acme,email,u4,k4,,\"Livraison en retard, colis introuvable\"
n2,2026-04-07T08:00:00Z,in,acme,twitter,u5,k5,,Colis perdu
n3,2026-04-08T08:00:00Z,in,acme,twitter,u6,k6,,Où est mon colis ?
n4,2026-04-09T08:00:00Z,in,acme,email,u7,k7,,Ma facture ?
n5,2026-04-10T08:00:00Z,in,acme,email,u8,k8,,Bonjour
n6,2026-04-10T09:00:00Z,out,acme,email,agent7,k8,n5,\"Bonjour, votre colis arrive\"
";
    let f = write(dir.path(), "m.csv", rows);
    assert_eq!(run(&["import", "messages", s(&f), "--db", db]).status.code(), Some(0));
    let report = |args: &[&str]| {
        let mut a = vec!["report", "--db", db, "--format", "json", "--metrics", "recurring_themes"];
        a.extend_from_slice(args);
        json(&run(&a))
    };
    let r = report(&["--from", "2026-04-06", "--to", "2026-04-13"]);
    let v = &r["total"]["metrics"]["recurring_themes"];
    assert_eq!(
        (v["messages"].as_u64(), v["with_theme"].as_u64(), v["previous_messages"].as_u64()),
        (Some(5), Some(4), Some(3))
    );
    // delivery: 3 now (3/5 = 60 %), 1 before: +200 %; bill: 1 now, 2 before: −50 %, listed for
    // the 2 before; delay and lost, one message each and none before, are not recurring.
    /// Theme, messages, previous, change, share.
    type Row = (String, u64, Option<u64>, Option<f64>, f64);
    let themes: Vec<Row> = v["themes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["theme"].as_str().unwrap().to_string(),
                t["messages"].as_u64().unwrap(),
                t["previous"].as_u64(),
                t["change"].as_f64(),
                t["share"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        themes,
        [("delivery".to_string(), 3, Some(1), Some(200.0), 60.0), ("bill".to_string(), 1, Some(2), Some(-50.0), 20.0)]
    );
    // Without a period, no period before: `null`, never 0.
    let all = report(&[]);
    let v = &all["total"]["metrics"]["recurring_themes"];
    assert!(v["previous_messages"].is_null() && v["themes"][0]["previous"].is_null(), "{v}");
    assert_eq!((v["themes"][0]["theme"].as_str(), v["themes"][0]["messages"].as_u64()), (Some("delivery"), Some(4)));
    // By week without a start, the first week has no week before: `null`.
    let w = report(&["--by", "week"]);
    assert!(w["groups"][0]["metrics"]["recurring_themes"]["themes"][0]["previous"].is_null(), "{w}");
    // By week, the second week compares with the first.
    let w = report(&["--from", "2026-03-30", "--to", "2026-04-13", "--by", "week"]);
    let weeks = w["groups"].as_array().unwrap();
    let second = weeks.iter().find(|g| g["key"] == "2026-W15").expect("week 15");
    assert_eq!(second["metrics"]["recurring_themes"]["themes"][0]["change"], 200.0);
    // The drill-down lists the four messages about a theme, each with its themes.
    let e = json(&run(&[
        "explain",
        "recurring_themes",
        "--from",
        "2026-04-06",
        "--to",
        "2026-04-13",
        "--format",
        "json",
        "--db",
        db,
    ]));
    let mut got: Vec<(String, Vec<String>)> = e["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let t = r["themes"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
            (r["message_id"].as_str().unwrap().to_string(), t)
        })
        .collect();
    got.sort();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        [
            ("n1".to_string(), s(&["delay", "delivery"])),
            ("n2".to_string(), s(&["lost", "delivery"])),
            ("n3".to_string(), s(&["delivery"])),
            ("n4".to_string(), s(&["bill"])),
        ]
    );
}
