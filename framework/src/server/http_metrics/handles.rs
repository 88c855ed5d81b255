//! The metric handles of each route template, resolved once instead of per request.
//!
//! A `metrics::counter!` with labels hashes the name and labels and looks the series up in the
//! recorder's registry, after cloning every label; four of those per request were the largest
//! piece of a request's cost through the standard stack. Here each (route, method) resolves its
//! gauge, and each (route, method, status class) its counter and histogram, on first use and
//! keeps the handles, which update the same series as the macros would. Series are still created
//! only when a request needs them, so `/metrics` shows the same series as before.
//!
//! The handles belong to the recorder installed when they were first used (servicekit installs
//! the Prometheus recorder before it serves).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use axum::http::Method;
use metrics::{Counter, Gauge, Histogram, SharedString};

use crate::telemetry::catalog::{
    HTTP_SERVER_ACTIVE_REQUESTS, HTTP_SERVER_REQUEST_DURATION_SECONDS, HTTP_SERVER_REQUESTS_TOTAL,
};

/// Method labels; unknown extension methods share `_OTHER` to bound cardinality.
const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "_OTHER",
];

/// Status class labels, indexed by [`status_class`].
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Route label of requests that matched no route.
const UNMATCHED: &str = "unmatched";

/// The index in [`METHODS`] of `method`'s label.
pub(crate) fn method_index(method: &Method) -> usize {
    match method.as_str() {
        "GET" => 0,
        "POST" => 1,
        "PUT" => 2,
        "PATCH" => 3,
        "DELETE" => 4,
        "HEAD" => 5,
        "OPTIONS" => 6,
        "TRACE" => 7,
        "CONNECT" => 8,
        _ => 9,
    }
}

/// The index in [`CLASSES`] of `status`'s class; anything outside 100..=499 counts as `5xx`.
fn status_class(status: u16) -> usize {
    match status {
        100..=199 => 0,
        200..=299 => 1,
        300..=399 => 2,
        400..=499 => 3,
        _ => 4,
    }
}

/// The routes one [`HttpMetrics`](super::HttpMetrics) service has seen, with their handles.
///
/// axum's `Router::layer` gives every route its own service, so `first` almost always answers;
/// the map serves a layer wrapped around a whole router or a nested service, whose requests carry
/// several route templates.
#[derive(Debug, Default)]
pub(crate) struct RouteTable {
    first: OnceLock<Arc<RouteHandles>>,
    others: RwLock<HashMap<Box<str>, Arc<RouteHandles>>>,
    unmatched: OnceLock<Arc<RouteHandles>>,
}

impl RouteTable {
    /// The handles of `route` (a matched route template), or of `unmatched` for `None`.
    pub(crate) fn get(&self, route: Option<&str>) -> Arc<RouteHandles> {
        let Some(route) = route else {
            return Arc::clone(
                self.unmatched.get_or_init(|| {
                    Arc::new(RouteHandles::new(SharedString::const_str(UNMATCHED)))
                }),
            );
        };
        let first = self
            .first
            .get_or_init(|| Arc::new(RouteHandles::new(SharedString::from(route.to_owned()))));
        if *first.route == *route {
            return Arc::clone(first);
        }
        if let Some(found) = self
            .others
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(route)
        {
            return Arc::clone(found);
        }
        let mut others = self.others.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            others.entry(route.into()).or_insert_with(|| {
                Arc::new(RouteHandles::new(SharedString::from(route.to_owned())))
            }),
        )
    }
}

/// The handles of one route template, per method and status class, each resolved on first use.
#[derive(Debug)]
pub(crate) struct RouteHandles {
    route: SharedString,
    methods: [MethodHandles; METHODS.len()],
}

#[derive(Debug, Default)]
struct MethodHandles {
    active: OnceLock<Gauge>,
    finished: [OnceLock<Finished>; CLASSES.len()],
}

/// The series a finished request updates.
#[derive(Debug)]
struct Finished {
    requests: Counter,
    duration: Histogram,
}

impl RouteHandles {
    fn new(route: SharedString) -> Self {
        Self {
            route,
            methods: Default::default(),
        }
    }

    /// `http_server_active_requests{method, route}` for the method at `method` in [`METHODS`].
    pub(super) fn active(&self, method: usize) -> &Gauge {
        self.methods[method].active.get_or_init(|| {
            metrics::gauge!(
                HTTP_SERVER_ACTIVE_REQUESTS,
                "method" => SharedString::const_str(METHODS[method]),
                "route" => self.route.clone()
            )
        })
    }

    /// Counts one finished request with `status` that took `seconds`.
    pub(super) fn finish(&self, method: usize, status: u16, seconds: f64) {
        let class = status_class(status);
        let finished = self.methods[method].finished[class].get_or_init(|| {
            let labels = [
                ("method", SharedString::const_str(METHODS[method])),
                ("route", self.route.clone()),
                ("status", SharedString::const_str(CLASSES[class])),
            ];
            Finished {
                requests: metrics::counter!(HTTP_SERVER_REQUESTS_TOTAL, &labels),
                duration: metrics::histogram!(HTTP_SERVER_REQUEST_DURATION_SECONDS, &labels),
            }
        });
        finished.requests.increment(1);
        finished.duration.record(seconds);
    }
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
    use metrics_util::{CompositeKey, MetricKind};

    use super::*;

    /// Every series in `snapshotter` as (kind, name, sorted `key=value` labels, value).
    fn series(snapshotter: &Snapshotter) -> Vec<(MetricKind, String, Vec<String>, DebugValue)> {
        let mut all: Vec<_> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value): (CompositeKey, _, _, _)| {
                let mut labels: Vec<String> = key
                    .key()
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                labels.sort();
                (key.kind(), key.key().name().to_owned(), labels, value)
            })
            .collect();
        all.sort_by(|a, b| (&a.1, &a.2).cmp(&(&b.1, &b.2)));
        all
    }

    fn labels(pairs: &[&str]) -> Vec<String> {
        pairs.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn handles_update_the_series_the_macros_name_and_only_those_used() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let table = RouteTable::default();
            let get = method_index(&Method::GET);
            let students = table.get(Some("/students/{id}"));
            students.active(get).increment(1.0);
            students.finish(get, 200, 0.5);
            // The second look-up of the same route reuses the handles.
            let again = table.get(Some("/students/{id}"));
            assert!(Arc::ptr_eq(&students, &again));
            again.finish(get, 204, 0.25);
            again.active(get).decrement(1.0);
            // A second route goes through the map, an unknown method to `_OTHER`.
            let other = method_index(&Method::from_bytes(b"PURGE").unwrap());
            table.get(Some("/subjects")).finish(other, 503, 1.0);
            assert!(Arc::ptr_eq(
                &table.get(Some("/subjects")),
                &table.get(Some("/subjects"))
            ));
            table.get(None).finish(get, 404, 0.125);
        });

        let all = series(&snapshotter);
        let expected = vec![
            (
                MetricKind::Gauge,
                HTTP_SERVER_ACTIVE_REQUESTS.to_owned(),
                labels(&["method=GET", "route=/students/{id}"]),
                DebugValue::Gauge(0.0.into()),
            ),
            (
                MetricKind::Histogram,
                HTTP_SERVER_REQUEST_DURATION_SECONDS.to_owned(),
                labels(&["method=GET", "route=/students/{id}", "status=2xx"]),
                DebugValue::Histogram(vec![0.5.into(), 0.25.into()]),
            ),
            (
                MetricKind::Histogram,
                HTTP_SERVER_REQUEST_DURATION_SECONDS.to_owned(),
                labels(&["method=GET", "route=unmatched", "status=4xx"]),
                DebugValue::Histogram(vec![0.125.into()]),
            ),
            (
                MetricKind::Histogram,
                HTTP_SERVER_REQUEST_DURATION_SECONDS.to_owned(),
                labels(&["method=_OTHER", "route=/subjects", "status=5xx"]),
                DebugValue::Histogram(vec![1.0.into()]),
            ),
            (
                MetricKind::Counter,
                HTTP_SERVER_REQUESTS_TOTAL.to_owned(),
                labels(&["method=GET", "route=/students/{id}", "status=2xx"]),
                DebugValue::Counter(2),
            ),
            (
                MetricKind::Counter,
                HTTP_SERVER_REQUESTS_TOTAL.to_owned(),
                labels(&["method=GET", "route=unmatched", "status=4xx"]),
                DebugValue::Counter(1),
            ),
            (
                MetricKind::Counter,
                HTTP_SERVER_REQUESTS_TOTAL.to_owned(),
                labels(&["method=_OTHER", "route=/subjects", "status=5xx"]),
                DebugValue::Counter(1),
            ),
        ];
        assert_eq!(all, expected);
    }

    #[test]
    fn status_classes_cover_every_code() {
        let classes: Vec<_> = [100, 199, 200, 301, 404, 499, 500, 599, 0, 999]
            .into_iter()
            .map(|s| CLASSES[status_class(s)])
            .collect();
        assert_eq!(
            classes,
            [
                "1xx", "1xx", "2xx", "3xx", "4xx", "4xx", "5xx", "5xx", "5xx", "5xx"
            ]
        );
    }
}
