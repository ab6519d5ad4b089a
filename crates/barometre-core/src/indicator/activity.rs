//! When customers write (METRICS §8, `activity_by_hour`): the messages received by day of week
//! and hour of day, in the report's time zone — the week's heat map, and its busiest hour.

use super::{messages_of, slot, Drill, Indicator, Pass, Shape, Source};
use crate::drill::{message_row, with, Row};
use crate::facts::Role;
use crate::time::{Millis, Zone};
use crate::value::{Activity, Peak, Value};
use serde_json::json;

/// `activity_by_hour`.
pub struct ActivityByHour;

/// Day names, Monday first, as the value and the drill-down write them.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// An instant's day of week (Monday 0) and hour in a zone. A zone's offset is looked up once a
/// quarter hour of UTC — rows come in time order, and a million of them cost a few thousand
/// look-ups — and kept for the quarter only when it is the same at both ends: most zones change
/// on a quarter hour, not all (St. John's changed at 00:01 local time until 2011), and within a
/// quarter that holds a change every instant is looked up alone.
pub struct WeekHour {
    zone: Zone,
    slot: Millis,
    offset: Millis,
}

const QUARTER: Millis = 900_000;

impl WeekHour {
    pub fn new(zone: Zone) -> WeekHour {
        WeekHour { zone, slot: Millis::MIN, offset: 0 }
    }
    pub fn of(&mut self, ms: Millis) -> (usize, usize) {
        let offset_at = |t: Millis| self.zone.local(t).and_utc().timestamp_millis() - t;
        let slot = ms.div_euclid(QUARTER);
        let offset = if slot == self.slot {
            self.offset
        } else {
            let start = slot * QUARTER;
            let first = offset_at(start);
            if first == offset_at(start + QUARTER - 1) {
                (self.slot, self.offset) = (slot, first);
                first
            } else {
                self.slot = Millis::MIN;
                offset_at(ms)
            }
        };
        let local = ms + offset;
        let hour = local.div_euclid(3_600_000).rem_euclid(24) as usize;
        // 1970-01-01 was a Thursday (Monday 0 → Thursday 3).
        let day = (local.div_euclid(86_400_000) + 3).rem_euclid(7) as usize;
        (day, hour)
    }
}

impl Indicator for ActivityByHour {
    type Part = [[u64; 24]; 7];
    fn shape(&self) -> Shape {
        Shape::Activity
    }
    fn source(&self) -> Source {
        Source::Messages
    }
    fn accumulate(&self, q: &Pass<'_>) -> Vec<Self::Part> {
        let mut v = vec![[[0u64; 24]; 7]; q.n];
        let mut wh = WeekHour::new(q.scope.zone);
        for (i, m) in q.rows.msgs.iter().enumerate() {
            if m.role == Role::Customer {
                let (d, h) = wh.of(m.ms);
                v[slot(q.slots.msgs, i)][d][h] += 1;
            }
        }
        v
    }
    fn merge(&self, into: &mut Self::Part, other: &Self::Part) {
        for (a, b) in into.iter_mut().zip(other) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }
    fn finish(&self, p: &mut Self::Part, q: &Pass<'_>) -> Value {
        let mut peak: Option<Peak> = None;
        for (d, row) in p.iter().enumerate() {
            for (h, &n) in row.iter().enumerate() {
                if n > 0 && peak.as_ref().is_none_or(|x| n > x.messages) {
                    peak = Some(Peak { day: DAYS[d], hour: h as u32, messages: n });
                }
            }
        }
        Value::Activity(Activity {
            hours: p.to_vec(),
            messages: p.iter().flatten().sum(),
            peak,
            zone: q.scope.zone.name(),
        })
    }
    /// The messages received, each with its local `day` and `hour`.
    fn explain(&self, d: &Drill<'_>) -> Vec<Row> {
        let mut wh = WeekHour::new(d.scope.zone);
        messages_of(d)
            .filter(|(f, _)| f.role == Role::Customer)
            .map(|(f, m)| {
                let (day, hour) = wh.of(m.ms);
                with(with(message_row(f), "day", json!(DAYS[day])), "hour", json!(hour))
            })
            .collect()
    }
}

/// The same day and hour by the calendar, for tests: what [`WeekHour`] must agree with.
#[cfg(test)]
fn by_calendar(zone: Zone, ms: Millis) -> (usize, usize) {
    use chrono::{Datelike, Timelike};
    let l = zone.local(ms);
    (l.weekday().num_days_from_monday() as usize, l.hour() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// St. John's left daylight time at 00:01 local time on 1992-10-25 (02:31 UTC): the minutes
    /// of that quarter hour on both sides of the change (found by the property below).
    #[test]
    fn a_change_of_offset_off_the_quarter_hour_is_read_exactly() {
        let zone = Zone::parse("America/St_Johns").unwrap();
        let mut wh = WeekHour::new(zone);
        for ms in [719_980_200_000, 719_980_260_000, 719_980_320_000, 719_981_000_000] {
            assert_eq!(wh.of(ms), by_calendar(zone, ms), "{ms}");
        }
        assert_eq!(WeekHour::new(zone).of(719_980_260_000), (5, 23), "00:01 daylight time is 23:01 standard time");
    }

    proptest! {
        /// Across daylight-saving changes and half-hour zones, in any order.
        #[test]
        fn the_quarter_hour_cache_agrees_with_the_calendar(
            instants in proptest::collection::vec(-2_000_000_000_000i64..4_000_000_000_000, 1..200),
            z in 0usize..5,
        ) {
            let zone = Zone::parse(["Europe/Paris", "UTC", "Australia/Lord_Howe", "Asia/Kolkata", "America/St_Johns"][z]).unwrap();
            let mut wh = WeekHour::new(zone);
            for ms in instants {
                prop_assert_eq!(wh.of(ms), by_calendar(zone, ms), "{}", ms);
            }
        }
    }

    #[test]
    fn days_and_hours_as_by_hand_around_the_paris_change_of_hour() {
        let paris = Zone::parse("Europe/Paris").unwrap();
        let mut wh = WeekHour::new(paris);
        // Sunday 2026-03-29 00:59:59Z = 01:59:59 CET (Sunday, hour 1); one second later 03:00 CEST.
        assert_eq!(wh.of(1_774_745_999_000), (6, 1));
        assert_eq!(wh.of(1_774_746_000_000), (6, 3));
        // Monday 2026-04-06 08:00Z = 10:00 in Paris.
        assert_eq!(wh.of(1_775_462_400_000), (0, 10));
    }
}
