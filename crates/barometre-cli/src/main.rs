//! `barometre`: import customer-relationship exports, report every indicator exactly, show the
//! rows behind each figure.

mod commands;

/// Large blocks reuse freed pages: a report's phases each fill gigabytes, and fresh pages cost a
/// fault each (see the crate's documentation).
#[global_allocator]
static ALLOC: barometre_alloc::Retain = barometre_alloc::Retain;

mod render;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "barometre", version, about = "Baromètre — customer-relationship performance engine")]
struct Cli {
    /// The store (SQLite file): shorthand for `--store sqlite:PATH`; with another `--store`, the
    /// file that keeps accounts (users, tokens) unless `--control` names a control plane.
    #[arg(long, global = true, env = "BAROMETRE_DB", default_value = "barometre.db")]
    db: PathBuf,
    /// Where rows and facts live: `sqlite:PATH` (default: `--db`), a ClickHouse server or
    /// cluster, `clickhouse://HOST:HTTP_PORT/DATABASE[?cluster=NAME&nodes=HOST:PORT,…]`, or a
    /// PostgreSQL server that then also keeps users, sessions and tokens,
    /// `postgres://user[:password]@host[:port]/database` (docs/deployment.md).
    #[arg(long, global = true, env = "BAROMETRE_STORE", hide_env_values = true)]
    store: Option<String>,
    /// Workspace (one brand or client).
    #[arg(long, global = true, env = "BAROMETRE_WORKSPACE", default_value = "default")]
    workspace: String,
    /// Configuration file (TOML, see docs/configuration.md).
    #[arg(long, global = true, env = "BAROMETRE_CONFIG")]
    config: Option<PathBuf>,
    /// A PostgreSQL control plane (workspaces, users, sessions, tokens) shared by several
    /// `serve` instances: postgres://user[:password]@host[:port]/database (docs/deployment.md).
    /// With a ClickHouse store, every command's changes of a workspace wait there for one another.
    #[arg(long, global = true, env = "BAROMETRE_CONTROL", hide_env_values = true)]
    control: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import files of one kind (messages, conversation-events).
    Import(commands::ImportArgs),
    /// Every indicator over a period, optionally grouped.
    Report(commands::ReportArgs),
    /// The rows behind one figure.
    Explain(commands::ExplainArgs),
    /// Export one row per conversation.
    Export(commands::ExportArgs),
    /// Fill the store with a realistic synthetic data set.
    Demo(commands::DemoArgs),
    /// The metric registry: ids, labels and formulas.
    Metrics(commands::MetricsArgs),
    /// Check the configured targets (exit 3 when one is breached), for cron and CI.
    Check(commands::CheckArgs),
    /// The mystery-shopper barometer: brands and channels compared, with 95 % intervals.
    Barometer(commands::BarometerArgs),
    /// How well messages are labelled: precision, recall and F1 per label, the confusion matrix.
    Eval(commands::EvalArgs),
    /// Relabel an incoming message (an analyst's correction), or list the corrections.
    Label(commands::LabelArgs),
    /// Serve the HTTP API over the store.
    Serve(commands::ServeArgs),
    /// Workspaces and API tokens.
    Admin(commands::AdminArgs),
    /// Create or upgrade a store's schema (versioned migrations) and say its version.
    Migrate(commands::MigrateArgs),
    /// Requests, response rate and response times by group, aggregated by the store's engine
    /// (ClickHouse: on every shard) — the report's figures without reading the facts here.
    Summary(commands::SummaryArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = commands::Ctx {
        db: cli.db,
        store: cli.store,
        workspace: cli.workspace,
        config: cli.config,
        control: cli.control,
    };
    let r = match cli.command {
        Command::Import(a) => commands::import(&ctx, a),
        Command::Report(a) => commands::report(&ctx, a),
        Command::Explain(a) => commands::explain(&ctx, a),
        Command::Export(a) => commands::export(&ctx, a),
        Command::Demo(a) => commands::demo(&ctx, a),
        Command::Metrics(a) => commands::metrics(a),
        Command::Check(a) => commands::check(&ctx, a),
        Command::Eval(a) => commands::eval(a),
        Command::Label(a) => commands::label(&ctx, a),
        Command::Serve(a) => commands::serve(&ctx, a),
        Command::Barometer(a) => commands::barometer(&ctx, a),
        Command::Admin(a) => commands::admin(&ctx, a),
        Command::Migrate(a) => commands::migrate(&ctx, a),
        Command::Summary(a) => commands::summary(&ctx, a),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
