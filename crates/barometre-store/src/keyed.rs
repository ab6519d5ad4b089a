//! Rows keyed by their own id that need no clock: survey answers, invitations, queued contacts.
//! Same guarantees as messages: a re-import changes nothing, a changed row replaces its old
//! version, a repeated id with other content in one import is a bad row.

use crate::StoreError;
use barometre_core::ingest::{Located, Record, RowError};
use barometre_core::model::ContentHash;
use rusqlite::{params, OptionalExtension, ToSql, Transaction};
use std::collections::HashMap;
use std::sync::Arc;

pub enum Outcome {
    Inserted,
    Updated,
    Unchanged,
    Conflict(RowError),
}

pub(crate) fn fingerprint(r: &Record) -> i64 {
    // Every field in a spelling fixed by the core (not `Debug`'s, which may change with a build).
    let mut spelled = Vec::with_capacity(256);
    r.spell(&mut spelled);
    let mut h = ContentHash::new();
    h.bytes(&spelled);
    h.finish() as i64
}

/// Inserts or replaces one keyed row.
pub fn upsert(
    tx: &Transaction,
    ws: &str,
    loc: &Located,
    src: i64,
    this_import: &HashMap<i64, Arc<str>>,
) -> Result<Outcome, StoreError> {
    let fp = fingerprint(&loc.record);
    let line = loc.line as i64;
    let (table, key_col, id): (&str, &str, &str) = match &loc.record {
        Record::Survey(x) => ("surveys", "response_id", &x.response_id),
        Record::Invitation(x) => ("survey_invitations", "invitation_id", &x.invitation_id),
        Record::Contact(x) => ("contacts", "contact_id", &x.contact_id),
        Record::Post(x) => ("posts", "post_id", &x.post_id),
        Record::Customer(x) => ("customers", "customer_id", &x.customer_id),
        Record::Order(x) => ("orders", "order_id", &x.order_id),
        Record::Review(x) => ("qa_reviews", "review_key", &x.key),
        Record::Probe(x) => ("probes", "probe_id", &x.probe_id),
        _ => return Err(StoreError::Corrupt("not a keyed row".into())),
    };
    let old: Option<(i64, i64, i64)> = tx
        .prepare_cached(&format!("SELECT fp, src, line FROM {table} WHERE workspace = ? AND {key_col} = ?"))?
        .query_row(params![ws, id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    if let Some((ofp, osrc, oline)) = old {
        if let Some(first) = this_import.get(&osrc) {
            return Ok(if ofp == fp {
                Outcome::Unchanged
            } else {
                Outcome::Conflict(loc.error(barometre_core::ingest::duplicate_id(key_col, id, first, oline as u64)))
            });
        }
        if ofp == fp {
            tx.prepare_cached(&format!("UPDATE {table} SET src = ?, line = ? WHERE workspace = ? AND {key_col} = ?"))?
                .execute(params![src, line, ws, id])?;
            return Ok(Outcome::Unchanged);
        }
    }
    let outcome = if old.is_some() { Outcome::Updated } else { Outcome::Inserted };
    match &loc.record {
        Record::Survey(x) => {
            let v: [&dyn ToSql; 18] = [
                &ws,
                &x.response_id,
                &x.survey,
                &x.score,
                &x.scale_min,
                &x.scale_max,
                &x.answered_at.ms,
                &x.answered_at.offset_s,
                &x.conversation_id,
                &x.agent_id,
                &x.channel,
                &x.account,
                &x.customer_id,
                &x.comment,
                &x.answer,
                &fp,
                &src,
                &line,
            ];
            tx.prepare_cached(
                "INSERT OR REPLACE INTO surveys (workspace, response_id, survey, score, scale_min, scale_max, answered_ms, \
                 offset_s, conversation_id, agent_id, channel, account, customer_id, comment, answer, fp, src, line) \
                 VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            )?
            .execute(&v[..])?;
        }
        Record::Invitation(x) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO survey_invitations (workspace, invitation_id, survey, sent_ms, offset_s, channel, \
                 account, theme, customer_id, fp, src, line) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            )?
            .execute(params![
                ws,
                x.invitation_id,
                x.survey,
                x.sent_at.ms,
                x.sent_at.offset_s,
                x.channel,
                x.account,
                x.theme,
                x.customer_id,
                fp,
                src,
                line
            ])?;
        }
        Record::Contact(x) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO contacts (workspace, contact_id, channel, account, queued_ms, offset_s, answered_ms, \
                 ended_ms, agent_id, fp, src, line) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            )?
            .execute(params![
                ws,
                x.contact_id,
                x.channel,
                x.account,
                x.queued_at.ms,
                x.queued_at.offset_s,
                x.answered_at.map(|a| a.ms),
                x.ended_at.map(|a| a.ms),
                x.agent_id,
                fp,
                src,
                line
            ])?;
        }
        Record::Post(x) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO posts (workspace, post_id, account, channel, published_ms, offset_s, theme, \
                 impressions, reach, engagements, fp, src, line) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            )?
            .execute(params![
                ws,
                x.post_id,
                x.account,
                x.channel,
                x.published_at.ms,
                x.published_at.offset_s,
                x.theme,
                x.impressions as i64,
                x.reach as i64,
                x.engagements as i64,
                fp,
                src,
                line
            ])?;
        }
        Record::Customer(x) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO customers (workspace, customer_id, account, since, churned_at, referred_by, fp, src, line) \
                 VALUES (?,?,?,?,?,?,?,?,?)",
            )?
            .execute(params![
                ws,
                x.customer_id,
                x.account,
                x.since.to_text(),
                x.churned_at.map(|m| m.to_text()),
                x.referred_by,
                fp,
                src,
                line
            ])?;
        }
        Record::Order(x) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO orders (workspace, order_id, customer_id, ordered_at, amount, margin, currency, fp, src, line) \
                 VALUES (?,?,?,?,?,?,?,?,?,?)",
            )?
            .execute(params![
                ws,
                x.order_id,
                x.customer_id,
                x.ordered_at.to_text(),
                x.amount,
                x.margin,
                x.currency,
                fp,
                src,
                line
            ])?;
        }
        Record::Review(x) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO qa_reviews (workspace, review_key, conversation_id, reviewer, agent_id, criterion, score, \
                 at_ms, offset_s, fp, src, line) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            )?
            .execute(params![
                ws,
                x.key,
                x.conversation_id,
                x.reviewer,
                x.agent_id,
                x.criterion,
                x.score,
                x.at.ms,
                x.at.offset_s,
                fp,
                src,
                line
            ])?;
        }
        Record::Probe(x) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO probes (workspace, probe_id, campaign, brand, channel, sent_ms, offset_s, answered_ms, \
                 resolution, signed, fp, src, line) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            )?
            .execute(params![
                ws,
                x.probe_id,
                x.campaign,
                x.brand,
                x.channel,
                x.sent_at.ms,
                x.sent_at.offset_s,
                x.answered_at.map(|a| a.ms),
                x.resolution.map(|r| r.as_str()),
                x.signed.map(i64::from),
                fp,
                src,
                line
            ])?;
        }
        _ => {}
    }
    Ok(outcome)
}
