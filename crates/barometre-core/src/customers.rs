//! Customer figures (METRICS.md §5) over a period `[from, to)`:
//!
//! - customers at the start `S`: joined (`since`) before `from`, not churned before `from`;
//! - at the end `E`: joined before `to`, not churned before `to`;
//! - new `N`: joined in `[from, to)`; lost: of `S`, churned in `[from, to)`;
//! - `retention_rate` = (E − N) / S × 100, `churn_rate` = lost / S × 100,
//!   `referral_rate` = new customers with `referred_by` / N × 100;
//! - CLV from the orders of the period: average purchase value × purchases per customer per year
//!   × average lifetime in years (each ordering customer's `since` → churn, or → `to`);
//!   historical = Σ purchases × average margin per ordering customer; predictive = purchases per
//!   customer per month × average order value × lifetime in months.
//!
//! Without `from` there is no start: the start-based figures are null. Years are calendar years
//! in the report's zone: whole years by anniversary, then the rest as a fraction of the next year
//! (2024-01-01 → 2027-01-01 is exactly 3 years; a month is a twelfth of a year).

use crate::model::{Customer, Order};
use crate::time::{Millis, Zone};
use std::collections::HashMap;

/// Calendar years between two instants, in `zone`: whole anniversaries, then the remainder as a
/// fraction of the year that follows the last anniversary.
pub fn years_between(a: Millis, b: Millis, zone: Zone) -> f64 {
    use chrono::{Datelike, NaiveDateTime};
    if b <= a {
        return 0.0;
    }
    let start: NaiveDateTime = zone.local(a);
    let shift = |years: i32| -> Millis {
        let y = start.year() + years;
        // 29 February moves to 28 February in common years.
        let d = start.date().with_year(y).or_else(|| start.date().with_day(28).and_then(|d| d.with_year(y)));
        d.map_or(i64::MAX, |d| zone.instant(d.and_time(start.time())))
    };
    let mut whole = 0;
    while shift(whole + 1) <= b {
        whole += 1;
    }
    let (lo, hi) = (shift(whole), shift(whole + 1));
    whole as f64 + (b - lo) as f64 / (hi - lo) as f64
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerMetric {
    Retention,
    Churn,
    Referral,
    Clv,
    ClvHistorical,
    ClvPredictive,
}

pub use crate::value::{Amount, Retention};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub start: u64,
    pub end: u64,
    pub new: u64,
    pub lost: u64,
    pub referred: u64,
    pub orders: u64,
    pub amount: f64,
    pub ordering: u64,
    pub margin_sum: f64,
    pub margin_n: u64,
    pub lifetime_years_sum: f64,
    pub lifetime_n: u64,
    pub years: Option<f64>,
    pub currency: Option<String>,
    pub mixed_currency: bool,
}

/// Where one customer stands in a period `[from, to)`: the one reading of the start, end, new and
/// lost customers, for the figures and for the rows behind them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    /// A customer at the start (there is a start only with a `from`).
    pub start: bool,
    /// A customer at the end.
    pub end: bool,
    /// Joined within the period.
    pub new: bool,
    /// A customer of the start who churned within the period.
    pub lost: bool,
}

pub fn membership(c: &Customer, from: Option<Millis>, to: Option<Millis>, zone: Zone) -> Membership {
    let (lo, hi) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
    let since = c.since.ms(zone);
    let churned = c.churned_at.map(|m| m.ms(zone));
    let present_at = |t: Millis| since < t && churned.is_none_or(|ch| ch >= t);
    let start = from.is_some() && present_at(lo);
    Membership {
        start,
        end: present_at(hi),
        new: since >= lo && since < hi,
        lost: start && churned.is_some_and(|ch| ch >= lo && ch < hi),
    }
}

/// The figures of the customers (and their orders) over `[from, to)`.
pub fn figures(
    customers: &[&Customer],
    orders: &[&Order],
    from: Option<Millis>,
    to: Option<Millis>,
    zone: Zone,
) -> Figures {
    let mut f = Figures::default();
    let (lo, hi) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
    let mut by_id: HashMap<&str, (Millis, Option<Millis>)> = HashMap::new();
    for c in customers {
        by_id.insert(&c.customer_id, (c.since.ms(zone), c.churned_at.map(|m| m.ms(zone))));
        let m = membership(c, from, to, zone);
        f.start += u64::from(m.start);
        f.lost += u64::from(m.lost);
        f.end += u64::from(m.end);
        f.new += u64::from(m.new);
        f.referred += u64::from(m.new && c.referred_by.is_some());
    }
    // Ordered: float sums over it must not depend on a hash seed (same inputs, same bytes).
    let mut ordering: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for o in orders {
        let t = o.ordered_at.ms(zone);
        if t < lo || t >= hi {
            continue;
        }
        first = first.min(t);
        last = last.max(t);
        f.orders += 1;
        f.amount += o.amount;
        if let Some(m) = o.margin {
            f.margin_sum += m;
            f.margin_n += 1;
        }
        match (&f.currency, &o.currency) {
            (None, Some(c)) if f.orders == 1 => f.currency = Some(c.clone()),
            (Some(a), Some(b)) if a != b => f.mixed_currency = true,
            (Some(_), None) | (None, Some(_)) => f.mixed_currency = true,
            _ => {}
        }
        ordering.insert(&o.customer_id);
    }
    f.ordering = ordering.len() as u64;
    let end = to.unwrap_or(if last == i64::MIN { 0 } else { last + 1 });
    for id in &ordering {
        if let Some(&(since, churned)) = by_id.get(id) {
            let until = churned.map_or(end, |c| c.min(end));
            f.lifetime_years_sum += years_between(since, until, zone);
            f.lifetime_n += 1;
        }
    }
    f.years = match (from, to) {
        (Some(a), Some(b)) => Some(years_between(a, b, zone)),
        _ if f.orders > 0 => Some(years_between(first, last.max(first + 86_400_000), zone)),
        _ => None,
    };
    f
}

fn ratio(n: u64, d: u64) -> crate::stats::Ratio {
    crate::stats::Ratio::new(n, d)
}

/// The report value of one customer metric.
pub fn value(k: CustomerMetric, f: &Figures) -> crate::value::Value {
    use crate::value::Value;
    let money = |v: Option<f64>| Amount {
        value: if f.mixed_currency { None } else { v },
        currency: if f.mixed_currency { None } else { f.currency.clone() },
        customers: f.ordering,
        orders: f.orders,
    };
    let apv = (f.orders > 0).then(|| f.amount / f.orders as f64);
    let lifetime = (f.lifetime_n > 0).then(|| f.lifetime_years_sum / f.lifetime_n as f64);
    let per_customer_year = match (f.years, f.ordering) {
        (Some(y), c) if y > 0.0 && c > 0 => Some(f.orders as f64 / c as f64 / y),
        _ => None,
    };
    match k {
        CustomerMetric::Retention => Value::Retention(Retention {
            value: (f.start > 0).then(|| (f.end as f64 - f.new as f64) * 100.0 / f.start as f64),
            customers_start: f.start,
            customers_end: f.end,
            new_customers: f.new,
        }),
        CustomerMetric::Churn => Value::Ratio(ratio(f.lost, f.start)),
        CustomerMetric::Referral => Value::Ratio(ratio(f.referred, f.new)),
        CustomerMetric::Clv => Value::Amount(money(match (apv, per_customer_year, lifetime) {
            (Some(a), Some(q), Some(l)) => Some(a * q * l),
            _ => None,
        })),
        CustomerMetric::ClvHistorical => Value::Amount(money(match (f.ordering, f.margin_n) {
            (c, m) if c > 0 && m > 0 => Some(f.amount * (f.margin_sum / m as f64) / c as f64),
            _ => None,
        })),
        CustomerMetric::ClvPredictive => Value::Amount(money(match (apv, per_customer_year, lifetime) {
            (Some(a), Some(q), Some(l)) => Some((q / 12.0) * a * (l * 12.0)),
            _ => None,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    fn t(s: &str) -> Millis {
        parse_instant(s).unwrap().ms
    }

    #[test]
    fn calendar_years_are_whole_across_leap_years() {
        let z = Zone::UTC;
        assert_eq!(years_between(t("2024-01-01T00:00:00Z"), t("2027-01-01T00:00:00Z"), z), 3.0);
        assert_eq!(years_between(t("2026-01-01T00:00:00Z"), t("2027-01-01T00:00:00Z"), z), 1.0);
        // half of 2026 (181 of 365 days) after one whole year
        let y = years_between(t("2025-01-01T00:00:00Z"), t("2026-07-01T00:00:00Z"), z);
        assert!((y - (1.0 + 181.0 / 365.0)).abs() < 1e-12);
        // a local-date year in Paris is one year, whatever the offsets
        let p = Zone::parse("Europe/Paris").unwrap();
        assert_eq!(years_between(t("2025-06-01T00:00:00+02:00"), t("2026-06-01T00:00:00+02:00"), p), 1.0);
    }
}
