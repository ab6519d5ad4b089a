//! Instants, durations and time zones as the import formats and the configuration write them.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Milliseconds since the Unix epoch, UTC. Every figure is computed on these, so the offset a
/// source wrote never changes a result.
pub type Millis = i64;

/// An instant as a source wrote it: the UTC milliseconds and the offset it carried (kept only to
/// show local times back to the user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    pub ms: Millis,
    pub offset_s: i32,
}

impl Stamp {
    pub fn utc(ms: Millis) -> Self {
        Stamp { ms, offset_s: 0 }
    }

    /// RFC 3339 in the offset the source used.
    pub fn to_rfc3339(self) -> String {
        let off = FixedOffset::east_opt(self.offset_s).unwrap_or_else(|| FixedOffset::east_opt(0).unwrap());
        match off.timestamp_millis_opt(self.ms).single() {
            Some(t) if self.ms % 1000 == 0 => t.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string(),
            None => self.ms.to_string(),
        }
    }
}

/// Formats UTC milliseconds as RFC 3339 in UTC (`Z`).
pub fn rfc3339_utc(ms: Millis) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) if ms % 1000 == 0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => ms.to_string(),
    }
}

/// The first instant Baromètre accepts: 1970-01-01T00:00:00Z.
pub const EARLIEST_MS: Millis = 0;
/// The first instant it refuses: 2100-01-01T00:00:00Z. Customer relations happen between the two;
/// a year 0000 or 9999 is a placeholder or a typo, and kept it would stretch every calendar
/// grouping over millennia.
pub const END_MS: Millis = 4_102_444_800_000;

/// The instant itself when it lies in the accepted years, else why not.
pub fn in_range(st: Stamp, written: &str) -> Result<Stamp, String> {
    if (EARLIEST_MS..END_MS).contains(&st.ms) {
        Ok(st)
    } else {
        Err(format!("instant `{}` is outside the years 1970–2099 that Baromètre accepts", written.trim()))
    }
}

/// Parses an RFC 3339 instant with an offset (`2026-03-02T09:15:00+01:00`, `…Z`). A space instead
/// of `T` is accepted; a missing offset is refused, since guessing one would shift every duration.
/// Instants outside 1970–2099 are refused ([`in_range`]).
pub fn parse_instant(s: &str) -> Result<Stamp, String> {
    parse_any_instant(s).and_then(|st| in_range(st, s))
}

/// [`parse_instant`] without the range check: for values already stored.
pub fn parse_any_instant(s: &str) -> Result<Stamp, String> {
    let t = s.trim();
    if let Some(st) = fast_instant(t.as_bytes()) {
        return Ok(st);
    }
    match DateTime::parse_from_rfc3339(t) {
        Ok(d) => Ok(Stamp { ms: d.timestamp_millis(), offset_s: d.offset().local_minus_utc() }),
        Err(_) => {
            let alt = t.replacen(' ', "T", 1);
            if let Ok(d) = DateTime::parse_from_rfc3339(&alt) {
                return Ok(Stamp { ms: d.timestamp_millis(), offset_s: d.offset().local_minus_utc() });
            }
            // An offset without its colon, as the Meta Graph API writes it (`…T09:15:00+0000`).
            if let Ok(d) = DateTime::parse_from_str(&alt, "%Y-%m-%dT%H:%M:%S%.f%z") {
                return Ok(Stamp { ms: d.timestamp_millis(), offset_s: d.offset().local_minus_utc() });
            }
            if NaiveDateTime::parse_from_str(&alt, "%Y-%m-%dT%H:%M:%S%.f").is_ok() {
                Err(format!("instant `{t}` has no offset (write it like 2026-03-02T09:15:00+01:00 or …Z)"))
            } else {
                Err(format!("`{t}` is not an RFC 3339 instant (expected like 2026-03-02T09:15:00+01:00)"))
            }
        }
    }
}

/// How a source writes its instants when it does not write RFC 3339: a `strftime` layout
/// (`--date-format '%d/%m/%Y %H:%M'`) and the zone of wall-clock times without an offset
/// (`--tz Europe/Paris`). RFC 3339 instants with their offset are read as they are whatever the
/// rule; a wall-clock time without a zone is refused (guessing one would shift every duration).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DateRule {
    pub format: Option<String>,
    pub zone: Option<Zone>,
}

/// The layouts recognised from a file's values, tried in this order. Day-first and month-first
/// layouts are both here: a file whose dates fit both is not guessed ([`guess_date_format`]).
pub const DATE_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %Hh%M",
    "%d/%m/%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d/%m/%y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y",
    "%m/%d/%y %H:%M",
    "%Y-%m-%d",
];

/// What a file's instants look like.
#[derive(Debug, Clone, PartialEq)]
pub enum DateGuess {
    /// RFC 3339 with offsets: nothing to say.
    Rfc3339,
    /// One layout reads every value.
    Format(&'static str),
    /// Day-first and month-first layouts both read every value (`02/03/2026`).
    Ambiguous(&'static str, &'static str),
    /// No known layout reads them all (the first value that fails).
    Unknown(String),
}

/// The layout of `values` (a file's first instants): RFC 3339 when they all are, else the first
/// of [`DATE_FORMATS`] that reads them all. When a day-first and a month-first layout both do,
/// the file is ambiguous: said, never guessed.
pub fn guess_date_format(values: &[&str]) -> DateGuess {
    if values.iter().all(|v| parse_any_instant(v).is_ok()) {
        return DateGuess::Rfc3339;
    }
    // A layout reads a value when it gives a year Baromètre accepts: chrono's `%Y` takes `26` for
    // the year 26, which would make `%d/%m/%Y` read `13/03/26` rather than `%d/%m/%y`.
    let year_ok = |d: NaiveDate| (1970..=2099).contains(&d.year());
    let reads = |f: &str, v: &str| {
        let v = v.trim();
        NaiveDateTime::parse_from_str(v, f).is_ok_and(|t| year_ok(t.date()))
            || (!f.contains("%H") && !f.contains("%I") && NaiveDate::parse_from_str(v, f).is_ok_and(year_ok))
            || parse_any_instant(v).is_ok()
    };
    let fits: Vec<&'static str> = DATE_FORMATS.iter().copied().filter(|f| values.iter().all(|v| reads(f, v))).collect();
    let day_first = fits.iter().find(|f| f.starts_with("%d"));
    let month_first = fits.iter().find(|f| f.starts_with("%m"));
    match (day_first, month_first) {
        (Some(d), Some(m)) => DateGuess::Ambiguous(d, m),
        _ => match fits.first() {
            Some(f) => DateGuess::Format(f),
            None => DateGuess::Unknown(
                values
                    .iter()
                    .find(|v| !DATE_FORMATS.iter().any(|f| reads(f, v)))
                    .map_or(String::new(), |v| v.to_string()),
            ),
        },
    }
}

impl DateRule {
    /// No layout, no zone: RFC 3339 only.
    pub const NONE: DateRule = DateRule { format: None, zone: None };

    /// Reads one value by the rule; instants outside 1970–2099 are refused ([`in_range`]).
    pub fn parse(&self, s: &str) -> Result<Stamp, String> {
        if self.format.is_none() && self.zone.is_none() {
            return parse_instant(s);
        }
        let t = s.trim();
        if let Ok(st) = parse_any_instant(t) {
            return in_range(st, t);
        }
        let local = match &self.format {
            Some(f) => {
                if f.contains("%z") || f.contains("%:z") || f.contains("%#z") {
                    let d = DateTime::parse_from_str(t, f)
                        .map_err(|_| format!("`{t}` does not match --date-format `{f}`"))?;
                    return in_range(Stamp { ms: d.timestamp_millis(), offset_s: d.offset().local_minus_utc() }, t);
                }
                NaiveDateTime::parse_from_str(t, f)
                    .or_else(|e| {
                        NaiveDate::parse_from_str(t, f)
                            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
                            .map_err(|_| e)
                    })
                    .map_err(|_| format!("`{t}` does not match the date format `{f}`"))?
            }
            None => NaiveDateTime::parse_from_str(&t.replacen(' ', "T", 1), "%Y-%m-%dT%H:%M:%S%.f")
                .map_err(|_| format!("`{t}` is not an RFC 3339 instant (or give its layout with --date-format)"))?,
        };
        let Some(zone) = self.zone else {
            return Err(format!(
                "instant `{t}` has no offset: say the zone of the file's times with --tz (e.g. --tz Europe/Paris)"
            ));
        };
        let ms = zone.instant(local);
        let offset_s = ((local.and_utc().timestamp_millis() - ms) / 1000) as i32;
        in_range(Stamp { ms, offset_s }, t)
    }
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The common shape `YYYY-MM-DDTHH:MM:SS` then `Z` or `±HH:MM`, read without allocating.
/// Anything else (fractions, other separators, out-of-range fields) goes to the full parser.
fn fast_instant(b: &[u8]) -> Option<Stamp> {
    if b.len() != 20 && b.len() != 25 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
    };
    if b[4] != b'-' || b[7] != b'-' || (b[10] != b'T' && b[10] != b't') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mdays = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&mo) || d < 1 || d > mdays[(mo - 1) as usize] || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let offset_s = match b[19] {
        b'Z' | b'z' if b.len() == 20 => 0,
        c @ (b'+' | b'-') if b.len() == 25 && b[22] == b':' => {
            let (oh, om) = (num(20..22)?, num(23..25)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = (oh * 3600 + om * 60) as i32;
            if c == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - i64::from(offset_s);
    Some(Stamp { ms: secs * 1000, offset_s })
}

/// Parses the *Customer Support on Twitter* date layout: `Wed Oct 11 06:55:44 +0000 2017`.
pub fn parse_twitter_date(s: &str) -> Result<Stamp, String> {
    DateTime::parse_from_str(s.trim(), "%a %b %d %H:%M:%S %z %Y")
        .map(|d| Stamp { ms: d.timestamp_millis(), offset_s: d.offset().local_minus_utc() })
        .map_err(|_| format!("`{}` is not a date like `Wed Oct 11 06:55:44 +0000 2017`", s.trim()))
        .and_then(|st| in_range(st, s))
}

/// Parses `90s`, `15m`, `1h`, `2h30m`, `7d` (and combinations, `1d12h`) into milliseconds.
pub fn parse_duration(s: &str) -> Result<Millis, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    let mut total: i64 = 0;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400_000,
            'h' => 3_600_000,
            'm' => 60_000,
            's' => 1000,
            _ => return Err(format!("duration `{t}`: unknown unit `{c}` (use d, h, m, s)")),
        };
        let n: i64 = num.parse().map_err(|_| format!("duration `{t}`: a number must come before `{c}`"))?;
        total += n * unit;
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!("duration `{t}`: the last number has no unit (write 90s, 15m, 1h, 7d)"));
    }
    Ok(total)
}

/// A report or account time zone: an IANA name (`Europe/Paris`), `UTC`, or a fixed offset (`+02:00`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    Named(Tz),
    Fixed(FixedOffset),
}

impl Zone {
    pub const UTC: Zone = Zone::Named(Tz::UTC);

    pub fn parse(s: &str) -> Result<Zone, String> {
        let t = s.trim();
        if let Ok(tz) = t.parse::<Tz>() {
            return Ok(Zone::Named(tz));
        }
        if let Ok(d) = DateTime::parse_from_rfc3339(&format!("2000-01-01T00:00:00{t}")) {
            return Ok(Zone::Fixed(*d.offset()));
        }
        Err(format!("unknown time zone `{t}` (use an IANA name like Europe/Paris, UTC, or +02:00)"))
    }

    pub fn name(&self) -> String {
        match self {
            Zone::Named(tz) => tz.name().to_string(),
            Zone::Fixed(o) => o.to_string(),
        }
    }

    /// Local wall-clock date and time of an instant.
    pub fn local(&self, ms: Millis) -> NaiveDateTime {
        let utc = Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
        match self {
            Zone::Named(tz) => utc.with_timezone(tz).naive_local(),
            Zone::Fixed(o) => utc.with_timezone(o).naive_local(),
        }
    }

    /// The instant of a local wall-clock time. In a gap (spring forward) the wall time does not
    /// exist: the first instant after the gap is used. In a fold (fall back), the earlier one.
    pub fn instant(&self, local: NaiveDateTime) -> Millis {
        match self {
            Zone::Fixed(o) => local.and_utc().timestamp_millis() - i64::from(o.local_minus_utc()) * 1000,
            Zone::Named(tz) => {
                let mut l = local;
                for _ in 0..48 {
                    match tz.from_local_datetime(&l) {
                        chrono::LocalResult::Single(t) => return t.timestamp_millis(),
                        chrono::LocalResult::Ambiguous(a, _) => return a.timestamp_millis(),
                        chrono::LocalResult::None => l += chrono::Duration::minutes(30),
                    }
                }
                local.and_utc().timestamp_millis()
            }
        }
    }

    /// The instant of local midnight starting a date.
    pub fn day_start(&self, d: NaiveDate) -> Millis {
        self.instant(d.and_hms_opt(0, 0, 0).unwrap())
    }
}

/// Parses a period bound: an RFC 3339 instant, or a bare date meaning local midnight in `zone`.
pub fn parse_bound(s: &str, zone: Zone) -> Result<Millis, String> {
    if let Ok(d) = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        // A period ends at 2100-01-01 at the latest (exclusive), like the data it selects.
        if !(1970..=2100).contains(&chrono::Datelike::year(&d))
            || (chrono::Datelike::year(&d) == 2100 && chrono::Datelike::ordinal(&d) > 1)
        {
            return Err(format!("date `{}` is outside the years 1970–2099 that Baromètre accepts", s.trim()));
        }
        return Ok(zone.day_start(d));
    }
    parse_instant(s).map(|st| st.ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::paris_offset("2026-04-06T08:00:00+02:00", 1_775_455_200_000)]
    #[case::zulu("2026-04-06T06:00:00Z", 1_775_455_200_000)]
    #[case::space_separator("2026-04-06 06:00:00Z", 1_775_455_200_000)]
    #[case::fraction("2026-04-06T06:00:00.250Z", 1_775_455_200_250)]
    fn instants_with_offsets_land_on_the_same_utc_millisecond(#[case] s: &str, #[case] ms: i64) {
        assert_eq!(parse_instant(s).unwrap().ms, ms);
    }

    #[rstest]
    #[case::no_offset("2026-04-06T08:00:00", "no offset")]
    #[case::garbage("not-a-date", "not an RFC 3339 instant")]
    #[case::year_zero("0000-01-01T00:00:00Z", "outside the years 1970–2099")]
    #[case::year_9999("9999-12-31T23:59:59Z", "outside the years 1970–2099")]
    #[case::before_1970("1969-12-31T23:59:59Z", "outside the years 1970–2099")]
    #[case::year_2100_in_paris("2100-01-01T01:30:00+01:00", "outside the years 1970–2099")]
    fn bad_instants_say_why(#[case] s: &str, #[case] why: &str) {
        assert!(parse_instant(s).unwrap_err().contains(why));
    }

    proptest::proptest! {
        #[test]
        fn the_fast_path_agrees_with_chrono(secs in -2_000_000_000i64..4_000_000_000, off_min in -(14 * 60)..=(14 * 60i32)) {
            let off = FixedOffset::east_opt(off_min * 60).unwrap();
            let t = off.timestamp_opt(secs, 0).unwrap();
            let s = if off_min == 0 { t.format("%Y-%m-%dT%H:%M:%SZ").to_string() } else { t.format("%Y-%m-%dT%H:%M:%S%:z").to_string() };
            let fast = fast_instant(s.as_bytes()).unwrap();
            proptest::prop_assert_eq!(fast, Stamp { ms: secs * 1000, offset_s: off_min * 60 });
        }
    }

    #[rstest]
    #[case::february_30("2026-02-30T10:00:00Z")]
    #[case::hour_24("2026-02-10T24:00:00Z")]
    fn impossible_dates_are_refused(#[case] s: &str) {
        assert!(parse_instant(s).is_err());
    }

    #[test]
    fn period_bounds_keep_to_the_accepted_years() {
        assert!(parse_bound("0000-01-01", Zone::UTC).unwrap_err().contains("1970–2099"));
        assert!(parse_bound("+262142-12-31", Zone::UTC).is_err());
        assert_eq!(parse_bound("2100-01-01", Zone::UTC).unwrap(), END_MS);
        assert!(parse_bound("2100-01-02", Zone::UTC).is_err());
    }

    #[test]
    fn the_accepted_years_end_where_they_say() {
        assert_eq!(parse_instant("1970-01-01T00:00:00Z").unwrap().ms, EARLIEST_MS);
        assert_eq!(parse_instant("2099-12-31T23:59:59Z").unwrap().ms, END_MS - 1000);
        assert!(parse_twitter_date("Fri Dec 31 23:59:59 +0000 9999").unwrap_err().contains("1970–2099"));
    }

    #[rstest]
    #[case("90s", 90_000)]
    #[case("15m", 900_000)]
    #[case("2h30m", 9_000_000)]
    #[case("7d", 604_800_000)]
    fn durations_as_the_config_writes_them(#[case] s: &str, #[case] ms: i64) {
        assert_eq!(parse_duration(s).unwrap(), ms);
    }

    #[test]
    fn twitter_dates_read_as_published() {
        // 2017-10-11T06:55:44Z = 1507704944 s
        assert_eq!(parse_twitter_date("Wed Oct 11 06:55:44 +0000 2017").unwrap().ms, 1_507_704_944_000);
    }

    #[test]
    fn a_wall_time_in_the_spring_gap_moves_past_it() {
        let z = Zone::parse("Europe/Paris").unwrap();
        // 2026-03-29 02:30 does not exist in Paris; 03:00 CEST = 01:00Z.
        let l = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap().and_hms_opt(2, 30, 0).unwrap();
        assert_eq!(z.instant(l), parse_instant("2026-03-29T01:00:00Z").unwrap().ms);
    }
}
