//! What outgoing calls carry: request id, authorization, token source.

use futures_util::future::BoxFuture;
use servicekit::BoxError;
use servicekit::axum::Router;
use servicekit::axum::extract::State;
use servicekit::axum::http::HeaderValue;
use servicekit::axum::routing::get;
use servicekit::client::{Inbound, ServiceClient, TokenSource};
use servicekit::config::ServerConfig;
use servicekit::{Problem, server};
use tokio::net::TcpListener;

use crate::downstream::{Answer, Downstream, client, config};

async fn proxy(State(client): State<ServiceClient>, inbound: Inbound) -> Result<String, Problem> {
    Ok(client.get("/x").inbound(&inbound).send().await?.text())
}

/// The same handler without any propagation code: the standard stack supplies the context.
async fn plain(State(client): State<ServiceClient>) -> Result<String, Problem> {
    Ok(client.get("/x").send().await?.text())
}

/// A servicekit server (standard stack) that trusts the deadline of loopback callers.
async fn serve(client: ServiceClient) -> String {
    let config = ServerConfig {
        deadline_trusted_networks: vec!["127.0.0.0/8".into()],
        ..ServerConfig::default()
    };
    let app = server::standard_stack(
        Router::new()
            .route("/proxy", get(proxy))
            .route("/plain", get(plain))
            .with_state(client),
        &config,
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { servicekit::axum::serve(listener, app).await });
    format!("http://{addr}/proxy")
}

async fn call(url: &str) {
    let res = reqwest::Client::new()
        .get(url)
        .header("x-request-id", "req-42")
        .header("authorization", "Bearer caller")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn request_id_is_propagated_and_authorization_is_not_by_default() {
    let down = Downstream::start(Answer::Status(200)).await;
    call(&serve(client(&config(&down.url()))).await).await;

    let seen = &down.seen()[0];
    assert_eq!(seen["x-request-id"], "req-42");
    assert!(seen.get("authorization").is_none());
    // The server's own deadline is not invented when the caller sent none.
    assert!(
        seen.get("x-request-deadline-ms").is_some(),
        "the client's own deadline is sent"
    );
}

#[tokio::test]
async fn authorization_is_forwarded_when_configured() {
    let down = Downstream::start(Answer::Status(200)).await;
    let mut c = config(&down.url());
    c.forward_authorization = true;
    call(&serve(client(&c)).await).await;

    assert_eq!(down.seen()[0]["authorization"], "Bearer caller");
}

#[tokio::test]
async fn a_plain_call_inside_a_request_carries_its_id_deadline_and_authorization() {
    let down = Downstream::start(Answer::Status(200)).await;
    let mut c = config(&down.url());
    c.forward_authorization = true;
    let url = serve(client(&c)).await.replace("/proxy", "/plain");
    let res = reqwest::Client::new()
        .get(&url)
        .header("x-request-id", "req-plain")
        .header("authorization", "Bearer caller")
        .header("x-request-deadline-ms", "900")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let seen = &down.seen()[0];
    assert_eq!(seen["x-request-id"], "req-plain");
    assert_eq!(seen["authorization"], "Bearer caller");
    let left: u64 = seen["x-request-deadline-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // The client's own deadline is 5 s: only the caller's 900 ms can bring it this low.
    assert!(left <= 900, "the caller's deadline is carried on: {left}");
}

#[tokio::test]
async fn outside_a_request_nothing_is_invented() {
    let down = Downstream::start(Answer::Status(200)).await;
    let res = client(&config(&down.url())).get("/x").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let seen = &down.seen()[0];
    assert!(seen.get("x-request-id").is_none());
    assert!(seen.get("authorization").is_none());
}

struct ServiceToken;

impl TokenSource for ServiceToken {
    fn authorization(&self) -> BoxFuture<'_, Result<HeaderValue, BoxError>> {
        Box::pin(async { Ok(HeaderValue::from_static("Bearer service")) })
    }
}

#[tokio::test]
async fn a_token_source_wins_over_forwarding() {
    let down = Downstream::start(Answer::Status(200)).await;
    let mut c = config(&down.url());
    c.forward_authorization = true;
    let client = client(&c).with_token_source(ServiceToken);
    call(&serve(client).await).await;

    assert_eq!(down.seen()[0]["authorization"], "Bearer service");
}
