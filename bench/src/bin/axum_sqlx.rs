//! Case D, hand-written: student-service's `GET /students/{id}` on plain axum + a
//! `sqlx::PgPool` (`DATABASE_URL`), with the same query, pool size (10) and JSON shape, and no
//! middleware. `bench/run.sh` runs it and student-service against the same rows.

use std::process::ExitCode;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use servicekit_bench::pg::{self, Student};
use sqlx::postgres::{PgPool, PgPoolOptions};

async fn get_student(
    State(pool): State<PgPool>,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<Student>, StatusCode> {
    sqlx::query_as::<_, Student>(pg::GET_STUDENT)
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
        .max_connections(pg::MAX_CONNECTIONS)
        .connect(&url)
        .await?;
    let app = Router::new()
        .route("/students/{id}", get(get_student))
        .with_state(pool);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", servicekit_bench::port()?)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
