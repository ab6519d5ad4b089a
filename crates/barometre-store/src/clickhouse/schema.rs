//! The ClickHouse schema, versioned: each migration is a list of tables, created on every node of
//! the cluster as `NAME_local` (the data) with a `Distributed` table `NAME` over them, or on a
//! lone server as `NAME` itself. Reads and writes name `NAME` only, so one SQL serves both.
//! A landed migration is never edited: add the next one.

/// One table: its columns, its MergeTree engine clause (`ENGINE = …` and what follows), and the
/// sharding key its `Distributed` table spreads rows by.
pub struct Table {
    pub name: &'static str,
    pub columns: &'static str,
    pub engine: &'static str,
    pub shard_key: &'static str,
}

/// The month a row belongs to, from its UTC milliseconds (before 1970: January 1970).
macro_rules! month {
    ($col:literal) => {
        concat!("toYYYYMM(toDateTime(intDiv(greatest(", $col, ", 0), 1000), 'UTC'))")
    };
}

/// Migrations, in order.
pub const MIGRATIONS: &[(u32, &[Table])] = &[
    (
        1,
        &[
            // Every imported row, of every kind, as the core validated it (JSON), with the clock's
            // reading of a message's text. A row's versions are kept until merges drop the old ones;
            // reads take the last committed version of each (`argMax`), never `FINAL`.
            Table {
                name: "rows",
                columns:
                    "workspace String, kind UInt8, id String, conv String, at_ms Int64, version UInt64, fp UInt64, \
                      file String, line UInt64, tf_key String, body String, derived String",
                engine: concat!(
                    "ENGINE = ReplacingMergeTree(version) PARTITION BY ",
                    month!("at_ms"),
                    " ORDER BY (workspace, kind, id)"
                ),
                // A conversation's rows on one shard: the clock's unit of work.
                shard_key: "cityHash64(workspace, conv)",
            },
            // One row per import (and per label correction or knowledge base): written last, it is
            // what makes the import's rows and facts visible. An import killed half-way left rows
            // that no read ever takes.
            Table {
                name: "imports",
                columns: "workspace String, version UInt64, at_ms Int64, what String",
                engine: "ENGINE = MergeTree ORDER BY (workspace, version)",
                shard_key: "cityHash64(workspace)",
            },
            // Which import's facts are the workspace's, and the clock settings they were derived with.
            Table {
                name: "generations",
                columns: "workspace String, generation UInt64, fingerprint String",
                engine: "ENGINE = MergeTree ORDER BY (workspace, generation)",
                shard_key: "cityHash64(workspace)",
            },
            // The clock's facts in the compact chunks the embedded store keeps too: what reports
            // read, period by period (`lo_ms`/`hi_ms`), whole.
            Table {
                name: "fact_chunks",
                columns:
                    "workspace String, generation UInt64, part String, seq UInt32, lo_ms Int64, hi_ms Int64, n UInt64, \
                      data String",
                engine: "ENGINE = MergeTree ORDER BY (workspace, generation, part, seq)",
                shard_key: "cityHash64(workspace)",
            },
            // Request facts as columns: what the engine aggregates itself (counts, type-7 quantiles,
            // by group and by day), spread over the shards.
            Table {
                name: "requests",
                columns: "workspace String, generation UInt64, start_ms Int64, closed_ms Int64, account String, \
                      channel String, agent String, team String, outcome UInt8, public UInt8, first UInt8",
                engine: concat!(
                    "ENGINE = MergeTree PARTITION BY ",
                    month!("start_ms"),
                    " ORDER BY (workspace, generation, start_ms)"
                ),
                shard_key: "cityHash64(workspace, account, channel, start_ms)",
            },
            // Analysts' labels; an empty label removes one.
            Table {
                name: "corrections",
                columns: "workspace String, message_id String, label String, by String, at_ms Int64, version UInt64",
                engine: "ENGINE = MergeTree ORDER BY (workspace, message_id, version)",
                shard_key: "cityHash64(workspace)",
            },
            // A workspace's knowledge base, whole, per version (JSON entries).
            Table {
                name: "faq",
                columns: "workspace String, version UInt64, entries String",
                engine: "ENGINE = MergeTree ORDER BY (workspace, version)",
                shard_key: "cityHash64(workspace)",
            },
        ],
    ),
    (
        2,
        &[
            // The fact chunks again, each row its own granule: a chunk is megabytes, and with
            // granules of 8,192 rows a read of one part read every part of the workspace (version 1's
            // `fact_chunks`, left unused).
            Table {
                name: "fact_parts",
                columns:
                    "workspace String, generation UInt64, part String, seq UInt32, lo_ms Int64, hi_ms Int64, n UInt64, \
                      data String",
                engine: "ENGINE = MergeTree ORDER BY (workspace, generation, part, seq) SETTINGS index_granularity = 1",
                shard_key: "cityHash64(workspace)",
            },
        ],
    ),
    (
        3,
        &[
            // The rows again, every version kept until it is deleted on purpose: version 1's
            // `ReplacingMergeTree` kept the highest version of a key when parts merged, committed or
            // not — a strict import refused, a killed one or one still running could make a merge
            // drop the committed row (its rows are copied here, then `rows` is left unused).
            Table {
                name: "row_versions",
                columns: "workspace String, kind UInt8, id String, conv String, at_ms Int64, version UInt64, \
                          fp UInt64, file String, line UInt64, tf_key String, body String, derived String",
                engine: concat!(
                    "ENGINE = MergeTree PARTITION BY ",
                    month!("at_ms"),
                    " ORDER BY (workspace, kind, id, version)"
                ),
                shard_key: "cityHash64(workspace, conv)",
            },
        ],
    ),
    (
        4,
        &[
            // The daily rollup of the requests: one row per UTC day, account, channel, agent, team,
            // outcome and response time (milliseconds; 0 unless answered), with how many requests
            // share them. Counts and sums add up, and the response times' exact type-7 quantiles
            // are read from the weights, so a summary over whole days reads this instead of every
            // request (a rollup of sums alone could not give exact medians). Written with each
            // generation's facts; a generation written before this version has none, and its
            // summaries read `requests`.
            Table {
                name: "requests_daily",
                columns: "workspace String, generation UInt64, day Int64, account String, channel String, \
                          agent String, team String, outcome UInt8, delay_ms Int64, n UInt64",
                engine: concat!(
                    "ENGINE = MergeTree PARTITION BY ",
                    month!("day * 86400000"),
                    " ORDER BY (workspace, generation, day, account, channel, agent, team, outcome, delay_ms)"
                ),
                shard_key: "cityHash64(workspace, account, channel, day)",
            },
        ],
    ),
    // Versions 5 and 6 add a column each (below): no table.
    (5, &[]),
    (6, &[]),
];

/// Columns a migration adds to a table (on every node, to the local and the `Distributed` table):
/// `(version, table, column, type and default)`. Rows written before read the default.
pub const COLUMNS: &[(u32, &str, &str, &str)] = &[
    // A message row as the embedded store encodes it (`rows::encode_data`: every field, and the
    // clock's reading of its text): what an import reads back to compute facts, a tenth of the
    // JSON body and derived columns' bytes, and no JSON to parse. Empty for other kinds and for
    // rows written before version 5 (read from their JSON).
    (5, "row_versions", "data", "String DEFAULT ''"),
    // A request's conversation, by name: a late message computes its conversations again, and
    // their requests are replaced while the others' are copied (empty for requests written
    // before version 6: such facts are computed whole again).
    (6, "requests", "conv", "String DEFAULT ''"),
];

/// Rows a migration copies from an older table into its new one, node by node: `(version, from,
/// to)`.
pub const COPIES: &[(u32, &str, &str)] = &[(3, "rows", "row_versions")];

/// The statements that create `t` on one node: with a cluster, its local table and the
/// `Distributed` table over the cluster's.
pub fn create(t: &Table, db: &str, cluster: Option<&str>) -> Vec<String> {
    match cluster {
        None => vec![format!("CREATE TABLE IF NOT EXISTS {db}.{} ({}) {}", t.name, t.columns, t.engine)],
        Some(c) => vec![
            format!("CREATE TABLE IF NOT EXISTS {db}.{}_local ({}) {}", t.name, t.columns, t.engine),
            format!(
                "CREATE TABLE IF NOT EXISTS {db}.{name} ({cols}) ENGINE = Distributed({c}, {db}, {name}_local, {key})",
                name = t.name,
                cols = t.columns,
                key = t.shard_key
            ),
        ],
    }
}

/// The table holding `name`'s rows on one node (where mutations run).
pub fn local(name: &str, cluster: Option<&str>) -> String {
    match cluster {
        Some(_) => format!("{name}_local"),
        None => name.to_string(),
    }
}
