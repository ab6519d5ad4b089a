//! What the clock reads in a message's text and kind: thanks that are no request, rows that call
//! for no action, agent signatures.

use crate::config::Config;
use crate::model::{Direction, Message, TextFacts};

pub use crate::words::is_bare_thanks;
use crate::words::NOT_ACTIONABLE_KINDS;

/// What the clock reads in a message's text (or what a store kept of it).
pub fn text_facts(m: &Message, cfg: &Config) -> TextFacts {
    if let Some(d) = m.derived {
        return d;
    }
    TextFacts {
        signed: match (m.direction, m.bot) {
            (Direction::Out, false) => m.text.as_deref().map(|t| cfg.is_signed(t)),
            _ => None,
        },
        bare_thanks: m.direction == Direction::In && m.text.as_deref().is_some_and(is_bare_thanks),
        label: match (m.direction, m.text.as_deref()) {
            (Direction::In, Some(t)) if !t.trim().is_empty() => Some(crate::understand::label(t)),
            _ => None,
        },
        competitor: m.direction == Direction::In
            && m.text.as_deref().is_some_and(|t| crate::understand::names_any(t, &cfg.competitors)),
        themes: match (m.direction, m.text.as_deref()) {
            (Direction::In, Some(t)) => crate::understand::faq::theme_bits(t),
            _ => 0,
        },
        faq: match (m.direction, m.text.as_deref(), &cfg.faq) {
            (Direction::In, Some(t), Some(faq)) => faq.answer(t).unwrap_or(0),
            _ => 0,
        },
    }
}

/// The actionable rule on a row's columns: the `actionable` column when the source decided, else
/// not spam/off-topic (`kind`), not out of scope (`in_scope = false`, the column's or, without
/// it, the label's), else not a bare thanks — by the word list or by the label. Scope is settled
/// before the label is read: a row its source says is in scope stays so whatever the text.
pub fn actionable_from(
    actionable: Option<bool>,
    kind: Option<&str>,
    in_scope: Option<bool>,
    bare_thanks: bool,
    label: Option<crate::understand::Label>,
) -> bool {
    if let Some(a) = actionable {
        return a;
    }
    if kind.is_some_and(|k| NOT_ACTIONABLE_KINDS.contains(&k)) || in_scope == Some(false) {
        return false;
    }
    !bare_thanks && label != Some(crate::understand::Label::ThanksOnly)
}
