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
pub mod drill;
pub mod engine;
pub mod facts;
pub mod fmt;
pub mod fx;
pub mod indicator;
pub mod ingest;
pub mod intern;
pub mod metrics;
pub mod model;
pub mod oneshot;
pub mod report;
pub mod stats;
pub mod table;
#[cfg(test)]
pub(crate) mod testutil;
pub mod text;
pub mod time;
pub mod understand;
pub mod value;
pub mod vocab;
pub mod words;

/// The core's modules depend on one another in one direction only: rows → facts → indicators →
/// reports, the shared words ([`vocab`], [`value`]) at the bottom. Checked on the sources, so that
/// a `use` going back up fails here rather than tangling the core again.
#[cfg(test)]
mod layering {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// `crate::x` references of every module, test code left out.
    fn graph() -> BTreeMap<String, BTreeSet<String>> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut files = Vec::new();
        for e in std::fs::read_dir(&src).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                for f in std::fs::read_dir(&p).unwrap() {
                    files.push(f.unwrap().path());
                }
            } else {
                files.push(p);
            }
        }
        for p in files {
            let rel = p.strip_prefix(&src).unwrap();
            let module = rel.iter().next().unwrap().to_str().unwrap().trim_end_matches(".rs").to_string();
            if p.file_name().is_some_and(|n| n == "tests.rs") || module == "testutil" || module == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            // An inline test module closes a file: what follows it is test code.
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
            let deps = g.entry(module.clone()).or_default();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (i, _) in line.match_indices("crate::") {
                    let name: String =
                        line[i + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    if !name.is_empty() && name != module && name != "testutil" {
                        deps.insert(name);
                    }
                }
            }
        }
        g
    }

    #[test]
    fn no_module_of_the_core_depends_on_one_that_depends_on_it() {
        let g = graph();
        // Depth-first search for a cycle, reported with its path.
        fn visit(
            n: &str,
            g: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(i) = path.iter().position(|p| p == n) {
                let mut cycle = path[i..].to_vec();
                cycle.push(n.to_string());
                return Some(cycle);
            }
            if done.contains(n) {
                return None;
            }
            path.push(n.to_string());
            for d in g.get(n).into_iter().flatten() {
                if let Some(c) = visit(d, g, path, done) {
                    return Some(c);
                }
            }
            path.pop();
            done.insert(n.to_string());
            None
        }
        let mut done = BTreeSet::new();
        for n in g.keys() {
            if let Some(c) = visit(n, &g, &mut Vec::new(), &mut done) {
                panic!("import cycle: {}", c.join(" → "));
            }
        }
        // The shared words are leaves.
        assert!(g["vocab"].is_empty(), "{:?}", g["vocab"]);
    }
}
