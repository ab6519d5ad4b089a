use super::*;
use rstest::rstest;

const HEAD: &str = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to,text\n";

fn read(kind: Kind, format: Format, data: &[u8]) -> (Vec<Record>, Vec<String>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    let mut r = RecordReader::new("f.csv", kind, format, data);
    if let Some(e) = r.fatal.take() {
        bad.push(e.to_string());
    }
    for x in r {
        match x {
            Ok(rec) => ok.push(rec.record),
            Err(e) => bad.push(e.to_string()),
        }
    }
    if kind == Kind::Messages && format != Format::Twcs {
        // Rows read in place, into one reused buffer, are the same rows with the same errors.
        let mut r = RecordReader::new("f.csv", kind, format, data);
        let (mut ok2, mut bad2) = (Vec::new(), Vec::new());
        if let Some(e) = r.fatal.take() {
            bad2.push(e.to_string());
        }
        let mut m = Message::empty();
        m.text = Some("left over from a longer row".into());
        while let Some(x) = r.next_message(&mut m) {
            match x {
                Ok(_) => ok2.push(Record::Message(m.clone())),
                Err(e) => bad2.push(e.to_string()),
            }
        }
        assert_eq!((&ok2, &bad2), (&ok, &bad));
    }
    (ok, bad)
}

#[rstest]
#[case::bad_instant(
    "x4,not-a-date,in,acme,email,u3,k3,,oops\n",
    "f.csv:3:2: column `created_at`: `not-a-date` is not an RFC 3339 instant"
)]
#[case::unknown_direction(
    "x4,2026-04-06T09:00:00Z,sideways,acme,email,u3,k3,,oops\n",
    "f.csv:3:3: unknown direction `sideways`"
)]
#[case::missing_value(
    "x4,2026-04-06T09:00:00Z,in,,email,u3,k3,,oops\n",
    "f.csv:3:4: missing value for required column `account`"
)]
#[case::short_row("x4,2026-04-06T09:00:00Z,in,acme\n", "f.csv:3:5: row has 4 fields, the header has 9")]
#[case::no_offset(
    "x4,2026-04-06T09:00:00,in,acme,email,u3,k3,,oops\n",
    "f.csv:3:2: column `created_at`: instant `2026-04-06T09:00:00` has no offset"
)]
fn each_bad_row_gets_its_precise_message(#[case] row: &str, #[case] expected: &str) {
    let data = format!("{HEAD}x1,2026-04-06T08:00:00+02:00,in,acme,twitter,u1,k1,,Bonjour\n{row}x5,2026-04-06T10:00:00Z,out,acme,email,a1,k3,,ok\n");
    let (ok, bad) = read(Kind::Messages, Format::Csv, data.as_bytes());
    assert_eq!(ok.len(), 2, "the valid rows around the bad one are kept");
    assert_eq!(bad.len(), 1);
    assert!(bad[0].starts_with(expected), "{} does not start with {expected}", bad[0]);
}

#[test]
fn wrong_utf8_names_its_cell() {
    let mut data = HEAD.as_bytes().to_vec();
    data.extend_from_slice(b"x1,2026-04-06T08:00:00Z,in,ac\xffme,twitter,u1,k1,,t\n");
    let (ok, bad) = read(Kind::Messages, Format::Csv, &data);
    assert!(ok.is_empty());
    assert!(bad[0].starts_with("f.csv:2:4: column `account` is not valid UTF-8"), "{}", bad[0]);
}

#[test]
fn a_character_cut_between_two_cells_is_bad_in_the_first() {
    // `é` is C3 A9: the row's bytes read as valid UTF-8 once the comma is left out, its cells not.
    let mut data = HEAD.as_bytes().to_vec();
    data.extend_from_slice(b"x1,2026-04-06T08:00:00Z,in,acme\xc3,\xa9twitter,u1,k1,,t\n");
    data.extend_from_slice("x2,2026-04-06T08:00:00Z,in,acmé,twitter,u1,k1,,été\n".as_bytes());
    let (ok, bad) = read(Kind::Messages, Format::Csv, &data);
    assert_eq!(ok.len(), 1, "the row after is kept, accents and all");
    assert!(bad[0].starts_with("f.csv:2:4: column `account` is not valid UTF-8 (bad byte at offset 4"), "{}", bad[0]);
}

#[test]
fn cr_only_line_ends_count_lines() {
    let data = HEAD.replace('\n', "\r")
        + "x1,2026-04-06T08:00:00Z,in,acme,twitter,u1,k1,,t\rx2,bad,in,acme,twitter,u1,k1,,t\r";
    let (ok, bad) = read(Kind::Messages, Format::Csv, data.as_bytes());
    assert_eq!(ok.len(), 1);
    assert!(bad[0].starts_with("f.csv:3:2:"), "{}", bad[0]);
}

#[test]
fn quoted_newlines_keep_the_text_and_the_next_line_numbers() {
    let data = format!(
        "{HEAD}x1,2026-04-06T08:00:00Z,in,acme,twitter,u1,k1,,\"Bonjour,\nma commande\r\nest perdue\"\nx2,oops,in,acme,twitter,u1,k1,,t\n"
    );
    let (ok, bad) = read(Kind::Messages, Format::Csv, data.as_bytes());
    let Record::Message(m) = &ok[0] else { panic!() };
    assert_eq!(m.text.as_deref(), Some("Bonjour,\nma commande\r\nest perdue"));
    assert!(bad[0].starts_with("f.csv:5:2:"), "{}", bad[0]);
}

#[test]
fn a_missing_required_column_in_the_header_is_one_clear_error() {
    let data = "message_id,created_at,account,channel,author_id\nx1,2026-04-06T08:00:00Z,acme,twitter,u1\n";
    let (ok, bad) = read(Kind::Messages, Format::Csv, data.as_bytes());
    assert!(ok.is_empty());
    assert_eq!(
        bad,
        vec![
            "f.csv:1:6: missing required column `direction` in the header (found: `message_id`, `created_at`, `account`, `channel`, `author_id`)"
                .to_string()
        ]
    );
}

#[rstest]
#[case::comma("message_id,created_at,text\n", b',')]
#[case::french_excel("Date;Sens;Canal;Compte;Auteur;Message\n", b';')]
#[case::tab("message_id\tcreated_at\tdirection\n", b'\t')]
#[case::pipe("message_id|created_at|direction\n", b'|')]
#[case::quoted_commas_do_not_count("\"a,b,c\";\"d\";e\n", b';')]
#[case::only_the_header_line_counts("a,b,c\nx;y;z;w;v\n", b',')]
#[case::one_column("message_id\n", b',')]
fn the_separator_is_read_off_the_header_line(#[case] head: &str, #[case] d: u8) {
    assert_eq!(super::sniff_delimiter(head.as_bytes()), d);
}

#[test]
fn a_semicolon_file_reads_like_a_comma_one() {
    let data = "message_id;created_at;direction;account;channel;author_id;text\nm1;2026-03-02T09:15:00+01:00;in;acme;email;c1;\"Bonjour, ça va ?\"\n";
    let mut r = RecordReader::with_delimiter("f.csv", Kind::Messages, Format::Csv, data.as_bytes(), b';');
    let Some(Ok(Located { record: Record::Message(m), .. })) = r.next() else { panic!("a row") };
    assert_eq!((m.account.as_str(), m.text.as_deref()), ("acme", Some("Bonjour, ça va ?")));
}

#[rstest]
#[case::french_export(
    "Date;Sens;Canal;Compte;Auteur;Message\n02/03/2026 09:15;Entrant;email;acme;c1;Bonjour\n",
    "f.csv:1:2: missing required columns `message_id`, `created_at`, `direction`, `account`, `channel`, `author_id` in the header — the header reads as one column: the separator looks like `;`, not `,`"
)]
#[case::french_names_with_commas(
    "id,date,sens,canal,compte,auteur\nm1,2026-03-02T09:15:00Z,in,email,acme,c1\n",
    "f.csv:1:7: missing required columns `message_id`, `created_at`, `direction`, `account`, `channel`, `author_id` in the header (found: `id`, `date`, `sens`, `canal`, `compte`, `auteur`); closest: `id` for `message_id`?, `date` for `created_at`?, `sens` for `direction`?, `compte` for `account`?, `canal` for `channel`?, `auteur` for `author_id`? — to read them: --map message_id=id --map created_at=date --map direction=sens --map account=compte --map channel=canal --map author_id=auteur"
)]
#[case::typo(
    "message_id,created,direction,acount,channel,author_id\nm1,2026-03-02T09:15:00Z,in,acme,email,c1\n",
    "f.csv:1:7: missing required columns `created_at`, `account` in the header (found: `message_id`, `created`, `direction`, `acount`, `channel`, `author_id`); closest: `created` for `created_at`?, `acount` for `account`? — to read them: --map created_at=created --map account=acount"
)]
fn a_header_problem_is_said_once_and_whole(#[case] data: &str, #[case] expected: &str) {
    let (ok, bad) = read(Kind::Messages, Format::Csv, data.as_bytes());
    assert!(ok.is_empty());
    assert_eq!(bad, vec![expected.to_string()]);
}

#[test]
fn jsonl_rows_read_like_csv_and_errors_point_at_the_field() {
    let data = concat!(
        r#"{"message_id":"m1","created_at":"2026-04-06T08:00:00+02:00","direction":"in","account":"acme","channel":"Twitter","author_id":"u1","bot":false}"#,
        "\n\n",
        r#"{"message_id":"m2","created_at":"2026-04-06T08:00:00+02:00","direction":"up","account":"acme","channel":"twitter","author_id":"u1"}"#,
        "\n{not json}\n"
    );
    let (ok, bad) = read(Kind::Messages, Format::Jsonl, data.as_bytes());
    assert_eq!(ok.len(), 1);
    let Record::Message(m) = &ok[0] else { panic!() };
    assert_eq!((m.channel.as_str(), m.created_at.ms), ("twitter", 1_775_455_200_000));
    assert!(bad[0].starts_with("f.csv:3:61: unknown direction `up`"), "{}", bad[0]);
    assert!(bad[1].starts_with("f.csv:4:2: invalid JSON"), "{}", bad[1]);
}

#[test]
fn events_parse_and_reject_unknown_kinds() {
    let data =
        "conversation_id,event,at,agent_id\nk1,examined,2026-04-06T08:00:00Z,a1\nk1,deleted,2026-04-06T08:00:00Z,\n";
    let (ok, bad) = read(Kind::ConversationEvents, Format::Csv, data.as_bytes());
    assert_eq!(ok.len(), 1);
    assert!(bad[0].starts_with("f.csv:3:2: unknown event `deleted`"), "{}", bad[0]);
}

#[test]
fn twcs_assigns_inbound_tweets_to_the_company_of_their_thread_or_first_mention() {
    let data = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n\
1,115712,True,Tue Oct 31 22:10:47 +0000 2017,@sprintcare and how do you propose we do that,,3\n\
2,sprintcare,False,Tue Oct 31 22:11:45 +0000 2017,@115712 I understand.,1,4\n\
3,115712,True,Tue Oct 31 22:08:27 +0000 2017,@sprintcare I have sent several private messages,\"1,4\",\n\
4,sprintcare,False,Tue Oct 31 21:54:49 +0000 2017,@115712 Please send us a Private Message.,2,3\n\
5,99,True,Tue Oct 31 23:00:00 +0000 2017,hey @SprintCare help,,\n\
6,98,True,Tue Oct 31 23:00:00 +0000 2017,nobody hears me,,\n";
    let mut r = RecordReader::twcs("t.csv", data.as_bytes(), data.as_bytes());
    assert!(r.fatal.is_none());
    let msgs: Vec<Message> = r
        .by_ref()
        .map(|x| match x.unwrap().record {
            Record::Message(m) => m,
            _ => panic!(),
        })
        .collect();
    let acc: Vec<(&str, &str, Direction)> =
        msgs.iter().map(|m| (m.message_id.as_str(), m.account.as_str(), m.direction)).collect();
    assert_eq!(
        acc,
        vec![
            ("1", "sprintcare", Direction::In),
            ("2", "sprintcare", Direction::Out),
            ("3", "sprintcare", Direction::In),
            ("4", "sprintcare", Direction::Out),
            ("5", "sprintcare", Direction::In),
            ("6", "(unknown)", Direction::In),
        ]
    );
    assert_eq!(msgs[0].reply_to.as_deref(), Some("3"));
    assert_eq!(msgs[0].channel, "twitter");
}

#[rstest]
#[case::out_of_scale("r1,csat,6,1,5,2026-04-06T10:00:00Z", "f.csv:2:3: score 6 is outside its scale 1–5")]
#[case::no_scale("r1,csat,4,,,2026-04-06T10:00:00Z", "f.csv:2:4: a score needs its scale: `scale_min` is missing")]
#[case::nps_wrong_scale("r1,nps,4,1,5,2026-04-06T10:00:00Z", "f.csv:2:4: an NPS answer is on a 0–10 scale, not 1–5")]
#[case::inverted_scale("r1,csat,4,5,1,2026-04-06T10:00:00Z", "f.csv:2:5: scale_max 1 must be above scale_min 5")]
#[case::not_a_number("r1,csat,four,1,5,2026-04-06T10:00:00Z", "f.csv:2:3: `four` in column `score` is not a number")]
fn bad_survey_answers_are_refused_never_guessed(#[case] row: &str, #[case] expected: &str) {
    let data = format!("response_id,survey,score,scale_min,scale_max,answered_at\n{row}\n");
    let (ok, bad) = read(Kind::Surveys, Format::Csv, data.as_bytes());
    assert!(ok.is_empty());
    assert!(bad[0].starts_with(expected), "{}", bad[0]);
}

#[test]
fn contacts_answered_before_queued_are_refused() {
    let data = "contact_id,channel,account,queued_at,answered_at\nc1,phone,acme,2026-04-06T10:00:00Z,2026-04-06T09:59:00Z\nc2,phone,acme,2026-04-06T10:00:00Z,\n";
    let (ok, bad) = read(Kind::Contacts, Format::Csv, data.as_bytes());
    assert_eq!(ok.len(), 1, "an abandoned contact (no answered_at) is valid");
    assert!(bad[0].starts_with("f.csv:2:5: answered_at is before queued_at"), "{}", bad[0]);
}

#[test]
fn review_scores_outside_zero_to_hundred_are_refused() {
    let data = "conversation_id,reviewer,criterion,score,at\nk1,qa,tone,101,2026-04-06T10:00:00Z\nk1,qa,tone,99,2026-04-06T10:00:00Z\n";
    let (ok, bad) = read(Kind::Reviews, Format::Csv, data.as_bytes());
    assert_eq!(ok.len(), 1);
    assert!(bad[0].starts_with("f.csv:2:4: score 101 is outside 0–100"), "{}", bad[0]);
}

#[test]
fn every_known_column_has_its_own_slot() {
    for (k, name) in super::KNOWN.iter().enumerate() {
        assert_eq!(super::known_slot(name), Some(k), "{name}");
    }
    assert_eq!(super::known_slot("score"), None);
}

fn twcs_messages(data: &str) -> (Vec<(u64, Message)>, Vec<String>) {
    let mut r = RecordReader::twcs("twcs.csv", data.as_bytes(), data.as_bytes());
    assert!(r.fatal.is_none(), "{:?}", r.fatal);
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for x in r.by_ref() {
        match x {
            Ok(Located { line, record: Record::Message(m), .. }) => ok.push((line, m)),
            Ok(_) => panic!("twcs holds messages only"),
            Err(e) => bad.push(e.to_string()),
        }
    }
    (ok, bad)
}

/// Rows as the public file's pandas copies hold them (verbatim, but for the CR added to one
/// text): a leading unnamed index column, parents as floats, a quoted text with a line break, an
/// unquoted text with a bare CR, a quoted list of responses, an emoji.
const TWCS_PANDAS: &str = ",tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n\
0,1,sprintcare,False,Tue Oct 31 22:10:47 +0000 2017,@115712 I understand. I would like to assist you. We would need to get you into a private secured link to further assist.,2,3.0\n\
1,2,115712,True,Tue Oct 31 22:11:45 +0000 2017,@sprintcare and how do you propose we do that,,1.0\n\
2,3,115712,True,Tue Oct 31 22:08:27 +0000 2017,@sprintcare I have sent several private messages and no one is responding as usual,1,4.0\n\
3,4,sprintcare,False,Tue Oct 31 21:54:49 +0000 2017,@115712 Please send us a Private Message so that we can further assist you. Just click \u{2018}Message\u{2019} at the top of your profile.,3,5.0\n\
4,5,115712,True,Tue Oct 31 21:49:35 +0000 2017,@sprintcare I did.\rStill nothing,4,6.0\n\
5,6,sprintcare,False,Tue Oct 31 21:46:24 +0000 2017,\"@115712 Can you please send us a private message, so that I can gain further details about your account?\",\"5,7\",8.0\n\
6,8,115712,True,Tue Oct 31 21:45:10 +0000 2017,@sprintcare is the worst customer service,\"9,6,10\",\n\
28,34,VerizonSupport,False,Tue Oct 31 22:13:33 +0000 2017,\"@115719 Help has arrived! We are sorry to see that you are having trouble. How can we help?\n^HSB\",35,36.0\n\
29,36,115719,True,Tue Oct 31 22:08:00 +0000 2017,@VerizonSupport my phone is dead \u{1f621},34,\n";

#[rstest]
#[case::lf(false)]
#[case::crlf(true)]
fn twcs_as_pandas_writes_it_threads_float_parents_and_keeps_bare_crs(#[case] crlf: bool) {
    let data = if crlf {
        // Rows end in CRLF; the line break inside the quoted text stays a bare LF.
        TWCS_PANDAS.replace('\n', "\r\n").replace("help?\r\n^HSB", "help?\n^HSB")
    } else {
        TWCS_PANDAS.to_string()
    };
    let (ok, bad) = twcs_messages(&data);
    assert!(bad.is_empty(), "{bad:?}");
    let ids: Vec<(&str, Option<&str>, &str, u64)> =
        ok.iter().map(|(l, m)| (m.message_id.as_str(), m.reply_to.as_deref(), m.account.as_str(), *l)).collect();
    assert_eq!(
        ids,
        vec![
            ("1", Some("3"), "sprintcare", 2),
            ("2", Some("1"), "sprintcare", 3),
            ("3", Some("4"), "sprintcare", 4),
            ("4", Some("5"), "sprintcare", 5),
            ("5", Some("6"), "sprintcare", 6),
            ("6", Some("8"), "sprintcare", 7),
            ("8", None, "sprintcare", 8),
            ("34", Some("36"), "VerizonSupport", 9),
            // The quoted text of tweet 34 spans two lines.
            ("36", None, "VerizonSupport", 11),
        ]
    );
    assert_eq!(ok[4].1.text.as_deref(), Some("@sprintcare I did.\rStill nothing"), "a bare CR is part of the text");
    assert_eq!(
        ok[7].1.text.as_deref(),
        Some("@115719 Help has arrived! We are sorry to see that you are having trouble. How can we help?\n^HSB")
    );
    assert_eq!(ok[8].1.text.as_deref(), Some("@VerizonSupport my phone is dead \u{1f621}"), "no CR left of a CRLF");
    assert_eq!(ok[8].1.customer_id.as_deref(), Some("115719"));
}

#[rstest]
#[case::plain("119237", "119237")]
#[case::pandas_float("3.0", "3")]
#[case::more_zeros("119236.000", "119236")]
#[case::exponent("1.19237e+05", "119237")]
#[case::exponent_upper("1.5E3", "1500")]
#[case::real_fraction("3.5", "3.5")]
#[case::fraction_beyond_exponent("1.192375e+05", "1.192375e+05")]
#[case::handle("sprintcare", "sprintcare")]
#[case::handle_with_digits("1800flowers", "1800flowers")]
#[case::zero("0.0", "0")]
fn ids_written_as_numbers_read_as_the_integers_they_are(#[case] written: &str, #[case] id: &str) {
    assert_eq!(super::integral_id(written), id);
}

#[test]
fn thread_roots_take_linear_steps_on_a_long_chain_and_a_cycle() {
    let n = 40_000usize;
    // A chain 1 ← 2 ← … ← n.
    let mut parent: crate::fx::FxHashMap<String, String> = Default::default();
    for i in 2..=n {
        parent.insert(i.to_string(), (i - 1).to_string());
    }
    let (roots, steps) = super::thread_roots_counted(&parent);
    assert_eq!(roots.len(), n - 1);
    assert!(roots.values().all(|r| r == "1"));
    assert!(steps <= 2 * n, "{steps} steps for {n} tweets");
    // A cycle of 20,000 tweets: one root, its smallest id, whatever the entry point.
    let mut cyc: crate::fx::FxHashMap<String, String> = Default::default();
    for i in 0..20_000usize {
        cyc.insert(format!("t{i:05}"), format!("t{:05}", (i + 1) % 20_000));
    }
    let (roots, steps) = super::thread_roots_counted(&cyc);
    assert!(roots.values().all(|r| r == "t00000"));
    assert!(steps <= 2 * 20_000 + 1, "{steps}");
}

#[test]
fn a_json_lines_file_that_begins_with_a_bom_keeps_its_first_row() {
    let data = "\u{feff}{\"message_id\":\"j1\",\"created_at\":\"2026-04-08T10:00:00Z\",\"direction\":\"in\",\"account\":\"acme\",\"channel\":\"chat\",\"author_id\":\"u7\"}\n\
{\"message_id\":\"j2\",\"created_at\":\"2026-04-08T10:01:00Z\",\"direction\":\"in\",\"account\":\"acme\",\"channel\":\"chat\",\"author_id\":\"u7\"}\n";
    let (ok, bad) = read(Kind::Messages, Format::Jsonl, data.as_bytes());
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(ok.len(), 2);
}

#[test]
fn instants_a_millennium_off_are_refused_per_row() {
    let data = format!(
        "{HEAD}m1,0000-01-01T00:00:00Z,in,acme,email,u1,k1,,a\nm2,9999-12-31T23:59:59Z,in,acme,email,u1,k1,,b\nm3,2026-04-06T08:00:00Z,in,acme,email,u1,k1,,c\n"
    );
    let (ok, bad) = read(Kind::Messages, Format::Csv, data.as_bytes());
    assert_eq!(ok.len(), 1, "the valid row is kept");
    assert!(
        bad[0].starts_with(
            "f.csv:2:2: column `created_at`: instant `0000-01-01T00:00:00Z` is outside the years 1970–2099"
        ),
        "{}",
        bad[0]
    );
    assert!(bad[1].starts_with("f.csv:3:2:"), "{}", bad[1]);
}

#[rstest]
#[case::u64_max("18446744073709551615", "above the largest count accepted")]
#[case::beyond_u64("18446744073709551617", "above the largest count accepted")]
#[case::negative("-3", "not a whole number")]
fn counts_that_would_wrap_a_sum_are_refused(#[case] impressions: &str, #[case] why: &str) {
    let data = format!(
        "post_id,account,channel,published_at,impressions,reach,engagements\np1,acme,facebook,2026-04-06T08:00:00Z,{impressions},10,2\np2,acme,facebook,2026-04-06T09:00:00Z,1000000000000000,10,2\n"
    );
    let (ok, bad) = read(Kind::Posts, Format::Csv, data.as_bytes());
    assert_eq!(ok.len(), 1, "10^15 itself is accepted");
    assert!(bad[0].starts_with("f.csv:2:5:") && bad[0].contains(why), "{}", bad[0]);
}
