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
    }
}

/// Whether an `in` message needs a reply: the `actionable` column when the source decided, else
/// not spam/off-topic (`kind`), not out of scope (`in_scope = false`), not a bare thanks.
pub fn is_actionable(m: &Message) -> bool {
    is_actionable_with(m, m.derived.map_or_else(|| m.text.as_deref().is_some_and(is_bare_thanks), |d| d.bare_thanks))
}

fn is_actionable_with(m: &Message, bare_thanks: bool) -> bool {
    actionable_from(m.actionable, m.kind.as_deref(), m.in_scope, bare_thanks)
}

/// The actionable rule on a row's columns (see [`is_actionable`]).
pub fn actionable_from(
    actionable: Option<bool>,
    kind: Option<&str>,
    in_scope: Option<bool>,
    bare_thanks: bool,
) -> bool {
    if let Some(a) = actionable {
        return a;
    }
    if kind.is_some_and(|k| NOT_ACTIONABLE_KINDS.contains(&k)) || in_scope == Some(false) {
        return false;
    }
    !bare_thanks
}
