//! JSON Lines: one object per line, its keys the columns.

use super::*;

/// Splits a byte stream into lines at `\n`, `\r\n` or a lone `\r`.
pub(super) struct LineReader<R> {
    pub(super) r: BufReader<R>,
    pub(super) pos: u64,
    pub(super) line: u64,
    pub(super) pending_lf_skip: bool,
}

impl<R: Read> LineReader<R> {
    pub(super) fn new(r: R) -> Self {
        LineReader { r: BufReader::with_capacity(1 << 16, r), pos: 0, line: 0, pending_lf_skip: false }
    }

    pub(super) fn next_line(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        let line = self.next_raw_line()?;
        // A UTF-8 byte-order mark (Windows tools write one) is not part of the first row.
        Ok(line.map(|(n, mut l)| {
            if n == 1 && l.starts_with(b"\xEF\xBB\xBF") {
                l.drain(..3);
            }
            (n, l)
        }))
    }

    pub(super) fn next_raw_line(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        let mut out = Vec::new();
        loop {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                if out.is_empty() {
                    return Ok(None);
                }
                self.line += 1;
                return Ok(Some((self.line, out)));
            }
            let mut i = 0;
            if self.pending_lf_skip {
                self.pending_lf_skip = false;
                if buf[0] == b'\n' {
                    i = 1;
                }
            }
            let start = i;
            while i < buf.len() && buf[i] != b'\n' && buf[i] != b'\r' {
                i += 1;
            }
            out.extend_from_slice(&buf[start..i]);
            if out.len() as u64 > MAX_ROW_BYTES {
                return Err(io::Error::other(format!("a line runs past {} MiB", MAX_ROW_BYTES >> 20)));
            }
            if i < buf.len() {
                self.pending_lf_skip = buf[i] == b'\r';
                self.r.consume(i + 1);
                self.pos += (i + 1) as u64;
                self.line += 1;
                return Ok(Some((self.line, out)));
            }
            self.r.consume(i);
            self.pos += i as u64;
        }
    }
}

pub(super) struct JsonFields {
    pub(super) values: HashMap<String, (String, u64)>,
    pub(super) rules: Option<Arc<Rules>>,
}

impl JsonFields {
    pub(super) fn parse_with(text: &str, rules: Option<Arc<Rules>>) -> FieldResult<JsonFields> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| (e.column() as u64, format!("invalid JSON: {e}")))?;
        let serde_json::Value::Object(map) = v else {
            return Err((1, "a JSON Lines row must be an object".into()));
        };
        Self::from_object(map, Some(text), rules)
    }

    /// An object's members as fields; `text`, when known, places each in its line.
    pub(super) fn from_object(
        map: serde_json::Map<String, serde_json::Value>,
        text: Option<&str>,
        rules: Option<Arc<Rules>>,
    ) -> FieldResult<JsonFields> {
        let mut values = HashMap::default();
        for (k, v) in map {
            let col = text
                .and_then(|text| text.find(&format!("\"{k}\"")).map(|b| text[..b].chars().count() as u64 + 1))
                .unwrap_or(1);
            let s = match v {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => s,
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
                serde_json::Value::Object(_) => return Err((col, format!("field `{k}` must not be an object"))),
            };
            values.insert(k.to_ascii_lowercase(), (s, col));
        }
        if let Some(r) = &rules {
            // `--map FIELD=KEY`: the field is read from that key.
            for (field, key) in &r.columns {
                if let Some(v) = values.get(&key.to_ascii_lowercase()).cloned() {
                    values.insert(field.clone(), v);
                }
            }
            for (field, from, to) in &r.values {
                if let Some((v, _)) = values.get_mut(field) {
                    if v.trim().eq_ignore_ascii_case(from) {
                        *v = to.clone();
                    }
                }
            }
        }
        Ok(JsonFields { values, rules })
    }
}

impl Fields for JsonFields {
    fn dates(&self) -> &DateRule {
        self.rules.as_ref().map_or(&DateRule::NONE, |r| &r.dates)
    }
    fn raw(&self, name: &str) -> FieldResult<Option<&str>> {
        Ok(self.values.get(name).map(|(s, _)| s.as_str()).filter(|s| !s.trim().is_empty()))
    }
    fn get(&self, name: &str) -> FieldResult<Option<&str>> {
        Ok(self.raw(name)?.map(str::trim))
    }
    fn col(&self, name: &str) -> u64 {
        self.values.get(name).map_or(1, |(_, c)| *c)
    }
    fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
}
