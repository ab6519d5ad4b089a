//! A figure's value, whatever the indicator: a count, a ratio, durations, a badge, NPS, means on
//! a scale, top posts, channel preferences, weighted scores, activity by hour of week. What every indicator finishes into and
//! every rendering reads.

use crate::stats::{Count, Durations, Ratio};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Badge {
    pub earned: bool,
    pub response_rate: Ratio,
    pub response_time: Durations,
    pub window: Window,
    pub thresholds: BadgeThresholds,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadgeThresholds {
    pub response_rate: f64,
    pub response_time: f64,
}

/// A mean score on its original scale (CSAT mean, CES).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mean {
    pub value: Option<f64>,
    pub count: u64,
    /// The scale, when every answer used the same one.
    pub scale_min: Option<f64>,
    pub scale_max: Option<f64>,
    pub lower_is_better: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Nps {
    pub value: Option<f64>,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    pub count: u64,
}

/// A publication in a ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostRank {
    pub post_id: String,
    pub engagement_rate: f64,
    pub engagements: u64,
    pub reach: u64,
    pub impressions: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopPosts {
    pub top: Vec<PostRank>,
    pub bottom: Vec<PostRank>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Count(Count),
    Ratio(Ratio),
    Duration(Durations),
    Badge(Badge),
    Mean(Mean),
    Nps(Nps),
    Posts(TopPosts),
    Retention(Retention),
    Amount(Amount),
    Weighted(Weighted),
    Channels(ChannelPreferences),
    Activity(Activity),
    Themes(Themes),
}

/// What customers write about: the themes of the messages received, each with its count in the
/// period before when that period was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Themes {
    /// Messages received.
    pub messages: u64,
    /// Of those, the messages about at least one theme shown (what the drill-down lists).
    pub with_theme: u64,
    /// Messages received in the period before (`null`: no such period, or not read).
    pub previous_messages: Option<u64>,
    /// Themes of at least two messages in the period or the one before, most frequent first.
    pub themes: Vec<ThemeCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThemeCount {
    /// Its id in `understand::themes::THEMES`.
    pub theme: &'static str,
    pub messages: u64,
    /// messages / messages received × 100.
    pub share: Option<f64>,
    pub previous: Option<u64>,
    /// (messages − previous) / previous × 100; `null` without a period before or from 0.
    pub change: Option<f64>,
}

/// When customers write: messages received by day of week and hour, in the report's time zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    /// Seven rows, Monday first, of 24 counts (hour 0 to 23).
    pub hours: Vec<[u64; 24]>,
    pub messages: u64,
    /// The busiest hour of the week (the earliest, on a tie); `null` without a message.
    pub peak: Option<Peak>,
    /// The time zone of the days and hours (IANA name, or `UTC`).
    pub zone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Peak {
    /// `mon` … `sun`.
    pub day: &'static str,
    pub hour: u32,
    pub messages: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelShare {
    pub channel: String,
    pub contacts: u64,
    pub contact_share: Option<f64>,
    pub customers: u64,
    pub customer_share: Option<f64>,
    pub declared: u64,
    pub declared_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelPreferences {
    pub channels: Vec<ChannelShare>,
}

/// One criterion of a weighted index: its weight, mean score and share of the index.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Criterion {
    pub criterion: String,
    pub weight: f64,
    pub mean: Option<f64>,
    pub count: u64,
    /// weight × mean / Σ weights of the scored criteria: what it adds to the value.
    pub share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Weighted {
    pub value: Option<f64>,
    pub criteria: Vec<Criterion>,
}

/// Retention: customers at the start and end of the period, and those won in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retention {
    pub value: Option<f64>,
    pub customers_start: u64,
    pub customers_end: u64,
    pub new_customers: u64,
}

/// A money figure; `null` when the orders mix currencies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Amount {
    pub value: Option<f64>,
    pub currency: Option<String>,
    pub customers: u64,
    pub orders: u64,
}

/// The JSON shape of an indicator's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Count,
    Ratio,
    Duration,
    Badge,
    Mean,
    Nps,
    Posts,
    Retention,
    Amount,
    Weighted,
    Channels,
    Activity,
    Themes,
}
