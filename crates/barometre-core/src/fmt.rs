//! Numbers, percentages and durations as French and English readers write them (tables,
//! dashboard): `1 234,5` / `1,234.5`, `87,5 %` / `87.5%`, `12 min 30 s`, `3 j 4 h` / `3 d 4 h`.

use crate::vocab::Lang;

/// `1234567.5` → `1 234 567,5` (fr) or `1,234,567.5` (en).
pub fn number(x: f64, decimals: usize, lang: Lang) -> String {
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), None), |(a, b)| (a, Some(b)));
    let (sep, dec) = match lang {
        Lang::Fr => ('\u{a0}', ','),
        Lang::En => (',', '.'),
    };
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push(dec);
        out.push_str(f);
    }
    if x < 0.0 && out.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.insert(0, '−');
    }
    out
}

/// The busiest hour of the week, as the table and the dashboard write it: « jeu. 14 h (37) »,
/// "Thu 14:00 (37)".
pub fn peak(p: &crate::value::Peak, lang: Lang) -> String {
    let i = crate::indicator::activity::DAYS.iter().position(|d| *d == p.day).unwrap_or(0);
    let n = number(p.messages as f64, 0, lang);
    match lang {
        Lang::Fr => {
            let d = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."][i];
            format!("{d} {} h ({n})", p.hour)
        }
        Lang::En => {
            let d = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][i];
            format!("{d} {:02}:00 ({n})", p.hour)
        }
    }
}

pub fn percent(x: f64, lang: Lang) -> String {
    match lang {
        Lang::Fr => format!("{}\u{a0}%", number(x, 1, lang)),
        Lang::En => format!("{}%", number(x, 1, lang)),
    }
}

/// `45 s`, `12 min 30 s`, `2 h 05 min`, `3 j 4 h` (fr) / `3 d 4 h` (en).
pub fn duration(secs: f64, lang: Lang) -> String {
    let s = secs.round() as i64;
    let day = if lang == Lang::Fr { "j" } else { "d" };
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    } else {
        format!("{} {day} {} h", s / 86_400, (s % 86_400) / 3600)
    }
}
