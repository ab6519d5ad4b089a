//! The configuration (CONFIG.md): built-in defaults, then a TOML file, then `BAROMETRE_`
//! environment variables. Parsing is pure: the caller hands in the file text and the variables.

use crate::calendar::{Calendar, Range};
use crate::time::{parse_duration, Millis, Zone};
use chrono::NaiveDate;
use regex::Regex;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    clock: Option<RawClock>,
    badge: Option<RawBadge>,
    signature: Option<RawSignature>,
    #[serde(default)]
    accounts: BTreeMap<String, RawAccount>,
    #[serde(default)]
    alerts: Vec<RawAlert>,
    staffing: Option<RawStaffing>,
    iqs: Option<RawIndex>,
    engagement_score: Option<RawIndex>,
    #[serde(default)]
    mappings: BTreeMap<String, RawMapping>,
    listening: Option<RawListening>,
    store: Option<RawStore>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    url: Option<String>,
    control: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListening {
    competitors: Option<Vec<String>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    values: BTreeMap<String, BTreeMap<String, String>>,
    date_format: Option<String>,
    timezone: Option<String>,
    delimiter: Option<String>,
    encoding: Option<String>,
    sheet: Option<String>,
}

/// How one kind of export is read (`[mappings.NAME]`, used with `--mapping NAME`): the columns
/// fields are read from, values translated, the layout of its dates and their zone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapping {
    /// `(field, column)`.
    pub columns: Vec<(String, String)>,
    /// `(field, value written, value meant)`.
    pub values: Vec<(String, String, String)>,
    pub date_format: Option<String>,
    pub timezone: Option<String>,
    pub delimiter: Option<String>,
    pub encoding: Option<String>,
    pub sheet: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndex {
    #[serde(default)]
    criteria: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlert {
    metric: String,
    below: Option<toml::Value>,
    above: Option<toml::Value>,
    window: Option<String>,
    field: Option<String>,
    by: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStaffing {
    enabled: Option<bool>,
    window: Option<String>,
}

/// A threshold on one indicator, checked by `barometre check`.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub metric: String,
    /// Breached when the value is strictly below (`true`) or strictly above (`false`) `threshold`.
    pub below: bool,
    /// Percent, count, or seconds for durations.
    pub threshold: f64,
    pub window_ms: Millis,
    /// For durations: `median` (default), `mean`, `p90`.
    pub field: String,
    pub by: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawClock {
    session_gap: Option<String>,
    target: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawBadge {
    response_rate: Option<f64>,
    response_time: Option<String>,
    window: Option<String>,
    channels: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
struct RawSignature {
    patterns: Option<Vec<String>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
struct RawAccount {
    timezone: Option<String>,
    holidays: Option<Vec<String>>,
    hours: Option<BTreeMap<String, Vec<String>>>,
}

/// The responsiveness badge's thresholds (seed 001: 90 %, under 5 min, over 7 days).
#[derive(Debug, Clone)]
pub struct Badge {
    pub min_rate: f64,
    pub max_median_ms: Millis,
    pub window_ms: Millis,
    /// Only these channels count; `None` = all (Meta's page badge uses private messages only).
    pub channels: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub session_gap_ms: Millis,
    pub target_ms: Millis,
    pub badge: Badge,
    pub signature_patterns: Vec<String>,
    pub signatures: Vec<Regex>,
    default_calendar: Calendar,
    calendars: HashMap<String, Calendar>,
    pub alerts: Vec<Alert>,
    /// Seed 001's staffing signal: more messages while response rate or speed drop.
    pub staffing: bool,
    pub staffing_window_ms: Millis,
    /// Weights of the internal quality score's criteria (`[iqs] criteria`).
    pub iqs: BTreeMap<String, f64>,
    /// Weights of the engagement score's criteria (`[engagement_score] criteria`).
    pub engagement_score: BTreeMap<String, f64>,
    /// Named ways of reading exports (`[mappings.NAME]`).
    pub mappings: BTreeMap<String, Mapping>,
    /// Competitors' names (`[listening] competitors`): `competitor_mentions` counts the incoming
    /// messages naming one (whole words, case and accents ignored).
    pub competitors: Vec<String>,
    /// The workspace's knowledge base (`barometre import faq`), attached by the store that keeps
    /// it ([`Config::with_faq`]), never read from a file: incoming questions are matched against
    /// it when their text is read.
    pub faq: Option<std::sync::Arc<crate::understand::faq::Faq>>,
    /// Where rows and facts live (`[store] url`: `sqlite:PATH`, `clickhouse://…` or `postgres://…`), when neither
    /// `--store` nor `BAROMETRE_STORE` says.
    pub store: Option<String>,
    /// The shared control plane (`[store] control`: `postgres://…`), when neither `--control` nor
    /// `BAROMETRE_CONTROL` says.
    pub control: Option<String>,
}

/// The layout and meaning of stored facts. Raise it whenever they change: stores then recompute
/// their facts from the rows. 2: requests keep a customer number, not a hash of the id;
/// conversations say whether a person handled them; messages say whether they are attached to
/// nothing. 3: messages carry their label (`crate::understand`). 4: messages carry the FAQ entry
/// that answers them. 5: conversations count their customers and say whether they are public.
/// 6: messages carry their themes. 7: stores keep compact rows by byte planes and ids with short
/// lengths (smaller chunks, same facts).
pub const FACTS_VERSION: u32 = 7;

pub const DEFAULT_SIGNATURES: [&str; 3] = [r"\^[A-Z]{2,3}\b", r"/[A-Z]{2,3}\b", r"(?m)^-- "];

impl Default for Config {
    fn default() -> Self {
        Config::load(None, std::iter::empty()).expect("defaults are valid")
    }
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn calendar(name: &str, a: &RawAccount, base: &RawAccount) -> Result<Calendar, ConfigError> {
    let bad = |m: String| ConfigError::Invalid(format!("accounts.{name}: {m}"));
    let zone = match a.timezone.as_ref().or(base.timezone.as_ref()) {
        Some(z) => Zone::parse(z).map_err(bad)?,
        None => Zone::UTC,
    };
    let mut holidays = std::collections::BTreeSet::new();
    for h in a.holidays.as_ref().or(base.holidays.as_ref()).into_iter().flatten() {
        holidays.insert(
            NaiveDate::parse_from_str(h, "%Y-%m-%d")
                .map_err(|_| bad(format!("holiday `{h}` is not a date like 2026-05-01")))?,
        );
    }
    let week = match a.hours.as_ref().or(base.hours.as_ref()) {
        None => None,
        Some(h) => {
            let mut w: [Vec<Range>; 7] = Default::default();
            for (day, ranges) in h {
                let i = DAYS
                    .iter()
                    .position(|d| d == &day.to_ascii_lowercase())
                    .ok_or_else(|| bad(format!("unknown day `{day}` (mon … sun)")))?;
                for r in ranges {
                    w[i].push(Range::parse(r).map_err(bad)?);
                }
                w[i].sort_by_key(|r| r.start);
                if w[i].windows(2).any(|p| p[1].start < p[0].end) {
                    return Err(bad(format!("hours of `{day}` overlap")));
                }
            }
            Some(w)
        }
    };
    Ok(Calendar { zone, week, holidays })
}

fn weights(what: &str, raw: Option<RawIndex>) -> Result<BTreeMap<String, f64>, ConfigError> {
    let mut out = BTreeMap::new();
    for (k, w) in raw.unwrap_or_default().criteria {
        if !(w.is_finite() && w > 0.0) {
            return Err(ConfigError::Invalid(format!("{what}.criteria.{k}: a weight is a number above 0")));
        }
        out.insert(k.to_ascii_lowercase(), w);
    }
    Ok(out)
}

impl Config {
    /// Defaults, then `toml_text`, then the `BAROMETRE_*` variables among `env`:
    /// `BAROMETRE_SESSION_GAP`, `BAROMETRE_TARGET`, `BAROMETRE_BADGE_RESPONSE_RATE`,
    /// `BAROMETRE_BADGE_RESPONSE_TIME`, `BAROMETRE_BADGE_WINDOW`.
    pub fn load(toml_text: Option<&str>, env: impl Iterator<Item = (String, String)>) -> Result<Config, ConfigError> {
        let raw: RawConfig = match toml_text {
            Some(t) => toml::from_str(t)?,
            None => RawConfig::default(),
        };
        let clock = raw.clock.unwrap_or_default();
        let badge = raw.badge.unwrap_or_default();
        let mut session_gap = clock.session_gap.unwrap_or_else(|| "24h".into());
        let mut target = clock.target.unwrap_or_else(|| "1h".into());
        let mut rate = badge.response_rate.unwrap_or(90.0);
        let mut btime = badge.response_time.unwrap_or_else(|| "5m".into());
        let mut window = badge.window.unwrap_or_else(|| "7d".into());
        for (k, v) in env {
            match k.as_str() {
                "BAROMETRE_SESSION_GAP" => session_gap = v,
                "BAROMETRE_TARGET" => target = v,
                "BAROMETRE_BADGE_RESPONSE_RATE" => {
                    rate = v.parse().map_err(|_| {
                        ConfigError::Invalid(format!("BAROMETRE_BADGE_RESPONSE_RATE `{v}` is not a number"))
                    })?
                }
                "BAROMETRE_BADGE_RESPONSE_TIME" => btime = v,
                "BAROMETRE_BADGE_WINDOW" => window = v,
                _ => {}
            }
        }
        let dur = |what: &str, s: &str| parse_duration(s).map_err(|e| ConfigError::Invalid(format!("{what}: {e}")));
        let signature_patterns: Vec<String> = raw
            .signature
            .and_then(|s| s.patterns)
            .unwrap_or_else(|| DEFAULT_SIGNATURES.iter().map(|s| s.to_string()).collect());
        let signatures = signature_patterns
            .iter()
            .map(|p| Regex::new(p).map_err(|e| ConfigError::Invalid(format!("signature pattern `{p}`: {e}"))))
            .collect::<Result<_, _>>()?;
        let base = raw.accounts.get("*").cloned().unwrap_or_default();
        let default_calendar = calendar("*", &base, &RawAccount::default())?;
        let mut calendars = HashMap::new();
        for (name, a) in &raw.accounts {
            if name != "*" {
                calendars.insert(name.clone(), calendar(name, a, &base)?);
            }
        }
        let mut alerts = Vec::new();
        for (i, a) in raw.alerts.iter().enumerate() {
            let bad = |m: String| ConfigError::Invalid(format!("alerts[{i}] ({}): {m}", a.metric));
            let (below, v) = match (&a.below, &a.above) {
                (Some(v), None) => (true, v),
                (None, Some(v)) => (false, v),
                _ => return Err(bad("give exactly one of `below` or `above`".into())),
            };
            let threshold = match v {
                toml::Value::Integer(n) => *n as f64,
                toml::Value::Float(x) => *x,
                toml::Value::String(s) => parse_duration(s).map_err(bad)? as f64 / 1000.0,
                _ => return Err(bad("a threshold is a number, or a duration like \"5m\"".into())),
            };
            alerts.push(Alert {
                metric: a.metric.clone(),
                below,
                threshold,
                window_ms: dur("alert window", a.window.as_deref().unwrap_or("7d"))?,
                field: a.field.clone().unwrap_or_else(|| "median".into()),
                by: a.by.clone(),
            });
        }
        let staffing = raw.staffing.unwrap_or_default();
        let session_gap_ms = dur("clock.session_gap", &session_gap)?;
        if session_gap_ms <= 0 {
            return Err(ConfigError::Invalid("clock.session_gap must be positive".into()));
        }
        Ok(Config {
            session_gap_ms,
            target_ms: dur("clock.target", &target)?,
            badge: Badge {
                min_rate: rate,
                max_median_ms: dur("badge.response_time", &btime)?,
                window_ms: dur("badge.window", &window)?,
                channels: badge.channels,
            },
            signature_patterns,
            signatures,
            default_calendar,
            calendars,
            alerts,
            competitors: raw
                .listening
                .and_then(|l| l.competitors)
                .unwrap_or_default()
                .into_iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
            faq: None,
            store: raw.store.as_ref().and_then(|s| s.url.clone()).filter(|u| !u.trim().is_empty()),
            control: raw.store.as_ref().and_then(|s| s.control.clone()).filter(|u| !u.trim().is_empty()),
            iqs: weights("iqs", raw.iqs)?,
            engagement_score: weights("engagement_score", raw.engagement_score)?,
            mappings: raw
                .mappings
                .into_iter()
                .map(|(name, m)| {
                    let lower = |s: String| s.trim().to_ascii_lowercase();
                    let mapping = Mapping {
                        columns: m.columns.into_iter().map(|(f, c)| (lower(f), c)).collect(),
                        values: m
                            .values
                            .into_iter()
                            .flat_map(|(f, t)| {
                                t.into_iter().map(move |(from, to)| (f.trim().to_ascii_lowercase(), from, to))
                            })
                            .collect(),
                        date_format: m.date_format,
                        timezone: m.timezone,
                        delimiter: m.delimiter,
                        encoding: m.encoding,
                        sheet: m.sheet,
                    };
                    (name, mapping)
                })
                .collect(),
            staffing: staffing.enabled.unwrap_or(true),
            staffing_window_ms: dur("staffing.window", staffing.window.as_deref().unwrap_or("7d"))?,
        })
    }

    /// The opening hours of an account (its own, else `accounts."*"`, else always open).
    pub fn calendar(&self, account: &str) -> &Calendar {
        self.calendars.get(account).unwrap_or(&self.default_calendar)
    }

    /// Whether any account has opening hours (else business durations equal calendar ones).
    pub fn has_business_hours(&self) -> bool {
        !self.default_calendar.always_open() || self.calendars.values().any(|c| !c.always_open())
    }

    /// What the stored clock facts depend on: when it changes, facts are recomputed.
    /// What stored facts were computed with: what the binary owns (the facts' layout, the word
    /// lists and the text model the clock reads texts by), then, after a `|`, the settings a
    /// configuration chooses (session gap, signature patterns, competitors). Facts stored with
    /// another fingerprint are recomputed from the rows, never read as they are.
    pub fn clock_fingerprint(&self) -> String {
        format!(
            "facts={FACTS_VERSION};words={:016x};model={:016x}|{}",
            crate::words::rules_version(),
            crate::understand::version(),
            self.clock_settings()
        )
    }

    /// Whether facts stored with fingerprint `stored` differ from this configuration's only by
    /// what the binary owns (an upgrade: a new layout, word list or model; or a fingerprint
    /// written before any of them was part of it), not by the configuration's settings. Such
    /// facts are recomputed once, from the texts, and stored.
    pub fn only_binary_differs(&self, stored: &str) -> bool {
        self.settings_of(stored) == self.clock_settings() && stored != self.clock_fingerprint()
    }

    /// The configuration's part of a stored fingerprint, in today's spelling. Before layout 3,
    /// fingerprints read `[facts=N;]gap=…;sig=…[;words=…]`, and no configuration named
    /// competitors; before layout 4, no workspace had a knowledge base.
    fn settings_of(&self, stored: &str) -> String {
        if let Some((binary, settings)) = stored.split_once('|') {
            if binary.starts_with("facts=") && binary.contains(";model=") {
                return if settings.contains(";faq=") { settings.to_string() } else { format!("{settings};faq=") };
            }
        }
        let s = stored.split_once(';').filter(|(v, _)| v.starts_with("facts=")).map_or(stored, |(_, s)| s);
        let s = s.find(";words=").map_or(s, |i| &s[..i]);
        format!("{s};competitors=;faq=")
    }

    /// What shapes the stored facts that a configuration chooses: the session gap, the signature
    /// patterns, the competitors named, the knowledge base questions are matched against.
    fn clock_settings(&self) -> String {
        format!(
            "gap={};sig={};competitors={};faq={}",
            self.session_gap_ms,
            self.signature_patterns.join("\u{1f}"),
            self.competitors.join("\u{1f}"),
            self.faq.as_ref().filter(|f| !f.is_empty()).map_or(String::new(), |f| format!("{:016x}", f.version()))
        )
    }

    /// This configuration with a workspace's knowledge base (none when `faq` is empty).
    pub fn with_faq(&self, faq: Option<std::sync::Arc<crate::understand::faq::Faq>>) -> Config {
        Config { faq: faq.filter(|f| !f.is_empty()), ..self.clone() }
    }

    pub fn is_signed(&self, text: &str) -> bool {
        self.signatures.iter().any(|r| r.is_match(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
[clock]
session_gap = "24h"
target = "1h"
[badge]
response_rate = 90
response_time = "5m"
window = "7d"
[signature]
patterns = ['\^[A-Z]{2,3}\b', '/[A-Z]{2,3}\b', '(?m)^-- ']
[accounts."*"]
timezone = "UTC"
[accounts.acme]
timezone = "Europe/Paris"
holidays = ["2026-05-01", "2026-05-08"]
[accounts.acme.hours]
mon = ["09:00-12:30", "13:30-18:00"]
sat = ["10:00-12:00"]
sun = []
"#;

    #[test]
    fn the_spec_example_loads() {
        let c = Config::load(Some(SPEC), std::iter::empty()).unwrap();
        assert_eq!(c.target_ms, 3_600_000);
        assert_eq!(c.badge.max_median_ms, 300_000);
        assert_eq!(c.calendar("acme").holidays.len(), 2);
        assert!(c.calendar("other").always_open());
        assert!(c.is_signed("Bonne journée ^AB"));
        assert!(c.is_signed("Merci\n-- Julie"));
        assert!(!c.is_signed("Bonne journée"));
    }

    #[test]
    fn environment_overrides_the_file() {
        let env = vec![("BAROMETRE_TARGET".to_string(), "2h".to_string())];
        let c = Config::load(Some(SPEC), env.into_iter()).unwrap();
        assert_eq!(c.target_ms, 7_200_000);
    }

    #[test]
    fn overlapping_hours_are_refused() {
        let e =
            Config::load(Some("[accounts.a.hours]\nmon = [\"09:00-12:00\", \"11:00-13:00\"]\n"), std::iter::empty())
                .unwrap_err();
        assert!(e.to_string().contains("overlap"), "{e}");
    }
}
