//! The registry of checks and the lifecycle flags the probes report.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::HealthCheck;
use super::report::{CheckReport, Report, Status};

/// The service's health: registered readiness checks plus the started/draining state.
///
/// Cloning is cheap; all clones share one registry.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    checks: RwLock<Vec<Arc<dyn HealthCheck>>>,
    started: AtomicBool,
    draining: AtomicBool,
    check_timeout: Duration,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("started", &self.is_started())
            .field("draining", &self.is_draining())
            .finish_non_exhaustive()
    }
}

impl Health {
    /// An empty registry whose checks each get `check_timeout`.
    pub fn new(check_timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                checks: RwLock::new(Vec::new()),
                started: AtomicBool::new(false),
                draining: AtomicBool::new(false),
                check_timeout,
            }),
        }
    }

    /// Adds a readiness check.
    pub fn register(&self, check: impl HealthCheck) {
        self.register_arc(Arc::new(check));
    }

    /// Adds a readiness check that is already shared.
    pub fn register_arc(&self, check: Arc<dyn HealthCheck>) {
        self.inner
            .checks
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(check);
    }

    /// Whether startup (pool, migrations, route building) has finished.
    pub fn is_started(&self) -> bool {
        self.inner.started.load(Ordering::Acquire)
    }

    /// Whether shutdown has begun; readiness is 503 from then on.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::Acquire)
    }

    pub(crate) fn mark_started(&self) {
        self.inner.started.store(true, Ordering::Release);
    }

    pub(crate) fn start_draining(&self) {
        self.inner.draining.store(true, Ordering::Release);
    }

    /// Runs every check concurrently, each under the check timeout.
    pub async fn run_checks(&self) -> Report {
        let checks: Vec<Arc<dyn HealthCheck>> = self
            .inner
            .checks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let timeout = self.inner.check_timeout;
        let results = futures_util::future::join_all(checks.iter().map(|check| async move {
            let started = Instant::now();
            let outcome = match tokio::time::timeout(timeout, check.check()).await {
                Ok(result) => result,
                Err(_) => Err(format!(
                    "timed out after {}",
                    humantime::format_duration(timeout)
                )),
            };
            let status = match (&outcome, check.required()) {
                (Ok(()), _) => Status::Pass,
                (Err(_), true) => Status::Fail,
                (Err(_), false) => Status::Warn,
            };
            (
                check.name().to_string(),
                CheckReport::new(status, started.elapsed(), outcome.err()),
            )
        }))
        .await;
        Report::from_checks(results)
    }

    /// The readiness report: `fail` while starting or draining, else the checks' outcome.
    pub async fn readiness(&self) -> Report {
        if self.is_draining() {
            return Report::with_output(Status::Fail, "shutting down");
        }
        if !self.is_started() {
            return Report::with_output(Status::Fail, "starting");
        }
        self.run_checks().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::check_fn;

    #[tokio::test]
    async fn readiness_follows_lifecycle_and_checks() {
        let health = Health::new(Duration::from_millis(50));
        assert_eq!(health.readiness().await.status(), Status::Fail);
        health.mark_started();
        assert_eq!(health.readiness().await.status(), Status::Pass);

        health.register(check_fn("optional", || async { Err("down".into()) }).optional());
        assert_eq!(health.readiness().await.status(), Status::Warn);

        health.register(check_fn("slow", || async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        }));
        let report = health.readiness().await;
        assert_eq!(report.status(), Status::Fail);
        let body = serde_json::to_value(&report).unwrap();
        assert_eq!(body["checks"]["slow"][0]["status"], "fail");
        assert_eq!(body["checks"]["slow"][0]["output"], "timed out after 50ms");
        assert_eq!(body["checks"]["optional"][0]["status"], "warn");

        health.start_draining();
        let body = serde_json::to_value(health.readiness().await).unwrap();
        assert_eq!(body["status"], "fail");
        assert_eq!(body["output"], "shutting down");
    }
}
