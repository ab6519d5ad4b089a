//! The pure core of Baromètre.
pub mod calendar;
pub mod clock;
pub mod config;
pub mod ingest;
pub mod model;
pub mod time;
