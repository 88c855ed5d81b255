//! Load benchmark of servicekit (issue 8): the servers `bench/run.sh` starts.
//!
//! Every server answers `GET /students/{id}` with the same small JSON document from
//! [`get_student`], so the cases differ only in what wraps the handler:
//!
//! | binary | case | what wraps the handler |
//! |---|---|---|
//! | `bare-axum` | A | nothing: axum and tokio, the limit |
//! | `sk-default` | B | `servicekit::Service::builder`: the standard stack, Prometheus metrics, JSON logs |
//! | `sk-jwt` | C | B plus JWT verification (PEM keys, verified-token cache) and a scope check |
//! | `axum-sqlx` | D | hand-written axum + `sqlx::PgPool` twin of student-service's `GET /students/{id}` |
//! | `sk-typed` | D | the twin's handler on servicekit's typed pool, `Database<sqlx::Postgres>` (issue 16) |
//! | `sk-events` | F | events, not HTTP: the outbox-to-consumer path on NATS and a bare async-nats loop ([`events`], feature `events`) |
//!
//! The two PostgreSQL binaries share their query, row type and JSON through [`pg`].
//! `mint-token` signs the ES256 and RS256 tokens the JWT cases (C and the NestJS peer E) need.
//! `bench/run.sh` builds, starts, loads and measures them; `docs/performance.md` has the results.

#[cfg(feature = "events")]
pub mod events;
pub mod pg;

use axum::Json;
use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use serde::Serialize;

/// The issuer (`iss`) of the benchmark's tokens.
pub const ISSUER: &str = "https://issuer.bench.local";
/// The audience (`aud`) of the benchmark's tokens.
pub const AUDIENCE: &str = "servicekit-bench";
/// The scope the JWT cases require, as student-service's reads do.
pub const READ_SCOPE: &str = "students:read";

/// The document every in-memory case returns, shaped like student-service's `Student`.
#[derive(Debug, Clone, Serialize)]
pub struct Student {
    /// The id from the path.
    pub id: String,
    /// Display name.
    pub name: &'static str,
    /// Email address.
    pub email: &'static str,
    /// RFC 3339 creation time.
    pub created_at: &'static str,
    /// RFC 3339 time of the last update.
    pub updated_at: &'static str,
}

/// `GET /students/{id}`: the shared handler, a few fields serialised with serde.
pub async fn get_student(Path(id): Path<String>) -> Json<Student> {
    Json(Student {
        id,
        name: "Ada Lovelace",
        email: "ada@example.org",
        created_at: "2026-01-01T00:00:00.000Z",
        updated_at: "2026-01-01T00:00:00.000Z",
    })
}

/// The router of the in-memory cases: only `GET /students/{id}`.
pub fn router() -> Router {
    Router::new().route("/students/{id}", get(get_student))
}

/// The port to listen on: `PORT`, default 8080 (as servicekit reads it).
pub fn port() -> Result<u16, String> {
    match std::env::var("PORT") {
        Ok(value) => value
            .parse()
            .map_err(|_| format!("PORT={value} is not a port number")),
        Err(_) => Ok(8080),
    }
}
