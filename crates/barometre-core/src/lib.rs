//! The pure core of Baromètre.
pub mod ingest;
pub mod model;
pub mod time;
