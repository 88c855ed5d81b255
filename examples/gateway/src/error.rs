//! The gateway's own answers, as problem+json: no route, and upstream failures.

use std::time::Duration;

use http::header::RETRY_AFTER;
use http::{HeaderValue, StatusCode};
use http_body_util::LengthLimitError;
use servicekit::Problem;
use servicekit::client::ClientError;

/// The answer for a failed forward:
///
/// | cause | status |
/// |---|---|
/// | the request body went over `server.body_limit` while streaming | 413 |
/// | the deadline or attempt timeout passed before the upstream's headers | 504 |
/// | open breaker, full bulkhead, no instance or connection refused | 503 with `Retry-After` |
/// | the upstream broke the exchange or sent an answer over `max_response_bytes` | 502 |
/// | anything else (a fault of the gateway) | 500, logged |
pub fn upstream_problem(error: ClientError) -> Problem {
    let upstream = error.client().to_string();
    if caused_by_body_limit(&error) {
        return Problem::new(StatusCode::PAYLOAD_TOO_LARGE)
            .with_detail("The request body is larger than this gateway accepts.");
    }
    tracing::warn!(upstream = %upstream, error = %error, "upstream call failed");
    let unavailable = |why: &str, wait: Duration| {
        Problem::unavailable(format!("{upstream} is unavailable ({why}); retry later."))
            .with_header(RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)))
    };
    match &error {
        ClientError::Timeout { .. } | ClientError::DeadlineExceeded { .. } => {
            Problem::new(StatusCode::GATEWAY_TIMEOUT)
                .with_detail(format!("{upstream} did not answer in time."))
        }
        ClientError::CircuitOpen { source, .. } => unavailable(
            "circuit breaker open",
            source.remaining() + Duration::from_millis(999),
        ),
        ClientError::BulkheadFull { .. } => {
            unavailable("too many calls in flight", Duration::from_secs(1))
        }
        ClientError::Transport { source, .. } if source.is_connect() => {
            unavailable("cannot be reached", Duration::from_secs(1))
        }
        ClientError::Transport { .. } | ClientError::ResponseTooLarge { .. } => {
            Problem::new(StatusCode::BAD_GATEWAY)
                .with_detail(format!("{upstream} sent no usable answer."))
        }
        _ => Problem::internal(&error),
    }
}

/// Whether the upload failed because the server's body limit cut the request body.
fn caused_by_body_limit(error: &ClientError) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// The answer for a path no route covers.
pub fn no_route(path: &str) -> Problem {
    Problem::not_found(format!("No route serves {path}."))
}
