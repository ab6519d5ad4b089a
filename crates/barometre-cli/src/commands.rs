//! The commands: argument types and what each does.

use crate::render;
use anyhow::{bail, Context, Result};
use barometre_core::config::Config;
use barometre_core::ingest::decode::Encoding;
use barometre_core::ingest::source::{self, Input, Options, ReadSink, Reading, Recognised, SourceFormat};
use barometre_core::ingest::{Kind, Located, RowError};
use barometre_core::metrics::{self, Lang};
use barometre_core::oneshot;
use barometre_core::report::{self, Dim, Params};
use barometre_core::time::{parse_bound, Zone};
use barometre_store::{ControlPlane, SqliteStore};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

pub struct Ctx {
    pub db: PathBuf,
    /// `--store` / `BAROMETRE_STORE`: `sqlite:PATH`, `clickhouse://…` or `postgres://…` (default: `db`).
    pub store: Option<String>,
    pub workspace: String,
    pub config: Option<PathBuf>,
    /// A PostgreSQL control plane's URL (`--control`, `BAROMETRE_CONTROL`).
    pub control: Option<String>,
}

impl Ctx {
    pub fn config(&self) -> Result<Config> {
        let text = match &self.config {
            Some(p) => {
                Some(std::fs::read_to_string(p).with_context(|| format!("cannot read configuration {}", p.display()))?)
            }
            None => None,
        };
        Ok(Config::load(text.as_deref(), std::env::vars())?)
    }
    /// The store `--store` names (default: the SQLite file `--db`).
    pub fn store(&self) -> Result<Box<dyn barometre_store::Store + Send>> {
        Ok(match self.target()? {
            Target::Sqlite(path) => {
                Box::new(SqliteStore::open(&path).with_context(|| format!("cannot open the store {}", path.display()))?)
            }
            Target::Postgres(url) => {
                let data = Box::new(
                    barometre_store::pg_data::PgStore::connect(&url)
                        .with_context(|| format!("cannot open the store {}", redacted(&url)))?,
                );
                // Its own server keeps its control plane; another one only when `--control` says.
                match self.control()? {
                    Some(control) => Box::new(barometre_store::Split { data, control }),
                    None => data,
                }
            }
            Target::ClickHouse(addr) => {
                let data = Box::new(self.clickhouse(&addr)?);
                // With a shared control plane, changes of a workspace wait for those of the
                // servers and of other machines' commands (its lock), not only this machine's.
                match self.control()? {
                    Some(control) => Box::new(barometre_store::Split { data, control }),
                    None => data,
                }
            }
        })
    }
    /// A ClickHouse store, its accounts in the SQLite file `--db`.
    fn clickhouse(
        &self,
        addr: &barometre_store::clickhouse::Address,
    ) -> Result<barometre_store::clickhouse::ClickHouseStore> {
        let accounts = SqliteStore::open(&self.db)
            .with_context(|| format!("cannot open the accounts' store {}", self.db.display()))?;
        barometre_store::clickhouse::ClickHouseStore::open(addr, Box::new(accounts))
            .with_context(|| format!("cannot open the store {}", redacted(self.store.as_deref().unwrap_or(""))))
    }
    /// What `--store` names.
    fn target(&self) -> Result<Target> {
        // `--store` or `BAROMETRE_STORE`, else the configuration's `[store] url`.
        let url = match self.store.clone().filter(|s| !s.is_empty()) {
            Some(u) => u,
            None => match self.config()?.store {
                Some(u) => u,
                None => return Ok(Target::Sqlite(self.db.clone())),
            },
        };
        let url = url.as_str();
        if let Some(path) = url.strip_prefix("sqlite:") {
            return Ok(Target::Sqlite(PathBuf::from(path.strip_prefix("//").unwrap_or(path))));
        }
        if url.starts_with("clickhouse://") {
            let addr = barometre_store::clickhouse::Address::parse(url)
                .with_context(|| format!("--store {}", redacted(url)))?;
            return Ok(Target::ClickHouse(addr));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_string()));
        }
        bail!(
            "unknown store `{}`: sqlite:PATH, clickhouse://HOST:HTTP_PORT/DATABASE or postgres://user@host:port/database",
            redacted(url)
        )
    }
    /// The shared control plane, when `--control` names one.
    pub fn control(&self) -> Result<Option<std::sync::Arc<barometre_store::pg::PgControlPlane>>> {
        // `--control` or `BAROMETRE_CONTROL`, else the configuration's `[store] control`.
        let url = match self.control.clone().filter(|s| !s.is_empty()) {
            Some(u) => Some(u),
            None => self.config()?.control,
        };
        url.as_deref()
            .map(|url| {
                barometre_store::pg::PgControlPlane::connect(url)
                    .map(std::sync::Arc::new)
                    .with_context(|| format!("cannot reach the control plane {}", redacted(url)))
            })
            .transpose()
    }
    /// The store with its control plane: the shared one when `--control` names one.
    pub fn full_store(&self) -> Result<Box<dyn barometre_store::Store + Send>> {
        if let Target::ClickHouse(_) | Target::Postgres(_) = self.target()? {
            // Its control plane is the shared one already.
            return self.store();
        }
        let data = self.store()?;
        Ok(match self.control()? {
            Some(control) => Box::new(barometre_store::Split { data, control }),
            None => data,
        })
    }
}

/// What `--store` names.
enum Target {
    Sqlite(PathBuf),
    ClickHouse(barometre_store::clickhouse::Address),
    /// Rows, facts and the control plane on one PostgreSQL server.
    Postgres(String),
}

/// A store's address without its password, to be printed: scheme, user, host, port and
/// database only (a password may sit in the URL's user part, its query, or a `key=value` form).
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let user = &url[s + 3..at];
            let user = user.split(':').next().unwrap_or(user);
            let rest = &url[at + 1..];
            format!("{}{user}@{}", &url[..s + 3], rest.split('?').next().unwrap_or(rest))
        }
        (Some(s), _) => {
            let rest = &url[s + 3..];
            format!("{}{}", &url[..s + 3], rest.split('?').next().unwrap_or(rest))
        }
        _ => "the store given".to_string(),
    }
}

/// `migrate` takes the global `--store` (`sqlite:PATH`, `clickhouse://…`, or a PostgreSQL server's
/// `postgres://…`; default: `--db`'s SQLite).
#[derive(clap::Args)]
pub struct MigrateArgs {}

/// `barometre migrate`: opens the store, which applies the migrations it lacks, and says its
/// schema's version.
pub fn migrate(ctx: &Ctx, _: MigrateArgs) -> Result<ExitCode> {
    let target = match ctx.store.clone().filter(|s| !s.is_empty()) {
        Some(s) => s,
        None => ctx.config()?.store.unwrap_or_else(|| format!("sqlite:{}", ctx.db.display())),
    };
    let (engine, version) = if let Some(path) = target.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        let s =
            SqliteStore::open(std::path::Path::new(path)).with_context(|| format!("cannot open the store {path}"))?;
        ("SQLite", s.schema_version()?)
    } else if target.starts_with("postgres://") || target.starts_with("postgresql://") {
        let p = barometre_store::pg::PgControlPlane::connect(&target)
            .with_context(|| format!("cannot reach {}", redacted(&target)))?;
        ("PostgreSQL", p.schema_version()?)
    } else if target.starts_with("clickhouse://") {
        let Target::ClickHouse(addr) = ctx.target()? else { unreachable!("a clickhouse:// store") };
        let s = ctx.clickhouse(&addr)?;
        let engine = if addr.cluster.is_some() { "ClickHouse (cluster)" } else { "ClickHouse" };
        (engine, i64::from(s.schema_version()?))
    } else {
        bail!(
            "unknown store `{}`: sqlite:PATH, clickhouse://HOST:HTTP_PORT/DATABASE or postgres://user@host:port/database",
            redacted(&target)
        )
    };
    println!("{engine}: schema version {version}");
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct ImportArgs {
    /// What the files hold (API dumps also bring the events and survey answers they hold);
    /// `faq`: the knowledge base incoming questions are matched against (CSV with `question`
    /// and `answer` columns, optionally `id`; JSON or JSON Lines of the same fields), which
    /// replaces the workspace's.
    #[arg(value_parser = [
        "messages", "conversation-events", "surveys", "survey-invitations", "contacts", "posts", "customers", "orders",
        "qa-reviews", "probes", "faq",
    ])]
    kind: String,
    /// The files of one source: CSV, JSON, spreadsheets, or API responses (one per file or line).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Layout (default: recognised from the content, and said).
    #[arg(long, value_parser = SourceFormat::NAMES)]
    format: Option<String>,
    /// Take nothing if any row is bad.
    #[arg(long)]
    strict: bool,
    /// Only check: say what was recognised, show the first rows as they will be read, report bad
    /// rows; store nothing.
    #[arg(long)]
    check: bool,
    /// Exit 0 even when agent replies could be attached to no conversation (they are announced
    /// and kept either way).
    #[arg(long)]
    lenient: bool,
    /// Threads that look rows up and write them, on a store that takes writes in parallel
    /// (ClickHouse: rows are shared among them by id). The embedded store has one writer (it
    /// reads a big file on every core already): there, 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    workers: u16,
    /// CSV separator: `,`, `;`, `tab`, `|` (default: recognised from the header line, and said
    /// when it is not a comma).
    #[arg(long, value_parser = delimiter_arg)]
    delimiter: Option<u8>,
    /// Text encoding: utf-8, utf-16 (utf-16be), windows-1252 (default: recognised, and said when
    /// not UTF-8).
    #[arg(long, value_parser = encoding_arg)]
    encoding: Option<Encoding>,
    /// Layout of instants that are not RFC 3339, in strftime form (e.g. '%d/%m/%Y %H:%M').
    #[arg(long)]
    date_format: Option<String>,
    /// Time zone of instants written without an offset (e.g. Europe/Paris).
    #[arg(long)]
    tz: Option<String>,
    /// Read a field from another column: FIELD=COLUMN (repeatable).
    #[arg(long = "map", value_parser = map_arg)]
    map: Vec<(String, String)>,
    /// Translate a value: FIELD:SOURCE=VALUE, e.g. direction:Entrant=in (repeatable).
    #[arg(long = "map-value", value_parser = map_value_arg)]
    map_value: Vec<(String, String, String)>,
    /// A `[mappings.NAME]` table of the configuration (the options above override it).
    #[arg(long)]
    mapping: Option<String>,
    /// The sheet of a workbook (default: the first).
    #[arg(long)]
    sheet: Option<String>,
    /// The company's own page / user ids or @handles, where an export does not say which side is
    /// the company (repeatable).
    #[arg(long = "account")]
    account: Vec<String>,
    /// Report every row imported under this account (one brand's sources as one).
    #[arg(long)]
    account_name: Option<String>,
    #[arg(long, env = "BAROMETRE_LANG", default_value = "fr", value_parser = ["fr", "en"])]
    lang: String,
}

impl ImportArgs {
    /// How the files are to be read: a named mapping of the configuration, then the options.
    fn options(&self, cfg: &Config, kind: Kind) -> Result<Options> {
        let mut o = Options::new(kind);
        o.format = self.format.as_deref().and_then(SourceFormat::parse);
        if let Some(name) = &self.mapping {
            let Some(m) = cfg.mappings.get(name) else {
                let known: Vec<&str> = cfg.mappings.keys().map(String::as_str).collect();
                bail!(
                    "no mapping `{name}` in the configuration ({})",
                    if known.is_empty() {
                        "it has none: give the file that holds it with --config FILE; see docs/import-formats.md"
                            .to_string()
                    } else {
                        format!("known: {}", known.join(", "))
                    }
                );
            };
            o.apply_mapping(m).map_err(|e| anyhow::anyhow!("mapping `{name}`: {e}"))?;
        }
        for (f, c) in &self.map {
            o.rules.columns.retain(|(g, _)| g != f);
            o.rules.columns.push((f.clone(), c.clone()));
        }
        for (f, from, to) in &self.map_value {
            o.rules.values.retain(|(g, x, _)| !(g == f && x.eq_ignore_ascii_case(from)));
            o.rules.values.push((f.clone(), from.clone(), to.clone()));
        }
        if let Some(f) = &self.date_format {
            o.rules.dates.format = Some(f.clone());
        }
        if let Some(z) = &self.tz {
            o.rules.dates.zone = Some(Zone::parse(z).map_err(anyhow::Error::msg)?);
        }
        o.delimiter = self.delimiter.or(o.delimiter);
        o.encoding = self.encoding.or(o.encoding);
        o.sheet = self.sheet.clone().or(o.sheet);
        o.accounts = self.account.clone();
        o.account_name = self.account_name.clone();
        Ok(o)
    }
}

fn encoding_arg(s: &str) -> Result<Encoding, String> {
    Encoding::parse_named(s)
}

fn map_arg(s: &str) -> Result<(String, String), String> {
    barometre_core::ingest::Rules::parse_map(s)
}

fn map_value_arg(s: &str) -> Result<(String, String, String), String> {
    barometre_core::ingest::Rules::parse_map_value(s)
}

/// The files of a command as inputs of the reading seam.
fn inputs(paths: &[PathBuf]) -> Vec<Input> {
    paths
        .iter()
        .map(|p| Input::file(&p.display().to_string(), p, std::fs::metadata(p).map_or(0, |m| m.len())))
        .collect()
}

/// What the reading recognised, said around the progress bar.
struct Said {
    pb: ProgressBar,
    fr: bool,
    /// Say every file's recognition (`--check`), not only what the user did not choose.
    all: bool,
}

impl ReadSink for Said {
    fn recognised(&mut self, r: &Recognised) {
        if self.all || r.notable() {
            let line = r.describe(self.fr);
            self.pb.suspend(|| eprintln!("{line}"));
        }
    }
    fn no_rows(&mut self, file: &str) {
        let what = if self.fr { "aucune ligne" } else { "no rows" };
        self.pb.suspend(|| eprintln!("{file}: {what}"));
    }
}

/// Rows read on another thread, in batches, while `take` stores the previous batch: reading
/// (parsing, checking) and storing overlap on two cores. Nothing is read far ahead: a few
/// batches wait at most, and reading stops when `take` returns. If the reader fails (a panic),
/// `take` fails too, before the store commits anything: rows cut short never pass for a file.
fn read_ahead<I, T>(files: &mut I, take: impl FnOnce(&mut dyn Iterator<Item = I::Item>) -> T) -> T
where
    I: Iterator + Send,
    I::Item: Send,
{
    const BATCH: usize = 1024;
    std::thread::scope(|sc| {
        // `true` with the last batch: a channel closed without it is a reader that stopped.
        let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<I::Item>, bool)>(4);
        sc.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            for r in files {
                batch.push(r);
                if batch.len() == BATCH
                    && tx.send((std::mem::replace(&mut batch, Vec::with_capacity(BATCH)), false)).is_err()
                {
                    return;
                }
            }
            let _ = tx.send((batch, true));
        });
        let mut ended = false;
        let mut rows = std::iter::from_fn(|| match rx.recv() {
            Ok((batch, last)) => {
                ended = last;
                Some(batch)
            }
            Err(_) if ended => None,
            Err(_) => panic!("the file reader stopped before the end of its files"),
        })
        .flatten();
        take(&mut rows)
    })
}

/// A large file read in halves into an SQLite store file that does not exist yet: built aside
/// and moved into place (`SqliteStore::import_new`). `None`: imported the usual way.
fn import_new(
    ctx: &Ctx,
    a: &ImportArgs,
    cfg: &Config,
    halves: Option<&((u64, u64), Input)>,
    pb: &ProgressBar,
    sink: &mut dyn barometre_store::ImportSink,
) -> Result<Option<barometre_store::ImportSummary>> {
    let Some(&(at, ref input)) = halves.filter(|_| a.workers <= 1) else { return Ok(None) };
    let Target::Sqlite(path) = ctx.target()? else { return Ok(None) };
    let progress = |n: u64| pb.inc(n);
    SqliteStore::import_new(&path, &ctx.workspace, cfg, a.strict, input, at, &progress, sink)
        .with_context(|| format!("cannot import into the new store {}", path.display()))
}

/// A source's rows, advancing a progress bar by bytes.
struct Progress {
    r: Reading,
    pb: ProgressBar,
    rows: u64,
    /// Where the bar stood before this source.
    base: u64,
    /// What the bar says once the files are read; `None`: the caller says it.
    after: Option<String>,
}

impl Iterator for Progress {
    type Item = Result<Located, RowError>;
    fn next(&mut self) -> Option<Self::Item> {
        match self.r.next() {
            Some(x) => {
                self.rows += 1;
                if self.rows.is_multiple_of(4096) {
                    self.pb.set_position(self.base + self.r.bytes_read());
                }
                Some(x)
            }
            None => {
                // Reading is over; the clock's pass over every conversation comes next.
                if let Some(after) = &self.after {
                    computing(&self.pb, after);
                }
                None
            }
        }
    }
}

/// `--delimiter`: one character, or `tab`.
fn delimiter_arg(s: &str) -> Result<u8, String> {
    source::parse_delimiter(s)
}

/// A bar of bytes read, on standard error when it is a terminal.
fn reading_bar(total: u64, lang: Lang) -> ProgressBar {
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(if lang == Lang::Fr { "lecture" } else { "reading" });
    pb
}

/// The bar turned into a spinner once the files are read.
fn computing(pb: &ProgressBar, what: &str) {
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(what.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
}

/// What follows the reading, in the user's language.
fn after_reading(lang: Lang) -> &'static str {
    match lang {
        Lang::Fr => "calcul des conversations et des demandes",
        Lang::En => "computing conversations and requests",
    }
}

/// Rows `import --check` shows.
const PREVIEW_ROWS: usize = 5;

fn kind_label(k: Kind, lang: Lang) -> &'static str {
    match (k, lang) {
        (Kind::Messages, Lang::Fr) => "messages",
        (Kind::ConversationEvents, Lang::Fr) => "événements de conversation",
        (Kind::Surveys, Lang::Fr) => "réponses d'enquête",
        (Kind::SurveyInvitations, Lang::Fr) => "invitations d'enquête",
        (Kind::Contacts, Lang::Fr) => "contacts en file",
        (Kind::Posts, Lang::Fr) => "publications",
        (Kind::Customers, Lang::Fr) => "clients",
        (Kind::Orders, Lang::Fr) => "commandes",
        (Kind::Reviews, Lang::Fr) => "évaluations qualité",
        (Kind::Probes, Lang::Fr) => "tests mystère",
        (Kind::Messages, Lang::En) => "messages",
        (Kind::ConversationEvents, Lang::En) => "conversation events",
        (Kind::Surveys, Lang::En) => "survey answers",
        (Kind::SurveyInvitations, Lang::En) => "survey invitations",
        (Kind::Contacts, Lang::En) => "queued contacts",
        (Kind::Posts, Lang::En) => "posts",
        (Kind::Customers, Lang::En) => "customers",
        (Kind::Orders, Lang::En) => "orders",
        (Kind::Reviews, Lang::En) => "quality reviews",
        (Kind::Probes, Lang::En) => "mystery-shopper probes",
    }
}

fn fmt_count(n: u64, lang: Lang) -> String {
    barometre_core::fmt::number(n as f64, 0, lang)
}

/// One row as it will be read, for `import --check`.
fn preview(l: &Located) -> String {
    use barometre_core::ingest::Record;
    let at = format!("{}:{}", l.file, l.line);
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "—".into());
    match &l.record {
        Record::Message(m) => {
            let text: String =
                m.text.as_deref().unwrap_or("").chars().take(40).collect::<String>().replace(['\r', '\n'], " ");
            format!(
                "{at}  {}  {}  {}  {}/{}  author {}  conversation {}  {}{}",
                m.message_id,
                m.created_at.to_rfc3339(),
                m.direction.as_str(),
                m.account,
                m.channel,
                m.author_id,
                opt(&m.conversation_id),
                if m.bot { "bot  " } else { "" },
                text
            )
        }
        Record::Event(e) => format!("{at}  {}  {}  {}", e.conversation_id, e.event.as_str(), e.at.to_rfc3339()),
        Record::Survey(s) => format!(
            "{at}  {}  {}  {}  {}",
            s.response_id,
            s.survey,
            s.score.map_or_else(
                || opt(&s.answer),
                |x| format!("{x} ({}–{})", s.scale_min.unwrap_or(0.0), s.scale_max.unwrap_or(0.0))
            ),
            s.answered_at.to_rfc3339()
        ),
        Record::Post(p) => format!(
            "{at}  {}  {}/{}  {}  impressions {}  reach {}  engagements {}",
            p.post_id,
            p.account,
            p.channel,
            p.published_at.to_rfc3339(),
            p.impressions,
            p.reach,
            p.engagements
        ),
        other => format!("{at}  {other:?}").chars().take(160).collect(),
    }
}

/// `barometre import faq FILES`: the workspace's knowledge base, replaced by the entries of
/// the files; every incoming message is matched against it again. Exit 0, 2 when rows were
/// refused (the others are taken, unless `--strict`), 1 when no entry could be read.
fn import_faq(ctx: &Ctx, a: &ImportArgs, lang: Lang) -> Result<ExitCode> {
    let cfg = ctx.config()?;
    let mut entries: Vec<barometre_core::understand::faq::Entry> = Vec::new();
    let mut errors = Vec::new();
    for f in &a.files {
        let name = f.display().to_string();
        match std::fs::read(f) {
            Ok(bytes) => {
                let (e, bad) = barometre_core::understand::faq::read_faq(&name, &bytes, entries.len());
                for x in e {
                    // Ids are the knowledge base's: one id twice, across files too, is refused.
                    if entries.iter().any(|y| y.id == x.id) {
                        errors.push(barometre_core::understand::faq::RowError {
                            file: name.clone(),
                            line: 1,
                            column: 1,
                            reason: format!("FAQ entry id `{}` given in an earlier file", x.id),
                        });
                    } else {
                        entries.push(x);
                    }
                }
                errors.extend(bad);
            }
            Err(e) => errors.push(barometre_core::understand::faq::RowError {
                file: name,
                line: 1,
                column: 1,
                reason: format!("cannot read: {e}"),
            }),
        }
    }
    for e in &errors {
        eprintln!("{e}");
    }
    let fr = lang == Lang::Fr;
    // Files that hold a header and no entry, and nothing wrong: the knowledge base is removed.
    let clear = entries.is_empty() && errors.is_empty() && !a.files.is_empty();
    if entries.is_empty() && !clear {
        eprintln!(
            "{}",
            if fr {
                "aucune entrée de FAQ lue : rien n'a été importé"
            } else {
                "no FAQ entry read: nothing was imported"
            }
        );
        return Ok(ExitCode::from(1));
    }
    if a.check || (a.strict && !errors.is_empty()) {
        let why = match (a.check, fr) {
            (true, true) => "vérification seule",
            (true, false) => "check only",
            (false, true) => "mode strict",
            (false, false) => "strict mode",
        };
        eprintln!(
            "{}",
            if fr {
                format!(
                    "FAQ : {} entrées lues, {} rejetées — {why} : rien n'a été importé",
                    fmt_count(entries.len() as u64, lang),
                    errors.len()
                )
            } else {
                format!(
                    "FAQ: {} entries read, {} rejected — {why}: nothing was imported",
                    fmt_count(entries.len() as u64, lang),
                    errors.len()
                )
            }
        );
        return Ok(ExitCode::from(if errors.is_empty() {
            0
        } else if a.check {
            2
        } else {
            1
        }));
    }
    let sum = ctx.store()?.import_faq(&ctx.workspace, &cfg, &entries)?;
    let n = |x: u64| fmt_count(x, lang);
    let line = if fr {
        format!(
            "FAQ : {} entrées{}, {} rejetées ; {} messages reçus y trouvent une réponse, dont {} questions (faq_answerable_questions)",
            n(sum.entries),
            if sum.changed { "" } else { " (inchangée)" },
            errors.len(),
            n(sum.matched_messages),
            n(sum.answerable_questions)
        )
    } else {
        format!(
            "FAQ: {} entries{}, {} rejected; {} messages received find an answer in it, {} of them questions (faq_answerable_questions)",
            n(sum.entries),
            if sum.changed { "" } else { " (unchanged)" },
            errors.len(),
            n(sum.matched_messages),
            n(sum.answerable_questions)
        )
    };
    eprintln!("{line}");
    Ok(if errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

pub fn import(ctx: &Ctx, a: ImportArgs) -> Result<ExitCode> {
    let lang = Lang::parse(&a.lang).unwrap_or(Lang::Fr);
    if a.kind == "faq" {
        return import_faq(ctx, &a, lang);
    }
    let kind = Kind::parse(&a.kind).expect("clap checked the kind");
    let cfg = ctx.config()?;
    let opts = a.options(&cfg, kind)?;
    if opts.format == Some(SourceFormat::Twcs) && kind != Kind::Messages {
        bail!("--format twcs holds messages only");
    }
    // A file that cannot be read is said with the others' rows (its own error, at line 1): the
    // valid files are taken all the same.
    let ins = inputs(&a.files);
    // A large canonical CSV file: where it is cut, and the file.
    let halves =
        if a.check { None } else { barometre_core::oneshot::halves_at(&opts, &ins).map(|at| (at, ins[0].clone())) };
    let pb = reading_bar(ins.iter().map(|i| i.len).sum(), lang);
    let after = Some(after_reading(lang).to_string());
    let said = Said { pb: pb.clone(), fr: lang == Lang::Fr, all: a.check };
    let mut files = Progress { r: source::read(ins, opts, Box::new(said)), pb: pb.clone(), rows: 0, base: 0, after };
    // Each refused row is printed when it is found (around the bar, not through it): nothing
    // is kept in memory for them but a count and the first few.
    struct Printer(indicatif::ProgressBar, Timings, String);
    impl barometre_store::ImportSink for Printer {
        fn rejected(&mut self, e: &barometre_core::ingest::RowError) {
            self.0.suspend(|| eprintln!("{e}"));
        }
        fn note(&mut self, what: &str) {
            let t = &mut self.1;
            self.0.suspend(|| t.note(what));
        }
        fn phase(&mut self, done: &str) {
            let t = &mut self.1;
            self.0.suspend(|| t.mark(done));
            if done == barometre_store::ROWS_STORED {
                // Reading is over; the clock's pass over every conversation comes next.
                computing(&self.0, &self.2);
            }
        }
    }
    let mut printer = Printer(pb.clone(), Timings::start(), after_reading(lang).to_string());
    let sum = if a.check {
        let mut sum = barometre_store::ImportSummary { committed: false, ..Default::default() };
        let mut shown = 0;
        for r in &mut files {
            match r {
                Ok(l) => {
                    sum.rows += 1;
                    if let barometre_core::ingest::Record::Message(m) = &l.record {
                        sum.unattached += u64::from(barometre_core::ingest::unattached(m));
                    }
                    // The first rows as they will be read: what a mapping made of them.
                    if shown < PREVIEW_ROWS {
                        shown += 1;
                        let line = preview(&l);
                        pb.suspend(|| eprintln!("  {line}"));
                    }
                }
                Err(e) => sum.reject(e, &mut printer),
            }
        }
        sum
    } else if let Some(sum) = import_new(ctx, &a, &cfg, halves.as_ref(), &pb, &mut printer)? {
        sum
    } else {
        let mut store = ctx.store()?;
        if a.workers > 1 && !store.set_import_workers(usize::from(a.workers)) {
            bail!("--workers: this store (SQLite or PostgreSQL) takes one writer; a ClickHouse store takes several");
        }
        // A large canonical CSV file is read on two cores where the store takes it so.
        let whole = match &halves {
            Some((at, input)) => {
                let progress = |n: u64| pb.inc(n);
                store.import_in_halves(&ctx.workspace, &cfg, a.strict, input, *at, &progress, &mut printer)?
            }
            None => None,
        };
        match whole {
            Some(sum) => sum,
            None => read_ahead(&mut files, |rows| store.import(&ctx.workspace, &cfg, a.strict, rows, &mut printer))?,
        }
    };
    let unreadable = files.r.unreadable;
    let kinds: Vec<(Kind, u64)> = Kind::ALL.iter().map(|&k| (k, files.r.rows_of(k))).filter(|(_, n)| *n > 0).collect();
    pb.finish_and_clear();
    let mut err = std::io::stderr().lock();
    let (read, new, changed, same, rejected, check, strict) = match lang {
        Lang::Fr => (
            "lignes lues :",
            "nouvelles",
            "modifiées",
            "inchangées",
            "rejetées",
            " — vérification seule : rien n'a été importé",
            " — mode strict : rien n'a été importé",
        ),
        Lang::En => (
            "rows read:",
            "new",
            "changed",
            "unchanged",
            "rejected",
            " — check only: nothing was imported",
            " — strict mode: nothing was imported",
        ),
    };
    let tail = if a.check {
        check
    } else if sum.committed {
        ""
    } else {
        strict
    };
    // Files that could not be read at all are said apart from rows.
    let bad_rows = sum.rejected_count.saturating_sub(unreadable);
    let read_rows = sum.rows + bad_rows;
    let read = match (lang, read_rows) {
        (Lang::Fr, 0 | 1) => "ligne lue :",
        (Lang::En, 1) => "row read:",
        _ => read,
    };
    let mut line = format!(
        "{} {read} {} {new}, {} {changed}, {} {same}, {} {rejected}{tail}",
        read_rows, sum.inserted, sum.updated, sum.unchanged, bad_rows,
    );
    if unreadable > 0 {
        line.push_str(&match lang {
            Lang::Fr => format!(" — {unreadable} fichier(s) illisible(s)"),
            Lang::En => format!(" — {unreadable} file(s) unreadable"),
        });
    }
    writeln!(err, "{line}")?;
    // A source of several kinds (a helpdesk's messages, events and ratings) says each.
    if kinds.len() > 1 || kinds.first().is_some_and(|(k, _)| *k != kind) {
        let each: Vec<String> =
            kinds.iter().map(|(k, n)| format!("{} {}", fmt_count(*n, lang), kind_label(*k, lang))).collect();
        writeln!(err, "  {}", each.join(", "))?;
    }
    // Replies that join nothing are never taken in silence (they would read as requests never
    // answered): said, and exit 2 unless `--lenient`.
    if sum.unattached > 0 {
        let note = barometre_core::report::unattached_note(sum.unattached);
        writeln!(err, "⚠ {}", if lang == Lang::Fr { &note.message_fr } else { &note.message_en })?;
    }
    let unattached_fails = sum.unattached > 0 && !a.lenient;
    // Nothing could be taken at all (every file a folder, empty or with an unusable header, or
    // every row refused): 1.
    if sum.rows == 0 && sum.rejected_count > 0 {
        return Ok(ExitCode::from(1));
    }
    Ok(if a.check {
        ExitCode::from(if sum.rejected_count == 0 && !unattached_fails { 0 } else { 2 })
    } else if !sum.committed {
        ExitCode::from(1)
    } else if sum.rejected_count == 0 && !unattached_fails {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

#[derive(clap::Args, Clone)]
pub struct PeriodArgs {
    /// Period start (RFC 3339 instant, or a date = local midnight in --tz), inclusive.
    #[arg(long)]
    pub from: Option<String>,
    /// Period end, exclusive.
    #[arg(long)]
    pub to: Option<String>,
    /// Group by.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Dim::ALL.map(Dim::as_str)))]
    pub by: Option<String>,
    /// Time zone of day/week/month buckets and of bare dates.
    #[arg(long, default_value = "UTC")]
    pub tz: String,
}

impl PeriodArgs {
    pub fn params(&self) -> Result<Params> {
        Params::parse(self.from.as_deref(), self.to.as_deref(), self.by.as_deref(), Some(&self.tz))
            .map_err(anyhow::Error::msg)
    }
}

#[derive(clap::Args)]
pub struct ReportArgs {
    #[command(flatten)]
    period: PeriodArgs,
    /// Report straight from message files, without a store (one-shot).
    #[arg(long = "input", value_name = "FILE")]
    inputs: Vec<PathBuf>,
    /// Conversation-event files for a one-shot report.
    #[arg(long = "events", value_name = "FILE", requires = "inputs")]
    events: Vec<PathBuf>,
    /// Layout of --input files (default: from the file name).
    #[arg(long, value_parser = SourceFormat::NAMES, requires = "inputs")]
    input_format: Option<String>,
    /// `xlsx`: a `Total` sheet and one sheet per grouping (all of them without --by).
    #[arg(long, default_value = "table", value_parser = ["table", "json", "csv", "xlsx"])]
    format: String,
    #[arg(long, env = "BAROMETRE_LANG", default_value = "fr", value_parser = ["fr", "en"])]
    lang: String,
    /// With `--format csv`: as a French Excel opens it (`;`, decimal commas, a byte-order mark).
    #[arg(long)]
    excel: bool,
    /// Write to this file instead of standard output (xlsx: default `report.xlsx`).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Only these indicators, comma-separated ids (`barometre metrics` lists them); the others
    /// are not computed.
    #[arg(long, value_name = "IDS")]
    metrics: Option<String>,
}

fn write_out(output: &Option<PathBuf>, text: &str) -> Result<()> {
    match output {
        Some(p) => std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(())
}

/// Prints phase timings on standard error when `BAROMETRE_TIMINGS` is set, with the page faults
/// each phase took (on this project's machines a fresh page costs microseconds).
struct Timings(Option<(std::time::Instant, u64)>);

/// Minor page faults so far (Linux; 0 elsewhere).
fn page_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    rest.split_whitespace().nth(7).and_then(|f| f.parse().ok()).unwrap_or(0)
}

impl Timings {
    fn start() -> Timings {
        Timings(std::env::var_os("BAROMETRE_TIMINGS").map(|_| (std::time::Instant::now(), page_faults())))
    }
    fn note(&self, what: &str) {
        if self.0.is_some() {
            eprintln!("{what}");
        }
    }
    fn mark(&mut self, what: &str) {
        if let Some((t, f)) = self.0 {
            let faults = page_faults();
            let u = barometre_alloc::usage();
            eprintln!(
                "{what}: {:.1} ms, {} page faults; large blocks {} MiB, {} MiB kept free",
                t.elapsed().as_secs_f64() * 1000.0,
                faults - f,
                u.live >> 20,
                u.kept >> 20
            );
            self.0 = Some((std::time::Instant::now(), faults));
        }
    }
}

pub fn report(ctx: &Ctx, a: ReportArgs) -> Result<ExitCode> {
    excel_needs_csv(a.excel, &a.format)?;
    let mut tm = Timings::start();
    let cfg = ctx.config()?;
    let p = a.period.params()?.with_metrics(a.metrics.as_deref()).map_err(anyhow::Error::msg)?;
    tm.mark("config");
    let mut rejected = 0;
    let table = if a.inputs.is_empty() {
        let store = ctx.store()?;
        tm.mark("open store");
        let (from, to) = report::load_span(&cfg, &p, a.format == "table");
        // A workbook holds a sheet per dimension, time included: it reads every message.
        if a.format != "xlsx" && !report::reads_messages(&cfg, &p) {
            store.table_covering(&ctx.workspace, &cfg, from, to, barometre_store::Covering::of(&cfg, &p))?
        } else {
            store.table(&ctx.workspace, &cfg, from, to)?
        }
    } else {
        let (table, bad) = one_shot(&a, &cfg, &mut tm)?;
        rejected = bad;
        table
    };
    tm.mark("load facts");
    if a.format == "xlsx" {
        let lang = Lang::parse(&a.lang).unwrap_or(Lang::Fr);
        let dims: Vec<Dim> = match p.by {
            Some(d) => vec![d],
            None => Dim::ALL.to_vec(),
        };
        let total = report::build(&table, &Params { by: None, ..p }, &cfg);
        let grouped: Vec<(Dim, report::Report)> =
            dims.into_iter().map(|d| (d, report::build(&table, &Params { by: Some(d), ..p }, &cfg))).collect();
        let mut sheets: Vec<(&str, &report::Report)> = vec![("Total", &total)];
        sheets.extend(grouped.iter().map(|(d, r)| (d.as_str(), r)));
        let out = a.output.clone().unwrap_or_else(|| PathBuf::from("report.xlsx"));
        render::report_xlsx(&sheets, lang, &out)?;
        eprintln!("{}", out.display());
        return Ok(if rejected > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS });
    }
    // Built after the XLSX branch: its sheets are reports of their own (a total, then each grouping).
    let rep = report::build(&table, &p, &cfg);
    tm.mark("aggregate");
    let text = match a.format.as_str() {
        "json" => serde_json::to_string_pretty(&rep)? + "\n",
        "csv" => render::report_csv(&rep, a.excel),
        _ => {
            let prev = p.previous().map(|pp| report::build(&table, &pp, &cfg));
            render::report_table(&rep, prev.as_ref(), Lang::parse(&a.lang).unwrap_or(Lang::Fr), &cfg)
        }
    };
    write_out(&a.output, &text)?;
    Ok(if rejected > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// Reads the --input files straight into the clock: no store, nothing kept. Rows are checked as
/// by `import` (a repeated id with other content is a bad row); the count of bad rows comes back.
/// A large CSV file of messages is read on two cores.
fn one_shot(a: &ReportArgs, cfg: &Config, tm: &mut Timings) -> Result<(barometre_core::table::FactTable, usize)> {
    let format = a.input_format.as_deref().and_then(SourceFormat::parse);
    let lang = Lang::parse(&a.lang).unwrap_or(Lang::Fr);
    let total = a.inputs.iter().chain(&a.events).filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let pb = reading_bar(total, lang);
    let mut g = oneshot::Gathered::default();
    for (kind, paths) in [(Kind::Messages, &a.inputs), (Kind::ConversationEvents, &a.events)] {
        let fmt = if kind == Kind::Messages { format } else { None };
        // The files of a kind are one source (an API's pages answer one another), except the
        // canonical CSV files large enough to be read in two halves on two cores.
        let mut rest = Vec::new();
        let mut plain = Options::new(kind);
        plain.format = fmt;
        for p in paths {
            let input = inputs(std::slice::from_ref(p));
            if let Some((header_end, cut)) = oneshot::halves_at(&plain, &input) {
                let progress = |n: u64| pb.inc(n);
                let (part, held) = oneshot::read_in_halves(&input[0], header_end, cut, cfg, &progress)?;
                tm.note(&format!("{}: cut at byte {cut} {}", p.display(), if held { "held" } else { "missed" }));
                g.append(part, 0);
                continue;
            }
            rest.push(p.clone());
        }
        if rest.is_empty() {
            continue;
        }
        let mut o = Options::new(kind);
        o.format = fmt;
        let said = Said { pb: pb.clone(), fr: lang == Lang::Fr, all: false };
        let files = Progress {
            r: source::read(inputs(&rest), o, Box::new(said)),
            pb: pb.clone(),
            rows: 0,
            base: pb.position(),
            after: None,
        };
        for r in files {
            g.take(r, cfg);
        }
    }
    tm.mark("read input");
    computing(&pb, after_reading(lang));
    let (inp, bad, more) = g.finish();
    let total = bad.len() as u64 + more;
    tm.mark("intern");
    pb.suspend(|| -> std::io::Result<()> {
        let mut err = std::io::stderr().lock();
        for e in &bad {
            writeln!(err, "{e}")?;
        }
        if more > 0 {
            let (fr, en) = (
                "lignes rejetées de plus (`barometre import --check` les liste toutes)",
                "more rows rejected (`barometre import --check` lists them all)",
            );
            writeln!(err, "… {more} {}", if lang == Lang::Fr { fr } else { en })?;
        }
        Ok(())
    })?;
    let table = barometre_core::engine::run_table(&inp, cfg);
    tm.mark("clock");
    pb.finish_and_clear();
    // Giving gigabytes back to the system takes a while: done beside the report, not before.
    std::thread::spawn(move || drop(inp));
    Ok((table, total as usize))
}

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// Metric id (see `barometre metrics`).
    metric: String,
    #[command(flatten)]
    period: PeriodArgs,
    /// The group's key (with --by); `null` for the facts without a value.
    #[arg(long, requires = "by")]
    group: Option<String>,
    /// Only the rows counted in the numerator (ratios).
    #[arg(long)]
    numerator: bool,
    #[arg(long, default_value = "table", value_parser = ["table", "json", "csv"])]
    format: String,
    /// With `--format csv`: as a French Excel opens it (`;`, decimal commas, a byte-order mark).
    #[arg(long)]
    excel: bool,
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// `--excel` shapes CSV only.
fn excel_needs_csv(excel: bool, format: &str) -> Result<()> {
    if excel && format != "csv" {
        bail!("--excel shapes CSV for a French spreadsheet: use it with --format csv");
    }
    Ok(())
}

pub fn explain(ctx: &Ctx, a: ExplainArgs) -> Result<ExitCode> {
    let Some(def) = metrics::find(&a.metric) else {
        let ids: Vec<&str> = metrics::METRICS.iter().map(|m| m.id).collect();
        bail!("unknown metric `{}`; known: {}", a.metric, ids.join(", "));
    };
    excel_needs_csv(a.excel, &a.format)?;
    let cfg = ctx.config()?;
    let p = a.period.params()?;
    let store = ctx.store()?;
    let (from, to) = report::load_span(&cfg, &p, false);
    let facts = store.facts(&ctx.workspace, &cfg, from, to)?;
    let records = store.records_credited(&ctx.workspace, &cfg, p.from, p.to)?;
    let mut e = report::explain(def, &facts, &records, &p, a.group.as_deref(), &cfg);
    if a.numerator {
        e.numerator_only();
    }
    let text = match a.format.as_str() {
        "json" => serde_json::to_string_pretty(&e)? + "\n",
        "csv" => render::rows_csv_as(&e.rows, a.excel),
        _ => render::rows_table(&e.rows),
    };
    write_out(&a.output, &text)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// What to export.
    #[arg(value_parser = ["conversations", "messages"])]
    what: String,
    #[command(flatten)]
    period: PeriodArgs,
    #[arg(long, default_value = "csv", value_parser = ["csv", "xlsx"])]
    format: String,
    /// With `--format csv`: as a French Excel opens it (`;`, decimal commas, a byte-order mark).
    #[arg(long)]
    excel: bool,
    /// Output file (required for xlsx; CSV goes to standard output without it).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub fn export(ctx: &Ctx, a: ExportArgs) -> Result<ExitCode> {
    excel_needs_csv(a.excel, &a.format)?;
    let cfg = ctx.config()?;
    let p = a.period.params()?;
    let store = ctx.store()?;
    // A conversation's later messages may lie after the period: load everything, select by start.
    let facts = store.facts(&ctx.workspace, &cfg, None, None)?;
    let rows = match a.what.as_str() {
        "messages" => render::message_rows(&facts, &p),
        _ => render::conversation_rows(&facts, &p, &cfg),
    };
    match a.format.as_str() {
        "xlsx" => {
            let out = a.output.unwrap_or_else(|| PathBuf::from(format!("{}.xlsx", a.what)));
            render::rows_xlsx(&rows, &out)?;
            eprintln!("{}", out.display());
        }
        _ => write_out(&a.output, &render::rows_csv_as(&rows, a.excel))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The demo's dashboard user: for a demo store only, its password is in the README.
const DEMO_USER: &str = "demo";
const DEMO_PASSWORD: &str = "demo-barometre";

#[derive(clap::Args)]
pub struct DemoArgs {
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Days of activity.
    #[arg(long, default_value_t = 42)]
    days: u32,
    /// Last day (exclusive end, a date); default: today (UTC).
    #[arg(long)]
    end: Option<String>,
    #[arg(long, env = "BAROMETRE_LANG", default_value = "fr", value_parser = ["fr", "en"])]
    lang: String,
}

pub fn demo(ctx: &Ctx, a: DemoArgs) -> Result<ExitCode> {
    let end = match &a.end {
        Some(e) => parse_bound(e, Zone::UTC).map_err(anyhow::Error::msg)?,
        None => {
            let now = chrono::Utc::now().timestamp_millis();
            now - now.rem_euclid(86_400_000)
        }
    };
    let data = barometre_core::demo::generate(a.seed, a.days, end);
    let cfg = ctx.config()?;
    let mut store = ctx.store()?;
    let file: std::sync::Arc<str> = std::sync::Arc::from("demo");
    let n = data.messages.len();
    use barometre_core::ingest::Record;
    let mut recs = data
        .messages
        .into_iter()
        .map(Record::Message)
        .chain(data.events.into_iter().map(Record::Event))
        .chain(data.surveys.into_iter().map(Record::Survey))
        .chain(data.contacts.into_iter().map(Record::Contact))
        .chain(data.posts.into_iter().map(Record::Post))
        .chain(data.customers.into_iter().map(Record::Customer))
        .chain(data.orders.into_iter().map(Record::Order))
        .chain(data.reviews.into_iter().map(Record::Review))
        .chain(data.probes.into_iter().map(Record::Probe))
        .enumerate()
        .map(|(i, record)| Ok(Located { file: file.clone(), line: i as u64 + 1, id_column: 1, record }));
    let sum = store.import(&ctx.workspace, &cfg, true, &mut recs, &mut ())?;
    if !sum.rejected.is_empty() {
        bail!("demo data rejected: {}", sum.rejected[0]);
    }
    // A dashboard user to look at the demo with (a demo store only: the password is public).
    if store.login(DEMO_USER, DEMO_PASSWORD)?.is_none() {
        let hash = barometre_store::auth::hash_password(DEMO_PASSWORD, barometre_store::auth::PASSWORD_ITERATIONS)?;
        store.create_user(DEMO_USER, &ctx.workspace, barometre_store::auth::Role::Admin, &hash)?;
    }
    let place = match ctx.store.as_deref().filter(|s| !s.is_empty()) {
        Some(url) => redacted(url),
        None => ctx.db.display().to_string(),
    };
    let msg = match Lang::parse(&a.lang).unwrap_or(Lang::Fr) {
        Lang::Fr => format!(
            "Démo : {n} messages sur {} jours dans {} (espace « {} »). Essayez : barometre report --by channel, \
             ou barometre serve puis http://127.0.0.1:8080 (utilisateur {DEMO_USER}, mot de passe {DEMO_PASSWORD})",
            a.days, place, ctx.workspace
        ),
        Lang::En => format!(
            "Demo: {n} messages over {} days in {} (workspace `{}`). Try: barometre report --by channel --lang en, \
             or barometre serve then http://127.0.0.1:8080 (user {DEMO_USER}, password {DEMO_PASSWORD})",
            a.days, place, ctx.workspace
        ),
    };
    eprintln!("{msg}");
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct MetricsArgs {
    #[arg(long, env = "BAROMETRE_LANG", default_value = "fr", value_parser = ["fr", "en"])]
    lang: String,
    #[arg(long, default_value = "markdown", value_parser = ["markdown", "json"])]
    format: String,
}

pub fn metrics(a: MetricsArgs) -> Result<ExitCode> {
    let lang = Lang::parse(&a.lang).unwrap_or(Lang::Fr);
    let text = match a.format.as_str() {
        "json" => {
            let v: Vec<serde_json::Value> = metrics::METRICS
                .iter()
                .map(|m| serde_json::json!({"id": m.id, "seed": m.seed, "label": m.label(lang), "formula": m.formula(lang)}))
                .collect();
            serde_json::to_string_pretty(&v)? + "\n"
        }
        _ => render::metrics_markdown(lang),
    };
    write_out(&None, &text)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// End of the checked windows (default: now).
    #[arg(long)]
    to: Option<String>,
    #[arg(long, default_value = "UTC")]
    tz: String,
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    format: String,
    #[arg(long, env = "BAROMETRE_LANG", default_value = "fr", value_parser = ["fr", "en"])]
    lang: String,
}

pub fn check(ctx: &Ctx, a: CheckArgs) -> Result<ExitCode> {
    let cfg = ctx.config()?;
    let zone = Zone::parse(&a.tz).map_err(anyhow::Error::msg)?;
    let to = match &a.to {
        Some(t) => parse_bound(t, zone).map_err(|e| anyhow::anyhow!("--to: {e}"))?,
        None => chrono::Utc::now().timestamp_millis(),
    };
    let longest = cfg.alerts.iter().map(|x| x.window_ms).chain([2 * cfg.staffing_window_ms]).max().unwrap_or(0);
    let store = ctx.store()?;
    let table = store.table(&ctx.workspace, &cfg, Some(to - longest - cfg.badge.window_ms), Some(to))?;
    let r = barometre_core::check::check(&table, to, zone, &cfg).map_err(anyhow::Error::msg)?;
    let lang = Lang::parse(&a.lang).unwrap_or(Lang::Fr);
    let text = match a.format.as_str() {
        "json" => serde_json::to_string_pretty(&r)? + "\n",
        _ => render::check_table(&r, lang),
    };
    write_out(&None, &text)?;
    Ok(if r.breached > 0 { ExitCode::from(3) } else { ExitCode::SUCCESS })
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BAROMETRE_ADDR", default_value = "127.0.0.1:8080")]
    addr: std::net::SocketAddr,
}

pub fn serve(ctx: &Ctx, a: ServeArgs) -> Result<ExitCode> {
    // A server lives on between requests: what a request freed goes back to the system past this.
    barometre_alloc::keep_at_most(256 << 20);
    let cfg = ctx.config()?;
    // Opening once creates the store and brings its schema up to date before the first request.
    ctx.store()?;
    let data: std::sync::Arc<dyn barometre_store::Opener> = match ctx.target()? {
        Target::Sqlite(path) => {
            std::sync::Arc::new(barometre_store::SqliteOpener { path, cache_kib: barometre_server::CACHE_KIB })
        }
        Target::ClickHouse(address) => {
            let accounts = ctx.db.clone();
            std::sync::Arc::new(barometre_store::clickhouse::ClickHouseOpener {
                address,
                control: std::sync::Arc::new(move || {
                    let s = SqliteStore::open(&accounts)?;
                    s.set_cache_kib(1024)?;
                    Ok(Box::new(s) as Box<dyn ControlPlane + Send>)
                }),
            })
        }
        // Every store of the pool over one pool of connections.
        Target::Postgres(url) => std::sync::Arc::new(
            barometre_store::pg_data::PgOpener::connect(&url)
                .with_context(|| format!("cannot open the store {}", redacted(&url)))?,
        ),
    };
    let opener: std::sync::Arc<dyn barometre_store::Opener> = match ctx.control()? {
        // Users, sessions and tokens in the shared control plane: several instances as one.
        Some(control) => std::sync::Arc::new(barometre_store::SplitOpener { data, control }),
        None => data,
    };
    // Import bodies are staged beside the SQLite file (the accounts' one for ClickHouse).
    let staging = match ctx.target()? {
        Target::Sqlite(path) => path,
        Target::ClickHouse(_) | Target::Postgres(_) => ctx.db.clone(),
    };
    let state = barometre_server::AppState::with_store(opener, staging, cfg);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(barometre_server::serve(state, a.addr))?;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    what: AdminWhat,
}

#[derive(clap::Subcommand)]
enum AdminWhat {
    /// Workspaces: one per brand or client.
    Workspace {
        #[command(subcommand)]
        action: WorkspaceAction,
    },
    /// API tokens (shown once, stored hashed).
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Dashboard users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
}

#[derive(clap::Subcommand)]
enum UserAction {
    /// Create a user of `--workspace` (or change their role and password). The password is read
    /// from `BAROMETRE_PASSWORD`, else from the first line of standard input.
    Create {
        name: String,
        #[arg(long, value_parser = ["viewer", "analyst", "admin"])]
        role: String,
    },
    /// Change a user's password (read like `create`'s) and end every session of that user.
    Password { name: String },
}

#[derive(clap::Subcommand)]
enum WorkspaceAction {
    /// Create a workspace (nothing happens if it exists).
    Create { name: String },
    /// List the workspaces.
    List,
}

#[derive(clap::Subcommand)]
enum TokenAction {
    /// Create a token for `--workspace`; it is printed alone on standard output, once.
    Create {
        #[arg(long, value_parser = ["viewer", "analyst", "admin"])]
        role: String,
        /// How long the token is valid: `90d` (the default), `12h`, `30m`, or `never`.
        #[arg(long, default_value = "90d")]
        expires_in: String,
    },
    /// List every token by id (the tokens themselves are not kept): workspace, role, created,
    /// expires.
    List,
    /// Revoke a token: the token itself, as `create` printed it, or its id from `list`.
    Revoke { token: String },
}

/// `90d`, `12h`, `30m`, `45s` as milliseconds; `never` as `None`.
fn validity(s: &str) -> Result<Option<i64>> {
    if s.trim().eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    let ms = barometre_core::time::parse_duration(s).map_err(|e| anyhow::anyhow!("{e}, or `never`"))?;
    if ms <= 0 {
        bail!("a token's validity must be positive (or `never`)");
    }
    Ok(Some(ms))
}

/// A password from `BAROMETRE_PASSWORD`, else the first line of standard input.
fn read_password() -> Result<String> {
    let password = match std::env::var("BAROMETRE_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
    };
    if password.chars().count() < 8 {
        bail!("a password has at least 8 characters");
    }
    Ok(password)
}

pub fn admin(ctx: &Ctx, a: AdminArgs) -> Result<ExitCode> {
    let mut store = ctx.full_store()?;
    match a.what {
        AdminWhat::Workspace { action: WorkspaceAction::Create { name } } => {
            if name.trim().is_empty() {
                bail!("a workspace needs a name");
            }
            let created = store.create_workspace(&name)?;
            eprintln!("{} {name}", if created { "created" } else { "exists:" });
        }
        AdminWhat::Workspace { action: WorkspaceAction::List } => {
            for w in store.workspaces()? {
                println!("{w}");
            }
        }
        AdminWhat::Token { action: TokenAction::Create { role, expires_in } } => {
            let token_workspace = ctx.workspace.clone();
            if !store.workspaces()?.contains(&token_workspace) {
                bail!("no workspace `{token_workspace}` (create it with `barometre admin workspace create {token_workspace}`)");
            }
            let role = barometre_store::auth::Role::parse(&role).expect("clap checked the role");
            let now = chrono::Utc::now().timestamp_millis();
            let expires = validity(&expires_in)?.map(|ms| now.saturating_add(ms));
            println!("{}", store.create_token(&token_workspace, role, expires)?);
        }
        AdminWhat::Token { action: TokenAction::List } => {
            let when = |ms: i64| {
                chrono::DateTime::from_timestamp_millis(ms)
                    .map_or_else(|| ms.to_string(), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            };
            println!("id\tworkspace\trole\tcreated\texpires");
            for t in store.tokens()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.workspace,
                    t.role.as_str(),
                    when(t.created_ms),
                    t.expires_ms.map_or_else(|| "never".to_string(), when)
                );
            }
        }
        AdminWhat::Token { action: TokenAction::Revoke { token } } => {
            if store.revoke_token(&token)? == 0 {
                bail!("no such token (give the token itself, or its id from `barometre admin token list`)");
            }
            eprintln!("revoked");
        }
        AdminWhat::User { action: UserAction::Password { name } } => {
            let password = read_password()?;
            let hash = barometre_store::auth::hash_password(&password, barometre_store::auth::PASSWORD_ITERATIONS)?;
            if !store.set_password(&name, &hash)? {
                bail!("no user `{name}`");
            }
            eprintln!("password of {name} changed; every session of {name} ended");
        }
        AdminWhat::User { action: UserAction::Create { name, role } } => {
            if !store.workspaces()?.contains(&ctx.workspace) {
                bail!("no workspace `{}` (create it with `barometre admin workspace create {0}`)", ctx.workspace);
            }
            let password = read_password()?;
            let role = barometre_store::auth::Role::parse(&role).expect("clap checked the role");
            let hash = barometre_store::auth::hash_password(&password, barometre_store::auth::PASSWORD_ITERATIONS)?;
            store.create_user(&name, &ctx.workspace, role, &hash)?;
            eprintln!("user {name} ({}) in {}", role.as_str(), ctx.workspace);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct SummaryArgs {
    /// Period start (RFC 3339 instant, or a date = local midnight in --tz), inclusive.
    #[arg(long)]
    from: Option<String>,
    /// Period end, exclusive.
    #[arg(long)]
    to: Option<String>,
    /// Group by (days are UTC days).
    #[arg(long, value_parser = barometre_store::summary::BY)]
    by: Option<String>,
    /// Time zone of bare dates in --from and --to.
    #[arg(long, default_value = "UTC")]
    tz: String,
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    format: String,
    #[arg(long, env = "BAROMETRE_LANG", default_value = "fr", value_parser = ["fr", "en"])]
    lang: String,
}

/// `barometre summary`: requests, response rate and response times by group, aggregated by the
/// store's engine where it can (ClickHouse, on every shard), else from the facts here.
pub fn summary(ctx: &Ctx, a: SummaryArgs) -> Result<ExitCode> {
    let cfg = ctx.config()?;
    let zone = Zone::parse(&a.tz).map_err(|e| anyhow::anyhow!("--tz: {e}"))?;
    let from =
        a.from.as_deref().map(|t| parse_bound(t, zone)).transpose().map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    let to = a.to.as_deref().map(|t| parse_bound(t, zone)).transpose().map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    let store = ctx.store()?;
    let rows = store.request_summary(&ctx.workspace, &cfg, from, to, a.by.as_deref())?;
    let lang = Lang::parse(&a.lang).unwrap_or(Lang::Fr);
    let text = match a.format.as_str() {
        "json" => serde_json::to_string_pretty(&rows)? + "\n",
        _ => render::summary_table(&rows, a.by.is_some(), lang),
    };
    write_out(&None, &text)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct BarometerArgs {
    /// Only this campaign (default: every probe).
    #[arg(long)]
    campaign: Option<String>,
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    format: String,
    #[arg(long, env = "BAROMETRE_LANG", default_value = "fr", value_parser = ["fr", "en"])]
    lang: String,
}

pub fn barometer(ctx: &Ctx, a: BarometerArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let b = barometre_core::barometer::build(&store.probes(&ctx.workspace)?, a.campaign.as_deref());
    let text = match a.format.as_str() {
        "json" => serde_json::to_string_pretty(&b)? + "\n",
        _ => render::barometer_table(&b, Lang::parse(&a.lang).unwrap_or(Lang::Fr)),
    };
    write_out(&None, &text)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// Which messages: the labelled set's test part (the harness), its train part, or a
    /// cross-validation over the train part (how the model's choices are measured).
    #[arg(long, default_value = "test", value_parser = ["test", "train", "cross-validate", "all"])]
    split: String,
    /// Labelled messages of your own (JSON Lines: `text`, `label`, `id`, `lang`) instead.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Only the messages of this language.
    #[arg(long, value_parser = ["fr", "en"])]
    only: Option<String>,
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    format: String,
    #[arg(long, env = "BAROMETRE_LANG", default_value = "fr", value_parser = ["fr", "en"])]
    lang: String,
    /// Measure the FAQ matching instead: on the shipped knowledge bases and questions (`--faq`
    /// alone, by `--split`), or on a knowledge base of yours (`--faq FAQ.csv`) with questions
    /// you labelled (`--file`, JSON Lines: `text`, `faq` = the answering entry's id or null).
    #[arg(long, num_args = 0..=1, default_missing_value = "")]
    faq: Option<String>,
}

/// `barometre eval --faq`: how often the FAQ entry found is the one that answers; exit 1 when the
/// shipped matching misses its floors on the test part.
fn eval_faq(a: &EvalArgs, faq_file: &str) -> Result<ExitCode> {
    use barometre_core::understand::faq;
    let lang = Lang::parse(&a.lang).unwrap_or(Lang::Fr);
    let e = if faq_file.is_empty() {
        match a.split.as_str() {
            "train" => faq::evaluate_part(false, faq::PARAMS),
            "test" => faq::evaluate_part(true, faq::PARAMS),
            _ => {
                let all: Vec<faq::Evaluation> =
                    faq::evaluation_set().iter().map(|(f, asked)| faq::evaluate(f, asked)).collect();
                faq::Evaluation::sum(&all)
            }
        }
    } else {
        let bytes = std::fs::read(faq_file).with_context(|| format!("{faq_file}: cannot read"))?;
        let (entries, errors) = faq::read_faq(faq_file, &bytes, 0);
        if let Some(e) = errors.first() {
            bail!("{e}");
        }
        let Some(f) = &a.file else { bail!("--faq FILE needs --file QUESTIONS.jsonl (`text`, `faq` a line)") };
        let text = std::fs::read_to_string(f).with_context(|| format!("{}: cannot read", f.display()))?;
        let mut asked = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            asked.push(
                serde_json::from_str::<faq::Asked>(line)
                    .map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", f.display(), i + 1, e.column()))?,
            );
        }
        faq::evaluate(&faq::Faq::new(entries), &asked)
    };
    let text = match a.format.as_str() {
        "json" => {
            let mut v = serde_json::to_value(&e)?;
            v["meets_targets"] = serde_json::Value::Bool(e.meets_targets());
            serde_json::to_string_pretty(&v)? + "\n"
        }
        _ => render::faq_evaluation(&e, lang),
    };
    write_out(&None, &text)?;
    let harness = faq_file.is_empty() && a.split == "test";
    Ok(if harness && !e.meets_targets() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `barometre eval`: precision, recall and F1 per label, and the confusion matrix; exit 1 when
/// the test part misses the targets.
pub fn eval(a: EvalArgs) -> Result<ExitCode> {
    use barometre_core::understand::{self, Label, Split};
    if let Some(f) = &a.faq {
        return eval_faq(&a, f);
    }
    let lang = Lang::parse(&a.lang).unwrap_or(Lang::Fr);
    let messages = match &a.file {
        Some(f) => {
            let text = std::fs::read_to_string(f).with_context(|| format!("{}: cannot read", f.display()))?;
            understand::read_labelled(&f.display().to_string(), &text).map_err(|e| anyhow::anyhow!(e))?
        }
        None => understand::labelled_set(),
    };
    let messages: Vec<understand::Labelled> =
        messages.into_iter().filter(|l| a.only.as_deref().is_none_or(|o| l.lang == o)).collect();
    let e = match (a.file.is_some(), a.split.as_str()) {
        (false, "cross-validate") => understand::cross_validate(5),
        (false, "all") | (true, _) => understand::evaluate(&messages),
        (false, part) => {
            let want = if part == "train" { Split::Train } else { Split::Test };
            let of: Vec<understand::Labelled> = messages.into_iter().filter(|l| Split::of(&l.id) == want).collect();
            understand::evaluate(&of)
        }
    };
    let text = match a.format.as_str() {
        "json" => {
            let mut v = serde_json::to_value(&e)?;
            v["labels"] = serde_json::Value::Object(
                e.labels.iter().map(|(k, s)| (k.to_string(), serde_json::to_value(s).unwrap_or_default())).collect(),
            );
            v["confusion_labels"] = serde_json::json!(Label::ALL.map(Label::as_str));
            v["meets_targets"] = serde_json::Value::Bool(e.meets_targets());
            serde_json::to_string_pretty(&v)? + "\n"
        }
        _ => render::evaluation(&e, lang),
    };
    write_out(&None, &text)?;
    // The targets bind the shipped model on its test part; other messages are measured only.
    let harness = a.file.is_none() && a.split == "test" && a.only.is_none();
    Ok(if harness && !e.meets_targets() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

#[derive(clap::Args)]
pub struct LabelArgs {
    /// The incoming message to relabel.
    message_id: Option<String>,
    /// Its label (docs/labelling-guide.md): spam, off_topic, complaint, technical_question,
    /// question, suggestion, feedback_negative, feedback_positive, thanks_only, other.
    label: Option<String>,
    /// Removes the analyst's label: the row's column or its text speaks again.
    #[arg(long)]
    clear: bool,
    /// Lists the workspace's corrections.
    #[arg(long)]
    list: bool,
    /// Who corrects (kept with the correction).
    #[arg(long, env = "USER")]
    by: Option<String>,
    #[arg(long, env = "BAROMETRE_LANG", default_value = "fr", value_parser = ["fr", "en"])]
    lang: String,
}

/// `barometre label MESSAGE_ID LABEL`: an analyst's correction, counted in every figure and kept
/// across re-imports; `--clear` removes it, `--list` lists them.
pub fn label(ctx: &Ctx, a: LabelArgs) -> Result<ExitCode> {
    use barometre_core::understand::Label;
    let lang = Lang::parse(&a.lang).unwrap_or(Lang::Fr);
    let fr = lang == Lang::Fr;
    let cfg = ctx.config()?;
    let mut store = ctx.store()?;
    if a.list {
        let mut out = String::from("message_id,label,by,at\n");
        for c in store.corrections(&ctx.workspace)? {
            out.push_str(&format!(
                "{},{},{},{}\n",
                c.message_id,
                c.label.as_str(),
                c.by.unwrap_or_default(),
                barometre_core::time::rfc3339_utc(c.at_ms)
            ));
        }
        write_out(&None, &out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(id) = a.message_id else {
        bail!(if fr { "donnez l'identifiant d'un message (ou --list)" } else { "give a message id (or --list)" })
    };
    let names = Label::ALL.map(Label::as_str).join(", ");
    let label = match (a.clear, a.label.as_deref()) {
        (true, None) => None,
        (false, Some(l)) => Some(Label::parse(l).ok_or_else(|| {
            if fr {
                anyhow::anyhow!("étiquette inconnue `{l}` (unknown label) : l'une de {names}")
            } else {
                anyhow::anyhow!("unknown label `{l}`: one of {names}")
            }
        })?),
        (true, Some(_)) => {
            bail!(if fr { "une étiquette ou --clear, pas les deux" } else { "give a label or --clear, not both" })
        }
        (false, None) => bail!(if fr { "donnez une étiquette (ou --clear)" } else { "give a label (or --clear)" }),
    };
    if !store.correct_label(&ctx.workspace, &cfg, &id, label, a.by.as_deref())? {
        if fr {
            eprintln!(
                "{id} : aucun message entrant de cet identifiant dans l'espace {} (no incoming message)",
                ctx.workspace
            );
        } else {
            eprintln!("{id}: no incoming message of that id in workspace {}", ctx.workspace);
        }
        return Ok(ExitCode::from(1));
    }
    match (label, fr) {
        (Some(l), true) => eprintln!("{id} : {} (correction ; chiffres recalculés)", l.name(lang)),
        (Some(l), false) => eprintln!("{id}: {} (correction; figures recomputed)", l.name(lang)),
        (None, true) => eprintln!("{id} : correction retirée (chiffres recalculés)"),
        (None, false) => eprintln!("{id}: correction removed (figures recomputed)"),
    }
    Ok(ExitCode::SUCCESS)
}
