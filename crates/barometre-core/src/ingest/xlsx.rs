//! Spreadsheets (`.xlsx`, and `.xls`, `.ods`, `.xlsb` as the reader knows them): the first row of a
//! sheet is its header, each following row a row of the kind imported, located by its row number.
//! Cells are read as a CSV's would be written: whole numbers without a decimal point (an id
//! `1041` that Excel stores as 1041.0), dates as wall-clock times (`--tz` says their zone).

use super::source::{Input, Options, Rows};
use super::*;
use calamine::{Data, DataType, Reader};

/// The rows of `input`'s sheet (`--sheet`, else the first), and the sheet's name.
pub(super) fn open(input: &Input, opts: &Options, rules: &Arc<Rules>) -> Result<(Box<dyn Rows>, String), RowError> {
    let err = |line, reason: String| RowError { file: input.name.to_string(), line, column: 1, reason };
    let bytes = input.read_capped(super::source::MAX_RESPONSE).map_err(|e| err(1, e))?;
    let mut book = calamine::open_workbook_auto_from_rs(io::Cursor::new(bytes))
        .map_err(|e| err(1, format!("not a readable spreadsheet: {e}")))?;
    let names = book.sheet_names();
    let sheet = match &opts.sheet {
        Some(s) => names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(s))
            .cloned()
            .ok_or_else(|| err(1, format!("no sheet `{s}` in the workbook (sheets: {})", names.join(", "))))?,
        None => names.first().cloned().ok_or_else(|| err(1, "the workbook has no sheet".into()))?,
    };
    let range = book.worksheet_range(&sheet).map_err(|e| err(1, format!("cannot read sheet `{sheet}`: {e}")))?;
    let first_row = range.start().map_or(0, |(r, _)| u64::from(r));
    // The header is the first row with a cell.
    let Some(header_at) = (0..range.height()).find(|&i| (0..range.width()).any(|j| !cell(&range, i, j).is_empty()))
    else {
        return Err(err(1, format!("sheet `{sheet}` is empty: no header row")));
    };
    let header_line = first_row + header_at as u64 + 1;
    let names: Vec<String> = (0..range.width()).map(|j| cell_text(cell(&range, header_at, j))).collect();
    let (header, width) =
        delimited::header_from(&names, &input.name, opts.kind.required(), opts.kind.id_field(), rules.clone())
            .map_err(|mut e| {
                e.line = header_line;
                e
            })?;
    // Rows are made one at a time from the sheet (held once, by the reader), not copied whole.
    let rows = SheetRows {
        file: input.name.clone(),
        kind: opts.kind,
        header,
        width,
        range,
        next: header_at + 1,
        first_row,
        rec: csv::ByteRecord::new(),
        len: input.len,
    };
    Ok((Box::new(rows), sheet))
}

/// The cell at `(row, column)` of the sheet's range (relative), empty past it.
fn cell(range: &calamine::Range<Data>, row: usize, col: usize) -> &Data {
    const EMPTY: &Data = &Data::Empty;
    range.get((row, col)).unwrap_or(EMPTY)
}

/// A cell as text.
fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        // A duration (`[h]:mm:ss`) or a time of day alone (`0:01:35`): seconds, as a
        // `handle_seconds` column means them (never a date in 1899).
        Data::DateTime(d) if d.is_duration() || d.as_f64() < 1.0 => {
            let secs = d.as_f64() * 86_400.0;
            let r = secs.round();
            if (secs - r).abs() < 1e-6 {
                format!("{}", r as i64)
            } else {
                secs.to_string()
            }
        }
        Data::DateTime(d) => match d.as_datetime() {
            Some(t) if d.is_datetime() => {
                if t.and_utc().timestamp_subsec_millis() == 0 {
                    t.format("%Y-%m-%dT%H:%M:%S").to_string()
                } else {
                    t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
                }
            }
            _ => d.as_f64().to_string(),
        },
    }
}

struct SheetRows {
    file: Arc<str>,
    kind: Kind,
    header: delimited::Header,
    width: usize,
    range: calamine::Range<Data>,
    /// The next row to read, relative to the range.
    next: usize,
    /// The sheet row of the range's first row (0-based).
    first_row: u64,
    rec: csv::ByteRecord,
    len: u64,
}

impl Iterator for SheetRows {
    type Item = Result<Located, RowError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.next >= self.range.height() {
                return None;
            }
            let i = self.next;
            self.next += 1;
            if (0..self.range.width()).all(|j| cell(&self.range, i, j).is_empty()) {
                continue;
            }
            self.rec.clear();
            for j in 0..self.width {
                self.rec.push_field(cell_text(cell(&self.range, i, j)).as_bytes());
            }
            let line = self.first_row + i as u64 + 1;
            let f = CsvFields::new(&self.header, &self.rec);
            return Some(
                record_from(self.kind, &f)
                    .map(|(id_column, record)| Located { file: self.file.clone(), line, id_column, record })
                    .map_err(|(column, reason)| RowError { file: self.file.to_string(), line, column, reason }),
            );
        }
    }
}

impl Rows for SheetRows {
    fn bytes_read(&self) -> u64 {
        if self.next >= self.range.height() {
            self.len
        } else {
            0
        }
    }
}
