//! Case D, hand-written: student-service's `GET /students/{id}` on plain axum + a
//! `sqlx::PgPool` (`DATABASE_URL`), with the same query, pool size (10) and JSON shape, and no
//! middleware. `bench/run.sh` runs it and student-service against the same rows.

use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{FromRow, Row};

/// A student as student-service returns it.
#[derive(Debug, Serialize)]
struct Student {
    id: String,
    name: String,
    email: String,
    #[serde(serialize_with = "rfc3339")]
    created_at: i64,
    #[serde(serialize_with = "rfc3339")]
    updated_at: i64,
}

impl FromRow<'_, PgRow> for Student {
    fn from_row(row: &PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

fn rfc3339<S: serde::Serializer>(millis: &i64, s: S) -> Result<S::Ok, S::Error> {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(*millis).unwrap_or_default());
    s.collect_str(&humantime::format_rfc3339_millis(at))
}

async fn get_student(
    State(pool): State<PgPool>,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<Student>, StatusCode> {
    sqlx::query_as::<_, Student>(
        "SELECT id, name, email, created_at, updated_at FROM students WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(&pool)
    .await
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
    .map(Json)
    .ok_or(StatusCode::NOT_FOUND)
}

#[tokio::main]
async fn main() -> ExitCode {
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("axum-sqlx: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL")?;
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .connect(&url)
        .await?;
    let app = Router::new()
        .route("/students/{id}", get(get_student))
        .with_state(pool);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", servicekit_bench::port()?)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
