//! The ClickHouse back end through the CLI (issue 13): the same files give byte-identical reports,
//! drill-downs and exports on SQLite and on a 2-shard cluster; a stopped shard fails a report
//! with a clear error, never a figure from part of the data.

use super::{bin, run, s, write};

/// The test cluster (`scripts/clickhouse.sh`): `clickhouse://HOST:PORT?cluster=NAME&nodes=…`.
fn cluster() -> Option<String> {
    match std::env::var("BAROMETRE_TEST_CLICKHOUSE_CLUSTER") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI runs the ClickHouse checks: set BAROMETRE_TEST_CLICKHOUSE_CLUSTER")
        }
        _ => {
            eprintln!("skipped: no BAROMETRE_TEST_CLICKHOUSE_CLUSTER (scripts/clickhouse.sh starts a cluster)");
            None
        }
    }
}

/// `base` with a database of the test's own.
fn with_db(base: &str, db: &str) -> String {
    let (head, query) = base.split_once('?').unwrap_or((base, ""));
    // The server's address, without the database the URL may name.
    let at = head.find("://").map_or(0, |i| i + 3);
    let head = head[at..].split_once('/').map_or(head, |(hp, _)| &head[..at + hp.len()]);
    let sep = if query.is_empty() { "" } else { "?" };
    format!("{head}/{db}_{}{sep}{query}", std::process::id())
}

fn drop_db(url: &str) {
    let Some(rest) = url.strip_prefix("clickhouse://") else { return };
    let (addr, rest) = rest.split_once('/').unwrap();
    let db = rest.split('?').next().unwrap();
    let nodes = rest.split_once("nodes=").map_or("", |(_, n)| n.split('&').next().unwrap());
    for n in std::iter::once(addr).chain(nodes.split(',').filter(|n| !n.is_empty())) {
        let _ = std::process::Command::new("curl")
            .args(["-s", &format!("http://{n}/"), "--data-binary", &format!("DROP DATABASE IF EXISTS {db}")])
            .output();
    }
}

const MESSAGES: &str = "message_id,created_at,direction,account,channel,author_id,conversation_id,reply_to,text
m1,2026-04-06T08:00:00+02:00,in,acme,twitter,u1,k1,,\"Bonjour, colis perdu ?\"
m2,2026-04-06T06:20:00Z,out,acme,twitter,agent7,k1,m1,Nous regardons
m3,2026-04-06T09:00:00Z,in,acme,email,u2,k2,,Ma facture est fausse
m4,2026-04-06T10:00:00Z,in,acme,email,u3,k3,,Où est ma commande ?
m5,2026-04-06T10:45:00Z,out,acme,email,agent2,k3,m4,Elle arrive demain
m6,2026-04-07T11:00:00Z,in,globex,facebook,u4,k4,,\"Merci 🙏, c'est réglé\"
m7,2026-04-07T12:00:00Z,in,globex,facebook,u5,k5,,Le site ne marche pas
m8,2026-04-07T12:30:00Z,out,globex,facebook,agent9,k5,m7,\"Pouvez-vous réessayer ?\r\nMerci\"
";

const EVENTS: &str = "conversation_id,event,at\nk2,examined,2026-04-06T09:30:00Z\nk3,resolved,2026-04-06T11:00:00Z\n";

const SURVEYS: &str = "response_id,survey,score,scale_min,scale_max,answered_at,conversation_id
r1,csat,5,1,5,2026-04-06T12:00:00Z,k3
r2,csat,2,1,5,2026-04-07T13:00:00Z,k5
";

#[test]
fn the_same_files_give_byte_identical_reports_on_sqlite_and_a_clickhouse_cluster() {
    let Some(base) = cluster() else { return };
    let url = with_db(&base, "cli_same");
    let d = tempfile::tempdir().unwrap();
    let o = run(&["migrate", "--store", &url]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "ClickHouse (cluster): schema version 6");
    // Once the schema exists, the first node's address alone is enough.
    let plain = url.split('?').next().unwrap().to_string();
    same_as_sqlite(&plain, d.path());
    drop_db(&url);
}

/// The files above imported into SQLite and into `store` (its accounts, for a ClickHouse store,
/// in a SQLite file of `dir`) give the same bytes from every command that shows figures, and
/// from a server over `store`.
pub(super) fn same_as_sqlite(plain: &str, d: &std::path::Path) {
    let plain = plain.to_string();
    let db = d.join("b.db");
    let (m, e, v) = (write(d, "m.csv", MESSAGES), write(d, "e.csv", EVENTS), write(d, "s.csv", SURVEYS));
    let accounts = d.join("accounts.db");
    for (kind, f) in [("messages", &m), ("conversation-events", &e), ("surveys", &v)] {
        for (store, extra) in [(format!("sqlite:{}", s(&db)), ""), (plain.clone(), "")] {
            let o = run(&["import", kind, s(f), "--store", &store, "--db", s(&accounts), "--lenient"]);
            assert_eq!(o.status.code(), Some(0), "{store} {kind}{extra}: {}", String::from_utf8_lossy(&o.stderr));
        }
    }
    // Importing twice changes nothing.
    let again = run(&["import", "messages", s(&m), "--store", &plain, "--db", s(&accounts), "--format", "csv"]);
    let said = String::from_utf8_lossy(&again.stderr).to_string();
    assert!(said.contains('8') && !said.contains("error"), "{said}");
    let same = |args: &[&str]| {
        let a = run(&[args, &["--store", &format!("sqlite:{}", s(&db))]].concat());
        let b = run(&[args, &["--store", &plain, "--db", s(&accounts)]].concat());
        assert_eq!(a.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&a.stderr));
        assert_eq!(b.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&b.stderr));
        assert!(!a.stdout.is_empty(), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&a.stdout), String::from_utf8_lossy(&b.stdout), "{args:?}");
        String::from_utf8_lossy(&b.stdout).to_string()
    };
    let text = same(&["report", "--format", "json"]);
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    let t = &r["total"]["metrics"];
    // k1 (asked 06:00Z, answered 06:20Z) and k3 (10:00 → 10:45) answered, k5 too (30 min);
    // k2 examined (left out of the rate), k4 never answered: 3 answered of 4 rated.
    assert_eq!(
        (t["response_rate"]["numerator"].as_u64(), t["response_rate"]["denominator"].as_u64()),
        (Some(3), Some(4))
    );
    assert_eq!(t["response_time"]["median"].as_f64(), Some(1800.0));
    same(&["report", "--format", "json", "--by", "channel"]);
    same(&["report", "--format", "json", "--by", "day"]);
    // The configuration may name the store instead of --store.
    let conf = write(d, "b.toml", &format!("[store]\nurl = \"{plain}\"\n"));
    let via = run(&["report", "--format", "json", "--config", s(&conf), "--db", s(&accounts)]);
    assert_eq!(String::from_utf8_lossy(&via.stdout), text, "{}", String::from_utf8_lossy(&via.stderr));
    same(&["explain", "response_rate", "--format", "json"]);
    same(&["explain", "csat", "--format", "json"]);
    // The request figures ClickHouse aggregates itself equal the ones computed here.
    same(&["summary", "--format", "json", "--by", "channel"]);
    same(&["summary", "--format", "json", "--by", "day", "--from", "2026-04-07"]);
    same(&["summary", "--lang", "en"]);
    same(&["export", "conversations"]);
    same(&["export", "messages"]);
    // An analyst's label counts the same way on both.
    for store in [format!("sqlite:{}", s(&db)), plain.clone()] {
        let o = run(&["label", "m7", "complaint", "--store", &store, "--db", s(&accounts)]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    }
    same(&["report", "--format", "json"]);
    // A server over the cluster gives the CLI's figures.
    let token = run(&["admin", "token", "create", "--role", "viewer", "--store", &plain, "--db", s(&accounts)]);
    let token = String::from_utf8_lossy(&token.stdout).trim().to_string();
    let port = super::scale::free_port();
    let child = bin()
        .args(["serve", "--store", &plain, "--db", s(&accounts), "--addr", &format!("127.0.0.1:{port}")])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = super::scale::Server(child, port);
    assert!((0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    }));
    let q = "/api/v1/report?metrics=response_rate,response_time,csat";
    let (status, _, body) =
        super::scale::http(server.1, "GET", q, &[("authorization", &format!("Bearer {token}"))], "");
    assert_eq!(status, 200, "{body}");
    let api: serde_json::Value = serde_json::from_str(&body).unwrap();
    let cli = same(&["report", "--format", "json", "--metrics", "response_rate,response_time,csat"]);
    assert_eq!(api, serde_json::from_str::<serde_json::Value>(&cli).unwrap());
    drop(server);
    let listed = run(&["label", "--list", "--store", &plain, "--db", s(&accounts)]);
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(listed.lines().nth(1).is_some_and(|l| l.starts_with("m7,complaint,")), "{listed}");
}

/// Two machines import into one ClickHouse workspace at the same time, each with its own
/// accounts' file, sharing the PostgreSQL control plane: one waits for the other (the
/// workspace's lock), both are taken, and the report is that of both files in one store.
#[test]
fn imports_started_together_on_two_machines_sharing_a_control_plane_are_both_taken() {
    let Some(base) = cluster() else { return };
    let Ok(control) = std::env::var("BAROMETRE_TEST_POSTGRES") else {
        assert!(std::env::var_os("CI").is_none(), "CI runs the PostgreSQL checks: set BAROMETRE_TEST_POSTGRES");
        return;
    };
    let url = with_db(&base, "cli_together");
    assert_eq!(run(&["migrate", "--store", &url]).status.code(), Some(0));
    let plain = url.split('?').next().unwrap().to_string();
    let d = tempfile::tempdir().unwrap();
    // Questions and their answers, in the same conversations, one file each.
    let file = |name: &str, p: &str| {
        let mut out = String::from("message_id,created_at,direction,account,channel,author_id,conversation_id\n");
        for k in 0..300 {
            let (dir, who, min) =
                if p == "q" { ("in", format!("u{k}"), 2 * k) } else { ("out", "agent".into(), 2 * k + 1) };
            out +=
                &format!("{p}{k},2026-04-06T{:02}:{:02}:00Z,{dir},acme,chat,{who},c{}\n", min / 60, min % 60, k % 70);
        }
        write(d.path(), name, &out)
    };
    let (q, a) = (file("q.csv", "q"), file("a.csv", "a"));
    let import = |f: &std::path::Path, accounts: &str| {
        bin()
            .args(["import", "messages", s(f), "--store", &plain, "--control", &control])
            .args(["--db", s(&d.path().join(accounts)), "--workspace", "together"])
            .output()
            .unwrap()
    };
    let both = std::thread::scope(|sc| {
        let one = sc.spawn(|| import(&q, "one.db"));
        let two = sc.spawn(|| import(&a, "two.db"));
        [one.join().unwrap(), two.join().unwrap()]
    });
    for o in &both {
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let sqlite = format!("sqlite:{}", s(&d.path().join("b.db")));
    for f in [&q, &a] {
        assert_eq!(
            run(&["import", "messages", s(f), "--store", &sqlite, "--workspace", "together"]).status.code(),
            Some(0)
        );
    }
    let report = |store: &str| {
        let o = run(&[
            "report",
            "--format",
            "json",
            "--store",
            store,
            "--db",
            s(&d.path().join("one.db")),
            "--workspace",
            "together",
        ]);
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let r: serde_json::Value = serde_json::from_str(&report(&plain)).unwrap();
    // Every question answered a minute later: 300 of 300, 60 s each.
    let t = &r["total"]["metrics"];
    assert_eq!(
        (t["response_rate"]["numerator"].as_u64(), t["response_rate"]["denominator"].as_u64()),
        (Some(300), Some(300))
    );
    assert_eq!(t["response_time"]["median"].as_f64(), Some(60.0));
    assert_eq!(report(&plain), report(&sqlite));
    drop_db(&url);
}

#[test]
fn the_summary_gives_the_reports_request_figures_by_group() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("b.db");
    let (m, e) = (write(d.path(), "m.csv", MESSAGES), write(d.path(), "e.csv", EVENTS));
    for (kind, f) in [("messages", &m), ("conversation-events", &e)] {
        assert_eq!(run(&["import", kind, s(f), "--db", s(&db), "--lenient"]).status.code(), Some(0));
    }
    let o = run(&["summary", "--format", "json", "--by", "channel", "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let by: Vec<(String, u64, u64, u64, Option<f64>)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let r = &g["response_rate"];
            let t = &g["response_time"];
            (
                g["group"].as_str().unwrap().to_string(),
                g["requests"].as_u64().unwrap(),
                r["numerator"].as_u64().unwrap(),
                r["denominator"].as_u64().unwrap(),
                t["median"].as_f64(),
            )
        })
        .collect();
    // email: k2 examined (out of the rate), k3 answered in 45 min; facebook: k5 in 30 min, k4
    // ("c'est réglé" says more than thanks) never answered; twitter: k1 in 20 min.
    assert_eq!(
        by,
        [
            ("email".to_string(), 2, 1, 1, Some(2700.0)),
            ("facebook".to_string(), 2, 1, 2, Some(1800.0)),
            ("twitter".to_string(), 1, 1, 1, Some(1200.0)),
        ]
    );
    // The report says the same.
    let r = run(&["report", "--format", "json", "--by", "channel", "--db", s(&db)]);
    let r: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    for (g, x) in r["groups"].as_array().unwrap().iter().zip(v.as_array().unwrap()) {
        assert_eq!(g["key"], x["group"]);
        assert_eq!(g["metrics"]["response_rate"], x["response_rate"]);
        assert_eq!(g["metrics"]["response_time"], x["response_time"]);
    }
    let t = run(&["summary", "--db", s(&db), "--lang", "fr"]);
    let t = String::from_utf8_lossy(&t.stdout);
    // 3 answered of 4 rated; answers in 20, 30 and 45 min: mean 31 min 40 s.
    assert!(t.contains("Taux de réponse") && t.contains("75,0\u{a0}%") && t.contains("31 min 40 s"), "{t}");
}

#[test]
fn unknown_or_unreachable_stores_are_refused_with_what_to_give() {
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "m.csv", MESSAGES);
    let o = run(&["import", "messages", s(&f), "--store", "postgres://u:secret@127.0.0.1:1/x"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    // Named without its password.
    assert!(err.contains("cannot open the store postgres://u@127.0.0.1:1/x") && !err.contains("secret"), "{err}");
    let o = run(&["report", "--store", "mysql://h/x"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown store"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["report", "--store", "clickhouse://127.0.0.1:1/db"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cannot reach ClickHouse"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A cluster of the test's own (`scripts/clickhouse.sh` on other ports), stopped when dropped.
struct OwnCluster(std::path::PathBuf);

impl Drop for OwnCluster {
    fn drop(&mut self) {
        for n in ["shard1", "shard2"] {
            if let Ok(pid) = std::fs::read_to_string(self.0.join(n).join("server.pid")) {
                let _ = std::process::Command::new("kill").arg(pid.trim()).status();
            }
        }
    }
}

#[test]
fn a_stopped_shard_fails_the_report_with_a_clear_error() {
    if cluster().is_none() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("ch");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/clickhouse.sh");
    let port = 18_400 + (std::process::id() % 50) as u16 * 2;
    let up = std::process::Command::new("bash")
        .arg(&script)
        .env("BAROMETRE_CH_DIR", &dir)
        .env("BAROMETRE_CH_PORT", port.to_string())
        .output()
        .unwrap();
    let _own = OwnCluster(dir.clone());
    assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
    let url = format!("clickhouse://127.0.0.1:{}/shardtest?cluster=barometre&nodes=127.0.0.1:{}", port + 1, port + 2);
    let accounts = d.path().join("accounts.db");
    let f = write(d.path(), "m.csv", MESSAGES);
    let o = run(&["import", "messages", s(&f), "--store", &url, "--db", s(&accounts), "--lenient"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["report", "--format", "json", "--store", &url, "--db", s(&accounts)]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let pid = std::fs::read_to_string(dir.join("shard2/server.pid")).unwrap();
    assert!(std::process::Command::new("kill").arg(pid.trim()).status().unwrap().success());
    // The server goes down within a few seconds.
    let down = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::net::TcpStream::connect(("127.0.0.1", port + 2)).is_err()
    });
    assert!(down, "shard 2 still answers");
    let o = run(&["report", "--format", "json", "--store", &url, "--db", s(&accounts)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(o.stdout.is_empty(), "no figure from part of the data: {}", String::from_utf8_lossy(&o.stdout));
    assert!(err.contains("a shard of the ClickHouse cluster did not answer"), "{err}");
}
