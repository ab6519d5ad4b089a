//! JSON exports of rows: an array of objects (`[{…}, {…}]`), or an object holding one (`{"data":
//! […]}`, as many tools wrap them), each object a row with the canonical field names.

use super::source::{ApiRows, Input, Options, Response, Rows};
use super::*;
use serde_json::Value;

pub(super) fn rows(input: Input, opts: &Options, rules: &Arc<Rules>) -> Box<dyn Rows> {
    let kind = opts.kind;
    let rules = rules.clone();
    Box::new(ApiRows::new(vec![input], move |input: &Input, rs: Vec<Response>, out: &mut VecDeque<_>| {
        for r in rs {
            // One object per line (`--format json` given JSON Lines): each object is a row.
            if r.value.as_object().is_some_and(|o| !o.values().any(Value::is_array)) {
                let text = &r.text[r.start..r.end];
                let err = |(column, reason)| RowError { file: input.name.to_string(), line: r.line, column, reason };
                let Value::Object(map) = r.value.clone() else { continue };
                out.push_back(
                    JsonFields::from_object(map, Some(text), Some(rules.clone()))
                        .and_then(|f| record_from(kind, &f))
                        .map(|(id_column, record)| Located {
                            file: input.name.clone(),
                            line: r.line,
                            id_column,
                            record,
                        })
                        .map_err(err),
                );
                continue;
            }
            let Some(items) = row_array(&r.value) else {
                out.push_back(Err(RowError {
                    file: input.name.to_string(),
                    line: r.line,
                    column: 1,
                    reason: "expected an array of row objects, or an object holding one".into(),
                }));
                continue;
            };
            for item in items {
                let id_field = kind.id_field().unwrap_or(kind.required()[0]);
                let line =
                    item.get(id_field).and_then(super::source::id_of).map_or(r.line, |id| r.line_of(id_field, &id));
                let serde_json::Value::Object(map) = item.clone() else {
                    out.push_back(Err(RowError {
                        file: input.name.to_string(),
                        line,
                        column: 1,
                        reason: "a row must be an object".into(),
                    }));
                    continue;
                };
                let err = |(column, reason)| RowError { file: input.name.to_string(), line, column, reason };
                out.push_back(
                    JsonFields::from_object(map, None, Some(rules.clone()))
                        .and_then(|f| record_from(kind, &f))
                        .map(|(id_column, record)| Located { file: input.name.clone(), line, id_column, record })
                        .map_err(err),
                );
            }
        }
    }))
}

/// The rows of a JSON document: itself when an array, else the one array among its members
/// (`data`, `rows`, `items`, `records` first, as tools name it).
fn row_array(v: &serde_json::Value) -> Option<&Vec<serde_json::Value>> {
    match v {
        serde_json::Value::Array(a) => Some(a),
        serde_json::Value::Object(m) => {
            for k in ["data", "rows", "items", "records", "results"] {
                if let Some(serde_json::Value::Array(a)) = m.get(k) {
                    return Some(a);
                }
            }
            let arrays: Vec<&Vec<serde_json::Value>> = m.values().filter_map(|x| x.as_array()).collect();
            match arrays.as_slice() {
                [one] => Some(one),
                _ => None,
            }
        }
        _ => None,
    }
}
