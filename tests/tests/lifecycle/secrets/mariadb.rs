//! A password rotated on MariaDB (which, unlike the local PostgreSQL, checks passwords on
//! loopback) while student-service serves a steady load, nothing polling its readiness.
//!
//! The service's `database.password` is `aws-sm://...#password` in moto, refreshed only every
//! hour. One user; its password is changed with `ALTER USER`, the new value put into Secrets
//! Manager, then every connection of the user killed. New connections with the old password
//! are refused (error 1045): those requests must be 503 problem+json with `Retry-After`, never
//! 500, and the refusal must make the service fetch the secret at once, so the new password is
//! in use within 2 s of the secret changing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use servicekit::testing::{MYSQL_URL_VAR, MotoServer, TestDatabase, eventually_within};
use servicekit_tests::{ServiceProcess, Verbatim, binary};
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::{AssertSqlSafe, Executor};
use tokio::task::JoinSet;

const SECRET: &str = "prod/student-db-password";
/// How soon after the secret changes the new password must be in use (the brief's bound).
const RECOVERY: Duration = Duration::from_secs(2);

/// The URL of the root account of the test MariaDB server (empty password on 127.0.0.1),
/// which may create users.
fn root_url() -> String {
    let mut url = url::Url::parse(
        &std::env::var(MYSQL_URL_VAR).unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into()),
    )
    .unwrap();
    url.set_username("root").unwrap();
    url.set_password(None).unwrap();
    url.set_path("/mysql");
    url.to_string()
}

async fn root() -> MySqlPool {
    MySqlPoolOptions::new()
        .max_connections(2)
        .connect(&root_url())
        .await
        .unwrap_or_else(|e| panic!("root connection to the test MariaDB server: {e}"))
}

async fn exec(pool: &MySqlPool, sql: String) {
    pool.execute(AssertSqlSafe(sql.clone()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A uniquely named MariaDB user, dropped (with a root connection of its own) when dropped.
struct User {
    name: String,
    root_url: String,
}

impl Drop for User {
    fn drop(&mut self) {
        let (name, url) = (self.name.clone(), self.root_url.clone());
        // The test's runtime cannot be blocked on; use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Ok(pool) = MySqlPoolOptions::new()
                    .max_connections(1)
                    .connect(&url)
                    .await
                {
                    let _ = pool
                        .execute(AssertSqlSafe(format!("DROP USER IF EXISTS '{name}'@'%'")))
                        .await;
                }
            });
        })
        .join();
    }
}

/// One request of the load: when it was sent, how long it took, what came back.
#[derive(Clone)]
struct Outcome {
    sent: Instant,
    done: Instant,
    status: Option<u16>,
    problem_503: bool,
    detail: String,
}

/// Concurrent clients that create and list students until stopped.
async fn load(
    base: String,
    clients: usize,
    stop: Arc<AtomicBool>,
    outcomes: Arc<std::sync::Mutex<Vec<Outcome>>>,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    for client_no in 0..clients {
        let (stop, outcomes, base) = (stop.clone(), outcomes.clone(), base.clone());
        tasks.spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let request = if n % 2 == 0 {
                    client.get(format!("{base}/students?limit=5"))
                } else {
                    let email = format!("c{client_no}-{n}-{}@example.org", uuid::Uuid::new_v4());
                    client
                        .post(format!("{base}/students"))
                        .json(&serde_json::json!({"name": "Load", "email": email}))
                };
                let sent = Instant::now();
                let outcome = match request.send().await {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let problem_503 = status == 503
                            && res
                                .headers()
                                .get("content-type")
                                .is_some_and(|v| v.as_bytes() == b"application/problem+json")
                            && res.headers().contains_key("retry-after");
                        let detail = res.text().await.unwrap_or_default();
                        Outcome {
                            sent,
                            done: Instant::now(),
                            status: Some(status),
                            problem_503,
                            detail,
                        }
                    }
                    Err(e) => Outcome {
                        sent,
                        done: Instant::now(),
                        status: None,
                        problem_503: false,
                        detail: e.to_string(),
                    },
                };
                outcomes.lock().unwrap().push(outcome);
            }
        });
    }
    tasks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_password_rotated_on_mariadb_is_picked_up_within_2s_with_503s_and_no_500s() {
    let moto = MotoServer::start().await.expect("moto_server runs");
    let db = TestDatabase::mysql().await.expect("test MariaDB");
    let root = root().await;
    let user = User {
        name: format!(
            "sk_test_u_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ),
        root_url: root_url(),
    };
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let (first, second) = (format!("first-{marker}"), format!("second-{marker}"));
    exec(
        &root,
        format!("CREATE USER '{}'@'%' IDENTIFIED BY '{first}'", user.name),
    )
    .await;
    exec(
        &root,
        format!(
            "GRANT ALL PRIVILEGES ON `{}`.* TO '{}'@'%'",
            db.name(),
            user.name
        ),
    )
    .await;
    moto.client()
        .create_secret()
        .name(SECRET)
        .secret_string(serde_json::json!({ "password": first }).to_string())
        .send()
        .await
        .unwrap();

    // The URL without a password; the password is the secret reference.
    let mut url = url::Url::parse(db.url()).unwrap();
    url.set_username(&user.name).unwrap();
    url.set_password(None).unwrap();
    let exe = binary("student-service", "student-service");
    let mut env: Vec<(&str, String)> = moto.env().into_iter().collect();
    env.push(("DATABASE_URL", url.to_string()));
    env.push((
        "SERVICEKIT__DATABASE__PASSWORD",
        format!("aws-sm://{SECRET}#password"),
    ));
    // Only the reaction to the refusal can pick up the new password in time.
    env.push(("SERVICEKIT__SECRETS__REFRESH_INTERVAL", "1h".into()));
    env.push(("SERVICEKIT__DATABASE__MAX_CONNECTIONS", "8".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let service = ServiceProcess::start(&exe, &env);
    // Readiness is polled only until the service is up; nothing polls it during the rotation.
    service
        .wait_for_status("/health/ready", 200, Duration::from_secs(60))
        .await
        .unwrap_or_else(|| panic!("not ready; stderr:\n{}", service.stderr()));

    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(std::sync::Mutex::new(Vec::<Outcome>::new()));
    let mut tasks = load(service.url(""), 4, stop.clone(), outcomes.clone()).await;
    let ok_count = |outcomes: &std::sync::Mutex<Vec<Outcome>>| {
        outcomes
            .lock()
            .unwrap()
            .iter()
            .filter(|o| o.status.is_some_and(|s| s < 300))
            .count()
    };
    eventually_within(Duration::from_secs(60), || async {
        if ok_count(&outcomes) >= 40 {
            return Ok(());
        }
        let last = outcomes
            .lock()
            .unwrap()
            .last()
            .map(|o| (o.status, o.detail.clone()));
        Err(Verbatim(format!(
            "the load does not run: {last:?}\n{}",
            service.stderr()
        )))
    })
    .await;

    // Rotation: the database first, then the secret, then every connection of the user killed.
    exec(
        &root,
        format!("ALTER USER '{}'@'%' IDENTIFIED BY '{second}'", user.name),
    )
    .await;
    moto.client()
        .put_secret_value()
        .secret_id(SECRET)
        .secret_string(serde_json::json!({ "password": second }).to_string())
        .send()
        .await
        .unwrap();
    let secret_changed = Instant::now();
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM information_schema.processlist WHERE user = ?")
            .bind(&user.name)
            .fetch_all(&root)
            .await
            .unwrap();
    for id in &ids {
        // A connection may have ended by itself in between.
        let _ = root
            .execute(AssertSqlSafe(format!("KILL CONNECTION {id}")))
            .await;
    }
    let killed = Instant::now();

    // Recovery: a request sent after the kill succeeds (it can only use the new password).
    let recovered = eventually_within(Duration::from_secs(60), || async {
        outcomes
            .lock()
            .unwrap()
            .iter()
            .filter(|o| o.sent > killed && o.status.is_some_and(|s| s < 300))
            .map(|o| o.done)
            .min()
            .ok_or_else(|| {
                Verbatim(format!(
                    "no request succeeded since the kill; stdout:\n{}",
                    service.stdout()
                ))
            })
    })
    .await;
    // Keep the load on the new password a little longer.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    while tasks.join_next().await.is_some() {}
    let outcomes = outcomes.lock().unwrap().clone();

    let after_kill: Vec<&Outcome> = outcomes.iter().filter(|o| o.done > killed).collect();
    let gap_503s = after_kill.iter().filter(|o| o.problem_503).count();
    let recovery = recovered.duration_since(secret_changed);
    println!(
        "{} requests; {} connections killed {:?} after the secret changed; new password in use \
         {recovery:?} after the secret changed; {gap_503s} x 503 during the gap; {} ok after",
        outcomes.len(),
        ids.len(),
        killed.duration_since(secret_changed),
        after_kill
            .iter()
            .filter(|o| o.status.is_some_and(|s| s < 300))
            .count(),
    );
    let bad: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| !(o.status.is_some_and(|s| s < 300) || o.problem_503))
        .collect();
    assert!(
        bad.is_empty(),
        "{} answers neither 2xx nor 503 problem+json with Retry-After, e.g. {:?}\nstdout:\n{}",
        bad.len(),
        bad.iter()
            .take(3)
            .map(|o| format!("{:?} after {:?}: {}", o.status, o.done - o.sent, o.detail))
            .collect::<Vec<_>>(),
        service.stdout()
    );
    assert!(!ids.is_empty(), "the load had no connection to kill");
    assert!(
        recovery < RECOVERY,
        "the new password was in use only {recovery:?} after the secret changed"
    );
    let users: Vec<String> =
        sqlx::query_scalar("SELECT user FROM information_schema.processlist WHERE user = ?")
            .bind(&user.name)
            .fetch_all(&root)
            .await
            .unwrap();
    assert!(!users.is_empty(), "the service has sessions again");
    let stdout = service.stdout();
    assert!(
        stdout.contains("the database refused the credentials"),
        "{stdout}"
    );
    assert!(!stdout.contains(&marker), "a password reached the log");
    root.close().await;
}
