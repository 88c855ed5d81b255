//! Case D, typed pool (issue 16): the hand-written twin's handler (`axum-sqlx`: same query,
//! row type and JSON) served by servicekit through the typed pool, `Database<sqlx::Postgres>`
//! from `ServiceBuilder::database::<sqlx::Postgres>()`: the standard stack, Prometheus
//! metrics, JSON logs, the database readiness check and pool gauges. The pool is servicekit's
//! default size (`database.max_connections = 10`, as the twin's); `DATABASE_URL` names the
//! database, which `bench/run.sh` has migrated and seeded. No migrations of its own.

use std::process::ExitCode;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use servicekit::db::Database;
use servicekit::{Json, Problem};
use servicekit_bench::pg::{self, Student};
use sqlx::Postgres;

async fn get_student(
    State(db): State<Database<Postgres>>,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<Student>, Problem> {
    sqlx::query_as::<_, Student>(pg::GET_STUDENT)
        .bind(id.to_string())
        .fetch_optional(db.pool())
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found(format!("student {id} does not exist")))
}

fn main() -> ExitCode {
    servicekit::Service::builder("sk-typed")
        .version(env!("CARGO_PKG_VERSION"))
        .database::<Postgres>()
        .set("database.max_connections", pg::MAX_CONNECTIONS)
        .routes(|ctx| async move {
            let db = ctx.db_as::<Postgres>()?;
            Ok::<_, servicekit::BoxError>(
                Router::new()
                    .route("/students/{id}", get(get_student))
                    .with_state(db),
            )
        })
        .run_main()
}
