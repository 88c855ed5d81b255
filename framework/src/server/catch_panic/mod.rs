//! Turns a handler's panic into a logged 500 problem+json, so one bad request never takes the
//! connection (or the service) down.
//!
//! tower-http's `CatchPanicLayer` does the same, but boxes every response body (its response
//! type is `Response<UnsyncBoxBody>`), and the layers outside box it once more into axum's
//! `Body`. This layer keeps axum's `Body` as it is: one allocation less per request.

mod future;
mod layer;
mod service;

pub(crate) use layer::CatchPanicLayer;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::problem::Problem;

/// The answer to a request whose handler panicked; the panic message is logged, not sent.
fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("(non-string panic payload)");
    tracing::error!(panic = %message, "handler panicked");
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR)
        .with_detail("The server failed to handle the request; it has been logged.")
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn boom() -> &'static str {
        panic!("boom")
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_500_problem() {
        let app = Router::new()
            .route("/boom", get(boom))
            .route("/ok", get(|| async { "fine" }))
            .layer(CatchPanicLayer);
        let req = |path| Request::get(path).body(Body::empty()).unwrap();
        let res = app.clone().oneshot(req("/boom")).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            res.headers()[axum::http::header::CONTENT_TYPE],
            crate::server::PROBLEM_JSON
        );
        let res = app.oneshot(req("/ok")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}
