//! The pure core of Baromètre.
pub mod barometer;
pub mod calendar;
pub mod check;
pub mod clock;
pub mod config;
pub mod customers;
pub mod demo;
pub mod engine;
pub mod fmt;
pub mod fx;
pub mod ingest;
pub mod intern;
pub mod metrics;
pub mod model;
pub mod report;
pub mod stats;
pub mod table;
#[cfg(test)]
pub(crate) mod testutil;
pub mod time;
