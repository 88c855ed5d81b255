//! Database errors from real servers and real broken sockets are classified as unavailable
//! (503, never 500), and a pool whose database is known to be down fails queries fast and
//! recovers by itself.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use secrecy::SecretString;
use servicekit::Problem;
use servicekit::config::DatabaseConfig;
use servicekit::db::{Database, is_refused_credentials, is_unavailable};
use servicekit::testing::{TestDatabase, eventually};
use sqlx::{AnyConnection, Connection};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Asserts that `error` is a 503 problem with `Retry-After` that says "unreachable".
fn assert_503(error: sqlx::Error) {
    assert!(is_unavailable(&error), "{error}");
    let problem = Problem::from(error);
    assert_eq!(problem.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        problem.detail().is_some_and(|d| d.contains("unreachable")),
        "{problem}"
    );
}

/// `url` with its user replaced by `user:password` (or only `user`).
fn with_user(url: &str, user: &str, password: Option<&str>) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.set_username(user).unwrap();
    url.set_password(password).unwrap();
    url.to_string()
}

/// `url` pointing at 127.0.0.1:`port` instead.
fn at_port(url: &str, port: u16) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(port)).unwrap();
    url.to_string()
}

/// A listener that accepts connections and closes them at once, like a load balancer with no
/// healthy target.
async fn accept_and_close() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    port
}

#[tokio::test]
async fn refused_credentials_are_503_on_postgres_and_mariadb() {
    sqlx::any::install_default_drivers();
    // The local PostgreSQL trusts loopback, but a role that does not exist is refused (28000).
    let pg = TestDatabase::postgres().await.expect("test PostgreSQL");
    let error = AnyConnection::connect(&with_user(pg.url(), "sk_no_such_role", None))
        .await
        .unwrap_err();
    assert!(is_refused_credentials(&error), "{error}");
    assert_503(error);

    // MariaDB checks passwords: a wrong one is error 1045 (SQLSTATE 28000).
    let my = TestDatabase::mysql().await.expect("test MariaDB");
    let error = AnyConnection::connect(&with_user(my.url(), "servicekit", Some("wrong")))
        .await
        .unwrap_err();
    assert!(is_refused_credentials(&error), "{error}");
    assert_503(error);
}

#[tokio::test]
async fn a_peer_that_accepts_and_closes_is_503_on_postgres_and_mariadb() {
    sqlx::any::install_default_drivers();
    let port = accept_and_close().await;
    for url in [
        format!("postgres://app@127.0.0.1:{port}/db"),
        format!("mysql://app:pw@127.0.0.1:{port}/db"),
    ] {
        let error = AnyConnection::connect(&url).await.unwrap_err();
        assert!(!is_refused_credentials(&error), "{error}");
        assert_503(error);
    }
}

/// A relay to `upstream` that can switch to closing new connections at once and dropping the
/// ones it relays.
struct Relay {
    port: u16,
    refuse: watch::Sender<bool>,
}

impl Relay {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (refuse, flag) = watch::channel(false);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if *flag.borrow() {
                    continue;
                }
                let mut flag = flag.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    // Relays until the relay starts refusing, then closes both sides.
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = flag.wait_for(|refuse| *refuse) => {}
                    }
                });
            }
        });
        Self { port, refuse }
    }
}

#[tokio::test]
async fn a_pool_known_to_be_down_fails_fast_and_recovers_by_itself() {
    let pg = TestDatabase::postgres().await.expect("test PostgreSQL");
    let url = url::Url::parse(pg.url()).unwrap();
    let upstream: SocketAddr = format!("127.0.0.1:{}", url.port().unwrap_or(5432))
        .parse()
        .unwrap();
    let relay = Relay::start(upstream).await;
    let config = DatabaseConfig {
        url: Some(SecretString::from(at_port(pg.url(), relay.port))),
        acquire_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let db = Database::connect(&config, "svc").await.unwrap();
    db.ping().await.unwrap();
    assert!(!db.is_down());

    // The database goes away: the readiness check fails and marks it down.
    relay.refuse.send_replace(true);
    eventually(|| async {
        match db.ping().await {
            Ok(()) => Err("ping never failed"),
            Err(_) => Ok(()),
        }
    })
    .await;
    assert!(
        db.is_down(),
        "a failed readiness check marks the database down"
    );

    // Queries fail at once (the acquire timeout is 5 s) with a 503.
    let sent = Instant::now();
    let error = sqlx::query("SELECT 1")
        .execute(db.pool())
        .await
        .unwrap_err();
    let took = sent.elapsed();
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert_503(error);
    let reason = db.ping().await.unwrap_err().to_string();
    assert!(reason.contains("unreachable"), "{reason}");

    // Back again: the background probe notices without any ping.
    relay.refuse.send_replace(false);
    let restored = Instant::now();
    eventually(|| async {
        if db.is_down() {
            Err("the pool did not notice the database came back")
        } else {
            Ok(())
        }
    })
    .await;
    println!("recovered {:?} after restore", restored.elapsed());
    sqlx::query("SELECT 1").execute(db.pool()).await.unwrap();
    db.close().await;
}
