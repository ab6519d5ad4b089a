//! The control plane on PostgreSQL (issue 13): workspaces, API tokens, dashboard users and their
//! sessions in one server that several `barometre serve` instances share — a session opened
//! through one instance is valid on every other, a token revoked on one is refused by all. The
//! facts stay in their own engine ([`crate::DataStore`]); this is [`ControlPlane`] only, with the
//! meaning the SQLite back end gives it (the same conformance checks run on both).
//!
//! Migrations are versioned in `schema_migrations` and applied under an advisory lock, so that
//! instances starting together apply each migration once. A landed migration is never edited.

use crate::auth::{self, Role};
use crate::{ControlPlane, StoreError};
use barometre_core::time::Millis;
use postgres::{Client, NoTls};

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        // The server's own words (its `DbError`) say more than the client's summary.
        let message = match e.as_db_error() {
            Some(d) => format!("{}: {}", d.code().code(), d.message()),
            None => e.to_string(),
        };
        StoreError::Backend { engine: "PostgreSQL", message }
    }
}

/// The migrations of the PostgreSQL control plane, by version.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_control_plane.sql")),
    (2, include_str!("../migrations/postgres/0002_workspace_keys.sql")),
    (3, include_str!("../migrations/postgres/0003_rows_and_facts.sql")),
    (4, include_str!("../migrations/postgres/0004_names_kept.sql")),
];

/// The advisory lock migrations run under (any number only this program uses).
const MIGRATION_LOCK: i64 = 0x6261_726f_6d65_7472;

/// [`ControlPlane`] on a PostgreSQL server, over a small pool of connections: a request takes
/// one for its query and gives it back, so that an instance's requests do not queue behind one
/// connection (the trait reads through `&self`; a query needs its connection mutably).
pub struct PgControlPlane {
    pool: std::sync::Mutex<Pool>,
    /// Signalled when a connection is given back or a place in the pool frees.
    freed: std::sync::Condvar,
    /// Connections at most: [`POOL_SIZE`], or 1 for a connection handed over.
    max: usize,
    /// Where to connect (again, when a connection is lost: a server restarted, a failover):
    /// `None` for a connection handed over ([`PgControlPlane::with_client`]).
    url: Option<String>,
}

/// Connections an instance opens at most. Two instances behind a load balancer take 16 of
/// PostgreSQL's default 100.
pub const POOL_SIZE: usize = 8;

struct Pool {
    /// Connections given back, with when.
    idle: Vec<(Client, std::time::Instant)>,
    /// Connections made and not dropped: idle or lent.
    open: usize,
}

/// A connection lent by the pool, given back when dropped (dropped instead when closed).
pub(crate) struct Lent<'a> {
    from: &'a PgControlPlane,
    client: Option<Client>,
}

impl std::ops::Deref for Lent<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("lent until dropped")
    }
}

impl std::ops::DerefMut for Lent<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("lent until dropped")
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let Some(c) = self.client.take() else { return };
        // A thread that panicked holding the lock left nothing half-written in the pool.
        let mut p = self.from.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if c.is_closed() && self.from.url.is_some() {
            p.open -= 1;
        } else {
            // A transaction a request left open (a panic) was rolled back when it was dropped,
            // before its connection.
            p.idle.push((c, std::time::Instant::now()));
        }
        self.from.freed.notify_one();
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl PgControlPlane {
    /// Connects (`postgres://user[:password]@host[:port]/database`, or libpq's `key=value` form)
    /// and brings the schema to this binary's version.
    pub fn connect(url: &str) -> Result<PgControlPlane, StoreError> {
        let client = dial(url)?;
        Ok(PgControlPlane { url: Some(url.to_string()), max: POOL_SIZE, ..PgControlPlane::with_client(client)? })
    }

    /// Over a connection already made (its `search_path` chooses the schema): that one only.
    pub fn with_client(mut client: Client) -> Result<PgControlPlane, StoreError> {
        migrate(&mut client)?;
        Ok(PgControlPlane {
            pool: std::sync::Mutex::new(Pool { idle: vec![(client, std::time::Instant::now())], open: 1 }),
            freed: std::sync::Condvar::new(),
            max: 1,
            url: None,
        })
    }

    /// The schema's version: the last migration applied.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.c()?.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?.get(0))
    }

    /// A connection from the pool: an idle one, else a new one while the pool has room, else the
    /// first given back. An idle connection is only seen closed once used: one idle for more
    /// than [`IDLE_CHECK`] is asked first whether it still answers, so that a restarted
    /// PostgreSQL costs the requests made while it was down, not one more per pooled connection.
    /// One that does not answer is dropped and made again.
    pub(crate) fn c(&self) -> Result<Lent<'_>, StoreError> {
        loop {
            let mut p = self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let taken = loop {
                if let Some(idle) = p.idle.pop() {
                    break Some(idle);
                }
                if self.url.is_some() && p.open < self.max {
                    p.open += 1;
                    break None;
                }
                p = self.freed.wait(p).unwrap_or_else(std::sync::PoisonError::into_inner);
            };
            // Asking and connecting take a while: the lock is not held meanwhile.
            drop(p);
            match (taken, self.url.as_deref()) {
                (Some((mut c, since)), Some(_)) => {
                    if c.is_closed() || (since.elapsed() > IDLE_CHECK && c.is_valid(IDLE_CHECK).is_err()) {
                        self.forget();
                        continue;
                    }
                    return Ok(Lent { from: self, client: Some(c) });
                }
                // The connection handed over is the only one: lent as it is.
                (Some((c, _)), None) => return Ok(Lent { from: self, client: Some(c) }),
                (None, url) => {
                    return match dial(url.expect("a place is taken only with a URL")) {
                        Ok(c) => Ok(Lent { from: self, client: Some(c) }),
                        Err(e) => {
                            self.forget();
                            Err(e)
                        }
                    }
                }
            }
        }
    }

    /// A connection dropped: its place in the pool frees.
    fn forget(&self) {
        self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner).open -= 1;
        self.freed.notify_one();
    }
}

/// How long a connection may stay idle before it is asked whether it still answers, and how
/// long it has to answer.
const IDLE_CHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// A connection that gives up instead of hanging: 5 s to connect, keepalives on an idle
/// connection (a half-open one is found out), 5 s for a statement — a request waiting on the
/// control plane holds its connection, and, once all are lent, every other request with it.
/// How long a statement of the control plane may take (a lock awaited is no statement).
const STATEMENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn dial(url: &str) -> Result<Client, StoreError> {
    let mut cfg: postgres::Config = url.parse()?;
    cfg.connect_timeout(std::time::Duration::from_secs(5))
        .keepalives(true)
        .keepalives_idle(std::time::Duration::from_secs(30));
    let mut c = cfg.connect(NoTls)?;
    c.batch_execute(&format!("SET statement_timeout = {}", STATEMENT_TIMEOUT.as_millis()))?;
    Ok(c)
}

/// Applies the migrations not yet applied, each in its own transaction, under an advisory lock
/// taken first (two instances starting together on an empty database create nothing twice).
fn migrate(c: &mut Client) -> Result<(), StoreError> {
    c.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let applied = (|| -> Result<(), StoreError> {
        c.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)",
        )?;
        let done: i64 = c.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?.get(0);
        if let Some((v, _)) = MIGRATIONS.last().filter(|(v, _)| done > *v) {
            return Err(StoreError::Corrupt(format!(
                "the control plane's schema is at version {done}, newer than this binary's {v}: upgrade barometre"
            )));
        }
        for (v, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > done) {
            let mut tx = c.transaction()?;
            tx.batch_execute(sql)?;
            tx.execute("INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)", &[v, &now_ms()])?;
            tx.commit()?;
        }
        Ok(())
    })();
    // The migration's own error first; the lock goes with the connection if unlocking fails.
    let unlocked = c.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    applied?;
    unlocked?;
    Ok(())
}

/// The control plane's operations through a shared reference: one server for every instance
/// and request, a connection of the pool for each operation.
impl PgControlPlane {
    pub fn create_token(&self, workspace: &str, role: Role, expires_ms: Option<Millis>) -> Result<String, StoreError> {
        let token = auth::new_token()?;
        self.c()?.execute(
            "INSERT INTO tokens (hash, workspace, role, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5)",
            &[&auth::hash_token(&token), &workspace, &role.as_str(), &now_ms(), &expires_ms],
        )?;
        Ok(token)
    }

    pub fn token(&self, token: &str) -> Result<Option<(String, Role)>, StoreError> {
        let row = self.c()?.query_opt(
            "SELECT workspace, role FROM tokens WHERE hash = $1 AND (expires_ms IS NULL OR expires_ms > $2)",
            &[&auth::hash_token(token), &now_ms()],
        )?;
        Ok(row.and_then(|r| Role::parse(r.get(1)).map(|role| (r.get(0), role))))
    }

    pub fn tokens(&self) -> Result<Vec<auth::TokenInfo>, StoreError> {
        let rows = self
            .c()?
            .query("SELECT hash, workspace, role, created_ms, expires_ms FROM tokens ORDER BY created_ms, hash", &[])?;
        Ok(rows
            .iter()
            .map(|r| auth::TokenInfo {
                id: auth::token_id(r.get(0)),
                workspace: r.get(1),
                role: Role::parse(r.get(2)).unwrap_or(Role::Viewer),
                created_ms: r.get(3),
                expires_ms: r.get(4),
            })
            .collect())
    }

    pub fn revoke_token(&self, token_or_id: &str) -> Result<u64, StoreError> {
        let t = token_or_id.trim();
        Ok(if t.starts_with(auth::TOKEN_PREFIX) {
            self.c()?.execute("DELETE FROM tokens WHERE hash = $1", &[&auth::hash_token(t)])?
        } else if t.len() == auth::TOKEN_ID_LEN && t.bytes().all(|c| c.is_ascii_hexdigit()) {
            self.c()?.execute("DELETE FROM tokens WHERE left(hash, $1) = $2", &[&(t.len() as i32), &t])?
        } else {
            0
        })
    }

    pub fn set_password(&self, name: &str, password_hash: &str) -> Result<bool, StoreError> {
        let mut c = self.c()?;
        let mut tx = c.transaction()?;
        let n = tx.execute("UPDATE users SET password = $1 WHERE name = $2", &[&password_hash, &name])?;
        // Whoever was logged in as this user with the old password is logged out.
        tx.execute("DELETE FROM sessions WHERE user_name = $1", &[&name])?;
        tx.commit()?;
        Ok(n == 1)
    }

    pub fn create_user(&self, name: &str, workspace: &str, role: Role, password_hash: &str) -> Result<(), StoreError> {
        let mut c = self.c()?;
        let mut tx = c.transaction()?;
        tx.execute(
            "INSERT INTO users (name, workspace, role, password, created_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET workspace = excluded.workspace, role = excluded.role, password = excluded.password",
            &[&name, &workspace, &role.as_str(), &password_hash, &now_ms()],
        )?;
        // Re-creating a user replaces the password: whoever was logged in with the old one is out.
        tx.execute("DELETE FROM sessions WHERE user_name = $1", &[&name])?;
        tx.commit()?;
        Ok(())
    }

    pub fn user(&self, name: &str) -> Result<Option<(String, Role, String)>, StoreError> {
        let row = self.c()?.query_opt("SELECT workspace, role, password FROM users WHERE name = $1", &[&name])?;
        Ok(row.and_then(|r| Role::parse(r.get(1)).map(|role| (r.get(0), role, r.get(2)))))
    }

    pub fn login(&self, name: &str, password: &str) -> Result<Option<(String, Role)>, StoreError> {
        let Some((w, role, hash)) = self.user(name)? else {
            // An unknown name costs the same hash as a known one: answers' timing does not tell
            // which names exist.
            auth::verify_password(password, auth::UNKNOWN_USER_HASH);
            return Ok(None);
        };
        Ok(auth::verify_password(password, &hash).then_some((w, role)))
    }

    pub fn create_session(&self, user: &str, ttl_ms: Millis) -> Result<(String, String), StoreError> {
        let id = auth::new_token()?;
        let csrf = auth::new_token()?;
        self.c()?.execute("DELETE FROM sessions WHERE expires_ms < $1", &[&now_ms()])?;
        self.c()?.execute(
            "INSERT INTO sessions (hash, user_name, csrf, expires_ms) VALUES ($1, $2, $3, $4)",
            &[&auth::hash_token(&id), &user, &csrf, &(now_ms() + ttl_ms)],
        )?;
        Ok((id, csrf))
    }

    pub fn session(&self, id: &str) -> Result<Option<auth::Session>, StoreError> {
        let row = self.c()?.query_opt(
            "SELECT s.user_name, u.workspace, u.role, s.csrf FROM sessions s JOIN users u ON u.name = s.user_name \
             WHERE s.hash = $1 AND s.expires_ms > $2",
            &[&auth::hash_token(id), &now_ms()],
        )?;
        Ok(row.and_then(|r| {
            Role::parse(r.get(2)).map(|role| auth::Session {
                user: r.get(0),
                workspace: r.get(1),
                role,
                csrf: r.get(3),
            })
        }))
    }

    pub fn end_session(&self, id: &str) -> Result<(), StoreError> {
        self.c()?.execute("DELETE FROM sessions WHERE hash = $1", &[&auth::hash_token(id)])?;
        Ok(())
    }

    /// Every workspace created in the control plane.
    pub fn workspaces(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.c()?.query("SELECT name FROM workspaces ORDER BY name", &[])?.iter().map(|r| r.get(0)).collect())
    }

    /// A workspace's lock: a session-level advisory lock on a connection of its own, outside
    /// the pool (a long import does not take one of the requests'), released when dropped — or
    /// by the server when the connection goes (a process that dies holds nothing). A control
    /// plane over one handed-over connection locks on that connection, and unlocks before it
    /// goes back.
    pub fn lock_workspace(&self, ws: &str) -> Result<crate::WorkspaceLock<'_>, StoreError> {
        let key = crate::lock::key(ws);
        // Waiting is the point: no statement timeout while the lock is awaited (another
        // import of the workspace may take minutes).
        match &self.url {
            Some(url) => {
                let mut c = dial(url)?;
                c.batch_execute("SET statement_timeout = 0")?;
                c.execute("SELECT pg_advisory_lock($1)", &[&key])?;
                Ok(crate::WorkspaceLock::holding(c))
            }
            None => {
                let mut c = self.c()?;
                let timeout: String = c.query_one("SHOW statement_timeout", &[])?.get(0);
                c.batch_execute("SET statement_timeout = 0")?;
                c.execute("SELECT pg_advisory_lock($1)", &[&key])?;
                Ok(crate::WorkspaceLock::holding(Unlocking { c, key, timeout }))
            }
        }
    }

    /// [`Self::lock_workspace`] when no one holds it, else `None` at once (a connection of its
    /// own, as there; none for a control plane over one handed-over connection).
    pub fn try_lock_workspace(&self, ws: &str) -> Result<Option<crate::WorkspaceLock<'_>>, StoreError> {
        let Some(url) = &self.url else { return Ok(None) };
        let mut c = dial(url)?;
        let got: bool = c.query_one("SELECT pg_try_advisory_lock($1)", &[&crate::lock::key(ws)])?.get(0);
        Ok(got.then(|| crate::WorkspaceLock::holding(c)))
    }

    pub fn create_workspace(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.c()?.execute(
            "INSERT INTO workspaces (name, created_ms) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&name, &now_ms()],
        )? == 1)
    }
}

/// The advisory lock goes with its connection: a connection that still answers still holds it.
fn still_held(c: &mut Client) -> Result<(), StoreError> {
    c.simple_query("SELECT 1").map(drop).map_err(|e| StoreError::Backend {
        engine: "PostgreSQL",
        message: format!(
            "the workspace's lock was lost with its connection ({e}): another change may have run meanwhile, and \
             nothing of this one was taken; run it again"
        ),
    })
}

impl crate::lock::Held for Client {
    fn check(&mut self) -> Result<(), StoreError> {
        still_held(self)
    }
}

impl crate::lock::Held for Unlocking<'_> {
    fn check(&mut self) -> Result<(), StoreError> {
        still_held(&mut self.c)
    }
}

/// A workspace's lock on a pooled connection, released before the connection goes back.
struct Unlocking<'a> {
    c: Lent<'a>,
    key: i64,
    /// The connection's statement timeout before the lock, set back after.
    timeout: String,
}

impl Drop for Unlocking<'_> {
    fn drop(&mut self) {
        // A connection that cannot unlock is a connection lost: the server released the lock.
        let _ = self.c.execute("SELECT pg_advisory_unlock($1)", &[&self.key]);
        let _ = self.c.execute("SELECT set_config('statement_timeout', $1, false)", &[&self.timeout]);
    }
}

/// The trait over the shared-reference operations above (a [`crate::Split`] store reaches them
/// through its `Arc` instead).
impl ControlPlane for PgControlPlane {
    fn known_workspaces(&self) -> Result<Vec<String>, StoreError> {
        PgControlPlane::workspaces(self)
    }
    fn create_token(&mut self, workspace: &str, role: Role, expires_ms: Option<Millis>) -> Result<String, StoreError> {
        PgControlPlane::create_token(self, workspace, role, expires_ms)
    }
    fn token(&self, token: &str) -> Result<Option<(String, Role)>, StoreError> {
        PgControlPlane::token(self, token)
    }
    fn tokens(&self) -> Result<Vec<auth::TokenInfo>, StoreError> {
        PgControlPlane::tokens(self)
    }
    fn revoke_token(&mut self, token_or_id: &str) -> Result<u64, StoreError> {
        PgControlPlane::revoke_token(self, token_or_id)
    }
    fn set_password(&mut self, name: &str, password_hash: &str) -> Result<bool, StoreError> {
        PgControlPlane::set_password(self, name, password_hash)
    }
    fn create_user(&mut self, name: &str, workspace: &str, role: Role, password_hash: &str) -> Result<(), StoreError> {
        PgControlPlane::create_user(self, name, workspace, role, password_hash)
    }
    fn user(&self, name: &str) -> Result<Option<(String, Role, String)>, StoreError> {
        PgControlPlane::user(self, name)
    }
    fn login(&self, name: &str, password: &str) -> Result<Option<(String, Role)>, StoreError> {
        PgControlPlane::login(self, name, password)
    }
    fn create_session(&mut self, user: &str, ttl_ms: Millis) -> Result<(String, String), StoreError> {
        PgControlPlane::create_session(self, user, ttl_ms)
    }
    fn session(&self, id: &str) -> Result<Option<auth::Session>, StoreError> {
        PgControlPlane::session(self, id)
    }
    fn end_session(&mut self, id: &str) -> Result<(), StoreError> {
        PgControlPlane::end_session(self, id)
    }
    fn create_workspace(&mut self, name: &str) -> Result<bool, StoreError> {
        PgControlPlane::create_workspace(self, name)
    }
    fn lock_workspace(&self, ws: &str) -> Result<crate::WorkspaceLock<'_>, StoreError> {
        PgControlPlane::lock_workspace(self, ws)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A control plane in a schema of its own on the test server (`BAROMETRE_TEST_POSTGRES`,
    /// started by `scripts/postgres.sh`): every check starts empty.
    fn fresh(url: &str) -> PgControlPlane {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let schema = format!("t{}_{}", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let mut c = Client::connect(url, NoTls).expect("the test server answers");
        c.batch_execute(&format!("CREATE SCHEMA {schema}; SET search_path TO {schema}")).unwrap();
        PgControlPlane::with_client(c).unwrap()
    }

    /// A control plane in a schema of its own, connected by URL (a pool), with a workspace `w`.
    fn pooled(url: &str) -> PgControlPlane {
        let schema = fresh(url).c().unwrap().query_one("SELECT current_schema()", &[]).unwrap().get::<_, String>(0);
        let p = PgControlPlane::connect(&format!("{url}?options=-c%20search_path%3D{schema}")).unwrap();
        p.create_workspace("w").unwrap();
        p
    }

    /// The server process behind the connection the pool lends next.
    fn backend(p: &PgControlPlane) -> i32 {
        p.c().unwrap().query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0)
    }

    /// The server's URL; CI always gives one (`.ci/run`), so the checks never pass unseen there.
    pub(crate) fn server() -> Option<String> {
        match std::env::var("BAROMETRE_TEST_POSTGRES") {
            Ok(u) => Some(u),
            Err(_) if std::env::var_os("CI").is_some() => {
                panic!("CI runs the PostgreSQL checks: set BAROMETRE_TEST_POSTGRES")
            }
            Err(_) => {
                eprintln!("skipped: no BAROMETRE_TEST_POSTGRES (scripts/postgres.sh starts a server)");
                None
            }
        }
    }

    #[test]
    fn postgresql_passes_the_control_plane_suite() {
        let Some(url) = server() else { return };
        crate::conformance::run_control_plane(|| fresh(&url));
    }

    #[test]
    fn a_workspace_lock_keeps_a_second_instance_waiting() {
        let Some(url) = server() else { return };
        // Advisory locks span the server's database, not a schema: a name of this run only.
        let ws = format!("lock-{}", std::process::id());
        // Two pools on one control plane (locks on connections of their own)…
        let a = pooled(&url);
        let schema: String = a.c().unwrap().query_one("SELECT current_schema()", &[]).unwrap().get(0);
        let b = PgControlPlane::connect(&format!("{url}?options=-c%20search_path%3D{schema}")).unwrap();
        // Held past the 5 s a statement may take: the second still waits.
        let hold = STATEMENT_TIMEOUT + std::time::Duration::from_secs(1);
        crate::conformance::a_workspace_lock_keeps_a_second_holder_waiting(a, b, &ws, hold);
        // …and two over handed-over connections (locks on them, unlocked before they go back).
        let a = fresh(&url);
        let mut c = Client::connect(&url, NoTls).unwrap();
        c.batch_execute(&format!("SET search_path TO {schema}")).unwrap();
        let b = PgControlPlane::with_client(c).unwrap();
        crate::conformance::a_workspace_lock_keeps_a_second_holder_waiting(a, b, &format!("{ws}-handed"), hold);
    }

    #[test]
    fn migrations_apply_once_and_a_newer_schema_is_refused() {
        let Some(url) = server() else { return };
        let p = fresh(&url);
        assert_eq!(p.schema_version().unwrap(), MIGRATIONS.len() as i64);
        // Applying again (a second instance starting) changes nothing.
        let schema: String = p.c().unwrap().query_one("SELECT current_schema()", &[]).unwrap().get(0);
        let mut c = Client::connect(&url, NoTls).unwrap();
        c.batch_execute(&format!("SET search_path TO {schema}")).unwrap();
        let again = PgControlPlane::with_client(c).unwrap();
        assert_eq!(again.schema_version().unwrap(), MIGRATIONS.len() as i64);
        // A schema a later binary wrote is not run over.
        again.c().unwrap().execute("INSERT INTO schema_migrations (version, applied_ms) VALUES (999, 0)", &[]).unwrap();
        let mut c = Client::connect(&url, NoTls).unwrap();
        c.batch_execute(&format!("SET search_path TO {schema}")).unwrap();
        let err = PgControlPlane::with_client(c).err().expect("refused");
        assert!(err.to_string().contains("newer than this binary"), "{err}");
    }

    #[test]
    fn a_lost_connection_is_made_again() {
        let Some(url) = server() else { return };
        let p = pooled(&url);
        let pid = backend(&p);
        // The server ends the connection, as a restart would.
        let mut other = Client::connect(&url, NoTls).unwrap();
        other.execute("SELECT pg_terminate_backend($1)", &[&pid]).unwrap();
        // The request that meets the closed connection fails (once the server has ended it);
        // the next connects again.
        let mut failed = false;
        for _ in 0..100 {
            if p.workspaces().is_err() {
                failed = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(failed, "the connection was ended");
        assert_eq!(p.workspaces().unwrap(), ["w"]);
    }

    #[test]
    fn a_connection_ended_while_idle_costs_no_request() {
        let Some(url) = server() else { return };
        let p = pooled(&url);
        let pid = backend(&p);
        let mut other = Client::connect(&url, NoTls).unwrap();
        other.execute("SELECT pg_terminate_backend($1)", &[&pid]).unwrap();
        // Idle past the check: asked first, found ended, made again — the request itself works.
        std::thread::sleep(IDLE_CHECK + std::time::Duration::from_millis(500));
        assert_eq!(p.workspaces().unwrap(), ["w"]);
        let now = backend(&p);
        assert_ne!(now, pid);
    }

    #[test]
    fn requests_do_not_wait_for_one_another_up_to_the_pool_size() {
        use std::sync::mpsc::RecvTimeoutError;
        let Some(url) = server() else { return };
        let p = pooled(&url);
        // Every connection but one held by requests that take their time: the last still answers.
        let held: Vec<_> = (0..POOL_SIZE - 1).map(|_| p.c().unwrap()).collect();
        assert_eq!(p.workspaces().unwrap(), ["w"]);
        let pids: std::collections::HashSet<i32> =
            held.into_iter().map(|mut c| c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0)).collect();
        assert_eq!(pids.len(), POOL_SIZE - 1, "one connection each");
        let mut all: Vec<_> = (0..POOL_SIZE).map(|_| p.c().unwrap()).collect();
        // With every connection lent, the next request waits for one to be given back. Every
        // connection is given back before asserting: a failed check fails, never hangs.
        let (waited, answered) = std::thread::scope(|sc| {
            let (tx, rx) = std::sync::mpsc::channel();
            let asker = &p;
            sc.spawn(move || tx.send(asker.workspaces().unwrap()).unwrap());
            let waited = rx.recv_timeout(std::time::Duration::from_millis(300));
            all.pop();
            let answered = rx.recv_timeout(std::time::Duration::from_secs(5));
            all.clear();
            (waited, answered)
        });
        assert!(matches!(waited, Err(RecvTimeoutError::Timeout)), "{waited:?}");
        assert_eq!(answered.unwrap(), ["w"]);
        assert_eq!(p.pool.lock().unwrap().open, POOL_SIZE);
    }

    #[test]
    fn a_session_and_a_revocation_are_seen_by_every_connection() {
        let Some(url) = server() else { return };
        let one = fresh(&url);
        let schema: String = one.c().unwrap().query_one("SELECT current_schema()", &[]).unwrap().get(0);
        let mut c = Client::connect(&url, NoTls).unwrap();
        c.batch_execute(&format!("SET search_path TO {schema}")).unwrap();
        let two = PgControlPlane::with_client(c).unwrap();
        one.create_workspace("w").unwrap();
        one.create_user("lea", "w", Role::Analyst, &auth::hash_password("a long pass", 1000).unwrap()).unwrap();
        let (id, _) = one.create_session("lea", 60_000).unwrap();
        assert_eq!(two.session(&id).unwrap().map(|s| s.user), Some("lea".to_string()));
        let token = two.create_token("w", Role::Viewer, None).unwrap();
        assert!(one.token(&token).unwrap().is_some());
        assert_eq!(one.revoke_token(&token).unwrap(), 1);
        assert_eq!(two.token(&token).unwrap(), None);
        two.end_session(&id).unwrap();
        assert_eq!(one.session(&id).unwrap(), None);
    }
}
