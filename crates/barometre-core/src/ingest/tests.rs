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
    assert_eq!(bad, vec!["f.csv:1:6: missing required column `direction` in the header".to_string()]);
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
