//! Knowing that the database is down, so that requests fail fast, and finding out when it is
//! back without anyone polling readiness.
//!
//! sqlx's pool retries a refused connection, and waits on a connection that never answers,
//! until `database.acquire_timeout` (5 s by default) before it gives up, and it has no hook
//! for failed connects. So servicekit keeps its own view:
//!
//! - a readiness check that fails because the database is unavailable
//!   ([`is_unavailable`](super::is_unavailable)) or that runs out of time marks the database
//!   **down** at once: readiness and requests then agree;
//! - that, or such an error seen by a request (through [`Problem`](crate::Problem)'s conversion
//!   of [`sqlx::Error`]), starts a **probe**: one direct connection with the pool's current
//!   connect options, single-flight;
//! - a probe that fails marks the database **down** (with the reason) and keeps probing, every
//!   [`FIRST_PROBE`] doubling to [`MAX_PROBE`], until a connection succeeds; refused
//!   credentials also make the service fetch the database secrets again (`follow.rs`);
//! - while the database is down, [`Database::pool`](super::Database::pool) hands out a closed
//!   pool, so a query fails at once with [`sqlx::Error::PoolClosed`] (a 503) instead of
//!   holding the request for the acquire timeout, and the readiness check answers from the
//!   probe's last result;
//! - a successful probe or a credential rotation marks it up again.
//!
//! Requests reach this module through a process-wide list of the open pools, since
//! `From<sqlx::Error> for Problem` does not know which pool an error came from: an error kicks
//! every pool's probe, and each probe decides for its own pool (a healthy pool's probe just
//! connects once; kicks are rate limited).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::{ConnectOptions, Pool};
use tokio::time::Instant;

use super::Backend;
use super::rotation::Rotation;

/// First wait between probes while the database is down.
const FIRST_PROBE: Duration = Duration::from_millis(100);
/// Longest wait between probes while the database is down: recovery is noticed within this.
const MAX_PROBE: Duration = Duration::from_millis(500);
/// Longest a probe's connection attempt may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Shortest time between two probes of a database that is up.
const KICK_INTERVAL: Duration = Duration::from_millis(250);

/// What a probe needs from a pool, whatever its driver.
trait ProbeTarget: Send + Sync + 'static {
    /// Opens one connection with the pool's current connect options, and closes it.
    fn connect_once(&self) -> BoxFuture<'static, Result<(), sqlx::Error>>;
    /// Whether the pool was closed (the service is stopping).
    fn is_closed(&self) -> bool;
}

impl<DB: Backend> ProbeTarget for Pool<DB> {
    fn connect_once(&self) -> BoxFuture<'static, Result<(), sqlx::Error>> {
        let options = self.connect_options();
        Box::pin(async move {
            let conn = options.connect().await?;
            sqlx::Connection::close(conn).await
        })
    }

    fn is_closed(&self) -> bool {
        Pool::is_closed(self)
    }
}

/// The outage state of one pool, shared by the clones of its [`Database`](super::Database).
pub(super) struct Outage {
    /// The pool whose connect options the probe uses.
    pool: Box<dyn ProbeTarget>,
    /// The runtime the pool was opened on, where probes run: a kick can come from another
    /// runtime (the registry is process-wide), which may stop while its tasks probe.
    runtime: Option<tokio::runtime::Handle>,
    rotation: Arc<Rotation>,
    down: AtomicBool,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Why the database is down (the last probe's error).
    reason: Option<String>,
    /// Whether a probe task runs.
    probing: bool,
    /// When the last probe task ended.
    last_probe: Option<Instant>,
}

impl std::fmt::Debug for Outage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outage")
            .field("down", &self.is_down())
            .finish_non_exhaustive()
    }
}

impl Outage {
    /// The state for `pool`, registered so that request errors reach it.
    pub(super) fn register<DB: Backend>(pool: &Pool<DB>, rotation: &Arc<Rotation>) -> Arc<Self> {
        let outage = Arc::new(Self {
            pool: Box::new(pool.clone()),
            runtime: tokio::runtime::Handle::try_current().ok(),
            rotation: Arc::clone(rotation),
            down: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        });
        let mut pools = registry();
        pools.retain(|p| p.strong_count() > 0);
        pools.push(Arc::downgrade(&outage));
        outage
    }

    /// Whether the database is known to be down.
    pub(super) fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Why the database is down, if it is.
    pub(super) fn reason(&self) -> Option<String> {
        if !self.is_down() {
            return None;
        }
        self.state().reason.clone()
    }

    /// Marks the database up (new credentials just connected).
    pub(super) fn mark_up(&self) {
        if self.down.swap(false, Ordering::AcqRel) {
            tracing::info!("database reachable again");
        }
        self.state().reason = None;
    }

    fn mark_down(&self, reason: String) {
        if !self.down.swap(true, Ordering::AcqRel) {
            tracing::warn!(%reason, "database down; requests get 503 until a probe connects");
        }
        self.state().reason = Some(reason);
    }

    /// Notes `error` from this pool: an unavailable database starts a probe.
    pub(super) fn report(self: &Arc<Self>, error: &sqlx::Error) {
        self.rotation.observe(error);
        if super::is_unavailable(error) {
            self.kick();
        }
    }

    /// Marks the database down at once (the readiness check failed) and starts a probe, which
    /// marks it up again as soon as a connection succeeds.
    pub(super) fn trip(self: &Arc<Self>, reason: String) {
        self.mark_down(reason);
        self.kick();
    }

    /// Starts a probe unless one runs or one ended within [`KICK_INTERVAL`].
    pub(super) fn kick(self: &Arc<Self>) {
        let Some(runtime) = self
            .runtime
            .clone()
            .or_else(|| tokio::runtime::Handle::try_current().ok())
        else {
            return;
        };
        {
            let mut state = self.state();
            let recent = state
                .last_probe
                .is_some_and(|t| t.elapsed() < KICK_INTERVAL);
            if state.probing || (recent && !self.is_down()) || self.pool.is_closed() {
                return;
            }
            state.probing = true;
        }
        runtime.spawn(Arc::clone(self).probe());
    }

    /// Connects once; while that fails, marks the database down and tries again.
    async fn probe(self: Arc<Self>) {
        // Clears `probing` however the task ends, also when its runtime drops it.
        let _done = ProbeDone(&self);
        let mut wait = FIRST_PROBE;
        // Stops when the pool is closed, or dropped by everyone but this task.
        while !self.pool.is_closed() && Arc::strong_count(&self) > 1 {
            let attempt = tokio::time::timeout(PROBE_TIMEOUT, self.pool.connect_once()).await;
            match attempt {
                Ok(Ok(())) => {
                    self.mark_up();
                    break;
                }
                Ok(Err(error)) => {
                    self.rotation.observe(&error);
                    self.mark_down(error.to_string());
                }
                Err(_) => self.mark_down(format!(
                    "no answer to a connection attempt within {}",
                    humantime::format_duration(PROBE_TIMEOUT)
                )),
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_PROBE);
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Ends a probe: lets the next kick start one.
struct ProbeDone<'a>(&'a Outage);

impl Drop for ProbeDone<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.probing = false;
        state.last_probe = Some(Instant::now());
    }
}

/// Every open pool's outage state.
fn registry() -> MutexGuard<'static, Vec<Weak<Outage>>> {
    static POOLS: Mutex<Vec<Weak<Outage>>> = Mutex::new(Vec::new());
    POOLS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Notes a database error that reached a response: if it says the database is unavailable,
/// every open pool checks its database. Returns whether a pool is known to be down.
pub(crate) fn report_request_error(error: &sqlx::Error) -> bool {
    let pools: Vec<Arc<Outage>> = registry().iter().filter_map(Weak::upgrade).collect();
    if super::is_unavailable(error) {
        for pool in &pools {
            pool.kick();
        }
    }
    pools.iter().any(|p| p.is_down())
}

/// Trips the outage when dropped armed: the readiness check uses it to notice that it was
/// cancelled by `health.check_timeout` (a database that never answers).
pub(super) struct TripOnDrop(pub(super) Option<Arc<Outage>>);

impl Drop for TripOnDrop {
    fn drop(&mut self) {
        if let Some(outage) = self.0.take() {
            outage.trip("no answer to the readiness check within health.check_timeout".into());
        }
    }
}
