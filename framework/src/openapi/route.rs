//! `GET /openapi.json`: the completed document, serialized once at startup.

use axum::Router;
use axum::http::header;
use axum::routing::get;
use bytes::Bytes;
use utoipa::openapi::OpenApi;

/// A router answering `GET {path}` with `spec` as JSON; fails when `spec` cannot be
/// serialized.
pub(crate) fn router(spec: &OpenApi, path: &str) -> Result<Router, serde_json::Error> {
    let body = Bytes::from(serde_json::to_vec(spec)?);
    Ok(Router::new().route(
        path,
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    ))
}
