//! The verified peer identity reaches handlers; `require_peer` answers 403 problem+json to
//! other peers.

use crate::pki::{self, Ca, Files};

#[tokio::test]
async fn handlers_see_the_spiffe_id_and_require_peer_refuses_other_names() {
    let ca = Ca::new("school CA");
    let files = Files::new(&ca, &ca.server());
    let app = pki::service(&files, true).await;

    let subject = pki::client(
        &ca,
        Some(ca.client("spiffe://school/subject-service").identity()),
        app.addr(),
    );
    let res = subject.get(pki::url(&app, "/whoami")).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "spiffe://school/subject-service");
    let res = subject
        .get(pki::url(&app, "/internal"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let other = pki::client(
        &ca,
        Some(ca.client("spiffe://school/gateway").identity()),
        app.addr(),
    );
    let res = other.get(pki::url(&app, "/whoami")).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "spiffe://school/gateway");
    let res = other.get(pki::url(&app, "/internal")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "wrong SAN"
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], 403);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("spiffe://school/gateway"),
        "{body}"
    );
}

#[tokio::test]
async fn without_mutual_tls_peer_routes_answer_403() {
    let ca = Ca::new("test CA");
    let files = Files::new(&ca, &ca.server());
    let app = pki::service(&files, false).await;
    let client = pki::client(&ca, None, app.addr());

    for path in ["/whoami", "/internal"] {
        let res = client.get(pki::url(&app, path)).send().await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
}
