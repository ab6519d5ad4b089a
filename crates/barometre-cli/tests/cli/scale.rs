//! Beyond one machine (issue 13): two `barometre serve` instances on their own ports sharing one
//! PostgreSQL control plane — a session opened on one is valid on the other, a token revoked is
//! refused by both — and `barometre migrate` on each engine.

use super::{bin, run, s, write, ROWS};
use std::io::{Read, Write};

/// The test server (`scripts/postgres.sh`), and a schema of this test's own on it.
fn control_plane(name: &str) -> Option<String> {
    let url = match std::env::var("BAROMETRE_TEST_POSTGRES") {
        Ok(u) => u,
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("CI runs the PostgreSQL checks: set BAROMETRE_TEST_POSTGRES")
        }
        Err(_) => {
            eprintln!("skipped: no BAROMETRE_TEST_POSTGRES (scripts/postgres.sh starts a server)");
            return None;
        }
    };
    let schema = format!("{name}_{}", std::process::id());
    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("the test server answers");
    c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")).unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{sep}options=-c%20search_path%3D{schema}"))
}

/// One HTTP/1.1 exchange on a real port: status, headers, body.
pub(super) fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, String) {
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    c.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head.split(' ').nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `serve` instance, stopped when dropped.
pub(super) struct Server(pub(super) std::process::Child, pub(super) u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `serve` on a free port, for the workspace `brand`, with `args` naming its stores.
fn serve(args: &[&str]) -> Server {
    let port = free_port();
    let child = bin()
        .args(["serve", "--workspace", "brand", "--addr", &format!("127.0.0.1:{port}")])
        .args(args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Server(child, port);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut child = child;
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not start on {port}");
}

#[test]
fn two_instances_share_sessions_and_tokens_through_a_postgresql_control_plane() {
    let Some(control) = control_plane("two_instances") else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let db = s(&db);
    let f = write(dir.path(), "m.csv", ROWS);
    assert_eq!(run(&["import", "messages", s(&f), "--db", db, "--workspace", "brand"]).status.code(), Some(0));
    let stores = ["--db", db, "--control", &control];
    shared_by_two_instances(&stores, serve(&stores), serve(&stores));
}

/// With `--store postgres://…` alone, PostgreSQL keeps rows and facts too: two instances (each
/// with an accounts' file of its own, which neither reads) serve the figures imported there,
/// and share sessions and tokens.
#[test]
fn two_instances_over_a_postgresql_store_share_its_figures_sessions_and_tokens() {
    let Some(url) = control_plane("pgstore") else { return };
    let dir = tempfile::tempdir().unwrap();
    // A workspace created before any import takes its users at once.
    let admin_db = s(&dir.path().join("admin.db")).to_string();
    for args in [&["workspace", "create", "fresh"][..], &["user", "create", "lea", "--role", "viewer"]] {
        let o = bin()
            .arg("admin")
            .args(args)
            .args(["--store", &url, "--db", &admin_db, "--workspace", "fresh"])
            .env("BAROMETRE_PASSWORD", "a long password")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let f = write(dir.path(), "m.csv", ROWS);
    let o = run(&["import", "messages", s(&f), "--store", &url, "--workspace", "brand"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let own = |name: &str| s(&dir.path().join(name)).to_string();
    let (a, b) = (own("a.db"), own("b.db"));
    shared_by_two_instances(
        &["--store", &url, "--db", &admin_db],
        serve(&["--store", &url, "--db", &a]),
        serve(&["--store", &url, "--db", &b]),
    );
    for f in [a, b] {
        assert!(!std::path::Path::new(&f).exists(), "{f} was not needed");
    }
}

/// Instances `a` and `b` of one workspace `brand` (imported already): a token made by `admin`
/// with `stores` reads the figures on both, a session opened on one is valid on the other, the
/// token revoked is refused by both.
fn shared_by_two_instances(stores: &[&str], a: Server, b: Server) {
    let admin = |args: &[&str]| {
        let o = bin()
            .args(["admin"])
            .args(args)
            .args(stores)
            .args(["--workspace", "brand"])
            .env("BAROMETRE_PASSWORD", "a long password")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    admin(&["workspace", "create", "brand"]);
    admin(&["user", "create", "julie", "--role", "viewer"]);
    let token = admin(&["token", "create", "--role", "viewer"]);
    let bearer = format!("Bearer {token}");
    for port in [a.1, b.1] {
        let (status, _, body) =
            http(port, "GET", "/api/v1/report?metrics=messages_received", &[("authorization", &bearer)], "");
        assert_eq!(status, 200, "{body}");
        // a1, b1 and c1 are the rows' incoming messages.
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["total"]["metrics"]["messages_received"]["value"].as_f64(), Some(3.0), "{body}");
    }
    // A session opened on one instance is valid on the other.
    let form = "user=julie&password=a+long+password&lang=en";
    let (status, head, _) = http(a.1, "POST", "/login", &[("content-type", "application/x-www-form-urlencoded")], form);
    assert!(status == 303 || status == 302, "{head}");
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let (status, _, page) = http(b.1, "GET", "/?lang=en", &[("cookie", &cookie)], "");
    assert_eq!(status, 200, "{page}");
    // The token revoked (in the control plane) is refused by both instances at once.
    admin(&["token", "revoke", &token]);
    for port in [a.1, b.1] {
        let (status, _, _) = http(port, "GET", "/api/v1/report", &[("authorization", &bearer)], "");
        assert_eq!(status, 401);
    }
}

#[test]
fn migrate_creates_or_upgrades_each_engine_and_says_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let o = run(&["migrate", "--store", &format!("sqlite:{}", s(&db))]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("SQLite: schema version 15"), "{:?}", o);
    // Again: nothing to do, the same version.
    let again = run(&["migrate", "--db", s(&db)]);
    assert_eq!(String::from_utf8_lossy(&again.stdout), String::from_utf8_lossy(&o.stdout));
    let o = run(&["migrate", "--store", "mysql://x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown store"));
    let Some(control) = control_plane("migrate") else { return };
    let o = run(&["migrate", "--store", &control]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "PostgreSQL: schema version 4");
}

/// The same files give the same bytes from every command on SQLite and on PostgreSQL.
#[test]
fn the_same_files_give_byte_identical_reports_on_sqlite_and_postgresql() {
    let Some(url) = control_plane("pgsame") else { return };
    let d = tempfile::tempdir().unwrap();
    super::clickhouse::same_as_sqlite(&url, d.path());
}
