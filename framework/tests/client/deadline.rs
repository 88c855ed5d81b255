//! Deadlines: the client's own, and the caller's carried through a service.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use servicekit::axum::Router;
use servicekit::axum::extract::State;
use servicekit::axum::routing::get;
use servicekit::client::{ClientError, Inbound, ServiceClient};
use servicekit::config::ServerConfig;
use servicekit::{Problem, server};
use tokio::net::TcpListener;

use crate::downstream::{Answer, Downstream, client, config};

#[tokio::test]
async fn a_call_with_a_100ms_budget_to_a_1s_downstream_returns_in_about_100ms() {
    let down = Downstream::start(Answer::Delay(Duration::from_secs(1))).await;
    let client = client(&config(&down.url()));

    let started = Instant::now();
    let err = client
        .get("/x")
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .unwrap_err();

    assert!(
        started.elapsed() < Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            err,
            ClientError::Timeout { .. } | ClientError::DeadlineExceeded { .. }
        ),
        "{err:?}"
    );
    // The downstream was told the budget.
    let budget: u64 = down.seen()[0]["x-request-deadline-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(budget <= 100, "{budget}");
}

async fn proxy(State(client): State<ServiceClient>, inbound: Inbound) -> Result<String, Problem> {
    let res = client.get("/slow").inbound(&inbound).send().await?;
    Ok(res.text())
}

/// A servicekit server (standard stack) whose handler calls `down`; it trusts the deadline of
/// loopback callers.
async fn middle(down: &Downstream) -> String {
    let client = client(&config(&down.url()));
    let config = ServerConfig {
        deadline_trusted_networks: vec!["127.0.0.0/8".into()],
        ..ServerConfig::default()
    };
    let app = server::standard_stack(
        Router::new().route("/proxy", get(proxy)).with_state(client),
        &config,
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { servicekit::axum::serve(listener, app).await });
    format!("http://{addr}/proxy")
}

#[tokio::test]
async fn the_callers_budget_bounds_the_handler_and_its_outgoing_calls() {
    let down = Downstream::start(Answer::Delay(Duration::from_secs(1))).await;
    let url = middle(&down).await;
    let http = reqwest::Client::new();

    let started = Instant::now();
    let res = http
        .get(&url)
        .header("x-request-deadline-ms", "100")
        .send()
        .await
        .unwrap();

    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(600), "{elapsed:?}");
    assert!(
        [503, 504].contains(&res.status().as_u16()),
        "{}",
        res.status()
    );
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let budget: u64 = down.seen()[0]["x-request-deadline-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(budget <= 100, "{budget}");
}

#[tokio::test]
async fn a_request_whose_deadline_passed_is_not_started() {
    let down = Downstream::start(Answer::Status(200)).await;
    let url = middle(&down).await;

    let res = reqwest::Client::new()
        .get(&url)
        .header("x-request-deadline-ms", "0")
        .send()
        .await
        .unwrap();

    assert_eq!(res.status(), 504);
    assert_eq!(down.hits(), 0);
}
