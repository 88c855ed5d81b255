//! Outermost layer: the whole call, retries and backoff included, must finish by a deadline.
//!
//! The deadline is `now + deadline` from the configuration, or the request's own
//! [`Deadline`](crate::server::Deadline) extension (an incoming request's budget, passed on by
//! [`RequestBuilder::inbound`](crate::client::RequestBuilder::inbound)) when that is earlier.
//! The effective deadline is written back into the extensions so the inner layers see it:
//! retry does not sleep past it and the attempt timeout never exceeds it.

mod error;
mod layer;
mod service;

pub use error::DeadlineExceeded;
pub use layer::DeadlineLayer;
pub use service::DeadlineService;

/// Narrows the request's [`Deadline`](crate::server::Deadline) extension to at most `budget`
/// from now (keeping an earlier one) and returns it: shared by the call deadline and the
/// per-attempt timeout, which differ only in what they report when it passes.
pub(crate) fn narrow<B>(
    req: &mut http::Request<B>,
    budget: std::time::Duration,
) -> crate::server::Deadline {
    let own = crate::server::Deadline::after(budget);
    let deadline = match req.extensions().get::<crate::server::Deadline>() {
        Some(given) => own.min(*given),
        None => own,
    };
    req.extensions_mut().insert(deadline);
    deadline
}
