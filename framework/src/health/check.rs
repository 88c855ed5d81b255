//! The `HealthCheck` trait and a closure-based implementation.

use std::future::Future;
use std::pin::Pin;

/// What a check's future resolves to: `Ok(())` when healthy, a short reason otherwise.
pub type CheckResult = Result<(), String>;

/// The boxed future a [`HealthCheck`] returns.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = CheckResult> + Send + 'a>>;

/// A dependency check run by `/health/ready`.
///
/// Each check runs under `health.check_timeout`; a required check that fails or times out
/// turns readiness to 503, an optional one only marks the body `warn`.
///
/// ```
/// use servicekit::health::{CheckFuture, HealthCheck};
///
/// struct Cache;
/// impl HealthCheck for Cache {
///     fn name(&self) -> &str { "cache" }
///     fn check(&self) -> CheckFuture<'_> { Box::pin(async { Ok(()) }) }
///     fn required(&self) -> bool { false }
/// }
/// ```
pub trait HealthCheck: Send + Sync + 'static {
    /// The key of this check in the health body, e.g. `database`.
    fn name(&self) -> &str;
    /// Runs the check once.
    fn check(&self) -> CheckFuture<'_>;
    /// Whether a failure makes the service unready (default `true`).
    fn required(&self) -> bool {
        true
    }
}

/// A [`HealthCheck`] from a name and an async closure; see [`check_fn`].
pub struct FnCheck<F> {
    name: String,
    required: bool,
    f: F,
}

/// Builds a required [`HealthCheck`] from an async closure.
///
/// ```
/// let check = servicekit::health::check_fn("disk", || async {
///     if std::path::Path::new("/").exists() { Ok(()) } else { Err("no root".to_string()) }
/// });
/// # let _ = check;
/// ```
pub fn check_fn<F, Fut>(name: impl Into<String>, f: F) -> FnCheck<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = CheckResult> + Send + 'static,
{
    FnCheck {
        name: name.into(),
        required: true,
        f,
    }
}

impl<F> FnCheck<F> {
    /// Makes the check optional: a failure reports `warn` and keeps the service ready.
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }
}

impl<F, Fut> HealthCheck for FnCheck<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = CheckResult> + Send + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin((self.f)())
    }

    fn required(&self) -> bool {
        self.required
    }
}
