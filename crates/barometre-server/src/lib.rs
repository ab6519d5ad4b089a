//! The Baromètre server: the HTTP API over a store (`/api/v1/…`), with bearer tokens bound to a
//! workspace and a role, and the dashboard (`/`, see `dashboard`) behind a login. Every figure comes from the same core as the CLI: `GET /api/v1/report`
//! answers the bytes `barometre report --format json` prints for the same inputs.
//!
//! Errors are JSON problem documents (RFC 9457) that never carry internals.

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use barometre_core::config::Config;
use barometre_core::ingest::source::{self, Input, Options, SourceFormat};
use barometre_core::ingest::Kind;
use barometre_core::metrics;
use barometre_core::report::{self, Params};
use barometre_core::time::Zone;
use barometre_store::auth::Role;
use barometre_store::{Opener, SqliteOpener, Store, StoreError};
use serde::Deserialize;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

/// What every request shares: how to open the store, and the configuration.
#[derive(Clone)]
pub struct AppState {
    /// Where import bodies are staged before they are read (beside an embedded store).
    pub db: PathBuf,
    /// Opens the store: the server speaks to it through the store traits only.
    pub opener: Arc<dyn Opener>,
    pub cfg: Arc<Config>,
    /// Login attempts per user name (rate limiting, decided before any password is checked).
    pub attempts: Arc<std::sync::Mutex<guard::Attempts>>,
    /// Computed reports by workspace and query, with the store version they were computed at.
    pub reports: Arc<flight::Flights>,
    /// Heavy computations (a report, a drill-down, the overview) running at once, at most.
    pub heavy: Arc<flight::Permits>,
    /// Password hashes computed at once, at most (each costs 600,000 rounds).
    pub logins: Arc<flight::Permits>,
    /// Open stores, reused from request to request (opening one costs more than most answers).
    pool: Arc<Pool>,
}

/// Open stores, at most [`MAX_CONNECTIONS`]: a request waits for one rather than opening more,
/// so that the stores' page caches stay within the server's memory budget.
#[derive(Default)]
struct Pool {
    idle: std::sync::Mutex<(Vec<Box<dyn Store + Send>>, usize)>,
    cv: std::sync::Condvar,
}

/// Stores open at once, at most.
pub const MAX_CONNECTIONS: usize = 48;
/// SQLite page cache of each pooled store, in KiB (the CLI's store keeps its larger default).
pub const CACHE_KIB: i64 = 4 * 1024;
/// Bytes of computed reports kept.
pub const REPORT_BUDGET: usize = 64 << 20;

/// A store borrowed from the pool; it goes back when dropped.
pub(crate) struct Pooled {
    store: Option<Box<dyn Store + Send>>,
    pool: Arc<Pool>,
}

impl std::ops::Deref for Pooled {
    type Target = dyn Store + Send;
    fn deref(&self) -> &(dyn Store + Send + 'static) {
        &**self.store.as_ref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut (dyn Store + Send + 'static) {
        &mut **self.store.as_mut().expect("present until dropped")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(s) = self.store.take() {
            self.pool.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).0.push(s);
            self.pool.cv.notify_one();
        }
    }
}

impl AppState {
    /// A server over the embedded SQLite store at `db`.
    pub fn new(db: PathBuf, cfg: Config) -> AppState {
        let opener = SqliteOpener { path: db.clone(), cache_kib: CACHE_KIB };
        AppState::with_store(Arc::new(opener), db, cfg)
    }

    /// A server over any back end; import bodies are staged in `staging`'s folder.
    pub fn with_store(opener: Arc<dyn Opener>, staging: PathBuf, cfg: Config) -> AppState {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        AppState {
            db: staging,
            opener,
            cfg: Arc::new(cfg),
            attempts: Arc::default(),
            reports: Arc::new(flight::Flights::new(REPORT_BUDGET)),
            heavy: Arc::new(flight::Permits::new(cores)),
            logins: Arc::new(flight::Permits::new(cores)),
            pool: Arc::default(),
        }
    }
}

/// An error as a problem document: a status, a title, a detail for the user — no internals.
mod dashboard;
pub mod flight;
pub mod guard;

#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    detail: String,
}

impl Problem {
    pub(crate) fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem { status, detail: detail.into() }
    }
    pub(crate) fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, detail)
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Problem {
        // The cause goes to the server's log, never to the client.
        eprintln!("store error: {e}");
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "the store could not answer")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
    }
}

type Answer = Result<Response, Problem>;

fn json_text(text: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// Runs store work off the async threads (SQLite calls block).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, Problem> + Send + 'static) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|_| Err(Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "the request could not finish")))
}

/// The workspace a request may act on: the token's own. Asking for another one is answered as if
/// it did not exist (404), so a token learns nothing about other workspaces.
fn authorize(store: &Pooled, headers: &HeaderMap, need: Role, asked: Option<&str>) -> Result<String, Problem> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| Problem::new(StatusCode::UNAUTHORIZED, "a bearer token is required"))?;
    let (ws, role) =
        store.token(token.trim())?.ok_or_else(|| Problem::new(StatusCode::UNAUTHORIZED, "unknown token"))?;
    if asked.is_some_and(|a| a != ws) {
        return Err(Problem::new(StatusCode::NOT_FOUND, "no such workspace"));
    }
    if role < need {
        return Err(Problem::new(StatusCode::FORBIDDEN, format!("this needs the {} role", need.as_str())));
    }
    Ok(ws)
}

fn open(state: &AppState) -> Result<Pooled, Problem> {
    let pool = &state.pool;
    let mut g = pool.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        if let Some(s) = g.0.pop() {
            return Ok(Pooled { store: Some(s), pool: state.pool.clone() });
        }
        if g.1 < MAX_CONNECTIONS {
            g.1 += 1;
            break;
        }
        g = pool.cv.wait(g).unwrap_or_else(std::sync::PoisonError::into_inner);
    }
    drop(g);
    let opened = state.opener.open();
    match opened {
        Ok(s) => Ok(Pooled { store: Some(s), pool: state.pool.clone() }),
        Err(e) => {
            pool.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).1 -= 1;
            pool.cv.notify_one();
            Err(e.into())
        }
    }
}

/// A permit for heavy work, then a store: the one order every heavy computation takes (the other
/// order could leave stores held by requests waiting for permits held by requests waiting for
/// stores). A store the caller holds is given back first.
pub(crate) fn open_heavy(state: &AppState, held: Option<Pooled>) -> Result<(flight::Permit<'_>, Pooled), Problem> {
    drop(held);
    let permit = state.heavy.acquire();
    Ok((permit, open(state)?))
}

#[derive(Debug, Default, Deserialize)]
pub struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
    tz: Option<String>,
    workspace: Option<String>,
    /// Comma-separated metric ids: only those are computed and returned.
    metrics: Option<String>,
}

impl ReportQuery {
    fn params(&self) -> Result<Params, Problem> {
        Params::parse(self.from.as_deref(), self.to.as_deref(), self.by.as_deref(), self.tz.as_deref())
            .and_then(|p| p.with_metrics(self.metrics.as_deref()))
            .map_err(Problem::bad_request)
    }
}

async fn report_handler(State(st): State<AppState>, headers: HeaderMap, guard::Q(q): guard::Q<ReportQuery>) -> Answer {
    blocking(move || {
        // The store goes back to the pool before waiting on another request's computation.
        let (ws, version) = {
            let store = open(&st)?;
            let ws = authorize(&store, &headers, Role::Viewer, q.workspace.as_deref())?;
            let version = store.version(&ws)?;
            (ws, version)
        };
        let p = q.params()?;
        // Dashboards and BI tools ask the same questions again and again: a report is computed
        // once per store version (every import bumps it); see `flight::Flights::get` for who
        // computes it and what the others are served meanwhile.
        // Keyed by the parsed query (instants, zone, metric bits), not its text: spellings of one
        // question share one answer, and a key's size does not depend on what a client sends.
        let key = format!("{ws}\u{1f}{:?}", p);
        let reports = st.reports.clone();
        let (bytes, _) = reports.get(&key, version, move || {
            let (_permit, store) = open_heavy(&st, None)?;
            let (from, to) = report::load_span(&st.cfg, &p, false);
            // A selection that reads no message reads what chunks of messages cover, as the CLI.
            let table = if report::reads_messages(&st.cfg, &p) {
                store.table(&ws, &st.cfg, from, to)?
            } else {
                store.table_covering(&ws, &st.cfg, from, to, barometre_store::Covering::of(&st.cfg, &p))?
            };
            let rep = report::build(&table, &p, &st.cfg);
            drop(table);
            let text =
                serde_json::to_string_pretty(&rep).map_err(|_| Problem::bad_request("unprintable report"))? + "\n";
            Ok::<_, Problem>(Bytes::from(text))
        })?;
        Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct ExplainQuery {
    metric: String,
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
    group: Option<String>,
    tz: Option<String>,
    workspace: Option<String>,
    numerator: Option<bool>,
}

async fn explain_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    guard::Q(q): guard::Q<ExplainQuery>,
) -> Answer {
    blocking(move || {
        let store = open(&st)?;
        let ws = authorize(&store, &headers, Role::Viewer, q.workspace.as_deref())?;
        let def =
            metrics::find(&q.metric).ok_or_else(|| Problem::bad_request(format!("unknown metric `{}`", q.metric)))?;
        let p = Params::parse(q.from.as_deref(), q.to.as_deref(), q.by.as_deref(), q.tz.as_deref())
            .map_err(Problem::bad_request)?;
        let (_permit, store) = open_heavy(&st, Some(store))?;
        let (from, to) = report::load_span(&st.cfg, &p, false);
        let facts = store.facts(&ws, &st.cfg, from, to)?;
        let records = store.records_credited(&ws, &st.cfg, p.from, p.to)?;
        let mut e = report::explain(def, &facts, &records, &p, q.group.as_deref(), &st.cfg);
        if q.numerator == Some(true) {
            e.numerator_only();
        }
        let text = serde_json::to_string_pretty(&e).map_err(|_| Problem::bad_request("unprintable rows"))? + "\n";
        Ok(json_text(text))
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct WorkspaceQuery {
    workspace: Option<String>,
}

/// One conversation: its messages (with their text), requests and resolution facts.
async fn conversation_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    guard::Q(q): guard::Q<WorkspaceQuery>,
) -> Answer {
    blocking(move || {
        let store = open(&st)?;
        let ws = authorize(&store, &headers, Role::Viewer, q.workspace.as_deref())?;
        let f = store.conversation_facts(&ws, &st.cfg, &id)?;
        if f.messages.is_empty() {
            return Err(Problem::new(StatusCode::NOT_FOUND, "no such conversation"));
        }
        let ids: Vec<String> = f.messages.iter().map(|m| m.message_id.clone()).collect();
        let texts: std::collections::HashMap<String, Option<String>> =
            store.messages_by_id(&ws, &ids)?.into_iter().map(|m| (m.message_id, m.text)).collect();
        let mut messages: Vec<_> = f.messages.iter().collect();
        messages.sort_by_key(|m| (m.ms, m.message_id.clone()));
        let body = json!({
            "conversation_id": id,
            "conversation": f.conversations.first().map(report::conversation_row),
            "requests": f.requests.iter().map(|r| report::request_row(r, &st.cfg)).collect::<Vec<_>>(),
            "messages": messages.iter().map(|m| {
                let mut row = report::message_row(m);
                row.insert("text".into(), json!(texts.get(&m.message_id).cloned().flatten()));
                row
            }).collect::<Vec<_>>(),
        });
        Ok(json_text(serde_json::to_string_pretty(&body).unwrap_or_default() + "\n"))
    })
    .await
}

/// `PUT /api/v1/messages/{id}/label`'s body.
#[derive(Debug, Deserialize)]
struct LabelBody {
    label: String,
    by: Option<String>,
}

/// An analyst relabels an incoming message (analyst role): the correction counts in every figure
/// and survives re-imports. `PUT` sets it (`{"label": "complaint"}`), `DELETE` removes it.
async fn label_handler(
    State(st): State<AppState>,
    method: axum::http::Method,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    guard::Q(q): guard::Q<WorkspaceQuery>,
    body: Bytes,
) -> Answer {
    use barometre_core::understand::Label;
    blocking(move || {
        let (_permit, mut store) = open_heavy(&st, None)?;
        let ws = authorize(&store, &headers, Role::Analyst, q.workspace.as_deref())?;
        let label = if method == axum::http::Method::DELETE {
            None
        } else {
            let b: LabelBody = serde_json::from_slice(&body)
                .map_err(|e| Problem::bad_request(format!("the body must be {{\"label\": \"…\"}}: {e}")))?;
            let l = Label::parse(&b.label).ok_or_else(|| {
                Problem::bad_request(format!(
                    "unknown label `{}`: one of {}",
                    b.label,
                    Label::ALL.map(Label::as_str).join(", ")
                ))
            })?;
            Some((l, b.by))
        };
        let by = label.as_ref().and_then(|(_, b)| b.as_deref());
        if !store.correct_label(&ws, &st.cfg, &id, label.as_ref().map(|(l, _)| *l), by)? {
            return Err(Problem::new(StatusCode::NOT_FOUND, "no incoming message of that id"));
        }
        let body = json!({
            "message_id": id,
            "label": label.as_ref().map(|(l, _)| l.as_str()),
            "label_source": label.is_some().then_some("correction"),
        });
        Ok(json_text(body.to_string()))
    })
    .await
}

/// The workspace's corrections (viewer role).
async fn labels_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    guard::Q(q): guard::Q<WorkspaceQuery>,
) -> Answer {
    blocking(move || {
        let store = open(&st)?;
        let ws = authorize(&store, &headers, Role::Viewer, q.workspace.as_deref())?;
        let rows: Vec<serde_json::Value> = store
            .corrections(&ws)?
            .into_iter()
            .map(|c| {
                json!({"message_id": c.message_id, "label": c.label.as_str(), "by": c.by,
                       "at": barometre_core::time::rfc3339_utc(c.at_ms)})
            })
            .collect();
        Ok(json_text(json!({ "corrections": rows }).to_string()))
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct ImportQuery {
    format: Option<String>,
    strict: Option<bool>,
    workspace: Option<String>,
    delimiter: Option<String>,
    encoding: Option<String>,
    date_format: Option<String>,
    tz: Option<String>,
    /// The company's own ids or handles, comma-separated.
    account: Option<String>,
    account_name: Option<String>,
    mapping: Option<String>,
    sheet: Option<String>,
}

impl ImportQuery {
    /// How the body is read: the CLI's options, by the same names.
    fn options(&self, kind: Kind, cfg: &barometre_core::config::Config) -> Result<Options, Problem> {
        let bad = |m: String| Problem::bad_request(m);
        let mut o = Options::new(kind);
        if let Some(f) = &self.format {
            o.format = Some(SourceFormat::parse(f).ok_or_else(|| bad(format!("unknown format `{f}`")))?);
        }
        if let Some(name) = &self.mapping {
            let m = cfg.mappings.get(name).ok_or_else(|| bad(format!("no mapping `{name}` in the configuration")))?;
            o.apply_mapping(m).map_err(|e| bad(format!("mapping `{name}`: {e}")))?;
        }
        if let Some(d) = &self.delimiter {
            o.delimiter = Some(delimiter(d)?);
        }
        if let Some(e) = &self.encoding {
            o.encoding = Some(encoding(e)?);
        }
        if let Some(f) = &self.date_format {
            o.rules.dates.format = Some(f.clone());
        }
        if let Some(z) = &self.tz {
            o.rules.dates.zone = Some(Zone::parse(z).map_err(bad)?);
        }
        if let Some(a) = &self.account {
            o.accounts = a.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect();
        }
        o.account_name = self.account_name.clone();
        o.sheet = self.sheet.clone().or(o.sheet);
        Ok(o)
    }
}

fn delimiter(s: &str) -> Result<u8, Problem> {
    source::parse_delimiter(s).map_err(Problem::bad_request)
}

fn encoding(s: &str) -> Result<barometre_core::ingest::decode::Encoding, Problem> {
    barometre_core::ingest::decode::Encoding::parse_named(s).map_err(Problem::bad_request)
}

/// Imports a body (any format the CLI reads) with the CLI's validation, per-row errors and atomicity.
///
/// The body is staged to a temporary file as it arrives, and only then imported: a slow client
/// never holds the store's write lock, which is taken for the import of a local file alone. The
/// answer lists the first refused rows (`REJECTED_KEPT`) and counts them all, so that neither the
/// server's memory nor the answer grows with the bad rows sent.
async fn import_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    UrlPath(kind): UrlPath<String>,
    guard::Q(q): guard::Q<ImportQuery>,
    body: axum::body::Body,
) -> Answer {
    use tokio::io::AsyncWriteExt;
    if kind == "faq" {
        return faq_import(st, headers, q, body).await;
    }
    let st2 = st.clone();
    let (ws, opts, spool, strict) = blocking(move || {
        let store = open(&st2)?;
        let ws = authorize(&store, &headers, Role::Analyst, q.workspace.as_deref())?;
        let kind = Kind::parse(&kind)
            .ok_or_else(|| Problem::new(StatusCode::NOT_FOUND, format!("no import kind `{kind}`")))?;
        // Without `format`, the body's layout (CSV, JSON Lines, one JSON document, an API's
        // page) is recognised from its content, as the CLI does.
        let opts = q.options(kind, &st2.cfg)?;
        // Beside the store (a disk of the server's), not in a temporary folder that may be
        // memory.
        let dir = st2.db.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        let spool = tempfile::Builder::new().prefix(".barometre-import").tempfile_in(dir).map_err(|e| {
            eprintln!("import: no temporary file: {e}");
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "the import could not be staged")
        })?;
        Ok((ws, opts, spool, q.strict == Some(true)))
    })
    .await?;
    let staged = |e: std::io::Error| {
        eprintln!("import: staging the body failed: {e}");
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "the import could not be staged")
    };
    let (spool, path) = spool.into_parts();
    let mut file = tokio::fs::File::from_std(spool);
    let mut body = body;
    while let Some(data) = next_data(&mut body).await? {
        file.write_all(&data).await.map_err(staged)?;
    }
    file.flush().await.map_err(staged)?;
    drop(file);
    blocking(move || {
        // Read from its path, as often as the format needs (the Twitter file twice): each read
        // its own handle. The file goes when `path` does, after the import.
        let len = std::fs::metadata(&path).map_err(staged)?.len();
        let input = Input::file("body", &path, len);
        let mut store = open(&st)?;
        // A large canonical CSV body into an empty workspace is read in two halves, as the CLI
        // reads such a file.
        let halves = match barometre_core::oneshot::halves_at(&opts, std::slice::from_ref(&input)) {
            Some(cut) => store.import_in_halves(&ws, &st.cfg, strict, &input, cut, &|_| {}, &mut ())?,
            None => None,
        };
        let sum = match halves {
            Some(sum) => sum,
            None => {
                let mut records = source::read(vec![input], opts, Box::new(()));
                store.import(&ws, &st.cfg, strict, &mut records, &mut ())?
            }
        };
        drop(path);
        let status = if !sum.committed { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
        let body = json!({
            "committed": sum.committed,
            "rows": sum.rows + sum.rejected_count,
            "inserted": sum.inserted,
            "updated": sum.updated,
            "unchanged": sum.unchanged,
            "rejected_count": sum.rejected_count,
            "unattached": sum.unattached,
            "rejected": sum.rejected.iter().map(|e| json!({
                "file": e.file, "line": e.line, "column": e.column, "reason": e.reason, "message": e.to_string(),
            })).collect::<Vec<_>>(),
        });
        Ok((status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response())
    })
    .await
}

/// A body's next bytes (`None` at its end; trailers skipped). A body may be large, but not
/// silent: one that sends nothing for [`guard::BODY_TIMEOUT`] is cut.
async fn next_data(body: &mut axum::body::Body) -> Result<Option<axum::body::Bytes>, Problem> {
    use http_body_util::BodyExt;
    loop {
        let next = tokio::time::timeout(guard::BODY_TIMEOUT, body.frame())
            .await
            .map_err(|_| Problem::new(StatusCode::REQUEST_TIMEOUT, "the body stopped arriving"))?;
        let Some(frame) = next else { return Ok(None) };
        let frame = frame.map_err(|e| Problem::bad_request(format!("the body could not be read: {e}")))?;
        if let Ok(data) = frame.into_data() {
            return Ok(Some(data));
        }
    }
}

/// The largest knowledge base a body may hold: a FAQ is read whole (its entries are indexed
/// together), so its size is bounded.
const FAQ_BODY_LIMIT: usize = 16 << 20;

/// `POST /api/v1/import/faq`: the workspace's knowledge base replaced by the body's entries
/// (CSV, JSON, JSON Lines, as `barometre import faq`), every incoming message matched again.
async fn faq_import(st: AppState, headers: HeaderMap, q: ImportQuery, body: axum::body::Body) -> Answer {
    // Who asks first: nothing of the body is read for a caller who may not import.
    let st2 = st.clone();
    let ws = blocking(move || {
        let store = open(&st2)?;
        authorize(&store, &headers, Role::Analyst, q.workspace.as_deref())
    })
    .await?;
    let mut bytes = Vec::new();
    let mut body = body;
    while let Some(data) = next_data(&mut body).await? {
        if bytes.len() + data.len() > FAQ_BODY_LIMIT {
            return Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("a knowledge base is read whole: at most {FAQ_BODY_LIMIT} bytes"),
            ));
        }
        bytes.extend_from_slice(&data);
    }
    let strict = q.strict == Some(true);
    blocking(move || {
        let mut store = open(&st)?;
        let (entries, errors) = barometre_core::understand::faq::read_faq("body", &bytes, 0);
        let rejected: Vec<serde_json::Value> = errors
            .iter()
            .map(|e| json!({"file": e.file, "line": e.line, "column": e.column, "reason": e.reason, "message": e.to_string()}))
            .collect();
        // A header and no entry removes the knowledge base; nothing readable takes nothing.
        if (entries.is_empty() && (!errors.is_empty() || bytes.is_empty())) || (strict && !errors.is_empty()) {
            let body = json!({"committed": false, "entries": entries.len(), "rejected": rejected});
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, [(header::CONTENT_TYPE, "application/json")], body.to_string())
                .into_response());
        }
        let sum = store.import_faq(&ws, &st.cfg, &entries)?;
        let body = json!({
            "committed": true,
            "entries": sum.entries,
            "changed": sum.changed,
            "matched_messages": sum.matched_messages,
            "answerable_questions": sum.answerable_questions,
            "rejected": rejected,
        });
        Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response())
    })
    .await
}

/// `GET /api/v1/faq`: the workspace's knowledge base, in its file's order.
async fn faq_handler(State(st): State<AppState>, headers: HeaderMap, guard::Q(q): guard::Q<WorkspaceQuery>) -> Answer {
    blocking(move || {
        let store = open(&st)?;
        let ws = authorize(&store, &headers, Role::Viewer, q.workspace.as_deref())?;
        Ok(json_text(json!({ "entries": store.faq(&ws)? }).to_string()))
    })
    .await
}

async fn health() -> Response {
    json_text("{\"status\":\"ok\"}\n".into())
}

async fn openapi() -> Response {
    json_text(openapi_document().to_string())
}

/// The API's OpenAPI 3.1 description.
pub fn openapi_document() -> serde_json::Value {
    let mut report_params = json!([
        {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "RFC 3339 instant or date (local midnight in tz), inclusive"},
        {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "exclusive end"},
        {"name": "by", "in": "query", "schema": {"type": "string", "enum": barometre_core::vocab::Dim::ALL.map(barometre_core::vocab::Dim::as_str)}},
        {"name": "tz", "in": "query", "schema": {"type": "string", "default": "UTC"}},
        {"name": "workspace", "in": "query", "schema": {"type": "string"}, "description": "must be the token's workspace"}
    ]);
    if let Some(a) = report_params.as_array_mut() {
        a.push(json!({"name": "metrics", "in": "query", "schema": {"type": "string"},
            "description": "comma-separated metric ids: only those are computed and returned (default: all)"}));
    }
    let problem = json!({"description": "a problem document", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Baromètre API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Problem": {"type": "object", "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}}}
        },
        "paths": {
            "/report": {"get": {"summary": "Every indicator over a period, optionally grouped (the JSON of `barometre report --format json`)",
                "parameters": report_params, "responses": {"200": {"description": "the report"}, "400": problem, "401": problem, "404": problem}}},
            "/explain": {"get": {"summary": "The rows behind one figure",
                "parameters": [{"name": "metric", "in": "query", "required": true, "schema": {"type": "string"}},
                               {"name": "group", "in": "query", "schema": {"type": "string"}},
                               {"name": "numerator", "in": "query", "schema": {"type": "boolean"}}],
                "responses": {"200": {"description": "{metric, rows}"}, "400": problem, "401": problem}}},
            "/conversations/{id}": {"get": {"summary": "One conversation: messages, requests, resolution",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the conversation"}, "401": problem, "404": problem}}},
            "/import/{kind}": {"post": {"summary": "Import a body in any format the CLI reads (analyst role): CSV, JSON, a workbook, the Twitter file, or a Meta, X, Zendesk or Chatwoot API response; recognised from its content without `format`",
                "parameters": [{"name": "kind", "in": "path", "required": true, "schema": {"type": "string"}},
                               {"name": "format", "in": "query", "schema": {"type": "string", "enum": SourceFormat::NAMES}},
                               {"name": "strict", "in": "query", "schema": {"type": "boolean"}},
                               {"name": "delimiter", "in": "query", "schema": {"type": "string"}, "description": "`,` `;` `tab` `|`"},
                               {"name": "encoding", "in": "query", "schema": {"type": "string"}, "description": "utf-8, utf-16, windows-1252"},
                               {"name": "date_format", "in": "query", "schema": {"type": "string"}, "description": "strftime layout, e.g. %d/%m/%Y %H:%M"},
                               {"name": "tz", "in": "query", "schema": {"type": "string"}, "description": "zone of wall-clock times"},
                               {"name": "mapping", "in": "query", "schema": {"type": "string"}, "description": "a [mappings.NAME] table of the configuration"},
                               {"name": "account", "in": "query", "schema": {"type": "string"}, "description": "the company's own ids or @handles, comma-separated"},
                               {"name": "account_name", "in": "query", "schema": {"type": "string"}, "description": "the account of every row imported"},
                               {"name": "sheet", "in": "query", "schema": {"type": "string"}}],
                "requestBody": {"content": {"text/csv": {}, "application/x-ndjson": {}, "application/json": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}},
                "responses": {"200": {"description": "what was taken, and every rejected row"}, "422": {"description": "strict: nothing taken"},
                              "401": problem, "403": problem}}},
            "/messages/{id}/label": {
                "put": {"summary": "Relabel an incoming message (analyst role): the correction counts in every figure and survives re-imports",
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["label"], "properties": {
                        "label": {"type": "string", "enum": barometre_core::understand::Label::ALL.map(barometre_core::understand::Label::as_str)},
                        "by": {"type": "string"}}}}}},
                    "responses": {"200": {"description": "{message_id, label, label_source}"}, "400": problem, "401": problem, "403": problem, "404": problem}},
                "delete": {"summary": "Remove the correction: the row's column or its text speaks again (analyst role)",
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "{message_id, label: null}"}, "401": problem, "403": problem, "404": problem}}},
            "/faq": {"get": {"summary": "The workspace's knowledge base (imported with POST /import/faq, CSV `id,question,answer`, JSON or JSON Lines)",
                "responses": {"200": {"description": "{entries: [{id, question, answer}]}"}, "401": problem}}},
            "/labels": {"get": {"summary": "The workspace's corrections",
                "responses": {"200": {"description": "{corrections: [{message_id, label, by, at}]}"}, "401": problem}}},
            "/health": {"get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "ok"}}}},
            "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI"}}}}
        }
    })
}

/// The API's and the dashboard's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(dashboard::overview))
        .route("/login", get(dashboard::login_page).post(dashboard::login))
        .route("/logout", post(dashboard::logout))
        .route("/explain", get(dashboard::explain_page))
        .route("/conversations/{id}", get(dashboard::conversation_page))
        .route("/conversations/{id}/label", post(dashboard::relabel))
        .route("/api/v1/report", get(report_handler))
        .route("/api/v1/explain", get(explain_handler))
        .route("/api/v1/conversations/{id}", get(conversation_handler))
        .route("/api/v1/import/{kind}", post(import_handler))
        .route("/api/v1/messages/{id}/label", axum::routing::put(label_handler).delete(label_handler))
        .route("/api/v1/labels", get(labels_handler))
        .route("/api/v1/faq", get(faq_handler))
        .route("/api/v1/health", get(health))
        .route("/api/v1/openapi.json", get(openapi))
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .with_state(state)
        .layer(axum::middleware::from_fn(guard::forms_from_this_site))
        .layer(axum::middleware::from_fn(guard::problem_documents))
        .layer(axum::middleware::from_fn(guard::security_headers))
}

/// How long a client may take to send a request's headers, and may stay idle between two
/// requests of a kept-alive connection, before the connection is closed.
pub const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves the API on `addr` until the process ends.
pub async fn serve(state: AppState, addr: std::net::SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("Baromètre listening on http://{}", listener.local_addr()?);
    serve_on(listener, router(state), HEADER_TIMEOUT).await
}

/// Serves `app` on `listener`: HTTP/1.1 with a header-read timeout that also closes connections
/// left idle (hyper starts it whenever it waits for a request's head), so that slow or silent
/// sockets cannot pile up.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: std::time::Duration,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(_) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let svc = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let mut b = hyper::server::conn::http1::Builder::new();
            b.timer(TokioTimer::new()).header_read_timeout(header_timeout).keep_alive(true);
            let _ = b.serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}

#[cfg(test)]
mod tests;
