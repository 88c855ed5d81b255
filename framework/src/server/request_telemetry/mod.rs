//! The standard stack's outer layer: sensitive credential headers, request id, request span, access log line and RED metrics
//! of each request, in one service with one future.
//!
//! Each concern keeps its code in its own module ([`request_id`](super::request_id),
//! [`request_span`](super::request_span), [`http_metrics`](super::http_metrics), whose
//! [`HttpMetricsLayer`](super::HttpMetricsLayer) stays usable on its own); this layer only calls
//! them in order. It replaces four nested layers (tower-http's `SetRequestIdLayer`,
//! `PropagateRequestIdLayer` and `TraceLayer`, and `HttpMetricsLayer`): one future instead of four,
//! one clock reading at the start instead of four, and no body wrapper (and so no box) when the
//! span is disabled.
//!
//! Per request, in order: the credential headers are marked sensitive
//! ([`sensitive_headers::mark`]), the request id is taken or made ([`request_id::take_or_make`]), the
//! span opened ([`request_span::make`]), the request counted as active; the inner service runs
//! inside the span; on its answer the duration and status are counted, the span records the
//! status and the request's line is logged ([`request_span::finish`]) inside the span, the id is
//! echoed on the response, and the span (when enabled) rides along in the body until it is sent.
//!
//! [`sensitive_headers::mark`]: super::sensitive_headers::mark
//! [`request_id::take_or_make`]: super::request_id::take_or_make
//! [`request_span::make`]: super::request_span::make
//! [`request_span::finish`]: super::request_span::finish

mod future;
mod layer;
mod service;

pub(crate) use layer::RequestTelemetryLayer;
