//! Delimited text (CSV, `;`-separated, tab-separated): the header, its columns by name, rows
//! located to their line whatever the line ends.

use super::*;

/// the line ends (`\n`, `\r\n`, or a lone `\r` as old Mac exports write).
pub struct LineCounter<R> {
    inner: R,
    pos: u64,
    prev_cr: bool,
    breaks: VecDeque<u64>,
    lines_before: u64,
    /// Only `\n` breaks a line (a file whose rows end in `\n` and whose texts hold bare CRs).
    lf_only: bool,
    /// Where the last whole row ended ([`LineCounter::mark`]): reading more than
    /// [`MAX_ROW_BYTES`] past it is refused.
    mark: u64,
}

/// The longest row a reader takes: past it (a quote never closed makes the rest of a file one
/// row) reading stops with an error instead of holding the rest of the file in memory.
pub const MAX_ROW_BYTES: u64 = 64 << 20;

impl<R: Read> LineCounter<R> {
    pub fn new(inner: R) -> Self {
        LineCounter { inner, pos: 0, prev_cr: false, breaks: VecDeque::new(), lines_before: 0, lf_only: false, mark: 0 }
    }

    /// A whole row was read up to here.
    pub fn mark(&mut self) {
        self.mark = self.pos;
    }

    /// Counts `\n` only: a lone `\r` inside a row is a character of its text, not a line.
    pub(super) fn lf_only(inner: R) -> Self {
        LineCounter { lf_only: true, ..LineCounter::new(inner) }
    }

    /// The 1-based line holding byte `offset`. Offsets must be asked in increasing order.
    pub fn line_of(&mut self, offset: u64) -> u64 {
        while let Some(&b) = self.breaks.front() {
            if b < offset {
                self.breaks.pop_front();
                self.lines_before += 1;
            } else {
                break;
            }
        }
        self.lines_before + 1
    }

    pub fn bytes_read(&self) -> u64 {
        self.pos
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos - self.mark > MAX_ROW_BYTES {
            return Err(io::Error::other(format!(
                "a row runs past {} MiB (a quote never closed?)",
                MAX_ROW_BYTES >> 20
            )));
        }
        let n = self.inner.read(buf)?;
        let data = &buf[..n];
        for i in memchr::memchr2_iter(b'\r', b'\n', data) {
            let at = self.pos + i as u64;
            // `\r\n` is one break: the `\n` right after a `\r` is not counted again.
            let after_cr = if i == 0 { self.prev_cr } else { data[i - 1] == b'\r' };
            if self.lf_only {
                if data[i] == b'\n' {
                    self.breaks.push_back(at);
                }
            } else if data[i] == b'\r' || !after_cr {
                self.breaks.push_back(at);
            }
        }
        if n > 0 {
            self.prev_cr = data[n - 1] == b'\r';
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Every column name the formats know: looked up by position, not hashed, on every row.
pub(super) const KNOWN: [&str; 24] = [
    "message_id",
    "created_at",
    "direction",
    "account",
    "channel",
    "author_id",
    "conversation_id",
    "reply_to",
    "customer_id",
    "text",
    "bot",
    "public",
    "kind",
    "in_scope",
    "actionable",
    "handle_seconds",
    "team",
    "event",
    "at",
    "agent_id",
    "tweet_id",
    "inbound",
    "response_tweet_id",
    "in_response_to_tweet_id",
];

#[inline(always)]
pub(super) fn known_slot(name: &str) -> Option<usize> {
    // A match compiles to a switch on length and a few comparisons: this runs for every field
    // of every row. The test below keeps it in step with KNOWN.
    Some(match name {
        "message_id" => 0,
        "created_at" => 1,
        "direction" => 2,
        "account" => 3,
        "channel" => 4,
        "author_id" => 5,
        "conversation_id" => 6,
        "reply_to" => 7,
        "customer_id" => 8,
        "text" => 9,
        "bot" => 10,
        "public" => 11,
        "kind" => 12,
        "in_scope" => 13,
        "actionable" => 14,
        "handle_seconds" => 15,
        "team" => 16,
        "event" => 17,
        "at" => 18,
        "agent_id" => 19,
        "tweet_id" => 20,
        "inbound" => 21,
        "response_tweet_id" => 22,
        "in_response_to_tweet_id" => 23,
        _ => return None,
    })
}

/// A CSV header: column positions by name.
pub(super) struct Header {
    pub(super) map: HashMap<String, usize>,
    pub(super) slots: [Option<usize>; KNOWN.len()],
    /// How values and dates are read (`--map-value`, `--date-format`, `--tz`).
    pub(super) rules: Arc<Rules>,
    /// Fields whose values are translated (`--map-value`), by name.
    pub(super) values: HashMap<String, Vec<(String, String)>>,
    /// The id field this file lacks, whose value is derived from each row's content.
    pub(super) derived_id: Option<&'static str>,
}

impl Header {
    pub(super) fn with_rules(map: HashMap<String, usize>, rules: Arc<Rules>) -> Header {
        let mut slots = [None; KNOWN.len()];
        for (k, name) in KNOWN.iter().enumerate() {
            slots[k] = map.get(*name).copied();
        }
        let mut values: HashMap<String, Vec<(String, String)>> = HashMap::default();
        for (field, from, to) in &rules.values {
            values.entry(field.clone()).or_default().push((from.clone(), to.clone()));
        }
        Header { map, slots, rules, values, derived_id: None }
    }
    // Always inlined: with the name a constant, the lookup folds to one array read.
    #[inline(always)]
    pub(super) fn get(&self, name: &str) -> Option<usize> {
        match known_slot(name) {
            Some(k) => self.slots[k],
            None => self.map.get(name).copied(),
        }
    }
}

pub(super) struct CsvFields<'a> {
    pub(super) header: &'a Header,
    pub(super) rec: &'a csv::ByteRecord,
    /// The row's bytes, when valid UTF-8 as a whole: checked once, not cell by cell.
    pub(super) whole: Option<&'a str>,
}

impl<'a> CsvFields<'a> {
    pub(super) fn new(header: &'a Header, rec: &'a csv::ByteRecord) -> Self {
        CsvFields { header, rec, whole: std::str::from_utf8(rec.as_slice()).ok() }
    }
}

impl CsvFields<'_> {
    #[inline(always)]
    fn cell(&self, name: &str) -> FieldResult<Option<&str>> {
        let Some(i) = self.header.get(name) else {
            // A file without its id column: a stand-in, replaced by the id from the row's
            // content once the row is read (`Record::content_id`).
            return Ok(if self.header.derived_id == Some(name) { Some("(derived)") } else { None });
        };
        // A cell of a row that is valid UTF-8 as a whole is a slice of it, unless the cell cuts a
        // character (then it is not valid on its own, and said so below).
        if let Some(s) = self.whole.and_then(|w| w.get(self.rec.range(i)?)) {
            return Ok(Some(s).filter(|s| !trim(s).is_empty()));
        }
        let Some(b) = self.rec.get(i) else { return Ok(None) };
        match std::str::from_utf8(b) {
            Ok(s) if trim(s).is_empty() => Ok(None),
            Ok(s) => Ok(Some(s)),
            Err(e) => Err((
                i as u64 + 1,
                format!(
                    "column `{name}` is not valid UTF-8 (bad byte at offset {} of the cell; a Windows-1252 export? try --encoding windows-1252)",
                    e.valid_up_to()
                ),
            )),
        }
    }
}

impl Fields for CsvFields<'_> {
    fn dates(&self) -> &DateRule {
        &self.header.rules.dates
    }
    fn derives_id(&self) -> bool {
        self.header.derived_id.is_some()
    }
    #[inline(always)]
    fn raw(&self, name: &str) -> FieldResult<Option<&str>> {
        let cell = self.cell(name)?;
        if self.header.values.is_empty() {
            return Ok(cell);
        }
        Ok(match (cell, self.header.values.get(name)) {
            (Some(c), Some(table)) => {
                let t = trim(c);
                Some(table.iter().find(|(from, _)| from.eq_ignore_ascii_case(t)).map_or(c, |(_, to)| to.as_str()))
            }
            (c, _) => c,
        })
    }
    #[inline(always)]
    fn get(&self, name: &str) -> FieldResult<Option<&str>> {
        Ok(self.raw(name)?.map(trim))
    }
    fn col(&self, name: &str) -> u64 {
        self.header.get(name).map_or(1, |i| i as u64 + 1)
    }
    fn has(&self, name: &str) -> bool {
        self.header.get(name).is_some()
    }
}

/// Reads a CSV file's header, checking that the required columns are there.
pub(super) fn csv_header<R: Read>(
    rdr: &mut csv::Reader<LineCounter<R>>,
    file: &str,
    required: &[&str],
) -> Result<(Header, usize), RowError> {
    csv_header_with(rdr, file, required, None, Arc::new(Rules::default()))
}

/// [`csv_header`] read with a source's rules (`--map`), and, when the file lacks `id_field`, ids
/// derived from each row's content.
pub(super) fn csv_header_with<R: Read>(
    rdr: &mut csv::Reader<LineCounter<R>>,
    file: &str,
    required: &[&str],
    id_field: Option<&'static str>,
    rules: Arc<Rules>,
) -> Result<(Header, usize), RowError> {
    let err = |column, reason| RowError { file: file.to_string(), line: 1, column, reason };
    let h = rdr.byte_headers().map_err(|e| err(1, format!("cannot read the header row: {e}")))?.clone();
    let mut names = Vec::with_capacity(h.len());
    for (i, name) in h.iter().enumerate() {
        names.push(
            std::str::from_utf8(name)
                .map_err(|_| {
                    err(
                        i as u64 + 1,
                        "header is not valid UTF-8 (an export in Windows-1252, as Excel writes in France? --encoding windows-1252)"
                            .into(),
                    )
                })?
                .to_string(),
        );
    }
    header_from(&names, file, required, id_field, rules)
}

/// A header from its column names as written (a CSV's first row, a sheet's first row).
pub(super) fn header_from(
    names: &[String],
    file: &str,
    required: &[&str],
    id_field: Option<&'static str>,
    rules: Arc<Rules>,
) -> Result<(Header, usize), RowError> {
    let err = |column, reason| RowError { file: file.to_string(), line: 1, column, reason };
    if names.iter().all(|n| n.trim().is_empty()) {
        return Err(err(1, "the file is empty: no header row".into()));
    }
    let norm = |n: &str| n.trim_start_matches('\u{feff}').trim().to_lowercase();
    let mut map = HashMap::default();
    for (i, name) in names.iter().enumerate() {
        map.entry(norm(name)).or_insert(i);
    }
    // `--map FIELD=COLUMN`: the column is found by its name as written, any case.
    let mut unmapped = Vec::new();
    for (field, column) in &rules.columns {
        match names.iter().position(|n| norm(n) == norm(column)) {
            Some(i) => {
                map.insert(field.clone(), i);
            }
            None => unmapped.push(format!("`--map {field}={column}`: no column `{column}`")),
        }
    }
    let derive = id_field.filter(|id| !map.contains_key(*id));
    let missing: Vec<&str> = required.iter().copied().filter(|r| !map.contains_key(*r) && Some(*r) != derive).collect();
    if !missing.is_empty() || !unmapped.is_empty() {
        let shown: Vec<String> = names.iter().map(|c| c.trim_start_matches('\u{feff}').trim().to_string()).collect();
        let mut why = if missing.is_empty() { String::new() } else { header_problem(&missing, &shown) };
        if !unmapped.is_empty() {
            if !why.is_empty() {
                why.push_str("; ");
            }
            why.push_str(&unmapped.join("; "));
        }
        return Err(err(names.len() as u64 + 1, why));
    }
    let mut header = Header::with_rules(map, rules);
    header.derived_id = derive;
    Ok((header, names.len()))
}

/// A header problem said once, whole: every missing column, the columns found, the closest name
/// for each, and the separator when the header reads as one column.
pub(super) fn header_problem(missing: &[&str], found: &[String]) -> String {
    let list = |v: &[&str]| v.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
    let mut s = if missing.len() == 1 {
        format!("missing required column {} in the header", list(missing))
    } else {
        format!("missing required columns {} in the header", list(missing))
    };
    if let [one] = found {
        if let Some(sep) = [';', '\t', '|'].into_iter().find(|c| one.contains(*c)) {
            let shown = if sep == '\t' { "a tab".to_string() } else { format!("`{sep}`") };
            s.push_str(&format!(" — the header reads as one column: the separator looks like {shown}, not `,`"));
            return s;
        }
    }
    let shown: Vec<&str> = found.iter().map(String::as_str).filter(|c| !c.is_empty()).collect();
    s.push_str(&format!(" (found: {})", list(&shown)));
    let hints: Vec<String> =
        missing.iter().filter_map(|m| closest(m, &shown).map(|c| format!("`{c}` for `{m}`?"))).collect();
    if !hints.is_empty() {
        s.push_str(&format!("; closest: {}", hints.join(", ")));
    }
    // The whole fix, ready to paste, when every missing column has a likely match; with it the
    // optional columns the file plainly has under a usual other name (a conversation, a text),
    // without which replies would join nothing — by name only, never by a few letters' distance.
    let optional = ["conversation_id", "text", "customer_id", "reply_to"];
    let mut pairs: Vec<(&str, &str)> = missing.iter().filter_map(|m| closest(m, &shown).map(|c| (*m, c))).collect();
    for o in optional {
        if found.iter().any(|f| f.trim().eq_ignore_ascii_case(o)) {
            continue;
        }
        if let Some(c) = synonym(o, &shown).filter(|c| !pairs.iter().any(|(_, used)| used == c)) {
            pairs.push((o, c));
        }
    }
    let maps: Vec<String> = pairs
        .iter()
        .map(|(m, c)| if c.contains([' ', '\'', '"']) { format!("--map '{m}={c}'") } else { format!("--map {m}={c}") })
        .collect();
    let required_mapped = missing.iter().all(|m| closest(m, &shown).is_some());
    if !maps.is_empty() && required_mapped {
        s.push_str(&format!(" — to read them: {}", maps.join(" ")));
    }
    s
}

/// Usual other names of the canonical columns, French and English.
const ALSO: &[(&str, &[&str])] = &[
    ("message_id", &["id", "message", "msg_id", "tweet_id", "identifiant"]),
    ("created_at", &["date", "created", "timestamp", "time", "horodatage", "date_heure", "datetime"]),
    ("direction", &["sens", "type", "in_out", "inbound", "entrant"]),
    ("account", &["compte", "page", "brand", "marque", "company", "entreprise"]),
    ("channel", &["canal", "source", "medium", "réseau", "reseau"]),
    ("author_id", &["auteur", "author", "from", "user", "utilisateur", "sender", "expediteur"]),
    (
        "conversation_id",
        &["conversation", "thread", "thread_id", "ticket", "ticket_id", "fil", "dossier", "case", "cas"],
    ),
    ("text", &["message", "body", "contenu", "texte", "content"]),
];

/// The found column that is a usual other name of a wanted one (French or English exports).
fn synonym<'a>(wanted: &str, found: &[&'a str]) -> Option<&'a str> {
    let norm = |s: &str| s.trim().to_lowercase().replace([' ', '-'], "_");
    let (_, names) = ALSO.iter().find(|(w, _)| *w == wanted)?;
    found.iter().find(|c| names.contains(&norm(c).as_str())).copied()
}

/// The found column most like a wanted one: a usual other name for it (French or English
/// exports), else one a few letters away.
pub(super) fn closest<'a>(wanted: &str, found: &[&'a str]) -> Option<&'a str> {
    if let Some(c) = synonym(wanted, found) {
        return Some(c);
    }
    let norm = |s: &str| s.trim().to_lowercase().replace([' ', '-'], "_");
    found
        .iter()
        .map(|c| (edit_distance(&norm(c), wanted), *c))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// Levenshtein distance (header names are short).
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

pub(super) fn csv_reader<R: Read>(r: R) -> csv::Reader<LineCounter<R>> {
    csv_reader_with(r, b',')
}

pub(super) fn csv_reader_with<R: Read>(r: R, delimiter: u8) -> csv::Reader<LineCounter<R>> {
    csv::ReaderBuilder::new().flexible(true).has_headers(true).delimiter(delimiter).from_reader(LineCounter::new(r))
}

/// The separator of a CSV file from its first bytes: of `,` `;` tab and `|`, the one its header
/// line holds most often outside quotes (a French Excel export writes `;`); `,` when none.
pub fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; 4];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                if let Some(k) = [b',', b';', b'\t', b'|'].iter().position(|c| *c == b) {
                    counts[k] += 1;
                }
            }
            _ => {}
        }
    }
    // Ties go to the comma, the format's own.
    let best = (0..4).max_by_key(|&k| (counts[k], k == 0)).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        [b',', b';', b'\t', b'|'][best]
    }
}

/// How a separator is named in messages.
pub fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        c => format!("`{}`", c as char),
    }
}

/// A CSV row that could not be read as one.
pub(super) struct BadRow {
    pub(super) line: u64,
    pub(super) column: u64,
    pub(super) reason: String,
    /// Nothing more can be read from the file.
    pub(super) last: bool,
}

/// The next row of a CSV file: its line and fields, or why it is not a row.
pub(super) fn next_csv<'a, R: Read>(
    rdr: &mut csv::Reader<LineCounter<R>>,
    header: &'a Header,
    width: usize,
    rec: &'a mut csv::ByteRecord,
) -> Option<Result<(u64, CsvFields<'a>), BadRow>> {
    match rdr.read_byte_record(rec) {
        Ok(false) => None,
        Err(e) => {
            let off = e.position().map_or(rdr.get_ref().bytes_read(), |p| p.byte());
            let line = rdr.get_mut().line_of(off);
            Some(Err(BadRow {
                line,
                column: 1,
                reason: format!("unreadable CSV, reading stops here: {e}"),
                last: true,
            }))
        }
        Ok(true) => {
            rdr.get_mut().mark();
            let off = rec.position().map_or(0, |p| p.byte());
            let line = rdr.get_mut().line_of(off);
            if rec.len() != width {
                let column = rec.len().min(width) as u64 + 1;
                let reason = format!("row has {} fields, the header has {}", rec.len(), width);
                return Some(Err(BadRow { line, column, reason, last: false }));
            }
            Some(Ok((line, CsvFields::new(header, rec))))
        }
    }
}
