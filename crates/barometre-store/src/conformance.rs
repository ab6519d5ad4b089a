//! The conformance suite: every back end runs these checks (atuin's `tests-database` pattern).
//! Each takes a fresh, empty store.

use crate::{Store, StoreError};
use barometre_core::clock::Outcome;
use barometre_core::config::Config;
use barometre_core::ingest::{Format, Kind, RecordReader};

pub(crate) const ROWS: &str = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to,text
x1,2026-04-06T08:00:00+02:00,in,acme,twitter,u1,k1,,\"Bonjour, colis perdu ?\"
x2,2026-04-06T06:20:00Z,out,acme,twitter,agent7,k1,x1,Nous regardons
x3,2026-04-06T09:00:00Z,in,acme,email,u2,k2,,Facture
";

fn import<S: Store>(s: &mut S, ws: &str, data: &str, strict: bool) -> Result<crate::ImportSummary, StoreError> {
    let mut r = RecordReader::new("t.csv", Kind::Messages, Format::Csv, data.as_bytes());
    s.import(ws, &Config::default(), strict, &mut r, &mut ())
}

/// Runs the control plane's checks (workspaces, users, sessions, tokens) against control planes
/// made by `make`: what a back end that keeps only those (PostgreSQL) must pass.
pub fn run_control_plane<C: crate::ControlPlane>(make: impl Fn() -> C) {
    tokens_expire_list_and_revoke(make());
    a_password_change_ends_sessions(make());
    users_sessions_and_workspaces(make());
}

/// Runs every check against stores made by `make`.
pub fn run_all<S: Store>(make: impl Fn() -> S) {
    imports_rows_and_derives_facts(make());
    importing_twice_changes_nothing(make());
    a_changed_row_replaces_its_old_version(make());
    a_duplicate_id_with_other_content_is_rejected_with_both_places(make());
    strict_mode_takes_nothing_when_a_row_is_bad(make());
    workspaces_do_not_see_each_other(make());
    events_mark_requests_examined(make());
    period_bounds_select_facts(make());
    new_signature_patterns_reread_the_texts(make());
    one_import_or_several_give_the_same_facts(make(), make());
    tokens_expire_list_and_revoke(make());
    a_password_change_ends_sessions(make());
    refused_rows_are_counted_all_and_kept_few(make());
    records_come_back_whole_and_answers_are_credited(make());
    one_conversation_rows_and_messages_by_id(make());
    ids_holding_any_character_are_kept(make());
    probes_come_back_as_imported(make());
    the_version_moves_with_every_import(make());
    users_sessions_and_workspaces(make());
    an_analysts_label_counts_and_survives_reimports(make());
    a_knowledge_base_matches_questions_and_survives_reimports(make());
    a_report_reading_no_message_is_the_same_read_from_covers(make());
    a_file_read_in_halves_is_imported_as_read_whole(&make);
}

/// A report whose metrics read no message, from covers of chunks of messages: the same JSON as
/// from every message, by every dimension that is not time, over periods that cut chunks or hold
/// them whole, with the period before, some messages unattached (the demo's messages make about
/// forty chunks of 256 facts in tests).
fn a_report_reading_no_message_is_the_same_read_from_covers<S: Store>(mut s: S) {
    use barometre_core::ingest::{Located, Record};
    use barometre_core::report::{build, reads_messages, Params};
    let cfg = Config::default();
    let end = 1_780_000_000_000;
    let mut data = barometre_core::demo::generate(13, 30, end);
    let mut unattached = 0;
    for m in data.messages.iter_mut().filter(|m| m.direction == barometre_core::model::Direction::Out).step_by(40) {
        (m.conversation_id, m.reply_to, m.customer_id) = (None, None, None);
        unattached += 1;
    }
    let mut rows = data.messages.into_iter().enumerate().map(|(i, m)| {
        Ok(Located { file: "m.csv".into(), line: i as u64 + 2, id_column: 1, record: Record::Message(m) })
    });
    s.import("w", &cfg, false, &mut rows, &mut ()).unwrap();
    let day = 86_400_000;
    let periods = [
        (None, None),
        (Some(end - 20 * day + 12_345), Some(end - 3 * day - 777)),
        (Some(end - 9 * day), None),
        (None, Some(end - 25 * day)),
    ];
    let (mut covered_any, mut skipped_convs) = (false, false);
    for (from, to) in periods {
        for by in [None, Some("account"), Some("channel"), Some("agent"), Some("team"), Some("theme")] {
            for metrics in
                ["response_rate,response_time", "first_response_time,reopen_rate,requests,resolution_time_business"]
            {
                let fmt = |ms: Option<i64>| ms.map(barometre_core::time::rfc3339_utc);
                let p = Params::parse(fmt(from).as_deref(), fmt(to).as_deref(), by, None)
                    .unwrap()
                    .with_metrics(Some(metrics))
                    .unwrap();
                assert!(!reads_messages(&cfg, &p), "{metrics}");
                let (lo, hi) = barometre_core::report::load_span(&cfg, &p, false);
                let whole = s.table("w", &cfg, lo, hi).unwrap();
                let cover = crate::Covering::of(&cfg, &p);
                let covered = s.table_covering("w", &cfg, lo, hi, cover).unwrap();
                // Conversations are left out where the report reads none, and only there.
                assert_eq!(covered.convs.is_empty(), !cover.conversations, "{by:?}: {metrics}");
                skipped_convs |= !cover.conversations;
                covered_any |= covered.msgs.len() * 4 < whole.msgs.len();
                let want = serde_json::to_string(&build(&whole, &p, &cfg)).unwrap();
                let got = serde_json::to_string(&build(&covered, &p, &cfg)).unwrap();
                assert_eq!(got, want, "{from:?}..{to:?} by {by:?}: {metrics}");
                if from.is_none() && to.is_none() {
                    let n: u64 = covered.unattached_covered.iter().map(|c| c.2).sum();
                    assert!(n > 0 && n <= unattached);
                }
                // The period before, from the same table (as `--format table` shows it).
                if let Some(prev) = p.previous() {
                    let want = serde_json::to_string(&build(&whole, &prev, &cfg)).unwrap();
                    assert_eq!(serde_json::to_string(&build(&covered, &prev, &cfg)).unwrap(), want);
                }
            }
        }
    }
    assert!(covered_any, "covers stand for far fewer rows than messages");
    assert!(skipped_convs, "some report read no conversation");
}

/// Refused rows as a sink is told them, in order.
pub(crate) struct Said(pub Vec<String>);

impl crate::ImportSink for Said {
    fn rejected(&mut self, e: &barometre_core::ingest::RowError) {
        self.0.push(e.to_string());
    }
}

/// Two stores hold the same rows (whatever their order) and the same facts for `ws`.
pub(crate) fn same_rows_and_facts(a: &impl crate::DataStore, b: &impl crate::DataStore, ws: &str, cfg: &Config) {
    let rows = |s: &dyn crate::DataStore| {
        let mut m = s.rows(ws).unwrap().0;
        m.sort_by(|x, y| x.message_id.cmp(&y.message_id));
        m
    };
    assert_eq!(rows(a), rows(b));
    assert_eq!(a.facts(ws, cfg, None, None).unwrap().sorted(), b.facts(ws, cfg, None, None).unwrap().sorted());
}

/// A file of messages to import in halves: conversations of three rows, CRLF line ends, a text
/// over two lines (in quotes) in each half, a bad row in each half, an `out` row that joins
/// nothing, and repeated ids — the same content and other content, across the halves and within
/// the second. Comes back with the first byte of a row near its middle, and a byte inside the
/// second half's quoted line break (a cut there misses: the reader finds it inside quotes).
pub(crate) fn halves_file() -> (String, u64, u64) {
    let mut rows =
        vec!["message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to,text".to_string()];
    for c in 0..60 {
        let (acct, ch) = (["acme", "bolt"][c % 2], ["email", "chat", "twitter"][c % 3]);
        let t = 1_775_462_400 + c as i64 * 3_700;
        let at = |s: i64| barometre_core::time::rfc3339_utc((t + s) * 1000);
        rows.push(format!("m{c}a,{},in,{acct},{ch},u{c},k{c},,Bonjour {c}", at(0)));
        rows.push(format!("m{c}b,{},out,{acct},{ch},agent{},k{c},m{c}a,Nous regardons", at(600 + c as i64 * 7), c % 4));
        rows.push(format!("m{c}c,{},in,{acct},{ch},u{c},k{c},m{c}b,Merci beaucoup !", at(4_000)));
    }
    rows[20] = "m6b,2026-04-06T10:30:00Z,out,acme,chat,agent1,k6,m6a,\"Voici\r\nla suite\"".into();
    rows[30] = "bad1,not-a-date,in,acme,chat,u9,k9,,oops".into();
    rows[41] = "m13b,2026-04-06T22:00:00Z,out,bolt,chat,agent2,,,\"sans lien\"".into();
    let cut_row = rows.len() / 2;
    // m1a and m0c again as they were; m2a with another text.
    rows[cut_row + 9] = rows[4].clone();
    rows[cut_row + 10] = rows[3].clone();
    rows[cut_row + 20] = rows[7].replace("Bonjour 2", "Autre chose");
    rows[cut_row + 31] = "bad2,2026-04-06T09:00:00Z,sideways,acme,chat,u9,k9,,oops".into();
    // m44c twice alike, m41b twice not, both within the second half.
    rows[cut_row + 40] = "m44c,2026-04-06T09:00:00Z,in,acme,chat,u9,k9,,\"deux\r\nlignes\"".into();
    rows[cut_row + 45] = rows[cut_row + 40].clone();
    rows[cut_row + 50] = rows[cut_row + 35].replace("Nous regardons", "Autre");
    let data = rows.join("\r\n") + "\r\n";
    let cut = rows[..cut_row].iter().map(|r| r.len() as u64 + 2).sum();
    let inside = data.find("deux\r\n").unwrap() as u64 + 6;
    (data, cut, inside)
}

/// A canonical CSV file imported in halves gives what importing it whole gives: the same counts,
/// refusals (a repeated id's are said once the file is read), rows, facts and report, and a
/// re-import finds every row unchanged. A cut that falls inside quotes reads the file whole. A
/// store that does not read in halves does nothing and says so.
fn a_file_read_in_halves_is_imported_as_read_whole<S: Store>(make: &impl Fn() -> S) {
    use barometre_core::ingest::source::Input;
    use barometre_core::report::{build, Params};
    let cfg = Config::default();
    let (data, cut, inside) = halves_file();
    let mut whole = make();
    let mut said_whole = Said(Vec::new());
    let mut r = RecordReader::new("t.csv", Kind::Messages, Format::Csv, data.as_bytes());
    let want = whole.import("w", &cfg, false, &mut r, &mut said_whole).unwrap();
    // Counted by hand: 180 rows, two bad; m1a, m0c and m44c repeated with the same content, m2a
    // and m41b with other content (refused).
    assert_eq!((want.rows, want.inserted, want.unchanged, want.rejected_count), (176, 173, 3, 4));
    assert_eq!(want.unattached, 1);
    // Lines counted by hand: a row's index plus one, plus the line breaks in quotes before it.
    // (A back end may say repeated ids once the file is read, after the bad rows.)
    let place = |e: &String| e.split(": ").next().unwrap_or_default().to_string();
    let mut lines: Vec<String> = said_whole.0.iter().map(place).collect();
    lines.sort();
    assert_eq!(lines, ["t.csv:112:1", "t.csv:123:3", "t.csv:144:1", "t.csv:32:2"]);
    let said_at = |said: &[String], at: &str| said.iter().find(|e| e.starts_with(at)).cloned().unwrap_or_default();
    assert!(said_at(&said_whole.0, "t.csv:112:").ends_with("(first at t.csv:8)"), "{:?}", said_whole.0);
    assert!(said_at(&said_whole.0, "t.csv:144:").ends_with("(first at t.csv:127)"), "{:?}", said_whole.0);
    let header_end = data.find('\n').unwrap() as u64 + 1;
    let input = Input::bytes("t.csv", data.as_bytes().to_vec());
    for at in [cut, inside] {
        let mut s = make();
        let mut said = Said(Vec::new());
        let bytes = std::sync::atomic::AtomicU64::new(0);
        let progress = |n: u64| {
            bytes.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        };
        let Some(got) = s.import_in_halves("w", &cfg, false, &input, (header_end, at), &progress, &mut said).unwrap()
        else {
            assert!(s.rows("w").unwrap().0.is_empty(), "a store that does not read in halves imports nothing");
            return;
        };
        if at == cut {
            let said = bytes.load(std::sync::atomic::Ordering::Relaxed);
            assert_eq!(said, data.len() as u64, "every byte read is said once");
        }
        let key =
            |x: &crate::ImportSummary| (x.rows, x.inserted, x.updated, x.unchanged, x.rejected_count, x.unattached);
        assert_eq!(key(&got), key(&want), "cut at {at}");
        let by_line = |v: &[barometre_core::ingest::RowError]| {
            let mut v: Vec<String> = v.iter().map(ToString::to_string).collect();
            v.sort();
            v
        };
        assert_eq!(by_line(&got.rejected), by_line(&want.rejected));
        // Bad rows are said as the file is read, repeated ids once it is read.
        let mut sorted = said.0.clone();
        sorted.sort();
        assert_eq!(sorted, by_line(&want.rejected));
        let order: Vec<String> = said.0.iter().map(place).collect();
        assert_eq!(order, ["t.csv:32:2", "t.csv:123:3", "t.csv:112:1", "t.csv:144:1"]);
        same_rows_and_facts(&s, &whole, "w", &cfg);
        let p = Params::parse(None, None, Some("agent"), None).unwrap();
        let report = |s: &S| serde_json::to_string(&build(&s.table("w", &cfg, None, None).unwrap(), &p, &cfg)).unwrap();
        assert_eq!(report(&s), report(&whole));
        // Not empty any more: read whole, and every row is known again.
        assert!(s.import_in_halves("w", &cfg, false, &input, (header_end, at), &progress, &mut ()).unwrap().is_none());
        let mut r = RecordReader::new("t.csv", Kind::Messages, Format::Csv, data.as_bytes());
        let again = s.import("w", &cfg, false, &mut r, &mut ()).unwrap();
        assert_eq!((again.inserted, again.updated, again.unchanged, again.rejected_count), (0, 0, 176, 4));
    }
    // Strict: one bad row, nothing kept.
    let mut s = make();
    let got = s.import_in_halves("w", &cfg, true, &input, (header_end, cut), &|_| {}, &mut ()).unwrap();
    if let Some(got) = got {
        assert!(!got.committed);
        assert!(s.rows("w").unwrap().0.is_empty());
    }
}

/// A knowledge base is kept, matches incoming messages (never outgoing ones), survives a
/// re-import of the rows, is not matched again when imported unchanged, and a new one replaces it.
fn a_knowledge_base_matches_questions_and_survives_reimports<S: Store>(mut s: S) {
    use barometre_core::understand::faq::Entry;
    let cfg = Config::default();
    let rows = "message_id,created_at,direction,account,channel,author_id,conversation_id,kind,text
q1,2026-04-06T08:00:00Z,in,acme,email,u1,k1,question,Comment résilier mon abonnement ?
q2,2026-04-06T08:10:00Z,in,acme,email,u2,k2,question,Vous recrutez ?
q3,2026-04-06T08:20:00Z,out,acme,email,ag,k1,,Comment résilier mon abonnement
";
    import(&mut s, "w", rows, false).unwrap();
    let faq = |s: &S| {
        let f = s.facts("w", &cfg, None, None).unwrap().sorted();
        f.messages.iter().map(|m| m.faq).collect::<Vec<_>>()
    };
    assert_eq!(faq(&s), [None, None, None]);
    let entries = vec![
        Entry::new("x", "Une question sur la livraison ?", "Oui."),
        Entry::new("c", "Comment résilier mon abonnement ?", "En ligne."),
    ];
    let v = s.version("w").unwrap();
    let sum = s.import_faq("w", &cfg, &entries).unwrap();
    assert_eq!((sum.entries, sum.changed, sum.matched_messages, sum.answerable_questions), (2, true, 1, 1));
    assert!(s.version("w").unwrap() > v, "a new knowledge base is a change");
    assert_eq!(faq(&s), [Some(2), None, None]);
    assert_eq!(s.faq("w").unwrap(), entries);
    assert_eq!(s.records("w", None, None).unwrap().faq, entries);
    assert!(s.faq("other").unwrap().is_empty());
    import(&mut s, "w", rows, false).unwrap();
    assert_eq!(faq(&s), [Some(2), None, None]);
    let v = s.version("w").unwrap();
    assert!(!s.import_faq("w", &cfg, &entries).unwrap().changed);
    assert_eq!(s.version("w").unwrap(), v, "the same knowledge base again changes nothing");
    assert_eq!(s.import_faq("w", &cfg, &entries[..1]).unwrap().matched_messages, 0);
    assert_eq!(faq(&s), [None, None, None]);
}

/// An analyst relabels a message: the label wins over the row's `kind` and its text, counts in
/// the facts, survives a re-import of the row and goes when removed.
fn an_analysts_label_counts_and_survives_reimports<S: Store>(mut s: S) {
    use barometre_core::understand::{Label, LabelSource};
    let cfg = Config::default();
    let rows = "message_id,created_at,direction,account,channel,author_id,conversation_id,kind,text
q1,2026-04-06T08:00:00Z,in,acme,email,u1,k1,spam,Gagnez un iPhone gratuit
q2,2026-04-06T08:10:00Z,in,acme,email,u2,k2,,Merci beaucoup !
q3,2026-04-06T08:20:00Z,out,acme,email,ag,k2,,Avec plaisir
";
    import(&mut s, "w", rows, false).unwrap();
    let label = |s: &S, id: &str| {
        let f = s.facts("w", &cfg, None, None).unwrap();
        let m = f.messages.iter().find(|m| m.message_id == id).unwrap().clone();
        (m.label, m.label_source, m.in_scope, m.actionable)
    };
    // q1's column says spam (out of scope); the analyst says it is a complaint.
    assert_eq!(label(&s, "q1"), (Some(Label::Spam), Some(LabelSource::Column), Some(false), false));
    let v = s.version("w").unwrap();
    assert!(s.correct_label("w", &cfg, "q1", Some(Label::Complaint), Some("julie")).unwrap());
    assert!(s.version("w").unwrap() > v, "a correction is a change: reports computed before are stale");
    assert_eq!(label(&s, "q1"), (Some(Label::Complaint), Some(LabelSource::Correction), Some(true), true));
    // The same row again (and a new one): the correction stays.
    import(&mut s, "w", rows, false).unwrap();
    assert_eq!(label(&s, "q1").1, Some(LabelSource::Correction));
    let c = s.corrections("w").unwrap();
    assert_eq!(
        (c.len(), c[0].message_id.as_str(), c[0].label, c[0].by.as_deref()),
        (1, "q1", Label::Complaint, Some("julie"))
    );
    // Only incoming messages of the workspace are labelled.
    assert!(!s.correct_label("w", &cfg, "q3", Some(Label::Other), None).unwrap());
    assert!(!s.correct_label("w", &cfg, "nope", Some(Label::Other), None).unwrap());
    assert!(!s.correct_label("other", &cfg, "q1", Some(Label::Other), None).unwrap());
    // Removed: the column speaks again.
    assert!(s.correct_label("w", &cfg, "q1", None, None).unwrap());
    assert_eq!(label(&s, "q1").0, Some(Label::Spam));
    assert!(s.corrections("w").unwrap().is_empty());
}

fn import_kind<S: Store>(s: &mut S, ws: &str, kind: Kind, data: &str) -> crate::ImportSummary {
    let mut r = RecordReader::new("k.csv", kind, Format::Csv, data.as_bytes());
    s.import(ws, &Config::default(), false, &mut r, &mut ()).unwrap()
}

fn records_come_back_whole_and_answers_are_credited<S: Store>(mut s: S) {
    import(&mut s, "w", ROWS, false).unwrap();
    let surveys = "response_id,survey,score,scale_min,scale_max,answered_at,conversation_id
r1,csat,5,1,5,2026-04-06T10:00:00Z,k1
r2,csat,2,1,5,2026-05-06T10:00:00Z,
";
    assert_eq!(import_kind(&mut s, "w", Kind::Surveys, surveys).inserted, 2);
    let inv = "invitation_id,survey,sent_at
i1,csat,2026-04-05T10:00:00Z
";
    assert_eq!(import_kind(&mut s, "w", Kind::SurveyInvitations, inv).inserted, 1);
    let contacts = "contact_id,channel,account,queued_at,answered_at
q1,phone,acme,2026-04-06T10:00:00Z,2026-04-06T10:02:00Z
";
    assert_eq!(import_kind(&mut s, "w", Kind::Contacts, contacts).inserted, 1);
    let posts = "post_id,account,channel,published_at,impressions,reach,engagements
p1,acme,facebook,2026-04-06T10:00:00Z,100,80,8
";
    assert_eq!(import_kind(&mut s, "w", Kind::Posts, posts).inserted, 1);
    let reviews = "criterion,score,at,conversation_id
tone,80,2026-04-06T11:00:00Z,k1
";
    assert_eq!(import_kind(&mut s, "w", Kind::Reviews, reviews).inserted, 1);
    let customers = "customer_id,account,since
c1,acme,2025-01-01
";
    assert_eq!(import_kind(&mut s, "w", Kind::Customers, customers).inserted, 1);
    let orders = "order_id,customer_id,ordered_at,amount
o1,c1,2026-04-01,12.5
";
    assert_eq!(import_kind(&mut s, "w", Kind::Orders, orders).inserted, 1);
    // April only: every survey answer and invitation whatever the period (attribution), the
    // other records of the period.
    let from = barometre_core::time::parse_instant("2026-04-01T00:00:00Z").unwrap().ms;
    let to = barometre_core::time::parse_instant("2026-05-01T00:00:00Z").unwrap().ms;
    let r = s.records("w", Some(from), Some(to)).unwrap();
    assert_eq!((r.surveys.len(), r.invitations.len()), (2, 1));
    assert_eq!((r.contacts.len(), r.posts.len(), r.reviews.len()), (1, 1, 1));
    assert_eq!((r.customers.len(), r.orders.len()), (1, 1));
    let after = s.records("w", Some(to), None).unwrap();
    assert_eq!((after.contacts.len(), after.posts.len(), after.reviews.len()), (0, 0, 0));
    // r1 answers conversation k1, whose first request agent7 answered: credited to agent7.
    let c = s.records_credited("w", &Config::default(), Some(from), Some(to)).unwrap();
    assert_eq!(c.conversation_agents.get("k1").map(String::as_str), Some("agent7"));
}

fn one_conversation_rows_and_messages_by_id<S: Store>(mut s: S) {
    import(&mut s, "w", ROWS, false).unwrap();
    let ev = "conversation_id,event,at
k1,resolved,2026-04-06T07:00:00Z
";
    let mut r = RecordReader::new("e.csv", Kind::ConversationEvents, Format::Csv, ev.as_bytes());
    s.import("w", &Config::default(), false, &mut r, &mut ()).unwrap();
    let f = s.conversation_facts("w", &Config::default(), "k1").unwrap();
    assert_eq!(f.messages.len(), 2);
    assert!(f.messages.iter().all(|m| m.conversation_id == "k1"));
    assert_eq!(f.conversations.len(), 1);
    assert!(f.conversations[0].first_resolved_ms.is_some());
    let (msgs, events) = s.rows("w").unwrap();
    assert_eq!((msgs.len(), events.len()), (3, 1));
    let x1 = msgs.iter().find(|m| m.message_id == "x1").unwrap();
    // Kept as written: the text with its comma, the offset of the instant.
    assert_eq!((x1.text.as_deref(), x1.created_at.offset_s), (Some("Bonjour, colis perdu ?"), 7200));
    let some = s.messages_by_id("w", &["x3".into(), "nope".into()]).unwrap();
    assert_eq!(some.iter().map(|m| m.message_id.as_str()).collect::<Vec<_>>(), ["x3"]);
    assert!(s.messages_by_id("other", &["x3".into()]).unwrap().is_empty());
}

/// Ids are kept as read, whatever they hold: a NUL character (a JSON `\u0000`), a backslash,
/// an emoji — found again by id, labelled by id, and answered by id.
fn ids_holding_any_character_are_kept<S: Store>(mut s: S) {
    let odd = ["x\u{0}1", "x\\2", "x🙏3"];
    let rows = ROWS.replace("x1,", "@1,").replace(",x1,", ",@1,").replace("x2,", "@2,").replace("x3,", "@3,");
    let rows = rows.replace("@1", odd[0]).replace("@2", odd[1]).replace("@3", odd[2]);
    assert_eq!(import(&mut s, "w", &rows, true).unwrap().inserted, 3);
    assert_eq!(import(&mut s, "w", &rows, true).unwrap().unchanged, 3, "importing twice changes nothing");
    let ids: Vec<String> = odd.iter().map(|i| i.to_string()).collect();
    let found = s.messages_by_id("w", &ids).unwrap();
    assert_eq!(found.iter().map(|m| m.message_id.as_str()).collect::<Vec<_>>(), odd);
    // The answer (reply_to the first id) answers it.
    let f = s.facts("w", &Config::default(), None, None).unwrap();
    let first = f.requests.iter().find(|r| r.request_id == odd[0]).unwrap();
    // Asked 08:00+02:00, answered 06:20Z: 20 minutes.
    assert_eq!((first.response_ms(), first.answer_id.as_deref()), (Some(20 * 60_000), Some(odd[1])));
    let label = barometre_core::understand::Label::Complaint;
    assert!(s.correct_label("w", &Config::default(), odd[0], Some(label), None).unwrap());
    assert_eq!(s.corrections("w").unwrap()[0].message_id, odd[0]);
}

fn probes_come_back_as_imported<S: Store>(mut s: S) {
    let probes = "probe_id,campaign,brand,channel,sent_at,answered_at,resolution,signed
t1,spring,acme,email,2026-04-06T09:00:00Z,2026-04-06T11:00:00Z,complete,true
t2,spring,globex,email,2026-04-06T09:00:00Z,,,
";
    assert_eq!(import_kind(&mut s, "w", Kind::Probes, probes).inserted, 2);
    let mut p = s.probes("w").unwrap();
    p.sort_by(|a, b| a.probe_id.cmp(&b.probe_id));
    assert_eq!(p.len(), 2);
    assert_eq!((p[0].brand.as_str(), p[0].signed, p[1].answered_at), ("acme", Some(true), None));
    assert!(s.probes("other").unwrap().is_empty());
}

fn the_version_moves_with_every_import<S: Store>(mut s: S) {
    let v0 = s.version("w").unwrap();
    import(&mut s, "w", ROWS, false).unwrap();
    let v1 = s.version("w").unwrap();
    assert_ne!(v0, v1);
    import(&mut s, "w", &ROWS.replace("Facture", "Facture ?"), false).unwrap();
    assert_ne!(s.version("w").unwrap(), v1);
    // Another workspace's import leaves this one's version.
    let v2 = s.version("w").unwrap();
    import(&mut s, "other", ROWS, false).unwrap();
    assert_eq!(s.version("w").unwrap(), v2);
}

fn users_sessions_and_workspaces<S: crate::ControlPlane>(mut s: S) {
    use crate::auth::{hash_password, Role};
    assert!(s.create_workspace("w").unwrap());
    assert!(!s.create_workspace("w").unwrap());
    assert_eq!(s.known_workspaces().unwrap(), vec!["w".to_string()]);
    let hash = hash_password("a long pass", 1000).unwrap();
    s.create_user("lea", "w", Role::Analyst, &hash).unwrap();
    let (ws, role, kept) = s.user("lea").unwrap().unwrap();
    assert_eq!((ws.as_str(), role, kept == hash), ("w", Role::Analyst, true));
    assert_eq!(s.user("nobody").unwrap(), None);
    let (id, csrf) = s.create_session("lea", 60_000).unwrap();
    let sess = s.session(&id).unwrap().unwrap();
    assert_eq!((sess.user.as_str(), sess.workspace.as_str(), sess.csrf == csrf), ("lea", "w", true));
    s.end_session(&id).unwrap();
    assert_eq!(s.session(&id).unwrap(), None);
    // Re-creating a user changes its role and ends its sessions.
    let (id, _) = s.create_session("lea", 60_000).unwrap();
    s.create_user("lea", "w", Role::Viewer, &hash).unwrap();
    assert_eq!(s.session(&id).unwrap(), None);
    assert_eq!(s.login("lea", "a long pass").unwrap(), Some(("w".to_string(), Role::Viewer)));
    // An expired session is no session.
    let (gone, _) = s.create_session("lea", -1).unwrap();
    assert_eq!(s.session(&gone).unwrap(), None);
}

fn tokens_expire_list_and_revoke<S: crate::ControlPlane>(mut s: S) {
    use crate::auth::{hash_token, token_id, Role};
    // Accounts belong to a workspace the control plane knows.
    assert!(s.create_token("nowhere", Role::Viewer, None).is_err());
    assert!(s.create_user("nobody", "nowhere", Role::Viewer, "x").is_err());
    s.create_workspace("w").unwrap();
    let expired = s.create_token("w", Role::Viewer, Some(1)).unwrap();
    let live = s.create_token("w", Role::Analyst, None).unwrap();
    assert_eq!(s.token(&expired).unwrap(), None);
    assert_eq!(s.token(&live).unwrap(), Some(("w".to_string(), Role::Analyst)));
    let listed = s.tokens().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|t| !live.contains(&t.id) || t.id == token_id(&hash_token(&live))));
    assert_eq!(s.revoke_token(&token_id(&hash_token(&live))).unwrap(), 1);
    assert_eq!(s.token(&live).unwrap(), None);
    assert_eq!(s.revoke_token(&expired).unwrap(), 1);
    assert!(s.tokens().unwrap().is_empty());
}

fn a_password_change_ends_sessions<S: crate::ControlPlane>(mut s: S) {
    use crate::auth::{hash_password, Role};
    s.create_workspace("w").unwrap();
    s.create_user("ana", "w", Role::Viewer, &hash_password("first pass", 1000).unwrap()).unwrap();
    assert!(s.login("ana", "first pass").unwrap().is_some());
    assert_eq!(s.login("nobody", "first pass").unwrap(), None);
    let (id, _) = s.create_session("ana", 60_000).unwrap();
    assert!(s.session(&id).unwrap().is_some());
    assert!(s.set_password("ana", &hash_password("second pass", 1000).unwrap()).unwrap());
    assert_eq!(s.session(&id).unwrap(), None);
    assert_eq!(s.login("ana", "first pass").unwrap(), None);
    assert!(s.login("ana", "second pass").unwrap().is_some());
    assert!(!s.set_password("nobody", "x").unwrap());
}

fn refused_rows_are_counted_all_and_kept_few<S: Store>(mut s: S) {
    let mut data = String::from("message_id,created_at,direction,account,channel,author_id\n");
    for i in 0..(crate::REJECTED_KEPT + 7) {
        data.push_str(&format!("b{i},nope,in,acme,chat,u\n"));
    }
    struct Count(u64);
    impl crate::ImportSink for Count {
        fn rejected(&mut self, _: &barometre_core::ingest::RowError) {
            self.0 += 1;
        }
    }
    let mut seen = Count(0);
    let mut r = RecordReader::new("t.csv", Kind::Messages, Format::Csv, data.as_bytes());
    let sum = s.import("default", &Config::default(), false, &mut r, &mut seen).unwrap();
    assert_eq!(sum.rejected_count, crate::REJECTED_KEPT as u64 + 7);
    assert_eq!(sum.rejected.len(), crate::REJECTED_KEPT);
    assert_eq!(seen.0, sum.rejected_count, "the sink sees every refused row");
}

fn one_import_or_several_give_the_same_facts<S: Store>(mut one: S, mut several: S) {
    let more = "x4,2026-04-06T09:30:00Z,out,acme,email,agent8,k2,,Voici ^AB\nx5,2026-04-06T10:00:00Z,in,acme,email,u2,k2,,Merci beaucoup !\n";
    import(&mut one, "default", &format!("{ROWS}{more}"), false).unwrap();
    import(&mut several, "default", ROWS, false).unwrap();
    import(
        &mut several,
        "default",
        &format!("{}{more}", ROWS.lines().next().unwrap_or_default().to_string() + "\n"),
        false,
    )
    .unwrap();
    let cfg = Config::default();
    let a = one.facts("default", &cfg, None, None).unwrap().sorted();
    let b = several.facts("default", &cfg, None, None).unwrap().sorted();
    assert_eq!(a, b);
    assert_eq!(a.requests.len(), 3);
    // x5 only says thanks: not actionable, whichever path computed it.
    assert!(!a.messages.iter().find(|m| m.message_id == "x5").unwrap().actionable);
    assert_eq!(a.messages.iter().find(|m| m.message_id == "x4").unwrap().signed, Some(true));
}

fn new_signature_patterns_reread_the_texts<S: Store>(mut s: S) {
    import(&mut s, "default", ROWS, false).unwrap();
    let signed = |s: &S, cfg: &Config| {
        let f = s.facts("default", cfg, None, None).unwrap();
        f.messages.iter().find(|m| m.message_id == "x2").unwrap().signed
    };
    assert_eq!(signed(&s, &Config::default()), Some(false));
    let cfg = Config::load(Some("[signature]\npatterns = ['regardons$']\n"), std::iter::empty()).unwrap();
    // Read-only: recomputed from the rows with their texts.
    assert_eq!(signed(&s, &cfg), Some(true));
    // An import under the new settings refreshes what is kept, even with no new row.
    let mut r = RecordReader::new("t.csv", Kind::Messages, Format::Csv, ROWS.as_bytes());
    s.import("default", &cfg, false, &mut r, &mut ()).unwrap();
    assert_eq!(signed(&s, &cfg), Some(true));
    let more = format!("{ROWS}x9,2026-04-07T09:00:00Z,in,acme,email,u9,k9,,Encore\n");
    let mut r = RecordReader::new("t.csv", Kind::Messages, Format::Csv, more.as_bytes());
    s.import("default", &cfg, false, &mut r, &mut ()).unwrap();
    assert_eq!(signed(&s, &cfg), Some(true));
}

fn imports_rows_and_derives_facts<S: Store>(mut s: S) {
    let sum = import(&mut s, "default", ROWS, false).unwrap();
    assert_eq!((sum.rows, sum.inserted, sum.committed), (3, 3, true));
    let f = s.facts("default", &Config::default(), None, None).unwrap();
    assert_eq!(f.requests.len(), 2);
    let x1 = f.requests.iter().find(|r| r.request_id == "x1").unwrap();
    assert_eq!(x1.response_ms(), Some(20 * 60_000));
    assert_eq!(f.messages.len(), 3);
    // The compact table holds the same facts as the full ones.
    let t = s.table("default", &Config::default(), None, None).unwrap();
    let mut full = barometre_core::table::FactTable::from_facts(&f.sorted());
    full.reqs.sort_by_key(|r| r.start_ms);
    assert_eq!((t.reqs.len(), t.msgs.len()), (2, 3));
    assert_eq!(
        t.reqs.iter().map(|r| r.response_ms()).collect::<Vec<_>>(),
        full.reqs.iter().map(|r| r.response_ms()).collect::<Vec<_>>()
    );
}

fn importing_twice_changes_nothing<S: Store>(mut s: S) {
    import(&mut s, "default", ROWS, false).unwrap();
    let before = s.facts("default", &Config::default(), None, None).unwrap().sorted();
    let sum = import(&mut s, "default", ROWS, false).unwrap();
    assert_eq!((sum.inserted, sum.updated, sum.unchanged), (0, 0, 3));
    assert_eq!(s.facts("default", &Config::default(), None, None).unwrap().sorted(), before);
}

fn a_changed_row_replaces_its_old_version<S: Store>(mut s: S) {
    import(&mut s, "default", ROWS, false).unwrap();
    let changed = ROWS.replace("2026-04-06T06:20:00Z", "2026-04-06T06:50:00Z");
    let sum = import(&mut s, "default", &changed, false).unwrap();
    assert_eq!((sum.inserted, sum.updated), (0, 1));
    let f = s.facts("default", &Config::default(), None, None).unwrap();
    assert_eq!(f.requests.iter().find(|r| r.request_id == "x1").unwrap().response_ms(), Some(50 * 60_000));
    // Only the current version is read, by every reader.
    let at = |s: &S| {
        let (rows, _) = s.rows("default").unwrap();
        assert_eq!(rows.len(), 3, "one version a row");
        let by_id = s.messages_by_id("default", &["x2".into()]).unwrap();
        assert_eq!(by_id.len(), 1);
        let x2 = rows.iter().find(|m| m.message_id == "x2").unwrap();
        assert_eq!(x2.created_at, by_id[0].created_at);
        x2.created_at.ms
    };
    assert_eq!(at(&s), 1_775_458_200_000, "2026-04-06T06:50:00Z");
    // Back to the first version, then a repeat of it in the same file: the same row, once.
    let twice = format!("{ROWS}x2,2026-04-06T06:20:00Z,out,acme,twitter,agent7,k1,x1,Nous regardons\n");
    let sum = import(&mut s, "default", &twice, false).unwrap();
    assert_eq!((sum.inserted, sum.updated, sum.unchanged, sum.rejected.len()), (0, 1, 3, 0));
    assert_eq!(at(&s), 1_775_456_400_000, "2026-04-06T06:20:00Z");
    let f = s.facts("default", &Config::default(), None, None).unwrap();
    assert_eq!(f.requests.iter().find(|r| r.request_id == "x1").unwrap().response_ms(), Some(20 * 60_000));
}

fn a_duplicate_id_with_other_content_is_rejected_with_both_places<S: Store>(mut s: S) {
    let data = format!("{ROWS}x3,2026-04-06T09:00:00Z,in,acme,email,u2,k2,,Facture\nx3,2026-04-06T09:05:00Z,in,acme,email,u2,k2,,Autre\n");
    let sum = import(&mut s, "default", &data, false).unwrap();
    assert_eq!(sum.rejected.len(), 1);
    assert_eq!(
        sum.rejected[0].to_string(),
        "t.csv:6:1: duplicate message_id `x3` with other content (first at t.csv:4)"
    );
    assert_eq!(sum.rows, 4);
}

fn strict_mode_takes_nothing_when_a_row_is_bad<S: Store>(mut s: S) {
    let bad = format!("{ROWS}x4,not-a-date,in,acme,email,u3,k3,,oops\n");
    let sum = import(&mut s, "default", &bad, true).unwrap();
    assert!(!sum.committed);
    assert_eq!(sum.rejected[0].line, 5);
    assert!(s.facts("default", &Config::default(), None, None).unwrap().messages.is_empty());
    assert!(s.rows("default").unwrap().0.is_empty());
}

fn workspaces_do_not_see_each_other<S: Store>(mut s: S) {
    import(&mut s, "brand-a", ROWS, false).unwrap();
    assert!(s.facts("brand-b", &Config::default(), None, None).unwrap().messages.is_empty());
    assert_eq!(s.workspaces().unwrap(), vec!["brand-a".to_string()]);
    // A workspace created before any import (`admin workspace create`) is listed too: users and
    // tokens are then given for it.
    assert!(s.create_workspace("brand-0").unwrap());
    assert_eq!(s.workspaces().unwrap(), vec!["brand-0".to_string(), "brand-a".to_string()]);
    assert!(s.known_workspaces().unwrap().contains(&"brand-0".to_string()));
}

fn events_mark_requests_examined<S: Store>(mut s: S) {
    import(&mut s, "default", ROWS, false).unwrap();
    let ev = "conversation_id,event,at\nk2,examined,2026-04-06T09:30:00Z\n";
    let mut r = RecordReader::new("e.csv", Kind::ConversationEvents, Format::Csv, ev.as_bytes());
    let sum = s.import("default", &Config::default(), false, &mut r, &mut ()).unwrap();
    assert_eq!(sum.inserted, 1);
    let f = s.facts("default", &Config::default(), None, None).unwrap();
    assert_eq!(f.requests.iter().find(|r| r.request_id == "x3").unwrap().outcome, Outcome::Examined);
}

fn period_bounds_select_facts<S: Store>(mut s: S) {
    import(&mut s, "default", ROWS, false).unwrap();
    let from = barometre_core::time::parse_instant("2026-04-06T08:30:00Z").unwrap().ms;
    let f = s.facts("default", &Config::default(), Some(from), None).unwrap();
    assert_eq!(f.requests.iter().map(|r| r.request_id.as_str()).collect::<Vec<_>>(), ["x3"]);
    // Another session gap than the stored facts': recomputed, same result here.
    let cfg = Config::load(Some("[clock]\nsession_gap = \"2h\"\n"), std::iter::empty()).unwrap();
    let g = s.facts("default", &cfg, Some(from), None).unwrap();
    assert_eq!(g.requests.len(), 1);
}

/// A workspace's lock keeps a second holder of the same control plane waiting (`a` and `b`: two
/// handles on it, as two processes or instances have), and only for that workspace; it is
/// released when dropped. `ws` names a workspace no other check locks.
/// `hold`: how long the second waits while the first holds it (past PostgreSQL's statement
/// timeout, where that applies: waiting for a lock is no statement that took too long).
pub fn a_workspace_lock_keeps_a_second_holder_waiting<C: crate::ControlPlane + Send + 'static>(
    a: C,
    b: C,
    ws: &str,
    hold: std::time::Duration,
) {
    use std::sync::mpsc::{channel, RecvTimeoutError};
    use std::time::Duration;
    let other = format!("{ws}-other");
    let held = a.lock_workspace(ws).unwrap();
    let (said, heard) = channel();
    let waiter = {
        let (ws, other) = (ws.to_string(), other.clone());
        std::thread::spawn(move || {
            // Another workspace is not held.
            drop(b.lock_workspace(&other).unwrap());
            said.send("other").unwrap();
            let l = b.lock_workspace(&ws).unwrap();
            said.send("taken").unwrap();
            drop(l);
            b
        })
    };
    assert_eq!(heard.recv_timeout(Duration::from_secs(20)), Ok("other"));
    assert_eq!(heard.recv_timeout(hold), Err(RecvTimeoutError::Timeout), "held: it waits");
    drop(held);
    assert_eq!(heard.recv_timeout(Duration::from_secs(20)), Ok("taken"), "released: it takes it");
    let b = waiter.join().unwrap();
    // Released by the second too: either takes it again.
    drop(a.lock_workspace(ws).unwrap());
    drop(b.lock_workspace(ws).unwrap());
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_workspace_lock_keeps_a_second_store_on_the_same_file_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.db");
        let (a, b) = (crate::SqliteStore::open(&path).unwrap(), crate::SqliteStore::open(&path).unwrap());
        super::a_workspace_lock_keeps_a_second_holder_waiting(a, b, "w", std::time::Duration::from_millis(500));
        // The locks' folder beside the file, one file per workspace locked.
        assert_eq!(std::fs::read_dir(dir.path().join("accounts.db.locks")).unwrap().count(), 2);
    }

    #[test]
    fn sqlite_in_memory_passes_the_suite() {
        super::run_all(|| crate::SqliteStore::memory().unwrap());
    }

    #[test]
    fn sqlite_on_disk_passes_the_suite() {
        let dir = tempfile::tempdir().unwrap();
        let n = std::cell::Cell::new(0);
        super::run_all(|| {
            n.set(n.get() + 1);
            crate::SqliteStore::open(&dir.path().join(format!("s{}.db", n.get()))).unwrap()
        });
    }
}
