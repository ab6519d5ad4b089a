//! The conversation clock: turns message rows and conversation events into facts — which
//! conversation each message belongs to, the requests (runs of customer messages), their answers
//! and examinations, spontaneous messages. It runs once per conversation; reports only
//! aggregate its facts, so every back end computes the same figures.
//!
//! Order never depends on the file: messages are placed by instant (UTC), ties broken by reply
//! depth, then `in` before `out`, then id. A reply stamped before the message it answers (clocks
//! of two systems disagree) is placed right after that message: its response time is 0, never
//! negative.

use crate::config::Config;
pub use crate::facts::*;
use crate::model::{ConversationEvent, Message};
pub use crate::text::*;

/// Runs the clock over every message and event of a workspace.
pub fn run(msgs: &[Message], events: &[ConversationEvent], cfg: &Config) -> Facts {
    let mut bulk = crate::engine::Bulk::default();
    bulk.reserve(msgs.len(), 0);
    for m in msgs {
        bulk.push_message(m, cfg);
    }
    for e in events {
        bulk.push_event(e);
    }
    // A repeated id keeps its first row, as everywhere else.
    let (inp, _) = bulk.finish();
    crate::engine::run(&inp, cfg).facts(&inp)
}

#[cfg(test)]
mod tests;
