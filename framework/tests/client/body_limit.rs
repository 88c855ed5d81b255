//! Answers are read up to `max_response_bytes`; a larger one fails the call with an error
//! naming the key, whether or not it declares its length.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use servicekit::Problem;
use servicekit::client::{ClientError, ServiceClient};
use tokio::net::TcpListener;

use crate::downstream::config;

/// A downstream answering `/sized` with a `Content-Length` and `/streamed` without one, each
/// with `len` bytes.
async fn big(len: usize) -> String {
    let app = Router::new()
        .route("/sized", get(move || async move { vec![b'x'; len] }))
        .route(
            "/streamed",
            get(move || async move {
                let chunks = (0..len / 1024).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 1024]));
                Body::from_stream(futures_util::stream::iter(chunks))
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_answer_over_the_limit_is_a_clear_error() {
    let url = big(64 * 1024).await;
    let mut c = config(&url);
    c.max_response_bytes = 16 * 1024;
    let client = ServiceClient::new("reports", &c).unwrap();

    for path in ["/sized", "/streamed"] {
        let err = client.get(path).send().await.unwrap_err();
        match &err {
            ClientError::ResponseTooLarge { client, limit } => {
                assert_eq!((client.as_str(), *limit), ("reports", 16 * 1024));
            }
            other => panic!("{path}: expected ResponseTooLarge, got {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("clients.reports.max_response_bytes"),
            "{message}"
        );
        assert_eq!(Problem::from(err).status(), 502);
    }
}

#[tokio::test]
async fn an_answer_within_the_limit_is_read_whole() {
    let url = big(64 * 1024).await;
    let client = ServiceClient::new("reports", &config(&url)).unwrap();
    for path in ["/sized", "/streamed"] {
        let res = client.get(path).send().await.unwrap();
        assert_eq!(res.bytes().len(), 64 * 1024, "{path}");
    }
}
