//! Forwarded headers set, hop-by-hop headers removed both ways, request id and trace kept.

use crate::helpers::{Upstreams, echoed, gateway};

#[tokio::test]
async fn forwarded_headers_are_set_and_appended() {
    let up = Upstreams::start().await;
    let gw = gateway(&up, |b| b).await;

    let res = gw
        .client()
        .get(gw.url("/students"))
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .unwrap();
    let seen = echoed(res).await["headers"].clone();

    assert_eq!(seen["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    assert_eq!(seen["x-forwarded-proto"], "http");
    let host = gw.addr().to_string();
    assert_eq!(seen["x-forwarded-host"], host.as_str());
    assert_eq!(
        seen["forwarded"],
        format!("for=127.0.0.1;host=\"{host}\";proto=http").as_str()
    );
    assert_ne!(
        seen["host"],
        host.as_str(),
        "the upstream gets its own Host"
    );
}

#[tokio::test]
async fn hop_by_hop_headers_stop_at_the_gateway_both_ways() {
    let up = Upstreams::start().await;
    let gw = gateway(&up, |b| b).await;

    let res = gw
        .client()
        .get(gw.url("/students"))
        .header("connection", "x-client-private")
        .header("x-client-private", "1")
        .header("te", "trailers")
        .header("proxy-authorization", "Basic eDp5")
        .header("x-kept", "1")
        .send()
        .await
        .unwrap();
    // The upstream's answer listed `x-upstream-private` in its Connection header.
    assert!(!res.headers().contains_key("x-upstream-private"));
    let seen = echoed(res).await["headers"].clone();

    for gone in ["x-client-private", "te", "proxy-authorization"] {
        assert!(
            seen.get(gone).is_none(),
            "{gone} reached the upstream: {seen}"
        );
    }
    assert_eq!(seen["x-kept"], "1");
}

#[tokio::test]
async fn the_request_id_and_the_trace_go_on_to_the_upstream() {
    let up = Upstreams::start().await;
    let gw = gateway(&up, |b| b).await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";

    let res = gw
        .client()
        .get(gw.url("/students"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let seen = echoed(res).await["headers"].clone();

    assert_eq!(
        seen["x-request-id"],
        request_id.as_str(),
        "the gateway's request id"
    );
    let traceparent = seen["traceparent"].as_str().expect("a traceparent");
    // The trace goes on (the parent is the gateway's client span when spans are recorded;
    // this test process records none, as its log level is `off`).
    assert_eq!(
        traceparent.split('-').nth(1),
        Some(trace_id),
        "{traceparent}"
    );
}
