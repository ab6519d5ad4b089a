//! The pure core of Baromètre: rows and their validation ([`ingest`]), the conversation clock
//! ([`clock`], [`engine`]), business hours ([`calendar`]), the metric registry ([`metrics`]) and
//! the reports built from the clock's facts ([`report`]). No SQL, no HTTP, no async: stores and
//! servers hand rows in and take figures out.
//!
//! ```
//! use barometre_core::clock;
//! use barometre_core::config::Config;
//! use barometre_core::ingest::{Format, Kind, Record, RecordReader};
//! use barometre_core::report::{self, Params, Value};
//! use barometre_core::table::FactTable;
//!
//! let csv = "message_id,created_at,direction,account,channel,author_id,conversation_id
//! m1,2026-04-06T10:00:00+02:00,in,acme,email,u1,k1
//! m2,2026-04-06T08:20:00Z,out,acme,email,agent7,k1
//! m3,2026-04-06T09:00:00Z,in,acme,email,u2,k2
//! ";
//! let messages: Vec<_> = RecordReader::new("m.csv", Kind::Messages, Format::Csv, csv.as_bytes())
//!     .map(|r| match r.unwrap().record {
//!         Record::Message(m) => m,
//!         _ => unreachable!(),
//!     })
//!     .collect();
//! let cfg = Config::default();
//! let facts = clock::run(&messages, &[], &cfg);
//! let r = report::build(&FactTable::from_facts(&facts), &Params::default(), &cfg);
//! // k1 answered 20 minutes after 08:00Z (the offset changes nothing); k2 never.
//! let Some(Value::Ratio(rate)) = r.total.metrics.get("response_rate") else { panic!() };
//! assert_eq!((rate.numerator, rate.denominator, rate.value), (1, 2, Some(50.0)));
//! let Some(Value::Duration(t)) = r.total.metrics.get("response_time") else { panic!() };
//! assert_eq!(t.median, Some(1200.0));
//! ```
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
