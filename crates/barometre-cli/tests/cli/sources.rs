//! Real exports in, exact figures out: each source's fixtures (in `examples/`, written in the
//! shape of the public API documentation) with the figures computed by hand from their rows.

use super::{json, run, s, write};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn example(dir: &str) -> Vec<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json" || x == "csv" || x == "jsonl"))
        .collect();
    v.sort();
    v
}

fn import(db: &Path, files: &[PathBuf], extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["import", "messages"];
    args.extend(files.iter().map(|p| s(p)));
    args.extend(["--db", s(db)]);
    args.extend(extra);
    let o = run(&args);
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn report(db: &Path, by: Option<&str>) -> Value {
    let mut args = vec!["report", "--db", s(db), "--format", "json"];
    if let Some(b) = by {
        args.extend(["--by", b]);
    }
    json(&run(&args))
}

fn in_group<'a>(r: &'a Value, key: &str) -> &'a Value {
    r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == key)
        .map(|g| &g["metrics"])
        .unwrap_or_else(|| panic!("no group {key}"))
}

fn ratio(m: &Value, id: &str) -> (u64, u64) {
    (m[id]["numerator"].as_u64().unwrap(), m[id]["denominator"].as_u64().unwrap())
}

#[test]
fn zendesk_tickets_events_and_ratings_give_the_figures_computed_by_hand() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("z.db");
    let files = example("zendesk");
    let (code, err) = import(&db, &files, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("format zendesk (recognised)"), "{err}");
    // 16 comments, one a private note: 15 messages; 5 resolutions and a reopening; good and bad
    // ratings (offered and unoffered are not answers).
    assert!(err.contains("15 messages, 6 conversation events, 2 survey answers"), "{err}");
    let t = &report(&db, None)["total"]["metrics"];
    // Requests: 1001 ×2, 1002 ×3, 1003, 1004 ×2 (its last still waiting) = 8, 7 answered.
    assert_eq!(ratio(t, "response_rate"), (7, 8));
    let times = [2916.0, 678.0, 6097.0, 14836.0, 1656.0, 1037.0, 45987.0];
    assert_eq!(t["response_time"]["sum"], times.iter().sum::<f64>());
    assert_eq!(t["response_time"]["median"], 2916.0);
    assert_eq!(ratio(t, "csat"), (1, 2));
    // Tickets 1001, 1002 and 1003 resolved by people (1005 holds only a private note); 1002
    // reopened once.
    assert_eq!(t["resolved_conversations"]["value"], 3);
    assert_eq!(ratio(t, "reopen_rate"), (1, 3));
    // The channel of a ticket is its own (`via.channel`), not the agent's web interface.
    let by = report(&db, Some("channel"));
    assert_eq!(ratio(in_group(&by, "email"), "response_rate"), (2, 2));
    assert_eq!(ratio(in_group(&by, "web_form"), "response_rate"), (3, 3));
    // Ticket 1004 came by Twitter direct message (`source.rel`): private, not a public tweet.
    assert_eq!(ratio(in_group(&by, "twitter_dm"), "response_rate"), (1, 2));
    assert_eq!(t["public_response_rate"]["denominator"], 0);
    // Importing again changes nothing.
    let (code, err) = import(&db, &files, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("23 rows read: 0 new, 0 changed, 23 unchanged"), "{err}");
}

#[test]
fn zendesk_tickets_alone_are_refused_with_what_to_add() {
    let d = tempfile::tempdir().unwrap();
    let tickets: Vec<PathBuf> = example("zendesk").into_iter().filter(|p| s(p).contains("tickets-page")).collect();
    let (code, err) = import(&d.path().join("z.db"), &tickets, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("include=comment_events"), "{err}");
}

#[test]
fn chatwoot_bots_templates_notes_and_activity_read_as_chatwoot_means_them() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("c.db");
    let (code, err) = import(&db, &example("chatwoot"), &["--lang", "fr"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("17 messages, 4 événements de conversation"), "{err}");
    let t = &report(&db, None)["total"]["metrics"];
    // 301: 4001 (a bot answers, which is no response) and 4004 wait together until 4006 (376 s),
    // then 4008 → 4009 (462 s). 302: 4101 → 4102 (8025 s), 4104 → 4106 (2689 s). 303 (bot named
    // only by `sender.type`) and 304 (a template) are bot-only: one request each, unanswered.
    assert_eq!(ratio(t, "response_rate"), (4, 6));
    assert_eq!(t["response_time"]["sum"], 376.0 + 462.0 + 8025.0 + 2689.0);
    assert_eq!(t["bot_only_conversations"]["value"], 2);
    // Activity: 301 resolved; 302 resolved, reopened by the customer, resolved again.
    assert_eq!(t["resolved_conversations"]["value"], 2);
    assert_eq!(ratio(t, "reopen_rate"), (1, 2));
    let by = report(&db, Some("channel"));
    assert_eq!(ratio(in_group(&by, "email"), "response_rate"), (2, 2));
    assert_eq!(ratio(in_group(&by, "facebook_messenger"), "response_rate"), (0, 1));
}

#[test]
fn meta_conversations_and_feed_comments_give_the_figures_computed_by_hand() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("m.db");
    let files: Vec<PathBuf> = example("meta-graph").into_iter().filter(|p| !s(p).contains("insights")).collect();
    let (code, err) = import(&db, &files, &[]);
    assert_eq!(code, Some(0), "{err}");
    let by = report(&db, Some("channel"));
    // Messenger (newest first in the files): 7 requests, 5 answered.
    let m = in_group(&by, "facebook_messenger");
    assert_eq!(ratio(m, "response_rate"), (5, 7));
    assert_eq!(m["response_time"]["sum"], 3920.0 + 330.0 + 37950.0 + 1920.0 + 3448.0);
    let ig = in_group(&by, "instagram");
    assert_eq!(ratio(ig, "response_rate"), (2, 3));
    assert_eq!(ig["response_time"]["sum"], 1710.0 + 6000.0);
    // Wall: one conversation per comment thread. Sophie 08:42:10 → 09:30:00 (2870 s); the
    // comment without `from` 09:05:33 → 09:31:40 (1567 s); Mike never; Karim 18:02:44 → 18:20:00
    // (1036 s) then 18:25:10 → 19:05:00 (2390 s); Anna never.
    let w = in_group(&by, "facebook_wall");
    assert_eq!(ratio(w, "response_rate"), (4, 6));
    assert_eq!(w["response_time"]["sum"], 2870.0 + 1567.0 + 1036.0 + 2390.0);
    // Comments are public, conversations private.
    assert_eq!(ratio(w, "public_response_rate"), (4, 6));
    assert_eq!(m["public_response_rate"]["denominator"], 0);
    // The page is the account, by the name the dump gives it.
    let acc = report(&db, Some("account"));
    assert_eq!(acc["groups"].as_array().unwrap().len(), 2, "{acc}");
}

#[test]
fn meta_insights_without_impressions_are_refused_naming_the_metric() {
    let d = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = example("meta-graph")
        .into_iter()
        .filter(|p| s(p).contains("feed-with-insights") || s(p).ends_with("feed.json"))
        .collect();
    let (code, err) = import(&d.path().join("m.db"), &files, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("its insights have no impressions (`post_impressions` or `post_media_view`)"), "{err}");
}

#[test]
fn meta_post_insights_become_posts_with_their_engagements() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("p.db");
    // The page feed (publication times) and the classic insights of one post.
    let feed = write(
        d.path(),
        "feed.json",
        r#"{"data":[{"id":"1100000000001_2200000000000009","created_time":"2026-03-12T17:30:00+0000","message":"Nouveau !","permalink_url":"https://www.facebook.com/1100000000001/posts/2200000000000009","from":{"name":"Acme France","id":"1100000000001"}}],"paging":{"cursors":{"before":"QVFI","after":"QVFJ"}}}"#,
    );
    let insights = write(
        d.path(),
        "insights.json",
        r#"{"data":[{"name":"post_impressions","period":"lifetime","values":[{"value":5210}],"title":"Lifetime Post Total Impressions","id":"1100000000001_2200000000000009/insights/post_impressions/lifetime"},{"name":"post_impressions_unique","period":"lifetime","values":[{"value":3900}],"id":"1100000000001_2200000000000009/insights/post_impressions_unique/lifetime"},{"name":"post_clicks","period":"lifetime","values":[{"value":120}],"id":"1100000000001_2200000000000009/insights/post_clicks/lifetime"},{"name":"post_reactions_by_type_total","period":"lifetime","values":[{"value":{"like":70,"love":10}}],"id":"1100000000001_2200000000000009/insights/post_reactions_by_type_total/lifetime"}],"paging":{"previous":"https://graph.facebook.com/v25.0/x","next":"https://graph.facebook.com/v25.0/y"}}"#,
    );
    let (code, err) = import(&db, &[feed, insights], &["--account-name", "Acme"]);
    assert_eq!(code, Some(0), "{err}");
    let t = &report(&db, None)["total"]["metrics"];
    assert_eq!(t["posts"]["value"], 1);
    // Engagements: reactions 70 + 10, clicks 120 = 200, over 3,900 reached.
    assert_eq!(ratio(t, "engagement_rate"), (200, 3900));
}

#[test]
fn x_pages_need_the_company_account_and_give_the_figures_computed_by_hand() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("x.db");
    let files = example("x-v2");
    let (code, err) = import(&db, &files, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--account @handle"), "{err}");
    let (code, err) = import(&db, &files, &["--account", "@AcmeSupport"]);
    assert_eq!(code, Some(0), "{err}");
    let by = report(&db, Some("channel"));
    // The brand's reply on page 1 answers the thread whose customer tweets are on page 2: pages
    // are one source. The edited tweet counts once.
    let t = in_group(&by, "twitter");
    assert_eq!(ratio(t, "response_rate"), (5, 7));
    assert_eq!(t["response_time"]["sum"], 2250.0 + 8995.0 + 2160.0 + 675.0 + 450.0);
    let dm = in_group(&by, "twitter_dm");
    assert_eq!(ratio(dm, "response_rate"), (2, 3));
    assert_eq!(dm["response_time"]["sum"], 1350.0 + 1800.0);
    let acc = report(&db, Some("account"));
    assert_eq!(acc["groups"][0]["key"], "AcmeSupport");
}

/// A French export as Excel writes it: Windows-1252, `;`, a French header, day-first wall-clock
/// dates, `Entrant`/`Sortant`, a decimal comma, no id column.
const FR_EXPORT: &str = "Date;Sens;Canal;Compte;Auteur;Message;Conversation;Durée (s)\r\n\
13/03/2026 09:15;Entrant;E-mail;Acme;client-1;Où est ma commande ?;k1;\r\n\
13/03/2026 09:45;Sortant;E-mail;Acme;agent-1;Elle arrive demain, désolé !;k1;95,5\r\n\
14/03/2026 18:00;Entrant;E-mail;Acme;client-2;Remboursement svp;k2;\r\n";

fn cp1252(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            'é' => 0xE9,
            'è' => 0xE8,
            'ù' => 0xF9,
            c if (c as u32) < 0x80 => c as u8,
            c => panic!("no Windows-1252 byte for {c}"),
        })
        .collect()
}

#[test]
fn a_french_excel_export_is_read_once_said_how() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("fr.db");
    let f = d.path().join("export.csv");
    std::fs::write(&f, cp1252(FR_EXPORT)).unwrap();
    // Unmapped: one error, whole, with the columns found and the options that read them.
    let (code, err) = import(&db, std::slice::from_ref(&f), &[]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.matches("missing required column").count(), 1, "{err}");
    assert!(err.contains("--map created_at=Date --map direction=Sens --map account=Compte --map channel=Canal --map author_id=Auteur"), "{err}");
    let map = [
        "--map",
        "created_at=Date",
        "--map",
        "direction=Sens",
        "--map",
        "account=Compte",
        "--map",
        "channel=Canal",
        "--map",
        "author_id=Auteur",
        "--map",
        "text=Message",
        "--map",
        "conversation_id=Conversation",
        "--map",
        "handle_seconds=Durée (s)",
        "--map-value",
        "channel:E-mail=email",
        "--tz",
        "Europe/Paris",
    ];
    let (code, err) = import(&db, std::slice::from_ref(&f), &map);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("separator `;`, encoding Windows-1252, dates `%d/%m/%Y %H:%M`, zone Europe/Paris"), "{err}");
    let r = report(&db, Some("channel"));
    let m = in_group(&r, "email");
    // 09:15 Paris (08:15Z) answered at 09:45: 1800 s; k2 waits.
    assert_eq!(ratio(m, "response_rate"), (1, 2));
    assert_eq!(m["response_time"]["sum"], 1800.0);
    // The text as written, accents and all: the check shows rows as they will be read.
    let mut check = map.to_vec();
    check.push("--check");
    let (code, err) = import(&db, std::slice::from_ref(&f), &check);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("in  Acme/email  author client-1  conversation k1  Où est ma commande ?"), "{err}");
    assert!(err.contains("out  Acme/email  author agent-1"), "{err}");
    // Ids come from each row's content: the same file again changes nothing.
    let (code, err) = import(&db, &[f], &map);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("3 rows read: 0 new, 0 changed, 3 unchanged"), "{err}");
}

#[test]
fn dates_that_read_both_day_first_and_month_first_are_never_guessed() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "m.csv",
        "message_id,created_at,direction,account,channel,author_id,conversation_id\n1,02/03/2026 09:15,in,acme,email,u1,k\n2,04/03/2026 10:00,out,acme,email,a1,k\n",
    );
    let (code, err) = import(&d.path().join("a.db"), std::slice::from_ref(&f), &["--tz", "UTC"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("--date-format '%d/%m/%Y %H:%M' (day first) or --date-format '%m/%d/%Y %H:%M' (month first)"),
        "{err}"
    );
    let (code, err) = import(&d.path().join("a.db"), &[f], &["--tz", "UTC", "--date-format", "%m/%d/%Y %H:%M"]);
    assert_eq!(code, Some(0), "{err}");
    let rows = json(&run(&["explain", "messages_received", "--db", s(&d.path().join("a.db")), "--format", "json"]));
    assert_eq!(rows["rows"][0]["created_at"], "2026-02-03T09:15:00Z");
}

#[test]
fn a_mapping_of_the_configuration_reads_a_utf16_tab_separated_export() {
    let d = tempfile::tempdir().unwrap();
    let cfg = write(
        d.path(),
        "barometre.toml",
        "[mappings.outil]\ndate_format = \"%d/%m/%Y %H:%M:%S\"\ntimezone = \"Europe/Paris\"\n\
[mappings.outil.columns]\nmessage_id = \"N°\"\nconversation_id = \"Dossier\"\ncreated_at = \"Horodatage\"\ndirection = \"Type\"\naccount = \"Marque\"\nchannel = \"Canal\"\nauthor_id = \"Agent ou client\"\n\
[mappings.outil.values.direction]\nQuestion = \"in\"\n\"Réponse\" = \"out\"\n",
    );
    let text = "N°\tDossier\tHorodatage\tType\tMarque\tCanal\tAgent ou client\r\n\
1041\tD-7\t16/03/2026 10:00:00\tQuestion\tAcme\tchat\tc1\r\n\
1042\tD-7\t16/03/2026 10:02:30\tRéponse\tAcme\tchat\ta1\r\n";
    let bytes: Vec<u8> = [0xFEFFu16].into_iter().chain(text.encode_utf16()).flat_map(u16::to_le_bytes).collect();
    let f = d.path().join("unicode.txt");
    std::fs::write(&f, bytes).unwrap();
    let db = d.path().join("u.db");
    let (code, err) = import(&db, &[f], &["--mapping", "outil", "--config", s(&cfg)]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("separator tab, encoding UTF-16LE"), "{err}");
    let t = &report(&db, None)["total"]["metrics"];
    assert_eq!(ratio(t, "response_rate"), (1, 1));
    assert_eq!(t["response_time"]["sum"], 150.0);
    let (code, err) = import(&db, &[write(d.path(), "x.csv", "a\n")], &["--mapping", "nope", "--config", s(&cfg)]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("no mapping `nope` in the configuration (known: outil)"), "{err}");
}

#[test]
fn a_spreadsheet_is_read_by_its_first_sheet_or_the_one_named() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("export.xlsx");
    let mut wb = Workbook::new();
    let notes = wb.add_worksheet().set_name("Notes").unwrap();
    notes.write(0, 0, "rien ici").unwrap();
    let sh = wb.add_worksheet().set_name("Messages").unwrap();
    let date = Format::new().set_num_format("dd/mm/yyyy hh:mm");
    let duration = Format::new().set_num_format("[h]:mm:ss");
    for (c, h) in [
        "message_id",
        "created_at",
        "direction",
        "account",
        "channel",
        "author_id",
        "conversation_id",
        "text",
        "handle_seconds",
    ]
    .iter()
    .enumerate()
    {
        sh.write(0, c as u16, *h).unwrap();
    }
    let rows = [
        (1041.0, (2026, 3, 16, 9, 0), "in", "c1", "Bonjour 👋"),
        (1042.0, (2026, 3, 16, 9, 12), "out", "a1", "Bonjour !\nJe regarde."),
    ];
    for (i, (id, (y, mo, da, h, mi), dir, who, text)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        sh.write_number(r, 0, *id).unwrap();
        let t = ExcelDateTime::from_ymd(*y, *mo, *da).unwrap().and_hms(*h, *mi, 0).unwrap();
        sh.write_datetime_with_format(r, 1, &t, &date).unwrap();
        sh.write(r, 2, *dir).unwrap();
        sh.write(r, 3, "acme").unwrap();
        sh.write(r, 4, "chat").unwrap();
        sh.write(r, 5, *who).unwrap();
        sh.write(r, 6, "k1").unwrap();
        sh.write(r, 7, *text).unwrap();
        if *dir == "out" {
            // 0:01:35 as Excel keeps it: a fraction of a day.
            sh.write_number_with_format(r, 8, 95.0 / 86_400.0, &duration).unwrap();
        }
    }
    wb.save(&f).unwrap();
    let db = d.path().join("x.db");
    // The first sheet has no such columns: said whole, at its header row.
    let (code, err) = import(&db, std::slice::from_ref(&f), &["--tz", "Europe/Paris"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("missing required columns"), "{err}");
    let (code, err) = import(&db, &[f], &["--tz", "Europe/Paris", "--sheet", "Messages"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("format xlsx (recognised), zone Europe/Paris, sheet Messages"), "{err}");
    let rows = json(&run(&["explain", "messages_received", "--db", s(&db), "--format", "json"]));
    // An id Excel keeps as the number 1041.0 is the id `1041`; 09:00 in Paris is 08:00Z.
    assert_eq!(rows["rows"][0]["message_id"], "1041");
    assert_eq!(rows["rows"][0]["created_at"], "2026-03-16T08:00:00Z");
    let t = &report(&db, None)["total"]["metrics"];
    assert_eq!(t["response_time"]["sum"], 720.0);
    // A duration cell is its seconds, not a fraction of a day.
    assert_eq!(t["agent_handle_time"]["sum"], 95.0);
}

#[test]
fn one_brands_sources_report_as_one_account_without_counting_twice() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    // A spreadsheet row whose id is a Zendesk comment's number: two different messages.
    let sheet = write(
        d.path(),
        "phone.csv",
        "message_id,created_at,direction,account,channel,author_id,conversation_id\n\
45100001100,2026-03-20T09:00:00Z,in,standard,phone,p1,t1\n\
45100001101,2026-03-20T09:03:00Z,out,standard,phone,agent-9,t1\n",
    );
    let meta: Vec<PathBuf> = example("meta-graph").into_iter().filter(|p| s(p).contains("conversations")).collect();
    let sources = [example("zendesk"), meta, vec![sheet]];
    let mut alone = 0;
    for (i, files) in sources.iter().enumerate() {
        let (code, err) = import(&db, files, &["--account-name", "Acme"]);
        assert_eq!(code, Some(0), "{err}");
        let own = d.path().join(format!("own{i}.db"));
        let (code, err) = import(&own, files, &[]);
        assert_eq!(code, Some(0), "{err}");
        alone += report(&own, None)["total"]["metrics"]["messages_received"]["value"].as_u64().unwrap();
    }
    let r = report(&db, Some("account"));
    let groups = r["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{r}");
    assert_eq!(groups[0]["key"], "Acme");
    // Zendesk 8 requests (7 answered), Messenger and Instagram 7 + 3 (5 + 2), the phone 1 (1):
    // summed, nothing counted twice.
    assert_eq!(ratio(&groups[0]["metrics"], "response_rate"), (7 + 5 + 2 + 1, 8 + 7 + 3 + 1));
    assert_eq!(r["total"]["metrics"]["messages_received"]["value"].as_u64(), Some(alone));
    // Importing them all again changes nothing.
    for files in &sources {
        let (_, err) = import(&db, files, &["--account-name", "Acme"]);
        assert!(err.contains(" 0 new, 0 changed"), "{err}");
    }
}

#[test]
fn the_french_example_reads_with_its_mapping_and_goes_back_to_excel() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("fr.db");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (code, err) = import(
        &db,
        &[root.join("examples/french-export.csv")],
        &["--mapping", "excel_fr", "--config", s(&root.join("examples/barometre.toml"))],
    );
    assert_eq!(code, Some(0), "{err}");
    let t = &report(&db, None)["total"]["metrics"];
    // D-101 09:15 → 09:47 (32 min), D-102 10:02 → 10:05 (3 min), D-103 14/03 18:30 → 16/03
    // 08:10 (37 h 40 min), D-104 waits.
    assert_eq!(ratio(t, "response_rate"), (3, 4));
    assert_eq!(t["response_time"]["sum"], (32 * 60 + 3 * 60 + (37 * 60 + 40) * 60) as f64);
    assert_eq!(t["agent_handle_time"]["sum"], 95.5 + 240.0 + 60.0);
    // Out to French Excel: `;`, decimal commas, a byte-order mark.
    let o = run(&["report", "--db", s(&db), "--format", "csv", "--excel", "--metrics", "response_rate"]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.starts_with('\u{feff}'), "{text}");
    assert!(text.contains("total;;response_rate;75,0;3;4;"), "{text}");
    let o = run(&["explain", "response_time", "--db", s(&db), "--format", "csv", "--excel"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.lines().next().unwrap().contains(";conversation_id;"), "{text}");
    let o = run(&["export", "conversations", "--db", s(&db), "--excel"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["report", "--db", s(&db), "--format", "json", "--excel"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("use it with --format csv"));
}

#[test]
fn the_workbook_example_reads_as_excel_wrote_it() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("w.db");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (code, err) = import(&db, &[root.join("examples/messages.xlsx")], &["--tz", "Europe/Paris"]);
    assert_eq!(code, Some(0), "{err}");
    let t = &report(&db, None)["total"]["metrics"];
    // K-88: 09:00 → 09:12 (720 s), then "Ça marche, merci" (more than a bare thanks: a request,
    // unanswered); K-89 waits.
    assert_eq!(ratio(t, "response_rate"), (1, 3));
    assert_eq!(t["response_time"]["sum"], 720.0);
    // `--format json` given one object per line reads each object as a row.
    let lines = write(
        d.path(),
        "rows.json",
        "{\"message_id\":\"j1\",\"created_at\":\"2026-03-18T10:00:00Z\",\"direction\":\"in\",\"account\":\"Acme\",\"channel\":\"chat\",\"author_id\":\"c1\",\"conversation_id\":\"J\"}\n\
{\"message_id\":\"j2\",\"created_at\":\"2026-03-18T10:01:00Z\",\"direction\":\"out\",\"account\":\"Acme\",\"channel\":\"chat\",\"author_id\":\"a1\",\"conversation_id\":\"J\"}\n",
    );
    let (code, err) = import(&db, &[lines], &["--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(report(&db, None)["total"]["metrics"]["response_time"]["sum"], 780.0);
}

#[test]
fn zendesk_authors_without_a_role_are_never_taken_for_agents_and_a_ticket_created_solved_is_resolved() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("z.db");
    // No users side-load: the requester (8001) is a customer; 8002, in copy, is no agent.
    let tickets = write(
        d.path(),
        "tickets.json",
        r#"{"tickets":[{"id":77,"requester_id":8001,"assignee_id":9001,"via":{"channel":"email"},"status":"open","created_at":"2026-03-20T09:00:00Z"},
{"id":78,"requester_id":8003,"via":{"channel":"voice"},"status":"solved","created_at":"2026-03-20T10:00:00Z"}],"end_of_stream":true}"#,
    );
    let events = write(
        d.path(),
        "events.json",
        r#"{"ticket_events":[
{"id":1,"ticket_id":77,"timestamp":1773997200,"created_at":"2026-03-20T09:00:00Z","updater_id":8001,"via":"Email","event_type":"Audit","child_events":[
  {"id":11,"event_type":"Comment","author_id":8001,"body":"Bonjour","public":true,"created_at":"2026-03-20T09:00:00Z","via":{"channel":"email"}}]},
{"id":2,"ticket_id":77,"timestamp":1773997500,"created_at":"2026-03-20T09:05:00Z","updater_id":8002,"via":"Email","event_type":"Audit","child_events":[
  {"id":21,"event_type":"Comment","author_id":8002,"body":"Je suis en copie","public":true,"created_at":"2026-03-20T09:05:00Z"}]},
{"id":3,"ticket_id":78,"timestamp":1774000800,"created_at":"2026-03-20T10:00:00Z","updater_id":9001,"via":"Phone call (incoming)","event_type":"Audit","child_events":[
  {"id":31,"event_type":"VoiceComment","author_id":8003,"public":true,"body":"Appel entrant","created_at":"2026-03-20T10:00:00Z"},
  {"id":32,"event_type":"Create","status":"solved"}]}
],"end_of_stream":true}"#,
    );
    let (code, err) = import(&db, &[tickets, events], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("events.json:5:1: comment 21: cannot tell whether user 8002 is a customer or an agent"),
        "{err}"
    );
    let t = &report(&db, None)["total"]["metrics"];
    // 77 waits (nobody answered); 78's call is a request, its ticket created solved (no human reply:
    // not a human resolution).
    assert_eq!(ratio(t, "response_rate"), (0, 2));
    let rows = json(&run(&["explain", "conversations", "--db", s(&db), "--format", "json"]));
    let solved: Vec<&Value> = rows["rows"].as_array().unwrap().iter().filter(|r| !r["resolved_at"].is_null()).collect();
    assert_eq!(solved.len(), 1, "{rows}");
    assert_eq!(solved[0]["conversation_id"], "zendesk:ticket:78");
}

#[test]
fn x_retweets_are_not_requests_and_each_customer_under_a_tweet_is_a_conversation() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("x.db");
    let page = write(
        d.path(),
        "page.json",
        r#"{"data":[
{"id":"100","text":"Nouvelle offre !","author_id":"1","conversation_id":"100","created_at":"2026-03-20T09:00:00.000Z","edit_history_tweet_ids":["100"]},
{"id":"101","text":"@Acme elle marche en Belgique ?","author_id":"2","conversation_id":"100","created_at":"2026-03-20T09:10:00.000Z","in_reply_to_user_id":"1","referenced_tweets":[{"type":"replied_to","id":"100"}],"edit_history_tweet_ids":["101"]},
{"id":"102","text":"@Acme et en Suisse ?","author_id":"3","conversation_id":"100","created_at":"2026-03-20T09:12:00.000Z","in_reply_to_user_id":"1","referenced_tweets":[{"type":"replied_to","id":"100"}],"edit_history_tweet_ids":["102"]},
{"id":"103","text":"@client2 oui !","author_id":"1","conversation_id":"100","created_at":"2026-03-20T09:20:00.000Z","in_reply_to_user_id":"2","referenced_tweets":[{"type":"replied_to","id":"101"}],"edit_history_tweet_ids":["103"]},
{"id":"104","text":"RT @Acme: Nouvelle offre !","author_id":"4","conversation_id":"104","created_at":"2026-03-20T09:30:00.000Z","referenced_tweets":[{"type":"retweeted","id":"100"}],"edit_history_tweet_ids":["104"]}
],"includes":{"users":[{"id":"1","username":"Acme","name":"Acme"},{"id":"2","username":"client2","name":"C2"},{"id":"3","username":"client3","name":"C3"},{"id":"4","username":"fan","name":"Fan"}]},"meta":{"result_count":5}}"#,
    );
    // A page cut short (a download stopped) is said once; the other page is read all the same.
    let cut = write(d.path(), "cut.json", r#"{"data":[{"id":"200","text":"@Acme"#);
    let (code, err) = import(&db, &[page, cut], &["--account", "1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cut.json:1:"), "{err}");
    assert!(err.contains("4 new"), "{err}");
    let t = &report(&db, None)["total"]["metrics"];
    // 101 answered by 103 (600 s); 102, another customer under the same tweet, waits; the retweet
    // is nobody's request.
    assert_eq!(ratio(t, "response_rate"), (1, 2));
    assert_eq!(t["response_time"]["sum"], 600.0);
    // The handle as the API writes it, whether the account was given by id or by handle.
    assert_eq!(report(&db, Some("account"))["groups"][0]["key"], "Acme");
}

#[test]
fn chatwoot_list_alone_is_refused_rather_than_read_as_a_history() {
    let d = tempfile::tempdir().unwrap();
    let list: Vec<PathBuf> = example("chatwoot").into_iter().filter(|p| s(p).contains("conversations")).collect();
    let (code, err) = import(&d.path().join("c.db"), &list, &[]);
    // Nothing taken: 1.
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.matches("the list holds its last message only").count(), 4, "{err}");
}

#[test]
fn wall_clock_times_without_a_zone_are_said_once_before_the_rows() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "m.csv",
        "message_id,created_at,direction,account,channel,author_id,conversation_id\n1,13/03/2026 09:15,in,acme,email,u1,k\n2,13/03/2026 09:20,out,acme,email,a1,k\n",
    );
    let (code, err) = import(&d.path().join("a.db"), &[f], &[]);
    // Every row refused: nothing taken, exit 1.
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("m.csv: ⚠ the file's times (like `13/03/2026 09:15`) carry no zone"), "{err}");
}

#[test]
fn a_number_that_reads_both_ways_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "o.csv",
        "order_id,customer_id,ordered_at,amount\no1,c1,2026-03-02,\"1,234\"\no2,c1,2026-03-03,\"12,5\"\n",
    );
    let (code, err) = import_kind(&d.path().join("o.db"), "orders", &f);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("`1,234` in column `amount` reads as a thousands separator or as a decimal comma"), "{err}");
    assert!(err.contains("1 new"), "{err}");
}

fn import_kind(db: &Path, kind: &str, f: &Path) -> (Option<i32>, String) {
    let o = run(&["import", kind, s(f), "--db", s(db)]);
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn report_input_reads_an_api_dumps_files_as_one_source() {
    let files = example("zendesk");
    let mut args = vec!["report", "--format", "json"];
    for f in &files {
        args.extend(["--input", s(f)]);
    }
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(ratio(&json(&o)["total"]["metrics"], "response_rate"), (7, 8));
}

#[test]
fn api_pages_one_per_line_are_read_a_line_at_a_time_and_a_bad_line_is_said_with_its_line() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("x.db");
    // Two X pages, one a line, a line cut short between them (a download interrupted, then
    // resumed): the pages are read, the bad line is refused at its line.
    let page = |id: &str, author: &str, at: &str, reply: Option<&str>| {
        let refs =
            reply.map_or(String::new(), |r| format!(r#","referenced_tweets":[{{"type":"replied_to","id":"{r}"}}]"#));
        format!(
            r#"{{"data":[{{"id":"{id}","text":"t","author_id":"{author}","conversation_id":"10","created_at":"{at}","edit_history_tweet_ids":["{id}"]{refs}}}],"includes":{{"users":[{{"id":"1","username":"Acme"}},{{"id":"2","username":"c2"}}]}},"meta":{{"result_count":1}}}}"#
        )
    };
    let text = format!(
        "{}\n{}\n{}\n",
        page("10", "2", "2026-03-20T09:00:00.000Z", None),
        r#"{"data":[{"id":"11","#,
        page("12", "1", "2026-03-20T09:05:00.000Z", Some("10")),
    );
    let f = write(d.path(), "pages.jsonl", &text);
    let (code, err) = import(&db, &[f], &["--account", "@Acme"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("pages.jsonl:2:"), "{err}");
    let t = &report(&db, None)["total"]["metrics"];
    assert_eq!(ratio(t, "response_rate"), (1, 1));
    assert_eq!(t["response_time"]["sum"], 300.0);
}

#[test]
fn a_missing_file_is_said_and_the_others_taken_a_wrong_layout_said_once_and_a_csv_is_no_api_dump() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("m.db");
    let good = write(
        d.path(),
        "good.csv",
        "message_id,created_at,direction,account,channel,author_id,conversation_id\nm1,2026-03-02T09:00:00Z,in,acme,email,u1,k\n",
    );
    let (code, err) = import(&db, &[good.clone(), d.path().join("missing.csv")], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("missing.csv:1:1: cannot read"), "{err}");
    assert!(err.contains("1 row read: 1 new, 0 changed, 0 unchanged, 0 rejected — 1 file(s) unreadable"), "{err}");
    // A layout that reads none of the file's dates: said once, with the one that does.
    let fr = write(
        d.path(),
        "fr.csv",
        "message_id,created_at,direction,account,channel,author_id,conversation_id\nf1,13/03/2026 09:15,in,acme,email,u1,k\n",
    );
    let (code, err) = import(&db, std::slice::from_ref(&fr), &["--date-format", "%m/%d/%Y %H:%M", "--tz", "UTC"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("--date-format `%m/%d/%Y %H:%M` reads none of the file's first dates (like `13/03/2026 09:15`); `%d/%m/%Y %H:%M` reads them"),
        "{err}"
    );
    // An API format forced on a CSV file says what the file looks like.
    let (code, err) = import(&db, &[good], &["--format", "zendesk"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not JSON: this file looks like csv"), "{err}");
}
