//! End-to-end checks of the `barometre` binary: exit statuses, messages, figures.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_barometre"));
    c.env_remove("BAROMETRE_DB")
        .env_remove("BAROMETRE_CONFIG")
        .env_remove("BAROMETRE_WORKSPACE")
        .env_remove("BAROMETRE_CONTROL")
        .env_remove("BAROMETRE_STORE")
        .env("BAROMETRE_LANG", "en");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const ROWS: &str = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to,text,bot
a1,2026-04-06T10:00:00+02:00,in,acme,twitter,u1,k1,,Bonjour,
a2,2026-04-06T08:05:00Z,out,acme,twitter,bot,k1,,Auto,true
a3,2026-04-06T08:20:00Z,out,acme,twitter,agent7,k1,a1,Nous regardons ^AB,
b1,2026-04-06T09:00:00Z,in,acme,email,u2,k2,,Facture,
c1,2026-04-07T09:00:00Z,in,acme,email,u3,k3,,Colis,
c2,2026-04-07T11:00:00Z,out,acme,email,agent8,k3,,Le voici,
";

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn import_then_report_gives_the_hand_computed_figures() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let f = write(d.path(), "m.csv", ROWS);
    let o = run(&["import", "messages", s(&f), "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&run(&["report", "--db", s(&db), "--format", "json"]));
    let t = &r["total"]["metrics"];
    // a1 answered by a3 20 min after 08:00Z (the bot does not count); b1 never; c1 after 2 h.
    assert_eq!(t["messages_received"]["value"], 3);
    assert_eq!(t["agent_replies"]["value"], 2);
    assert_eq!(t["response_rate"]["numerator"], 2);
    assert_eq!(t["response_rate"]["denominator"], 3);
    assert_eq!(t["response_time"]["mean"], 4200.0); // (1200 + 7200) / 2
    assert_eq!(t["response_time"]["median"], 4200.0);
    assert_eq!(t["requests_handled_within_target"]["numerator"], 1);
    assert_eq!(t["signed_reply_rate"]["value"], 50.0); // a3 of a3, c2
    assert_eq!(r["period"]["from"], Value::Null);
    assert_eq!(r["group_by"], Value::Null);
}

#[test]
fn bad_rows_are_named_and_the_valid_ones_kept() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let f = write(
        d.path(),
        "bad.csv",
        &format!(
            "{ROWS}x4,not-a-date,in,acme,email,u3,k3,,oops,\nx5,2026-04-06T09:00:00Z,up,acme,email,u3,k3,,oops,\n"
        ),
    );
    let o = run(&["import", "messages", s(&f), "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.csv:8:2: column `created_at`: `not-a-date` is not an RFC 3339 instant"), "{err}");
    assert!(err.contains("bad.csv:9:3: unknown direction `up`"), "{err}");
    let r = json(&run(&["report", "--db", s(&db), "--format", "json"]));
    assert_eq!(r["total"]["metrics"]["messages_received"]["value"], 3);
    // strict: nothing taken, exit 1
    let db2 = d.path().join("c.db");
    let o = run(&["import", "messages", s(&f), "--db", s(&db2), "--strict"]);
    assert_eq!(o.status.code(), Some(1));
    let r = json(&run(&["report", "--db", s(&db2), "--format", "json"]));
    assert_eq!(r["total"]["metrics"]["messages_received"]["value"], 0);
}

#[test]
fn importing_twice_changes_no_figure() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let f = write(d.path(), "m.csv", ROWS);
    run(&["import", "messages", s(&f), "--db", s(&db)]);
    let a = run(&["report", "--db", s(&db), "--format", "json", "--by", "agent"]).stdout;
    let o = run(&["import", "messages", s(&f), "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("0 new, 0 changed, 6 unchanged"));
    assert_eq!(a, run(&["report", "--db", s(&db), "--format", "json", "--by", "agent"]).stdout);
}

#[test]
fn a_killed_import_leaves_the_store_as_it_was() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let small = write(d.path(), "m.csv", ROWS);
    run(&["import", "messages", s(&small), "--db", s(&db)]);
    let before = run(&["report", "--db", s(&db), "--format", "json"]).stdout;
    let mut big = String::from("message_id,created_at,direction,account,channel,author_id\n");
    for i in 0..300_000 {
        big.push_str(&format!("z{i},2026-04-08T10:00:00Z,in,acme,chat,u{i}\n"));
    }
    let f = write(d.path(), "big.csv", &big);
    let mut child = bin().args(["import", "messages", s(&f), "--db", s(&db)]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    let _ = child.kill();
    let status = child.wait().unwrap();
    let after = run(&["report", "--db", s(&db), "--format", "json"]).stdout;
    if !status.success() {
        assert_eq!(before, after, "a killed import must leave nothing behind");
    }
}

#[test]
fn explain_lists_the_rows_behind_a_ratio() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let f = write(d.path(), "m.csv", ROWS);
    run(&["import", "messages", s(&f), "--db", s(&db)]);
    let e = json(&run(&["explain", "unanswered_rate", "--db", s(&db), "--format", "json"]));
    assert_eq!(e["metric"], "unanswered_rate");
    let rows = e["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let unanswered: Vec<&str> =
        rows.iter().filter(|r| r["in_numerator"] == true).map(|r| r["message_id"].as_str().unwrap()).collect();
    assert_eq!(unanswered, ["b1"]);
    let e = json(&run(&[
        "explain",
        "messages_received",
        "--by",
        "channel",
        "--group",
        "email",
        "--db",
        s(&db),
        "--format",
        "json",
    ]));
    assert_eq!(e["rows"].as_array().unwrap().len(), 2);
    let o = run(&["explain", "no_such_metric", "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown metric `no_such_metric`"));
}

#[test]
fn export_writes_one_row_per_conversation_in_csv_and_xlsx() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let f = write(d.path(), "m.csv", ROWS);
    run(&["import", "messages", s(&f), "--db", s(&db)]);
    let o = run(&["export", "conversations", "--db", s(&db)]);
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("conversation_id,start,end,account,channel"));
    let k3 = lines.iter().find(|l| l.starts_with("k3,")).unwrap();
    assert!(k3.contains(",7200.0,"), "{k3}");
    let x = d.path().join("c.xlsx");
    let o = run(&["export", "conversations", "--format", "xlsx", "--output", s(&x), "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(&std::fs::read(&x).unwrap()[..2], b"PK");
}

#[test]
fn business_hours_from_the_config_give_the_business_variant() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    // Fri 17:30 Paris → Mon 09:30 Paris: 1 h open on a 9–18 schedule, 64 h on the calendar.
    let f = write(
        d.path(),
        "m.csv",
        "message_id,created_at,direction,account,channel,author_id,conversation_id\n\
f1,2026-04-10T17:30:00+02:00,in,acme,email,u1,k\nf2,2026-04-13T07:30:00Z,out,acme,email,ag,k\n",
    );
    let cfg = write(
        d.path(),
        "b.toml",
        "[accounts.acme]\ntimezone = \"Europe/Paris\"\n[accounts.acme.hours]\nmon = [\"09:00-18:00\"]\nfri = [\"09:00-18:00\"]\n",
    );
    run(&["import", "messages", s(&f), "--db", s(&db)]);
    let r = json(&run(&["report", "--db", s(&db), "--format", "json", "--config", s(&cfg)]));
    assert_eq!(r["total"]["metrics"]["response_time_business"]["mean"], 3600.0);
    assert_eq!(r["total"]["metrics"]["response_time"]["mean"], 64.0 * 3600.0);
}

#[test]
fn twcs_files_import_as_published() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let f = write(
        d.path(),
        "twcs.csv",
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n\
1,sprintcare,False,Tue Oct 31 22:10:47 +0000 2017,@115712 I understand. Can you DM us?,2,3\n\
2,115712,True,Tue Oct 31 22:11:45 +0000 2017,@sprintcare and how do you propose we do that,,1\n\
3,115712,True,Tue Oct 31 22:08:27 +0000 2017,@sprintcare I have sent several private messages,1,\n",
    );
    let o = run(&["import", "messages", s(&f), "--format", "twcs", "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&run(&["report", "--db", s(&db), "--format", "json", "--by", "account"]));
    assert_eq!(r["groups"][0]["key"], "sprintcare");
    let t = &r["total"]["metrics"];
    // 3 asked at 22:08:27, answered 22:10:47 → 140 s; 2 (22:11:45) unanswered.
    assert_eq!(t["response_time"]["mean"], 140.0);
    assert_eq!(t["response_rate"]["denominator"], 2);
}

#[test]
fn demo_then_report_in_both_languages() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let o = run(&["demo", "--db", s(&db), "--end", "2026-04-06", "--days", "14"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let fr = bin()
        .args(["report", "--db", s(&db), "--from", "2026-03-30", "--to", "2026-04-06", "--lang", "fr"])
        .output()
        .unwrap();
    let fr = String::from_utf8(fr.stdout).unwrap();
    assert!(fr.contains("Taux de réponse") && fr.contains("Période préc."), "{fr}");
    let en = String::from_utf8(run(&["report", "--db", s(&db), "--lang", "en", "--by", "channel"]).stdout).unwrap();
    assert!(en.contains("Response rate") && en.contains("== channel : facebook_messenger =="), "{en}");
    let r = json(&run(&["report", "--db", s(&db), "--format", "json"]));
    assert!(r["total"]["metrics"]["messages_received"]["value"].as_u64().unwrap() > 1000);
}

#[test]
fn the_readme_documents_every_metric_from_the_registry() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    for lang in ["fr", "en"] {
        let generated = String::from_utf8(run(&["metrics", "--lang", lang]).stdout).unwrap();
        let start = format!("<!-- metrics:{lang} -->\n");
        let end = format!("<!-- /metrics:{lang} -->");
        let a = readme.find(&start).unwrap_or_else(|| panic!("README lacks {start}")) + start.len();
        let b = readme.find(&end).unwrap();
        assert_eq!(
            &readme[a..b],
            generated,
            "README's {lang} metric table is stale: run `barometre metrics --lang {lang}`"
        );
    }
}

#[test]
fn a_one_shot_report_from_files_equals_import_then_report() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let f = write(d.path(), "m.csv", ROWS);
    let ev = write(d.path(), "e.csv", "conversation_id,event,at\nk2,examined,2026-04-06T09:30:00Z\n");
    run(&["import", "messages", s(&f), "--db", s(&db)]);
    run(&["import", "conversation-events", s(&ev), "--db", s(&db)]);
    let stored = run(&["report", "--db", s(&db), "--format", "json", "--by", "channel"]).stdout;
    let o = run(&["report", "--input", s(&f), "--events", s(&ev), "--format", "json", "--by", "channel"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8(o.stdout).unwrap(), String::from_utf8(stored).unwrap());
    // A repeated id with other content is a bad row: reported, first version kept, exit 2.
    // Errors come out in the order of the rows, whatever found them; an identical repeat is
    // no error.
    let dup = write(
        d.path(),
        "dup.csv",
        &format!(
            "{ROWS}x1,2026-04-06T09:05:00Z,sideways,acme,email,u2,k2,,,\n\
b1,2026-04-06T09:05:00Z,in,acme,email,u2,k2,,Autre,\n\
c1,2026-04-07T09:00:00Z,in,acme,email,u3,k3,,Colis,\n\
x2,2026-04-06T09:05:00Z,in,acme,email,,k2,,,\n"
        ),
    );
    let o = run(&["report", "--input", s(&dup), "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    let f = dup.display();
    assert_eq!(lines[0], format!("{f}:8:3: unknown direction `sideways` (expected `in` or `out`; translate it with --map-value direction:sideways=in)"));
    assert_eq!(lines[1], format!("{f}:9:1: duplicate message_id `b1` with other content (first at {f}:5)"));
    assert_eq!(lines[2], format!("{f}:11:6: missing value for required column `author_id`"));
    assert_eq!(json(&o)["total"]["metrics"]["messages_received"]["value"], 3);
}

#[test]
fn surveys_and_contacts_import_and_report_with_their_rows_behind() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let m = write(d.path(), "m.csv", ROWS);
    run(&["import", "messages", s(&m), "--db", s(&db)]);
    // k1 was first answered by agent7: the survey tied to k1 without an agent goes to agent7.
    let sv = write(
        d.path(),
        "s.csv",
        "response_id,survey,score,scale_min,scale_max,answered_at,conversation_id,agent_id\n\
s1,csat,5,1,5,2026-04-06T12:00:00Z,k1,\n\
s2,csat,2,1,5,2026-04-06T12:05:00Z,,agent8\n\
s3,nps,10,0,10,2026-04-06T12:06:00Z,,\n\
s4,nps,3,0,10,2026-04-06T12:07:00Z,,\n\
s5,csat,9,1,5,2026-04-06T12:08:00Z,,\n",
    );
    let o = run(&["import", "surveys", s(&sv), "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(2), "the out-of-scale answer is rejected");
    assert!(String::from_utf8_lossy(&o.stderr).contains("s.csv:6:3: score 9 is outside its scale 1–5"));
    let ct = write(
        d.path(),
        "c.csv",
        "contact_id,channel,account,queued_at,answered_at,ended_at,agent_id\n\
c1,phone,acme,2026-04-06T09:00:00Z,2026-04-06T09:02:00Z,2026-04-06T09:10:00Z,agent7\n\
c2,phone,acme,2026-04-06T09:01:00Z,2026-04-06T09:05:00Z,,agent8\n\
c3,phone,acme,2026-04-06T09:03:00Z,,,\n",
    );
    assert_eq!(run(&["import", "contacts", s(&ct), "--db", s(&db)]).status.code(), Some(0));
    // Importing again changes nothing.
    let o = run(&["import", "contacts", s(&ct), "--db", s(&db)]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("0 new, 0 changed, 3 unchanged"));
    let r = json(&run(&["report", "--db", s(&db), "--format", "json", "--by", "agent"]));
    let t = &r["total"]["metrics"];
    assert_eq!((t["csat"]["numerator"].as_u64(), t["csat"]["denominator"].as_u64()), (Some(1), Some(2)));
    assert_eq!(t["nps"]["value"], 0.0); // 1 promoter, 1 detractor of 2
    assert_eq!(t["average_wait_time"]["mean"], 180.0); // (120 + 240) / 2
    assert_eq!(t["abandon_rate"]["numerator"], 1);
    let agent7 = r["groups"].as_array().unwrap().iter().find(|g| g["key"] == "agent7").unwrap();
    assert_eq!(agent7["metrics"]["csat"]["value"], 100.0);
    let e = json(&run(&["explain", "csat", "--db", s(&db), "--format", "json"]));
    let ids: Vec<&str> = e["rows"].as_array().unwrap().iter().map(|r| r["response_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["s1", "s2"]);
}

#[test]
fn posts_import_with_engagement_parts_summed() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let p = write(
        d.path(),
        "p.csv",
        "post_id,account,channel,published_at,theme,impressions,reach,reactions,comments,shares,clicks\n\
p1,acme,facebook,2026-04-06T10:00:00Z,promo,1000,500,10,5,3,2\n\
p2,acme,instagram,2026-04-07T10:00:00Z,conseil,800,400,,,,\n",
    );
    let o = run(&["import", "posts", s(&p), "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("p.csv:3:8: missing `engagements` (or its parts"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = json(&run(&["report", "--db", s(&db), "--format", "json", "--by", "theme"]));
    let t = &r["total"]["metrics"];
    assert_eq!(t["engagement_rate"]["numerator"], 20); // 10 + 5 + 3 + 2
    assert_eq!(t["engagement_rate"]["value"], 4.0); // 20 / 500
    assert_eq!(t["top_posts"]["top"][0]["post_id"], "p1");
    let e = json(&run(&["explain", "engagement_rate", "--db", s(&db), "--format", "json"]));
    assert_eq!(e["rows"][0]["post_id"], "p1");
}

#[test]
fn check_exits_three_when_a_target_is_breached_and_zero_otherwise() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let f = write(d.path(), "m.csv", ROWS);
    run(&["import", "messages", s(&f), "--db", s(&db)]);
    // Over the 7 days before 2026-04-08: 2 of 3 requests answered = 66.7 %.
    let strict =
        write(d.path(), "s.toml", "[[alerts]]\nmetric = \"response_rate\"\nbelow = 90\n[staffing]\nenabled = false\n");
    let o = run(&["check", "--db", s(&db), "--config", s(&strict), "--to", "2026-04-08", "--format", "json"]);
    assert_eq!(o.status.code(), Some(3));
    let r = json(&o);
    assert_eq!(r["findings"][0]["breached"], true);
    assert!((r["findings"][0]["value"].as_f64().unwrap() - 200.0 / 3.0).abs() < 1e-9);
    let easy =
        write(d.path(), "e.toml", "[[alerts]]\nmetric = \"response_rate\"\nbelow = 50\n[staffing]\nenabled = false\n");
    let o = run(&["check", "--db", s(&db), "--config", s(&easy), "--to", "2026-04-08"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 breached"));
}

#[test]
fn customers_and_orders_give_churn_retention_and_clv() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let c = write(
        d.path(),
        "c.csv",
        "customer_id,account,since,churned_at,referred_by\n\
c1,acme,2025-01-01,,\nc2,acme,2025-01-01,2026-02-01,\nc3,acme,2026-03-01,,c1\nc4,acme,2025-06-01,2025-01-01,\n",
    );
    let o = run(&["import", "customers", s(&c), "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("c.csv:5:4: churned_at is before since"));
    let ord = write(
        d.path(),
        "o.csv",
        "order_id,customer_id,ordered_at,amount,margin,currency\no1,c1,2026-01-10,100,0.5,EUR\no2,c1,2026-02-10,50,1.5,EUR\n",
    );
    let o = run(&["import", "orders", s(&ord), "--db", s(&db)]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("o.csv:3:5: margin 1.5 is not a fraction between 0 and 1"));
    let r = json(&run(&["report", "--db", s(&db), "--format", "json", "--from", "2026-01-01", "--to", "2027-01-01"]));
    let t = &r["total"]["metrics"];
    // At the start: c1 c2; c2 lost; c3 new (referred); at the end: c1 c3.
    assert_eq!((t["churn_rate"]["numerator"].as_u64(), t["churn_rate"]["denominator"].as_u64()), (Some(1), Some(2)));
    assert_eq!(t["retention_rate"]["value"], 50.0); // (2 − 1) / 2
    assert_eq!(t["referral_rate"]["value"], 100.0);
    assert_eq!(t["clv_historical"]["value"], 50.0); // 100 × 0.5 for one customer
    assert_eq!(t["clv"]["currency"], "EUR");
    let e = json(&run(&[
        "explain",
        "churn_rate",
        "--db",
        s(&db),
        "--from",
        "2026-01-01",
        "--to",
        "2027-01-01",
        "--format",
        "json",
    ]));
    let lost: Vec<&str> = e["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["in_numerator"] == true)
        .map(|r| r["customer_id"].as_str().unwrap())
        .collect();
    assert_eq!(lost, ["c2"]);
}

#[test]
fn report_xlsx_has_a_total_sheet_and_one_per_grouping_with_formatted_values() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let f = write(d.path(), "m.csv", ROWS);
    run(&["import", "messages", s(&f), "--db", s(&db)]);
    let x = d.path().join("r.xlsx");
    let o = run(&["report", "--db", s(&db), "--format", "xlsx", "--output", s(&x), "--lang", "en"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    // Read the workbook's parts with Python's standard library: sheet names, and the response
    // rate stored as a fraction (2 / 3) under a percent format.
    let script = r#"
import sys, zipfile, re
z = zipfile.ZipFile(sys.argv[1])
wb = z.read("xl/workbook.xml").decode()
print(",".join(re.findall(r'<sheet name="([^"]+)"', wb)))
total = z.read("xl/worksheets/sheet1.xml").decode()
print(",".join(v for v in re.findall(r"<v>([^<]+)</v>", total) if v.startswith("0.666")))
"#;
    let py = Command::new("python3").args(["-c", script, s(&x)]).output().unwrap();
    let out = String::from_utf8(py.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Total,account,channel,agent,team,day,week,month,theme");
    // response_rate 2 / 3, as a fraction under a percent format (not 66.7)
    assert!(lines[1].starts_with("0.6666666666666"), "{out}");
}

#[test]
fn survey_response_rate_counts_answered_invitations_by_theme() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    // Four invitations: two on delivery (u1 and u2 answer), two on the app (u3 answers before
    // being invited — not an answer to it — and u4 never).
    let inv = write(
        d.path(),
        "i.csv",
        "invitation_id,survey,sent_at,channel,theme,customer_id\n\
i1,csat,2026-04-01T09:00:00Z,email,livraison,u1\ni2,csat,2026-04-01T09:00:00Z,email,livraison,u2\n\
i3,csat,2026-04-02T09:00:00Z,sms,application,u3\ni4,csat,2026-04-02T09:00:00Z,sms,application,u4\n",
    );
    let ans = write(
        d.path(),
        "a.csv",
        "response_id,survey,score,scale_min,scale_max,answered_at,customer_id\n\
r1,csat,5,1,5,2026-04-01T10:00:00Z,u1\nr2,csat,2,1,5,2026-04-03T10:00:00Z,u2\nr3,csat,4,1,5,2026-04-01T08:00:00Z,u3\n",
    );
    assert_eq!(run(&["import", "survey-invitations", s(&inv), "--db", s(&db)]).status.code(), Some(0));
    assert_eq!(run(&["import", "surveys", s(&ans), "--db", s(&db)]).status.code(), Some(0));
    let r = json(&run(&["report", "--db", s(&db), "--format", "json", "--by", "theme"]));
    let t = &r["total"]["metrics"]["survey_response_rate"];
    assert_eq!((t["numerator"].as_u64(), t["denominator"].as_u64()), (Some(2), Some(4)));
    let g = |k: &str| r["groups"].as_array().unwrap().iter().find(|g| g["key"] == k).unwrap()["metrics"].clone();
    assert_eq!(g("livraison")["survey_response_rate"]["value"], 100.0);
    assert_eq!(g("application")["survey_response_rate"]["value"], 0.0);
    // The answers take their invitation's theme: CSAT by theme.
    assert_eq!(g("livraison")["csat"]["numerator"], 1);
    assert_eq!(g("livraison")["csat"]["denominator"], 2);
}

#[test]
fn the_barometer_compares_brands_and_channels_with_intervals() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let p = write(
        d.path(),
        "p.csv",
        "probe_id,campaign,brand,channel,sent_at,answered_at,resolution,signed\n\
p1,q26,alpha,email,2026-04-06T10:00:00Z,2026-04-06T11:00:00Z,complete,yes\n\
p2,q26,alpha,facebook_wall,2026-04-06T10:00:00Z,,,\n\
p3,q26,beta,email,2026-04-06T10:00:00Z,2026-04-08T10:00:00Z,partial,no\n\
p4,q26,beta,facebook_wall,2026-04-06T10:00:00Z,2026-04-06T10:30:00Z,complete,no\n\
p5,q26,beta,email,2026-04-06T10:00:00Z,2026-04-06T09:00:00Z,,\n\
p6,q26,gamma,email,2026-04-06T10:00:00Z,2026-04-06T10:10:00Z,maybe,\n",
    );
    let o = run(&["import", "probes", s(&p), "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("p.csv:6:6: answered_at is before sent_at"), "{err}");
    assert!(err.contains("p.csv:7:7: unknown resolution `maybe`"), "{err}");
    let b = json(&run(&["barometer", "--db", s(&db), "--campaign", "q26", "--format", "json"]));
    assert_eq!(b["campaign"], "q26");
    // email: p1 and p3 answered of 2; wall: p4 of p2, p4.
    assert_eq!(b["by_channel"]["email"]["response_rate"]["value"], 100.0);
    assert_eq!(b["by_channel"]["facebook_wall"]["response_rate"]["value"], 50.0);
    assert_eq!(b["by_channel"]["email"]["response_rate"]["ci95"].as_array().unwrap().len(), 2);
    assert_eq!(b["by_channel"]["email"]["full_resolution_rate"]["value"], 50.0);
    // beta: answered 2/2 (100), complete 1/2 (50), within 24 h 1/2 (50) → 50 + 15 + 10 = 75;
    // alpha: 1/2 answered (50), complete 1/1 (100), within 24 h 1/2 (50) → 25 + 30 + 10 = 65.
    assert_eq!(b["brands"][0]["brand"], "beta");
    assert_eq!((b["brands"][0]["rank"].as_u64(), b["brands"][0]["tier"].as_u64()), (Some(1), Some(1)));
    assert_eq!(b["brands"][0]["score"], 75.0);
    assert_eq!(b["brands"][1]["score"], 65.0);
    let table = String::from_utf8(run(&["barometer", "--db", s(&db), "--lang", "en"]).stdout).unwrap();
    assert!(table.contains("Mystery-shopper barometer q26") && table.contains("Response rate [95% CI]"), "{table}");
}

#[test]
fn report_metrics_keeps_only_the_named_indicators() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let f = write(d.path(), "m.csv", ROWS);
    assert_eq!(run(&["import", "messages", s(&f), "--db", s(&db)]).status.code(), Some(0));
    let o = run(&[
        "report",
        "--db",
        s(&db),
        "--format",
        "json",
        "--by",
        "channel",
        "--metrics",
        "response_time,response_rate",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    let keys = |m: &Value| m.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    // Registry order; the figures of the full report (2 of 3 answered, (1200 + 7200) / 2).
    assert_eq!(keys(&r["total"]["metrics"]), ["response_rate", "response_time"]);
    assert_eq!(r["total"]["metrics"]["response_rate"]["numerator"], 2);
    assert_eq!(r["total"]["metrics"]["response_time"]["mean"], 4200.0);
    let email = r["groups"].as_array().unwrap().iter().find(|g| g["key"] == "email").unwrap();
    assert_eq!(keys(&email["metrics"]), ["response_rate", "response_time"]);
    assert_eq!(email["metrics"]["response_rate"]["denominator"], 2); // b1, c1
    let bad = run(&["report", "--db", s(&db), "--metrics", "response_rate,speed"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown metric `speed`"));
}

/// A file of `n` conversations big enough to be read on two cores, with `\r\n` line ends when
/// asked, texts quoted (commas, doubled quotes, line breaks inside quotes) when asked, a bad row
/// in each half and repeated ids across the halves.
fn big_file(n: usize, nl: &str, quoted: bool) -> String {
    let mut t = format!("message_id,created_at,direction,account,channel,author_id,conversation_id,text{nl}");
    for c in 0..n {
        let day = 1 + c % 28;
        let text = if !quoted {
            format!("bonjour {c}")
        } else if c % 3 == 0 {
            format!("\"Bonjour, \"\"colis\"\" {c}{nl}ligne 2\"")
        } else {
            format!("\"merci {c}\"")
        };
        t += &format!("q{c},2026-02-{day:02}T08:{:02}:00Z,in,acct{},email,u{},k{c},{text}{nl}", c % 60, c % 7, c % 977);
        if c % 5 != 0 {
            t += &format!(
                "r{c},2026-02-{day:02}T09:{:02}:00Z,out,acct{},email,agent{},k{c},ok{nl}",
                c % 60,
                c % 7,
                c % 13
            );
        }
        if c == n / 4 || c == 3 * n / 4 {
            t += &format!("bad{c},2026-02-{day:02}T09:00:00Z,sideways,acct1,email,u1,k{c},x{nl}");
        }
        if c == 3 * n / 4 + 1 {
            // The same id as rows of the first half: once with the same content, once with other.
            let first = t.split(nl).find(|l| l.starts_with("q2,")).unwrap().to_string();
            t += &format!("{first}{nl}q7,2026-02-08T08:07:00Z,in,acct0,email,u7,k7,autre{nl}");
        }
    }
    t
}

/// `big_file` with, at its middle, a message whose quoted text spans a megabyte of lines that read
/// like rows: the guessed cut falls inside quotes, and the first reader must notice.
fn trapped_file(nl: &str) -> String {
    let t = big_file(60_000, nl, false);
    let at = t[..t.len() / 2].rfind(nl).unwrap() + nl.len();
    let fake: String =
        (0..20_000).map(|k| format!("z{k},2026-02-03T08:00:00Z,in,acct1,email,u1,k1,x{k}{nl}")).collect();
    format!("{}trap,2026-02-10T08:00:00Z,in,acct1,email,u1,ktrap,\"début{nl}{fake}fin\"{nl}{}", &t[..at], &t[at..])
}

#[test]
fn a_big_file_read_on_two_cores_gives_the_figures_and_errors_of_one() {
    let d = tempfile::tempdir().unwrap();
    let cases = [("\n", false, false), ("\r\n", false, false), ("\r", false, false), ("\n", true, false)];
    let cases = cases.into_iter().chain([("\r\n", true, false), ("\n", false, true), ("\r\n", false, true)]);
    for (nl, quoted, trapped) in cases {
        let ends = nl.escape_debug().to_string();
        let text = if trapped { trapped_file(nl) } else { big_file(60_000, nl, quoted) };
        let f = write(d.path(), "big.csv", &text);
        assert!(std::fs::metadata(&f).unwrap().len() > 5 << 20);
        let db = d.path().join(format!("b{ends}{quoted}{trapped}.db"));
        let imported =
            bin().args(["import", "messages", s(&f), "--db", s(&db)]).env("BAROMETRE_TIMINGS", "1").output().unwrap();
        assert_eq!(imported.status.code(), Some(2));
        let stored = run(&["report", "--db", s(&db), "--format", "json", "--by", "account"]);
        let once = bin()
            .args(["report", "--input", s(&f), "--format", "json", "--by", "account"])
            .env("BAROMETRE_TIMINGS", "1")
            .output()
            .unwrap();
        assert_eq!(once.status.code(), Some(2));
        assert_eq!(String::from_utf8_lossy(&once.stdout), String::from_utf8_lossy(&stored.stdout));
        let errors = |o: &Output| {
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .filter(|l| l.starts_with(s(&f)) && !l.contains(": cut at byte "))
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let (a, b) = (errors(&imported), errors(&once));
        assert_eq!(a, b, "line ends {ends}, quoted {quoted}, trapped {trapped}");
        assert_eq!(b.len(), 3, "{b:?}");
        assert!(b[2].contains("duplicate message_id `q7` with other content"), "{b:?}");
        if (quoted && nl == "\r\n") || (trapped && nl == "\n") {
            // Imported with a second file (of no row), the file is read by one reader: the same
            // counts, refusals and figures as read in halves.
            let none = write(d.path(), "none.csv", text.split(nl).next().unwrap_or_default());
            let db1 = d.path().join(format!("w{ends}{quoted}{trapped}.db"));
            let whole = run(&["import", "messages", s(&f), s(&none), "--db", s(&db1)]);
            assert_eq!(whole.status.code(), Some(2));
            let said = |o: &Output| {
                let e = String::from_utf8_lossy(&o.stderr).into_owned();
                e.lines().find(|l| l.contains(" lignes lues :") || l.contains(" rows read:")).map(String::from)
            };
            assert!(
                said(&whole)
                    .is_some_and(|l| l.contains(" 1 unchanged, 3 rejected") || l.contains(" 1 inchangées, 3 rejetées")),
                "{}",
                String::from_utf8_lossy(&whole.stderr)
            );
            assert_eq!(said(&imported), said(&whole));
            assert_eq!(errors(&whole), a);
            let stored1 = run(&["report", "--db", s(&db1), "--format", "json", "--by", "account"]);
            assert_eq!(String::from_utf8_lossy(&stored1.stdout), String::from_utf8_lossy(&stored.stdout));
            // Into a store file that exists, its workspace empty: read in halves there too.
            let db2 = d.path().join(format!("e{ends}{quoted}{trapped}.db"));
            assert_eq!(run(&["admin", "workspace", "create", "default", "--db", s(&db2)]).status.code(), Some(0));
            let into = bin()
                .args(["import", "messages", s(&f), "--db", s(&db2)])
                .env("BAROMETRE_TIMINGS", "1")
                .output()
                .unwrap();
            assert_eq!(said(&into), said(&whole));
            assert_eq!(errors(&into), a);
            assert!(String::from_utf8_lossy(&into.stderr).contains(": cut at byte "));
            let stored2 = run(&["report", "--db", s(&db2), "--format", "json", "--by", "account"]);
            assert_eq!(String::from_utf8_lossy(&stored2.stdout), String::from_utf8_lossy(&stored.stdout));
        }
        // The cut is checked by the reader that knows quotes: taken only where a row ends.
        let cut = if trapped { "missed" } else { "held" };
        let err = String::from_utf8_lossy(&once.stderr);
        assert!(err.lines().any(|l| l.contains(": cut at byte ") && l.ends_with(cut)), "{ends} {quoted}: {err}");
        // The import read it in halves too.
        let err = String::from_utf8_lossy(&imported.stderr);
        assert!(err.lines().any(|l| l.contains(": cut at byte ") && l.ends_with(cut)), "{ends} {quoted}: {err}");
    }
    // A header without a required column: one error, said once, as for a small file.
    let text = big_file(60_000, "\n", false).replacen("direction,", "sens,", 1);
    let f = write(d.path(), "big.csv", &text);
    let once = run(&["report", "--input", s(&f), "--format", "json"]);
    assert_eq!(once.status.code(), Some(2));
    let err = String::from_utf8_lossy(&once.stderr);
    assert_eq!(err.lines().filter(|l| l.contains("missing required column `direction`")).count(), 1, "{err}");
}

#[test]
fn tokens_are_listed_by_id_and_revoked_by_token_or_id() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    assert_eq!(run(&["admin", "workspace", "create", "default", "--db", s(&db)]).status.code(), Some(0));
    let o = run(&["admin", "token", "create", "--role", "viewer", "--db", s(&db)]);
    let t1 = String::from_utf8(o.stdout).unwrap().trim().to_string();
    let o = run(&["admin", "token", "create", "--role", "analyst", "--expires-in", "never", "--db", s(&db)]);
    let t2 = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert!(t1.starts_with("brm_") && t2.starts_with("brm_"));
    let list = String::from_utf8(run(&["admin", "token", "list", "--db", s(&db)]).stdout).unwrap();
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines[0], "id\tworkspace\trole\tcreated\texpires");
    assert_eq!(lines.len(), 3, "{list}");
    assert!(!list.contains(&t1[4..]) && !list.contains(&t2[4..]), "a token itself is never listed");
    // The viewer's token expires in 90 days; the analyst's never.
    let viewer: Vec<&str> = lines.iter().find(|l| l.contains("\tviewer\t")).unwrap().split('\t').collect();
    let (created, expires) = (viewer[3], viewer[4]);
    let days = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ").unwrap();
    assert_eq!((days(expires) - days(created)).num_days(), 90);
    assert!(lines.iter().any(|l| l.contains("\tanalyst\t") && l.ends_with("\tnever")));
    // Revoked by the token itself, then by the other's id.
    assert_eq!(run(&["admin", "token", "revoke", &t1, "--db", s(&db)]).status.code(), Some(0));
    let id2 = lines.iter().find(|l| l.contains("\tanalyst\t")).unwrap().split('\t').next().unwrap().to_string();
    assert_eq!(run(&["admin", "token", "revoke", &id2, "--db", s(&db)]).status.code(), Some(0));
    let o = run(&["admin", "token", "revoke", &t1, "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(1), "revoked twice: no such token");
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such token"));
    let list = String::from_utf8(run(&["admin", "token", "list", "--db", s(&db)]).stdout).unwrap();
    assert_eq!(list.lines().count(), 1);
    let o = run(&["admin", "token", "create", "--role", "viewer", "--expires-in", "soon", "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn a_password_change_needs_a_known_user_and_eight_characters() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    run(&["admin", "workspace", "create", "default", "--db", s(&db)]);
    let pw = |args: &[&str], p: &str| bin().args(args).env("BAROMETRE_PASSWORD", p).output().unwrap();
    let o = pw(&["admin", "user", "create", "ana", "--role", "viewer", "--db", s(&db)], "first pass");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let o = pw(&["admin", "user", "password", "ana", "--db", s(&db)], "second pass");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("session"));
    assert_eq!(pw(&["admin", "user", "password", "ana", "--db", s(&db)], "short").status.code(), Some(1));
    assert_eq!(pw(&["admin", "user", "password", "bob", "--db", s(&db)], "long enough").status.code(), Some(1));
}

#[test]
fn every_refused_row_is_printed_even_past_the_thousand_kept() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let mut csv = String::from("message_id,created_at,direction,account,channel,author_id\n");
    for i in 0..1_500 {
        csv.push_str(&format!("b{i},2026-04-09 10:00:00,in,acme,chat,u{i}\n"));
    }
    csv.push_str("ok,2026-04-09T10:00:00Z,in,acme,chat,u\n");
    let f = write(d.path(), "bad.csv", &csv);
    let o = run(&["import", "messages", s(&f), "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.lines().filter(|l| l.contains("has no offset")).count(), 1_500);
    assert!(err.contains("bad.csv:1501:2:"), "the last one too");
    assert!(
        err.contains("1501 rows read: 1 new, 0 changed, 0 unchanged, 1500 rejected"),
        "{}",
        &err[err.len() - 200..]
    );
}

/// Four requests in the week before 5 March, one answered: the badge of day 2026-03-04 is 1/4
/// whatever the period asked (issue: the stored report loaded the window before `--to`, not
/// before each bucket's end, and gave 1/1 with `--to 2026-03-11`).
const BADGE_WEEK: &str = "message_id,created_at,direction,account,channel,author_id,conversation_id
q1,2026-02-27T10:00:00Z,in,acme,chat,u1,k1
q2,2026-03-01T10:00:00Z,in,acme,chat,u2,k2
q3,2026-03-02T10:00:00Z,in,acme,chat,u3,k3
q4,2026-03-04T10:00:00Z,in,acme,chat,u4,k4
a4,2026-03-04T10:30:00Z,out,acme,chat,agent1,k4
q5,2026-03-06T10:00:00Z,in,acme,chat,u5,k5
";

#[test]
fn a_time_buckets_badge_is_the_week_before_its_end_whatever_the_period() {
    let w = Imported::new(&[("messages", BADGE_WEEK)], None);
    let day = |r: &Value| {
        let b = &group(r, "2026-03-04")["responsiveness_badge"]["response_rate"];
        (b["numerator"].as_u64().unwrap(), b["denominator"].as_u64().unwrap())
    };
    for to in ["2026-03-05", "2026-03-11"] {
        assert_eq!(day(&w.json(&["report", "--by", "day", "--from", "2026-03-04", "--to", to])), (1, 4), "--to {to}");
    }
    let f = w.file("messages", BADGE_WEEK);
    let one_shot = json(&run(&[
        "report",
        "--input",
        s(&f),
        "--format",
        "json",
        "--by",
        "day",
        "--from",
        "2026-03-04",
        "--to",
        "2026-03-11",
    ]));
    assert_eq!(day(&one_shot), (1, 4));
    // The drill-down lists the bucket's window: the four requests, the answered one in the numerator.
    let e = w.json(&[
        "explain",
        "responsiveness_badge",
        "--by",
        "day",
        "--group",
        "2026-03-04",
        "--from",
        "2026-03-04",
        "--to",
        "2026-03-11",
    ]);
    let rows = e["rows"].as_array().unwrap();
    let mut ids: Vec<&str> = rows.iter().map(|r| r["conversation_id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec!["k1", "k2", "k3", "k4"]);
    assert_eq!(rows.iter().filter(|r| r["in_numerator"] == true).count(), 1);
    // Day 2026-03-06's window (cut at the data's end) lists what its figure counts.
    let e = w.json(&["explain", "responsiveness_badge", "--by", "day", "--group", "2026-03-06"]);
    let den = group(&w.json(&["report", "--by", "day"]), "2026-03-06")["responsiveness_badge"]["response_rate"]
        ["denominator"]
        .as_u64()
        .unwrap();
    assert_eq!(e["rows"].as_array().unwrap().len() as u64, den, "the drill-down lists what the figure counts");
}

/// A store in a new folder, with each `(kind, CSV)` imported (every import must exit 0), and an
/// optional configuration; the files stay beside it as `KIND.csv` for one-shot reports.
struct Imported {
    dir: tempfile::TempDir,
    db: PathBuf,
    config: Option<PathBuf>,
}

impl Imported {
    fn new(files: &[(&str, &str)], config: Option<&str>) -> Imported {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("b.db");
        let config = config.map(|c| write(dir.path(), "b.toml", c));
        let w = Imported { dir, db, config };
        for (kind, text) in files {
            let f = w.file(kind, text);
            let o = run(&w.args(&["import", kind, s(&f)]));
            assert_eq!(o.status.code(), Some(0), "{kind}: {}", String::from_utf8_lossy(&o.stderr));
        }
        w
    }
    fn file(&self, kind: &str, text: &str) -> PathBuf {
        write(self.dir.path(), &format!("{kind}.csv"), text)
    }
    /// `args`, then `--db` and `--config` when there is one.
    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut v = args.to_vec();
        v.extend(["--db", s(&self.db)]);
        if let Some(c) = &self.config {
            v.extend(["--config", s(c)]);
        }
        v
    }
    /// The JSON a command prints with `--format json`.
    fn json(&self, args: &[&str]) -> Value {
        let mut v = self.args(args);
        v.extend(["--format", "json"]);
        json(&run(&v))
    }
}

/// One chat conversation, answered by agent-a1 five minutes later.
const ONE_CHAT_ANSWERED_BY_A1: &str = "message_id,created_at,direction,account,channel,author_id,conversation_id
q1,2026-03-10T09:00:00Z,in,acme,chat,u1,k1
a1,2026-03-10T09:05:00Z,out,acme,chat,agent-a1,k1
";

/// The metrics of a report's group.
fn group(r: &Value, key: &str) -> Value {
    r["groups"].as_array().unwrap().iter().find(|g| g["key"] == key).unwrap_or_else(|| panic!("no group {key}"))
        ["metrics"]
        .clone()
}

/// The first 21 rows of a public copy of *Customer Support on Twitter* as pandas rewrote it (a
/// leading index column, parents as floats), kept in `examples/twcs-sample.csv`. By hand:
/// thread 8 → 6 → 5 → 4 → 3 → 1 → 2: requests answered after 74 s, 314 s, 140 s, and 2 open;
/// thread 18 → 17 → 16 → 15 → 12 → 11: 192 s, 168 s, 348 s; thread 20 → 19: 396 s; thread under
/// tweet 24 (not in the file): 21 is Ask_Spectrum's proactive tweet, then 23 and 22 asked at
/// 22:16:05 and answered by 25 at 22:18:28 (143 s), 26 answered by 27 (90 s).
#[test]
fn the_public_twitter_file_as_pandas_copies_it_gives_the_hand_computed_figures() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let f = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/twcs-sample.csv");
    let o = run(&["import", "messages", f, "--format", "twcs", "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let args = ["report", "--db", s(&db), "--format", "json", "--by", "account"];
    let r = json(&run(&args));
    let fig = |m: &Value| {
        (
            m["response_rate"]["numerator"].as_u64().unwrap(),
            m["response_rate"]["denominator"].as_u64().unwrap(),
            m["first_response_time"]["median"].as_f64().unwrap(),
            m["response_time"]["median"].as_f64().unwrap(),
            m["proactive_messages"]["value"].as_u64().unwrap(),
        )
    };
    // First responses 74, 192, 396, 143 → median 167.5; all nine → median 168.
    assert_eq!(fig(&r["total"]["metrics"]), (9, 10, 167.5, 168.0, 1));
    let group = |k: &str| r["groups"].as_array().unwrap().iter().find(|g| g["key"] == k).unwrap()["metrics"].clone();
    assert_eq!(fig(&group("sprintcare")), (7, 8, 192.0, 192.0, 0));
    assert_eq!(fig(&group("Ask_Spectrum")), (2, 2, 143.0, 116.5, 1));
    // The one-shot report reads the same.
    let one = json(&run(&["report", "--input", f, "--input-format", "twcs", "--format", "json"]));
    assert_eq!(fig(&one["total"]["metrics"]), (9, 10, 167.5, 168.0, 1));
}

#[test]
fn means_across_scales_are_never_guessed_and_ces_is_read_on_one_to_seven() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let f = write(
        d.path(),
        "s.csv",
        "response_id,survey,score,scale_min,scale_max,answered_at,account
r1,csat,4,1,5,2026-03-10T10:00:00Z,acme
r2,csat,9,0,10,2026-03-10T11:00:00Z,acme
r3,ces,2,1,5,2026-03-10T12:00:00Z,acme
r4,ces,6,1,7,2026-03-10T13:00:00Z,acme
r5,csat,5,1,5,2026-03-10T14:00:00Z,other
r6,csat,3,1,5,2026-03-10T15:00:00Z,other
",
    );
    assert_eq!(run(&["import", "surveys", s(&f), "--db", s(&db)]).status.code(), Some(0));
    let r =
        json(&run(&["report", "--db", s(&db), "--format", "json", "--by", "account", "--metrics", "csat_mean,ces"]));
    let g = |k: &str| r["groups"].as_array().unwrap().iter().find(|g| g["key"] == k).unwrap()["metrics"].clone();
    // acme's CSAT answers: a 4 on 1–5 and a 9 on 0–10 — no common mean (it was 6.5).
    assert_eq!(g("acme")["csat_mean"]["value"], Value::Null);
    assert_eq!(g("acme")["csat_mean"]["count"], 2);
    // CES: a 2 on 1–5 is 1 + (2 − 1) / 4 × 6 = 2.5 on 1–7; with a 6 on 1–7: (2.5 + 6) / 2 = 4.25.
    assert_eq!(g("acme")["ces"]["value"], 4.25);
    assert_eq!(
        (g("acme")["ces"]["scale_min"].as_f64(), g("acme")["ces"]["scale_max"].as_f64()),
        (Some(1.0), Some(7.0))
    );
    // One scale: the mean on it, (5 + 3) / 2.
    assert_eq!(g("other")["csat_mean"]["value"], 4.0);
    assert_eq!(r["total"]["metrics"]["csat_mean"]["value"], Value::Null);
    // The drill-down shows what the mean adds up.
    let e = json(&run(&["explain", "ces", "--db", s(&db), "--format", "json"]));
    let mut v: Vec<f64> = e["rows"].as_array().unwrap().iter().map(|x| x["value"].as_f64().unwrap()).collect();
    v.sort_by(f64::total_cmp);
    assert_eq!(v, vec![2.5, 6.0]);
}

/// Invitations sent on 10 and 30 March, answered on 11 March and on 2 April: March's response
/// rate is 2/2 whichever way March is asked (an invitation belongs to the period it was sent in
/// and is answered if its answer exists anywhere in the data).
#[test]
fn an_invitation_answered_after_the_period_counts_as_answered_in_its_own() {
    let w = Imported::new(
        &[
            (
                "survey-invitations",
                "invitation_id,survey,sent_at,channel,account,customer_id
i1,csat,2026-03-10T09:00:00Z,email,acme,c1
i2,csat,2026-03-30T09:00:00Z,chat,acme,c2
",
            ),
            (
                "surveys",
                "response_id,survey,score,scale_min,scale_max,answered_at,customer_id
r1,csat,5,1,5,2026-03-11T09:00:00Z,c1
r2,csat,2,1,5,2026-04-02T09:00:00Z,c2
",
            ),
        ],
        None,
    );
    let rate = |m: &Value| {
        let x = &m["survey_response_rate"];
        (x["numerator"].as_u64().unwrap(), x["denominator"].as_u64().unwrap())
    };
    assert_eq!(rate(&group(&w.json(&["report", "--by", "month"]), "2026-03")), (2, 2));
    let march = ["--from", "2026-03-01", "--to", "2026-04-01"];
    let period = w.json(&[&["report"][..], &march].concat());
    assert_eq!(rate(&period["total"]["metrics"]), (2, 2), "was 1/2: the April answer was not loaded");
    let e = w.json(&[&["explain", "survey_response_rate"][..], &march].concat());
    let rows = e["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["in_numerator"] == true));
    // The April answer is credited through its invitation to the chat channel: April's CSAT by
    // channel holds it under `chat`, and the drill-down lists it there.
    let april = ["--from", "2026-04-01", "--to", "2026-05-01", "--by", "channel"];
    assert_eq!(group(&w.json(&[&["report"][..], &april].concat()), "chat")["csat"]["denominator"], 1);
    let e = w.json(&[&["explain", "csat", "--group", "chat"][..], &april].concat());
    let rows = e["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{e}");
    assert_eq!(rows[0]["response_id"], "r2");
}

/// An answer tied to a conversation but to no agent is credited to the agent who answered the
/// conversation's first request: in the report and in its drill-down alike.
#[test]
fn a_survey_credited_to_an_agent_through_its_conversation_is_listed_under_that_agent() {
    let w = Imported::new(
        &[
            ("messages", ONE_CHAT_ANSWERED_BY_A1),
            (
                "surveys",
                "response_id,survey,score,scale_min,scale_max,answered_at,conversation_id
r1,csat,4,1,5,2026-03-10T10:00:00Z,k1
r2,nps,10,0,10,2026-03-10T10:00:00Z,k1
",
            ),
        ],
        None,
    );
    assert_eq!(group(&w.json(&["report", "--by", "agent"]), "agent-a1")["csat"]["denominator"], 1);
    for (metric, n) in [("csat", 1), ("csat_mean", 1), ("nps", 1)] {
        let e = w.json(&["explain", metric, "--by", "agent", "--group", "agent-a1"]);
        assert_eq!(e["rows"].as_array().unwrap().len(), n, "{metric}: {e}");
    }
}

/// `client-932` and `client-182` hash alike (64-bit FxHash): channel preferences counted them as
/// one customer, whose channel was chat. Customers are numbered now, never hashed.
#[test]
fn two_customers_whose_ids_hash_alike_stay_two() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let f = write(
        d.path(),
        "m.csv",
        "message_id,created_at,direction,account,channel,author_id,conversation_id,customer_id
m1,2026-03-10T09:00:00Z,in,acme,email,client-932,k1,client-932
m2,2026-03-10T10:00:00Z,in,acme,chat,client-182,k2,client-182
",
    );
    assert_eq!(run(&["import", "messages", s(&f), "--db", s(&db)]).status.code(), Some(0));
    let stored = json(&run(&["report", "--db", s(&db), "--format", "json", "--metrics", "channel_preferences"]));
    let one_shot = json(&run(&["report", "--input", s(&f), "--format", "json", "--metrics", "channel_preferences"]));
    for r in [stored, one_shot] {
        let chans = r["total"]["metrics"]["channel_preferences"]["channels"].as_array().unwrap().clone();
        let got: Vec<(String, u64, f64)> = chans
            .iter()
            .map(|c| {
                (
                    c["channel"].as_str().unwrap().to_string(),
                    c["customers"].as_u64().unwrap(),
                    c["customer_share"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, vec![("chat".into(), 1, 50.0), ("email".into(), 1, 50.0)]);
    }
}

/// Four conversations. k1: a customer message closed by a `resolved` event with no agent and no
/// human reply — no person handled it. k2: a bot's reply only, a complaint resolved. k3: no reply,
/// but the resolution carries agent a1 — a person's work. k4: a human reply, then resolved.
/// Human figures count k3 and k4 only (k1 and k2 used to enter resolved_conversations, the
/// complaint times and FCR's denominator).
#[test]
fn resolution_figures_count_only_conversations_a_person_handled() {
    let (messages, events) = (
        "message_id,created_at,direction,account,channel,author_id,conversation_id,bot
q1,2026-03-10T09:00:00Z,in,acme,chat,u1,k1,
q2,2026-03-10T09:00:00Z,in,acme,chat,u2,k2,
b2,2026-03-10T09:00:05Z,out,acme,chat,bot,k2,true
q3,2026-03-10T09:00:00Z,in,acme,chat,u3,k3,
q4,2026-03-10T09:00:00Z,in,acme,chat,u4,k4,
a4,2026-03-10T09:10:00Z,out,acme,chat,a4,k4,
q5,2026-03-10T09:00:00Z,in,acme,chat,u5,k5,
b5,2026-03-10T09:00:05Z,out,acme,chat,bot,k5,true
",
        "conversation_id,event,at,agent_id
k1,resolved,2026-03-10T09:30:00Z,
k2,complaint,2026-03-10T09:01:00Z,
k2,resolved,2026-03-10T09:02:00Z,
k3,complaint,2026-03-10T09:05:00Z,
k3,resolved,2026-03-10T10:00:00Z,a1
k4,resolved,2026-03-10T11:00:00Z,
k5,resolved,2026-03-10T09:20:00Z,a2
",
    );
    let w = Imported::new(&[("messages", messages), ("conversation-events", events)], None);
    let r = w.json(&["report"]);
    let t = &r["total"]["metrics"];
    // k5 had a bot's reply only, but agent a2 signed its resolution: a person's, not a bot's.
    assert_eq!(t["resolved_conversations"]["value"], 3, "k3, k4 and k5");
    // k3: 09:00 → 10:00 = 3600 s; k4: 09:00 → 11:00 = 7200 s; k5: 09:00 → 09:20 = 1200 s.
    assert_eq!(t["resolution_time"]["count"], 3);
    assert_eq!(t["resolution_time"]["mean"], 4000.0);
    // Complaints: k3's 09:05 → 10:00 = 3300 s; k2 (bot only) apart.
    assert_eq!(t["complaint_resolution_time"]["count"], 1);
    assert_eq!(t["complaint_resolution_time"]["mean"], 3300.0);
    // FCR over k3, k4 and k5: only k4 had one human reply → 1/3.
    assert_eq!(t["first_contact_resolution_rate"]["denominator"], 3);
    assert_eq!(t["first_contact_resolution_rate"]["numerator"], 1);
    assert_eq!(t["reopen_rate"]["denominator"], 3);
    // Never both: k2 is the one bot-only conversation, k5 is not.
    assert_eq!(t["bot_only_conversations"]["value"], 1);
    assert_eq!(t["bot_resolution_time"]["count"], 1);
    // The drill-down lists the same two conversations.
    let x = w.json(&["explain", "resolved_conversations"]);
    let mut ids: Vec<&str> =
        x["rows"].as_array().unwrap().iter().map(|r| r["conversation_id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec!["k3", "k4", "k5"]);
    // The one-shot report agrees.
    let (m, e) = (w.file("messages", messages), w.file("conversation-events", events));
    let one = json(&run(&["report", "--input", s(&m), "--events", s(&e), "--format", "json"]));
    assert_eq!(one["total"]["metrics"]["resolved_conversations"]["value"], 3);
    assert_eq!(one["total"]["metrics"]["complaint_resolution_time"]["count"], 1);
}

/// Each time bucket is its own period for customer figures: February by month equals a
/// February-only report (it used to ignore February's order, and with only customers and orders
/// imported `--by month` had no group at all), and the drill-down lists the same rows.
#[test]
fn customer_figures_per_month_equal_each_months_own_report() {
    let w = Imported::new(
        &[
            (
                "customers",
                "customer_id,account,since,churned_at,referred_by\nc1,acme,2026-01-05,,\nc2,acme,2026-02-10,,c1\nc3,acme,2025-12-01,2026-02-20,\n",
            ),
            (
                "orders",
                "order_id,customer_id,ordered_at,amount,margin\no1,c1,2026-01-20,100,0.5\no2,c2,2026-02-15,200,0.25\no3,c3,2026-01-25,50,\n",
            ),
        ],
        None,
    );
    let ids = ["retention_rate", "churn_rate", "referral_rate", "clv", "clv_historical", "clv_predictive"];
    let metrics = ids.join(",");
    let by_month = w.json(&["report", "--by", "month", "--metrics", &metrics]);
    let keys: Vec<&str> = by_month["groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(keys, vec!["2025-12", "2026-01", "2026-02"]);
    for (key, from, to) in [
        ("2025-12", "2025-12-01", "2026-01-01"),
        ("2026-01", "2026-01-01", "2026-02-01"),
        ("2026-02", "2026-02-01", "2026-03-01"),
    ] {
        let own = w.json(&["report", "--from", from, "--to", to, "--metrics", &metrics]);
        assert_eq!(group(&by_month, key), own["total"]["metrics"], "{key}");
        for id in ids {
            let bucket = w.json(&["explain", id, "--by", "month", "--group", key]);
            let period = w.json(&["explain", id, "--from", from, "--to", to]);
            assert_eq!(bucket["rows"], period["rows"], "{id} in {key}");
        }
    }
    // February by hand: one order (o2, 200 × 0.25 = 50 of margin), c3 lost of the two present on
    // 1 February (c1, c3): churn 1/2; c2 new and referred: referral 1/1.
    let feb = group(&by_month, "2026-02");
    let pair = |m: &Value, a: &str, b: &str| (m[a].as_f64(), m[b].as_f64());
    assert_eq!(pair(&feb["clv_historical"], "orders", "value"), (Some(1.0), Some(50.0)));
    assert_eq!(pair(&feb["churn_rate"], "numerator", "denominator"), (Some(1.0), Some(2.0)));
    assert_eq!(feb["referral_rate"]["value"], 100.0);
}

/// An export whose agent replies carry neither conversation_id, reply_to nor customer_id: the
/// replies are kept but joined to nothing. Said loudly (exit 2, a warning, a note in every
/// report), never a silent 0 % response rate; `--lenient` exits 0.
#[test]
fn replies_attached_to_nothing_are_announced_never_silent() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let f = write(
        d.path(),
        "m.csv",
        "message_id,created_at,direction,account,channel,author_id,text
m1,2026-03-02T09:15:00+01:00,in,acme,email,c1,Bonjour
m2,2026-03-02T09:40:00+01:00,out,acme,email,agent1,Nous regardons
m3,2026-03-02T10:00:00+01:00,in,acme,email,c2,Colis perdu
m4,2026-03-02T10:30:00+01:00,out,acme,email,agent2,Voici le suivi
m5,2026-03-02T11:00:00+01:00,in,acme,email,c3,Facture
m6,2026-03-02T11:05:00+01:00,out,acme,email,agent1,La voici
m7,2026-03-02T12:00:00+01:00,in,acme,email,c4,Merci
",
    );
    let o = run(&["import", "messages", s(&f), "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("7 rows read: 7 new"), "{err}");
    assert!(
        err.contains("3 agent replies could not be attached: add conversation_id, reply_to or customer_id"),
        "{err}"
    );
    let r = json(&run(&["report", "--db", s(&db), "--format", "json"]));
    assert_eq!(r["data_quality"][0]["kind"], "unattached_replies");
    assert_eq!(r["data_quality"][0]["count"], 3);
    let table =
        String::from_utf8(bin().args(["report", "--db", s(&db), "--lang", "fr"]).output().unwrap().stdout).unwrap();
    assert!(table.contains("⚠ Qualité des données : 3 réponses d'agent n'ont pu être rattachées"), "{table}");
    let one_shot = json(&run(&["report", "--input", s(&f), "--format", "json"]));
    assert_eq!(one_shot["data_quality"][0]["count"], 3);
    // The drill-down marks them.
    let e = json(&run(&["explain", "proactive_messages", "--db", s(&db), "--format", "json"]));
    assert_eq!(e["rows"].as_array().unwrap().iter().filter(|r| r["unattached"] == true).count(), 3);
    // Lenient: the same words, exit 0; a check says it too.
    let db2 = d.path().join("c.db");
    let o = run(&["import", "messages", s(&f), "--db", s(&db2), "--lenient"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("could not be attached"));
    assert_eq!(run(&["import", "messages", s(&f), "--db", s(&db2), "--check"]).status.code(), Some(2));
    // With conversation ids, nothing to say.
    let ok = json(&run(&[
        "report",
        "--input",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/twcs-sample.csv"),
        "--input-format",
        "twcs",
        "--format",
        "json",
    ]));
    assert!(ok.get("data_quality").is_none());
}

/// A company tweet that replies to nothing in the file but opens with `@customer` joins that
/// customer's conversation: the request is answered (70 s), nothing is left unattached.
#[test]
fn a_company_tweet_opening_with_a_customer_handle_joins_that_customer() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "t.csv",
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id
1,115712,True,Tue Oct 31 22:10:00 +0000 2017,@sprintcare my phone is dead,,
2,sprintcare,False,Tue Oct 31 22:11:10 +0000 2017,@115712 Sorry to hear that! Please DM us.,,
",
    );
    let r = json(&run(&["report", "--input", s(&f), "--input-format", "twcs", "--format", "json"]));
    let t = &r["total"]["metrics"];
    assert_eq!(
        (t["response_rate"]["numerator"].as_u64(), t["response_rate"]["denominator"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(t["first_response_time"]["median"], 70.0);
    assert!(r.get("data_quality").is_none());
}

/// The IQS adds up reviews of its configured criteria only, credited to the agent who answered
/// the conversation's first request when a review names no agent; its drill-down lists exactly
/// those (it used to list every review, and none credited through a conversation). Channel
/// preferences' drill-down lists queued contacts beside conversations.
#[test]
fn weighted_scores_and_channel_preferences_list_what_they_count() {
    let w = Imported::new(
        &[
            ("messages", ONE_CHAT_ANSWERED_BY_A1),
            (
                "qa-reviews",
                "conversation_id,reviewer,criterion,score,at
k1,qa,exactitude,80,2026-03-11T10:00:00Z
k1,qa,ton,60,2026-03-11T10:00:00Z
k1,qa,orthographe,10,2026-03-11T10:00:00Z
",
            ),
            (
                "contacts",
                "contact_id,channel,account,queued_at,answered_at\nc1,phone,acme,2026-03-10T08:00:00Z,2026-03-10T08:02:00Z\n",
            ),
        ],
        Some("[iqs]\ncriteria = { exactitude = 50, ton = 50 }\n"),
    );
    let a1 = group(&w.json(&["report", "--by", "agent", "--metrics", "iqs"]), "agent-a1")["iqs"].clone();
    // (80 × 50 + 60 × 50) / 100 = 70; `orthographe` is not one of the criteria.
    assert_eq!(a1["value"], 70.0, "{a1}");
    let e = w.json(&["explain", "iqs", "--by", "agent", "--group", "agent-a1"]);
    let mut crit: Vec<&str> = e["rows"].as_array().unwrap().iter().map(|r| r["criterion"].as_str().unwrap()).collect();
    crit.sort_unstable();
    assert_eq!(crit, vec!["exactitude", "ton"]);
    let e = w.json(&["explain", "channel_preferences"]);
    let kinds: Vec<&str> = e["rows"].as_array().unwrap().iter().map(|r| r["contact"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["conversation", "queued"]);
    let rep = w.json(&["report", "--metrics", "channel_preferences"]);
    let channels = rep["total"]["metrics"]["channel_preferences"]["channels"].as_array().unwrap().clone();
    let contacts: u64 = channels.iter().map(|c| c["contacts"].as_u64().unwrap()).sum();
    assert_eq!(contacts, 2, "as many contacts as the drill-down lists");
}

/// A file saved by a French spreadsheet separates with `;`: recognised and said, read like a
/// comma-separated one (figures equal), on import and in a one-shot report; `--delimiter` forces.
#[test]
fn a_semicolon_separated_export_is_recognised_and_said() {
    let d = tempfile::tempdir().unwrap();
    let comma = "message_id,created_at,direction,account,channel,author_id,conversation_id,text
m1,2026-03-02T09:15:00+01:00,in,acme,email,c1,k1,\"Bonjour, mon colis ?\"
m2,2026-03-02T09:45:00+01:00,out,acme,email,agent1,k1,Le voici
";
    let semi = "message_id;created_at;direction;account;channel;author_id;conversation_id;text
m1;2026-03-02T09:15:00+01:00;in;acme;email;c1;k1;\"Bonjour, mon colis ?\"
m2;2026-03-02T09:45:00+01:00;out;acme;email;agent1;k1;Le voici
";
    let f = write(d.path(), "fr.csv", semi);
    let db = d.path().join("b.db");
    let o = run(&["import", "messages", s(&f), "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(0), "{}\n{semi}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("fr.csv: separator `;`"));
    let c = write(d.path(), "en.csv", comma);
    let fig = |r: &Value| r["total"]["metrics"]["first_response_time"]["median"].as_f64();
    let stored = json(&run(&["report", "--db", s(&db), "--format", "json"]));
    let reference = json(&run(&["report", "--input", s(&c), "--format", "json"]));
    let one_shot = json(&run(&["report", "--input", s(&f), "--format", "json"]));
    assert_eq!((fig(&stored), fig(&one_shot)), (Some(1800.0), Some(1800.0)));
    assert_eq!(stored["total"], reference["total"]);
    // Forced to a comma, the header is one column: said whole, with the separator it looks like.
    let o = run(&["import", "messages", s(&f), "--db", s(&d.path().join("c.db")), "--delimiter", ","]);
    assert_ne!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the separator looks like `;`"));
}

/// Exit statuses as the README says: 1 when nothing could be taken (an empty file, a folder), 2
/// when some rows were refused, 0 when all were taken (a header without rows: 0, said).
#[test]
fn import_exit_statuses_say_whether_anything_could_be_taken() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let empty = write(d.path(), "empty.csv", "");
    let header = write(d.path(), "header.csv", "message_id,created_at,direction,account,channel,author_id\n");
    let good = write(d.path(), "good.csv", ROWS);
    let folder = d.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    let status = |files: &[&Path]| {
        let mut args = vec!["import", "messages"];
        args.extend(files.iter().map(|p| s(p)));
        args.extend(["--db", s(&db)]);
        let o = run(&args);
        (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (code, err) = status(&[&empty]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("empty.csv:1:1: the file is empty: no header row"), "{err}");
    assert_eq!(status(&[&folder]).0, Some(1));
    assert_eq!(status(&[&empty, &folder]).0, Some(1));
    let (code, err) = status(&[&header]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("header.csv: no rows"), "{err}");
    // Something taken, something not: 2.
    assert_eq!(status(&[&good, &folder]).0, Some(2));
    assert_eq!(status(&[&good]).0, Some(0));
}

#[path = "cli/sources.rs"]
mod sources;

#[path = "cli/clickhouse.rs"]
mod clickhouse;
#[path = "cli/listening.rs"]
mod listening;
#[path = "cli/scale.rs"]
mod scale;
