//! The reading seam: one source per import (one or several files of it), yielding located rows of
//! one or several kinds. Every format is one file of this module's parent; this one recognises
//! which (from the content, said to the user), the encoding and the separator, and chains the
//! files, so that the CLI and the server read exactly alike.
//!
//! Row-per-line formats (CSV, JSON Lines, spreadsheets, the Twitter file) are read file by file.
//! API dumps (Meta Graph, X API v2, Zendesk, Chatwoot) are read as one source: a first pass over
//! all their files learns who is who (a Zendesk user's role, a ticket's channel, the page's own
//! id), a second yields rows, one file in memory at a time.

use super::decode::{self, Encoding};
use super::*;
use crate::time::{guess_date_format, DateGuess};
use std::collections::VecDeque;

/// How the files of a source are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Csv,
    Jsonl,
    Json,
    Xlsx,
    Twcs,
    MetaGraph,
    XV2,
    Zendesk,
    Chatwoot,
}

impl SourceFormat {
    pub const NAMES: [&'static str; 9] =
        ["csv", "jsonl", "json", "xlsx", "twcs", "meta-graph", "x-v2", "zendesk", "chatwoot"];

    pub fn parse(s: &str) -> Option<SourceFormat> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "csv" | "tsv" => SourceFormat::Csv,
            "jsonl" | "ndjson" => SourceFormat::Jsonl,
            "json" => SourceFormat::Json,
            "xlsx" | "xls" | "ods" | "excel" => SourceFormat::Xlsx,
            "twcs" => SourceFormat::Twcs,
            "meta-graph" | "meta" | "facebook" | "instagram" => SourceFormat::MetaGraph,
            "x-v2" | "x" | "twitter-v2" => SourceFormat::XV2,
            "zendesk" => SourceFormat::Zendesk,
            "chatwoot" => SourceFormat::Chatwoot,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::Csv => "csv",
            SourceFormat::Jsonl => "jsonl",
            SourceFormat::Json => "json",
            SourceFormat::Xlsx => "xlsx",
            SourceFormat::Twcs => "twcs",
            SourceFormat::MetaGraph => "meta-graph",
            SourceFormat::XV2 => "x-v2",
            SourceFormat::Zendesk => "zendesk",
            SourceFormat::Chatwoot => "chatwoot",
        }
    }

    /// API dumps: read as one source over all their files, whatever kind was asked.
    pub fn is_api(self) -> bool {
        matches!(self, SourceFormat::MetaGraph | SourceFormat::XV2 | SourceFormat::Zendesk | SourceFormat::Chatwoot)
    }
}

/// Opens the file at a byte offset (0: its start).
type Opener = Arc<dyn Fn(u64) -> io::Result<Box<dyn Read + Send>> + Send + Sync>;

/// One file of a source: its name (as errors give it), its size, and how to read it (some
/// formats read a file twice).
#[derive(Clone)]
pub struct Input {
    pub name: Arc<str>,
    pub len: u64,
    open: Opener,
}

impl Input {
    /// A file read from its start only (`open_at` past 0 then reads and drops the bytes before).
    pub fn new(
        name: &str,
        len: u64,
        open: impl Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync + 'static,
    ) -> Input {
        Input::seekable(name, len, move |at| {
            let mut r = open()?;
            io::copy(&mut (&mut r).take(at), &mut io::sink())?;
            Ok(r)
        })
    }

    /// A file that can be opened at any offset (a file on disk: read in parts on several cores).
    pub fn seekable(
        name: &str,
        len: u64,
        open_at: impl Fn(u64) -> io::Result<Box<dyn Read + Send>> + Send + Sync + 'static,
    ) -> Input {
        Input { name: Arc::from(name), len, open: Arc::new(open_at) }
    }

    /// A file on disk of `len` bytes, opened at any offset (read in parts, on several cores);
    /// `name` is what its errors call it. A folder fails to open, as a file that is not there.
    pub fn file(name: &str, path: &std::path::Path, len: u64) -> Input {
        let path = path.to_path_buf();
        Input::seekable(name, len, move |at| {
            use std::io::Seek;
            let mut f = std::fs::File::open(&path)?;
            if f.metadata()?.is_dir() {
                return Err(io::Error::other("a folder, not a file"));
            }
            f.seek(io::SeekFrom::Start(at))?;
            Ok(Box::new(BufReader::with_capacity(1 << 16, f)) as Box<dyn Read + Send>)
        })
    }

    /// A file held in memory.
    pub fn bytes(name: &str, data: impl Into<Arc<[u8]>>) -> Input {
        let data: Arc<[u8]> = data.into();
        let len = data.len() as u64;
        Input::seekable(name, len, move |at| {
            let mut c = io::Cursor::new(data.clone());
            c.set_position(at);
            Ok(Box::new(c) as Box<dyn Read + Send>)
        })
    }

    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        (self.open)(0)
    }

    /// The file from byte `at` on.
    pub fn open_at(&self, at: u64) -> io::Result<Box<dyn Read + Send>> {
        (self.open)(at)
    }

    /// The first 64 KiB, from which formats, encodings and separators are recognised.
    pub fn head(&self) -> io::Result<Vec<u8>> {
        let mut head = Vec::with_capacity(1 << 16);
        self.open()?.take(1 << 16).read_to_end(&mut head)?;
        Ok(head)
    }

    /// The whole file, at most `cap` bytes (API responses are read whole).
    pub(super) fn read_capped(&self, cap: u64) -> Result<Vec<u8>, String> {
        let mut all = Vec::new();
        let mut r = self.open().map_err(|e| format!("cannot read: {e}"))?;
        (&mut r).take(cap + 1).read_to_end(&mut all).map_err(|e| format!("cannot read: {e}"))?;
        if all.len() as u64 > cap {
            // JSON documents, API pages and workbooks are read whole: past this size, split them
            // (row-per-line formats stream whatever their size).
            return Err(format!(
                "a file over {} MiB of this format is not read: split it (API exports page their responses; CSV and JSON Lines stream at any size)",
                cap >> 20
            ));
        }
        Ok(all)
    }
}

/// How a command asked the files to be read; `None` fields are recognised from the content.
#[derive(Debug, Clone)]
pub struct Options {
    pub kind: Kind,
    pub format: Option<SourceFormat>,
    pub delimiter: Option<u8>,
    pub encoding: Option<Encoding>,
    pub rules: Rules,
    /// The company's own ids or `@handles`, where an export does not say which side is whose.
    pub accounts: Vec<String>,
    /// Sets the `account` of every row (one brand's sources reported as one account).
    pub account_name: Option<String>,
    /// The sheet of a workbook (default: the first).
    pub sheet: Option<String>,
}

/// `--delimiter`: one character, or `tab`.
pub fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!("`{s}` is not a one-character separator (`,`, `;`, `tab`, `|`)")),
    }
}

impl Options {
    /// Reads as a `[mappings.NAME]` table of the configuration says (options given after it
    /// override it).
    pub fn apply_mapping(&mut self, m: &crate::config::Mapping) -> Result<(), String> {
        self.rules.columns = m.columns.clone();
        self.rules.values = m.values.clone();
        self.rules.dates.format = m.date_format.clone();
        self.rules.dates.zone = m.timezone.as_deref().map(crate::time::Zone::parse).transpose()?;
        self.delimiter = m.delimiter.as_deref().map(parse_delimiter).transpose()?;
        self.encoding = m.encoding.as_deref().map(Encoding::parse_named).transpose()?;
        self.sheet = m.sheet.clone();
        Ok(())
    }

    pub fn new(kind: Kind) -> Options {
        Options {
            kind,
            format: None,
            delimiter: None,
            encoding: None,
            rules: Rules::default(),
            accounts: Vec::new(),
            account_name: None,
            sheet: None,
        }
    }
}

/// What was recognised of a file, said to the user before its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognised {
    pub file: String,
    pub format: SourceFormat,
    /// The format was recognised from the content (not `--format`).
    pub from_content: bool,
    pub separator: Option<u8>,
    pub encoding: Option<Encoding>,
    /// The layout of its instants when not RFC 3339, and the zone of wall-clock times.
    pub date_format: Option<String>,
    pub zone: Option<String>,
    pub mapping: Vec<(String, String)>,
    /// The sheet read, for a workbook.
    pub sheet: Option<String>,
    /// A problem of the whole file, said once before its rows.
    pub warning: Option<String>,
}

impl Recognised {
    /// A file of `format`, nothing else recognised yet.
    fn new(file: &str, format: SourceFormat, from_content: bool) -> Recognised {
        Recognised {
            file: file.to_string(),
            format,
            from_content,
            separator: None,
            encoding: None,
            date_format: None,
            zone: None,
            mapping: Vec::new(),
            sheet: None,
            warning: None,
        }
    }

    /// One line: `file: format csv (recognised), separator `;`, encoding Windows-1252, …`.
    pub fn describe(&self, fr: bool) -> String {
        let mut parts = Vec::new();
        // A row-per-line file recognised as what its name says needs no word.
        if !(self.from_content && matches!(self.format, SourceFormat::Csv | SourceFormat::Jsonl)) {
            let how = match (self.from_content, fr) {
                (false, _) => "",
                (true, true) => " (reconnu)",
                (true, false) => " (recognised)",
            };
            parts.push(format!("format {}{how}", self.format.name()));
        }
        if let Some(s) = self.separator {
            parts.push(format!("{} {}", if fr { "séparateur" } else { "separator" }, delimiter_name(s)));
        }
        if let Some(e) = self.encoding {
            parts.push(format!("{} {}", if fr { "encodage" } else { "encoding" }, e.name()));
        }
        if let Some(d) = &self.date_format {
            parts.push(format!("dates `{d}`"));
        }
        if let Some(z) = &self.zone {
            parts.push(format!("{} {z}", if fr { "fuseau" } else { "zone" }));
        }
        if let Some(s) = &self.sheet {
            parts.push(format!("{} {s}", if fr { "feuille" } else { "sheet" }));
        }
        if !self.mapping.is_empty() {
            let m: Vec<String> = self.mapping.iter().map(|(f, c)| format!("{f} ← {c}")).collect();
            parts.push(format!("{} {}", if fr { "colonnes" } else { "columns" }, m.join(", ")));
        }
        let mut line = format!("{}: {}", self.file, parts.join(", "));
        if let Some(w) = &self.warning {
            if parts.is_empty() {
                line = format!("{}: ⚠ {w}", self.file);
            } else {
                line.push_str(&format!("\n{}: ⚠ {w}", self.file));
            }
        }
        line
    }

    /// Whether anything was recognised that the user did not say (worth a line before the rows).
    pub fn notable(&self) -> bool {
        (self.from_content && !matches!(self.format, SourceFormat::Csv | SourceFormat::Jsonl))
            || self.separator.is_some_and(|s| s != b',')
            || self.encoding.is_some_and(|e| e != Encoding::Utf8)
            || self.date_format.is_some()
            || self.sheet.is_some()
            || self.warning.is_some()
    }
}

/// Where a reading reports what it recognised and which files held no rows.
pub trait ReadSink {
    fn recognised(&mut self, _r: &Recognised) {}
    fn no_rows(&mut self, _file: &str) {}
}

impl ReadSink for () {}

/// A stream of located rows from one unit of a source (a file, or an API dump's files).
pub(super) trait Rows: Iterator<Item = Result<Located, RowError>> + Send {
    /// Bytes of the unit consumed so far.
    fn bytes_read(&self) -> u64;
}

impl<R: Read + Send> Rows for RecordReader<R> {
    fn bytes_read(&self) -> u64 {
        RecordReader::bytes_read(self)
    }
}

/// What the reading does next.
enum Unit {
    File(Input),
    Api(SourceFormat, Vec<Input>),
}

/// The rows of a whole source: every file chained, recognised as it is opened.
pub struct Reading {
    opts: Arc<Options>,
    units: VecDeque<Unit>,
    current: Option<(Box<dyn Rows>, String, u64)>,
    sink: Box<dyn ReadSink + Send>,
    /// Files (or API sources) that could not be read at all.
    pub unreadable: u64,
    /// Rows taken (or refused) in the unit being read.
    in_unit: u64,
    done_bytes: u64,
    /// Rows yielded, per kind.
    counts: [u64; Kind::ALL.len()],
    rules: Arc<Rules>,
}

/// Reads `inputs` as one source.
pub fn read(inputs: Vec<Input>, opts: Options, sink: Box<dyn ReadSink + Send>) -> Reading {
    // API files go together (their first pass needs them all), where the first of them stands;
    // the others one by one, in order.
    let mut units: VecDeque<Unit> = VecDeque::new();
    let mut errors = Vec::new();
    for i in inputs {
        let format = match opts.format {
            Some(f) => f,
            None => match i.head() {
                Ok(h) => detect(&i.name, &h),
                Err(e) => {
                    errors.push(RowError {
                        file: i.name.to_string(),
                        line: 1,
                        column: 1,
                        reason: format!("cannot read: {e}"),
                    });
                    continue;
                }
            },
        };
        if !format.is_api() {
            units.push_back(Unit::File(i));
            continue;
        }
        match units.iter_mut().find_map(|u| match u {
            Unit::Api(g, files) if *g == format => Some(files),
            Unit::Api(..) | Unit::File(_) => None,
        }) {
            Some(files) => files.push(i),
            None => units.push_back(Unit::Api(format, vec![i])),
        }
    }
    let rules = Arc::new(opts.rules.clone());
    let mut r = Reading {
        opts: Arc::new(opts),
        units,
        current: None,
        sink,
        unreadable: 0,
        in_unit: 0,
        done_bytes: 0,
        counts: [0; Kind::ALL.len()],
        rules,
    };
    if !errors.is_empty() {
        r.unreadable += errors.len() as u64;
        r.current =
            Some((Box::new(Listed(errors.into_iter().map(Err).collect::<Vec<_>>().into_iter())), String::new(), 0));
    }
    r
}

/// A fixed list of rows (a file-level error, a parsed API response).
struct Listed(std::vec::IntoIter<Result<Located, RowError>>);

impl Iterator for Listed {
    type Item = Result<Located, RowError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }
}

impl Rows for Listed {
    fn bytes_read(&self) -> u64 {
        0
    }
}

impl Reading {
    /// Bytes read so far over every file, for a progress bar.
    pub fn bytes_read(&self) -> u64 {
        self.done_bytes + self.current.as_ref().map_or(0, |(r, _, _)| r.bytes_read())
    }

    /// Rows of `kind` yielded so far.
    pub fn rows_of(&self, kind: Kind) -> u64 {
        self.counts[kind as usize]
    }

    fn open_next(&mut self) -> Option<()> {
        let unit = self.units.pop_front()?;
        self.in_unit = 0;
        let opts = self.opts.clone();
        let (rows, name, len): (Box<dyn Rows>, String, u64) = match unit {
            Unit::File(input) => {
                let len = input.len;
                let name = input.name.to_string();
                match open_file(input, &opts, &self.rules) {
                    Ok((rows, rec)) => {
                        self.sink.recognised(&rec);
                        (rows, name, len)
                    }
                    Err(e) => {
                        self.unreadable += 1;
                        (Box::new(Listed(vec![Err(e)].into_iter())), name, len)
                    }
                }
            }
            Unit::Api(format, inputs) => {
                let len = inputs.iter().map(|i| i.len).sum();
                let name = inputs.iter().map(|i| i.name.to_string()).collect::<Vec<_>>().join(", ");
                for i in &inputs {
                    self.sink.recognised(&Recognised::new(&i.name, format, opts.format.is_none()));
                }
                match api_rows(format, inputs, &opts) {
                    Ok(rows) => (rows, name, len),
                    Err(e) => {
                        self.unreadable += 1;
                        (Box::new(Listed(vec![Err(e)].into_iter())), name, len)
                    }
                }
            }
        };
        self.current = Some((rows, name, len));
        Some(())
    }
}

impl Iterator for Reading {
    type Item = Result<Located, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((rows, name, len)) = &mut self.current {
                if let Some(mut r) = rows.next() {
                    self.in_unit += 1;
                    if let Ok(l) = &mut r {
                        self.counts[l.record.kind() as usize] += 1;
                        if let Some(a) = &self.opts.account_name {
                            l.record.set_account(a);
                        }
                    }
                    return Some(r);
                }
                if self.in_unit == 0 && !name.is_empty() {
                    self.sink.no_rows(name);
                }
                self.done_bytes += *len;
                self.current = None;
            }
            self.open_next()?;
        }
    }
}

/// The format of a file from its first bytes (and its name when the content allows two).
pub fn detect(name: &str, head: &[u8]) -> SourceFormat {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"\xD0\xCF\x11\xE0") {
        return SourceFormat::Xlsx;
    }
    let enc = decode::detect(head);
    let mut text = String::new();
    let _ = decode::utf8_reader(head, enc).read_to_string(&mut text);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        if let Some(api) = detect_api(t) {
            return api;
        }
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            return SourceFormat::Jsonl;
        }
        if t.starts_with('[') {
            return SourceFormat::Json;
        }
        // One object per line, or one object holding the rows.
        let first = t.lines().next().unwrap_or("");
        if serde_json::from_str::<serde_json::Value>(first).is_ok() {
            return SourceFormat::Jsonl;
        }
        return SourceFormat::Json;
    }
    let first = t.lines().next().unwrap_or("").to_ascii_lowercase();
    if ["tweet_id", "inbound", "in_response_to_tweet_id"].iter().all(|c| first.contains(c)) {
        return SourceFormat::Twcs;
    }
    SourceFormat::Csv
}

/// Which API a JSON response comes from, by the members only it writes.
fn detect_api(t: &str) -> Option<SourceFormat> {
    let has = |k: &str| t.contains(&format!("\"{k}\""));
    if has("ticket_events") || has("tickets") || has("satisfaction_ratings") {
        return Some(SourceFormat::Zendesk);
    }
    if has("message_type") || has("inbox_id") {
        return Some(SourceFormat::Chatwoot);
    }
    if has("edit_history_tweet_ids")
        || has("referenced_tweets")
        || has("dm_conversation_id")
        || has("result_count")
        || (has("conversation_id") && has("author_id") && (has("result_count") || has("next_token")))
    {
        return Some(SourceFormat::XV2);
    }
    if has("created_time")
        || (has("paging") && has("cursors"))
        || has("participants")
        || (has("period") && has("values"))
        || has("fbtrace_id")
    {
        return Some(SourceFormat::MetaGraph);
    }
    None
}

/// Opens one row-per-line file: its encoding, separator and date layout recognised.
fn open_file(input: Input, opts: &Options, rules: &Arc<Rules>) -> Result<(Box<dyn Rows>, Recognised), RowError> {
    let err = |reason: String| RowError { file: input.name.to_string(), line: 1, column: 1, reason };
    let head = input.head().map_err(|e| err(format!("cannot read: {e}")))?;
    let format = opts.format.unwrap_or_else(|| detect(&input.name, &head));
    let mut rec = Recognised {
        date_format: rules.dates.format.clone(),
        zone: rules.dates.zone.map(|z| z.name()),
        mapping: rules.columns.clone(),
        ..Recognised::new(&input.name, format, opts.format.is_none())
    };
    if format == SourceFormat::Xlsx {
        let (rows, sheet) = super::xlsx::open(&input, opts, rules)?;
        rec.sheet = Some(sheet);
        return Ok((rows, rec));
    }
    let enc = opts.encoding.unwrap_or_else(|| decode::detect(&head));
    if enc != Encoding::Utf8 || opts.encoding.is_some() {
        rec.encoding = Some(enc);
    }
    let name = input.name.to_string();
    let open = || -> Result<Box<dyn Read + Send>, RowError> {
        let r = input.open().map_err(|e| err(format!("cannot read: {e}")))?;
        Ok(match enc {
            Encoding::Utf8 => r,
            _ => decode::utf8_reader(r, enc),
        })
    };
    // A file that cannot be read at all (no header, an unusable one) is said once, whole.
    let checked = |mut r: RecordReader<Box<dyn Read + Send>>| -> Result<Box<dyn Rows>, RowError> {
        match r.fatal.take() {
            Some(e) => Err(e),
            None => Ok(Box::new(r)),
        }
    };
    let rows: Box<dyn Rows> = match format {
        SourceFormat::Twcs => checked(RecordReader::twcs(&name, open()?, open()?))?,
        SourceFormat::Jsonl => {
            checked(RecordReader::with_rules(&name, opts.kind, Format::Jsonl, open()?, b',', rules.clone()))?
        }
        SourceFormat::Json => super::json::rows(input.clone(), opts, rules),
        _ => {
            let mut text = Vec::new();
            decode::utf8_reader(&head[..], enc).read_to_end(&mut text).map_err(|e| err(format!("cannot read: {e}")))?;
            let d = opts.delimiter.unwrap_or_else(|| sniff_delimiter(&text));
            if d != b',' || opts.delimiter.is_some() {
                rec.separator = Some(d);
            }
            let mut rules = rules.clone();
            let mut sample = None;
            if rules.dates.format.is_none() {
                if let Some((f, v)) = date_layout(&text, d, opts, &rules).map_err(err)? {
                    let mut r = (*rules).clone();
                    r.dates.format = Some(f.to_string());
                    rec.date_format = Some(f.to_string());
                    rules = Arc::new(r);
                    sample = Some(v);
                }
            } else {
                // A layout the user gave is checked against the file; a recognised one fits it.
                rec.warning = date_format_misfit(&text, d, opts, &rules);
            }
            // Wall-clock times without their zone: said once, before the rows (each is refused:
            // a row of the file that carries its offset is still taken).
            if let (Some(f), None) = (&rules.dates.format, rules.dates.zone) {
                if !f.contains("%z") && !matches!(opts.kind, Kind::Customers | Kind::Orders) {
                    let like = sample.map_or(String::new(), |v| format!(" (like `{v}`)"));
                    rec.warning.get_or_insert(format!(
                        "the file's times{like} carry no zone: its rows are refused until --tz says which (e.g. --tz Europe/Paris)"
                    ));
                }
            }
            checked(RecordReader::with_rules(&name, opts.kind, Format::Csv, open()?, d, rules))?
        }
    };
    Ok((rows, rec))
}

/// Whether a file is the canonical CSV as written (UTF-8, commas, every required column and the
/// id, RFC 3339 instants): then it needs no rule of this module and may be read in parts, on
/// several cores, by the plain reader.
pub fn reads_plainly(name: &str, head: &[u8], kind: Kind) -> bool {
    if detect(name, head) != SourceFormat::Csv
        || decode::detect(head) != Encoding::Utf8
        || sniff_delimiter(head) != b','
    {
        return false;
    }
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(head);
    let Ok(h) = rdr.headers() else { return false };
    let names: Vec<String> = h.iter().map(|n| n.trim_start_matches('\u{feff}').trim().to_ascii_lowercase()).collect();
    let has = |c: &str| names.iter().any(|n| n == c);
    if !kind.required().iter().all(|c| has(c)) || kind.id_field().is_some_and(|id| !has(id)) {
        return false;
    }
    matches!(date_layout(head, b',', &Options::new(kind), &Rules::default()), Ok(None))
}

/// The layout of a delimited file's instants, from the rows of its first 64 KiB: `None` when
/// they are RFC 3339; refused once, whole, when they fit both day-first and month-first layouts
/// or none.
fn date_layout(head: &[u8], d: u8, opts: &Options, rules: &Rules) -> Result<Option<(&'static str, String)>, String> {
    let field = opts.kind.instant_field();
    let values = head_dates(head, d, opts, rules);
    if values.is_empty() {
        return Ok(None);
    }
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    match guess_date_format(&refs) {
        DateGuess::Rfc3339 => Ok(None),
        DateGuess::Format(f) => Ok(Some((f, refs[0].to_string()))),
        DateGuess::Ambiguous(day, month) => Err(format!(
            "the dates of column `{field}` (like `{}`) read both day first and month first: say which with --date-format '{day}' (day first) or --date-format '{month}' (month first)",
            refs[0]
        )),
        // Left to each row's own error (a few bad cells must not refuse the file).
        DateGuess::Unknown(_) => Ok(None),
    }
}

/// The first instants of a delimited file's head (its last row, maybe cut, left out).
fn head_dates(head: &[u8], d: u8, opts: &Options, rules: &Rules) -> Vec<String> {
    let field = opts.kind.instant_field();
    if matches!(opts.kind, Kind::Customers | Kind::Orders) {
        return Vec::new();
    }
    let mut rdr = csv::ReaderBuilder::new().flexible(true).delimiter(d).from_reader(head);
    let Ok(h) = rdr.headers().cloned() else { return Vec::new() };
    let norm = |n: &str| n.trim_start_matches('\u{feff}').trim().to_lowercase();
    let column = rules.columns.iter().find(|(f, _)| f == field).map_or(field.to_string(), |(_, c)| norm(c));
    let Some(at) = h.iter().position(|n| norm(n) == column) else { return Vec::new() };
    let rows: Vec<csv::StringRecord> = rdr.records().filter_map(Result::ok).collect();
    rows.iter()
        .take(rows.len().saturating_sub(1).clamp(1, 500))
        .filter_map(|r| r.get(at).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string))
        .collect()
}

/// A `--date-format` that reads none of a file's first instants: said once, with the layout that
/// does when one does.
fn date_format_misfit(head: &[u8], d: u8, opts: &Options, rules: &Rules) -> Option<String> {
    let format = rules.dates.format.as_deref()?;
    let values = head_dates(head, d, opts, rules);
    let probe = crate::time::DateRule { format: Some(format.to_string()), zone: Some(crate::time::Zone::UTC) };
    if values.is_empty() || values.iter().any(|v| probe.parse(v).is_ok()) {
        return None;
    }
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    let better = match guess_date_format(&refs) {
        DateGuess::Format(f) => format!("; `{f}` reads them"),
        DateGuess::Ambiguous(day, month) => format!("; `{day}` (day first) and `{month}` (month first) both read them"),
        DateGuess::Rfc3339 => "; they are RFC 3339: drop --date-format".to_string(),
        DateGuess::Unknown(_) => String::new(),
    };
    Some(format!("--date-format `{format}` reads none of the file's first dates (like `{}`){better}", refs[0]))
}

/// The rows of an API dump's files.
fn api_rows(format: SourceFormat, inputs: Vec<Input>, opts: &Options) -> Result<Box<dyn Rows>, RowError> {
    match format {
        SourceFormat::MetaGraph => super::meta_graph::rows(inputs, opts),
        SourceFormat::XV2 => super::x_v2::rows(inputs, opts),
        SourceFormat::Zendesk => super::zendesk::rows(inputs, opts),
        SourceFormat::Chatwoot => super::chatwoot::rows(inputs, opts),
        _ => unreachable!("api_rows is called for API formats only"),
    }
}

/// The largest API response read (a page of an export; Zendesk's are 1,000 tickets).
pub(super) const MAX_RESPONSE: u64 = 256 << 20;

/// One API response of a file (a `.json` file holds one; a `.jsonl` file one per line), with the
/// text it was read from and the line it starts on.
pub(super) struct Response {
    pub value: serde_json::Value,
    pub text: Arc<str>,
    pub start: usize,
    pub end: usize,
    pub line: u64,
    /// Offsets of the text's line breaks (shared by the file's responses): a line is found by a
    /// binary search, not by counting from the top each time.
    breaks: Arc<[usize]>,
    /// Where the last id was found: rows come in the order of the text, so the next is searched
    /// from there.
    cursor: std::cell::Cell<usize>,
}

impl Response {
    fn line_at(&self, offset: usize) -> u64 {
        self.breaks.partition_point(|&b| b < offset) as u64 + 1
    }

    /// The line of the first `"key": value` of this response whose value is `id` (a number or
    /// a string), else the response's first line: where a row's error is shown.
    pub fn line_of(&self, key: &str, id: &str) -> u64 {
        let pats = [
            format!("\"{key}\":\"{id}\""),
            format!("\"{key}\": \"{id}\""),
            format!("\"{key}\":{id}"),
            format!("\"{key}\": {id}"),
        ];
        let find = |from: usize| {
            let part = &self.text[from..self.end];
            pats.iter()
                .filter_map(|p| {
                    part.match_indices(p.as_str())
                        .find(|(i, m)| !part[i + m.len()..].starts_with(|c: char| c.is_ascii_digit()))
                        .map(|(i, _)| from + i)
                })
                .min()
        };
        let from = self.cursor.get().max(self.start);
        match find(from).or_else(|| if from > self.start { find(self.start) } else { None }) {
            Some(at) => {
                self.cursor.set(at);
                self.line_at(at)
            }
            None => self.line,
        }
    }
}

/// Whether an API file holds one response per line (JSON Lines, by its name or its first lines):
/// then it is read a line at a time, whatever its size.
fn one_per_line(input: &Input) -> bool {
    let lower = input.name.to_ascii_lowercase();
    if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
        return true;
    }
    let Ok(head) = input.head() else { return false };
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first_whole = lines.next().is_some_and(|l| serde_json::from_str::<serde_json::Value>(l).is_ok());
    first_whole && lines.next().is_some_and(|l| l.starts_with('{'))
}

/// The responses of an API file, one at a time: a file of one response per line is read a line at
/// a time (memory: one response), any other whole (one response, up to [`MAX_RESPONSE`]).
pub(super) enum Responses {
    Whole(std::vec::IntoIter<Response>),
    Lines { lines: super::jsonl::LineReader<Box<dyn Read + Send>>, file: Arc<str> },
}

impl Responses {
    pub(super) fn of(input: &Input) -> Result<Responses, RowError> {
        if one_per_line(input) {
            let r = input.open().map_err(|e| RowError {
                file: input.name.to_string(),
                line: 1,
                column: 1,
                reason: format!("cannot read: {e}"),
            })?;
            return Ok(Responses::Lines { lines: super::jsonl::LineReader::new(r), file: input.name.clone() });
        }
        Ok(Responses::Whole(responses(input)?.into_iter()))
    }
}

impl Iterator for Responses {
    type Item = Result<Response, RowError>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Responses::Whole(it) => it.next().map(Ok),
            Responses::Lines { lines, file } => loop {
                let err = |line, column, reason| RowError { file: file.to_string(), line, column, reason };
                let (line, bytes) = match lines.next_line() {
                    Ok(None) => return None,
                    Ok(Some(x)) => x,
                    Err(e) => return Some(Err(err(lines.line, 1, format!("cannot read: {e}")))),
                };
                let text = match String::from_utf8(bytes) {
                    Ok(t) => t,
                    Err(_) => return Some(Err(err(line, 1, "line is not valid UTF-8".into()))),
                };
                if text.trim().is_empty() {
                    continue;
                }
                return Some(match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(value) => {
                        let end = text.len();
                        Ok(Response {
                            value,
                            text: Arc::from(text),
                            start: 0,
                            end,
                            line,
                            breaks: Arc::from(Vec::new()),
                            cursor: std::cell::Cell::new(0),
                        })
                    }
                    Err(e) => Err(err(line, e.column() as u64, format!("invalid JSON: {e}"))),
                });
            },
        }
    }
}

/// Every response of an API file, in order.
pub(super) fn responses(input: &Input) -> Result<Vec<Response>, RowError> {
    let err = |line, reason| RowError { file: input.name.to_string(), line, column: 1, reason };
    let bytes = input.read_capped(MAX_RESPONSE).map_err(|e| err(1, e))?;
    let enc = decode::detect(&bytes[..bytes.len().min(1 << 16)]);
    let mut text = String::new();
    decode::utf8_reader(&bytes[..], enc).read_to_string(&mut text).map_err(|e| err(1, format!("cannot read: {e}")))?;
    drop(bytes);
    let text: Arc<str> = Arc::from(text.trim_start_matches('\u{feff}'));
    if !text.trim_start().starts_with(['{', '[']) {
        return Err(err(
            1,
            format!(
                "not JSON: this file looks like {} — drop --format (the format is recognised from the content) or give the file's own",
                detect(&input.name, text.as_bytes()).name()
            ),
        ));
    }
    let breaks: Arc<[usize]> = memchr::memchr_iter(b'\n', text.as_bytes()).collect();
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>();
    let mut start = 0usize;
    loop {
        // Where the next value starts: past white space.
        let skip = text[start..].len() - text[start..].trim_start().len();
        let begin = start + skip;
        match de.next() {
            None => break,
            Some(Ok(value)) => {
                let end = de.byte_offset();
                let line = breaks.partition_point(|&b| b < begin) as u64 + 1;
                out.push(Response {
                    value,
                    text: text.clone(),
                    start: begin,
                    end,
                    line,
                    breaks: breaks.clone(),
                    cursor: std::cell::Cell::new(begin),
                });
                start = end;
            }
            Some(Err(e)) => {
                return Err(RowError {
                    file: input.name.to_string(),
                    line: e.line() as u64,
                    column: e.column() as u64,
                    reason: format!("invalid JSON: {e}"),
                })
            }
        }
    }
    Ok(out)
}

/// Rows made from API responses, one file in memory at a time: `make` turns a file's responses
/// into located rows (the first pass already learned what it needs).
pub(super) struct ApiRows<F> {
    inputs: VecDeque<Input>,
    /// The file being read, and its responses still to read.
    current: Option<(Input, Responses)>,
    queue: VecDeque<Result<Located, RowError>>,
    make: F,
    bytes: u64,
}

impl<F> ApiRows<F>
where
    F: FnMut(&Input, Vec<Response>, &mut VecDeque<Result<Located, RowError>>) + Send,
{
    pub fn new(inputs: Vec<Input>, make: F) -> ApiRows<F> {
        ApiRows { inputs: inputs.into(), current: None, queue: VecDeque::new(), make, bytes: 0 }
    }

    /// Files that could not be read in the first pass, said first (once each).
    pub fn said_first(mut self, errors: Vec<RowError>) -> Self {
        self.queue.extend(errors.into_iter().map(Err));
        self
    }
}

/// The first pass of an API source: each readable file's responses handed to `learn`. A file that
/// cannot be read (cut short, not JSON, too large) is left out of the second pass and its error
/// returned, to be said once: the other files are read all the same.
pub(super) fn learn_each(
    inputs: Vec<Input>,
    mut learn: impl FnMut(&Input, &[Response]),
) -> (Vec<Input>, Vec<RowError>) {
    let mut good = Vec::with_capacity(inputs.len());
    let mut bad = Vec::new();
    'files: for input in inputs {
        let rs = match Responses::of(&input) {
            Ok(rs) => rs,
            Err(e) => {
                bad.push(e);
                continue;
            }
        };
        // A file of one response per line: a bad line is said in the second pass, as a row's
        // error, and the file's other lines are read.
        let by_line = matches!(rs, Responses::Lines { .. });
        for r in rs {
            match r {
                Ok(r) => learn(&input, std::slice::from_ref(&r)),
                Err(_) if by_line => {}
                Err(e) => {
                    bad.push(e);
                    continue 'files;
                }
            }
        }
        good.push(input);
    }
    (good, bad)
}

impl<F> Iterator for ApiRows<F>
where
    F: FnMut(&Input, Vec<Response>, &mut VecDeque<Result<Located, RowError>>) + Send,
{
    type Item = Result<Located, RowError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.queue.pop_front() {
                return Some(r);
            }
            if let Some((input, rs)) = &mut self.current {
                match rs.next() {
                    Some(Ok(r)) => (self.make)(input, vec![r], &mut self.queue),
                    Some(Err(e)) => return Some(Err(e)),
                    None => self.current = None,
                }
                continue;
            }
            let input = self.inputs.pop_front()?;
            self.bytes += input.len;
            match Responses::of(&input) {
                Ok(rs) => self.current = Some((input, rs)),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl<F> Rows for ApiRows<F>
where
    F: FnMut(&Input, Vec<Response>, &mut VecDeque<Result<Located, RowError>>) + Send,
{
    fn bytes_read(&self) -> u64 {
        self.bytes
    }
}

/// A problem of a whole API source (nothing in it can be read as asked), named at its first file.
pub(super) fn source_error(inputs: &[Input], reason: impl Into<String>) -> RowError {
    let file = inputs.first().map_or(String::new(), |i| i.name.to_string());
    RowError { file, line: 1, column: 1, reason: reason.into() }
}

/// A row of an API source, located in its response.
pub(super) fn located(input: &Input, line: u64, record: Record) -> Result<Located, RowError> {
    Ok(Located { file: input.name.clone(), line, id_column: 1, record })
}

/// A refused element of an API source.
pub(super) fn refused(input: &Input, line: u64, reason: String) -> Result<Located, RowError> {
    Err(RowError { file: input.name.to_string(), line, column: 1, reason })
}

/// A JSON value as an id: numbers as written (`1041`), strings as they are.
pub(super) fn id_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An instant of an API: RFC 3339 (with or without the offset's colon), or Unix seconds.
pub(super) fn api_instant(v: &serde_json::Value) -> Result<Stamp, String> {
    match v {
        serde_json::Value::String(s) => crate::time::parse_instant(s),
        serde_json::Value::Number(n) => {
            let secs = n.as_f64().ok_or_else(|| format!("`{n}` is not a Unix time"))?;
            let st = Stamp::utc((secs * 1000.0).round() as i64);
            crate::time::in_range(st, &n.to_string())
        }
        serde_json::Value::Null => Err("missing instant".into()),
        other => Err(format!("`{other}` is not an instant")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{guess_date_format, DateGuess};
    use rstest::rstest;

    #[rstest]
    #[case::workbook("a.bin", b"PK\x03\x04rest".as_slice(), SourceFormat::Xlsx)]
    #[case::old_workbook("a.xls", b"\xD0\xCF\x11\xE0rest".as_slice(), SourceFormat::Xlsx)]
    #[case::zendesk_events("e.json", br#"{"ticket_events":[{"id":1}]}"#.as_slice(), SourceFormat::Zendesk)]
    #[case::zendesk_ratings("r.json", br#"{"satisfaction_ratings":[]}"#.as_slice(), SourceFormat::Zendesk)]
    #[case::chatwoot("m.json", br#"{"meta":{},"payload":[{"id":1,"message_type":0}]}"#.as_slice(), SourceFormat::Chatwoot)]
    #[case::x_page("p.json", br#"{"data":[{"id":"1","edit_history_tweet_ids":["1"]}],"meta":{}}"#.as_slice(), SourceFormat::XV2)]
    #[case::x_empty_page("p.json", br#"{"meta":{"result_count":0}}"#.as_slice(), SourceFormat::XV2)]
    #[case::meta_conversations("c.json", br#"{"data":[{"id":"t_1","participants":{"data":[]}}]}"#.as_slice(), SourceFormat::MetaGraph)]
    #[case::meta_time("f.json", br#"{"data":[{"created_time":"2026-03-02T09:15:00+0000"}]}"#.as_slice(), SourceFormat::MetaGraph)]
    #[case::json_lines("m.json", b"{\"message_id\":\"a\"}\n{\"message_id\":\"b\"}\n".as_slice(), SourceFormat::Jsonl)]
    #[case::json_array("m.json", b"[\n {\"message_id\": \"a\"}\n]".as_slice(), SourceFormat::Json)]
    #[case::json_wrapped("m.json", b"{\n \"rows\": [\n  {\"message_id\": \"a\"}\n ]\n}".as_slice(), SourceFormat::Json)]
    #[case::twitter_file("t.csv", b",tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n".as_slice(), SourceFormat::Twcs)]
    #[case::csv("m.txt", b"message_id;created_at\n".as_slice(), SourceFormat::Csv)]
    fn formats_are_recognised_from_the_content(#[case] name: &str, #[case] head: &[u8], #[case] f: SourceFormat) {
        assert_eq!(detect(name, head), f);
    }

    fn messages(r: Reading) -> Vec<Result<Located, RowError>> {
        r.collect()
    }

    #[test]
    fn files_of_a_source_are_chained_and_an_unreadable_one_is_counted() {
        let a = Input::bytes(
            "a.csv",
            b"message_id,created_at,direction,account,channel,author_id\nm1,2026-03-02T09:15:00Z,in,acme,email,c1\n"
                .to_vec(),
        );
        let b = Input::bytes("b.csv", Vec::new());
        let c = Input::bytes(
            "c.csv",
            b"message_id;created_at;direction;account;channel;author_id\nm2;2026-03-02T09:20:00Z;out;acme;email;a1\n"
                .to_vec(),
        );
        let mut o = Options::new(Kind::Messages);
        o.account_name = Some("Acme".into());
        let mut r = read(vec![a, b, c], o, Box::new(()));
        let rows: Vec<_> = (&mut r).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].as_ref().unwrap_err().to_string(), "b.csv:1:1: the file is empty: no header row");
        assert_eq!(r.unreadable, 1);
        assert_eq!(r.rows_of(Kind::Messages), 2);
        for l in rows.iter().filter_map(|x| x.as_ref().ok()) {
            let Record::Message(m) = &l.record else { panic!() };
            assert_eq!(m.account, "Acme");
        }
    }

    #[test]
    fn ids_from_content_do_not_depend_on_the_column_order() {
        let one = "created_at,direction,account,channel,author_id\n2026-03-02T09:15:00Z,in,acme,email,c1\n";
        let other = "author_id,channel,account,direction,created_at\nc1,email,acme,in,2026-03-02T09:15:00Z\n";
        let id = |text: &str| {
            let rows = messages(read(
                vec![Input::bytes("f.csv", text.as_bytes().to_vec())],
                Options::new(Kind::Messages),
                Box::new(()),
            ));
            match &rows[0].as_ref().unwrap().record {
                Record::Message(m) => m.message_id.clone(),
                _ => panic!(),
            }
        };
        assert_eq!(id(one), id(other));
        assert!(id(one).starts_with("row-") && id(one).len() == 36);
        let changed = one.replace("c1", "c2");
        assert_ne!(id(one), id(&changed));
    }

    #[rstest]
    #[case::rfc3339(&["2026-03-02T09:15:00+01:00", "2026-03-02T10:00:00Z"], DateGuess::Rfc3339)]
    #[case::day_first(&["13/03/2026 09:15", "02/03/2026 10:00"], DateGuess::Format("%d/%m/%Y %H:%M"))]
    #[case::month_first(&["03/13/2026 09:15", "03/02/2026 10:00"], DateGuess::Format("%m/%d/%Y %H:%M"))]
    #[case::both(&["02/03/2026 09:15", "04/03/2026 10:00"], DateGuess::Ambiguous("%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M"))]
    #[case::iso_without_zone(&["2026-03-02 09:15:00"], DateGuess::Format("%Y-%m-%d %H:%M:%S"))]
    #[case::unknown(&["mardi 3 mars"], DateGuess::Unknown("mardi 3 mars".into()))]
    #[case::two_digit_years(&["13/03/26 09:15", "14/03/26 10:00"], DateGuess::Format("%d/%m/%y %H:%M"))]
    fn date_layouts_are_recognised_and_never_guessed_when_two_fit(#[case] values: &[&str], #[case] g: DateGuess) {
        assert_eq!(guess_date_format(values), g);
    }

    #[test]
    fn wall_clock_times_need_their_zone_and_keep_their_offset() {
        use crate::time::{DateRule, Zone};
        let rule = DateRule { format: Some("%d/%m/%Y %H:%M".into()), zone: None };
        assert!(rule.parse("13/03/2026 09:15").unwrap_err().contains("--tz"));
        let paris = DateRule { zone: Some(Zone::parse("Europe/Paris").unwrap()), ..rule };
        let st = paris.parse("13/03/2026 09:15").unwrap();
        // Winter time: UTC+1.
        assert_eq!((st.to_rfc3339(), st.offset_s), ("2026-03-13T09:15:00+01:00".to_string(), 3600));
        // Summer time: UTC+2; an instant with its offset is read as written whatever the rule.
        assert_eq!(paris.parse("13/07/2026 09:15").unwrap().offset_s, 7200);
        assert_eq!(paris.parse("2026-03-13T09:15:00Z").unwrap().offset_s, 0);
    }

    #[test]
    fn an_api_row_is_located_on_the_line_of_its_id() {
        let text = "{\n  \"data\": [\n    {\"id\": \"a\"},\n    {\n      \"id\": 1041\n    }\n  ]\n}\n";
        let rs = responses(&Input::bytes("r.json", text.as_bytes().to_vec())).unwrap();
        assert_eq!(rs.len(), 1);
        assert_eq!(rs[0].line_of("id", "a"), 3);
        assert_eq!(rs[0].line_of("id", "1041"), 5);
        // `104` is not `1041`.
        assert_eq!(rs[0].line_of("id", "104"), 1);
    }

    #[rstest]
    #[case::decimal_comma("95,5", "95.5")]
    #[case::thousands_with_no_break_spaces("3\u{a0}588", "3588")]
    #[case::both("1 408,93", "1408.93")]
    #[case::english_thousands_untouched("1,234.5", "1,234.5")]
    fn french_numbers_are_read_as_written(#[case] written: &str, #[case] read: &str) {
        assert_eq!(plain_number(written), read);
    }
}
