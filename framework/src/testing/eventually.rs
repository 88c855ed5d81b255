//! `eventually`: poll a condition until it holds, instead of sleeping for a guessed time.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

/// How long [`eventually`] polls before it fails the test.
pub const EVENTUALLY_TIMEOUT: Duration = Duration::from_secs(10);

/// The pause between two attempts of [`eventually`].
const INTERVAL: Duration = Duration::from_millis(20);

/// Runs `attempt` until it returns `Ok`, and returns that value; panics after
/// [`EVENTUALLY_TIMEOUT`] with the last error.
///
/// For waiting on something that happens in the background (a token refresh, a circuit that
/// opens, a replica that comes back) without a fixed `sleep`: the test goes on as soon as the
/// condition holds, and a failure says what was last seen. It uses tokio's clock, so it also
/// works under `#[tokio::test(start_paused = true)]`.
///
/// ```no_run
/// # async fn t(app: servicekit::testing::TestApp) {
/// use servicekit::testing::eventually;
///
/// let body = eventually(|| async {
///     let res = app.get("/health/ready").await;
///     match res.status().as_u16() {
///         200 => Ok(res.text().await.unwrap()),
///         other => Err(format!("readiness is {other}")),
///     }
/// })
/// .await;
/// # let _ = body;
/// # }
/// ```
pub async fn eventually<T, E, F, Fut>(attempt: F) -> T
where
    E: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    eventually_within(EVENTUALLY_TIMEOUT, attempt).await
}

/// [`eventually`] with another timeout.
pub async fn eventually_within<T, E, F, Fut>(timeout: Duration, mut attempt: F) -> T
where
    E: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut attempts = 0_u32;
    loop {
        attempts += 1;
        match attempt().await {
            Ok(value) => return value,
            Err(last) if tokio::time::Instant::now() >= deadline => panic!(
                "eventually: the condition did not hold within {timeout:?} \
                 ({attempts} attempts); last error: {last:?}"
            ),
            Err(_) => tokio::time::sleep(INTERVAL).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn returns_the_first_success() {
        let calls = AtomicU32::new(0);
        let value = eventually(|| async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                n if n < 3 => Err(format!("attempt {n}")),
                n => Ok(n),
            }
        })
        .await;
        assert_eq!(value, 3);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn fails_with_the_last_error_after_the_timeout() {
        let started = tokio::time::Instant::now();
        let outcome = tokio::spawn(eventually_within(Duration::from_secs(2), || async {
            Err::<(), _>("still 503")
        }))
        .await;
        let panic = outcome.expect_err("it gives up").into_panic();
        let message = panic.downcast_ref::<String>().expect("a formatted message");
        assert!(message.contains("within 2s"), "{message}");
        assert!(message.contains("last error: \"still 503\""), "{message}");
        assert!(started.elapsed() >= Duration::from_secs(2));
    }
}
