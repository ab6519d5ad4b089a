//! Row builders shared by the unit tests.
use crate::model::{Direction, Message};
use crate::time::parse_instant;

/// A message row: `id, instant, dir, author` with conversation `conv` (empty = none), `reply_to`.
pub fn m(id: &str, at: &str, dir: &str, author: &str, conv: &str, reply_to: &str) -> Message {
    Message {
        message_id: id.into(),
        created_at: parse_instant(at).unwrap(),
        direction: if dir == "in" { Direction::In } else { Direction::Out },
        account: "acme".into(),
        channel: "email".into(),
        author_id: author.into(),
        conversation_id: (!conv.is_empty()).then(|| conv.to_string()),
        reply_to: (!reply_to.is_empty()).then(|| reply_to.to_string()),
        ..Message::empty()
    }
}
