//! JSON exports of rows: an array of objects (`[{…}, {…}]`), or an object holding one (`{"data":
//! […]}`, as many tools wrap them), each object a row with the canonical field names.

use super::source::{ApiRows, Input, Options, Response, Rows};
use super::*;
use serde_json::Value;

pub(super) fn rows(input: Input, opts: &Options, rules: &Arc<Rules>) -> Box<dyn Rows> {
    let kind = opts.kind;
    let rules = rules.clone();
    let id_field = kind.id_field().unwrap_or(kind.required()[0]);
    Box::new(ApiRows::new(vec![input], move |input: &Input, rs: Vec<Response>, out: &mut VecDeque<_>| {
        // One object of the file as a row, read at `line` (`text`, when known, places its fields).
        let row = |map, text: Option<&str>, line: u64| {
            JsonFields::from_object(map, text, Some(rules.clone()))
                .and_then(|f| record_from(kind, &f))
                .map(|(id_column, record)| Located { file: input.name.clone(), line, id_column, record })
                .map_err(|(column, reason)| RowError { file: input.name.to_string(), line, column, reason })
        };
        let refused = |line: u64, reason: &str| RowError {
            file: input.name.to_string(),
            line,
            column: 1,
            reason: reason.to_string(),
        };
        for mut r in rs {
            let value = std::mem::take(&mut r.value);
            match value {
                // One object per line (`--format json` given JSON Lines): each object is a row.
                Value::Object(map) if !map.values().any(Value::is_array) => {
                    out.push_back(row(map, Some(&r.text[r.start..r.end]), r.line));
                }
                value => {
                    let Some(items) = row_array(value) else {
                        out.push_back(Err(refused(
                            r.line,
                            "expected an array of row objects, or an object holding one",
                        )));
                        continue;
                    };
                    for item in items {
                        let line = item
                            .get(id_field)
                            .and_then(super::source::id_of)
                            .map_or(r.line, |id| r.line_of(id_field, &id));
                        out.push_back(match item {
                            Value::Object(map) => row(map, None, line),
                            _ => Err(refused(line, "a row must be an object")),
                        });
                    }
                }
            }
        }
    }))
}

/// The rows of a JSON document: itself when an array, else the one array among its members
/// (`data`, `rows`, `items`, `records` first, as tools name it).
fn row_array(v: Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(a) => Some(a),
        Value::Object(mut m) => {
            for k in ["data", "rows", "items", "records", "results"] {
                if matches!(m.get(k), Some(Value::Array(_))) {
                    return m.remove(k).and_then(|x| match x {
                        Value::Array(a) => Some(a),
                        _ => None,
                    });
                }
            }
            let mut arrays = m.into_iter().filter_map(|(_, x)| match x {
                Value::Array(a) => Some(a),
                _ => None,
            });
            match (arrays.next(), arrays.next()) {
                (Some(one), None) => Some(one),
                _ => None,
            }
        }
        _ => None,
    }
}
