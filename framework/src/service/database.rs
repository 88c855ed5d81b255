//! Opening the service's pool with the driver the builder declared (the portable one unless
//! [`ServiceBuilder::database`](super::ServiceBuilder::database) named another), migrating it
//! and wiring it into health and secret rotation.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::Error;
use super::secret_tasks::SecretTasks;
use crate::config::Loaded;
use crate::db::{Backend, Database, Migrations, OpenDatabase};
use crate::health::Health;

/// What opening the pool needs from the starting service.
pub(crate) struct OpenArgs<'a> {
    pub(crate) loaded: &'a Loaded,
    pub(crate) migrations: Option<&'static Migrations>,
    pub(crate) health: &'a Health,
    pub(crate) secret_tasks: &'a mut SecretTasks,
}

/// Opens the pool with one driver; the builder stores [`opener`] for the declared one.
pub(crate) type Opener =
    for<'a> fn(OpenArgs<'a>) -> BoxFuture<'a, Result<Arc<dyn OpenDatabase>, Error>>;

/// The [`Opener`] for driver `DB`.
pub(crate) fn opener<DB: Backend>(
    args: OpenArgs<'_>,
) -> BoxFuture<'_, Result<Arc<dyn OpenDatabase>, Error>> {
    Box::pin(open::<DB>(args))
}

async fn open<DB: Backend>(args: OpenArgs<'_>) -> Result<Arc<dyn OpenDatabase>, Error> {
    let config = &args.loaded.config;
    let db = Database::<DB>::open(&config.database, &config.service.name).await?;
    if let (Some(migrations), true) = (args.migrations, config.database.migrate) {
        migrations.run(&db).await?;
        tracing::info!(backend = %db.kind(), "migrations applied");
    }
    args.health.register(db.clone());
    args.secret_tasks.follow_database(&db, args.loaded);
    Ok(Arc::new(db))
}
