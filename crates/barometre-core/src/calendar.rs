//! Business hours: which instants an account is open, and how much open time lies between two
//! instants. Daylight-saving changes follow the account's zone: a 09:00–18:00 day is nine open
//! hours on both sides of the change, because each range is turned into instants day by day.

use crate::time::{Millis, Zone};
use chrono::{Datelike, Duration, NaiveDate};
use std::collections::BTreeSet;

/// An open range of one local day, in minutes after midnight (`end` may be 1440).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u32,
    pub end: u32,
}

impl Range {
    /// Parses `09:00-12:30` (also `24:00` as an end).
    pub fn parse(s: &str) -> Result<Range, String> {
        let (a, b) = s.split_once('-').ok_or_else(|| format!("hours range `{s}` must look like 09:00-12:30"))?;
        let m = |t: &str| -> Result<u32, String> {
            let (h, mi) = t.trim().split_once(':').ok_or_else(|| format!("time `{t}` must look like 09:00"))?;
            let h: u32 = h.parse().map_err(|_| format!("bad hour in `{t}`"))?;
            let mi: u32 = mi.parse().map_err(|_| format!("bad minute in `{t}`"))?;
            if mi >= 60 || h > 24 || (h == 24 && mi > 0) {
                return Err(format!("time `{t}` is out of range"));
            }
            Ok(h * 60 + mi)
        };
        let r = Range { start: m(a)?, end: m(b)? };
        if r.end <= r.start {
            return Err(format!("hours range `{s}` ends before it starts"));
        }
        Ok(r)
    }
}

/// One account's opening hours.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub zone: Zone,
    /// Ranges per local weekday, Monday first; `None` = open all the time.
    pub week: Option<[Vec<Range>; 7]>,
    pub holidays: BTreeSet<NaiveDate>,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar { zone: Zone::UTC, week: None, holidays: BTreeSet::new() }
    }
}

impl Calendar {
    /// Whether business time differs from calendar time at all.
    pub fn always_open(&self) -> bool {
        self.week.is_none()
    }

    /// Open milliseconds in `[start, end)`.
    pub fn open_ms(&self, start: Millis, end: Millis) -> Millis {
        if end <= start {
            return 0;
        }
        let Some(week) = &self.week else { return end - start };
        let first = self.zone.local(start).date() - Duration::days(1);
        let last = self.zone.local(end).date() + Duration::days(1);
        let mut total = 0;
        let mut d = first;
        while d <= last {
            if !self.holidays.contains(&d) {
                for r in &week[d.weekday().num_days_from_monday() as usize] {
                    let s = self.local_minute(d, r.start);
                    let e = self.local_minute(d, r.end);
                    let lo = s.max(start);
                    let hi = e.min(end);
                    if hi > lo {
                        total += hi - lo;
                    }
                }
            }
            d += Duration::days(1);
        }
        total
    }

    fn local_minute(&self, d: NaiveDate, minute: u32) -> Millis {
        if minute >= 1440 {
            self.zone.day_start(d + Duration::days(1))
        } else {
            self.zone.instant(d.and_hms_opt(minute / 60, minute % 60, 0).unwrap())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    fn paris_office() -> Calendar {
        let day = vec![Range::parse("09:00-12:30").unwrap(), Range::parse("13:30-18:00").unwrap()];
        Calendar {
            zone: Zone::parse("Europe/Paris").unwrap(),
            week: Some([
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day,
                vec![Range::parse("10:00-12:00").unwrap()],
                vec![],
            ]),
            holidays: [NaiveDate::from_ymd_opt(2026, 5, 1).unwrap()].into_iter().collect(),
        }
    }

    fn t(s: &str) -> Millis {
        parse_instant(s).unwrap().ms
    }

    #[test]
    fn split_shift_skips_the_lunch_break() {
        // Tue 2026-04-07 12:00 → 14:00 Paris: open 12:00–12:30 and 13:30–14:00 = 60 min.
        let c = paris_office();
        assert_eq!(c.open_ms(t("2026-04-07T12:00:00+02:00"), t("2026-04-07T14:00:00+02:00")), 3_600_000);
    }

    #[test]
    fn a_friday_evening_request_waits_through_the_weekend() {
        // Fri 17:30 → Mon 09:30: Fri 30 min + Sat 2 h + Sun 0 + Mon 30 min = 3 h.
        let c = paris_office();
        assert_eq!(c.open_ms(t("2026-04-10T17:30:00+02:00"), t("2026-04-13T09:30:00+02:00")), 3 * 3_600_000);
    }

    #[test]
    fn a_holiday_is_closed_all_day() {
        // Thu 2026-04-30 17:00 → Mon 2026-05-04 10:00; Fri 1 May closed.
        // Thu 1 h + Fri 0 + Sat 2 h + Sun 0 + Mon 1 h = 4 h.
        let c = paris_office();
        assert_eq!(c.open_ms(t("2026-04-30T17:00:00+02:00"), t("2026-05-04T10:00:00+02:00")), 4 * 3_600_000);
    }

    #[test]
    fn a_working_day_keeps_its_length_across_daylight_saving() {
        // Fri 27 Mar (CET) and Mon 30 Mar (CEST): 8 h each; the weekend between gives Sat's 2 h.
        let c = paris_office();
        assert_eq!(c.open_ms(t("2026-03-27T00:00:00+01:00"), t("2026-03-31T00:00:00+02:00")), 18 * 3_600_000);
    }

    #[test]
    fn no_hours_means_always_open() {
        let c = Calendar::default();
        assert_eq!(c.open_ms(10, 70), 60);
        assert_eq!(c.open_ms(70, 10), 0);
    }
}
