use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use http::Request;
use tower::Service;

use super::{Scope, TimeLimitError};
use crate::BoxError;
use crate::server::Deadline;

/// Service that bounds each call or attempt by a time budget; see
/// [`TimeLimitLayer`](super::TimeLimitLayer).
#[derive(Debug, Clone)]
pub struct TimeLimit<S> {
    inner: S,
    budget: Duration,
    scope: Scope,
}

impl<S> TimeLimit<S> {
    /// Wraps `inner`, giving each call at most `deadline`, as [`TimeLimitLayer::call`].
    ///
    /// [`TimeLimitLayer::call`]: super::TimeLimitLayer::call
    pub fn call(inner: S, deadline: Duration) -> Self {
        Self::new(inner, deadline, Scope::Call)
    }

    /// Wraps `inner`, giving each attempt at most `timeout`, as [`TimeLimitLayer::attempt`].
    ///
    /// [`TimeLimitLayer::attempt`]: super::TimeLimitLayer::attempt
    pub fn attempt(inner: S, timeout: Duration) -> Self {
        Self::new(inner, timeout, Scope::Attempt)
    }

    pub(crate) fn new(inner: S, budget: Duration, scope: Scope) -> Self {
        Self {
            inner,
            budget,
            scope,
        }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// Narrows the request's [`Deadline`] extension to at most `budget` from now (keeping an
/// earlier one) and returns it.
fn narrow<B>(req: &mut Request<B>, budget: Duration) -> Deadline {
    let own = Deadline::after(budget);
    let deadline = match req.extensions().get::<Deadline>() {
        Some(given) => own.min(*given),
        None => own,
    };
    req.extensions_mut().insert(deadline);
    deadline
}

impl<S, B> Service<Request<B>> for TimeLimit<S>
where
    S: Service<Request<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<S::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let deadline = narrow(&mut req, self.budget);
        let error = match self.scope {
            Scope::Call if deadline.is_expired() => {
                return Box::pin(async { Err(TimeLimitError::DeadlineExceeded.into()) });
            }
            Scope::Call => TimeLimitError::DeadlineExceeded,
            Scope::Attempt => TimeLimitError::AttemptTimedOut {
                after: deadline.remaining(),
            },
        };
        let fut = self.inner.call(req);
        Box::pin(async move {
            match tokio::time::timeout_at(deadline.instant().into(), fut).await {
                Ok(result) => result.map_err(Into::into),
                Err(_) => Err(error.into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use http::Request;
    use tower::{Layer, ServiceExt, service_fn};

    use super::super::{TimeLimitError, TimeLimitLayer};
    use crate::BoxError;
    use crate::server::Deadline;

    /// A service that never answers and records the deadline each request carried.
    fn hanging(
        seen: Arc<Mutex<Vec<Deadline>>>,
    ) -> impl tower::Service<
        Request<()>,
        Response = (),
        Error = BoxError,
        Future = impl Future<Output = Result<(), BoxError>> + Send + 'static,
    > + Clone {
        service_fn(move |req: Request<()>| {
            seen.lock()
                .unwrap()
                .extend(req.extensions().get::<Deadline>().copied());
            std::future::pending::<Result<(), BoxError>>()
        })
    }

    fn time_limit_error(error: BoxError) -> TimeLimitError {
        *error
            .downcast::<TimeLimitError>()
            .expect("a TimeLimitError")
    }

    #[tokio::test]
    async fn the_call_scope_reports_a_passed_deadline() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let svc = TimeLimitLayer::call(Duration::from_millis(20)).layer(hanging(seen.clone()));

        let error = svc.oneshot(Request::new(())).await.unwrap_err();

        assert_eq!(time_limit_error(error), TimeLimitError::DeadlineExceeded);
        assert_eq!(
            seen.lock().unwrap().len(),
            1,
            "the inner service saw the deadline"
        );
    }

    #[tokio::test]
    async fn the_attempt_scope_reports_a_timeout_with_the_attempts_budget() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let svc = TimeLimitLayer::attempt(Duration::from_millis(20)).layer(hanging(seen));

        let error = svc.oneshot(Request::new(())).await.unwrap_err();

        match time_limit_error(error) {
            TimeLimitError::AttemptTimedOut { after } => {
                assert!(after <= Duration::from_millis(20), "{after:?}");
            }
            other => panic!("expected an attempt timeout, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_earlier_deadline_on_the_request_wins_and_is_passed_inside() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let svc = TimeLimitLayer::attempt(Duration::from_secs(60)).layer(hanging(seen.clone()));
        let mut req = Request::new(());
        let given = Deadline::after(Duration::from_millis(20));
        req.extensions_mut().insert(given);

        let error = svc.oneshot(req).await.unwrap_err();

        assert!(matches!(
            time_limit_error(error),
            TimeLimitError::AttemptTimedOut { after } if after <= Duration::from_millis(20)
        ));
        assert_eq!(seen.lock().unwrap().as_slice(), &[given]);
    }

    #[tokio::test]
    async fn a_call_whose_deadline_has_passed_is_not_sent() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let svc = TimeLimitLayer::call(Duration::from_secs(60)).layer(hanging(seen.clone()));
        let mut req = Request::new(());
        req.extensions_mut()
            .insert(Deadline::at(std::time::Instant::now()));

        let error = svc.oneshot(req).await.unwrap_err();

        assert_eq!(time_limit_error(error), TimeLimitError::DeadlineExceeded);
        assert!(
            seen.lock().unwrap().is_empty(),
            "the inner service was called"
        );
    }
}
