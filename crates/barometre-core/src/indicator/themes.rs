//! Recurring themes (METRICS §8, `recurring_themes`): what the messages received are about —
//! delivery, bills, cancellations, outages… ([`crate::understand::themes`]) — each theme's count
//! and share, and its change against the period before: a theme that grows is an incident or a
//! question the service should get ahead of.
//!
//! The period before is read from the facts loaded; when they do not reach back that far
//! ([`FactTable::complete_from`]) its counts are `null`, never zeros.

use super::{messages_of, slot, Drill, Indicator, Pass, Shape, Source};
use crate::drill::{message_row, Row};
use crate::facts::Role;
use crate::table::{FactTable, MsgRow};
use crate::time::Millis;
use crate::understand::themes::THEMES;
use crate::value::{ThemeCount, Themes, Value};

/// `recurring_themes`.
pub struct RecurringThemes;

const N: usize = THEMES.len();

/// A theme is recurring from this many messages (in the period or the one before).
pub const RECURRING: u64 = 2;

/// The themes shown (a few groups only help the FAQ matching).
fn shown() -> u64 {
    THEMES.iter().enumerate().filter(|(_, t)| t.shown).fold(0, |b, (i, _)| b | 1 << i)
}

#[derive(Clone)]
pub struct Counts {
    themes: [u64; N],
    received: u64,
    with_theme: u64,
}

impl Default for Counts {
    fn default() -> Counts {
        Counts { themes: [0; N], received: 0, with_theme: 0 }
    }
}

impl Counts {
    fn add(&mut self, m: &MsgRow, shown: u64) {
        self.received += 1;
        let mut bits = m.themes & shown;
        self.with_theme += u64::from(bits != 0);
        while bits != 0 {
            self.themes[bits.trailing_zeros() as usize] += 1;
            bits &= bits - 1;
        }
    }
    fn merge(&mut self, o: &Counts) {
        for (a, b) in self.themes.iter_mut().zip(&o.themes) {
            *a += b;
        }
        self.received += o.received;
        self.with_theme += o.with_theme;
    }
}

/// A group's counts, and those of the period before it.
#[derive(Clone, Default)]
pub struct Part {
    now: Counts,
    before: Option<Counts>,
}

/// The messages received in `[from, to)`, counted into `out` by `group` — or `None` when the
/// table does not hold every fact of that span.
fn before(t: &FactTable, from: Millis, to: Millis, n: usize, group: impl Fn(&MsgRow) -> usize) -> Option<Vec<Counts>> {
    if t.complete_from.is_some_and(|c| c > from) {
        return None;
    }
    let shown = shown();
    let mut v = vec![Counts::default(); n];
    for m in t.msgs.iter().filter(|m| m.role == Role::Customer && m.ms >= from && m.ms < to) {
        v[group(m)].add(m, shown);
    }
    Some(v)
}

impl Indicator for RecurringThemes {
    type Part = Part;
    fn shape(&self) -> Shape {
        Shape::Themes
    }
    fn source(&self) -> Source {
        Source::Messages
    }
    fn accumulate(&self, q: &Pass<'_>) -> Vec<Part> {
        let shown = shown();
        let mut v = vec![Part::default(); q.n];
        for (i, m) in q.rows.msgs.iter().enumerate() {
            if m.role == Role::Customer {
                v[slot(q.slots.msgs, i)].now.add(m, shown);
            }
        }
        match q.grouping {
            // A time bucket's period before is the bucket just before it (read from the rows
            // before the period for the first one, when they were loaded; none without a period
            // start, where the first bucket starts at the first row). Buckets left out for
            // holding nothing ([`super::sparse_buckets`]) are read as a span of equal length.
            Some(g) if g.dim.is_time() => {
                for i in 0..v.len().min(g.buckets.len()) {
                    let b = &g.buckets[i];
                    v[i].before = if i > 0 && g.buckets[i - 1].1 == b.0 {
                        Some(v[i - 1].now.clone())
                    } else if i == 0 && q.scope.from.is_none() {
                        None
                    } else {
                        before(q.table, b.0 - (b.1 - b.0), b.0, 1, |_| 0).map(|mut x| x.remove(0))
                    };
                }
            }
            g => {
                if let (Some(f), Some(t)) = (q.scope.from, q.scope.to) {
                    let group = |m: &MsgRow| match g {
                        Some(g) => g.msg(m),
                        None => 0,
                    };
                    if let Some(b) = before(q.table, f - (t - f), f, q.n, group) {
                        for (p, x) in v.iter_mut().zip(b) {
                            p.before = Some(x);
                        }
                    }
                }
            }
        }
        v
    }
    fn merge(&self, into: &mut Part, other: &Part) {
        into.now.merge(&other.now);
        into.before = match (into.before.take(), &other.before) {
            (Some(mut a), Some(b)) => {
                a.merge(b);
                Some(a)
            }
            _ => None,
        };
    }
    /// The period's own counts and the period before it (a time bucket's parts look back to the
    /// bucket before, so they are not summed).
    fn total(&self, q: &Pass<'_>, _: &[&Part]) -> Part {
        self.accumulate(&q.alone()).pop().unwrap_or_default()
    }
    fn finish(&self, p: &mut Part, _: &Pass<'_>) -> Value {
        let mut themes: Vec<ThemeCount> = THEMES
            .iter()
            .enumerate()
            .filter(|(_, t)| t.shown)
            .map(|(i, t)| {
                let (now, before) = (p.now.themes[i], p.before.as_ref().map(|b| b.themes[i]));
                ThemeCount {
                    theme: t.id,
                    messages: now,
                    share: (p.now.received > 0).then(|| now as f64 * 100.0 / p.now.received as f64),
                    previous: before,
                    change: before.filter(|&b| b > 0).map(|b| (now as f64 - b as f64) * 100.0 / b as f64),
                }
            })
            .filter(|c| c.messages >= RECURRING || c.previous.is_some_and(|b| b >= RECURRING))
            .collect();
        themes.sort_by(|a, b| b.messages.cmp(&a.messages).then(b.previous.cmp(&a.previous)).then(a.theme.cmp(b.theme)));
        Value::Themes(Themes {
            messages: p.now.received,
            with_theme: p.now.with_theme,
            previous_messages: p.before.as_ref().map(|b| b.received),
            themes,
        })
    }
    /// The messages received that are about a theme shown, each with its `themes`.
    fn explain(&self, d: &Drill<'_>) -> Vec<Row> {
        let shown = shown();
        messages_of(d)
            .filter(|(f, m)| f.role == Role::Customer && m.themes & shown != 0)
            .map(|(f, _)| {
                let mut row = message_row(f);
                let ids: Vec<&str> = crate::facts::Themes(f.themes.0 & shown).ids().collect();
                row.insert("themes".into(), serde_json::json!(ids));
                row
            })
            .collect()
    }
}
