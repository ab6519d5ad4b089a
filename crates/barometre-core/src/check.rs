//! Targets and alerts (`barometre check`): thresholds from the configuration over a recent
//! window, and seed 001's staffing signal — volume up while response rate or speed go down.

use crate::config::{Alert, Config};
use crate::report::{build, Dim, Params, Value};
use crate::table::FactTable;
use crate::time::{rfc3339_utc, Millis, Zone};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub metric: String,
    pub field: String,
    pub by: Option<String>,
    pub key: Option<String>,
    pub from: String,
    pub to: String,
    /// `null`: no data in the window (never a breach).
    pub value: Option<f64>,
    pub op: &'static str,
    pub threshold: f64,
    pub breached: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    pub now: Option<f64>,
    pub before: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Staffing {
    pub flagged: bool,
    pub messages_received: Trend,
    pub response_rate: Trend,
    pub first_response_time_median: Trend,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    pub to: String,
    pub findings: Vec<Finding>,
    pub staffing: Option<Staffing>,
    pub breached: usize,
}

/// The number an alert compares: the value, or a duration's `field` (seconds), or 1/0 for a badge.
pub fn number(v: &Value, field: &str) -> Option<f64> {
    match v {
        Value::Count(c) => c.value.map(|n| n as f64),
        Value::Ratio(r) => r.value,
        Value::Duration(d) => match field {
            "mean" => d.mean,
            "p90" => d.p90,
            "max" => d.max,
            "min" => d.min,
            _ => d.median,
        },
        Value::Mean(m) => m.value,
        Value::Nps(n) => n.value,
        Value::Badge(b) => Some(if b.earned { 1.0 } else { 0.0 }),
        Value::Posts(_) => None,
        Value::Retention(r) => r.value,
        Value::Amount(a) => a.value,
        Value::Weighted(w) => w.value,
        Value::Channels(_) | Value::Activity(_) | Value::Themes(_) => None,
    }
}

fn alert_findings(t: &FactTable, a: &Alert, to: Millis, zone: Zone, cfg: &Config) -> Result<Vec<Finding>, String> {
    if crate::metrics::find(&a.metric).is_none() {
        return Err(format!("alert on unknown metric `{}`", a.metric));
    }
    let by = match &a.by {
        None => None,
        Some(b) => Some(Dim::parse(b).ok_or_else(|| format!("alert on `{}`: unknown group `{b}`", a.metric))?),
    };
    let from = to - a.window_ms;
    let r = build(t, &Params { from: Some(from), to: Some(to), by, zone, ..Params::default() }, cfg);
    let mk = |key: Option<String>, v: Option<&Value>| {
        let value = v.and_then(|v| number(v, &a.field));
        Finding {
            metric: a.metric.clone(),
            field: a.field.clone(),
            by: a.by.clone(),
            key,
            from: rfc3339_utc(from),
            to: rfc3339_utc(to),
            value,
            op: if a.below { "<" } else { ">" },
            threshold: a.threshold,
            breached: value.is_some_and(|x| if a.below { x < a.threshold } else { x > a.threshold }),
        }
    };
    Ok(match by {
        None => vec![mk(None, r.total.metrics.get(&a.metric))],
        Some(_) => r.groups.iter().map(|g| mk(g.key.clone(), g.metrics.get(&a.metric))).collect(),
    })
}

/// Checks every configured alert over the window ending at `to`, and the staffing signal.
pub fn check(t: &FactTable, to: Millis, zone: Zone, cfg: &Config) -> Result<CheckReport, String> {
    let mut findings = Vec::new();
    for a in &cfg.alerts {
        findings.extend(alert_findings(t, a, to, zone, cfg)?);
    }
    let staffing = cfg.staffing.then(|| {
        let w = cfg.staffing_window_ms;
        let now = build(t, &Params { from: Some(to - w), to: Some(to), by: None, zone, ..Params::default() }, cfg);
        let before =
            build(t, &Params { from: Some(to - 2 * w), to: Some(to - w), by: None, zone, ..Params::default() }, cfg);
        let trend = |id: &str, field: &str| Trend {
            now: now.total.metrics.get(id).and_then(|v| number(v, field)),
            before: before.total.metrics.get(id).and_then(|v| number(v, field)),
        };
        let messages = trend("messages_received", "value");
        let rate = trend("response_rate", "value");
        let speed = trend("first_response_time", "median");
        let up = |t: &Trend| matches!((t.now, t.before), (Some(a), Some(b)) if a > b);
        let down = |t: &Trend| matches!((t.now, t.before), (Some(a), Some(b)) if a < b);
        Staffing {
            flagged: up(&messages) && (down(&rate) || up(&speed)),
            messages_received: messages,
            response_rate: rate,
            first_response_time_median: speed,
        }
    });
    let breached =
        findings.iter().filter(|f| f.breached).count() + usize::from(staffing.as_ref().is_some_and(|s| s.flagged));
    Ok(CheckReport { to: rfc3339_utc(to), findings, staffing, breached })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::run;
    use crate::testutil::m;
    use crate::time::parse_instant;

    /// Week 1: two requests, both answered in 10 min. Week 2: four requests, two answered in
    /// 30 min — more volume, lower rate, slower: understaffed.
    fn weeks() -> FactTable {
        let mut rows = Vec::new();
        let mut add = |id: &str, at: &str, answer_min: Option<i64>| {
            let q = m(id, at, "in", "u", id, "");
            let t = q.created_at.ms;
            rows.push(q);
            if let Some(mins) = answer_min {
                let mut a = m(&format!("{id}r"), at, "out", "ag", id, "");
                a.created_at.ms = t + mins * 60_000;
                rows.push(a);
            }
        };
        add("a", "2026-04-01T10:00:00Z", Some(10));
        add("b", "2026-04-02T10:00:00Z", Some(10));
        add("c", "2026-04-08T10:00:00Z", Some(30));
        add("d", "2026-04-09T10:00:00Z", Some(30));
        add("e", "2026-04-10T10:00:00Z", None);
        add("f", "2026-04-11T10:00:00Z", None);
        FactTable::from_facts(&run(&rows, &[], &Config::default()))
    }

    #[test]
    fn a_rate_under_its_threshold_is_breached_and_the_staffing_signal_raised() {
        let cfg = Config::load(
            Some("[[alerts]]\nmetric = \"response_rate\"\nbelow = 90\n\n[[alerts]]\nmetric = \"first_response_time\"\nabove = \"1h\"\n"),
            std::iter::empty(),
        )
        .unwrap();
        let to = parse_instant("2026-04-13T00:00:00Z").unwrap().ms;
        let r = check(&weeks(), to, Zone::UTC, &cfg).unwrap();
        // Last 7 days: c d e f → 2 of 4 answered = 50 % < 90.
        assert_eq!((r.findings[0].value, r.findings[0].breached), (Some(50.0), true));
        // Median first response 30 min, not above 1 h.
        assert_eq!((r.findings[1].value, r.findings[1].breached), (Some(1800.0), false));
        let s = r.staffing.unwrap();
        assert!(s.flagged);
        assert_eq!((s.messages_received.now, s.messages_received.before), (Some(4.0), Some(2.0)));
        assert_eq!(r.breached, 2);
    }

    #[test]
    fn an_unknown_metric_in_an_alert_is_an_error() {
        let cfg = Config::load(Some("[[alerts]]\nmetric = \"happiness\"\nbelow = 1\n"), std::iter::empty()).unwrap();
        assert!(check(&weeks(), 0, Zone::UTC, &cfg).unwrap_err().contains("unknown metric `happiness`"));
    }
}
