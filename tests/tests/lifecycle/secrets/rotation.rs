//! Rotation of the database credentials while student-service serves a steady load.
//!
//! The local PostgreSQL trusts 127.0.0.1 (`pg_hba_file_rules` says `trust`), so a changed
//! password is not observable over TCP: any password logs in. These tests therefore make the
//! old credentials invalid another way, as AWS's alternating-users rotation does: a new role
//! (with its password set by `ALTER ROLE ... PASSWORD`) goes into a new secret version, and the
//! old role loses `LOGIN`. A new connection with the old secret then fails, and the session
//! user in `pg_stat_activity` shows which credentials each connection used.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use servicekit::testing::{MotoServer, TestDatabase};
use servicekit_tests::{ServiceProcess, binary};
use tokio::task::JoinSet;

use super::pg::{Roles, admin, create_role, exec, rds_secret, session_users};

const SECRET: &str = "prod/student-db";

/// Concurrent clients that create and read students until stopped (at most 2 minutes).
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failures: Arc<std::sync::Mutex<Vec<String>>>,
    tasks: JoinSet<()>,
}

impl Load {
    fn start(base: String, clients: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = JoinSet::new();
        for client_no in 0..clients {
            let (stop, ok, failures, base) =
                (stop.clone(), ok.clone(), failures.clone(), base.clone());
            tasks.spawn(async move {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                let started = Instant::now();
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(120) {
                    n += 1;
                    let email = format!("c{client_no}-{n}@example.org");
                    let outcome = async {
                        let res = client
                            .post(format!("{base}/students"))
                            .json(&serde_json::json!({"name": "Load", "email": email}))
                            .send()
                            .await
                            .map_err(|e| e.to_string())?;
                        if res.status() != 201 {
                            return Err(format!(
                                "POST {}: {}",
                                res.status(),
                                res.text().await.unwrap_or_default()
                            ));
                        }
                        let location = res.headers()["location"].to_str().unwrap().to_string();
                        let res = client
                            .get(format!("{base}{location}"))
                            .send()
                            .await
                            .map_err(|e| e.to_string())?;
                        if res.status() != 200 {
                            return Err(format!(
                                "GET {}: {}",
                                res.status(),
                                res.text().await.unwrap_or_default()
                            ));
                        }
                        Ok(())
                    }
                    .await;
                    match outcome {
                        Ok(()) => {
                            ok.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => failures.lock().unwrap().push(e),
                    }
                }
            });
        }
        Self {
            stop,
            ok,
            failures,
            tasks,
        }
    }

    fn ok(&self) -> usize {
        self.ok.load(Ordering::SeqCst)
    }

    async fn finish(mut self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        while self.tasks.join_next().await.is_some() {}
        let failures = self.failures.lock().unwrap().clone();
        (self.ok(), failures)
    }
}

/// The service on role `old` of a fresh database, its credentials in a moto secret.
struct Setup {
    moto: MotoServer,
    db: TestDatabase,
    admin: sqlx::PgPool,
    old: String,
    service: ServiceProcess,
    roles: Roles,
}

async fn setup(refresh_interval: &str) -> Setup {
    let moto = MotoServer::start().await.expect("moto_server runs");
    let mut roles = Roles::new();
    let db = TestDatabase::postgres().await.expect("test PostgreSQL");
    let admin = admin(&db).await;
    let old = roles.name();
    create_role(&admin, &old, "first-password").await;
    moto.client()
        .create_secret()
        .name(SECRET)
        .secret_string(rds_secret(&db, &old, "first-password"))
        .send()
        .await
        .unwrap();
    let exe = binary("student-service", "student-service");
    let mut env: Vec<(&str, String)> = moto.env().into_iter().collect();
    env.push(("SERVICEKIT__DATABASE__SECRET", format!("aws-sm://{SECRET}")));
    env.push((
        "SERVICEKIT__SECRETS__REFRESH_INTERVAL",
        refresh_interval.into(),
    ));
    env.push(("SERVICEKIT__DATABASE__MAX_CONNECTIONS", "8".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let service = ServiceProcess::start(&exe, &env);
    service
        .wait_for_status("/health/ready", 200, Duration::from_secs(30))
        .await
        .unwrap_or_else(|| panic!("not ready; stderr:\n{}", service.stderr()));
    Setup {
        moto,
        db,
        admin,
        old,
        service,
        roles,
    }
}

impl Setup {
    /// Polls `probe` every 50ms until it returns true; after `limit`, panics naming `what`
    /// with the sessions and the service's logs.
    async fn wait_until<F, Fut>(&self, what: &str, limit: Duration, mut probe: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let started = Instant::now();
        while !probe().await {
            if started.elapsed() > limit {
                let sessions = session_users(&self.admin, &self.db, &[&self.old]).await;
                panic!(
                    "timed out waiting until {what}; old-role sessions {sessions:?}; logs:\n{}\n{}",
                    self.service.stdout(),
                    self.service.stderr()
                );
            }
            // The poll interval: this is `eventually` with the sessions and logs on failure.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A new role that owns nothing but is a member of the old one (so it may use the tables
    /// the old role created), its password set as a rotation function sets it; then the new
    /// secret version.
    async fn rotate_to_new_role(&mut self) -> String {
        let new = self.roles.name();
        exec(
            &self.admin,
            format!("CREATE ROLE {new} LOGIN IN ROLE {}", self.old),
        )
        .await;
        exec(
            &self.admin,
            format!("ALTER ROLE {new} PASSWORD 'second-password'"),
        )
        .await;
        self.moto
            .client()
            .put_secret_value()
            .secret_id(SECRET)
            .secret_string(rds_secret(&self.db, &new, "second-password"))
            .send()
            .await
            .unwrap();
        new
    }
}

#[tokio::test]
async fn a_new_secret_version_moves_the_pool_to_new_credentials_without_failed_requests() {
    let mut s = setup("200ms").await;
    let load = Load::start(s.service.url(""), 4);
    let old = s.old.clone();
    s.wait_until(
        "the load runs on the old role",
        Duration::from_secs(30),
        || async { load.ok() > 20 && session_users(&s.admin, &s.db, &[&old]).await.contains(&old) },
    )
    .await;

    let new = s.rotate_to_new_role().await;
    let (admin, db) = (&s.admin, &s.db);
    s.wait_until(
        "every connection uses the new role",
        Duration::from_secs(60),
        || async {
            let users = session_users(admin, db, &[&old, &new]).await;
            users.contains(&new) && !users.contains(&old)
        },
    )
    .await;
    // The old credentials stop working for new connections; the service must not need them.
    exec(&s.admin, format!("ALTER ROLE {old} NOLOGIN")).await;
    let after = load.ok();
    s.wait_until(
        "more requests succeed after the old role lost LOGIN",
        Duration::from_secs(30),
        || async { load.ok() > after + 40 },
    )
    .await;
    let (ok, failures) = load.finish().await;

    assert!(
        failures.is_empty(),
        "{} failed requests of {}: {:?}",
        failures.len(),
        ok + failures.len(),
        &failures[..failures.len().min(5)]
    );
    let users = session_users(&s.admin, &s.db, &[&old, &new]).await;
    assert!(users.iter().all(|u| *u == new), "sessions: {users:?}");
    let stdout = s.service.stdout();
    assert!(stdout.contains("database credentials rotated"), "{stdout}");
    assert!(!stdout.contains("second-password") && !stdout.contains("first-password"));
}

#[tokio::test]
async fn refused_credentials_make_the_service_fetch_the_secret_at_once() {
    // Refreshing every hour: only the reaction to the refusal can pick up the new version.
    let mut s = setup("1h").await;
    let old = s.old.clone();
    let new = s.rotate_to_new_role().await;

    // The database changes first (single-user rotation order): old sessions end, old
    // credentials no longer log in. No load runs, so no request is in flight.
    exec(&s.admin, format!("ALTER ROLE {old} NOLOGIN")).await;
    exec(
        &s.admin,
        format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{old}'"),
    )
    .await;
    let client = reqwest::Client::new();
    let url = s.service.url("/health/ready");
    s.wait_until(
        "readiness recovers on the new role",
        Duration::from_secs(30),
        || async {
            client
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        },
    )
    .await;

    let created = client
        .post(s.service.url("/students"))
        .json(&serde_json::json!({"name": "Ada", "email": "ada@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let users = session_users(&s.admin, &s.db, &[&old, &new]).await;
    assert!(
        users.contains(&new) && !users.contains(&old),
        "sessions: {users:?}"
    );
    let stdout = s.service.stdout();
    assert!(
        stdout.contains("the database refused the credentials"),
        "{stdout}"
    );
}
