//! Bodies stream through the gateway both ways; the body limit still applies (413).

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::StreamBody;
use hyper::body::Frame;

use crate::helpers::{Upstreams, gateway, problem};

/// A chunked body (no `Content-Length`) of `chunks` x 64 KiB.
fn chunked(chunks: usize) -> reqwest::Body {
    let frames =
        (0..chunks).map(|_| Ok::<_, Infallible>(Frame::data(Bytes::from(vec![b'u'; 65536]))));
    reqwest::Body::wrap(StreamBody::new(futures_util::stream::iter(
        frames.collect::<Vec<_>>(),
    )))
}

#[tokio::test]
async fn large_uploads_stream_through_and_the_body_limit_answers_413() {
    let up = Upstreams::start().await;
    let routes = serde_json::json!({ "/upload": "student-service" });
    let gw = gateway(&up, |b| {
        b.set("server.body_limit", 16 * 1024 * 1024)
            .set("app.routes", routes)
    })
    .await;

    // 12 MiB with a Content-Length, then 12 MiB chunked: both arrive whole.
    for body in [
        reqwest::Body::from(vec![b'u'; 12 * 1024 * 1024]),
        chunked(192),
    ] {
        let res = gw
            .client()
            .post(gw.url("/upload"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let answer: serde_json::Value = res.json().await.unwrap();
        assert_eq!(answer["received"], 12 * 1024 * 1024);
    }
    let hits = up.students.hits();

    // Over the limit with a Content-Length: 413 at once, the upstream never sees it.
    let res = gw
        .client()
        .post(gw.url("/upload"))
        .body(vec![b'u'; 17 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(problem(res).await["status"], 413);
    assert_eq!(up.students.hits(), hits);

    // Over the limit chunked: cut while streaming, 413 as well.
    let res = gw
        .client()
        .post(gw.url("/upload"))
        .body(chunked(17 * 16))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
}

#[tokio::test]
async fn large_downloads_stream_back_within_max_response_bytes() {
    let up = Upstreams::start().await;
    let gw = gateway(&up, |b| {
        b.set(
            "clients.subject-service.max_response_bytes",
            64 * 1024 * 1024,
        )
        .set(
            "app.routes",
            serde_json::json!({ "/download": "subject-service", "/students": "student-service" }),
        )
    })
    .await;
    let res = gw.get("/download?bytes=50000000").await;
    assert_eq!(res.status(), 200);
    let mut res = res;
    let mut total = 0usize;
    while let Some(chunk) = res.chunk().await.unwrap() {
        total += chunk.len();
    }
    assert_eq!(total, 50_000_000);

    // Over the student-service client's default limit (10 MiB): the stream is cut.
    let gw = gateway(&up, |b| {
        b.set(
            "app.routes",
            serde_json::json!({ "/download": "student-service" }),
        )
    })
    .await;
    let res = gw.get("/download?bytes=12000000").await;
    assert_eq!(
        res.status(),
        200,
        "the headers came before the limit was reached"
    );
    assert!(
        res.bytes().await.is_err(),
        "the body ends in an error at the limit"
    );
}
