//! servicekit's path: a publishing and a consuming service in one process, each on its own
//! PostgreSQL database, talking through NATS JetStream. It needs the events runtime
//! (`servicekit::events`), which lands with issue 17's core; until then it reports that.

use super::{Settings, Summary};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Runs servicekit's path.
pub async fn run(_settings: &Settings) -> Result<Summary, BoxError> {
    Err("servicekit's events runtime is not in this build yet".into())
}
