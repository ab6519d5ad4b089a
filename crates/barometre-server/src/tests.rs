//! Every endpoint, every role and workspace isolation, through `Router::oneshot`; one test on a
//! real port.

use super::*;
use axum::body::Body;
use axum::http::Request;
use barometre_core::ingest::{Format, Kind, RecordReader};
use barometre_store::{ControlPlane, DataStore, SqliteStore};
use http_body_util::BodyExt;
use tower::ServiceExt;

const ROWS: &str = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to,text
x1,2026-04-06T08:00:00+02:00,in,acme,twitter,u1,k1,,\"Bonjour, colis perdu ?\"
x2,2026-04-06T06:20:00Z,out,acme,twitter,agent7,k1,x1,Nous regardons ^AB
x3,2026-04-06T09:00:00Z,in,acme,email,u2,k2,,Facture
";

struct World {
    _dir: tempfile::TempDir,
    state: AppState,
    viewer_a: String,
    analyst_a: String,
    viewer_b: String,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let cfg = Config::default();
    let mut store = SqliteStore::open(&db).unwrap();
    let mut r = RecordReader::new("m.csv", Kind::Messages, Format::Csv, ROWS.as_bytes());
    store.import("brand-a", &cfg, false, &mut r, &mut ()).unwrap();
    store.create_workspace("brand-b").unwrap();
    let viewer_a = store.create_token("brand-a", Role::Viewer, None).unwrap();
    let analyst_a = store.create_token("brand-a", Role::Analyst, None).unwrap();
    let viewer_b = store.create_token("brand-b", Role::Viewer, None).unwrap();
    World { _dir: dir, state: AppState::new(db, cfg), viewer_a, analyst_a, viewer_b }
}

async fn call(w: &World, method: &str, uri: &str, token: Option<&str>, body: &str) -> (StatusCode, String, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = router(w.state.clone()).oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let status = resp.status();
    let ctype = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8(bytes.to_vec()).unwrap())
}

fn v(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap()
}

#[tokio::test]
async fn no_token_is_401_as_a_problem_document() {
    let w = world();
    let (status, ctype, body) = call(&w, "GET", "/api/v1/report", None, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(ctype, "application/problem+json");
    assert_eq!(v(&body)["status"], 401);
    let (status, _, _) = call(&w, "GET", "/api/v1/report", Some("brm_forged"), "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_report_is_the_bytes_of_the_cli_report() {
    let w = world();
    let (status, ctype, body) = call(&w, "GET", "/api/v1/report?by=channel", Some(&w.viewer_a), "").await;
    assert_eq!((status, ctype.as_str()), (StatusCode::OK, "application/json"));
    // What `barometre report --by channel --format json` prints for the same store.
    let store = SqliteStore::open(&w.state.db).unwrap();
    let p = Params { by: Some(report::Dim::Channel), ..Params::default() };
    let (from, to) = report::load_span(&w.state.cfg, &p, false);
    let t = store.table("brand-a", &w.state.cfg, from, to).unwrap();
    let expected = serde_json::to_string_pretty(&report::build(&t, &p, &w.state.cfg)).unwrap() + "\n";
    assert_eq!(body, expected);
    assert_eq!(v(&body)["total"]["metrics"]["response_rate"]["numerator"], 1);
}

#[tokio::test]
async fn a_report_with_metrics_returns_only_those() {
    let w = world();
    let (status, _, body) = call(&w, "GET", "/api/v1/report?metrics=response_rate", Some(&w.viewer_a), "").await;
    assert_eq!(status, StatusCode::OK);
    let m = &v(&body)["total"]["metrics"];
    assert_eq!(m.as_object().map(|o| o.len()), Some(1));
    assert_eq!(m["response_rate"]["numerator"], 1);
    // By channel (read from what chunks of messages cover): each group's figure is the full
    // report's, and the groups are the same.
    let (_, _, sel) = call(&w, "GET", "/api/v1/report?metrics=response_rate&by=channel", Some(&w.viewer_a), "").await;
    let (_, _, full) = call(&w, "GET", "/api/v1/report?by=channel", Some(&w.viewer_a), "").await;
    let groups = |b: &str| -> Vec<(serde_json::Value, serde_json::Value)> {
        v(b)["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["key"].clone(), g["metrics"]["response_rate"].clone()))
            .collect()
    };
    assert!(!groups(&sel).is_empty());
    assert_eq!(groups(&sel), groups(&full));
    let (status, ctype, body) = call(&w, "GET", "/api/v1/report?metrics=speed", Some(&w.viewer_a), "").await;
    assert_eq!((status, ctype.as_str()), (StatusCode::BAD_REQUEST, "application/problem+json"));
    assert!(v(&body)["detail"].as_str().unwrap().contains("unknown metric `speed`"));
}

#[tokio::test]
async fn a_token_never_reads_another_workspace() {
    let w = world();
    // Asking for brand-b with brand-a's token: as if it did not exist, and no figure leaks.
    let (status, _, body) = call(&w, "GET", "/api/v1/report?workspace=brand-b", Some(&w.viewer_a), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains("metrics"));
    // brand-b's own token sees brand-b: empty.
    let (status, _, body) = call(&w, "GET", "/api/v1/report", Some(&w.viewer_b), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v(&body)["total"]["metrics"]["messages_received"]["value"], 0);
    let (status, _, _) = call(&w, "GET", "/api/v1/conversations/k1", Some(&w.viewer_b), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(&w, "POST", "/api/v1/import/messages?workspace=brand-b", Some(&w.analyst_a), ROWS).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_analyst_imports_a_knowledge_base_and_questions_are_matched() {
    let w = world();
    let faq = "id,question,answer\nlost,Que faire si mon colis est perdu ?,Ouvrez une enquête en ligne.\nbad,,sans question\n";
    let (status, _, _) = call(&w, "POST", "/api/v1/import/faq", Some(&w.viewer_a), faq).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = call(&w, "POST", "/api/v1/import/faq?strict=true", Some(&w.analyst_a), faq).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _, body) = call(&w, "POST", "/api/v1/import/faq", Some(&w.analyst_a), faq).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let b = v(&body);
    // x1 « Bonjour, colis perdu ? » is matched; x3 « Facture » is not; x2 is the agent's.
    assert_eq!(
        (b["entries"].as_u64(), b["matched_messages"].as_u64(), b["changed"].as_bool()),
        (Some(1), Some(1), Some(true))
    );
    assert_eq!(
        (b["rejected"][0]["line"].as_u64(), b["rejected"][0]["reason"].as_str()),
        (Some(3), Some("FAQ entry without a question"))
    );
    let (status, _, body) = call(&w, "GET", "/api/v1/faq", Some(&w.viewer_a), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v(&body)["entries"][0]["id"], "lost");
    let (_, _, body) = call(&w, "GET", "/api/v1/faq", Some(&w.viewer_b), "").await;
    assert_eq!(v(&body)["entries"].as_array().map(Vec::len), Some(0), "another workspace's FAQ stays its own");
    let (_, _, body) = call(&w, "GET", "/api/v1/explain?metric=faq_answerable_questions", Some(&w.viewer_a), "").await;
    let rows = v(&body)["rows"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2, "every message received");
}

#[tokio::test]
async fn viewers_read_and_analysts_import_with_per_row_errors() {
    let w = world();
    let more =
        format!("{ROWS}x4,2026-04-07T09:00:00Z,in,acme,chat,u9,k9,,Encore\nx5,not-a-date,in,acme,chat,u9,k9,,oops\n");
    let (status, _, body) = call(&w, "POST", "/api/v1/import/messages", Some(&w.viewer_a), &more).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(v(&body)["detail"].as_str().unwrap().contains("analyst"));
    // Strict: one bad row, nothing taken.
    let (status, _, body) = call(&w, "POST", "/api/v1/import/messages?strict=true", Some(&w.analyst_a), &more).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v(&body)["committed"], false);
    // Not strict: x4 taken, x5 reported with its place.
    let (status, _, body) = call(&w, "POST", "/api/v1/import/messages", Some(&w.analyst_a), &more).await;
    assert_eq!(status, StatusCode::OK);
    let b = v(&body);
    assert_eq!((b["inserted"].as_u64(), b["unchanged"].as_u64()), (Some(1), Some(3)));
    assert_eq!(b["rejected"][0]["line"], 6);
    assert_eq!(b["rejected"][0]["column"], 2);
    let (_, _, body) = call(&w, "GET", "/api/v1/report", Some(&w.viewer_a), "").await;
    assert_eq!(v(&body)["total"]["metrics"]["messages_received"]["value"], 3);
    // An admin may do what an analyst does; JSON Lines by content type.
    let admin = SqliteStore::open(&w.state.db).unwrap().create_token("brand-a", Role::Admin, None).unwrap();
    let line = r#"{"message_id":"j1","created_at":"2026-04-08T10:00:00Z","direction":"in","account":"acme","channel":"chat","author_id":"u7"}"#;
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/import/messages")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/x-ndjson")
        .body(Body::from(line))
        .unwrap();
    let resp = router(w.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let b = v(std::str::from_utf8(&bytes).unwrap());
    assert_eq!(b["inserted"], 1);
}

#[tokio::test]
async fn a_large_body_is_imported_as_it_streams() {
    let w = world();
    // 50 000 rows sent in many chunks: the import reads them as they come.
    let mut csv = String::from("message_id,created_at,direction,account,channel,author_id\n");
    for i in 0..50_000 {
        csv.push_str(&format!("s{i},2026-04-09T10:00:00Z,in,acme,chat,u{i}\n"));
    }
    let chunks = csv.as_bytes().chunks(4096).map(Bytes::copy_from_slice).collect();
    let resp = router(w.state.clone()).oneshot(import_request(&w.analyst_a, Body::new(Chunks(chunks)))).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let b = v(std::str::from_utf8(&bytes).unwrap());
    assert_eq!(b["inserted"], 50_000);
}

#[tokio::test]
async fn a_large_csv_body_into_an_empty_workspace_gives_the_figures_of_one_reader() {
    let w = world();
    // Two empty workspaces: one takes the body read in halves, the other (`tz`: a rule, so one
    // reader) the same rows.
    let mut store = SqliteStore::open(&w.state.db).unwrap();
    let (halves, whole) = ("brand-h", "brand-w");
    let tokens: Vec<String> = [halves, whole]
        .iter()
        .map(|ws| {
            store.create_workspace(ws).unwrap();
            store.create_token(ws, Role::Analyst, None).unwrap()
        })
        .collect();
    drop(store);
    // 60 000 conversations (over 4 MiB): a bad row in each half, an id repeated across the halves
    // with other content.
    let mut csv = String::from("message_id,created_at,direction,account,channel,author_id,conversation_id\n");
    for c in 0..60_000 {
        let (d, m) = (1 + c % 28, c % 60);
        csv.push_str(&format!("q{c},2026-02-{d:02}T08:{m:02}:00Z,in,acct{},email,u{c},k{c}\n", c % 7));
        if c % 4 != 0 {
            csv.push_str(&format!("r{c},2026-02-{d:02}T09:{m:02}:00Z,out,acct{},email,agent{},k{c}\n", c % 7, c % 5));
        }
        if c == 10_000 || c == 50_000 {
            csv.push_str(&format!("bad{c},2026-02-01T09:00:00Z,sideways,acct1,email,u1,k{c}\n"));
        }
        if c == 45_000 {
            csv.push_str("q7,2026-02-08T08:07:00Z,in,acct0,email,u8,k7\n");
        }
    }
    assert!(csv.len() > 4 << 20);
    let mut answers = Vec::new();
    for (token, query) in tokens.iter().zip(["", "?tz=UTC"]) {
        let uri = format!("/api/v1/import/messages{query}");
        let (status, _, body) = call(&w, "POST", &uri, Some(token), &csv).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut b = v(&body);
        // Refusals compared as a set: a repeated id is said once the file is read.
        let rejected = b["rejected"].as_array_mut().unwrap();
        rejected.sort_by_key(|e| e["line"].as_u64());
        answers.push(b);
    }
    assert_eq!(answers[0], answers[1]);
    // Counted by hand: 60 000 + 45 000 rows, two bad, q7 again with other content.
    let a = &answers[0];
    assert_eq!(
        (a["rows"].as_u64(), a["inserted"].as_u64(), a["rejected_count"].as_u64()),
        (Some(105_003), Some(105_000), Some(3))
    );
    let (_, _, mine) = call(&w, "GET", "/api/v1/report?by=account", Some(&tokens[0]), "").await;
    let (_, _, theirs) = call(&w, "GET", "/api/v1/report?by=account", Some(&tokens[1]), "").await;
    assert_eq!(mine, theirs);
}

/// `POST /api/v1/import/messages` of `body` with `token`.
fn import_request(token: &str, body: Body) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri("/api/v1/import/messages")
        .header("authorization", format!("Bearer {token}"))
        .body(body)
        .unwrap()
}

/// A body that arrives in chunks, one frame at a time.
struct Chunks(std::collections::VecDeque<Bytes>);

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.get_mut().0.pop_front().map(|b| Ok(http_body::Frame::data(b))))
    }
}

#[tokio::test]
async fn explain_and_conversation_show_the_rows_behind() {
    let w = world();
    let (status, _, body) = call(&w, "GET", "/api/v1/explain?metric=unanswered_rate", Some(&w.viewer_a), "").await;
    assert_eq!(status, StatusCode::OK);
    let e = v(&body);
    assert_eq!(e["metric"], "unanswered_rate");
    assert_eq!(e["rows"].as_array().unwrap().len(), 2);
    let (status, _, body) = call(&w, "GET", "/api/v1/explain?metric=nope", Some(&w.viewer_a), "").await;
    assert_eq!((status, v(&body)["status"].as_u64()), (StatusCode::BAD_REQUEST, Some(400)));
    let (status, _, body) = call(&w, "GET", "/api/v1/conversations/k1", Some(&w.viewer_a), "").await;
    assert_eq!(status, StatusCode::OK);
    let c = v(&body);
    assert_eq!(c["messages"][0]["text"], "Bonjour, colis perdu ?");
    assert_eq!(c["requests"][0]["response_seconds"], 1200.0);
    let (status, _, _) = call(&w, "GET", "/api/v1/conversations/nope", Some(&w.viewer_a), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_openapi_document_and_unknown_paths() {
    let w = world();
    let (status, _, body) = call(&w, "GET", "/api/v1/openapi.json", None, "").await;
    assert_eq!(status, StatusCode::OK);
    let d = v(&body);
    assert_eq!(d["openapi"], "3.1.0");
    for path in ["/report", "/explain", "/conversations/{id}", "/import/{kind}"] {
        assert!(d["paths"].get(path).is_some(), "{path}");
    }
    let (status, _, body) = call(&w, "GET", "/api/v1/health", None, "").await;
    assert_eq!((status, v(&body)["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (status, ctype, _) = call(&w, "GET", "/api/v1/nothing", Some(&w.viewer_a), "").await;
    assert_eq!((status, ctype.as_str()), (StatusCode::NOT_FOUND, "application/problem+json"));
    let (status, _, _) = call(&w, "GET", "/api/v1/report?from=yesterday", Some(&w.viewer_a), "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_server_answers_on_a_real_port() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let w = world();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(w.state.clone());
    tokio::spawn(async move { serve_on(listener, app, HEADER_TIMEOUT).await.unwrap() });
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET /api/v1/report?by=channel HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        w.viewer_a
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("\"group_by\": \"channel\""));
}

mod dashboard_pages {
    use super::*;

    fn with_user(w: &World) {
        let mut store = SqliteStore::open(&w.state.db).unwrap();
        let hash = barometre_store::auth::hash_password("correct horse", 1000).unwrap();
        store.create_user("julie", "brand-a", Role::Viewer, &hash).unwrap();
    }

    async fn post_form(w: &World, uri: &str, form: &str, cookie: Option<&str>) -> axum::response::Response {
        let mut req =
            Request::builder().method("POST").uri(uri).header("content-type", "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        router(w.state.clone()).oneshot(req.body(Body::from(form.to_string())).unwrap()).await.unwrap()
    }

    async fn get_page(w: &World, uri: &str, cookie: Option<&str>) -> (StatusCode, String, Option<String>) {
        let mut req = Request::builder().uri(uri);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let resp = router(w.state.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let status = resp.status();
        let loc = resp.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        (status, body, loc)
    }

    async fn login(w: &World) -> String {
        let resp = post_form(w, "/login", "user=julie&password=correct+horse&lang=en", None).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let set = resp.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
        assert!(set.contains("HttpOnly") && set.contains("Secure") && set.contains("SameSite=Strict"), "{set}");
        set.split(';').next().unwrap().to_string()
    }

    async fn post_form_from(w: &World, uri: &str, form: &str, origin: &'static str) -> axum::response::Response {
        let req = Request::builder()
            .method("POST")
            .uri(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("host", "127.0.0.1:8080")
            .header("origin", origin);
        router(w.state.clone()).oneshot(req.body(Body::from(form.to_string())).unwrap()).await.unwrap()
    }

    #[tokio::test]
    async fn a_login_posted_from_another_site_is_refused() {
        let w = world();
        with_user(&w);
        let form = "user=julie&password=correct+horse&lang=fr";
        let r = post_form_from(&w, "/login", form, "https://evil.example").await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.headers().get("set-cookie").is_none());
        let r = post_form_from(&w, "/login", form, "http://127.0.0.1:8080").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(r.headers().get("set-cookie").is_some());
    }

    #[rstest::rstest]
    #[case::crlf("fr%0D%0ASet-Cookie:%20x=1")]
    #[case::nul("en%00")]
    #[case::lf("%0A")]
    #[tokio::test]
    async fn a_language_with_line_breaks_is_never_echoed(#[case] lang: &str) {
        let w = world();
        with_user(&w);
        let r = post_form(&w, "/login", &format!("user=julie&password=wrong&lang={lang}"), None).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers().get("location").unwrap(), "/login?lang=fr&error=1");
    }

    #[tokio::test]
    async fn what_the_badge_misses_is_written_with_a_french_decimal_comma() {
        let w = world();
        with_user(&w);
        let cookie = login(&w).await;
        let (_, fr, _) = get_page(&w, "/?lang=fr&from=2026-04-01&to=2026-04-10", Some(&cookie)).await;
        // acme: x1 answered, x3 not → 50 %; the badge asks 90 %: 40 points short.
        assert!(fr.contains("+40,0 pts de taux de réponse"), "{}", &fr[fr.find("Ce qui manque").unwrap_or(0)..][..600]);
        let (_, en, _) = get_page(&w, "/?lang=en&from=2026-04-01&to=2026-04-10", Some(&cookie)).await;
        assert!(en.contains("+40.0 pts of response rate"));
    }

    #[tokio::test]
    async fn the_overview_shows_what_customers_write_about_with_french_numbers() {
        let w = world();
        with_user(&w);
        // x1 a complaint, x3 a question, whatever the model read: 1 of 2 messages each.
        let mut store = SqliteStore::open(&w.state.db).unwrap();
        let cfg = Config::default();
        use barometre_core::understand::Label;
        assert!(store.correct_label("brand-a", &cfg, "x1", Some(Label::Complaint), None).unwrap());
        assert!(store.correct_label("brand-a", &cfg, "x3", Some(Label::Question), None).unwrap());
        let cookie = login(&w).await;
        let (_, fr, _) = get_page(&w, "/?lang=fr&from=2026-04-01&to=2026-04-10", Some(&cookie)).await;
        let at = fr.find("data-section=\"listening\"").expect("a listening section");
        let section = &fr[at..at + fr[at..].find("</section>").unwrap()];
        assert!(section.contains("Écoute : de quoi parlent les clients"), "{section}");
        let half_fr = format!("{} (1)", barometre_core::fmt::percent(50.0, barometre_core::vocab::Lang::Fr));
        assert!(half_fr.starts_with("50,0"), "{half_fr}");
        assert!(section.contains(">réclamation</text>") && section.contains(&half_fr), "{section}");
        assert!(section.contains("metric=complaint_messages"), "{section}");
        let (_, en, _) = get_page(&w, "/?lang=en&from=2026-04-01&to=2026-04-10", Some(&cookie)).await;
        let half_en = format!("{} (1)", barometre_core::fmt::percent(50.0, barometre_core::vocab::Lang::En));
        assert!(en.contains(">complaint</text>") && en.contains(&half_en));
    }

    #[tokio::test]
    async fn the_overview_lists_the_recurring_themes_with_their_change() {
        let w = world();
        with_user(&w);
        // x1 « colis perdu » on 6 April; two more parcels the week after: delivery 3 of 4
        // messages received from 6 to 13 April, none the week before (new).
        let more = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to,text
y1,2026-04-07T08:00:00Z,in,acme,email,u8,k8,,Mon colis n'arrive pas
y2,2026-04-08T08:00:00Z,in,acme,email,u9,k9,,Où est mon colis ?
";
        let mut store = SqliteStore::open(&w.state.db).unwrap();
        let mut r = RecordReader::new("y.csv", Kind::Messages, Format::Csv, more.as_bytes());
        store.import("brand-a", &Config::default(), false, &mut r, &mut ()).unwrap();
        let cookie = login(&w).await;
        let (_, fr, _) = get_page(&w, "/?lang=fr&from=2026-04-06&to=2026-04-13", Some(&cookie)).await;
        let at = fr.find("data-list=\"themes\"").expect("a list of themes");
        let list = &fr[at..at + fr[at..].find("</ol>").unwrap()];
        let three_quarters = barometre_core::fmt::percent(75.0, barometre_core::vocab::Lang::Fr);
        assert!(list.contains(&format!("<li>Livraison : 3 ({three_quarters}) (nouveau)</li>")), "{list}");
        assert!(fr.contains("metric=recurring_themes"));
        let (_, en, _) = get_page(&w, "/?lang=en&from=2026-04-06&to=2026-04-13", Some(&cookie)).await;
        let three_quarters = barometre_core::fmt::percent(75.0, barometre_core::vocab::Lang::En);
        assert!(
            en.contains(&format!("<li>Delivery: 3 ({three_quarters}) (new)</li>")),
            "{}",
            &en[en.find("data-list").unwrap_or(0)..][..300]
        );
    }

    #[tokio::test]
    async fn the_overview_heat_map_is_the_reports_activity_in_its_zone() {
        let w = world();
        with_user(&w);
        let cookie = login(&w).await;
        // x1 06:00Z and x3 09:00Z, Monday 6 April: 8 h and 11 h in Paris, one message each; the
        // busiest hour is the earlier on a tie.
        let (_, fr, _) = get_page(&w, "/?lang=fr&from=2026-04-01&to=2026-04-10&tz=Europe/Paris", Some(&cookie)).await;
        let at = fr.find("data-section=\"activity\"").expect("an activity section");
        let section = &fr[at..at + fr[at..].find("</section>").unwrap()];
        assert!(
            section.contains("<title>lun 8h: 1</title>") && section.contains("<title>lun 11h: 1</title>"),
            "{section}"
        );
        assert!(section.contains("<title>lun 6h: 0</title>"), "{section}");
        assert!(section.contains("Heure la plus chargée : lun. 8 h (1)"), "{section}");
        assert!(section.contains("metric=activity_by_hour"), "{section}");
        let (_, en, _) = get_page(&w, "/?lang=en&from=2026-04-01&to=2026-04-10", Some(&cookie)).await;
        assert!(
            en.contains("<title>Mon 6h: 1</title>") && en.contains("Busiest hour: Mon 06:00 (1)"),
            "UTC by default"
        );
    }

    #[tokio::test]
    async fn an_analyst_relabels_from_the_conversation_page_and_a_viewer_cannot() {
        let w = world();
        with_user(&w);
        let mut store = SqliteStore::open(&w.state.db).unwrap();
        let hash = barometre_store::auth::hash_password("correct horse", 1000).unwrap();
        store.create_user("marc", "brand-a", Role::Analyst, &hash).unwrap();
        let resp = post_form(&w, "/login", "user=marc&password=correct+horse&lang=fr", None).await;
        let analyst =
            resp.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
        let (status, page, _) = get_page(&w, "/conversations/k2?lang=fr", Some(&analyst)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(r#"action="/conversations/k2/label""#), "{page}");
        let csrf = page.split(r#"name="csrf" value=""#).nth(1).unwrap().split('"').next().unwrap().to_string();
        // x3 becomes a suggestion: the page says so, and so does the report.
        let resp = post_form(
            &w,
            "/conversations/k2/label",
            &format!("csrf={csrf}&message_id=x3&label=suggestion&lang=fr"),
            Some(&analyst),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let (_, page, _) = get_page(&w, "/conversations/k2?lang=fr", Some(&analyst)).await;
        assert!(page.contains(r#"<span data-label="suggestion">suggestion ✎ (corrigée)</span>"#), "{page}");
        let (_, _, r) = call(&w, "GET", "/api/v1/report?metrics=suggestion_messages", Some(&w.viewer_a), "").await;
        assert_eq!(v(&r)["total"]["metrics"]["suggestion_messages"]["numerator"], 1);
        let c = SqliteStore::open(&w.state.db).unwrap().corrections("brand-a").unwrap();
        assert_eq!(c[0].by.as_deref(), Some("marc"));
        // A wrong CSRF token, or a viewer, changes nothing.
        let resp =
            post_form(&w, "/conversations/k2/label", "csrf=forged&message_id=x3&label=spam", Some(&analyst)).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let viewer = login(&w).await;
        let (_, page, _) = get_page(&w, "/conversations/k2?lang=fr", Some(&viewer)).await;
        assert!(!page.contains(r#"action="/conversations/k2/label""#));
        let (_, page, _) = get_page(&w, "/?lang=fr", Some(&viewer)).await;
        let vcsrf = page.split(r#"name="csrf" value=""#).nth(1).unwrap().split('"').next().unwrap().to_string();
        let resp =
            post_form(&w, "/conversations/k2/label", &format!("csrf={vcsrf}&message_id=x3&label=spam"), Some(&viewer))
                .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        // Given back to the model.
        let resp =
            post_form(&w, "/conversations/k2/label", &format!("csrf={csrf}&message_id=x3&label="), Some(&analyst))
                .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert!(SqliteStore::open(&w.state.db).unwrap().corrections("brand-a").unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_unknown_name_costs_the_same_hash_as_a_wrong_password() {
        use std::sync::atomic::Ordering::Relaxed;
        let w = world();
        let mut store = SqliteStore::open(&w.state.db).unwrap();
        let hash =
            barometre_store::auth::hash_password("correct horse", barometre_store::auth::PASSWORD_ITERATIONS).unwrap();
        store.create_user("marc", "brand-a", Role::Viewer, &hash).unwrap();
        let rounds = |form: &'static str| {
            let w = &w;
            async move {
                let before = barometre_store::auth::ROUNDS_CHECKED.load(Relaxed);
                let r = post_form(w, "/login", form, None).await;
                assert_eq!(r.headers().get("location").unwrap(), "/login?lang=fr&error=1");
                barometre_store::auth::ROUNDS_CHECKED.load(Relaxed) - before
            }
        };
        // Other tests hash concurrently: the counter only grows, so each call's share is at least
        // its own; equal work shows as both at least the known user's iterations.
        let known = rounds("user=marc&password=wrong+guess&lang=fr").await;
        let unknown = rounds("user=nobody-at-all&password=wrong+guess&lang=fr").await;
        let n = u64::from(barometre_store::auth::PASSWORD_ITERATIONS);
        assert!(known >= n && unknown >= n, "known {known}, unknown {unknown}");
    }

    #[tokio::test]
    async fn the_overview_says_when_replies_are_attached_to_nothing() {
        let w = world();
        with_user(&w);
        let rows = "message_id,created_at,direction,account,channel,author_id\nz1,2026-04-06T10:00:00Z,out,acme,email,agent9\n";
        let (status, _, body) = call(&w, "POST", "/api/v1/import/messages", Some(&w.analyst_a), rows).await;
        assert_eq!((status, v(&body)["unattached"].as_u64()), (StatusCode::OK, Some(1)));
        let cookie = login(&w).await;
        let (_, page, _) = get_page(&w, "/?lang=fr&from=2026-04-01&to=2026-04-10", Some(&cookie)).await;
        assert!(
            page.contains(r#"data-note="unattached_replies""#) && page.contains("1 réponses d&#39;agent"),
            "{}",
            &page[..2000.min(page.len())]
        );
    }

    #[tokio::test]
    async fn a_password_change_ends_the_users_sessions() {
        let w = world();
        with_user(&w);
        let cookie = login(&w).await;
        assert_eq!(get_page(&w, "/", Some(&cookie)).await.0, StatusCode::OK);
        let hash = barometre_store::auth::hash_password("another horse", 1000).unwrap();
        assert!(SqliteStore::open(&w.state.db).unwrap().set_password("julie", &hash).unwrap());
        let (status, _, loc) = get_page(&w, "/", Some(&cookie)).await;
        assert_eq!((status, loc.as_deref()), (StatusCode::SEE_OTHER, Some("/login")));
    }

    #[tokio::test]
    async fn pages_need_a_login_and_wrong_passwords_are_rate_limited() {
        let w = world();
        with_user(&w);
        let (status, _, loc) = get_page(&w, "/", None).await;
        assert_eq!((status, loc.as_deref()), (StatusCode::SEE_OTHER, Some("/login")));
        for _ in 0..5 {
            let r = post_form(&w, "/login", "user=julie&password=wrong&lang=fr", None).await;
            assert_eq!(r.headers().get("location").unwrap(), "/login?lang=fr&error=1");
        }
        // Locked now, even with the right password: the login page says so, as a page.
        let r = post_form(&w, "/login", "user=julie&password=correct+horse&lang=fr", None).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().get("content-type").unwrap().to_str().unwrap().starts_with("text/html"));
        let page = r.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&page).contains("Trop d'essais"));
        // A name too long to be one is refused without being counted or hashed.
        let long = "a".repeat(10_000);
        let r = post_form(&w, "/login", &format!("user={long}&password=x&lang=fr"), None).await;
        assert_eq!(r.headers().get("location").unwrap(), "/login?lang=fr&error=1");
        assert_eq!(w.state.attempts.lock().unwrap().len(), 1, "only julie is remembered");
    }

    #[tokio::test]
    async fn the_overview_shows_the_api_figures_and_links_down_to_a_conversation() {
        let w = world();
        with_user(&w);
        let cookie = login(&w).await;
        let (status, html, _) = get_page(&w, "/?lang=en&from=2026-04-01&to=2026-04-08", Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK);
        // Same figures as the API for the same period: 2 messages received, response rate 50 %.
        let (_, _, api) = call(&w, "GET", "/api/v1/report?from=2026-04-01&to=2026-04-08", Some(&w.viewer_a), "").await;
        let api = v(&api);
        assert_eq!(api["total"]["metrics"]["messages_received"]["value"], 2);
        assert!(html.contains(r#"data-metric="messages_received""#));
        assert!(html.contains(r#"<div class="v">2</div>"#), "{html}");
        assert!(html.contains(r#"<div class="v">50.0%</div>"#));
        assert!(html.contains("Responsiveness badge per account"));
        // The figure links to its rows, which link to the conversation.
        let (status, rows, _) =
            get_page(&w, "/explain?metric=unanswered_rate&from=2026-04-01&to=2026-04-08&lang=en", Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(rows.contains(r#"href="/conversations/k2?lang=en""#), "{rows}");
        let (status, conv, _) = get_page(&w, "/conversations/k1?lang=en", Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(conv.contains("Bonjour, colis perdu ?"));
        // Filtered to one channel: email holds x3 alone; its links keep the filter.
        let (_, email, _) = get_page(&w, "/?lang=en&from=2026-04-01&to=2026-04-08&channel=email", Some(&cookie)).await;
        assert!(email.contains(r#"<div class="v">1</div>"#), "{email}");
        assert!(email.contains("&amp;channel=email"));
        assert!(email.contains("<option selected>email</option>"));
        // French by default.
        let (_, fr, _) = get_page(&w, "/?from=2026-04-01&to=2026-04-08", Some(&cookie)).await;
        assert!(fr.contains("Messages reçus") && fr.contains("50,0 %"));
    }

    #[tokio::test]
    async fn logging_out_needs_the_session_csrf_token() {
        let w = world();
        with_user(&w);
        let cookie = login(&w).await;
        let r = post_form(&w, "/logout", "csrf=forged", Some(&cookie)).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let (_, html, _) = get_page(&w, "/", Some(&cookie)).await;
        let csrf = html.split(r#"name="csrf" value=""#).nth(1).unwrap().split('"').next().unwrap().to_string();
        let r = post_form(&w, "/logout", &format!("csrf={csrf}"), Some(&cookie)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (status, _, loc) = get_page(&w, "/", Some(&cookie)).await;
        assert_eq!((status, loc.as_deref()), (StatusCode::SEE_OTHER, Some("/login")));
    }
}

#[tokio::test]
async fn a_cached_report_is_recomputed_after_an_import() {
    let w = world();
    let count = |b: &str| v(b)["total"]["metrics"]["messages_received"]["value"].as_u64();
    let (_, _, before) = call(&w, "GET", "/api/v1/report", Some(&w.viewer_a), "").await;
    let (_, _, again) = call(&w, "GET", "/api/v1/report", Some(&w.viewer_a), "").await;
    assert_eq!((count(&before), before == again), (Some(2), true));
    let more = format!("{ROWS}x4,2026-04-07T09:00:00Z,in,acme,chat,u9,k9,,Encore\n");
    let (status, _, _) = call(&w, "POST", "/api/v1/import/messages", Some(&w.analyst_a), &more).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, after) = call(&w, "GET", "/api/v1/report", Some(&w.viewer_a), "").await;
    assert_eq!(count(&after), Some(3));
}

mod hardening {
    use super::*;

    async fn raw(w: &World, req: Request<Body>) -> axum::response::Response {
        router(w.state.clone()).oneshot(req).await.unwrap()
    }

    fn get(uri: &str) -> Request<Body> {
        Request::builder().uri(uri).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn every_answer_carries_the_security_headers_redirects_and_errors_included() {
        let w = world();
        for (uri, status) in [
            ("/login", StatusCode::OK),
            ("/", StatusCode::SEE_OTHER),
            ("/api/v1/report", StatusCode::UNAUTHORIZED),
            ("/api/v1/health", StatusCode::OK),
            ("/nothing", StatusCode::NOT_FOUND),
        ] {
            let r = raw(&w, get(uri)).await;
            assert_eq!(r.status(), status, "{uri}");
            let h = r.headers();
            assert_eq!(h.get("content-security-policy").unwrap(), guard::CSP, "{uri}");
            assert!(guard::CSP.contains("frame-ancestors 'none'") && guard::CSP.contains("default-src 'none'"));
            assert_eq!(h.get("x-frame-options").unwrap(), "DENY", "{uri}");
            assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff", "{uri}");
            assert_eq!(h.get("referrer-policy").unwrap(), "same-origin", "{uri}");
            assert_eq!(h.get("cache-control").unwrap(), "no-store", "{uri}");
        }
    }

    #[tokio::test]
    async fn the_frameworks_own_rejections_are_problem_documents() {
        let w = world();
        let (status, ctype, body) =
            call(&w, "GET", "/api/v1/explain?metric=response_rate&numerator=maybe", Some(&w.viewer_a), "").await;
        assert_eq!((status, ctype.as_str()), (StatusCode::BAD_REQUEST, "application/problem+json"), "{body}");
        assert!(v(&body)["detail"].as_str().unwrap().contains("numerator"), "{body}");
        let (status, ctype, body) = call(&w, "POST", "/api/v1/report", Some(&w.viewer_a), "").await;
        assert_eq!((status, ctype.as_str()), (StatusCode::METHOD_NOT_ALLOWED, "application/problem+json"));
        assert_eq!(v(&body)["status"], 405);
        let (status, ctype, _) = call(&w, "GET", "/api/v1/report?from=yesterday", Some(&w.viewer_a), "").await;
        assert_eq!((status, ctype.as_str()), (StatusCode::BAD_REQUEST, "application/problem+json"));
    }

    #[tokio::test]
    async fn bad_rows_are_counted_and_only_the_first_thousand_listed() {
        let w = world();
        let mut csv = String::from("message_id,created_at,direction,account,channel,author_id\n");
        for i in 0..2_500 {
            csv.push_str(&format!("b{i},2026-04-09 10:00:00,in,acme,chat,u{i}\n"));
        }
        csv.push_str("ok1,2026-04-09T10:00:00Z,in,acme,chat,u1\n");
        let (status, _, body) = call(&w, "POST", "/api/v1/import/messages", Some(&w.analyst_a), &csv).await;
        assert_eq!(status, StatusCode::OK);
        let b = v(&body);
        assert_eq!(b["rejected_count"], 2_500);
        assert_eq!(b["rejected"].as_array().unwrap().len(), barometre_store::REJECTED_KEPT);
        assert_eq!(b["rejected"][0]["line"], 2);
        assert_eq!((b["rows"].as_u64(), b["inserted"].as_u64()), (Some(2_501), Some(1)));
        // The answer stays small: a few hundred bytes a listed row, not a copy of every one.
        assert!(body.len() < 400 * barometre_store::REJECTED_KEPT, "{}", body.len());
    }

    #[tokio::test]
    async fn a_slow_import_body_does_not_hold_the_write_lock() {
        let w = world();
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::convert::Infallible>>(4);
        let req = import_request(&w.analyst_a, Body::new(SlowBody(rx)));
        let app = router(w.state.clone());
        let pending = tokio::spawn(async move { app.oneshot(req).await.unwrap() });
        tx.send(Ok(Bytes::from_static(b"message_id,created_at,direction,account,channel,author_id\n"))).await.unwrap();
        tx.send(Ok(Bytes::from_static(b"slow1,2026-04-09T10:00:00Z,in,acme,chat,u1\n"))).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        // Meanwhile another import (as the CLI makes) and a login's session write go through at
        // once; with the lock held they would wait 30 s, then fail with "database is locked".
        let db = w.state.db.clone();
        let other = tokio::task::spawn_blocking(move || {
            let mut store = SqliteStore::open(&db).unwrap();
            let mut r = RecordReader::new(
                "cli.csv",
                Kind::Messages,
                Format::Csv,
                "message_id,created_at,direction,account,channel,author_id\ncli1,2026-04-09T11:00:00Z,in,acme,chat,u2\n"
                    .as_bytes(),
            );
            let t = std::time::Instant::now();
            let sum = store.import("brand-b", &Config::default(), false, &mut r, &mut ()).unwrap();
            (sum.inserted, t.elapsed())
        })
        .await
        .unwrap();
        assert_eq!(other.0, 1);
        assert!(other.1 < std::time::Duration::from_secs(10), "{:?}", other.1);
        tx.send(Ok(Bytes::from_static(b"slow2,2026-04-09T10:01:00Z,in,acme,chat,u1\n"))).await.unwrap();
        drop(tx);
        let resp = pending.await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(v(std::str::from_utf8(&bytes).unwrap())["inserted"], 2);
    }

    /// A body whose chunks come when the test sends them.
    struct SlowBody(tokio::sync::mpsc::Receiver<Result<Bytes, std::convert::Infallible>>);

    impl http_body::Body for SlowBody {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            self.get_mut().0.poll_recv(cx).map(|o| o.map(|r| r.map(http_body::Frame::data)))
        }
    }

    #[tokio::test]
    async fn tokens_expire_and_are_revoked_by_token_or_by_id() {
        let w = world();
        let mut store = SqliteStore::open(&w.state.db).unwrap();
        let past = store.create_token("brand-a", Role::Viewer, Some(1_000)).unwrap();
        let (status, _, _) = call(&w, "GET", "/api/v1/report", Some(&past), "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "an expired token is refused");
        let year = chrono::Utc::now().timestamp_millis() + 365 * 86_400_000;
        let (a, b) = (
            store.create_token("brand-a", Role::Viewer, Some(year)).unwrap(),
            store.create_token("brand-a", Role::Viewer, None).unwrap(),
        );
        assert_eq!(call(&w, "GET", "/api/v1/report", Some(&a), "").await.0, StatusCode::OK);
        assert_eq!(store.revoke_token(&a).unwrap(), 1);
        assert_eq!(call(&w, "GET", "/api/v1/report", Some(&a), "").await.0, StatusCode::UNAUTHORIZED);
        let id = barometre_store::auth::token_id(&barometre_store::auth::hash_token(&b));
        let listed = store.tokens().unwrap();
        assert!(listed.iter().any(|t| t.id == id && t.expires_ms.is_none()));
        assert!(!listed.iter().any(|t| t.id.len() != barometre_store::auth::TOKEN_ID_LEN));
        assert_eq!(store.revoke_token(&id).unwrap(), 1);
        assert_eq!(call(&w, "GET", "/api/v1/report", Some(&b), "").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(store.revoke_token("nonsense").unwrap(), 0);
    }

    #[tokio::test]
    async fn idle_and_slow_connections_are_closed_after_the_header_timeout() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let w = world();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(w.state.clone());
        tokio::spawn(serve_on(listener, app, std::time::Duration::from_millis(300)));
        let closed_within = |mut s: tokio::net::TcpStream| async move {
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            let r = tokio::time::timeout(std::time::Duration::from_secs(5), async {
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
            })
            .await;
            (r.is_ok(), String::from_utf8_lossy(&got).into_owned())
        };
        // Silent: connects and sends nothing.
        let s = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(closed_within(s).await.0, "a silent socket is closed");
        // Slow: half a request line, then nothing.
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        assert!(closed_within(s).await.0, "a slow header is cut");
        // Idle after a whole request on a kept-alive connection.
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let (closed, out) = closed_within(s).await;
        assert!(closed && out.starts_with("HTTP/1.1 200"), "{out}");
    }
}

mod under_load {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn reports_and_drill_downs_together_never_wait_on_each_other_forever() {
        let w = world();
        // More drill-downs than stores and more reports than permits, all at once, on fresh keys
        // (each report computes): with stores taken before permits in some handlers and after
        // in others, this mix could hold every store and every permit waiting on each other.
        let mut jobs = Vec::new();
        for i in 0..40 {
            let (st, t) = (w.state.clone(), w.viewer_a.clone());
            jobs.push(tokio::spawn(async move {
                let uri = if i % 4 == 0 {
                    format!("/api/v1/report?by=channel&from=2026-04-0{}", 1 + i % 5)
                } else {
                    "/api/v1/explain?metric=response_rate&by=channel&group=twitter".to_string()
                };
                let req = Request::builder().uri(uri).header("authorization", format!("Bearer {t}"));
                router(st).oneshot(req.body(Body::empty()).unwrap()).await.unwrap().status()
            }));
        }
        let all = tokio::time::timeout(std::time::Duration::from_secs(60), async {
            let mut out = Vec::new();
            for j in jobs {
                out.push(j.await.unwrap());
            }
            out
        })
        .await
        .expect("every request answered");
        assert!(all.iter().all(|s| *s == StatusCode::OK), "{all:?}");
    }

    #[tokio::test]
    async fn an_unclosed_quote_stops_reading_with_an_error_and_keeps_the_rows_before() {
        let w = world();
        let mut csv = String::from("message_id,created_at,direction,account,channel,author_id,text\n");
        csv.push_str("q1,2026-04-09T10:00:00Z,in,acme,chat,u1,fine\n");
        csv.push_str("q2,2026-04-09T10:01:00Z,in,acme,chat,u1,\"never closed\n");
        // 70 MB after the open quote: past the longest row a reader takes.
        let filler = "x".repeat(1000) + "\n";
        for _ in 0..70_000 {
            csv.push_str(&filler);
        }
        let (status, _, body) = call(&w, "POST", "/api/v1/import/messages", Some(&w.analyst_a), &csv).await;
        assert_eq!(status, StatusCode::OK);
        let b = v(&body);
        assert_eq!(b["inserted"], 1, "{body}");
        assert_eq!(b["rejected_count"], 1);
        let reason = b["rejected"][0]["reason"].as_str().unwrap();
        assert!(reason.contains("a row runs past 64 MiB"), "{reason}");
    }

    #[tokio::test]
    async fn a_kept_refused_row_does_not_echo_a_huge_cell_whole() {
        let w = world();
        let huge = "9".repeat(100_000);
        let csv = format!("message_id,created_at,direction,account,channel,author_id\nq1,{huge},in,acme,chat,u1\n");
        let (_, _, body) = call(&w, "POST", "/api/v1/import/messages", Some(&w.analyst_a), &csv).await;
        let b = v(&body);
        assert_eq!(b["rejected_count"], 1);
        let reason = b["rejected"][0]["reason"].as_str().unwrap();
        assert_eq!(reason.chars().count(), barometre_store::REASON_KEPT_CHARS + 1, "cut, with an ellipsis");
        assert!(body.len() < 2_000, "{}", body.len());
    }
}

#[tokio::test]
async fn an_api_dump_and_a_french_export_import_through_the_api_as_through_the_cli() {
    let w = world();
    // A Zendesk events page, recognised from its content: comments and a resolution.
    let events = r#"{"ticket_events":[
{"id":1,"ticket_id":5,"created_at":"2026-03-20T09:00:00Z","updater_id":801,"event_type":"Audit","via":"Email","child_events":[
 {"id":11,"event_type":"Comment","author_id":801,"public":true,"body":"Bonjour","created_at":"2026-03-20T09:00:00Z","via":{"channel":"email"}}]},
{"id":2,"ticket_id":5,"created_at":"2026-03-20T09:30:00Z","updater_id":901,"event_type":"Audit","via":"Web form","child_events":[
 {"id":21,"event_type":"Comment","author_id":901,"public":true,"body":"Réglé","created_at":"2026-03-20T09:30:00Z"},
 {"id":22,"event_type":"Change","status":"solved","previous_value":"open"}]}],
"users":[{"id":801,"role":"end-user"},{"id":901,"role":"agent"}],"end_of_stream":true}"#;
    let (status, _, body) = call(&w, "POST", "/api/v1/import/messages", Some(&w.analyst_a), events).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let b = v(&body);
    assert_eq!((b["inserted"].as_u64(), b["rejected_count"].as_u64()), (Some(3), Some(0)), "{body}");
    // A French export: `;`, day-first wall-clock times read in Paris, words and columns mapped
    // by the query (the CLI's options by the same names).
    let csv = "message_id;created_at;direction;account;channel;author_id;conversation_id\n\
f1;13/03/2026 09:15;Entrant;acme;email;c1;K\nf2;13/03/2026 09:45;Sortant;acme;email;a1;K\n";
    let uri = "/api/v1/import/messages?tz=Europe/Paris&account_name=Acme";
    let (status, _, body) = call(&w, "POST", uri, Some(&w.analyst_a), csv).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(v(&body)["inserted"], 2, "{body}");
    let (_, _, rep) = call(&w, "GET", "/api/v1/report?by=account", Some(&w.viewer_a), "").await;
    let r = v(&rep);
    let acme = r["groups"].as_array().unwrap().iter().find(|g| g["key"] == "Acme").unwrap();
    assert_eq!(acme["metrics"]["response_time"]["sum"], 1800.0);
    let z = r["groups"].as_array().unwrap().iter().find(|g| g["key"] == "zendesk").unwrap();
    assert_eq!(z["metrics"]["response_time"]["sum"], 1800.0);
    assert_eq!(z["metrics"]["resolved_conversations"]["value"], 1);
    // An unknown option value is a problem document.
    let (status, ctype, _) = call(&w, "POST", "/api/v1/import/messages?encoding=ebcdic", Some(&w.analyst_a), csv).await;
    assert_eq!((status, ctype.as_str()), (StatusCode::BAD_REQUEST, "application/problem+json"));
}

/// A back end the server knows only through the store traits: it opens SQLite stores and counts
/// them, or refuses.
struct Counting {
    inner: barometre_store::SqliteOpener,
    opened: std::sync::atomic::AtomicUsize,
    refuse: bool,
}

impl Opener for Counting {
    fn open(&self) -> Result<Box<dyn Store + Send>, StoreError> {
        if self.refuse {
            return Err(StoreError::Backend { engine: "test", message: "down".into() });
        }
        self.opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.open()
    }
}

#[tokio::test]
async fn the_server_speaks_to_any_back_end_through_the_store_traits() {
    let mut w = world();
    for refuse in [false, true] {
        let opener = Arc::new(Counting {
            inner: barometre_store::SqliteOpener { path: w.state.db.clone(), cache_kib: 1024 },
            opened: Default::default(),
            refuse,
        });
        w.state = AppState::with_store(opener.clone(), w.state.db.clone(), Config::default());
        let (status, ctype, body) = call(&w, "GET", "/api/v1/report", Some(&w.viewer_a), "").await;
        if refuse {
            // The engine's words stay in the server's log.
            assert_eq!((status, ctype.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "application/problem+json"));
            assert!(!body.contains("down"), "{body}");
        } else {
            assert_eq!(status, StatusCode::OK);
            // x1 answered by x2 at 06:20Z, x3 never: 1 of 2.
            assert_eq!(v(&body)["total"]["metrics"]["response_rate"]["numerator"], 1);
            assert_eq!(v(&body)["total"]["metrics"]["response_rate"]["denominator"], 2);
            assert!(opener.opened.load(std::sync::atomic::Ordering::SeqCst) >= 1);
        }
    }
}

#[tokio::test]
async fn an_analyst_relabels_a_message_and_every_figure_follows() {
    let w = world();
    let complaints = |body: &str| -> Vec<(String, String)> {
        v(body)["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["message_id"].as_str().unwrap().to_string(), r["label_source"].as_str().unwrap().to_string()))
            .collect()
    };
    let explain = "/api/v1/explain?metric=complaint_messages&numerator=true";
    let (_, _, before) = call(&w, "GET", explain, Some(&w.viewer_a), "").await;
    assert!(!complaints(&before).contains(&("x3".into(), "correction".into())));
    // A viewer may not; a bad label or body is a 400 problem; a reply or an unknown id, 404.
    let put = "/api/v1/messages/x3/label";
    let (status, ctype, _) = call(&w, "PUT", put, Some(&w.viewer_a), r#"{"label":"complaint"}"#).await;
    assert_eq!((status, ctype.as_str()), (StatusCode::FORBIDDEN, "application/problem+json"));
    let (status, _, body) = call(&w, "PUT", put, Some(&w.analyst_a), r#"{"label":"grumpy"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v(&body)["detail"].as_str().unwrap().contains("unknown label `grumpy`"));
    let (status, _, _) = call(&w, "PUT", put, Some(&w.analyst_a), "complaint").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = call(&w, "PUT", "/api/v1/messages/x2/label", Some(&w.analyst_a), r#"{"label":"other"}"#).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Set: the report (computed before, cached) and the drill-down follow.
    let (_, _, r0) = call(&w, "GET", "/api/v1/report?metrics=complaint_messages", Some(&w.viewer_a), "").await;
    let n0 = v(&r0)["total"]["metrics"]["complaint_messages"]["numerator"].as_u64().unwrap();
    let was = complaints(&before).iter().any(|(id, _)| id == "x3");
    let (status, _, body) = call(&w, "PUT", put, Some(&w.analyst_a), r#"{"label":"complaint","by":"julie"}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(v(&body)["label_source"], "correction");
    let (_, _, r1) = call(&w, "GET", "/api/v1/report?metrics=complaint_messages", Some(&w.viewer_a), "").await;
    assert_eq!(v(&r1)["total"]["metrics"]["complaint_messages"]["numerator"].as_u64().unwrap(), n0 + u64::from(!was));
    let (_, _, after) = call(&w, "GET", explain, Some(&w.viewer_a), "").await;
    assert!(complaints(&after).contains(&("x3".into(), "correction".into())));
    let (_, _, list) = call(&w, "GET", "/api/v1/labels", Some(&w.viewer_a), "").await;
    assert_eq!(v(&list)["corrections"][0]["message_id"], "x3");
    assert_eq!(v(&list)["corrections"][0]["by"], "julie");
    // Another workspace's token sees none of it.
    let (_, _, other) = call(&w, "GET", "/api/v1/labels", Some(&w.viewer_b), "").await;
    assert_eq!(v(&other)["corrections"].as_array().unwrap().len(), 0);
    // Removed.
    let (status, _, _) = call(&w, "DELETE", put, Some(&w.analyst_a), "").await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, gone) = call(&w, "GET", explain, Some(&w.viewer_a), "").await;
    assert_eq!(complaints(&gone), complaints(&before));
}
