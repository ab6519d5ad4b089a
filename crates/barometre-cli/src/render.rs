//! Human output: tables in French or English, CSV and XLSX files.

use anyhow::Result;
use barometre_core::clock::{Facts, Outcome, Role};
use barometre_core::config::Config;
use barometre_core::fmt::{duration, number, percent};
use barometre_core::metrics::{self, Lang, Shape, METRICS};
use barometre_core::report::{Metrics, Params, Report, Value};
use barometre_core::time::rfc3339_utc;
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;
use std::path::Path;

fn signed(x: f64, unit: &str, lang: Lang) -> String {
    let sign = if x > 0.0 {
        "+"
    } else if x < 0.0 {
        "−"
    } else {
        "±"
    };
    format!("{sign}{}{unit}", number(x.abs(), 1, lang))
}

/// Value, detail, and the number compared with the previous period.
fn cells(v: &Value, lang: Lang) -> (String, String, Option<f64>) {
    let na = "—".to_string();
    match v {
        Value::Count(c) => {
            (c.value.map_or(na, |n| number(n as f64, 0, lang)), String::new(), c.value.map(|n| n as f64))
        }
        Value::Ratio(r) => (
            r.value.map_or(na, |x| percent(x, lang)),
            format!("{} / {}", number(r.numerator as f64, 0, lang), number(r.denominator as f64, 0, lang)),
            r.value,
        ),
        Value::Duration(d) => {
            let detail = match (d.mean, d.p90) {
                (Some(m), Some(p)) => match lang {
                    Lang::Fr => format!("moy. {} · p90 {} · n {}", duration(m, lang), duration(p, lang), d.count),
                    Lang::En => format!("mean {} · p90 {} · n {}", duration(m, lang), duration(p, lang), d.count),
                },
                _ => format!("n {}", d.count),
            };
            (d.median.map_or(na, |m| duration(m, lang)), detail, d.median)
        }
        Value::Badge(b) => {
            let yes = match (lang, b.earned) {
                (Lang::Fr, true) => "obtenu ✓",
                (Lang::Fr, false) => "non obtenu",
                (Lang::En, true) => "earned ✓",
                (Lang::En, false) => "not earned",
            };
            let rate = b.response_rate.value.map_or("—".into(), |x| percent(x, lang));
            let med = b.response_time.median.map_or("—".into(), |x| duration(x, lang));
            let detail = match lang {
                Lang::Fr => format!(
                    "{rate} (≥ {}) · médiane {med} (< {})",
                    percent(b.thresholds.response_rate, lang),
                    duration(b.thresholds.response_time, lang)
                ),
                Lang::En => format!(
                    "{rate} (≥ {}) · median {med} (< {})",
                    percent(b.thresholds.response_rate, lang),
                    duration(b.thresholds.response_time, lang)
                ),
            };
            (yes.to_string(), detail, Some(if b.earned { 1.0 } else { 0.0 }))
        }
        Value::Mean(m) => {
            let scale = match (m.scale_min, m.scale_max) {
                (Some(a), Some(b)) => format!(" · {}–{}", number(a, 0, lang), number(b, 0, lang)),
                _ => String::new(),
            };
            let better = match (m.lower_is_better, lang) {
                (true, Lang::Fr) => " · plus bas = mieux",
                (true, Lang::En) => " · lower is better",
                _ => "",
            };
            (m.value.map_or(na, |v| number(v, 2, lang)), format!("n {}{scale}{better}", m.count), m.value)
        }
        Value::Posts(p) => {
            // The best post in the value, the worst in the detail: the table stays readable;
            // JSON, CSV and `explain` carry the full rankings.
            let one = |x: Option<&barometre_core::report::PostRank>| {
                x.map_or("—".to_string(), |x| format!("{} {}", x.post_id, percent(x.engagement_rate, lang)))
            };
            let detail = match lang {
                Lang::Fr => format!("la moins bonne : {}", one(p.bottom.first())),
                Lang::En => format!("the weakest: {}", one(p.bottom.first())),
            };
            (one(p.top.first()), detail, None)
        }
        Value::Retention(r) => {
            let detail = match lang {
                Lang::Fr => {
                    format!("début {} · fin {} · nouveaux {}", r.customers_start, r.customers_end, r.new_customers)
                }
                Lang::En => format!("start {} · end {} · new {}", r.customers_start, r.customers_end, r.new_customers),
            };
            (r.value.map_or(na, |v| percent(v, lang)), detail, r.value)
        }
        Value::Amount(a) => {
            let cur = a.currency.clone().unwrap_or_default();
            let detail = match lang {
                Lang::Fr => format!("{} clients · {} commandes", a.customers, a.orders),
                Lang::En => format!("{} customers · {} orders", a.customers, a.orders),
            };
            (a.value.map_or(na, |v| format!("{} {cur}", number(v, 2, lang)).trim_end().to_string()), detail, a.value)
        }
        Value::Weighted(w) => {
            let parts: Vec<String> = w
                .criteria
                .iter()
                .map(|c| {
                    format!(
                        "{} {}×{}",
                        c.criterion,
                        number(c.weight, 0, lang),
                        c.mean.map_or("—".into(), |m| number(m, 1, lang))
                    )
                })
                .collect();
            (w.value.map_or(na, |v| number(v, 1, lang)), parts.join(" · "), w.value)
        }
        Value::Channels(c) => {
            let pct = |x: Option<f64>| x.map_or("—".into(), |v| percent(v, lang));
            let list: Vec<String> = c
                .channels
                .iter()
                .map(|x| {
                    format!(
                        "{} {}/{}/{}",
                        x.channel,
                        pct(x.contact_share),
                        pct(x.customer_share),
                        pct(x.declared_share)
                    )
                })
                .collect();
            let head = match lang {
                Lang::Fr => "contacts/clients/déclarés : ",
                Lang::En => "contacts/customers/declared: ",
            };
            (c.channels.first().map_or(na, |x| x.channel.clone()), format!("{head}{}", list.join(" · ")), None)
        }
        Value::Nps(n) => {
            let detail = match lang {
                Lang::Fr => {
                    format!("promoteurs {} · passifs {} · détracteurs {}", n.promoters, n.passives, n.detractors)
                }
                Lang::En => {
                    format!("promoters {} · passives {} · detractors {}", n.promoters, n.passives, n.detractors)
                }
            };
            (n.value.map_or(na, |v| number(v, 1, lang)), detail, n.value)
        }
        Value::Activity(a) => {
            let detail = match lang {
                Lang::Fr => format!("{} messages · fuseau {}", number(a.messages as f64, 0, lang), a.zone),
                Lang::En => format!("{} messages · {} time", number(a.messages as f64, 0, lang), a.zone),
            };
            (a.peak.as_ref().map_or(na, |p| peak(p, lang)), detail, None)
        }
        Value::Themes(t) => {
            let list: Vec<String> = t.themes.iter().take(3).map(|c| theme_count(c, lang)).collect();
            let detail = match lang {
                Lang::Fr => format!(
                    "{} messages sur un thème / {}",
                    number(t.with_theme as f64, 0, lang),
                    number(t.messages as f64, 0, lang)
                ),
                Lang::En => format!(
                    "{} messages about a theme / {}",
                    number(t.with_theme as f64, 0, lang),
                    number(t.messages as f64, 0, lang)
                ),
            };
            (if list.is_empty() { na } else { list.join(" · ") }, detail, None)
        }
    }
}

/// A theme, its count and its change: « Livraison 42 (+35 %) », "Delivery 42 (new)".
pub fn theme_count(c: &barometre_core::value::ThemeCount, lang: Lang) -> String {
    let name = barometre_core::understand::themes::name(c.theme, lang);
    let change = match (c.change, c.previous) {
        (Some(x), _) => format!(" ({})", signed(x, if lang == Lang::Fr { "\u{a0}%" } else { "%" }, lang)),
        (None, Some(0)) => (if lang == Lang::Fr { " (nouveau)" } else { " (new)" }).to_string(),
        _ => String::new(),
    };
    format!("{name} {}{change}", number(c.messages as f64, 0, lang))
}

use barometre_core::fmt::peak;

fn change(shape: Shape, now: Option<f64>, before: Option<f64>, lang: Lang) -> String {
    match (shape, now, before) {
        (Shape::Ratio | Shape::Nps, Some(a), Some(b)) => signed(a - b, " pts", lang),
        (Shape::Mean, Some(a), Some(b)) => signed(a - b, "", lang),
        (Shape::Retention | Shape::Weighted, Some(a), Some(b)) => signed(a - b, " pts", lang),
        (Shape::Amount, Some(a), Some(b)) if b != 0.0 => {
            signed((a - b) / b * 100.0, if lang == Lang::Fr { "\u{a0}%" } else { "%" }, lang)
        }
        (Shape::Count | Shape::Duration, Some(a), Some(b)) if b != 0.0 => {
            signed((a - b) / b * 100.0, if lang == Lang::Fr { "\u{a0}%" } else { "%" }, lang)
        }
        _ => String::new(),
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let n = header.len();
    let mut w = vec![0; n];
    for r in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        for (i, c) in r.iter().enumerate().take(n) {
            w[i] = w[i].max(width(c));
        }
    }
    let line = |r: &[String]| {
        let mut s = String::new();
        for (i, c) in r.iter().enumerate().take(n) {
            s.push_str(c);
            if i + 1 < n {
                s.push_str(&" ".repeat(w[i] - width(c) + 2));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header);
    out.push_str(&(w.iter().map(|x| "─".repeat(*x)).collect::<Vec<_>>().join("  ") + "\n"));
    for r in rows {
        out.push_str(&line(r));
    }
    out
}

fn block(metrics: &Metrics, prev: Option<&Metrics>, lang: Lang) -> String {
    let header: Vec<String> = match lang {
        Lang::Fr => ["Indicateur", "Valeur", "Détail", "Période préc.", "Évolution"],
        Lang::En => ["Indicator", "Value", "Detail", "Previous period", "Change"],
    }
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rows = Vec::new();
    for def in METRICS {
        let Some(v) = metrics.get(def.id) else { continue };
        let (value, detail, num) = cells(v, lang);
        let (pv, pn) = match prev.and_then(|p| p.get(def.id)) {
            Some(pv) => {
                let (s, _, n) = cells(pv, lang);
                (s, n)
            }
            None => (String::new(), None),
        };
        let label = match def.shape() {
            Shape::Duration => format!("{} ({})", def.label(lang), if lang == Lang::Fr { "médiane" } else { "median" }),
            _ => def.label(lang).to_string(),
        };
        let arrow = if def.shape() == Shape::Duration || !def.higher_is_better {
            if lang == Lang::Fr {
                " ↓ mieux"
            } else {
                " ↓ better"
            }
        } else {
            ""
        };
        rows.push(vec![label + arrow, value, detail, pv, change(def.shape(), num, pn, lang)]);
    }
    table(&header, &rows)
}

/// A grouping dimension's name in the table's language.
fn dim_label(d: &str, lang: Lang) -> &str {
    match (lang, d) {
        (Lang::Fr, "account") => "compte",
        (Lang::Fr, "channel") => "canal",
        (Lang::Fr, "team") => "équipe",
        (Lang::Fr, "day") => "jour",
        (Lang::Fr, "week") => "semaine",
        (Lang::Fr, "month") => "mois",
        (Lang::Fr, "theme") => "thème",
        _ => d,
    }
}

pub fn report_table(r: &Report, prev: Option<&Report>, lang: Lang, cfg: &Config) -> String {
    let any = |s: &Option<String>| s.clone().unwrap_or_else(|| "…".into());
    let mut out = match lang {
        Lang::Fr => format!(
            "Baromètre — période {} → {} (fuseau {}){}\n",
            any(&r.period.from),
            any(&r.period.to),
            r.timezone,
            r.group_by.map_or(String::new(), |g| format!(", par {}", dim_label(g, lang)))
        ),
        Lang::En => format!(
            "Baromètre — period {} → {} (time zone {}){}\n",
            any(&r.period.from),
            any(&r.period.to),
            r.timezone,
            r.group_by.map_or(String::new(), |g| format!(", by {g}"))
        ),
    };
    match prev {
        Some(p) => out.push_str(&match lang {
            Lang::Fr => format!("Comparée à la période précédente {} → {}\n", any(&p.period.from), any(&p.period.to)),
            Lang::En => format!("Compared with the previous period {} → {}\n", any(&p.period.from), any(&p.period.to)),
        }),
        None => out.push_str(match lang {
            Lang::Fr => "(donnez --from et --to pour comparer à la période précédente)\n",
            Lang::En => "(give --from and --to to compare with the previous period)\n",
        }),
    }
    out.push_str(&match lang {
        Lang::Fr => format!(
            "Délai cible : {} · ↓ mieux : plus bas est meilleur\n",
            duration(cfg.target_ms as f64 / 1000.0, lang)
        ),
        Lang::En => format!("Target: {} · ↓ better: lower is better\n", duration(cfg.target_ms as f64 / 1000.0, lang)),
    });
    for n in &r.data_quality {
        let (label, text) = match lang {
            Lang::Fr => ("⚠ Qualité des données", &n.message_fr),
            Lang::En => ("⚠ Data quality", &n.message_en),
        };
        out.push_str(&format!("{label} : {text}\n"));
    }
    out.push_str("\n== Total ==\n");
    out.push_str(&block(&r.total.metrics, prev.map(|p| &p.total.metrics), lang));
    for g in &r.groups {
        let key =
            g.key.clone().unwrap_or_else(|| if lang == Lang::Fr { "(sans valeur)".into() } else { "(none)".into() });
        out.push_str(&format!("\n== {} : {key} ==\n", dim_label(r.group_by.unwrap_or(""), lang)));
        let pg = prev.and_then(|p| p.groups.iter().find(|x| x.key == g.key)).map(|x| &x.metrics);
        out.push_str(&block(&g.metrics, pg, lang));
    }
    out
}

fn csv_cell(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        Json::Array(a) => a.iter().map(csv_cell).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

/// A text cell as a spreadsheet will not run it (OWASP's CSV-injection rule): a cell that begins
/// with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel, LibreOffice and
/// Google Sheets (`=HYPERLINK(…)` in a message text would be a live link), so it gets a leading
/// `'`, which spreadsheets show as text. Numbers are written as numbers, never through this.
pub fn spreadsheet_safe(s: &str) -> std::borrow::Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => std::borrow::Cow::Owned(format!("'{s}")),
        _ => std::borrow::Cow::Borrowed(s),
    }
}

/// The longest text an XLSX cell holds (Excel's limit, in UTF-16 code units).
pub const XLSX_CELL_CHARS: usize = 32_767;

/// A text cell cut to what XLSX holds: as many characters as fit in 32,766 UTF-16 units (an
/// emoji takes two) and `…`, rather than no file.
pub fn xlsx_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= XLSX_CELL_CHARS || s.encode_utf16().count() <= XLSX_CELL_CHARS {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut units = 0;
    let mut cut = 0;
    for (i, c) in s.char_indices() {
        if units + c.len_utf16() > XLSX_CELL_CHARS - 1 {
            break;
        }
        units += c.len_utf16();
        cut = i + c.len_utf8();
    }
    std::borrow::Cow::Owned(format!("{}…", &s[..cut]))
}

/// A number as a French spreadsheet reads it: a decimal comma, no thousands separator.
fn excel_number(v: &Json) -> String {
    match v {
        Json::Number(n) => n.to_string().replace('.', ","),
        other => csv_cell(other),
    }
}

/// Rows of JSON objects as CSV, columns in the first row's order; text cells spreadsheet-safe. With
/// `excel`, as a French Excel opens it as a table: `;` between cells, decimal
/// commas, CRLF line ends and a UTF-8 byte-order mark (without which Excel reads the accents as
/// Windows-1252).
pub fn rows_csv_as(rows: &[Map<String, Json>], excel: bool) -> String {
    let mut cols: Vec<String> = Vec::new();
    for r in rows {
        for k in r.keys() {
            if !cols.contains(k) {
                cols.push(k.clone());
            }
        }
    }
    let mut b = csv::WriterBuilder::new();
    if excel {
        b.delimiter(b';').terminator(csv::Terminator::CRLF);
    }
    let mut w = b.from_writer(Vec::new());
    let _ = w.write_record(&cols);
    for r in rows {
        let _ = w.write_record(cols.iter().map(|c| match r.get(c) {
            None => String::new(),
            Some(v @ Json::Number(_)) if excel => excel_number(v),
            Some(v @ (Json::Number(_) | Json::Bool(_) | Json::Null)) => csv_cell(v),
            Some(v) => spreadsheet_safe(&csv_cell(v)).into_owned(),
        }));
    }
    let text = String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default();
    if excel {
        format!("\u{feff}{text}")
    } else {
        text
    }
}

pub fn rows_table(rows: &[Map<String, Json>]) -> String {
    let Some(first) = rows.first() else { return "(0)\n".into() };
    let cols: Vec<String> = first.keys().cloned().collect();
    let body: Vec<Vec<String>> =
        rows.iter().map(|r| cols.iter().map(|c| r.get(c).map_or(String::new(), csv_cell)).collect()).collect();
    format!("{}({} rows)\n", table(&cols, &body), rows.len())
}

pub fn rows_xlsx(rows: &[Map<String, Json>], path: &Path) -> Result<()> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let bold = Format::new().set_bold();
    let mut cols: Vec<String> = Vec::new();
    for r in rows {
        for k in r.keys() {
            if !cols.contains(k) {
                cols.push(k.clone());
            }
        }
    }
    for (j, c) in cols.iter().enumerate() {
        ws.write_string_with_format(0, j as u16, c, &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        for (j, c) in cols.iter().enumerate() {
            let col = j as u16;
            match r.get(c) {
                None | Some(Json::Null) => {}
                Some(Json::Number(n)) => {
                    ws.write_number(row, col, n.as_f64().unwrap_or(0.0))?;
                }
                Some(Json::Bool(b)) => {
                    ws.write_boolean(row, col, *b)?;
                }
                Some(v) => {
                    ws.write_string(row, col, xlsx_text(&csv_cell(v)))?;
                }
            }
        }
    }
    ws.autofilter(0, 0, rows.len() as u32, cols.len().saturating_sub(1) as u16)?;
    ws.set_freeze_panes(1, 0)?;
    wb.save(path)?;
    Ok(())
}

pub fn report_csv(r: &Report, excel: bool) -> String {
    let mut rows = Vec::new();
    let mut push = |scope: &str, key: Option<&str>, m: &Metrics| {
        for (id, v) in &m.0 {
            let mut o = Map::new();
            o.insert("scope".into(), json!(scope));
            o.insert("key".into(), json!(key));
            o.insert("metric".into(), json!(id));
            let j = serde_json::to_value(v).unwrap_or(Json::Null);
            for f in ["value", "numerator", "denominator", "count", "mean", "median", "p90", "min", "max", "earned"] {
                let x = match (v, f) {
                    (Value::Badge(b), "value") => json!(b.earned),
                    (Value::Badge(b), "numerator") => json!(b.response_rate.numerator),
                    (Value::Badge(b), "denominator") => json!(b.response_rate.denominator),
                    (Value::Badge(b), "median") => json!(b.response_time.median),
                    (Value::Badge(b), "count") => json!(b.response_time.count),
                    (Value::Nps(n), "numerator") => json!(n.promoters),
                    (Value::Nps(n), "denominator") => json!(n.count),
                    _ => j.get(f).cloned().unwrap_or(Json::Null),
                };
                o.insert(f.into(), x);
            }
            rows.push(o);
        }
    };
    push("total", None, &r.total.metrics);
    for g in &r.groups {
        push(r.group_by.unwrap_or("group"), g.key.as_deref(), &g.metrics);
    }
    rows_csv_as(&rows, excel)
}

/// One row per conversation started in the period: what users check totals with.
/// `barometre export messages`: one row per message of the period, with its label and where the
/// label comes from (an analyst's correction, the source's column, the text).
pub fn message_rows(f: &Facts, p: &Params) -> Vec<Map<String, Json>> {
    let mut idx: Vec<usize> = (0..f.messages.len())
        .filter(|&i| p.from.is_none_or(|x| f.messages[i].ms >= x) && p.to.is_none_or(|x| f.messages[i].ms < x))
        .collect();
    idx.sort_by_key(|&i| (f.messages[i].ms, &f.messages[i].message_id));
    idx.into_iter()
        .map(|i| {
            let m = &f.messages[i];
            let Json::Object(o) = json!({
                "message_id": m.message_id,
                "conversation_id": m.conversation_id,
                "created_at": rfc3339_utc(m.ms),
                "account": m.account,
                "channel": m.channel,
                "role": m.role.as_str(),
                "author_id": m.author_id,
                "agent": m.agent,
                "public": m.public,
                "label": m.label,
                "label_source": m.label_source,
                "in_scope": m.in_scope,
                "actionable": m.actionable,
                "request_id": m.request_id,
            }) else {
                unreachable!()
            };
            o
        })
        .collect()
}

pub fn conversation_rows(f: &Facts, p: &Params, cfg: &Config) -> Vec<Map<String, Json>> {
    let mut convs: BTreeMap<&str, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (i, m) in f.messages.iter().enumerate() {
        convs.entry(&m.conversation_id).or_default().0.push(i);
    }
    for (i, r) in f.requests.iter().enumerate() {
        convs.entry(&r.conversation_id).or_default().1.push(i);
    }
    let facts: std::collections::HashMap<&str, &barometre_core::clock::ConversationFact> =
        f.conversations.iter().map(|c| (c.conversation_id.as_str(), c)).collect();
    let mut out = Vec::new();
    for (id, (mut ms, mut rs)) in convs {
        ms.sort_by_key(|&i| (f.messages[i].ms, &f.messages[i].message_id));
        rs.sort_by_key(|&i| f.requests[i].start_ms);
        let Some(&first) = ms.first() else { continue };
        let m0 = &f.messages[first];
        if !(p.from.is_none_or(|x| m0.ms >= x) && p.to.is_none_or(|x| m0.ms < x)) {
            continue;
        }
        let role = |r: Role| ms.iter().filter(|&&i| f.messages[i].role == r).count();
        let outcome = |o: Outcome| rs.iter().filter(|&&i| f.requests[i].outcome == o).count();
        let times: Vec<f64> =
            rs.iter().filter_map(|&i| f.requests[i].response_ms()).map(|x| x as f64 / 1000.0).collect();
        let first_req = rs.first().map(|&i| &f.requests[i]);
        let frt = first_req.and_then(|r| r.response_ms()).map(|x| x as f64 / 1000.0);
        let frt_b = first_req
            .filter(|r| r.outcome == Outcome::Answered)
            .and_then(|r| r.closed_ms.map(|e| cfg.calendar(&r.account).open_ms(r.start_ms, e) as f64 / 1000.0));
        let mut agents: Vec<&str> = ms
            .iter()
            .filter_map(|&i| {
                let m = &f.messages[i];
                matches!(m.role, Role::Reply | Role::Proactive).then_some(m.author_id.as_str())
            })
            .collect();
        agents.sort_unstable();
        agents.dedup();
        let last = &f.messages[*ms.last().unwrap_or(&first)];
        // The customer messages' labels, in the guide's order: `complaint=1;question=2`.
        let mut labels = [0usize; barometre_core::understand::Label::ALL.len()];
        let mut corrected = 0;
        for &i in &ms {
            if let Some(l) = f.messages[i].label {
                labels[l.index()] += 1;
                corrected += usize::from(
                    f.messages[i].label_source == Some(barometre_core::understand::LabelSource::Correction),
                );
            }
        }
        let labels: Vec<String> = barometre_core::understand::Label::ALL
            .iter()
            .zip(labels)
            .filter(|(_, n)| *n > 0)
            .map(|(l, n)| format!("{}={n}", l.as_str()))
            .collect();
        let Json::Object(o) = json!({
            "conversation_id": id,
            "start": rfc3339_utc(m0.ms),
            "end": rfc3339_utc(last.ms),
            "account": m0.account,
            "channel": m0.channel,
            "customer": first_req.and_then(|r| r.customer.clone()),
            "messages": ms.len(),
            "customer_messages": role(Role::Customer),
            "agent_replies": role(Role::Reply),
            "proactive_messages": role(Role::Proactive),
            "bot_messages": role(Role::Bot),
            "requests": rs.len(),
            "answered_requests": outcome(Outcome::Answered),
            "examined_requests": outcome(Outcome::Examined),
            "unanswered_requests": outcome(Outcome::Unanswered),
            "first_response_seconds": frt,
            "first_response_seconds_business": frt_b,
            "response_seconds": times,
            "answered": !rs.is_empty() && outcome(Outcome::Unanswered) == 0 && outcome(Outcome::Answered) > 0,
            "examined": outcome(Outcome::Examined) > 0,
            "agents": agents,
            "labels": labels.join(";"),
            "corrected_labels": corrected,
            "participants": facts.get(id).map_or(0, |c| c.participants),
            "public": facts.get(id).is_some_and(|c| c.public),
        }) else {
            unreachable!()
        };
        out.push(o);
    }
    out
}

/// The metric documentation, generated from the registry (the README embeds it).
pub fn metrics_markdown(lang: Lang) -> String {
    let mut s = match lang {
        Lang::Fr => "| id | indicateur | formule | source |\n|---|---|---|---|\n".to_string(),
        Lang::En => "| id | indicator | formula | source |\n|---|---|---|---|\n".to_string(),
    };
    for m in metrics::METRICS {
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            m.id,
            m.label(lang),
            m.formula(lang).replace('|', "\\|"),
            m.seed
        ));
    }
    s
}

/// The `check` result as a table: every alert, breached ones marked, and the staffing signal.
pub fn check_table(r: &barometre_core::check::CheckReport, lang: Lang) -> String {
    let fr = lang == Lang::Fr;
    let header: Vec<String> = if fr {
        ["Statut", "Indicateur", "Groupe", "Valeur", "Seuil", "Fenêtre"]
    } else {
        ["Status", "Indicator", "Group", "Value", "Threshold", "Window"]
    }
    .iter()
    .map(|s| s.to_string())
    .collect();
    let fmt = |id: &str, v: f64| match metrics::find(id).map(|d| d.shape()) {
        Some(Shape::Ratio) => percent(v, lang),
        Some(Shape::Duration) => duration(v, lang),
        Some(Shape::Count) => number(v, 0, lang),
        _ => number(v, 2, lang),
    };
    let rows: Vec<Vec<String>> = r
        .findings
        .iter()
        .map(|f| {
            let label = metrics::find(&f.metric).map_or(f.metric.clone(), |d| d.label(lang).to_string());
            vec![
                if f.breached { (if fr { "ALERTE" } else { "BREACHED" }).to_string() } else { "ok".to_string() },
                label,
                f.key.clone().unwrap_or_else(|| if f.by.is_some() { "(null)".into() } else { "total".into() }),
                f.value
                    .map_or_else(|| (if fr { "pas de données" } else { "no data" }).to_string(), |v| fmt(&f.metric, v)),
                format!("{} {}", f.op, fmt(&f.metric, f.threshold)),
                format!("{} → {}", f.from, f.to),
            ]
        })
        .collect();
    let mut out = table(&header, &rows);
    if let Some(s) = &r.staffing {
        let show = |t: &barometre_core::check::Trend, id: &str| {
            let f = |x: Option<f64>| x.map_or("—".to_string(), |v| fmt(id, v));
            format!("{} → {}", f(t.before), f(t.now))
        };
        out.push_str(&format!(
            "\n{} {} : {} {} · {} {} · {} {}\n",
            if s.flagged {
                if fr {
                    "ALERTE"
                } else {
                    "BREACHED"
                }
            } else {
                "ok"
            },
            if fr { "effectifs (seed 001)" } else { "staffing (seed 001)" },
            if fr { "messages reçus" } else { "messages received" },
            show(&s.messages_received, "messages_received"),
            if fr { "taux de réponse" } else { "response rate" },
            show(&s.response_rate, "response_rate"),
            if fr { "délai de 1re réponse médian" } else { "median first response" },
            show(&s.first_response_time_median, "first_response_time"),
        ));
        if s.flagged {
            out.push_str(if fr {
                "Plus de messages, moins de réponses ou plus lentes : renforcez l'équipe.\n"
            } else {
                "More messages, fewer or slower answers: add people to the team.\n"
            });
        }
    }
    out.push_str(&if fr { format!("{} alerte(s)\n", r.breached) } else { format!("{} breached\n", r.breached) });
    out
}

/// One spreadsheet column of a metric: a header and how to read and show the value.
enum Cell {
    Num(Option<f64>),
    Pct(Option<f64>),
    Dur(Option<f64>),
    Bool(bool),
    Text(Option<String>),
}

fn xlsx_cells(id: &str, v: &Value, lang: Lang) -> Vec<(String, Cell)> {
    let fr = lang == Lang::Fr;
    let h = |s: &str| format!("{id} · {s}");
    match v {
        Value::Count(c) => vec![(id.to_string(), Cell::Num(c.value.map(|n| n as f64)))],
        Value::Ratio(r) => vec![
            (h("%"), Cell::Pct(r.value)),
            (h(if fr { "numérateur" } else { "numerator" }), Cell::Num(Some(r.numerator as f64))),
            (h(if fr { "dénominateur" } else { "denominator" }), Cell::Num(Some(r.denominator as f64))),
        ],
        Value::Duration(d) => vec![
            (h("n"), Cell::Num(Some(d.count as f64))),
            (h(if fr { "moyenne" } else { "mean" }), Cell::Dur(d.mean)),
            (h(if fr { "médiane" } else { "median" }), Cell::Dur(d.median)),
            (h("p90"), Cell::Dur(d.p90)),
        ],
        Value::Mean(m) => vec![(id.to_string(), Cell::Num(m.value)), (h("n"), Cell::Num(Some(m.count as f64)))],
        Value::Nps(n) => vec![
            (id.to_string(), Cell::Num(n.value)),
            (h(if fr { "promoteurs" } else { "promoters" }), Cell::Num(Some(n.promoters as f64))),
            (h(if fr { "passifs" } else { "passives" }), Cell::Num(Some(n.passives as f64))),
            (h(if fr { "détracteurs" } else { "detractors" }), Cell::Num(Some(n.detractors as f64))),
        ],
        Value::Badge(b) => vec![
            (h(if fr { "obtenu" } else { "earned" }), Cell::Bool(b.earned)),
            (h("%"), Cell::Pct(b.response_rate.value)),
            (h(if fr { "médiane" } else { "median" }), Cell::Dur(b.response_time.median)),
        ],
        Value::Retention(r) => vec![
            (h("%"), Cell::Pct(r.value)),
            (h(if fr { "début" } else { "start" }), Cell::Num(Some(r.customers_start as f64))),
            (h(if fr { "fin" } else { "end" }), Cell::Num(Some(r.customers_end as f64))),
            (h(if fr { "nouveaux" } else { "new" }), Cell::Num(Some(r.new_customers as f64))),
        ],
        Value::Amount(a) => vec![
            (id.to_string(), Cell::Num(a.value)),
            (h(if fr { "devise" } else { "currency" }), Cell::Text(a.currency.clone())),
        ],
        Value::Weighted(w) => vec![(id.to_string(), Cell::Num(w.value))],
        Value::Posts(p) => vec![(id.to_string(), Cell::Text(p.top.first().map(|x| x.post_id.clone())))],
        Value::Channels(c) => vec![(id.to_string(), Cell::Text(c.channels.first().map(|x| x.channel.clone())))],
        Value::Activity(a) => vec![(id.to_string(), Cell::Text(a.peak.as_ref().map(|p| peak(p, lang))))],
        Value::Themes(t) => vec![(id.to_string(), Cell::Text(t.themes.first().map(|c| theme_count(c, lang))))],
    }
}

/// The report as a workbook: a `Total` sheet, then one sheet per grouping, one row per group,
/// values only (no formulas), percentages and durations formatted as such.
pub fn report_xlsx(sheets: &[(&str, &Report)], lang: Lang, path: &Path) -> Result<()> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let pct = Format::new().set_num_format("0.0%");
    let dur = Format::new().set_num_format("[h]:mm:ss");
    for (name, r) in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(*name)?;
        let mut rows: Vec<(String, &Metrics)> = Vec::new();
        if r.groups.is_empty() {
            rows.push(("total".into(), &r.total.metrics));
        }
        for g in &r.groups {
            rows.push((g.key.clone().unwrap_or_else(|| "(null)".into()), &g.metrics));
        }
        let mut header = vec![r.group_by.unwrap_or("total").to_string()];
        if let Some((_, m)) = rows.first() {
            for (id, v) in &m.0 {
                header.extend(xlsx_cells(id, v, lang).into_iter().map(|(h, _)| h));
            }
        }
        for (j, h) in header.iter().enumerate() {
            ws.write_string_with_format(0, j as u16, h, &bold)?;
        }
        for (i, (key, m)) in rows.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_string(row, 0, xlsx_text(key))?;
            let mut col = 1u16;
            for (id, v) in &m.0 {
                for (_, cell) in xlsx_cells(id, v, lang) {
                    match cell {
                        Cell::Num(Some(x)) => {
                            ws.write_number(row, col, x)?;
                        }
                        Cell::Pct(Some(x)) => {
                            ws.write_number_with_format(row, col, x / 100.0, &pct)?;
                        }
                        Cell::Dur(Some(x)) => {
                            ws.write_number_with_format(row, col, x / 86_400.0, &dur)?;
                        }
                        Cell::Bool(b) => {
                            ws.write_boolean(row, col, b)?;
                        }
                        Cell::Text(Some(t)) => {
                            ws.write_string(row, col, xlsx_text(&t))?;
                        }
                        _ => {}
                    }
                    col += 1;
                }
            }
        }
        ws.set_freeze_panes(1, 1)?;
    }
    wb.save(path)?;
    Ok(())
}

/// The barometer as tables: channels, then the brands' ranking.
pub fn barometer_table(b: &barometre_core::barometer::Barometer, lang: Lang) -> String {
    use barometre_core::barometer::{Figures, Rate};
    let fr = lang == Lang::Fr;
    let rate = |r: &Rate| match (r.value, r.ci95) {
        (Some(v), Some([lo, hi])) => format!("{} [{}–{}]", percent(v, lang), number(lo, 0, lang), number(hi, 0, lang)),
        _ => "—".to_string(),
    };
    let cols = |f: &Figures| {
        vec![
            rate(&f.response_rate),
            f.response_time.median.map_or("—".into(), |m| duration(m, lang)),
            rate(&f.full_resolution_rate),
            rate(&f.signed_reply_rate),
        ]
    };
    let head: Vec<String> = if fr {
        ["Canal", "Taux de réponse [IC 95 %]", "Délai médian", "Résolution complète", "Réponses signées"]
    } else {
        ["Channel", "Response rate [95% CI]", "Median time", "Full resolution", "Signed replies"]
    }
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows: Vec<Vec<String>> = b.by_channel.iter().map(|(c, f)| [vec![c.clone()], cols(f)].concat()).collect();
    let mut out = format!(
        "{} {} · {} {}\n\n",
        if fr { "Baromètre client mystère" } else { "Mystery-shopper barometer" },
        b.campaign.clone().unwrap_or_else(|| if fr { "(toutes campagnes)".into() } else { "(all campaigns)".into() }),
        b.probes,
        if fr { "questions-tests" } else { "probes" }
    );
    out.push_str(&table(&head, &rows));
    let head: Vec<String> = if fr {
        [
            "Rang",
            "Marque",
            "Score",
            "Groupe",
            "Taux de réponse [IC 95 %]",
            "Délai médian",
            "Résolution complète",
            "Réponses signées",
        ]
    } else {
        ["Rank", "Brand", "Score", "Tier", "Response rate [95% CI]", "Median time", "Full resolution", "Signed replies"]
    }
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows: Vec<Vec<String>> = b
        .brands
        .iter()
        .map(|x| {
            [
                vec![
                    x.rank.to_string(),
                    x.brand.clone(),
                    x.score.map_or("—".into(), |s| number(s, 1, lang)),
                    x.tier.to_string(),
                ],
                cols(&x.total),
            ]
            .concat()
        })
        .collect();
    out.push('\n');
    out.push_str(&table(&head, &rows));
    out
}

/// `barometre eval` as a table: per label, precision, recall, F1 and support; the derived
/// in-scope and actionable; the confusion matrix (rows: labelled, columns: found).
pub fn evaluation(e: &barometre_core::understand::Evaluation, lang: Lang) -> String {
    use barometre_core::understand::{Label, TARGET_ACTIONABLE_F1, TARGET_COMPLAINT_F1, TARGET_MACRO_F1};
    use std::fmt::Write;
    let f = |x: f64| barometre_core::fmt::number(x, 3, lang);
    let mut s = String::new();
    let (head, precision, recall) = match lang {
        Lang::Fr => ("étiquette", "précision", "rappel"),
        Lang::En => ("label", "precision", "recall"),
    };
    let _ = writeln!(s, "{head:<20} {precision:>9} {recall:>9} {:>9} {:>9}", "F1", "messages");
    let mut row = |name: &str, sc: &barometre_core::understand::Scores| {
        let _ = writeln!(s, "{name:<20} {:>9} {:>9} {:>9} {:>9}", f(sc.precision), f(sc.recall), f(sc.f1), sc.support);
    };
    for (l, (_, sc)) in Label::ALL.iter().zip(&e.labels) {
        row(l.name(lang), sc);
    }
    row(
        match lang {
            Lang::Fr => "dans le périmètre",
            Lang::En => "in scope",
        },
        &e.in_scope,
    );
    row(
        match lang {
            Lang::Fr => "à traiter",
            Lang::En => "actionable",
        },
        &e.actionable,
    );
    let target = |v: f64, t: f64| if v >= t { "✓" } else { "✗" };
    let (complaint, actionable) = match lang {
        Lang::Fr => ("F1 réclamation", "F1 à traiter"),
        Lang::En => ("complaint F1", "actionable F1"),
    };
    let _ = writeln!(
        s,
        "\n{} messages · macro-F1 {} {} (≥ {}) · {complaint} {} {} (≥ {}) · {actionable} {} {} (≥ {})",
        e.messages,
        f(e.macro_f1),
        target(e.macro_f1, TARGET_MACRO_F1),
        f(TARGET_MACRO_F1),
        f(e.f1(Label::Complaint)),
        target(e.f1(Label::Complaint), TARGET_COMPLAINT_F1),
        f(TARGET_COMPLAINT_F1),
        f(e.actionable.f1),
        target(e.actionable.f1, TARGET_ACTIONABLE_F1),
        f(TARGET_ACTIONABLE_F1),
    );
    let short = match lang {
        Lang::Fr => ["spam", "hs", "récl", "tech", "qst", "sugg", "nég", "pos", "merci", "autre"],
        Lang::En => ["spam", "off", "cmpl", "tech", "qst", "sugg", "neg", "pos", "thx", "oth"],
    };
    let _ = writeln!(
        s,
        "\n{}",
        match lang {
            Lang::Fr => "matrice de confusion (lignes : étiquette donnée, colonnes : étiquette trouvée)",
            Lang::En => "confusion matrix (rows: given label, columns: label found)",
        }
    );
    let _ = write!(s, "{:<20}", "");
    for h in short {
        let _ = write!(s, "{h:>5}");
    }
    s.push('\n');
    for (i, l) in Label::ALL.iter().enumerate() {
        let _ = write!(s, "{:<20}", l.name(lang));
        for v in &e.confusion[i] {
            let _ = write!(s, "{v:>5}");
        }
        s.push('\n');
    }
    s
}

/// `barometre eval --faq` as a table: what became of the questions, then precision, recall, F1.
pub fn faq_evaluation(e: &barometre_core::understand::faq::Evaluation, lang: Lang) -> String {
    use barometre_core::understand::faq::{TARGET_F1, TARGET_PRECISION};
    let f = |x: f64| barometre_core::fmt::number(x, 3, lang);
    let n = |x: u64| barometre_core::fmt::number(x as f64, 0, lang);
    let ok = |v: f64, t: f64| if v >= t { "✓" } else { "✗" };
    let lines: [(&str, &str, String); 5] = [
        ("questions answered by their entry", "questions trouvant leur entrée", n(e.right)),
        ("questions given another entry", "questions rattachées à une autre entrée", n(e.wrong_entry)),
        ("answerable questions missed", "questions traitées par la FAQ manquées", n(e.missed)),
        ("questions no entry answers, matched", "questions hors FAQ rattachées à tort", n(e.false_matches)),
        ("questions no entry answers, left alone", "questions hors FAQ laissées de côté", n(e.rejected)),
    ];
    let mut s = String::new();
    for (en, fr, v) in lines {
        s.push_str(&format!("{:<42} {v:>7}\n", if lang == Lang::Fr { fr } else { en }));
    }
    let (p, r) = if lang == Lang::Fr { ("précision", "rappel") } else { ("precision", "recall") };
    s.push_str(&format!(
        "\n{} questions · {p} {} {} (≥ {}) · {r} {} · F1 {} {} (≥ {})\n",
        n(e.questions),
        f(e.precision),
        ok(e.precision, TARGET_PRECISION),
        f(TARGET_PRECISION),
        f(e.recall),
        f(e.f1),
        ok(e.f1, TARGET_F1),
        f(TARGET_F1)
    ));
    s
}

/// `barometre summary`'s table: one line per group, the total alone without grouping.
pub fn summary_table(rows: &[barometre_store::summary::Summary], grouped: bool, lang: Lang) -> String {
    let fr = lang == Lang::Fr;
    let head: Vec<String> = if fr {
        ["Groupe", "Demandes", "Taux de réponse", "Réponses", "Délai moyen", "Délai médian", "90e centile"]
    } else {
        ["Group", "Requests", "Response rate", "Answers", "Mean time", "Median time", "90th percentile"]
    }
    .iter()
    .map(|s| s.to_string())
    .collect();
    let time = |t: Option<f64>| t.map_or("—".to_string(), |t| duration(t, lang));
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                match (&r.group, grouped) {
                    (Some(g), _) => g.clone(),
                    (None, true) => "—".to_string(),
                    (None, false) => "Total".to_string(),
                },
                number(r.requests as f64, 0, lang),
                r.response_rate.value.map_or("—".to_string(), |v| percent(v, lang)),
                number(r.response_time.count as f64, 0, lang),
                time(r.response_time.mean),
                time(r.response_time.median),
                time(r.response_time.p90),
            ]
        })
        .collect();
    table(&head, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_in_text_cells_are_written_as_text_and_numbers_stay_numbers() {
        let row = |text: &str, n: f64| {
            let mut m = Map::new();
            m.insert("account".into(), json!(text));
            m.insert("delta".into(), json!(n));
            m
        };
        let csv = rows_csv_as(
            &[
                row("=HYPERLINK(\"http://evil.example\",\"clic\")", -5.0),
                row("+33 6 12", 1.5),
                row("@SNCF", 0.0),
                row("-1+1", 2.0),
                row("\tcmd", 3.0),
                row("Bonjour", -0.5),
            ],
            false,
        );
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "account,delta");
        assert_eq!(lines[1], "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"clic\"\")\",-5.0");
        assert_eq!(lines[2], "'+33 6 12,1.5");
        assert_eq!(lines[3], "'@SNCF,0.0");
        assert_eq!(lines[4], "'-1+1,2.0");
        assert_eq!(lines[5], "'\tcmd,3.0");
        assert_eq!(lines[6], "Bonjour,-0.5", "a negative number is a number, untouched");
    }

    #[test]
    fn a_cell_longer_than_xlsx_holds_is_cut_not_fatal() {
        let long = "é".repeat(40_000);
        let cut = xlsx_text(&long);
        assert_eq!(cut.chars().count(), XLSX_CELL_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(xlsx_text("court"), "court");
        let exact = "a".repeat(XLSX_CELL_CHARS);
        assert_eq!(xlsx_text(&exact), exact.as_str());
        // Emoji count twice, as Excel counts them.
        let emoji = "\u{1f621}".repeat(20_000);
        assert!(xlsx_text(&emoji).encode_utf16().count() <= XLSX_CELL_CHARS);
        assert_eq!(xlsx_text(&emoji).chars().count(), 16_383 + 1);
        // Both workbooks are written whole.
        let d = tempfile::tempdir().unwrap();
        let mut m = Map::new();
        m.insert("account".into(), json!(long));
        rows_xlsx(&[m], &d.path().join("rows.xlsx")).unwrap();
        assert!(d.path().join("rows.xlsx").metadata().unwrap().len() > 0);
    }
}
