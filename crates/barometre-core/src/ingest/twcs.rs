//! The *Customer Support on Twitter* file as it really is.

use super::*;

pub(super) const TWCS_COLUMNS: &[&str] =
    &["tweet_id", "author_id", "inbound", "created_at", "text", "response_tweet_id", "in_response_to_tweet_id"];

/// The *Customer Support on Twitter* layout, as the public file and its copies really are: a
/// leading unnamed index column (pandas' `to_csv`), parent ids written as floats (`3.0`: pandas
/// stores a column with gaps as floats), `TRUE`/`FALSE` from a spreadsheet's re-save, bare CRs
/// inside texts. Company accounts are the non-inbound authors; an inbound tweet belongs to the
/// company of its thread (the earliest company tweet under the same root), else to the first
/// @mention naming a company.
pub(super) struct TwcsReader<R: Read> {
    pub(super) file: String,
    pub(super) rdr: csv::Reader<LineCounter<R>>,
    pub(super) header: Header,
    pub(super) width: usize,
    pub(super) rec: csv::ByteRecord,
    /// Thread root of every tweet that answers another (the others are their own root).
    pub(super) root: HashMap<String, String>,
    /// thread root → (time, company) of its earliest company tweet.
    pub(super) thread_company: HashMap<String, (i64, String)>,
    /// lower-cased company handle → handle as written.
    pub(super) companies: HashMap<String, String>,
}

/// A stream whose first bytes were read ahead, put back in front.
pub(super) type Peeked<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// Whether rows end in `\n`: then a lone `\r` is part of a text (the public file has some), not
/// a row end. A file without any `\n` in its first 64 KiB ends its rows in bare CRs.
pub(super) fn rows_end_in_lf<R: Read>(r: R) -> io::Result<(bool, Peeked<R>)> {
    let mut head = Vec::with_capacity(1 << 16);
    let mut r = r;
    (&mut r).take(1 << 16).read_to_end(&mut head)?;
    let lf = head.contains(&b'\n');
    Ok((lf, io::Cursor::new(head).chain(r)))
}

pub(super) fn twcs_reader<R: Read>(r: R, lf: bool) -> csv::Reader<LineCounter<R>> {
    if !lf {
        return csv_reader(r);
    }
    csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(LineCounter::lf_only(r))
}

/// An id as written by a tool that stored it as a number: `3.0` or `1.19237e+05` is the id `3` or
/// `119237`. Anything else (a handle, an id with a real fraction) is kept as it is.
pub fn integral_id(s: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() || b.iter().all(u8::is_ascii_digit) {
        return Cow::Borrowed(s);
    }
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => match s[i + 1..].trim_start_matches('+').parse::<usize>() {
            Ok(e) if e <= 30 => (&s[..i], e),
            _ => return Cow::Borrowed(s),
        },
        None => (s, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() || !int.bytes().all(|c| c.is_ascii_digit()) || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return Cow::Borrowed(s);
    }
    // Shift the point `exp` places right; what stays after it must be zeros.
    let mut digits = String::with_capacity(int.len() + exp);
    digits.push_str(int);
    let moved = frac.len().min(exp);
    digits.push_str(&frac[..moved]);
    if !frac[moved..].bytes().all(|c| c == b'0') {
        return Cow::Borrowed(s);
    }
    for _ in moved..exp {
        digits.push('0');
    }
    let t = digits.trim_start_matches('0');
    Cow::Owned(if t.is_empty() { "0".to_string() } else { t.to_string() })
}

/// Every tweet's thread root, in time linear in the tweets (each chain walked once, roots
/// remembered): a 40,000-tweet reply chain costs what 40,000 separate tweets do. A cycle's root
/// is its smallest id, whichever tweet it is entered from.
pub(super) fn thread_roots(parent: &HashMap<String, String>) -> HashMap<String, String> {
    thread_roots_counted(parent).0
}

/// [`thread_roots`] and how many steps up a chain it took (a test bounds them by the tweets).
pub(super) fn thread_roots_counted(parent: &HashMap<String, String>) -> (HashMap<String, String>, usize) {
    let mut steps = 0usize;
    let mut root: HashMap<String, String> = HashMap::default();
    let mut path: Vec<&str> = Vec::new();
    let mut on_path: HashMap<&str, usize> = HashMap::default();
    for start in parent.keys() {
        if root.contains_key(start.as_str()) {
            continue;
        }
        // Emptied by removing the last walk's entries: `clear` would cost the map's whole
        // capacity (the longest chain's) for every walk after it.
        for t in &path {
            on_path.remove(t);
        }
        path.clear();
        let mut cur: &str = start;
        let found: String = loop {
            if let Some(r) = root.get(cur) {
                break r.clone();
            }
            if let Some(&at) = on_path.get(cur) {
                // A cycle: every tweet on it shares one root, its smallest id.
                break path[at..].iter().min().map_or_else(|| cur.to_string(), |m| m.to_string());
            }
            steps += 1;
            match parent.get(cur) {
                Some(p) if p != cur => {
                    on_path.insert(cur, path.len());
                    path.push(cur);
                    cur = p;
                }
                _ => break cur.to_string(),
            }
        };
        for t in &path {
            root.insert(t.to_string(), found.clone());
        }
    }
    (root, steps)
}

impl<R: Read> TwcsReader<R> {
    pub(super) fn new(file: &str, first: R, second: R) -> Result<Self, RowError> {
        let unreadable =
            |e: io::Error| RowError { file: file.to_string(), line: 1, column: 1, reason: format!("cannot read: {e}") };
        let (lf, first) = rows_end_in_lf(first).map_err(unreadable)?;
        let mut rdr = twcs_reader(first, lf);
        let (header, width) = csv_header(&mut rdr, file, TWCS_COLUMNS)?;
        let mut rec = csv::ByteRecord::new();
        let mut parent = HashMap::default();
        let mut company_tweets: Vec<(String, i64, String)> = Vec::new();
        let mut companies = HashMap::default();
        while let Ok(true) = rdr.read_byte_record(&mut rec) {
            rdr.get_mut().mark();
            if rec.len() != width {
                continue;
            }
            let f = CsvFields::new(&header, &rec);
            let (Ok(Some(id)), Ok(Some(inbound))) = (f.get("tweet_id"), f.get("inbound")) else { continue };
            let id = integral_id(id);
            if let Ok(Some(p)) = f.get("in_response_to_tweet_id") {
                parent.insert(id.to_string(), integral_id(p).into_owned());
            }
            if parse_bool(inbound) == Some(false) {
                if let (Ok(Some(a)), Ok(Some(t))) = (f.get("author_id"), f.get("created_at")) {
                    let ms = parse_twitter_date(t).map_or(i64::MAX, |s| s.ms);
                    companies.insert(a.to_ascii_lowercase(), a.to_string());
                    company_tweets.push((id.into_owned(), ms, a.to_string()));
                }
            }
        }
        let root = thread_roots(&parent);
        drop(parent);
        let mut thread_company: HashMap<String, (i64, String)> = HashMap::default();
        for (id, ms, author) in company_tweets {
            let r = root.get(&id).cloned().unwrap_or(id);
            let e = thread_company.entry(r).or_insert((ms, author.clone()));
            if (ms, &author) < (e.0, &e.1) {
                *e = (ms, author);
            }
        }
        let mut rdr2 = twcs_reader(second, lf);
        let (header, width) = csv_header(&mut rdr2, file, TWCS_COLUMNS)?;
        Ok(TwcsReader { file: file.to_string(), rdr: rdr2, header, width, rec, root, thread_company, companies })
    }

    pub(super) fn next(&mut self) -> Option<Result<(u64, Message), RowError>> {
        match self.rdr.read_byte_record(&mut self.rec) {
            Ok(false) => None,
            Err(e) => {
                let at = self.rdr.get_ref().bytes_read();
                let line = self.rdr.get_mut().line_of(at);
                Some(Err(RowError { file: self.file.clone(), line, column: 1, reason: format!("unreadable CSV: {e}") }))
            }
            Ok(true) => {
                self.rdr.get_mut().mark();
                let off = self.rec.position().map_or(0, |p| p.byte());
                let line = self.rdr.get_mut().line_of(off);
                let err = |(column, reason)| RowError { file: self.file.clone(), line, column, reason };
                // A blank CRLF line read with LF as the row end: one cell holding a CR.
                if self.rec.len() == 1 && self.rec.get(0).is_some_and(|c| c.iter().all(u8::is_ascii_whitespace)) {
                    return self.next();
                }
                if self.rec.len() != self.width {
                    let col = self.rec.len().min(self.width) as u64 + 1;
                    return Some(Err(err((
                        col,
                        format!("row has {} fields, the header has {}", self.rec.len(), self.width),
                    ))));
                }
                let f = CsvFields::new(&self.header, &self.rec);
                Some(self.message(&f).map(|m| (line, m)).map_err(err))
            }
        }
    }

    /// The handle a tweet opens with (`@115712 …`), unless it is a company's.
    pub(super) fn opening_customer(&self, text: &str) -> Option<String> {
        let h = handle(text.trim_start().strip_prefix('@')?);
        (!h.is_empty() && !self.companies.contains_key(&h.to_ascii_lowercase())).then(|| h.to_string())
    }

    pub(super) fn message(&self, f: &dyn Fields) -> FieldResult<Message> {
        let id = integral_id(required(f, "tweet_id")?).into_owned();
        // Authors are handles or anonymised numbers written as text: read as they are (a handle
        // `1e5` is not 100000).
        let author = required(f, "author_id")?.to_string();
        let inbound_s = required(f, "inbound")?;
        let inbound = parse_bool(inbound_s)
            .ok_or_else(|| (f.col("inbound"), format!("`{inbound_s}` in column `inbound` is not True or False")))?;
        let created = required(f, "created_at")?;
        let created_at = parse_twitter_date(created).map_err(|e| (f.col("created_at"), e))?;
        // A CRLF file read with `\n` as the row end leaves the CR on the row's last cell.
        let text =
            f.raw("text")?.map(|t| t.strip_suffix('\r').unwrap_or(t).to_string()).filter(|t| !t.trim().is_empty());
        let reply_to = f.get("in_response_to_tweet_id")?.map(|p| integral_id(p).into_owned());
        let account = if !inbound {
            author.clone()
        } else if let Some((_, c)) = self.thread_company.get(self.root.get(&id).unwrap_or(&id)) {
            c.clone()
        } else {
            text.as_deref()
                .and_then(|t| first_company_mention(t, &self.companies))
                .unwrap_or_else(|| "(unknown)".to_string())
        };
        Ok(Message {
            message_id: id,
            created_at,
            direction: if inbound { Direction::In } else { Direction::Out },
            account,
            channel: "twitter".into(),
            // A company tweet that replies to nothing in the file names its customer by the
            // @mention it opens with: it then joins that customer's conversation instead of
            // standing alone.
            customer_id: if inbound {
                Some(author.clone())
            } else if reply_to.is_none() {
                text.as_deref().and_then(|t| self.opening_customer(t))
            } else {
                None
            },
            author_id: author,
            reply_to,
            text,
            public: Some(true),
            ..Message::empty()
        })
    }
}

/// The handle at the start of `rest`, the text right after an `@`.
pub(super) fn handle(rest: &str) -> &str {
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
    &rest[..end]
}

pub(super) fn first_company_mention(text: &str, companies: &HashMap<String, String>) -> Option<String> {
    text.split('@').skip(1).find_map(|rest| companies.get(&handle(rest).to_ascii_lowercase()).cloned())
}
