//! The HTTP side: problem+json errors, RED metrics, rate limiting, the standard middleware
//! stack, shutdown signals.

mod body_limit;
mod catch_panic;
mod config;
mod deadline;
pub mod http_metrics;
mod inbound;
mod json;
mod problem;
mod problem_json;
pub mod rate_limit;
mod request_guard;
mod request_head;
mod request_id;
mod request_span;
mod request_telemetry;
mod scope;
mod sensitive_headers;
mod serve;
mod shutdown;
mod stack;

pub use config::ServerConfig;
pub(crate) use config::validate;
pub(crate) use deadline::{DEADLINE, budget, expired_before_start};
pub use deadline::{
    DEADLINE_HEADER, Deadline, DeadlineFuture, RequestDeadline, RequestDeadlineLayer,
};
pub use http_metrics::{HttpMetrics, HttpMetricsLayer};
pub use inbound::{Inbound, SetInbound, SetInboundLayer};
pub use json::{Json, JsonRejection};
pub use problem::{FieldError, PROBLEM_JSON, Problem};
pub use problem_json::{ProblemJson, ProblemJsonLayer};
pub use rate_limit::RateLimitConfig;
#[cfg(feature = "rate-limit")]
pub use rate_limit::{RateLimit, RateLimitLayer};
pub use request_head::{MAX_HEAD_BYTES, MAX_HEADERS, MAX_URI_BYTES};
pub(crate) use request_span::Quiet;
pub(crate) use serve::{ConnectionLimits, Phase, serve};
pub use shutdown::{
    DEFAULT_DRAIN_DELAY, DEFAULT_SHUTDOWN_TIMEOUT, POOL_CLOSE_TIMEOUT, Signal, TRACE_FLUSH_TIMEOUT,
    shutdown_signal,
};
pub(crate) use stack::REQUEST_ID;
pub use stack::{REQUEST_ID_HEADER, standard_stack};
